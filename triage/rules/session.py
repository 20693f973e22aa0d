"""session.*: patterns that only show across several events of one session."""

from __future__ import annotations

from triage.facts import Facts
from triage.rules.base import EXEC, FILE_READ, rule

_SWEEP = 3


@rule("session.credential-sweep", "Goes through several credential stores", 30, (FILE_READ, EXEC))
def credential_sweep(f: Facts) -> str | None:
    """This event reads a credential store, and with it the session has now read three
    or more different ones. One credential read can be an accident; a sweep across
    cloud keys, SSH keys and tokens is how a theft collects what it will send.

    Fires: `file.read ~/.netrc` after `~/.aws/credentials` and `~/.ssh/id_rsa`.
    Near miss: `file.read ~/.aws/credentials` a third time (one store, read again).
    """
    now: list[str] = []
    if f.credential is not None:
        now.append(f.credential.title)
    now += f.credentials_inside
    now += f.shell_credentials
    new = [t for t in dict.fromkeys(now) if t not in f.credentials_read]
    if new and len(f.credentials_read) + len(new) >= _SWEEP:
        total = len(f.credentials_read) + len(new)
        return f"reads {', '.join(new)}: {total} different credential stores in this session"
    return None


RULES = (credential_sweep,)
