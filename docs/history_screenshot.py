"""Take docs/history.png: the history window over a recorded month, with its chart.

Run: `.venv/bin/python docs/history_screenshot.py` (needs Xvfb and imagemagick, which
packaging/install.sh installs). It records a month of sessions in a temporary store
through the real `Store` (so the migrations, indexes and text index are the real ones),
opens the real history window on it under a private Xvfb, searches, selects a row,
and saves the screen.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

HOSTS = ("pypi.org", "files.pythonhosted.org", "github.com", "registry.npmjs.org")
ODD = ("paste.example.net", "203.0.113.9", "api.unknown-llm.test")
COMMANDS = ("pytest -q", "make lint", "git status", "npm test", "ruff check .")


def record(database: Path, now: float) -> None:
    """A month of four agents' work: mostly routine, a little that reached a person."""
    from app.service.store import Store

    rnd = random.Random(4)
    store = Store(database)
    for day in range(30, -1, -1):
        for part, agent in enumerate(("claude", "codex", "gemini", "aider")):
            session = f"{agent[:2]}-{day:02d}{part}"
            start = now - day * 86400 - rnd.uniform(1, 8) * 3600
            store.open_session(session, f"/home/ana/src/{('shop', 'api', 'docs')[part % 3]}",
                               [agent], agent=agent, started=start)  # fmt: skip
            asked: list[int] = []
            for n in range(rnd.randint(40, 120)):
                ts = start + n * 40
                pick = rnd.random()
                if pick < 0.5:
                    raw = {"kind": "net.connect", "host": rnd.choice(HOSTS), "port": 443}
                    verdict = ("low", 5, "egress.known", "a registry the workspace uses")
                elif pick < 0.955:
                    raw = {"kind": "tool", "tool": "Bash",
                           "input": {"command": rnd.choice(COMMANDS)}}  # fmt: skip
                    verdict = ("low", 0, "tool.routine", "a command run before here")
                elif pick < 0.99:
                    raw = {"kind": "net.connect", "host": rnd.choice(ODD), "port": 443}
                    verdict = ("high", 62, "egress.unknown", "a destination no rule names")
                else:
                    raw = {"kind": "file.read", "path": "/home/ana/.aws/credentials",
                           "decoy": "aws"}  # fmt: skip
                    verdict = ("critical", 95, "cred.decoy", "reads the AWS decoy credentials")
                band, score, rule, why = verdict
                event = store.add_event(
                    session, raw,
                    {"score": score, "band": band, "signature": f"{raw['kind']} x",
                     "reasons": [{"rule": rule, "points": score, "why": why}]},
                    ts=ts,
                )  # fmt: skip
                if band == "low":
                    store.add_decision("allow", "session", rule, events_=[event], ts=ts)
                else:
                    asked.append(event)
            if asked:
                store.add_decision(
                    "deny", "once", "user", events_=asked, batch=f"batch-{session}",
                    ts=start + 2000,
                )  # fmt: skip
    store.close()


def main() -> int:
    from tests.ui.desktop import desktop

    out = ROOT / "docs" / "history.png"
    with tempfile.TemporaryDirectory() as tmp, desktop("1280x800x24") as display:
        database = Path(tmp) / "sandgate.db"
        record(database, time.time())
        script = f"""
import sys
sys.path.insert(0, {str(ROOT)!r})
from pathlib import Path
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from app.ui.history_window import HistoryWindow
app = QApplication([])
window = HistoryWindow(Path({str(database)!r}))
window.setGeometry(0, 0, 1280, 800)
window.show()
window.open_database()
def search():
    window.filters.band.setCurrentIndex(window.filters.band.findData("high"))
def pick():
    window.table.selectRow(0)
QTimer.singleShot(1500, search)
QTimer.singleShot(3000, pick)
QTimer.singleShot(4500, lambda: (window.grab().save({str(out)!r}), app.quit()))
app.exec()
"""
        env = dict(os.environ, DISPLAY=display, QT_QPA_PLATFORM="xcb")
        subprocess.run([sys.executable, "-c", script], env=env, check=True, timeout=60)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
