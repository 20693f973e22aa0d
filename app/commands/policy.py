"""`sandgate policy check [FILE]`: validate the policy files and print the effective policy.

The effective policy is what a session in that workspace would get: the shipped
defaults, the user's file, FILE (if given), then the workspace's `.sandgate.yaml`.
A problem is printed as `file:line: problem` and the exit status is 1.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    check = sub.add_parser("check", help="validate and print the effective policy")
    check.add_argument("file", nargs="?", type=Path, help="an extra policy file to check")
    check.add_argument("--workspace", type=Path, default=None, help="default: current folder")
    check.add_argument("--profile", help="the agent profile (e.g. claude-code, codex)")
    check.add_argument(
        "--command",
        dest="agent_command",
        metavar="CMD",
        help="choose the profile as for this command (e.g. claude)",
    )


def main(args: argparse.Namespace) -> int:
    import yaml

    from app.paths import Paths
    from resources import resources_dir
    from sandbox.policy import PolicyError, load_policy, policy_files

    paths = Paths.from_environment()
    workspace = (args.workspace or Path.cwd()).resolve()
    extra: list[Path] = []
    if args.file is not None and args.file.resolve() != paths.user_policy.resolve():
        extra.append(args.file)
    files = policy_files(resources_dir() / "policy" / "default.yaml", paths.user_policy, extra)
    try:
        policy = load_policy(
            *files,
            workspace=workspace,
            profile=args.profile,
            command=[args.agent_command] if args.agent_command else [],
            home=Path.home(),
        )
    except PolicyError as exc:
        print(f"sandgate: {exc}", file=sys.stderr)
        return 1
    data = policy.to_dict()
    data["workspace"] = str(workspace)
    data["profiles"] = list(policy.profiles)
    sys.stdout.write(yaml.safe_dump(data, sort_keys=False, default_flow_style=False))
    return 0
