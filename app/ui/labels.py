"""The inbox's fixed words and colours, and reasons written out for a person. Qt-free."""

from __future__ import annotations

from app.ui.rows import Member, Reason
from app.ui.text import visible

SCOPE_WORDS = {
    "once": "once: these requests only",
    "session": "this session",
    "workspace": "this workspace",
    "always": "always",
}
BANNERS = {
    "low": ("LOW RISK", "#e8f5e9", "#1b5e20"),
    "medium": ("MEDIUM RISK: read the requests below before allowing", "#fff3e0", "#8a4b00"),
    "high": ("HIGH RISK: decide each request on its own", "#ffebee", "#b71c1c"),
    "critical": ("CRITICAL: BLOCKED. Allowing needs a deliberate second step", "#b71c1c", "#fff"),
}


def reasons_text_of(
    reasons: tuple[Reason, ...], none: str = "no rule matched: a destination no rule names"
) -> str:
    lines = [f"+{r.points}  {visible(r.rule)}: {visible(r.why)}" for r in reasons]
    return "\n".join(lines) or none


def reasons_text(members: tuple[Member, ...]) -> str:
    seen: dict[str, Reason] = {}
    for m in members:
        for r in m.reasons:
            seen.setdefault(r.rule, r)
    return reasons_text_of(tuple(seen.values()))
