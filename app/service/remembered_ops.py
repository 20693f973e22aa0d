"""The remembered decisions on the service socket: `remembered` lists them, and
`remembered.revoke` takes one back (from the running queue and, for a lasting one,
from the state file), telling watchers with a `remembered.revoked` change."""

from __future__ import annotations

from typing import Any

from app.service.queue import DecisionQueue
from app.service.remembered import LASTING
from app.service.server import Request, RequestError, Service
from app.service.server import field as get


def install_remembered(service: Service, queue: DecisionQueue) -> None:
    """Register `remembered` and `remembered.revoke` on `service` for `queue`."""

    async def listing(request: Request) -> dict[str, Any]:
        now = queue.clock()
        live = [r for r in queue.remembered if r.expires is None or r.expires > now]
        return {"rules": [r.to_dict() for r in reversed(live)]}  # newest first

    async def revoke(request: Request) -> dict[str, Any]:
        wanted = get(request, "id", str)
        found = next((r for r in queue.remembered if r.id == wanted), None)
        if found is None:
            raise RequestError(f"no remembered decision {wanted!r} (already revoked or expired)")
        queue.remembered = [r for r in queue.remembered if r is not found]
        if found.scope in LASTING:
            queue.save_remembered()
        if queue.on_change is not None:
            queue.on_change("remembered.revoked", {"id": wanted, "rule": found.to_dict()}, set())
        return {"revoked": wanted}

    service.register("remembered", listing)
    service.register("remembered.revoke", revoke)
