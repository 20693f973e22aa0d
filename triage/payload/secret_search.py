"""The search for secrets: catalogued secret formats and generic secrets in fields.

Tokens ([A-Za-z0-9_.-], at least 16 long) are matched against the secret formats where
one may start: at the token's start or after a `_`, `-` or `.` inside it. A token after a
field's `:`/`=` or quote, or a run holding one, is a generic candidate. A payload with
very many tokens, or a large one whose tokens keep asking for regex walks (dense JSON,
code), has the rest looked through with one `find` per secret prefix stem and field name
instead: bounded and linear, but slower (~12 ms per MiB).
"""

from __future__ import annotations

from triage.payload.bytemaps import LARGE
from triage.payload.findings import Tally

# The shortest token worth testing against the secret formats.
_MIN_TOKEN = 16
TOKEN_NEEDLE = b"a" * _MIN_TOKEN
# Tokens up to this long are searched for inner separators directly; longer ones first
# check that they hold one.
_SHORT_TOKEN = 64
# Past this many tokens (or one per _BYTES_PER_TOKEN bytes) a payload is "dense": the
# rest is scanned per secret prefix, which costs the same whatever the token count.
_MAX_TOKENS = 4096
_BYTES_PER_TOKEN = 256
# ... or past this many regex walks on candidates in a payload of LARGE or more.
_MAX_CHECKS = 512
# Before a token, the characters that continue a longer value (`+`, `/`, `%`).
_VALUE_INNER = b"+/%"
# Generic secrets: how far before a token its field name may stand (`"api_key": "`).
_KEY_WINDOW = 40
_KEY_LEADS = b"\"' :="
# Dense payloads: field names looked for directly (in the lower-cased payload), and how
# many hits of each to examine.
_KEY_WORDS = (b"passw", b"secret", b"token", b"api_key", b"apikey", b"credential")
_MAX_KEY_HITS = 64


def anywhere_formats(data: bytes, state: Tally) -> None:
    """Formats such as key blocks hold spaces, so they are never one token: each is
    looked for over the whole payload, once its fixed anchor is in it."""
    for anchor, pattern in state.catalogues.anywhere_anchors:
        if anchor in data:
            for m in pattern.finditer(data):
                state.note(m)


def tokens(data: bytes, both: bytes, pos: int, skip: list[tuple[int, int]], state: Tally) -> None:
    """Match tokens ([A-Za-z0-9_.-] runs of at least _MIN_TOKEN) against the secret
    formats where one may start: at the token's start, or after a `_`, `-` or `.` in it.
    A token right after a field name's `:`/`=` (or its quote) is a generic-secret
    candidate; so is one inside a longer value (`+`, `/` or `%` before it)."""
    cat = state.catalogues
    initials, prefixes = cat.secret_initials, cat.secret_prefixes
    regex, inner = cat.secret_regex, cat.inner_regex
    size = len(data)
    limit = _MAX_TOKENS if size < _MAX_TOKENS * _BYTES_PER_TOKEN else size // _BYTES_PER_TOKEN
    # A large payload whose tokens keep asking for regex walks (JSON values, dotted
    # names) is finished per prefix: past this many walks that costs less.
    checks = _MAX_TOKENS if size < LARGE else _MAX_CHECKS
    count = k = 0
    judged = -1  # the run whose value was last judged as a whole
    while (start := both.find(TOKEN_NEEDLE, pos)) >= 0:
        end = both.find(b" ", start)
        end = size if end < 0 else end
        other = both.find(b"b", start, end)
        pos = end = end if other < 0 else other
        if skip:
            while k < len(skip) and skip[k][1] <= start:
                k += 1
            if k < len(skip) and skip[k][0] <= start:
                pos = skip[k][1]
                continue
        count += 1
        if count > limit or state.checks > checks:
            _scan_dense(data, start, state)
            return
        if data[start] in initials and data.startswith(prefixes, start):
            state.note(regex.match(data, start))
        # Room for a character, a separator and a whole token after it. The regex walks
        # every byte, so a long token (encoded data) is first asked for a separator at
        # all, with three memchr-speed finds.
        length = end - start
        m = (
            inner.search(data, start, end)
            if length >= _MIN_TOKEN + 2
            and (
                length <= _SHORT_TOKEN
                or data.find(b"_", start, end) >= 0
                or data.find(b"-", start, end) >= 0
                or data.find(b".", start, end) >= 0
            )
            else None
        )
        if m is not None:
            state.checks += 1
        while m is not None:
            state.note(regex.match(data, m.end()))
            m = inner.search(data, m.end(), end)
        if start:
            lead = data[start - 1]
            if lead in _KEY_LEADS:
                state.generic(data[start - _KEY_WINDOW if start > _KEY_WINDOW else 0 : end])
            elif lead in _VALUE_INNER:
                # Inside a value such as `wJalr/K7MD/bPxRfiCY…` or `password=ab+cd…`: its
                # field name, if any, stands before the whole run or inside it.
                # Once per run, over the whole run (not again for each of its tokens).
                run = both.rfind(b" ", 0, start) + 1
                if run != judged and (
                    (run and data[run - 1] in _KEY_LEADS) or data.find(b"=", run, start) >= 0
                ):
                    judged = run
                    run_end = both.find(b" ", start)
                    state.generic(
                        data[max(0, run - _KEY_WINDOW) : size if run_end < 0 else run_end]
                    )


def _scan_dense(data: bytes, pos: int, state: Tally) -> None:
    """Very many tokens: look for each secret prefix stem and each field name directly
    (from `pos` on; bounded and linear, though slower than the token walk)."""
    regex = state.catalogues.secret_regex
    prefixes = state.catalogues.secret_prefixes
    for stem in state.catalogues.secret_stems:
        at = data.find(stem, pos)
        while at >= 0:
            if data.startswith(prefixes, at):
                state.note(regex.match(data, at))
            at = data.find(stem, at + 1)
    lowered = data.lower()
    for word in _KEY_WORDS:
        at = lowered.find(word, max(0, pos - _KEY_WINDOW))
        hits = 0
        while at >= 0 and hits < _MAX_KEY_HITS and "generic" not in state.secrets:
            state.generic(data[at : at + _KEY_WINDOW + 200])
            at = lowered.find(word, at + 1)
            hits += 1
