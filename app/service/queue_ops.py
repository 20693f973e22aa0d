"""The decision queue on the service socket: `queue`, `decide` and `decide.preview`,
and the queue's place among the service's parts (`install_queue`).

The socket is never bound into a sandbox: nothing inside can decide. A decision is
recorded before `decide` answers; one made on what another run of the service showed
(`instance`) is refused.
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any

from app.service.batches import QueueError
from app.service.queue import DecisionQueue

if TYPE_CHECKING:
    from app.service.parts import Parts
    from app.service.server import Request


class QueueOps:
    """The socket operations over one `DecisionQueue`."""

    def __init__(self, queue: DecisionQueue) -> None:
        self.queue = queue

    def install(self, service: Any) -> None:
        """Register the `queue`, `decide` and `decide.preview` operations."""
        service.register("queue", self._op_queue)
        service.register("decide", self._op_decide)
        service.register("decide.preview", self._op_preview)

    async def _op_queue(self, request: Request) -> dict[str, Any]:
        return {"batches": self.queue.listing()}

    async def _op_decide(self, request: Request) -> dict[str, Any]:
        from app.service.server import RequestError
        from app.service.server import field as get

        self._same_instance(request)
        try:
            released = self.queue.decide(
                get(request, "batch", str),
                get(request, "decision", str),
                get(request, "scope", str, "once"),
                get(request, "for", (int, float), None),
                bool(get(request, "confirm", bool, False)),
                get(request, "member", str, None),
            )
        except QueueError as exc:
            raise RequestError(str(exc)) from exc
        recording = self.queue.take_recording()
        if inspect.isawaitable(recording):
            await recording  # recorded before it is acknowledged
        return {"released": released}

    async def _op_preview(self, request: Request) -> dict[str, Any]:
        from app.service.server import RequestError
        from app.service.server import field as get

        scope = get(request, "scope", str)
        self._same_instance(request)
        try:
            also = self.queue.preview(
                get(request, "batch", str), scope, get(request, "decision", str, "allow")
            )
        except QueueError as exc:
            raise RequestError(str(exc)) from exc
        waiting = sum(a["waiting"] for a in also)
        if also:
            names = ", ".join(a["signature"] for a in also)
            note = f"this also decides the {waiting} other waiting request(s): {names}"
        else:
            note = "this decides this batch only: no other waiting request matches"
        return {"also": also, "note": note}

    def _same_instance(self, request: Request) -> None:
        """Refuse a decision made on what another run of the service showed."""
        from app.service.server import RequestError
        from app.service.server import field as get

        wanted = get(request, "instance", str, None)
        if wanted is not None and self.queue.instance is not None and wanted != self.queue.instance:
            raise RequestError(
                "the Sandgate service restarted since this was shown: nothing was decided"
            )


def install_queue(parts: Parts) -> DecisionQueue:
    """The decision queue on the service socket (`queue`, `decide`, `decide.preview`,
    `pause`), feeding the change stream; returns it for the parts that hold requests."""
    from app.service.pause import Pause

    queue = DecisionQueue(rules_file=parts.paths.state / "decisions.json")
    QueueOps(queue).install(parts.service)
    parts.queue = queue  # the permission hooks hold tool calls in it too
    queue.on_change = parts.changes.publish
    queue.instance = parts.changes.instance
    queue.pause = Pause(parts.changes)
    queue.pause.install(parts.service)
    from app.service.remembered_ops import install_remembered

    install_remembered(parts.service, queue)
    parts.changes.provide("batches", queue.batches_state)
    return queue
