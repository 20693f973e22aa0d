"""Facts of agent tool calls: each call resolved into the action it performs (a read,
a write, a command, a fetch, an MCP call) and judged as that action would be."""

from __future__ import annotations

import json

from triage.catalogues import Catalogues, normalise_path
from triage.events import NetRequest, ToolCall
from triage.exec_facts import ExecFacts
from triage.facts import Facts
from triage.file_facts import FileFacts
from triage.net_facts import NetFacts
from triage.payload import scan
from triage.session_state import SessionState
from triage.tools import Action, action_of


class ToolFacts:
    """Builds the facts of a tool call through the builders of the action it performs."""

    def __init__(
        self, catalogues: Catalogues, files: FileFacts, net: NetFacts, commands: ExecFacts
    ) -> None:
        self.catalogues = catalogues
        self._files = files
        self._net = net
        self._commands = commands

    def tool(self, event: ToolCall, s: SessionState, prior: tuple[str, ...]) -> Facts:
        action = action_of(event.tool, event.input)
        facts = self._action(event, action, s, prior)
        if action.leaves_sandbox is not None:
            facts = facts._replace(leaves_sandbox=action.leaves_sandbox)
        return facts

    def _action(
        self, event: ToolCall, action: Action, s: SessionState, prior: tuple[str, ...]
    ) -> Facts:
        tool = event.tool
        if action.kind == "exec" and action.command is not None:
            return self._commands.command(action.command, action.cwd, s, prior, tool)
        if action.kind == "read":
            return self._files.file("file.read", action.paths[0], s, prior, tool, None)
        if action.kind == "search":
            facts = self._files.file("file.read", action.paths[0], s, prior, tool, None)
            if facts.credential is None and facts.path is not None:
                inside = self.catalogues.credentials_under(facts.path, s.home)
                if inside:
                    titles = tuple(dict.fromkeys(e.title for e in inside))
                    facts = facts._replace(credentials_inside=titles)
            return facts
        if action.kind == "write" and action.paths:
            path, text = self._weightiest(action, s)
            return self._files.file("file.write", path, s, prior, tool, text)
        if action.kind == "fetch" and action.url is not None:
            request = NetRequest(event.id, event.session, "net.request", url=action.url)
            return self._net.request(request, s, prior, tool)
        if action.kind == "mcp":
            body = json.dumps(dict(event.input), sort_keys=True, ensure_ascii=False, default=str)
            return Facts(
                kind="tool.mcp",
                tool=tool,
                payload=scan(
                    body.encode("utf-8", "surrogatepass"),
                    self.catalogues,
                    s.canaries,
                    s.placeholders,
                ),
                credentials_read=prior,
            )
        return Facts(kind="tool.other", tool=tool, credentials_read=prior)

    def _weightiest(self, action: Action, s: SessionState) -> tuple[str, str | None]:
        """Of the files one call writes (a patch may touch several), the one that
        matters most: a credential, then a protected file, then an agent memory file.
        Its new text is kept only for a memory file, where the text is what is judged."""
        best: tuple[int, str, str | None] | None = None
        for path, text in zip(action.paths, action.texts, strict=False):
            credential, memory, protected = self._files.path_info(normalise_path(path, s.home))
            rank = 3 if credential else 2 if protected else 1 if memory else 0
            if best is None or rank > best[0]:
                best = (rank, path, text if memory else None)
        assert best is not None
        return best[1], best[2]
