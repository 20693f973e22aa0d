"""The `sandgate` command line: a thin dispatcher.

Each subcommand lives in its own module under `app.commands` and is imported only when
it is the one asked for, so that `sandgate run` pays for nothing but itself before the
agent starts. A command module provides `configure(parser)` and `main(args) -> int`,
and may provide `parse_quickly(argv) -> Namespace | None`: a parser for its common
command lines that spares argparse (whose import, with the shutil and gettext it pulls
in, is a tenth of `sandgate run`'s cost); None sends the line to argparse, which then
also gives --help and the error messages.
"""

from __future__ import annotations

import importlib
import sys

# name -> (module, one-line help). Order is the order shown in --help.
COMMANDS: dict[str, tuple[str, str]] = {
    "tray": ("app.commands.tray", "the tray and its inbox (also `sandgate` alone)"),
    "start": ("app.commands.start", "the main job: the tray, or with no display the service"),
    "run": ("app.commands.run", "run an agent command inside the sandbox"),
    "score": ("app.commands.score", "score JSON Lines events and print verdicts"),
    "policy": ("app.commands.policy", "validate and show the effective policy"),
    "service": ("app.commands.service", "the service alone in the foreground, never the tray"),
    "history": ("app.commands.history", "show recorded events, verdicts and decisions"),
    "queue": ("app.commands.queue", "list the batches waiting for a decision"),
    "decide": ("app.commands.decide", "allow or deny a waiting batch"),
    "quarantine": ("app.commands.quarantine", "list, show, restore or discard held files"),
    "credential": ("app.commands.credential", "manage credentials bound to domains"),
    "trust": ("app.commands.trust", "edit what the sandbox trusts; --explain PATH says why"),
    "hook": ("app.commands.hook", "an agent's permission hook (claude-code, codex); install it"),
    "demo": ("app.commands.demo", "show both incidents of the design stopped, on this machine"),
    "autostart": ("app.commands.autostart", "start the tray at login: on, off or status"),
}


def _usage() -> str:
    width = max(len(n) for n in COMMANDS)
    lines = ["usage: sandgate COMMAND [ARGS...]", "", "commands:"]
    lines += [f"  {name:<{width}}  {help_}" for name, (_, help_) in COMMANDS.items()]
    lines += ["", "Run `sandgate COMMAND --help` for a command's options."]
    return "\n".join(lines)


def _version() -> str:
    """The installed distribution's version (pyproject.toml's, once installed)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("sandgate")
    except PackageNotFoundError:
        return "(not installed: run packaging/install.sh)"


def main(argv: list[str] | None = None) -> int:
    """Parse the command line, import the one command asked for, and run it."""
    argv = sys.argv[1:] if argv is None else argv
    if not argv:
        argv = ["tray"]  # the tray is the main way in; the commands are for terminals
    if argv[0] in ("-h", "--help", "help"):
        print(_usage())
        return 0
    if argv[0] in ("-V", "--version"):
        print(f"sandgate {_version()}")
        return 0
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        print(f"sandgate: unknown command {name!r}\n\n{_usage()}", file=sys.stderr)
        return 2
    module_name, help_ = COMMANDS[name]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise
        print(f"sandgate: the {name!r} command is not available in this build", file=sys.stderr)
        return 2
    quick = getattr(module, "parse_quickly", None)
    args = quick(rest) if quick is not None else None
    if args is None:
        import argparse

        parser = argparse.ArgumentParser(prog=f"sandgate {name}", description=help_)
        module.configure(parser)
        args = parser.parse_args(rest)
    result: int = module.main(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
