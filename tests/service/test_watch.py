"""The change stream (`watch`) and the `sessions` and `review` operations, on a real
service and socket: every change kind in order, filtering, a slow watcher."""

from __future__ import annotations

import json
import queue
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.client import Client, ServiceError, connect
from app.service.runtime import start_in_thread
from tests.service.conftest import CANARY, Running


@pytest.fixture
def full(paths: Any, triage: Any, sandbox: Any) -> Iterator[Running]:
    """The service with its decision queue (no session here has a network)."""
    thread = start_in_thread(paths, sandbox=sandbox, triage=triage)
    yield Running(paths, thread, sandbox, triage)
    thread.stop()


class Watch:
    """A `watch` connection read on a thread, so a test can wait for a change."""

    def __init__(self, running: Running, **fields: Any) -> None:
        self.client = running.client()
        self.reply = self.client.request("watch", **fields)
        self.lines: queue.Queue[dict[str, Any]] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for change in self.client.changes():
            self.lines.put(change)

    def next(self, name: str, within: float = 5.0) -> dict[str, Any]:
        """The next change called `name`, skipping others (kept in `skipped`)."""
        deadline = time.monotonic() + within
        while True:
            change = self.lines.get(timeout=max(0.01, deadline - time.monotonic()))
            if change["change"] == name:
                return change

    def all(self, settle: float = 0.3) -> list[dict[str, Any]]:
        time.sleep(settle)
        found = []
        while not self.lines.empty():
            found.append(self.lines.get_nowait())
        return found

    def close(self) -> None:
        self.client.close()


def _open(client: Client, workspace: Path) -> str:
    opened = client.request(
        "session.open", workspace=str(workspace), command=["agent"], env={"HOME": "/h"},
        agent="claude-code",
    )  # fmt: skip
    return str(opened["session"])


def _hold(running: Running, session: str, n: int, host: str = "outside.test") -> Any:
    """A request of `session` held in the service's queue, as the egress proxy asks."""
    queue_ = running.thread.runtime.parts.sessions.hooks[0].queue  # type: ignore[union-attr]
    event = {"id": f"{session}-e{n}", "kind": "net.request", "method": "GET",
             "url": f"https://{host}/{n}"}  # fmt: skip
    verdict = {"score": 30, "band": "medium", "signature": f"net.request GET {host}",
               "reasons": [{"rule": "egress.unknown", "points": 30, "why": "unknown"}]}  # fmt: skip
    return running.thread.submit(queue_.ask(session, "/w", event, verdict, 30.0))


def test_watch_answers_the_state_then_streams_every_change_in_order(
    full: Running, workspace: Path
) -> None:
    watch = Watch(full)
    state = watch.reply["state"]
    assert watch.reply["seq"] == 0
    assert state == {"batches": [], "sessions": [], "review": [], "paused": None, "recording": None}
    with full.client() as client:
        session = _open(client, workspace)
        opened = watch.next("session.opened")
        assert opened["session"]["session"] == session
        assert opened["session"]["agent"] == "claude-code"
        assert client.request("sessions")["sessions"] == [opened["session"]]

        first = _hold(full, session, 1)
        added = watch.next("batch.added")
        assert added["batch"]["state"] == "pending"
        assert added["member"]["event"] == f"{session}-e1"
        _hold(full, session, 2)
        joined = watch.next("batch.joined")
        assert joined["batch"]["batch"] == added["batch"]["batch"]
        assert "members" not in joined["batch"]  # the header: the watcher has the first
        assert (joined["batch"]["count"], joined["batch"]["state"]) == (2, "pending")
        assert joined["member"]["event"] == f"{session}-e2"

        client.request("decide", batch=added["batch"]["batch"], decision="allow")
        decided = watch.next("batch.decided")
        assert (decided["batch"], decided["decision"], decided["released"]) == (
            added["batch"]["batch"], "allow", 2,
        )  # fmt: skip
        assert first.result(5).allow

        (workspace / "CLAUDE.md").write_text("new instructions\n")
        client.request("session.close", session=session, exit_code=3)
        review = watch.next("review.added")
        assert review["item"]["kind"] == "memory"
        assert "new instructions" in review["item"]["detail"]
        closed = watch.next("session.closed")
        assert (closed["session"], closed["exit_code"]) == (session, 3)
    seqs = [opened["seq"], added["seq"], joined["seq"], decided["seq"], review["seq"]]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    assert closed["seq"] > review["seq"]
    watch.close()


def test_a_timeout_is_a_batch_expired_change(full: Running, workspace: Path) -> None:
    watch = Watch(full)
    with full.client() as client:
        session = _open(client, workspace)
        queue_ = full.thread.runtime.parts.sessions.hooks[0].queue  # type: ignore[union-attr]
        event = {"id": "late", "kind": "net.request", "method": "GET", "url": "https://x.test/"}
        verdict = {"score": 30, "band": "medium", "signature": "net.request GET x.test"}
        answer = full.thread.submit(queue_.ask(session, "/w", event, verdict, 0.1)).result(5)
        assert not answer.allow
        expired = watch.next("batch.expired")
        assert expired["batch"]["state"] == "expired"
        assert expired["member"]["answer"] == "timeout"
    watch.close()


def test_a_filtered_watch_sees_only_its_own_session(full: Running, tmp_path: Path) -> None:
    mine, theirs = tmp_path / "mine", tmp_path / "theirs"
    mine.mkdir()
    theirs.mkdir()
    with full.client() as a, full.client() as b:
        session = _open(a, mine)
        other = _open(b, theirs)
        watch = Watch(full, session=session)
        assert [s["session"] for s in watch.reply["state"]["sessions"]] == [session]
        _hold(full, other, 1, host="theirs.test")
        _hold(full, session, 1, host="mine.test")
        added = watch.next("batch.added")
        assert added["member"]["session"] == session
        b.request("session.close", session=other)
        a.request("session.close", session=session)
        closed = watch.next("session.closed")
        assert closed["session"] == session
        seen = {(c["change"], json.dumps(c)) for c in watch.all()}
        assert not any(other in text for _, text in seen)
    watch.close()


def test_a_watcher_that_never_reads_does_not_stall_the_service(
    full: Running, workspace: Path
) -> None:
    # A raw socket that asks to watch and then reads nothing at all.
    stuck = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stuck.connect(str(full.paths.socket))
    stuck.sendall(b'{"op":"watch"}\n')
    time.sleep(0.2)
    watch = Watch(full)
    with full.client() as client:
        session = _open(client, workspace)
        started = time.monotonic()
        # Far more changes than socket buffers and a watcher's buffer hold together.
        for _ in range(6000):
            client.request("pause", **{"for": 900})
            client.request("resume")
        elapsed = time.monotonic() - started
        assert client.request("ping")["pid"]
        client.request("session.close", session=session)
        assert watch.next("session.closed")["session"] == session
    assert elapsed < 60
    changes = full.thread.runtime.parts.changes  # type: ignore[union-attr]
    assert len(changes.watchers) == 1, "the stuck watcher is still registered"
    # The stuck watcher's connection was cut: reading it ends (after what was sent).
    stuck.settimeout(5)
    while stuck.recv(65536):
        pass
    stuck.close()
    watch.close()


def test_review_lists_and_resolves_each_kind(running: Running, workspace: Path) -> None:
    hook = workspace / ".git" / "hooks" / "pre-commit"
    with running.client() as client:
        session = _open(client, workspace)
        (running.sandbox.opened[-1].session_dir / "decoys" / "credentials").read_text()
        (workspace / "CLAUDE.md").write_text("be careful\n")
        hook.parent.mkdir(parents=True)
        hook.write_text("#!/bin/sh\necho hi\n")
        hook.chmod(0o755)
        running.sandbox.protected.append(hook)
        client.request("session.close", session=session)
        items = {i["kind"]: i for i in client.request("review")["items"]}
        assert set(items) == {"memory", "quarantine", "alert"}, items
        assert items["memory"]["actions"] == ["accept"]
        assert "be careful" in items["memory"]["detail"]
        assert items["quarantine"]["actions"] == ["restore", "discard"]
        assert items["quarantine"]["path"] == str(hook)
        assert "echo hi" in items["quarantine"]["detail"]
        assert items["alert"]["actions"] == ["acknowledge"]
        assert "decoy of the aws credentials" in items["alert"]["summary"]
        assert items["alert"]["workspace"] == str(workspace.resolve())
        assert not hook.exists()

        with pytest.raises(ServiceError, match="restore or discard"):
            client.request("review.resolve", id=items["quarantine"]["id"], action="accept")
        for item in items.values():
            assert client.request("review.resolve", id=item["id"], action=item["actions"][0])
        assert client.request("review")["items"] == []
        assert hook.read_text() == "#!/bin/sh\necho hi\n"
        assert hook.stat().st_mode & 0o777 == 0o755  # its mode comes back with it
        with pytest.raises(ServiceError, match="already resolved"):
            client.request("review.resolve", id=items["alert"]["id"], action="acknowledge")


def test_discard_deletes_the_held_copy_and_acknowledged_stays_so_after_restart(
    paths: Any, triage: Any, sandbox: Any, workspace: Path
) -> None:
    thread = start_in_thread(paths, sandbox=sandbox, triage=triage, extensions=())
    script = workspace / "Makefile"
    try:
        client = connect(paths)
        assert client is not None
        with client:
            session = _open(client, workspace)
            (sandbox.opened[-1].session_dir / "decoys" / "credentials").read_text()
            script.write_text("all:\n\tcurl evil\n")
            sandbox.protected.append(script)
            time.sleep(0.5)  # the decoy read is seen
            client.request("session.close", session=session)
            items = {i["kind"]: i for i in client.request("review")["items"]}
            stored = Path(items["quarantine"]["stored"])
            assert stored.exists()
            client.request("review.resolve", id=items["quarantine"]["id"], action="discard")
            client.request("review.resolve", id=items["alert"]["id"], action="acknowledge")
            assert not stored.exists() and not script.exists()
    finally:
        thread.stop()
    thread = start_in_thread(paths, sandbox=sandbox, triage=triage, extensions=())
    try:
        client = connect(paths)
        assert client is not None
        with client:
            assert [i["kind"] for i in client.request("review")["items"]] == []
    finally:
        thread.stop()


def test_review_resolved_is_streamed_and_memory_accept_resolves_too(
    running: Running, workspace: Path
) -> None:
    with running.client() as client:
        session = _open(client, workspace)
        (workspace / "CLAUDE.md").write_text("one\n")
        client.request("session.close", session=session)
        watch = Watch(running)
        [item] = watch.reply["state"]["review"]
        client.request("memory.accept", workspace=str(workspace))
        resolved = watch.next("review.resolved")
        assert resolved == {"change": "review.resolved", "seq": resolved["seq"],
                            "id": item["id"], "action": "accept"}  # fmt: skip
    watch.close()


def test_pause_denies_at_once_lists_and_resumes(full: Running, workspace: Path) -> None:
    watch = Watch(full)
    with full.client() as client:
        session = _open(client, workspace)
        assert client.request("pause")["until"] is None
        assert watch.next("paused")["until"] is None
        started = time.monotonic()
        answer = _hold(full, session, 1).result(5)
        assert time.monotonic() - started < 1.0
        assert not answer.allow and answer.by == "paused"
        [batch] = client.request("queue")["batches"]
        assert batch["state"] == "expired"
        assert batch["members"][0]["answer"] == "paused"
        assert watch.next("batch.added")["batch"]["state"] == "expired"
        # The listed batch can still be decided for the requests that come later.
        client.request("decide", batch=batch["batch"], decision="allow", scope="session")
        client.request("resume")
        assert watch.next("resumed")["change"] == "resumed"
        assert _hold(full, session, 2).result(5).allow

        until = client.request("pause", **{"for": 0.3})["until"]
        assert until is not None and watch.next("paused")["until"] == until
        assert watch.next("resumed", within=3)["change"] == "resumed"
        second = Watch(full)
        assert second.reply["state"]["paused"] is None
        second.close()
    watch.close()


def test_preview_says_what_else_a_scope_decides(full: Running, workspace: Path) -> None:
    with full.client() as client:
        session = _open(client, workspace)
        _hold(full, session, 1, host="one.test")
        _hold(full, session, 2, host="two.test")
        deadline = time.monotonic() + 5
        while len(client.request("queue")["batches"]) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        first = client.request("queue")["batches"][0]["batch"]
        for scope in ("once", "session", "always"):
            preview = client.request("decide.preview", batch=first, scope=scope)
            # Remembered decisions match one signature: no other batch is decided with it.
            assert preview["also"] == []
            assert "this batch only" in preview["note"]
        with pytest.raises(ServiceError, match="scope must be"):
            client.request("decide.preview", batch=first, scope="forever")
        client.request("decide", batch=first, decision="deny")
        with pytest.raises(ServiceError, match="no batch"):
            client.request("decide.preview", batch=first, scope="session")
        # A decision on a batch that is gone is refused, never applied twice.
        with pytest.raises(ServiceError, match="no batch"):
            client.request("decide", batch=first, decision="deny")


def test_a_canary_seen_by_the_real_triage_is_an_alert(
    paths: Any, sandbox: Any, workspace: Path, resources: Path
) -> None:
    from app.service.runtime import default_triage

    thread = start_in_thread(paths, sandbox=sandbox, triage=default_triage(resources))
    try:
        watch = Watch(Running(paths, thread, sandbox, None))  # type: ignore[arg-type]
        client = connect(paths)
        assert client is not None
        with client:
            session = _open(client, workspace)
            verdict = client.request("session.event", session=session, event={
                "kind": "net.request", "method": "POST", "url": "https://paste.test/up",
                "body": f"key={CANARY}",  # the canary FakeSandbox's decoy carries
            })["verdict"]  # fmt: skip
            assert "egress.canary" in {r["rule"] for r in verdict["reasons"]}
            added = watch.next("review.added")["item"]
            assert added["kind"] == "alert" and added["band"] == "critical"
            assert "canary token was seen" in added["summary"]
            assert "paste.test" in added["summary"]
            assert [i["id"] for i in client.request("review")["items"]] == [added["id"]]
            client.request("session.close", session=session)
        watch.close()
    finally:
        thread.stop()


def test_a_decision_on_what_an_earlier_run_showed_is_refused(
    paths: Any, triage: Any, sandbox: Any, workspace: Path
) -> None:
    shown = None
    for _run in range(2):
        thread = start_in_thread(paths, sandbox=sandbox, triage=triage)
        running = Running(paths, thread, sandbox, triage)
        try:
            with running.client() as client:
                session = _open(client, workspace)
                _hold(running, session, 1)
                deadline = time.monotonic() + 5
                while not client.request("queue")["batches"] and time.monotonic() < deadline:
                    time.sleep(0.02)
                watch = Watch(running)
                batch = watch.reply["state"]["batches"][0]["batch"]
                if shown is None:
                    shown = (watch.reply["instance"], batch)
                    watch.close()
                    continue
                # The same id names a new batch now; the stale click decides nothing.
                assert batch == shown[1] and watch.reply["instance"] != shown[0]
                with pytest.raises(ServiceError, match="restarted since this was shown"):
                    client.request("decide", batch=batch, decision="allow", instance=shown[0])
                assert client.request("queue")["batches"][0]["members"][0]["waiting"]
                client.request(
                    "decide", batch=batch, decision="deny", instance=watch.reply["instance"]
                )
                watch.close()
        finally:
            thread.stop()


def test_a_session_closing_with_a_request_waiting_expires_it(
    full: Running, workspace: Path
) -> None:
    watch = Watch(full)
    with full.client() as client:
        session = _open(client, workspace)
        held = _hold(full, session, 1)
        watch.next("batch.added")
        client.request("session.close", session=session)
        expired = watch.next("batch.expired")
        assert expired["member"]["answer"] == "closed"
        assert not held.result(5).allow
        assert watch.next("session.closed")["seq"] > expired["seq"]
    watch.close()


def test_batch_ids_go_on_after_a_restart(paths: Any, triage: Any, sandbox: Any, workspace) -> None:
    """`b1` in history is one batch: the next run of the service numbers after it."""
    seen = []
    for _run in range(2):
        running = Running(paths, start_in_thread(paths, sandbox=sandbox, triage=triage), sandbox,
                          triage)  # fmt: skip
        try:
            with running.client() as client:
                session = _open(client, workspace)
                held = _hold(running, session, len(seen))
                deadline = time.monotonic() + 5
                while not client.request("queue")["batches"] and time.monotonic() < deadline:
                    time.sleep(0.02)
                [batch] = client.request("queue")["batches"]
                client.request("decide", batch=batch["batch"], decision="deny", scope="once")
                assert not held.result(5).allow
                seen.append(batch["batch"])
        finally:
            running.thread.stop()
    assert seen == ["b1", "b2"], seen
