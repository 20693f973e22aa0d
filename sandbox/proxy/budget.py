"""A session's memory budget: the bytes of request and response bodies that all of its
connections and HTTP/2 streams hold in the proxy at once.

Every request body is held whole until it is decided (and until its flow ends), so one
sandbox could otherwise hold `MAX_CONNECTIONS` times the per-request limit. Each stream's
charge is set, never added to: it is recomputed from what the stream holds now (its
buffers, its flow's bodies), so a body is counted once however it arrived (chunked
framing, HTTP/2 frames and padding are not body), and a stream that ends or errors
is charged nothing. A connection's charges all go when it closes.
"""

from __future__ import annotations

Charge = tuple[str, int, int]  # client connection, HTTP layer, stream


class BodyBudget:
    """How much a session's streams hold now, against `limit` bytes."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.held = 0
        self._charges: dict[Charge, int] = {}

    def charge(self, key: Charge, size: int) -> int:
        """Set what the stream `key` holds now to `size` bytes; return the session's total."""
        old = self._charges.pop(key, 0)
        if size > 0:
            self._charges[key] = size
        self.held += size - old
        return self.held

    def release_client(self, client_id: str) -> None:
        """A connection closed: whatever its streams held is gone."""
        for key in [k for k in self._charges if k[0] == client_id]:
            self.held -= self._charges.pop(key)

    def streams(self) -> int:
        """How many streams hold something now."""
        return len(self._charges)
