"""`sandgate run` started inside a Sandgate sandbox: a child session.

Inside a sandbox the service socket is out of reach and no new sandbox can be made
(the agent may not create user namespaces), so the child runs under its parent's
sandbox, with the parent's policy, network and channel: it inherits everything and
can widen nothing. It can narrow one thing: `--workspace DIR` confines its writes to
DIR, a scratch folder of its own (TMPDIR) and /dev, with Landlock, which a process
applies to itself and to all it starts, on top of what it already had
(`sandbox/landlock.py`). Not all of /tmp: a workspace may lie beneath it.
Options that would choose another policy are refused rather than ignored: reads and
the network cannot be narrowed from in here (Landlock cannot hide a path beneath a
readable folder, nor tell the proxy's socket from another), and a policy is a promise
about all three.
Its tool calls and requests are its parent session's, and, like the parent, it can
ask about them and never decide (no service, no embedded one started in here).
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse

DEVICES = "/dev"  # /dev/null, the terminal: the sandbox's own devices


def run_inside(args: argparse.Namespace, command: list[str]) -> int:
    """Run `command` in this sandbox under the parent session; never returns on success."""
    chosen = [flag for flag, value in (("--profile", args.profile), ("--policy", args.policy))
              if value]  # fmt: skip
    if chosen:
        print(
            f"sandgate run: already inside a Sandgate sandbox, where {', '.join(chosen)} "
            "cannot apply: a child session keeps its parent's sandbox and policy (it can "
            "narrow its writes with --workspace DIR)",
            file=sys.stderr,
        )
        return 2
    if args.workspace is not None:
        return _narrowed(args.workspace, command)
    print(
        "sandgate: already inside a Sandgate sandbox: running under the parent session's "
        "policy (a child session cannot widen it)",
        file=sys.stderr,
    )
    return _exec(command)


def _narrowed(workspace: object, command: list[str]) -> int:
    """Run `command` writing only beneath `workspace`, its own scratch folder and /dev."""
    import tempfile

    from sandbox.landlock import LandlockError, restrict_writes

    folder = os.path.realpath(str(workspace))
    if not os.path.isdir(folder):
        print(f"sandgate run: --workspace {workspace}: no such folder", file=sys.stderr)
        return 2
    scratch = tempfile.mkdtemp(prefix="sandgate-child-")
    os.environ["TMPDIR"] = scratch
    try:
        restrict_writes([folder, scratch, *([DEVICES] if os.path.isdir(DEVICES) else [])])
    except LandlockError as exc:
        print(
            f"sandgate run: cannot narrow this child session ({exc}); nothing was run",
            file=sys.stderr,
        )
        return 2
    print(
        "sandgate: already inside a Sandgate sandbox: running under the parent session's "
        f"policy, writing only in {folder} (and its own TMPDIR, {scratch})",
        file=sys.stderr,
    )
    return _exec(command)


def _exec(command: list[str]) -> int:
    try:
        os.execvp(command[0], command)
    except OSError as exc:
        print(f"sandgate run: cannot run {command[0]}: {exc}", file=sys.stderr)
        return 127
    return 0  # not reached
