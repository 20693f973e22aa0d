"""The effective state of paths for the editor and `sandgate trust --explain`: the
policy as a session in a workspace would load it (with the editor's unsaved text in
place of its file), planned by the sandbox's own code (sandbox/explain.py)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from app.trust.document import PolicyDocument
from app.trust.saving import PolicyFiles, effective
from sandbox.explain import Explainer


def explainer(
    files: PolicyFiles,
    workspace: Path | None,
    document: PolicyDocument | None = None,
    profile: str | None = None,
    *,
    private_paths: Sequence[Path] = (),
    env: Mapping[str, str] | None = None,
) -> Explainer:
    """Plan a session in `workspace` (None: a session in an empty folder of its own, so
    nothing of the home counts as the workspace). Raises PolicyError or PlanError."""
    environment = dict(os.environ if env is None else env)
    environment["HOME"] = str(files.home)
    policy = effective(files, workspace, document, profile)
    if workspace is not None:
        return Explainer.plan(
            policy, workspace, files.home, environment, private_paths=private_paths
        )
    with tempfile.TemporaryDirectory(prefix="sandgate-nowhere-") as empty:
        return Explainer.plan(
            policy, Path(empty), files.home, environment, private_paths=private_paths
        )


def readable(text: str, files: PolicyFiles) -> str:
    """A reason as a person reads it: the shipped policy by that name, the home as `~`."""
    text = text.replace(str(files.defaults), "the shipped policy")
    home = str(files.home).rstrip("/")
    return text.replace(home + "/", "~/")
