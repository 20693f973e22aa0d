"""Linear scans of outgoing data: canaries, secret formats, generic secrets, blobs.

No regex ever walks the whole payload. One `bytes.translate` (C speed) maps every byte
to "token character", "other encoding character" or "space"; `bytes.find` then jumps
from one long run to the next, and only those runs are looked at. Prose, JSON and code
have few long runs, so a large body costs little more than the translate; a run that
is an encoded blob is reported as such, and searched only while it is short enough.

One walk for every size:
- tokens ([A-Za-z0-9_.-], at least 16 long) are matched against the secret formats
  where one may start: at the token's start or after a `_`, `-` or `.` inside it; a
  token after a field's `:`/`=` or quote, or a run holding one, is a generic candidate;
- runs ([A-Za-z0-9_.+/=%-]) of at least 512 are blob candidates; the longest encoded
  one is reported;
- canary spellings made of run characters are looked for inside runs long enough to
  hold them, the others anywhere; runs are decoded once more for a canary encoded
  twice, except in a payload of 64 KiB or more with over 512 such runs;
- a payload with very many tokens, or a large one whose tokens keep asking for regex
  walks (dense JSON, code), has the rest looked through with one `find` per secret
  prefix stem and field name instead: bounded and linear, but slower (~12 ms per MiB).

The modules:

- ``scan``: one scan, the walks below in order (and again over inflated content);
- ``secret_search``: secret formats on tokens, generic secrets in fields, dense payloads;
- ``canaries``: a canary's spellings, and the search for those bounded to long runs;
- ``decoding``: gzip/zlib inflated, encoded runs decoded once for a canary inside;
- ``blobs``: long encoded runs, the longest reported;
- ``findings`` and ``bytemaps``: the records and tally of a scan, the shared byte maps.
"""

from triage.payload.bytemaps import LARGE
from triage.payload.canaries import (
    MIN_CANARY,
    NO_CANARIES,
    Canaries,
    canaries_of,
    canary_variants,
)
from triage.payload.findings import NOTHING, Findings, SecretHit, merge
from triage.payload.scan import scan

__all__ = [
    "LARGE",
    "MIN_CANARY",
    "NOTHING",
    "NO_CANARIES",
    "Canaries",
    "Findings",
    "SecretHit",
    "canaries_of",
    "canary_variants",
    "merge",
    "scan",
]
