"""`sandgate policy check [FILE]`: validate the policy files and print the effective policy.

The effective policy is what a session in that workspace would get: the shipped
defaults, the user's file, FILE (if given), then the workspace's `.sandgate.yaml`.
A problem is printed as `file:line: problem` and the exit status is 1.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


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
    for line in exposure_notes(policy, resources_dir() / "catalogues" / "credentials.yaml"):
        print(f"sandgate: {line}", file=sys.stderr)
    data = policy.to_dict()
    data["workspace"] = str(workspace)
    data["profiles"] = list(policy.profiles)
    sys.stdout.write(yaml.safe_dump(data, sort_keys=False, default_flow_style=False))
    return 0


def exposure_notes(policy: Any, catalogue: Path) -> list[str]:
    """In words: each credential the policy shows as it is (`expose`), each login file
    of the agent shown with placeholders, and each one it trusts by name but still
    shows as a decoy (exposing is never a side effect)."""
    from resources.credential_catalogue import read_credentials
    from sandbox.patterns import has_magic, matches

    entries = read_credentials(catalogue)

    def title(path: str) -> str | None:
        for entry in entries:
            if any(p.startswith("~") and matches(p, path) for p in entry.paths):
                return entry.title
        return None

    notes = []
    for path in policy.expose:
        what = title(path)
        kind = what or "not in the credential catalogue"
        notes.append(f"exposes {path} ({kind}) to the agent as it is: `expose:` names it")
    logins = {f: login.vendor for login in getattr(policy, "logins", ()) for f in login.files}
    for trusted in policy.trusted:
        pattern = trusted.pattern
        if not has_magic(pattern) and pattern not in policy.expose and title(pattern):
            if pattern in logins:
                notes.append(
                    f"shows {pattern} ({title(pattern)}) with its tokens replaced by "
                    f"placeholders: the agent's own login, bound to {logins[pattern]}"
                )
                continue
            notes.append(
                f"trusts {pattern} ({title(pattern)}), but the agent sees a decoy there: "
                "add it under `expose:` to show the real file"
            )
    return notes
