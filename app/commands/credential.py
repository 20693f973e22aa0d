"""`sandgate credential add|list|remove`: secrets bound to a domain, kept in the OS keyring.

The agent never sees the secret: a session gets a random placeholder in the variable the
binding names, and the proxy swaps the real secret in on the bound domain only. An
agent's own vendor (`anthropic`, `openai`, `gemini`: the `logins` of the policy's
profiles) needs no `--domain` or `--header`: the profile knows them, and the key then
reaches every endpoint of that vendor and nothing else.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Any


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True)
    add = sub.add_parser("add", help="store a secret (read from standard input) for a domain")
    add.add_argument("name", help="the keyring entry: a vendor (anthropic) or a name of yours")
    add.add_argument(
        "--domain", help="the only domain the secret is sent to (default: the vendor's)"
    )
    add.add_argument("--header", help="the header that carries it (default: the vendor's)")
    add.add_argument("--env", help="variable for the placeholder (default: NAME_API_KEY)")
    sub.add_parser("list", help="list the bound credentials (never the secrets)")
    remove = sub.add_parser("remove", help="delete a credential and its binding")
    remove.add_argument("name")


def _read_secret() -> str:
    if sys.stdin.isatty():
        return getpass.getpass("secret: ")
    return sys.stdin.readline().rstrip("\r\n")


def no_keyring(exc: Exception, env: str | None = None) -> str:
    """The sentence for a machine whose keyring cannot be used, with the fixes."""
    instead = (
        f" Or pass the key the agent's usual way, in ${env}, when you start it: Sandgate "
        "binds it to the vendor for that session and the agent holds a placeholder."
        if env
        else ""
    )
    return (
        f"sandgate: no usable keyring to keep the secret in ({exc}). Install and unlock "
        "one (GNOME Keyring or KWallet, reached over D-Bus: e.g. `apt install "
        "gnome-keyring`, then log in again), or name a keyring backend in "
        f"PYTHON_KEYRING_BACKEND.{instead}"
    )


def vendor_login(name: str) -> Any | None:
    """The login of the shipped and the user's policy whose vendor is `name`, if any."""
    from app.paths import Paths
    from resources import resources_dir
    from sandbox.policy import PolicyError, load_policy, policy_files

    paths = Paths.from_environment()
    files = policy_files(resources_dir() / "policy" / "default.yaml", paths.user_policy)
    try:
        names = load_policy(*files).profiles
        for profile in names:
            for login in load_policy(*files, profile=profile).logins:
                if login.vendor == name:
                    return login
    except PolicyError as exc:
        print(f"sandgate: {exc}", file=sys.stderr)
    return None


def main(args: argparse.Namespace) -> int:
    from keyring.errors import KeyringError

    from app.paths import Paths
    from app.service.egress import credentials_file
    from app.service.egress_credentials import Binding, CredentialIndex, check_name, default_env

    paths = Paths.from_environment()
    index = CredentialIndex(credentials_file(paths.config))
    if args.action == "list":
        bindings = index.load()
        if not bindings:
            print("No credentials are bound.")
        for b in bindings.values():
            print(f"{b.name}  domain {b.domain}  header {b.header}  placeholder in ${b.env}")
        return 0
    if args.action == "remove":
        try:
            removed = index.remove(args.name)
        except KeyringError as exc:
            print(no_keyring(exc), file=sys.stderr)
            return 1
        if not removed:
            print(f"sandgate: no credential {args.name!r}", file=sys.stderr)
            return 1
        print(f"removed {args.name}")
        return 0
    try:
        check_name(args.name)
    except ValueError as exc:
        print(f"sandgate: {exc}", file=sys.stderr)
        return 2
    login = vendor_login(args.name) if args.domain is None or args.header is None else None
    domain = args.domain or (login.api if login is not None else None)
    header = args.header or (login.header if login is not None else None)
    env = args.env or (login.env if login is not None else default_env(args.name))
    if domain is None or header is None:
        print(
            f"sandgate: {args.name!r} is not the vendor of any profile's login: "
            "give --domain and --header",
            file=sys.stderr,
        )
        return 2
    secret = _read_secret()
    if not secret:
        print("sandgate: no secret on standard input", file=sys.stderr)
        return 2
    binding = Binding(args.name, domain.strip().lower(), header, env)
    try:
        index.add(binding, secret)
    except KeyringError as exc:
        print(no_keyring(exc, env), file=sys.stderr)
        return 1
    where = f"{login.vendor}'s endpoints" if login is not None else binding.domain
    print(f"stored {args.name} for {where} (header {binding.header}, ${binding.env})")
    return 0
