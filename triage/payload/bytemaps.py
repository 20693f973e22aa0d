"""The byte classes every walk of the payload scan shares, and what counts as large.

One `bytes.translate` with `BOTH` maps a payload to "a" (a token character), "b" (any
other encoding character) or " ": the walks then jump from run to run with `find`.
"""

from __future__ import annotations

LETTERS = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
_NARROW_CHARS = LETTERS + b"_-."
_WIDE_CHARS = LETTERS + b"_-.+/=%"
WIDE = bytes(0x61 if b in _WIDE_CHARS else 0x20 for b in range(256))
# Both in one translate: token characters "a", the other encoding characters "b". The
# wide view is then one `replace` of the (usually rare) "b", cheaper than a translate.
BOTH = bytes(0x61 if b in _NARROW_CHARS else 0x62 if b in _WIDE_CHARS else 0x20 for b in range(256))
HEX = b"0123456789abcdefABCDEF"
# What the tests call a large payload (the scan itself has one path for every size).
LARGE = 64 * 1024
