"""Agent text made safe to show: plain, with control and bidirectional characters visible.

Everything an agent wrote (commands, URLs, paths, host names, diffs) reaches a person
through `visible()` and is then shown by widgets in plain-text mode, so neither a
`<b>` nor a right-to-left override can change what the person reads. Qt-free.
"""

from __future__ import annotations

import unicodedata

# Characters that reorder or hide text: shown by name, never applied.
_BIDI = {
    "\u202a": "LRE",
    "\u202b": "RLE",
    "\u202c": "PDF",
    "\u202d": "LRO",
    "\u202e": "RLO",
    "\u2066": "LRI",
    "\u2067": "RLI",
    "\u2068": "FSI",
    "\u2069": "PDI",
    "\u200e": "LRM",
    "\u200f": "RLM",
    "\u061c": "ALM",
    "\u200b": "ZWSP",
    "\u200c": "ZWNJ",
    "\u200d": "ZWJ",
    "\u2060": "WJ",
    "\ufeff": "BOM",
}
ELLIPSIS = "…"


def visible(text: object, *, keep_newlines: bool = False) -> str:
    """`text` with every control, format and bidi character written out (`\\x1b`,
    `⟨RLO⟩`), so what is shown is exactly what the agent sent. Newlines and tabs stay
    as they are only where `keep_newlines` asks (a diff in a details pane)."""
    out: list[str] = []
    for ch in str(text):
        if keep_newlines and ch in "\n\t":
            out.append(ch)
        elif ch in _BIDI:
            out.append(f"⟨{_BIDI[ch]}⟩")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Zl", "Zp"):
            code = ord(ch)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            out.append(ch)
    return "".join(out)


def elide(text: str, limit: int = 80) -> str:
    """`text` cut in the middle to at most `limit` characters: both ends of a URL or a
    command say more than its middle."""
    if len(text) <= limit:
        return text
    head = (limit - 1) * 2 // 3
    tail = limit - 1 - head
    return text[:head] + ELLIPSIS + text[len(text) - tail :]


def short(text: object, limit: int = 80) -> str:
    """One line for a list: visible, then elided."""
    return elide(visible(text), limit)


def duration(seconds: float) -> str:
    """`45 s`, `3 min`, `2 h 5 min`: how long something has waited or run."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"
