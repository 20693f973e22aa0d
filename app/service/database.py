"""The store, called from the event loop without blocking it.

Every database call runs on one dedicated worker thread: SQLite writes are serialised
anyway, one thread keeps them in order (on a PostgreSQL server too), and the loop only
awaits. Reads for `sandgate history` from another process go straight to the file (WAL
lets them) or the server.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from app.service.store import Store

T = TypeVar("T")


class Database:
    """Run `Store` methods on the database thread: `await db.call(db.store.method, ...)`."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sandgate-db")

    async def call(self, method: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self._executor, functools.partial(method, *args, **kwargs)
        )

    def close(self) -> None:
        self._executor.shutdown(wait=True)
        self.store.close()
