"""`sandgate trust`: the trusted-paths editor; `--explain PATH` prints what a path is
inside the sandbox and why, from the same plan a session gets (no display needed).

The state is one of read-write, read-only, decoy or hidden, and the reason names the
entry that made it so (`read-write: trusted — ~/src (~/.config/sandgate/policy.yaml
line 12)`). `--workspace` is the session's workspace (default: the current folder),
`--profile` the agent profile.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.paths import Paths
    from app.trust.saving import PolicyFiles


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--explain", nargs="+", metavar="PATH", type=Path, help="print each path's state and why"
    )
    parser.add_argument("--workspace", type=Path, default=None, help="default: current folder")
    parser.add_argument("--profile", help="the agent profile (e.g. claude-code)")


def main(args: argparse.Namespace) -> int:
    from app.paths import Paths
    from app.trust.saving import PolicyFiles

    paths = Paths.from_environment()
    files = PolicyFiles.of(paths.user_policy)
    if args.explain:
        return explain(files, paths, args)
    from app.commands.leave import leave
    from app.ui.trust_open import run

    return leave(run(paths, files, profile=args.profile))


def explain(files: PolicyFiles, paths: Paths, args: argparse.Namespace) -> int:
    from app.trust.explaining import explainer, readable
    from sandbox.filesystem import PlanError
    from sandbox.policy import PolicyError

    workspace = (args.workspace or Path.cwd()).resolve()
    private = (paths.config, paths.data, paths.state, paths.runtime)
    try:
        found = explainer(files, workspace, profile=args.profile, private_paths=private)
    except (PolicyError, PlanError) as exc:
        print(f"sandgate: {exc}", file=sys.stderr)
        return 1
    for path in args.explain:
        answer = found.explain(path.expanduser().absolute())
        print(f"{answer.path}: {readable(str(answer), files)}")
    return 0
