"""Facts of file events: reads, writes and agent-memory writes, their paths resolved
against the session's home and workspace and looked up in the catalogues."""

from __future__ import annotations

import re

from triage.catalogues import Catalogues, CredentialEntry, normalise_path
from triage.events import MemoryWrite
from triage.facts import Facts
from triage.payload import NOTHING, scan
from triage.session_state import SessionState

_TEXT_PATH = re.compile(
    r"(?:~|\$HOME|\$\{HOME\}|/home/[^/\s]+|/Users/[^/\s]+|/root)/[^\s'\"`<>()\[\]{},;|&*]+"
)
_PATH_CACHE_SIZE = 8192


class FileFacts:
    """Builds the facts of file events; remembers what each path is (agents touch the
    same files again and again)."""

    def __init__(self, catalogues: Catalogues) -> None:
        self.catalogues = catalogues
        self._path_cache: dict[str, tuple[CredentialEntry | None, str | None, str | None]] = {}

    def memory_write(self, event: MemoryWrite, s: SessionState, prior: tuple[str, ...]) -> Facts:
        """A write of agent instructions: judged on its new text (a diff's added lines)."""
        text = event.content or ""
        if event.diff is not None:
            text += "\n" + _added_lines(event.diff)
        return self.file("memory.write", event.path, s, prior, None, text)

    def file(
        self,
        kind: str,
        raw: str,
        s: SessionState,
        prior: tuple[str, ...],
        tool: str | None,
        text: str | None,
    ) -> Facts:
        """The facts of a `kind` event on the file at `raw`; `text` is the new text of a
        memory file, scanned for canaries and secrets and for credential paths it names."""
        ws = s.workspace
        if ws and not raw.startswith(("/", "~")):
            raw = f"{ws}/{raw}"  # relative paths (a patch's) are the workspace's
        path = normalise_path(raw, s.home)
        inside = ws is not None and (path == ws or path.startswith(ws + "/"))
        credential, memory, protected = self.path_info(path)
        writing = kind in ("file.write", "memory.write")
        if not writing and path in s.logins:
            credential = None  # the agent reading its own login (shown with placeholders)
        text_payload = NOTHING
        text_creds: tuple[str, ...] = ()
        if text is not None:
            text_payload = scan(
                text.encode("utf-8", "surrogatepass"), self.catalogues, s.canaries, s.placeholders
            )
            text_creds = self._credentials_named(text, s)
        return Facts(
            kind=kind,
            tool=tool,
            path=path,
            credential=credential,
            in_workspace=inside,
            outside_workspace=ws is not None and not inside,
            protected=protected if writing else None,
            memory_file=memory,
            text=text,
            text_payload=text_payload,
            text_credentials=text_creds,
            credentials_read=prior,
        )

    def path_info(self, path: str) -> tuple[CredentialEntry | None, str | None, str | None]:
        """Credential entry, memory glob and protected glob of a normalised path
        (memoised: agents touch the same files again and again)."""
        info = self._path_cache.get(path)
        if info is None:
            cat = self.catalogues
            info = (cat.credential_at(path), cat.memory_at(path), cat.protected_at(path))
            if len(self._path_cache) >= _PATH_CACHE_SIZE:
                self._path_cache.clear()
            self._path_cache[path] = info
        return info

    def _credentials_named(self, text: str, s: SessionState) -> tuple[str, ...]:
        found: list[str] = []
        for m in _TEXT_PATH.finditer(text):
            candidate = m.group(0).rstrip(".:")
            for prefix in ("${HOME}", "$HOME"):
                if candidate.startswith(prefix):
                    candidate = "~" + candidate[len(prefix) :]
            entry = self.catalogues.match_credential(candidate, s.home)
            if entry is not None and entry.title not in found:
                found.append(entry.title)
        return tuple(found)


def _added_lines(diff: str) -> str:
    return "\n".join(
        line[1:]
        for line in diff.splitlines()
        if line.startswith("+") and not line.startswith("+++")
    )
