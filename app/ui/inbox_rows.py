"""The inbox's rows: batches and review items, ranked by score. Qt-free.

Highest score first; at equal score a waiting batch comes before an expired one and a
batch before a review item, so what still holds an agent is read first.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.ui.rows import Batch, ReviewItem, State, band_rank
from app.ui.text import duration, short
from app.ui.words import describe

_REVIEW_TITLES = {
    "memory": "Memory file changed",
    "quarantine": "Protected files held in quarantine",
    "alert": "Alert",
}


@dataclass(frozen=True)
class InboxRow:
    key: str  # batch id or review item id
    band: str
    score: int
    title: str  # plain, visible, elided
    detail: str  # the second column: how many wait, for how long
    expired: bool
    batch: Batch | None = None
    item: ReviewItem | None = None


def _title(b: Batch) -> str:
    return short(describe(b), 90)  # `describe` keeps a batch's words until one joins


def _batch_row(b: Batch, now: float) -> InboxRow:
    expired = b.state != "pending"
    if expired:
        detail = f"expired · {len(b.members)} denied"
    else:
        detail = f"{b.waiting} waiting · {duration(now - b.created)}"
    return InboxRow(b.batch, b.band, b.score, _title(b), detail, expired, batch=b)


def _review_row(i: ReviewItem, now: float) -> InboxRow:
    # The service's summary already names what changed; the kind stands in without one.
    title = i.summary or f"{_REVIEW_TITLES.get(i.kind, i.kind)}: {i.path}"
    return InboxRow(
        i.id, i.band, i.score, short(title, 90), f"review · {duration(now - i.ts)}", False, item=i
    )


def inbox_rows(state: State, now: float) -> list[InboxRow]:
    """Every batch and review item of `state`, in the order the inbox lists them."""
    found = [_batch_row(b, now) for b in state.batches]
    found += [_review_row(i, now) for i in state.review]
    found.sort(
        key=lambda r: (
            -r.score,
            -band_rank(r.band),
            r.expired,
            r.item is not None,
            r.key,
        )
    )
    return found
