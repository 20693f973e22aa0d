"""The inbox's controller: fills the window from the service's state and decides.

Every decision goes through the batch's `Gate` (app.ui.friction) before it is sent,
and is sent once, through the bridge. The window's widgets only show what the gate
allows; this class also filters the input so that a key or a click that the gate
refuses never reaches a button.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import QElapsedTimer, QModelIndex, QObject, Qt, QTimer
from PySide6.QtWidgets import QWidget

from app.ui.bridge import Bridge, Reply
from app.ui.friction import EXPIRIES, Gate
from app.ui.inbox import InboxWindow
from app.ui.inbox_input import InboxInput
from app.ui.inbox_rows import InboxRow, inbox_rows
from app.ui.labels import BANNERS, SCOPE_WORDS, reasons_text
from app.ui.models import ROW
from app.ui.review_page import fill_review
from app.ui.rows import Batch, Member, ReviewItem, State
from app.ui.text import duration, visible
from app.ui.words import describe, destination


class InboxController(QObject):
    def __init__(
        self, window: InboxWindow, bridge: Bridge, clock: Callable[[], float] = time.time
    ) -> None:
        super().__init__(window)
        self.window = window
        self.bridge = bridge
        self.clock = clock
        self.state = State()
        self.gate: Gate | None = None
        self.key: str | None = None
        self._elapsed = QElapsedTimer()
        self._elapsed.start()
        self._in_flight: dict[int, str] = {}
        self._note = ""  # the last decision's outcome, shown until there is more to say
        self._previews: dict[tuple[str, str], int] = {}
        self._latest: State | None = None
        self._apply = QTimer(self)
        self._apply.setSingleShot(True)
        self._apply.timeout.connect(self._apply_latest)
        # "waiting for 3 min" grows without the service saying anything: redraw it.
        self._ages = QTimer(self)
        self._ages.timeout.connect(self._redraw_ages)
        self._ages.start(5000)
        self._guard = QTimer(self)
        self._guard.setSingleShot(True)
        self._guard.timeout.connect(self._refresh_controls)
        bridge.state.connect(self.show_state)
        bridge.replied.connect(self._replied)
        pane = window.batch
        window.list.selectionModel().currentRowChanged.connect(self._row_changed)
        pane.members.selectionModel().currentRowChanged.connect(self._member_changed)
        pane.members.verticalScrollBar().valueChanged.connect(self._check_listed)
        pane.members.verticalScrollBar().rangeChanged.connect(self._check_listed)
        pane.allow.clicked.connect(lambda: self.decide("allow"))
        pane.deny.clicked.connect(lambda: self.decide("deny"))
        pane.confirm_text.textChanged.connect(self._refresh_controls)
        pane.confirm_allow.clicked.connect(self._typed_confirm)
        pane.hold.held.connect(self._held_confirm)
        pane.scope.currentIndexChanged.connect(self._scope_changed)
        pane.scope.highlighted.connect(self._show_preview)
        self.input = InboxInput(self)
        for widget in (window, *window.findChildren(QWidget)):
            widget.installEventFilter(self.input)

    def now_ms(self) -> float:
        return float(self._elapsed.elapsed())

    # --- state in ------------------------------------------------------------------------

    def show_state(self, state: State) -> None:
        """Take the service's latest state; shown once the events queued before it are
        handled, so that states arriving faster than they draw are drawn once."""
        self._latest = state
        if not self._apply.isActive():
            self._apply.start(0)

    def _redraw_ages(self) -> None:
        if self._latest is None:  # a newer state on its way redraws them anyway
            self.show_state(self.state)

    def _apply_latest(self) -> None:
        if self._latest is not None:
            state, self._latest = self._latest, None
            self.apply(state)

    def apply(self, state: State) -> None:
        """Show `state` now: rebuild the list, keep the item on screen if still there."""
        self.state = state
        rows = inbox_rows(state, self.clock())
        keep = self.key
        self.window.list_model.reset(rows)
        self.window.status.setText(self._status(state))
        row = self.window.list_model.row_of(keep) if keep else -1
        if row < 0 and rows:
            row = 0
        if row >= 0:
            selection = self.window.list.selectionModel()
            selection.blockSignals(True)  # shown once, below, not again by the signal
            self.window.list.selectRow(row)
            selection.blockSignals(False)
            self._show(rows[row])
        else:
            self.key, self.gate = None, None
            self.window.pages.setCurrentWidget(self.window.empty)

    def _status(self, state: State) -> str:
        if not state.connected:
            when = "shown as last seen" if state.stale else "connecting"
            return f"Service down: reconnecting… ({when}; nothing can be decided now)"
        parts = [f"{state.waiting} waiting", f"{len(state.sessions)} session(s) running"]
        if state.recording_failed is not None:
            parts.insert(0, state.recording_failed)
        if state.paused is not None:
            until = state.paused.until
            parts.append(
                "paused until resumed"
                if until is None
                else f"paused for {duration(until - self.clock())} more"
            )
        return " · ".join(parts)

    def open_item(self, key: str) -> None:
        """Bring the window forward on the item `key` (a notification was clicked)."""
        row = self.window.list_model.row_of(key)
        if row >= 0:
            self.window.list.selectRow(row)
        self.window.show()
        self.window.raise_()
        self.window.activateWindow()

    def _row_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        row = current.data(ROW)
        if isinstance(row, InboxRow):
            self._show(row)

    def _show(self, row: InboxRow) -> None:
        if row.batch is not None:
            self._show_batch(row.batch)
        elif row.item is not None:
            self._show_review(row.item)

    # --- a batch -------------------------------------------------------------------------

    def _show_batch(self, batch: Batch) -> None:
        pane = self.window.batch
        if self.gate is not None and self.gate.batch is batch and self.key == batch.batch:
            self._refresh_controls()  # the same record: nothing on the page changed
            return
        fresh = self.gate is None or self.key != batch.batch
        self.key = batch.batch
        if fresh:
            self.gate = Gate(batch, self.now_ms())
            pane.confirm_text.clear()
            self._fill_scopes(batch)
            if self.gate.rules.guard_ms:
                self._guard.start(self.gate.rules.guard_ms + 10)
        else:
            assert self.gate is not None
            self.gate.batch = batch
        self.window.pages.setCurrentWidget(pane)
        text, background, foreground = BANNERS.get(batch.band, BANNERS["critical"])
        if batch.state != "pending":
            text += "  ·  EXPIRED: no request waits now; a decision applies to those that follow"
        pane.banner.setText(text)
        pane.banner.setStyleSheet(f"background:{background}; color:{foreground};")
        pane.title.setText(describe(batch))
        pane.meta.setText(self._who(batch))
        pane.reasons.setText(reasons_text(batch.members))
        current = pane.members.currentIndex().row()
        pane.members_model.reset(batch.members)
        if batch.members:
            waiting = [n for n, m in enumerate(batch.members) if m.waiting]
            pick = current if 0 <= current < len(batch.members) else (waiting or [0])[0]
            pane.members.selectRow(pick)
        critical = self.gate is not None and self.gate.rules.second_step
        pane.critical_row.setVisible(critical)
        if critical:
            pane.confirm_text.setPlaceholderText(f"type {destination(batch)} to allow")
        pane.allow.setDefault(self.gate is not None and self.gate.rules.default_button)
        QTimer.singleShot(0, self._check_listed)
        self._refresh_controls()

    def _who(self, batch: Batch) -> str:
        who = []
        for session_id in batch.sessions:
            s = self.state.session(session_id)
            if s is None:
                who.append(f"session {visible(session_id)} (ended)")
            else:
                agent = visible(s.agent or (s.command[0] if s.command else "agent"))
                who.append(f"{agent} in {visible(s.workspace)}")
        waiting = batch.waiting
        age = duration(self.clock() - batch.created)
        head = "; ".join(who) or "unknown session"
        if batch.state == "pending":
            return f"{head} · {waiting} of {len(batch.members)} waiting, for {age}"
        return f"{head} · expired: {len(batch.members)} request(s) denied by the timeout"

    def _fill_scopes(self, batch: Batch) -> None:
        assert self.gate is not None
        pane = self.window.batch
        pane.scope.blockSignals(True)
        pane.scope.clear()
        for scope in self.gate.scopes():
            pane.scope.addItem(SCOPE_WORDS[scope], scope)
        pane.scope.setCurrentIndex(0)
        pane.scope.blockSignals(False)
        pane.expiry.clear()
        for label, seconds in EXPIRIES:
            pane.expiry.addItem(label, seconds)
        pane.preview.setText("")
        for scope in self.gate.scopes()[1:]:
            token = self.bridge.request(
                "decide.preview", **self._run(batch=batch.batch, scope=scope)
            )
            self._previews[(batch.batch, scope)] = token

    def _scope_changed(self, index: int) -> None:
        self._show_preview(index)
        self._refresh_controls()

    def _show_preview(self, index: int) -> None:
        pane = self.window.batch
        note = pane.scope.itemData(index, Qt.ItemDataRole.UserRole + 1)
        pane.preview.setText(str(note) if note else "")

    def _member_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        member = current.data(ROW)
        if isinstance(member, Member):
            lines = [visible(member.summary), reasons_text((member,))]
            self.window.batch.member_detail.setPlainText("\n".join(lines))
        self._refresh_controls()

    def _check_listed(self, *_args: object) -> None:
        bar = self.window.batch.members.verticalScrollBar()
        shown = self.window.batch.members.isVisible()
        gate = self.gate
        if gate is not None and not gate.listed and shown and bar.value() >= bar.maximum():
            gate.members_listed()
            self._refresh_controls()

    def selected_member(self) -> Member | None:
        row = self.window.batch.members.currentIndex().data(ROW)
        return row if isinstance(row, Member) else None

    def _member_for_decision(self) -> str | None:
        """The one request decided, for high and critical batches; None: the batch."""
        if self.gate is None or self.gate.whole_batch():
            return None
        member = self.selected_member()
        return member.event if member is not None and member.waiting else ""

    def _refresh_controls(self, *_args: object) -> None:
        pane = self.window.batch
        gate = self.gate
        if gate is None:
            return
        now = self.now_ms()
        busy = self.key in self._in_flight.values()
        up = self.state.connected
        member = self._member_for_decision()
        scope = str(pane.scope.currentData() or "once")
        allow_no = gate.refusal("allow", now, member=member, scope=scope)
        deny_no = gate.refusal("deny", now, member=member, scope=scope)
        one = not gate.whole_batch()
        pane.allow.setText("&Allow this request" if one else "&Allow")
        pane.deny.setText("&Deny this request" if one else "&Deny")
        second = gate.rules.second_step
        pane.allow.setVisible(not second)
        pane.allow.setEnabled(up and not busy and allow_no is None and member != "")
        pane.deny.setEnabled(up and not busy and deny_no is None and member != "")
        typed = gate.typed_matches(pane.confirm_text.text())
        ready = up and not busy and gate.accepts_input(now) and member != ""
        pane.confirm_allow.setEnabled(ready and typed)
        pane.hold.setEnabled(ready)
        if not up:
            pane.hint.setText("The service is down: nothing can be decided until it is back.")
        elif allow_no and not second:
            pane.hint.setText(f"Allow: {allow_no}.")
        elif second:
            pane.hint.setText(
                "Allowing this cannot be done from the keyboard alone and never wider "
                "than this session."
            )
        else:
            pane.hint.setText(self._note)

    def _typed_confirm(self) -> None:
        if self.gate is not None and self.gate.typed_matches(self.window.batch.confirm_text.text()):
            self.gate.confirm()
            self.decide("allow")

    def _held_confirm(self) -> None:
        if self.gate is not None:
            self.gate.confirm()
            self.decide("allow")

    def decide(self, decision: str) -> bool:
        """Send the decision on screen if the gate allows it now; True if sent."""
        gate, pane = self.gate, self.window.batch
        if gate is None or not self.state.connected or self.key in self._in_flight.values():
            return False
        member = self._member_for_decision()
        if member == "":
            return False
        scope = str(pane.scope.currentData() or "once")
        refusal = gate.refusal(decision, self.now_ms(), member=member, scope=scope)
        if refusal is not None:
            pane.hint.setText(f"{decision.capitalize()}: {refusal}.")
            return False
        fields: dict[str, object] = {"batch": gate.batch.batch, "decision": decision}
        fields["scope"] = scope
        seconds = pane.expiry.currentData()
        if seconds and scope != "once":
            fields["for"] = seconds
        if member is not None:
            fields["member"] = member
        if decision == "allow" and gate.rules.second_step:
            fields["confirm"] = True
        token = self.bridge.request("decide", **self._run(**fields))
        self._in_flight[token] = gate.batch.batch
        gate.confirmed = False
        pane.hint.setText("Sending…")
        self._refresh_controls()
        return True

    def _run(self, **fields: object) -> dict[str, object]:
        """`fields` naming the service run they were shown from: if the service has
        restarted since, batch ids mean other batches, and it refuses to decide."""
        if self.state.instance:
            fields["instance"] = self.state.instance
        return fields

    # --- a review item -------------------------------------------------------------------

    def _show_review(self, item: ReviewItem) -> None:
        self.key, self.gate = item.id, None
        self.window.pages.setCurrentWidget(self.window.review)
        fill_review(self.window.review, item, self.clock(), self.resolve, self.input)

    def resolve(self, item_id: str, action: str) -> None:
        token = self.bridge.request("review.resolve", id=item_id, action=action)
        self._in_flight[token] = item_id

    # --- answers -------------------------------------------------------------------------

    def _replied(self, reply: Reply) -> None:
        key = self._in_flight.pop(reply.token, None)
        if reply.op == "decide.preview":
            self._preview_arrived(reply)
            return
        if key is None:
            return
        pane = self.window.batch
        if reply.ok and reply.op == "decide":
            released = int(reply.data.get("released", 0))
            self._note = f"Decided: {released} waiting request(s) released."
        elif not reply.ok:
            self._note = f"Not decided: {visible(reply.error)}"
        pane.hint.setText(self._note)
        self._refresh_controls()

    def _preview_arrived(self, reply: Reply) -> None:
        fields = dict(reply.fields)
        key = (str(fields.get("batch")), str(fields.get("scope")))
        if self._previews.pop(key, None) != reply.token or not reply.ok:
            return
        if self.gate is None or self.gate.batch.batch != key[0]:
            return
        also = reply.data.get("also") or []
        note = visible(reply.data.get("note") or "")
        pane = self.window.batch
        index = pane.scope.findData(key[1])
        if index < 0:
            return
        if also:
            waiting = sum(int(a.get("waiting", 0)) for a in also)
            pane.scope.setItemText(index, f"{SCOPE_WORDS[key[1]]} (also decides {waiting} more)")
        pane.scope.setItemData(index, note, Qt.ItemDataRole.UserRole + 1)
        if pane.scope.currentIndex() == index:
            self._show_preview(index)
