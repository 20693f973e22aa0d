"""The `history` operation: recorded events with their verdicts and decisions, newest
last, filtered by session, band (`high`, or `high+` for that band and above) and time."""

from __future__ import annotations

from typing import Any

from app.service.database import Database
from app.service.server import Request, RequestError, Service
from app.service.server import field as get
from app.service.store import BANDS


class HistoryOp:
    def __init__(self, db: Database) -> None:
        self.db = db

    def install(self, service: Service) -> None:
        service.register("history", self.history)

    async def history(self, request: Request) -> dict[str, Any]:
        band = get(request, "band", str, None)
        if band is not None and band.rstrip("+") not in BANDS:
            raise RequestError(f"history: band must be one of {', '.join(BANDS)}")
        rows = await self.db.call(
            self.db.store.history,
            session=get(request, "session", str, None),
            bands=bands_for(band),
            since=get(request, "since", (int, float), None),
            limit=get(request, "limit", int, None),
        )
        return {"rows": [r.to_dict() for r in rows]}


def bands_for(band: str | None) -> list[str] | None:
    """`high` means that band only; `high+` means high and above."""
    if band is None:
        return None
    if band.endswith("+"):
        return list(BANDS[BANDS.index(band[:-1]) :])
    return [band]
