"""The decision queue: batches, scopes, expiry, timeouts — and `sandgate queue`/`decide`
against a real service on a real socket."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from app.service.queue import DecisionQueue, QueueError


def ev(n: int, host: str = "outside.test") -> dict[str, Any]:
    return {"id": f"e{n}", "kind": "net.request", "method": "POST", "url": f"https://{host}/u"}


def verdict(band: str = "medium", signature: str = "net.request outside.test") -> dict:
    score = {"low": 10, "medium": 30, "high": 60, "critical": 90}[band]
    reasons = [{"rule": "egress.unknown", "points": score, "why": "an unknown destination"}]
    return {"score": score, "band": band, "reasons": reasons, "signature": signature}


OUTSIDE = "net outside.test:443"  # the decision key of `ev`'s destination


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def _held(queue: DecisionQueue, count: int = 1) -> None:
    while sum(len(b.members) for b in queue.batches.values()) < count:
        await asyncio.sleep(0.001)


def test_first_decision_releases_the_whole_batch() -> None:
    async def run() -> None:
        queue = DecisionQueue()
        asks = [
            asyncio.ensure_future(queue.ask("s1", "/w", ev(i), verdict(), timeout=10))
            for i in range(3)
        ]
        await _held(queue, 3)
        [batch] = queue.listing()
        assert batch["state"] == "pending" and len(batch["members"]) == 3
        assert batch["members"][0]["reasons"][0]["rule"] == "egress.unknown"
        assert queue.decide(batch["batch"], "allow") == 3
        answers = await asyncio.gather(*asks)
        assert all(a.allow and a.by == "person" for a in answers)
        assert queue.listing() == []

    asyncio.run(run())


def test_different_signatures_make_different_batches() -> None:
    async def run() -> None:
        queue = DecisionQueue()
        a = asyncio.ensure_future(queue.ask("s1", "/w", ev(1), verdict(), timeout=10))
        b = asyncio.ensure_future(
            queue.ask("s1", "/w", ev(2), verdict(signature="net.connect x:443"), timeout=10)
        )
        await _held(queue, 2)
        assert len(queue.listing()) == 2
        queue.deny_all()
        assert not (await a).allow and not (await b).allow

    asyncio.run(run())


def test_timeout_denies_and_the_batch_stays_listed_as_expired() -> None:
    async def run() -> None:
        queue = DecisionQueue()
        answer = await queue.ask("s1", "/w", ev(1), verdict(), timeout=0.05)
        assert not answer.allow and answer.by == "timeout"
        [batch] = queue.listing()
        assert batch["state"] == "expired" and batch["members"][0]["waiting"] is False
        # deciding it later releases nothing, but a wider scope still applies afterwards
        assert queue.decide(batch["batch"], "allow", "session") == 0
        later = await queue.ask("s1", "/w", ev(2), verdict(), timeout=0.05)
        assert later.allow and later.by == "remembered"

    asyncio.run(run())


@pytest.mark.parametrize(
    "scope,session,workspace,remembered",
    [
        ("once", "s1", "/w", False),
        ("session", "s1", "/other", True),
        ("session", "s2", "/w", False),
        ("workspace", "s2", "/w", True),
        ("workspace", "s2", "/other", False),
        ("always", "s9", "/elsewhere", True),
    ],
)
def test_scopes(scope: str, session: str, workspace: str, remembered: bool) -> None:
    async def run() -> None:
        queue = DecisionQueue()
        first = asyncio.ensure_future(queue.ask("s1", "/w", ev(1), verdict(), timeout=10))
        await _held(queue)
        queue.decide(queue.listing()[0]["batch"], "deny", scope)
        assert not (await first).allow
        rule = queue.remembered_for(OUTSIDE, session, workspace)
        assert (rule is not None) == remembered
        if rule is not None:
            assert rule.decision == "deny"

    asyncio.run(run())


def test_expiry_ends_a_remembered_decision() -> None:
    async def run() -> None:
        clock = Clock()
        queue = DecisionQueue(clock=clock)
        first = asyncio.ensure_future(queue.ask("s1", "/w", ev(1), verdict(), timeout=10))
        await _held(queue)
        queue.decide(queue.listing()[0]["batch"], "allow", "session", for_seconds=60)
        await first
        assert queue.remembered_for(OUTSIDE, "s1", "/w") is not None
        clock.now += 61
        assert queue.remembered_for(OUTSIDE, "s1", "/w") is None

    asyncio.run(run())


def test_critical_batches_need_confirmation_and_never_outlive_the_session() -> None:
    async def run() -> None:
        queue = DecisionQueue()
        held = asyncio.ensure_future(queue.ask("s1", "/w", ev(1), verdict("critical"), timeout=10))
        await _held(queue)
        batch = queue.listing()[0]["batch"]
        for lasting in ("always", "workspace"):  # both are remembered across restarts
            with pytest.raises(QueueError, match=f"never be allowed with scope '{lasting}'"):
                queue.decide(batch, "allow", lasting, confirm=True)
        with pytest.raises(QueueError, match="confirmation"):
            queue.decide(batch, "allow", "session")
        assert queue.decide(batch, "allow", "once", confirm=True) == 1
        assert (await held).allow

    asyncio.run(run())


def test_critical_batch_can_be_denied_always_without_confirmation() -> None:
    async def run() -> None:
        queue = DecisionQueue()
        held = asyncio.ensure_future(queue.ask("s1", "/w", ev(1), verdict("critical"), timeout=10))
        await _held(queue)
        assert queue.decide(queue.listing()[0]["batch"], "deny", "always") == 1
        assert not (await held).allow

    asyncio.run(run())


@pytest.mark.parametrize(
    "args,message",
    [
        (("nope", "allow"), "no batch"),
        (("b1", "maybe"), "allow"),
        (("b1", "allow", "forever"), "scope"),
        (("b1", "allow", "once", -5), "positive"),
    ],
)
def test_bad_decisions_are_refused(args: tuple[Any, ...], message: str) -> None:
    async def run() -> None:
        queue = DecisionQueue()
        held = asyncio.ensure_future(queue.ask("s1", "/w", ev(1), verdict(), timeout=10))
        await _held(queue)
        with pytest.raises(QueueError, match=message):
            queue.decide(*args)
        queue.deny_all()
        await held

    asyncio.run(run())


def test_closing_a_session_denies_only_its_requests() -> None:
    async def run() -> None:
        queue = DecisionQueue()
        mine = asyncio.ensure_future(queue.ask("s1", "/w", ev(1), verdict(), timeout=10))
        other = asyncio.ensure_future(queue.ask("s2", "/w", ev(2), verdict(), timeout=10))
        await _held(queue, 2)
        queue.session_closed("s1")
        assert (await mine).by == "closed"
        assert not other.done()
        queue.deny_all()
        assert not (await other).allow

    asyncio.run(run())


# --- the commands, against a real service ---------------------------------------------


@pytest.fixture
def service(isolated_env: Path, tmp_path: Path):
    from app.paths import Paths
    from app.service.runtime import start_in_thread
    from tests.service.conftest import FakeSandbox, FakeTriage

    paths = Paths.from_environment()
    thread = start_in_thread(paths, triage=FakeTriage(), sandbox=FakeSandbox())
    assert thread.runtime is not None
    queue = thread.runtime.parts.queue
    yield thread, queue
    thread.stop()


def _hold(thread, queue: DecisionQueue, band: str = "medium"):
    loop = thread._loop
    return asyncio.run_coroutine_threadsafe(
        queue.ask("s1", "/w", ev(1), verdict(band), timeout=30), loop
    )


def _wait_held(queue: DecisionQueue) -> str:
    import time

    deadline = time.monotonic() + 5
    while not queue.batches and time.monotonic() < deadline:
        time.sleep(0.01)
    return next(iter(queue.batches))


def test_queue_and_decide_commands(service, capsys: pytest.CaptureFixture[str]) -> None:
    from app.cli import main

    thread, queue = service
    held = _hold(thread, queue)
    batch = _wait_held(queue)
    assert main(["queue", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed[0]["batch"] == batch and listed[0]["members"][0]["summary"].startswith("POST")
    assert main(["queue"]) == 0
    text = capsys.readouterr().out
    assert batch in text and "why: [egress.unknown]" in text
    assert main(["decide", batch, "allow", "--scope", "session", "--for", "15m"]) == 0
    assert "1 waiting request(s) released" in capsys.readouterr().out
    answer = held.result(5)
    assert answer.allow and answer.scope == "session"
    rule = queue.remembered[-1]
    assert rule.expires is not None and rule.scope == "session"


def test_decide_refuses_critical_without_confirm(service, capsys) -> None:
    from app.cli import main

    thread, queue = service
    held = _hold(thread, queue, "critical")
    batch = _wait_held(queue)
    assert main(["decide", batch, "allow"]) == 1
    assert "--confirm" in capsys.readouterr().err
    assert main(["decide", batch, "allow", "--scope", "always", "--confirm"]) == 1
    assert main(["decide", batch, "allow", "--confirm"]) == 0
    assert held.result(5).allow


def test_commands_say_when_no_service_runs(isolated_env: Path, capsys) -> None:
    from app.cli import main

    assert main(["queue"]) == 1
    assert "not running" in capsys.readouterr().err


def test_high_batches_are_decided_one_request_at_a_time() -> None:
    async def run() -> None:
        queue = DecisionQueue()
        held = [
            asyncio.ensure_future(queue.ask("s1", "/w", ev(i), verdict("high"), timeout=10))
            for i in range(2)
        ]
        await _held(queue, 2)
        batch = queue.listing()[0]["batch"]
        with pytest.raises(QueueError, match="one by one"):
            queue.decide(batch, "allow")
        assert queue.decide(batch, "allow", member="e0") == 1
        assert (await held[0]).allow and not held[1].done()
        # one left: it may now be decided with the batch
        assert queue.decide(batch, "deny") == 1
        assert not (await held[1]).allow
        assert queue.listing() == []

    asyncio.run(run())


def test_workspace_and_always_decisions_outlive_a_restart(tmp_path: Path) -> None:
    rules = tmp_path / "state" / "decisions.json"

    async def decide_with(scope: str, host: str) -> None:
        queue = DecisionQueue(rules_file=rules)
        held = asyncio.ensure_future(
            queue.ask("s1", "/w", ev(1, host), verdict(signature=host), timeout=10)
        )
        await _held(queue)
        queue.decide(queue.listing()[0]["batch"], "allow", scope)
        await held

    asyncio.run(decide_with("always", "always.test"))
    asyncio.run(decide_with("workspace", "ws.test"))
    asyncio.run(decide_with("session", "session.test"))
    assert rules.stat().st_mode & 0o777 == 0o600
    restarted = DecisionQueue(rules_file=rules)
    assert restarted.remembered_for("net always.test:443", "s9", "/x") is not None
    assert restarted.remembered_for("net ws.test:443", "s9", "/w") is not None
    assert restarted.remembered_for("net ws.test:443", "s9", "/x") is None
    assert restarted.remembered_for("net session.test:443", "s1", "/w") is None  # a session ends


def test_remembered_decision_matches_the_destination_up_to_its_band() -> None:
    """Allowed for the session at medium: a GET to the same host:port passes without
    asking, another port asks, and a riskier (high) request to the same host asks again."""

    async def run() -> None:
        queue = DecisionQueue()
        first = asyncio.ensure_future(queue.ask("s1", "/w", ev(1), verdict("medium"), timeout=10))
        await _held(queue)
        queue.decide(queue.listing()[0]["batch"], "allow", "session")
        assert (await first).allow
        get = {**ev(2), "method": "GET"}
        answer = await queue.ask("s1", "/w", get, verdict("low", "net.request x"), timeout=10)
        assert answer.allow and answer.by == "remembered"
        same = await queue.ask("s1", "/w", ev(3), verdict("medium"), timeout=10)
        assert same.by == "remembered"
        other_port = {**ev(4), "url": "https://outside.test:8443/u"}
        riskier = [
            asyncio.ensure_future(queue.ask("s1", "/w", e, v, timeout=10))
            for e, v in (
                (ev(5), verdict("high")),
                (other_port, verdict("low", "net.request outside.test:8443")),
            )
        ]
        await _held(queue, 2)
        assert all(not t.done() for t in riskier), "a riskier request must ask again"
        assert len(queue.listing()) == 2
        queue.deny_all()
        assert not any(a.allow for a in await asyncio.gather(*riskier))

    asyncio.run(run())


def test_remembered_denial_covers_every_band() -> None:
    async def run() -> None:
        queue = DecisionQueue()
        first = asyncio.ensure_future(queue.ask("s1", "/w", ev(1), verdict("low"), timeout=10))
        await _held(queue)
        queue.decide(queue.listing()[0]["batch"], "deny", "session")
        await first
        later = await queue.ask("s1", "/w", ev(2), verdict("critical"), timeout=10)
        assert not later.allow and later.by == "remembered"

    asyncio.run(run())


def test_one_destination_is_one_batch_at_its_riskiest_band() -> None:
    """A low and a high request to one destination: one batch, high, decided one by one."""

    async def run() -> None:
        queue = DecisionQueue()
        asks = [
            asyncio.ensure_future(queue.ask("s1", "/w", ev(i), verdict(band), timeout=10))
            for i, band in ((1, "low"), (2, "high"))
        ]
        await _held(queue, 2)
        [batch] = queue.listing()
        assert batch["band"] == "high" and len(batch["members"]) == 2
        with pytest.raises(QueueError, match="one by one"):
            queue.decide(batch["batch"], "allow")
        queue.deny_all()
        await asyncio.gather(*asks)

    asyncio.run(run())


def test_decisions_remembered_before_bands_left_signatures_still_apply(tmp_path: Path) -> None:
    rules = tmp_path / "decisions.json"
    old = {"signature": "net.request POST api.old.test [medium]", "decision": "allow",
           "scope": "always", "batch": "b1", "session": None, "workspace": None,
           "expires": None}  # fmt: skip
    rules.write_text(json.dumps([old]))
    queue = DecisionQueue(rules_file=rules)
    assert queue.remembered_for("net api.old.test:443", "s", "/w", "medium") is not None
    assert queue.remembered_for("net api.old.test:443", "s", "/w", "high") is None
