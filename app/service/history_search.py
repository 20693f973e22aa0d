"""What a person typed in the history's search box, as a query for each text index.

The same words mean the same on both stores: every typed word must occur, the last one
as a prefix (it may still be being typed); a word is the runs of letters and digits in
it, in that order (`foo.bar` is the phrase `foo bar`). SQLite answers through FTS5
(`events_text MATCH`), PostgreSQL through the `tsvector` index of its migration 4
(`words @@ to_tsquery`), folded there by the same function as the indexed words.
"""

from __future__ import annotations

import re

_TOKEN = re.compile(r"[^\W_]+")  # letters and digits, as FTS5's default tokenizer splits


def typed_words(text: str) -> list[str]:
    """The words of `text` that can be searched for (punctuation alone cannot)."""
    return [w for w in text.split() if re.search(r"\w", w)]


def match_query(text: str) -> str:
    """The FTS5 query for what a person typed. Each word is quoted, so FTS5's operators
    (`OR`, `NEAR`, `-`, `*`) typed in are searched for as text instead of being obeyed;
    a prefix costs more, so only the last word is one."""
    words = ['"' + w.replace('"', '""') + '"' for w in typed_words(text)]
    if words:
        words[-1] += "*"
    return " ".join(words)


def server_query(text: str) -> str | None:
    """The PostgreSQL `tsquery` text for what a person typed, "" when nothing was typed
    that can be searched for, None when a word has no letters or digits at all (`_`),
    which FTS5 matches with nothing."""
    phrases = []
    for word in typed_words(text):
        tokens = [f"'{t}'" for t in _TOKEN.findall(word)]
        if not tokens:
            return None
        phrases.append(tokens)
    if not phrases:
        return ""
    phrases[-1][-1] += ":*"
    return " & ".join(" <-> ".join(p) for p in phrases)


def text_clause(server: bool) -> str:
    """The filter clause that keeps the events whose words match `:text`."""
    if server:
        return (
            "e.id IN (SELECT event FROM events_text"
            " WHERE words @@ to_tsquery('simple', sandgate_fold(:text)))"
        )
    return "e.id IN (SELECT rowid FROM events_text WHERE events_text MATCH :text)"


def search_for(text: str, server: bool) -> str | None:
    """The bound value of `text_clause`; "" for no search, None when nothing matches."""
    query = server_query(text) if server else match_query(text)
    return query if query or not text.strip() else None
