"""What a shell command reads, where it sends data, and whether the first flows into the second.

The command is parsed with bashlex and walked as a small data-flow program: every simple
command gets the data of its standard input, of its arguments (command substitutions,
variables assigned earlier in the same command) and of the files it names, and passes
that data on to its standard output, to the files it writes, or out through a network
sink. A credential read "flows" into a sink when the credential's data reaches it by any
of these paths. When bashlex cannot parse the command, a conservative token scan stands
in: then any credential read and any sink anywhere in the command count as one flow.

Pure: no I/O, no environment, no clock. Paths are only ever handed to ``is_credential``.

The modules, in the order a command meets them:

- ``parse``: shell text to nodes (a quick parser for simple commands, else bashlex);
- ``walker``: the walk over those nodes, with the state of one command line;
- ``redirects``: what redirects feed in and where output goes;
- ``commands``: one simple command (reads, writes, shells, ``git``);
- ``git`` and ``host``: configuration git runs, remotes and pushes; containers and
  namespaces that reach the host;
- ``network`` and ``code``: network tools, and inline programs (``python -c`` ...);
- ``scan``: the token scan that stands in when parsing fails;
- ``words``, ``tables`` and ``flow``: word helpers, the tool tables, the data records.
"""

from triage.shell.flow import IsCredential, ShellAnalysis
from triage.shell.git import pushed_somewhere_new
from triage.shell.parse import MAX_PARSE_CHARS
from triage.shell.tables import ENVIRONMENT
from triage.shell.walker import analyse
from triage.shell.words import normalise_path

__all__ = [
    "ENVIRONMENT",
    "MAX_PARSE_CHARS",
    "IsCredential",
    "ShellAnalysis",
    "analyse",
    "normalise_path",
    "pushed_somewhere_new",
]
