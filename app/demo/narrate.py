"""The sentences `sandgate demo` prints: a step, what the agent saw, Sandgate's verdicts.

Everything that came from inside the sandbox or from a recorded event (agent output,
paths, reasons) is agent-controlled text, so it passes through `visible` first.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from typing import Any

from app.commands.history import visible

INDENT = "   "
LABEL = 16  # the width of the labels ("the agent runs:")
_DECIDERS = {
    "canary": "refused: the request carries this session's canary token",
    "credential": "refused: a key other than this session's placeholder on a bound domain",
    "timeout": "refused: nobody answered in time",
    "closed": "refused: the session ended while it waited",
    "user": "decided by a person",
}


def heading(number: int, title: str) -> str:
    return f"\n{number}. {title}"


def field(label: str, text: str, width: int = 100) -> list[str]:
    """`label:` then `text`, wrapped and indented under the label's end."""
    prefix = f"{INDENT}{label + ':':<{LABEL}}"
    lines = textwrap.wrap(visible(text), width - len(prefix)) or [""]
    return [prefix + lines[0], *(" " * len(prefix) + line for line in lines[1:])]


def agent_output(lines: Sequence[str], limit: int = 6) -> list[str]:
    """The agent's own output (its last `limit` lines), indented, control characters shown."""
    shown = [visible(line) for line in lines if line.strip()][-limit:]
    if not shown:
        return [f"{INDENT}{'the agent saw:':<{LABEL}}(no output)"]
    out = [f"{INDENT}the agent saw:"]
    out += [f"{INDENT}  | {line}" for line in shown]
    return out


def decision(row: Mapping[str, Any]) -> str:
    """Who decided an event and how, in words."""
    action, by = row.get("decision"), str(row.get("decided_by") or "")
    if action is None:
        return "recorded (nothing to decide: the agent read a decoy, not your file)"
    if by.startswith("policy:"):
        return f"{'allowed' if action == 'allow' else 'refused'} by the policy rule {by[7:]!r}"
    if by.startswith("credential:"):
        name = by.rsplit(":", 1)[-1]
        return f"allowed: it carries the placeholder of credential {name!r}, swapped for the key"
    sentence = _DECIDERS.get(by)
    if sentence is not None and (action == "deny" or by == "user"):
        return sentence
    return f"{action} (by {by or 'Sandgate'})"


def verdict(row: Mapping[str, Any]) -> list[str]:
    """One recorded event: what, the decision, the score and band, every reason."""
    subject = row.get("host") or row.get("path") or ""
    kind = str(row.get("kind"))
    out = field("Sandgate", f"{kind} {subject}: {decision(row)}")
    out.append(f"{INDENT}{'':{LABEL}}score {row.get('score')} ({row.get('band')})")
    for reason in row.get("reasons") or []:
        text = f"- {reason.get('rule')} (+{reason.get('points')}): {reason.get('why')}"
        lines = textwrap.wrap(visible(text), 84, subsequent_indent="  ")
        out += [f"{INDENT}{'':{LABEL}}{line}" for line in lines]
    return out


def asked(result: Mapping[str, Any]) -> list[str]:
    """The triage of the command itself, as an agent's permission hook would report it."""
    reasons = ", ".join(str(r.get("rule")) for r in result.get("reasons") or []) or "no rule fired"
    return field(
        "hook triage",
        f"the command as a permission hook would report it: score {result.get('score')} "
        f"({result.get('band')}); {reasons}",
    )


class Printer:
    """Prints the demo's account on standard output, flushed line by line, and keeps
    the incidents the scenario expected but did not see."""

    def __init__(self) -> None:
        self.problems: list[str] = []
        self.session_id = "ID"

    def _print(self, *lines: str) -> None:
        for line in lines:
            print(line, flush=True)

    def intro(self, scenario: Any, collector_port: int, vendor_port: int) -> None:
        from app.demo.scenario import COLLECTOR, VENDOR

        self._print(
            "Sandgate demo",
            "=============",
            "A scripted agent works on a throwaway project inside a real sandbox, with",
            "Sandgate's egress proxy as its only way out. Two servers listen on 127.0.0.1:",
            f"  collector   http://{COLLECTOR}:{collector_port}  stands for an attacker's server",
            f"  vendor API  https://{VENDOR}:{vendor_port}  stands for the agent vendor's API;",
            "              it accepts only the key Sandgate provisioned (the agent never holds it)",
            f"The agent's home is {scenario.home}, holding a fake ~/.aws/credentials;",
            f"its workspace is {scenario.workspace}.",
        )

    def session(self, session: str, embedded: bool, notices: Sequence[str]) -> None:
        where = (
            "a Sandgate service started inside this command (none was running)"
            if embedded
            else "the running Sandgate service (the tray shows it)"
        )
        self.session_id = session
        self._print("", f"Session {session}, opened on {where}.")
        for notice in notices:
            self._print(f"  {visible(str(notice))}")

    def step(self, number: int, step: Any) -> None:
        self._print(heading(number, step.title), *field("why", step.story))
        self._print(*field("the agent runs", step.command))

    def asked(self, result: Mapping[str, Any]) -> None:
        self._print(*asked(result))

    def agent(self, output: Sequence[str], status: int) -> None:
        self._print(*agent_output(output), *field("exit status", str(status)))

    def verdicts(self, step: Any, rows: Sequence[Mapping[str, Any]]) -> bool:
        """Print what Sandgate recorded; False if an expected outcome is missing."""
        if not rows:
            self._print(*field("Sandgate", "nothing to decide: all of it stayed in the sandbox"))
        for row in rows:
            self._print(*verdict(row))
        ok = True
        for expect in step.expect:
            matching = [
                r
                for r in rows
                if r.get("kind") == expect.kind and expect.host in (None, r.get("host"))
            ]
            if not any(
                expect.decision in (None, r.get("decision"))
                and expect.band in (None, r.get("band"))
                for r in matching
            ):
                wanted = " ".join(x for x in (expect.decision, expect.band) if x)
                self.problem(f"expected {expect.kind} {expect.host or ''} {wanted}: not seen")
                ok = False
        return ok

    def received(self, collector: Sequence[Any], vendor: Sequence[Any]) -> None:
        from app.demo.scenario import ATTACKER_KEY

        stolen = sum(1 for r in vendor if r.key == ATTACKER_KEY)
        self._print(
            *field("collector", _count(collector) + " so far"),
            *field("vendor API", f"{_count(vendor)} so far, {stolen} with the attacker's key"),
        )

    def problem(self, text: str) -> None:
        self.problems.append(text)
        self._print(f"{INDENT}!! {text}")

    def quarantined(self, paths: Sequence[str]) -> None:
        for path in paths:
            self._print(
                f"  held for review (protected file written in the session): {visible(path)}"
            )

    def summary(self, scenario: Any, collector: Sequence[Any], vendor: Sequence[Any]) -> bool:
        """The end of the account; True if the collector got nothing, the vendor only
        the provisioned key, and nothing was missing."""
        from app.demo.scenario import ATTACKER_KEY

        provisioned = sum(1 for r in vendor if r.key == scenario.provisioned_key)
        foreign = [r for r in vendor if r.key != scenario.provisioned_key]
        attacker = sum(1 for r in foreign if r.key == ATTACKER_KEY)
        self._print(
            "",
            "What the servers received",
            "-------------------------",
            f"  collector:  {_count(collector)}",
            f"  vendor API: {_count(vendor)}: {provisioned} with the key Sandgate provisioned",
            f"              (swapped in by the proxy), {attacker} with the attacker's key",
        )
        if collector:
            self.problems.append("the collector received data")
        if foreign:
            self.problems.append("the vendor API received a key other than the provisioned one")
        if not provisioned:
            self.problems.append("the ordinary vendor call did not get through")
        if self.problems:
            self._print(
                "", "The demo did NOT go as expected:", *(f"  - {p}" for p in self.problems)
            )
            return False
        self._print(
            "",
            "Both incidents were stopped by the environment, not by the agent's judgement:",
            "  1. the credentials the agent read were a decoy, and the request carrying its",
            "     canary was refused before it left;",
            "  2. the allowed API domain accepted only this session's placeholder, so the",
            "     attacker's key was refused there, ranked critical.",
            f"Every event is in `sandgate history --session {self.session_id}`.",
        )
        return True


def _count(received: Sequence[Any]) -> str:
    if not received:
        return "nothing"
    return f"{len(received)} request{'s' if len(received) != 1 else ''}"
