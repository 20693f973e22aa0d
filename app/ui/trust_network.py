"""The Network tab of the trusted-paths window: the allow, deny, address and fetch lists
and the ask timeout, between the document and their widgets. The controller owns one
and hands it each change of the document; edits go through the controller's `edit`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from app.trust.document import PolicyDocument
from app.trust.exposure import rule_kind
from app.trust.saving import PolicyFiles
from sandbox.policy import PolicyError, load_policy


class Editing(Protocol):
    """What the lists need of the window's controller."""

    window: Any
    files: PolicyFiles
    document: PolicyDocument

    def edit(self, change: Callable[[], object]) -> None: ...
    def say(self, text: str) -> None: ...


class NetworkLists:
    def __init__(self, controller: Editing) -> None:
        self.controller = controller
        self._shipped: list[str] | None = None  # the shipped list, read once
        w = controller.window
        w.allowed.added.connect(lambda text: self.add_rule("allow", text, "name"))
        w.denied.added.connect(lambda text: self.add_rule("deny", text, None))
        w.addresses.added.connect(lambda text: self.add_rule("allow", text, "address"))
        for box, which in ((w.allowed, "allow"), (w.denied, "deny"), (w.addresses, "allow")):
            box.removed.connect(lambda text, which=which: controller.edit(
                lambda: self.document.remove_rule(which, text)))  # fmt: skip
        w.fetch.added.connect(self.add_fetch)
        w.fetch.removed.connect(
            lambda text: controller.edit(
                lambda: self.document.set_fetch([r for r in self.fetch_rules() if r != text])
            )
        )
        w.timeout.changed.connect(
            lambda s: controller.edit(lambda: self.document.set_ask_timeout(s))
        )

    @property
    def document(self) -> PolicyDocument:
        return self.controller.document

    def show(self, doc: PolicyDocument) -> None:
        """Fill the lists from `doc` (a workspace file may only narrow: the rest is off)."""
        w = self.controller.window
        rules = [(e.value, e.line) for e in doc.rules("allow")]
        w.allowed.show_entries([r for r in rules if rule_kind(r[0]) != "address"])
        w.addresses.show_entries([r for r in rules if rule_kind(r[0]) == "address"])
        w.denied.show_entries([(e.value, e.line) for e in doc.rules("deny")])
        own = doc.fetch()
        if own is not None:
            w.fetch.show_entries([(e.value, e.line) for e in own])
        else:
            w.fetch.show_entries([(r, None) for r in self.fetch_rules()], shipped=True)
        w.timeout.show_value(doc.ask_timeout())
        for part in (w.allowed, w.addresses, w.fetch, w.timeout):
            part.setEnabled(not doc.workspace)

    def add_rule(self, which: str, text: str, kind: str | None) -> None:
        found = rule_kind(text)
        if found is None or (kind is not None and found != kind):
            wanted = {"address": "an address rule", "name": "a name rule"}.get(kind or "", "a rule")
            self.controller.say(f"{text!r} is not {wanted} (e.g. pypi.org, *.github.com, "
                                "host:443, 127.0.0.1:8080, 10.0.0.0/8).")  # fmt: skip
            return
        self.controller.edit(lambda: self.document.add_rule(which, text))

    def fetch_rules(self) -> list[str]:
        """The `network.fetch` list as it stands: this file's, else the shipped one (an
        edit writes the whole list into this file, which then decides it)."""
        own = self.document.fetch()
        if own is not None:
            return [e.value for e in own]
        if self._shipped is None:  # the shipped file does not change while the window is open
            try:
                self._shipped = list(load_policy(self.controller.files.defaults).network.fetch)
            except PolicyError:
                self._shipped = []
        return list(self._shipped)

    def add_fetch(self, text: str) -> None:
        text = text.strip()
        if rule_kind(text) != "name" or text in ("*", "") or ":" in text:
            self.controller.say(f"{text!r} is not a domain name (e.g. pypi.org, "
                                "*.example.org): reads are allowed by name only.")  # fmt: skip
            return
        self.controller.edit(lambda: self.document.set_fetch([*self.fetch_rules(), text]))
