"""What a path is inside the sandbox, and why: read off a real plan of the filesystem.

`Explainer` plans the filesystem once with `plan_filesystem` (the same code a session
runs, with its decoys written into a throwaway folder and no `create` folder made),
then answers for any host path from the mount that decides it: bwrap applies mounts
in order, so the last one at the path or above it says what the agent sees. The
reason is the one that mount was made with (`Mounts.layers`): a trusted entry with
its file and line, a protected pattern, a denied one, the credential catalogue.
Nothing here decides anything the plan did not.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from sandbox.bwrap import Layer, Mounts, within
from sandbox.decoys import CredentialLocation
from sandbox.filesystem import plan_filesystem
from sandbox.policy import Policy

STATES = ("read-write", "read-only", "decoy", "hidden")


@dataclass(frozen=True)
class Explanation:
    """`state` is one of STATES; `why` says which entry or rule made it so."""

    path: str
    state: str
    why: str

    def __str__(self) -> str:
        return f"{self.state}: {self.why}"


class Explainer:
    """Answers `explain(path)` from one plan of the filesystem (cheap per path)."""

    def __init__(self, mounts: Mounts, home: Path, notices: Sequence[str] = ()) -> None:
        self.mounts = mounts
        self.home = str(home)
        self.notices = tuple(notices)

    @classmethod
    def plan(
        cls,
        policy: Policy,
        workspace: Path,
        home: Path,
        env: Mapping[str, str],
        *,
        catalogue: Sequence[CredentialLocation] | None = None,
        private_paths: Sequence[Path] = (),
        program: str = "sh",
    ) -> Explainer:
        """Plan a session of `program` in `workspace` under `policy` and keep its mounts.
        Raises PlanError as a session would."""
        with tempfile.TemporaryDirectory(prefix="sandgate-explain-") as scratch:
            filesystem = plan_filesystem(
                policy,
                workspace,
                home,
                Path(scratch),
                program,
                env,
                lambda _id: "explain",
                networked=False,
                catalogue=catalogue,
                private_paths=private_paths,
                make_folders=False,
            )
        return cls(filesystem.mounts, home, filesystem.notices)

    def explain(self, path: Path | str) -> Explanation:
        """The state of host path `path` inside the sandbox and the reason for it."""
        text = os.path.abspath(os.path.expanduser(str(path)))
        layer = self.mounts.deciding(text)
        if layer is None:
            return Explanation(text, "hidden", "not part of the sandbox: nothing shows it")
        return Explanation(text, _state(layer), self._why(layer, text))

    def _why(self, layer: Layer, path: str) -> str:
        why = layer.why or "a folder the sandbox makes"
        if layer.kind == "symlink":
            return f"a link to {layer.src} inside the sandbox"
        if layer.kind in ("bind", "ro-bind") and layer.dest != path:
            return f"{why} (inside {self._short(layer.dest)})"
        return why

    def _short(self, path: str) -> str:
        return "~" + path[len(self.home) :] if within(path, self.home) else path


def _state(layer: Layer) -> str:
    if layer.kind == "bind":
        return "read-write"
    if layer.kind in ("ro-bind", "symlink"):
        return "read-only"
    if layer.kind == "decoy":
        return "decoy"
    return "hidden"  # tmpfs, a staged home, an empty file over it
