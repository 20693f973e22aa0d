"""One session between open and close, as the service holds it."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.service.sandboxing import Prepared


@dataclass
class Live:
    """A session between open and close."""

    id: str
    workspace: Path
    prepared: Prepared
    memory: dict[Path, str]  # last recorded text of each existing memory file
    info: dict[str, Any] = field(default_factory=dict)  # as `sessions` lists it
    tasks: set[asyncio.Task[Any]] = field(default_factory=set)
    settling: dict[Path, asyncio.TimerHandle] = field(default_factory=dict)
    connection: Any = None  # the connection that opened it
