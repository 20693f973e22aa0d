"""What the service's extensions are given: the parts built before them.

Its own module so that the extensions (the queue, the egress proxy, the hooks) and the
runtime that composes them all import it, and none of them imports the runtime.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from app.paths import Paths
from app.service.changes import Changes
from app.service.database import Database
from app.service.review import Review
from app.service.server import Service
from app.service.sessions import Sessions


@dataclass
class Parts:
    """What an extension may use and extend."""

    paths: Paths
    service: Service
    sessions: Sessions
    db: Database
    triage: Any
    changes: Changes = field(default_factory=Changes)
    review: Review | None = None
    queue: Any = None  # the DecisionQueue, once the queue has been installed
    on_stop: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
