"""`sandgate run` started inside a Sandgate sandbox: a child session.

Inside a sandbox the service socket is out of reach and no new sandbox can be made
(the agent may not create user namespaces), so the child runs under its parent's
sandbox, with the parent's policy, network and channel: it inherits everything and
can widen nothing. Narrowing it further would need a sandbox inside the sandbox, which
the boundary forbids, so options that choose a policy are refused rather than ignored.
Its tool calls and requests are its parent session's, and, like the parent, it can
ask about them and never decide (no service, no embedded one started in here).
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse


def run_inside(args: argparse.Namespace, command: list[str]) -> int:
    """Run `command` in this sandbox under the parent session; never returns on success."""
    chosen = [flag for flag, value in (("--profile", args.profile), ("--policy", args.policy),
              ("--workspace", args.workspace)) if value]  # fmt: skip
    if chosen:
        print(
            f"sandgate run: already inside a Sandgate sandbox, where {', '.join(chosen)} "
            "cannot apply: a child session keeps its parent's sandbox and policy",
            file=sys.stderr,
        )
        return 2
    print(
        "sandgate: already inside a Sandgate sandbox: running under the parent session's "
        "policy (a child session cannot widen it)",
        file=sys.stderr,
    )
    try:
        os.execvp(command[0], command)
    except OSError as exc:
        print(f"sandgate run: cannot run {command[0]}: {exc}", file=sys.stderr)
        return 127
    return 0  # not reached
