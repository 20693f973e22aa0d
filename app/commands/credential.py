"""`sandgate credential add|list|remove`: secrets bound to a domain, kept in the OS keyring.

The agent never sees the secret: a session gets a random placeholder in the variable the
binding names, and the proxy swaps the real secret in on the bound domain only.
"""

from __future__ import annotations

import argparse
import getpass
import sys


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True)
    add = sub.add_parser("add", help="store a secret (read from standard input) for a domain")
    add.add_argument("name", help="the keyring entry and the policy's credential name")
    add.add_argument("--domain", required=True, help="the only domain the secret is sent to")
    add.add_argument("--header", required=True, help="the header that carries it, e.g. x-api-key")
    add.add_argument("--env", help="variable for the placeholder (default: NAME_API_KEY)")
    sub.add_parser("list", help="list the bound credentials (never the secrets)")
    remove = sub.add_parser("remove", help="delete a credential and its binding")
    remove.add_argument("name")


def _read_secret() -> str:
    if sys.stdin.isatty():
        return getpass.getpass("secret: ")
    return sys.stdin.readline().rstrip("\r\n")


def main(args: argparse.Namespace) -> int:
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
        if not index.remove(args.name):
            print(f"sandgate: no credential {args.name!r}", file=sys.stderr)
            return 1
        print(f"removed {args.name}")
        return 0
    try:
        check_name(args.name)
    except ValueError as exc:
        print(f"sandgate: {exc}", file=sys.stderr)
        return 2
    secret = _read_secret()
    if not secret:
        print("sandgate: no secret on standard input", file=sys.stderr)
        return 2
    binding = Binding(
        args.name, args.domain.strip().lower(), args.header, args.env or default_env(args.name)
    )
    index.add(binding, secret)
    print(f"stored {args.name} for {binding.domain} (header {binding.header}, ${binding.env})")
    return 0
