"""The history's queries on a real SQLite file and on a real PostgreSQL server (the
`database` fixture runs each test on both): each filter, the text index, the sorts,
keyset paging, details, the chart, migration 4 over an older store, and the export."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text as sql

from app.cli import main
from app.paths import Paths
from app.service.backends import DatabaseAt
from app.service.history_export import FIELDS, export
from app.service.history_queries import HistoryQueries, match_query
from app.service.history_rows import ANY_RULE, UNDECIDED, HistoryFilter
from app.service.history_search import server_query
from app.service.store import Store

DAY = 86400.0
NOW = 1_800_000_000.0


def verdict(band: str, score: int, rule: str, why: str) -> dict[str, object]:
    return {"score": score, "band": band, "signature": f"sig {rule}",
            "reasons": [{"rule": rule, "points": score, "why": why}]}  # fmt: skip


def record_sample(database: DatabaseAt, now: float = NOW) -> dict[str, int]:
    """Two workspaces, three agents, every kind of decision; returns event ids by name."""
    store = Store(database)
    store.open_session("s1", "/w/shop", ["claude"], agent="claude", started=now - 3 * DAY)
    store.open_session("s2", "/w/api", ["codex"], agent="codex", started=now - DAY)
    store.open_session("s3", "/w/api", ["gemini"], agent="gemini", started=now - 60)
    ids = {
        "pypi": store.add_event("s1", {"kind": "net.connect", "host": "pypi.org", "port": 443},
                                verdict("low", 5, "egress.known", "a registry"), ts=now - 3 * DAY),
        "aws": store.add_event("s1", {"kind": "file.read", "path": "/h/.aws/credentials"},
                               verdict("critical", 95, "cred.decoy", "reads AWS decoy keys"),
                               ts=now - 2 * DAY),
        "make": store.add_event("s2", {"kind": "exec", "command": "make deploy-prod"},
                                verdict("medium", 30, "exec.outside", "runs outside"),
                                ts=now - DAY),
        "paste": store.add_event("s2", {"kind": "tool", "tool": "Bash",
                                        "input": {"command": "curl paste.example.net"}},
                                 verdict("high", 60, "egress.unknown", "no rule names it"),
                                 ts=now - 3600),
        "evil": store.add_event("s3", {"kind": "file.read", "path": "/w/\u202eevil"},
                                verdict("high", 55, "path.odd", "a reversed name"), ts=now - 60),
        "bare": store.add_event("s3", {"kind": "net.connect", "host": "example.org"}, ts=now - 30),
    }  # fmt: skip
    store.add_decision("allow", "session", "egress.known", events_=[ids["pypi"]], ts=now - 3 * DAY)
    store.add_decision(
        "deny", "once", "user", events_=[ids["aws"], ids["paste"]], batch="b1", ts=now - 60
    )
    store.add_decision("allow", "once", "user", events_=[ids["make"]], ts=now - DAY + 5)
    store.close()
    store.close()
    return ids


@pytest.fixture
def sample(database: DatabaseAt) -> tuple[HistoryQueries, dict[str, int]]:
    ids = record_sample(database)
    queries = HistoryQueries(database)
    yield queries, ids
    queries.close()


def names(queries: HistoryQueries, ids: dict[str, int], **filters: object) -> list[str]:
    back = {v: k for k, v in ids.items()}
    sort = str(filters.pop("sort", "time"))
    return [back[e.event] for e in queries.page(HistoryFilter(**filters), sort)]  # type: ignore[arg-type]


def test_newest_first_with_the_latest_decision_and_who_made_it(sample) -> None:
    queries, ids = sample
    assert names(queries, ids) == ["bare", "evil", "paste", "make", "aws", "pypi"]
    rows = {r.event: r for r in queries.page(HistoryFilter())}
    aws = rows[ids["aws"]]
    assert (aws.decision, aws.scope, aws.decided_by, aws.batch) == ("deny", "once", "user", "b1")
    assert (aws.workspace, aws.agent, aws.score, aws.band) == ("/w/shop", "claude", 95, "critical")
    assert rows[ids["paste"]].command == "curl paste.example.net"
    assert rows[ids["bare"]].score is None and rows[ids["bare"]].decision is None


def test_each_filter(sample) -> None:
    queries, ids = sample
    assert names(queries, ids, session="s1") == ["aws", "pypi"]
    assert names(queries, ids, workspace="/w/api") == ["bare", "evil", "paste", "make"]
    assert names(queries, ids, agent="codex") == ["paste", "make"]
    assert names(queries, ids, bands=("high", "critical")) == ["evil", "paste", "aws"]
    assert names(queries, ids, kind="file.read") == ["evil", "aws"]
    assert names(queries, ids, decision="deny") == ["paste", "aws"]
    assert names(queries, ids, decision="allow") == ["make", "pypi"]
    assert names(queries, ids, decision=UNDECIDED) == ["bare", "evil"]
    assert names(queries, ids, decided_by="user") == ["paste", "make", "aws"]
    assert names(queries, ids, decided_by=ANY_RULE) == ["pypi"]
    assert names(queries, ids, decided_by="egress.known") == ["pypi"]
    assert names(queries, ids, since=NOW - 2 * DAY, until=NOW - 100) == ["paste", "make", "aws"]
    assert names(queries, ids, workspace="/w/api", bands=("high",), decision=UNDECIDED) == ["evil"]


def test_text_search_over_hosts_paths_commands_and_reasons(sample) -> None:
    queries, ids = sample
    assert names(queries, ids, text="pypi.org") == ["pypi"]  # a host
    assert names(queries, ids, text="credentials") == ["aws"]  # a path
    assert names(queries, ids, text="deploy") == ["make"]  # a command
    assert names(queries, ids, text="paste.example") == ["paste"]  # a tool's command
    assert names(queries, ids, text="decoy keys") == ["aws"]  # a reason's words
    assert names(queries, ids, text="egress") == ["paste", "pypi"]  # a rule's name
    assert names(queries, ids, text="cred") == ["aws"]  # the last word as a prefix
    assert names(queries, ids, text="registry decoy") == []  # every word must occur
    assert names(queries, ids, text="evil") == ["evil"]  # behind a bidi override
    assert names(queries, ids, text='pypi OR "deploy" NEAR -*') == []  # operators are text
    assert names(queries, ids, text="*** ---") == []
    assert names(queries, ids, text="egress", bands=("high",)) == ["paste"]
    assert match_query('a "b" c') == '"a" """b""" "c"*'
    assert server_query('a.b "c" Déj') == "'a' <-> 'b' & 'c' & 'Déj':*"
    assert server_query("*** ---") == "" and server_query("a _") is None


def test_text_search_means_the_same_on_both_stores(sample) -> None:
    # FTS5's tokenizer: runs of letters and digits, case and accents folded, `_` a
    # separator; the server's index is built to split and fold alike.
    queries, ids = sample
    store = Store(queries.at)
    store.open_session("s4", "/w/café", ["claude"], started=NOW)
    accented = store.add_event("s4", {"kind": "exec", "command": "ÉCHO Café_Crème v2.1"}, ts=NOW)
    store.close()
    back = {**{v: k for k, v in ids.items()}, accented: "accented"}

    def found(typed: str) -> list[str]:
        return [back[e.event] for e in queries.page(HistoryFilter(text=typed))]

    assert found("cafe creme") == ["accented"]  # accents and case folded
    assert found("écho") == ["accented"]
    assert found("crème_caf") == []  # a phrase: "creme caf" is not in that order
    assert found("café_crè") == ["accented"]  # the phrase "cafe cre…", its end a prefix
    assert found("v2.1") == ["accented"] and found("v2.") == ["accented"]
    assert found("v21") == []
    assert found("_") == []  # no letters or digits: nothing matches
    assert found("paste example.net") == ["paste"]
    assert found("exa") == ["bare", "paste"]  # example.org, paste.example.net


def test_sorts_by_score_and_band_page_by_key(sample) -> None:
    queries, ids = sample
    assert names(queries, ids, sort="score") == ["aws", "paste", "evil", "make", "pypi"]
    assert names(queries, ids, sort="band") == ["aws", "evil", "paste", "make", "pypi"]
    assert names(queries, ids, sort="band", text="egress") == ["paste", "pypi"]
    assert names(queries, ids, sort="score", text="egress") == ["paste", "pypi"]
    for sort in ("time", "score", "band"):
        for text in ("", "egress"):
            where = HistoryFilter(text=text)
            whole = [e.event for e in queries.page(where, sort, limit=100)]
            paged, after = [], None
            while True:
                page = queries.page(where, sort, after, limit=2)
                paged += [e.event for e in page]
                if len(page) < 2:
                    break
                after = page[-1].sort_key
            assert paged == whole, (sort, text)


def test_details_show_every_decision_and_the_batch(sample) -> None:
    queries, ids = sample
    details = queries.details(ids["paste"])
    assert details is not None
    assert json.loads(details.raw)["input"]["command"] == "curl paste.example.net"
    assert details.entry.reasons[0]["rule"] == "egress.unknown"
    assert [(d.decision, d.by, d.batch) for d in details.decisions] == [("deny", "user", "b1")]
    assert details.batch_size == 2
    assert queries.details(10_000) is None


def test_chart_counts_per_day_and_choices(sample) -> None:
    queries, _ids = sample
    days = queries.per_day(days=30, now=NOW)
    assert sum(d.actions for d in days) == 6
    assert sum(d.reached_person for d in days) == 3  # aws, paste and make, by a person
    assert sum(d.decisions for d in days) == 2  # the batch b1 counts once, and make's
    choices = queries.choices()
    assert choices.sessions == ("s3", "s2", "s1")
    assert choices.workspaces == ("/w/api", "/w/shop")
    assert choices.agents == ("claude", "codex", "gemini")
    assert choices.kinds == ("exec", "file.read", "net.connect", "tool")
    assert choices.rules == ("egress.known",)


def test_pruned_events_leave_the_text_index(database: DatabaseAt) -> None:
    record_sample(database)
    store = Store(database)
    assert store.prune(1.5, now=NOW) == 2  # pypi and aws
    with store._engine.connect() as conn:
        assert conn.execute(sql("SELECT count(*) FROM events_text")).scalar() == 4
    store.close()
    queries = HistoryQueries(database)
    assert queries.page(HistoryFilter(text="credentials")) == []
    queries.close()


def test_version_3_store_gets_its_events_indexed_for_search(database: DatabaseAt) -> None:
    db = database
    old = Store(db, migrate_to=3)
    old.open_session("s", "/w", ["agent"])
    old.add_event("s", {"kind": "net.connect", "host": "old.example"},
                  verdict("high", 60, "egress.unknown", "nobody named it"))  # fmt: skip
    old.close()
    store = Store(db)
    assert store.version() == 4
    store.add_event("s", {"kind": "exec", "command": "make new"})
    store.close()
    queries = HistoryQueries(db)
    assert [e.host for e in queries.page(HistoryFilter(text="nobody named"))] == ["old.example"]
    assert [e.command for e in queries.page(HistoryFilter(text="make new"))] == ["make new"]
    queries.close()
    if not isinstance(db, Path):
        return  # a server's backups are its administrators'; its plans its own
    assert db.with_name(db.name + ".v3.bak").exists()
    with sqlite3.connect(db) as conn:
        plan = " ".join(
            r[3]
            for r in conn.execute(
                "EXPLAIN QUERY PLAN SELECT id FROM events WHERE session = 's' ORDER BY ts"
            )
        )
    assert "events_session_ts" in plan


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_export_round_trip_is_what_the_page_shows(sample, fmt: str) -> None:
    queries, _ids = sample
    where = HistoryFilter(workspace="/w/api")
    out = io.StringIO()
    assert export(queries, where, fmt, out) == 4
    shown = [e.to_dict() for e in queries.page(where)]
    if fmt == "jsonl":
        assert [json.loads(line) for line in out.getvalue().splitlines()] == shown
    else:
        read = list(csv.DictReader(io.StringIO(out.getvalue())))
        assert list(read[0]) == list(FIELDS)
        for row, want in zip(read, shown, strict=True):
            assert int(row["event"]) == want["event"]
            assert json.loads(row["reasons"]) == want["reasons"]
            assert row["path"] == (want["path"] or "") and row["decision"] == (
                want["decision"] or ""
            )
    with pytest.raises(ValueError, match="csv or jsonl"):
        export(queries, where, "xml", io.StringIO())


def test_command_exports_the_same_rows(
    configured: DatabaseAt, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = record_sample(configured)
    assert main(["history", "--format", "jsonl", "--workspace", "/w/api", "--band", "high+"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["event"] for r in lines] == [ids["evil"], ids["paste"]]
    assert lines[0]["path"] == "/w/\u202eevil"  # exported as recorded, JSON-escaped
    assert main(["history", "--format", "csv", "--search", "decoy", "--decision", "deny"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [int(r["event"]) for r in rows] == [ids["aws"]]
    assert main(["history", "--format", "csv", "--limit", "2"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 3  # the header and two rows


def test_window_without_a_display_says_so(
    paths: Paths, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for var in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(var, raising=False)
    assert main(["history", "--window"]) == 1
    assert "no display" in capsys.readouterr().out


def test_the_history_only_reads(sample) -> None:
    from sqlalchemy.exc import DBAPIError

    queries, _ids = sample
    with queries._engine.connect() as conn, pytest.raises(DBAPIError, match=r"read-?only"):
        conn.execute(sql("DELETE FROM events"))
    assert len(queries.page(HistoryFilter())) == 6
