"""The agent's own login for one session: its API key and its OAuth files, as placeholders.

For each login of the session's profile (`logins` in the policy): the API key comes from
the keyring entry named after the vendor (`sandgate credential add anthropic`) or else
from the caller's own variable (`ANTHROPIC_API_KEY`, which the sandbox would otherwise
drop); the agent gets a placeholder in that variable. The login files are shown as
copies with placeholders (`sandbox.logins`). The proxy swaps them on the vendor's
endpoints only (`sandbox.proxy.logins`). New tokens (a refresh, a `/login` inside) are
written back into the real files shortly after they arrive and when the session ends.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from sandbox.logins import LoginView, is_placeholder, open_views, placeholder_for, sync_back
from sandbox.proxy.logins import LoginTokens, VendorLogin

logger = logging.getLogger(__name__)

SYNC_DELAY = 2.0  # seconds after new tokens before the login files are written back


@dataclass
class SessionLogins:
    """What one session was given of its agent's login."""

    tokens: LoginTokens
    views: list[LoginView]
    env: dict[str, str] = field(default_factory=dict)
    on_new_tokens: Callable[[], object] | None = None  # told first, before they are saved
    _pending: asyncio.TimerHandle | None = None

    def vendors(self) -> set[str]:
        return set(self.tokens.vendors)

    def endpoints(self) -> set[str]:
        return {d for v in self.tokens.vendors.values() for d in v.endpoints}

    def login_files(self) -> tuple[tuple[Path, Path], ...]:
        """(copy, real path) of each login file shown with placeholders."""
        return tuple((v.view_file, v.host_file) for v in self.views if v.view_file is not None)

    def sync(self) -> list[Path]:
        """Write new tokens back into the real login files (blocking; see `sync_back`).
        Call it on the proxy's loop, or hand `sync_later()` to a thread."""
        return self.sync_later()()

    def sync_later(self) -> Callable[[], list[Path]]:
        """The write-back, with the tokens as they are now: safe to run in a thread while
        the proxy's loop goes on adding tokens."""
        real, latest = self.tokens.snapshot()
        return partial(sync_back, list(self.views), real, latest)

    def tokens_changed(self) -> None:
        """Called on the proxy's loop when a token endpoint gave new tokens: write them
        back soon (the agent saves its file just after the answer arrives), so a service
        that dies later does not lose a rotated refresh token."""
        if self.on_new_tokens is not None:
            self.on_new_tokens()
        loop = asyncio.get_running_loop()
        if self._pending is not None:
            self._pending.cancel()
        self._pending = loop.call_later(SYNC_DELAY, self._sync_soon, loop)

    def _sync_soon(self, loop: asyncio.AbstractEventLoop) -> None:
        self._pending = None
        future = loop.run_in_executor(None, self.sync_later())
        future.add_done_callback(_log_failure)

    async def close(self) -> None:
        """Cancel a pending write and write back now (the session is ending)."""
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None
        await asyncio.get_running_loop().run_in_executor(None, self.sync_later())


def prepare_logins(
    policy: Any,
    home: Path,
    env: Mapping[str, str],
    session_dir: Path,
    stored: Callable[[str], str | None],
) -> SessionLogins:
    """Build a session's login (blocking: reads the keyring through `stored` and the
    login files). `env` is the caller's environment, `stored(vendor)` the keyring."""
    logins = tuple(getattr(policy, "logins", ()))
    real: dict[str, str] = {}
    vendor_of: dict[str, str] = {}
    given: dict[str, str] = {}
    for login in logins:
        key = stored(login.vendor) or env.get(login.env)
        if key and not is_placeholder(key):
            placeholder = placeholder_for(key)
            real[placeholder] = key
            vendor_of[placeholder] = login.vendor
            given[login.env] = placeholder
    files = [(login.vendor, login.files) for login in logins]
    views = open_views(files, home, session_dir, real, vendor_of)
    vendors = [VendorLogin(x.vendor, x.endpoints, x.header) for x in logins]
    session = SessionLogins(LoginTokens.build(vendors, real, vendor_of), views, given)
    session.tokens.on_change = session.tokens_changed
    return session


def _log_failure(future: asyncio.Future[Any]) -> None:
    if not future.cancelled() and future.exception() is not None:
        logger.error("writing login tokens back failed", exc_info=future.exception())
