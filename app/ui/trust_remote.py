"""The editor's parts that live elsewhere: remembered decisions in the service (asked
through the bridge, never a blocking socket call on the GUI thread) and bound
credentials in the OS keyring (each call on the worker thread: a keyring may block)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject

from app.paths import Paths
from app.ui.history_worker import DatabaseCalls

if TYPE_CHECKING:
    from app.ui.trust_window import TrustWindow

REFRESHING = ("remembered.revoked", "batch.decided")  # changes that alter the list


def seen_workspaces(paths: Paths) -> list[str]:
    """On the worker: the workspaces the history has seen that still exist (in the store
    config.yaml names, the SQLite file by default)."""
    import os

    from app.service.history_queries import HistoryQueries
    from app.settings import SettingsError, load_settings

    try:
        database = load_settings(paths).database(paths)
    except SettingsError:
        database = paths.database
    if isinstance(database, Path) and not database.exists():
        return []
    queries = HistoryQueries(database)
    try:
        return [w for w in queries.choices().workspaces if os.path.isdir(w)]
    finally:
        queries.close()


class RemoteParts(QObject):
    def __init__(
        self, window: TrustWindow, paths: Paths, calls: DatabaseCalls, bridge: Any = None
    ) -> None:
        super().__init__(window)
        self.window, self.paths, self.calls = window, paths, calls
        self.own_bridge = bridge is None
        if bridge is None:
            from app.ui.bridge import Bridge

            bridge = Bridge(paths, self)
        self.bridge = bridge
        self._asked: dict[int, str] = {}
        self._note = ""  # what the last revoke did, said with the next listing
        bridge.replied.connect(self._replied)
        bridge.changes.connect(self._changes)
        bridge.state.connect(self._state)
        window.remembered.revoke.connect(self.revoke)
        window.credentials.bind.connect(self.bind)
        window.credentials.unbind.connect(self.unbind)

    def start(self) -> None:
        if self.own_bridge:
            self.bridge.start()
        self.refresh_remembered()
        self.refresh_credentials()

    def stop(self) -> None:
        if self.own_bridge:
            self.bridge.stop()

    # --- remembered decisions ------------------------------------------------------

    def refresh_remembered(self) -> None:
        self._asked[self.bridge.request("remembered")] = "list"

    def revoke(self, rule_id: str) -> None:
        self._asked[self.bridge.request("remembered.revoke", id=rule_id)] = "revoke"

    def _replied(self, reply: Any) -> None:
        what = self._asked.pop(reply.token, None)
        panel = self.window.remembered
        if what is None:
            return
        if not reply.ok:
            panel.status.setText(f"The service did not answer: {reply.error}")
            return
        if what == "list":
            rules = reply.data.get("rules", []) if isinstance(reply.data, dict) else []
            panel.show_rules(rules)
            note, self._note = self._note, ""
            panel.status.setText(f"{note}{len(rules)} remembered decision(s), newest first.")
        else:
            self._note = "Revoked: the next such request is asked again. "
            self.refresh_remembered()

    def _changes(self, changes: Any) -> None:
        if any(getattr(c, "name", "") in REFRESHING for c in changes):
            self.refresh_remembered()

    def _state(self, state: Any) -> None:
        if getattr(state, "connected", False) and not getattr(state, "stale", False):
            self.refresh_remembered()  # (re)connected: the list may have changed meanwhile

    # --- bound credentials ---------------------------------------------------------

    def refresh_credentials(self) -> None:
        from app.trust.credentials import bound

        self.calls.call(bound, self.paths.config, then=self.window.credentials.show_bindings,
                        failed=self._say)  # fmt: skip

    def bind(self, name: str, domain: str, header: str, env: str, secret: str) -> None:
        from app.trust.credentials import bind

        config = self.paths.config

        def stored(binding: Any) -> None:
            self._say(f"Stored {binding.name} in the keyring for {binding.domain} "
                      f"(header {binding.header}, placeholder in ${binding.env}).")  # fmt: skip
            form = self.window.credentials
            for field in (form.name, form.domain, form.header, form.env):
                field.clear()
            self.refresh_credentials()

        # The secret travels to the worker inside the closure only; it is not kept here.
        self.calls.call(lambda: bind(config, name, domain, header, env, secret),
                        then=stored, failed=lambda e: self._say(f"Not stored: {e}"))  # fmt: skip

    def unbind(self, name: str) -> None:
        from app.trust.credentials import unbind

        config = self.paths.config
        self.calls.call(lambda: unbind(config, name), then=lambda _r: self.refresh_credentials(),
                        failed=lambda e: self._say(f"Not removed: {e}"))  # fmt: skip

    def _say(self, text: str) -> None:
        self.window.status.setText(text)
