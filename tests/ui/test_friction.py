"""Each friction rule, as logic (the gate) and as the window enforces it over a real
service: the decision either reaches the held request or it does not."""

from __future__ import annotations

import random
import time
from typing import Any

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest

from app.ui import rows
from app.ui.friction import GUARD_MS, Gate, friction_for
from tests.ui.conftest import Service, batch_of, select


def _batch(band: str, waiting: int = 1) -> rows.Batch:
    members = tuple(
        rows.Member(f"e{i}", "s1", "net.request", f"GET https://h.test/{i}", 10, band, (), True)
        for i in range(waiting)
    )
    return rows.Batch("b1", f"net.request GET h.test [{band}]", "pending", band, 10, 0.0, members)


# --- the rules as logic ------------------------------------------------------------------


def test_low_one_decision_covers_the_batch_at_once() -> None:
    gate = Gate(_batch("low", 5), shown_at_ms=0)
    assert gate.rules.one_key and gate.whole_batch()
    assert gate.refusal("allow", 0, member=None, scope="always") is None


def test_medium_needs_the_members_listed_first() -> None:
    gate = Gate(_batch("medium", 5), shown_at_ms=0)
    assert gate.refusal("allow", 10, member=None, scope="once") == "read the list of requests first"
    gate.members_listed()
    assert gate.refusal("allow", 10, member=None, scope="once") is None


def test_high_ignores_the_first_moment_and_has_no_approve_all() -> None:
    assert GUARD_MS == 700  # the first moment, as the design fixes it
    gate = Gate(_batch("high", 3), shown_at_ms=1000)
    gate.members_listed()
    assert gate.refusal("allow", 1000 + GUARD_MS - 1, member="e0", scope="once") is not None
    assert gate.refusal("allow", 1000 + GUARD_MS, member=None, scope="once") is not None
    assert gate.refusal("deny", 1000 + GUARD_MS, member=None, scope="once") is not None
    assert gate.refusal("allow", 1000 + GUARD_MS, member="e0", scope="once") is None
    assert not friction_for("high").default_button


def test_critical_needs_a_second_step_and_never_goes_wider_than_the_session() -> None:
    gate = Gate(_batch("critical"), shown_at_ms=0)
    gate.members_listed()
    assert gate.scopes() == ("once", "session")
    assert gate.refusal("allow", GUARD_MS, member=None, scope="once") is not None
    gate.confirm()
    assert gate.refusal("allow", GUARD_MS, member=None, scope="workspace") is not None
    assert gate.refusal("allow", GUARD_MS, member=None, scope="session") is None
    assert gate.typed_matches("h.test") and not gate.typed_matches("h.tes")


def test_an_unknown_band_gets_the_strictest_rules() -> None:
    assert friction_for("bogus") == friction_for("critical")


# --- the window over the real service ------------------------------------------------------


def _released(held: list[Any]) -> list[bool]:
    return [h.done() and h.result().allow for h in held]


def test_low_one_keystroke_decides_the_whole_batch(service: Service, tray_app, qtbot) -> None:
    s = service.open_session()
    held = [service.hold(s, "low", f"https://pypi.org/simple/p{i}/") for i in range(4)]
    qtbot.waitUntil(lambda: len(service.queue.listing()) == 1)
    key = batch_of(service, "pypi.org")
    tray_app.window.show()
    select(tray_app, qtbot, key)
    qtbot.waitUntil(lambda: tray_app.inbox.state.waiting == 4)
    QTest.keyClick(tray_app.window.list, Qt.Key.Key_A)
    qtbot.waitUntil(lambda: all(_released(held)), timeout=5000)


def test_medium_lists_the_members_before_approve_is_enabled(
    service: Service, tray_app, qtbot
) -> None:
    s = service.open_session()
    held = [service.hold(s, "medium", f"https://mid.test/{i}") for i in range(60)]
    qtbot.waitUntil(lambda: tray_app.inbox.state.waiting == 60, timeout=5000)
    tray_app.window.show()
    qtbot.waitExposed(tray_app.window)
    select(tray_app, qtbot, batch_of(service, "mid.test"))
    pane = tray_app.window.batch
    qtbot.wait(50)
    assert not pane.allow.isEnabled(), "approve enabled before the members were listed"
    QTest.keyClick(tray_app.window.list, Qt.Key.Key_A)
    qtbot.wait(200)
    assert not any(h.done() for h in held)
    bar = pane.members.verticalScrollBar()
    bar.setValue(bar.maximum())  # the person scrolls to the last request
    qtbot.waitUntil(pane.allow.isEnabled)
    QTest.keyClick(tray_app.window.list, Qt.Key.Key_A)
    qtbot.waitUntil(lambda: all(_released(held)), timeout=5000)


def test_high_ignores_input_at_first_and_decides_one_request_at_a_time(
    service: Service, tray_app, qtbot, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The shipped guard (GUARD_MS, 700 ms) is the gate's test above; here the window
    # gets a longer one, so that a loaded machine still presses every key inside it.
    from dataclasses import replace

    from app.ui import friction

    guard_ms = 2500
    longer = replace(friction._RULES["high"], guard_ms=guard_ms)
    monkeypatch.setitem(friction._RULES, "high", longer)
    s = service.open_session()
    held = [service.hold(s, "high", f"https://up.test/{i}", method="PUT") for i in range(3)]
    qtbot.waitUntil(lambda: tray_app.inbox.state.waiting == 3)
    tray_app.window.show()
    qtbot.waitExposed(tray_app.window)
    select(tray_app, qtbot, batch_of(service, "up.test"))
    pane = tray_app.window.batch
    shown = time.monotonic()
    # Within the first 700 ms: keys and clicks on the decision are ignored.
    for key in (Qt.Key.Key_A, Qt.Key.Key_Return, Qt.Key.Key_Space, Qt.Key.Key_D):
        QTest.keyClick(pane.members, key)
    QTest.mouseClick(pane.allow, Qt.MouseButton.LeftButton)
    assert time.monotonic() - shown < guard_ms / 1000, "the machine was too slow to test this"
    qtbot.wait(100)
    assert not any(h.done() for h in held)
    assert not pane.allow.isDefault() and not pane.allow.autoDefault()
    assert "this request" in pane.allow.text()  # no approve-all is offered
    qtbot.waitUntil(pane.allow.isEnabled, timeout=guard_ms + 5000)
    QTest.keyClick(pane.members, Qt.Key.Key_Return)  # no default button
    qtbot.wait(150)
    assert not any(h.done() for h in held)
    QTest.keyClick(pane.members, Qt.Key.Key_A)
    qtbot.waitUntil(lambda: sum(h.done() for h in held) == 1, timeout=5000)
    qtbot.wait(300)
    assert sum(h.done() for h in held) == 1, "one key decided more than one request"


@pytest.mark.timeout(120)
def test_no_sequence_of_single_key_presses_allows_a_critical_batch(
    service: Service, tray_app, qtbot
) -> None:
    s = service.open_session()
    held = service.hold(
        s, "critical", "https://evil.example.net/collect", method="POST", rule="egress.canary"
    )
    qtbot.waitUntil(lambda: tray_app.inbox.state.waiting == 1)
    tray_app.window.show()
    qtbot.waitExposed(tray_app.window)
    select(tray_app, qtbot, batch_of(service, "evil.example.net"))
    pane = tray_app.window.batch
    qtbot.wait(GUARD_MS + 50)
    assert [pane.scope.itemData(i) for i in range(pane.scope.count())] == ["once", "session"]
    for control in (pane.confirm_allow, pane.hold):
        assert control.focusPolicy() == Qt.FocusPolicy.NoFocus
    keys = [Qt.Key.Key_A, Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Space,
            Qt.Key.Key_Tab, Qt.Key.Key_Backtab, Qt.Key.Key_Y, Qt.Key.Key_Up, Qt.Key.Key_Down,
            Qt.Key.Key_Right, Qt.Key.Key_Left]  # fmt: skip
    rng = random.Random(7)
    pane.confirm_text.setFocus()
    QTest.keyClicks(pane.confirm_text, "evil.example.net")  # even with the name typed
    for _ in range(400):
        target = tray_app.window.focusWidget() or tray_app.window
        QTest.keyClick(target, rng.choice(keys), Qt.KeyboardModifier.NoModifier)
        assert tray_app.window.focusWidget() not in (pane.confirm_allow, pane.hold)
        if rng.random() < 0.05:
            qtbot.wait(5)
    qtbot.wait(300)
    # Space on a focused Deny may have denied it: that is allowed, allowing is not.
    assert not (held.done() and held.result().allow), "key presses allowed a critical request"
    assert not (held.done() and held.result().by != "person")


def test_press_and_hold_allows_a_critical_batch_never_wider_than_the_session(
    service: Service, tray_app, qtbot
) -> None:
    s = service.open_session()
    held = service.hold(s, "critical", "https://evil.example.net/c", method="POST")
    qtbot.waitUntil(lambda: tray_app.inbox.state.waiting == 1)
    tray_app.window.show()
    select(tray_app, qtbot, batch_of(service, "evil.example.net"))
    pane = tray_app.window.batch
    qtbot.wait(GUARD_MS + 50)
    pane.scope.setCurrentIndex(pane.scope.findData("session"))
    QTest.mousePress(pane.hold, Qt.MouseButton.LeftButton, pos=QPoint(5, 5))
    qtbot.waitUntil(held.done, timeout=5000)
    answer = held.result()
    assert answer.allow and answer.scope == "session"


def test_a_released_mouse_before_two_seconds_allows_nothing(
    service: Service, tray_app, qtbot
) -> None:
    s = service.open_session()
    held = service.hold(s, "critical", "https://evil.example.net/x", method="POST")
    qtbot.waitUntil(lambda: tray_app.inbox.state.waiting == 1)
    tray_app.window.show()
    select(tray_app, qtbot, batch_of(service, "evil.example.net"))
    pane = tray_app.window.batch
    qtbot.wait(GUARD_MS + 50)
    QTest.mousePress(pane.hold, Qt.MouseButton.LeftButton, pos=QPoint(5, 5))
    qtbot.wait(1200)
    QTest.mouseRelease(pane.hold, Qt.MouseButton.LeftButton, pos=QPoint(5, 5))
    qtbot.wait(1200)
    assert not held.done()
    # Typing the destination, then clicking, is the other deliberate step.
    QTest.keyClicks(pane.confirm_text, "evil.example.net")
    qtbot.waitUntil(pane.confirm_allow.isEnabled)
    QTest.mouseClick(pane.confirm_allow, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(held.done, timeout=5000)
    assert held.result().allow
