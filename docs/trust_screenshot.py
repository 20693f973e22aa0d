"""Take docs/trust.png: the trusted-paths editor over a made-up home.

Run: `.venv/bin/python docs/trust_screenshot.py` (needs Xvfb and imagemagick, which
packaging/install.sh installs). It makes a temporary home with a workspace, a few
folders and credential files, a policy of the user's own with comments, and a store
that has seen the workspace; opens the real editor under a private Xvfb, picks the
workspace and a path, and saves the window.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.private_env import private_env  # noqa: E402

POLICY = """\
# My own additions to Sandgate's policy.
version: 1

trusted:
  # reference notes the agents may read
  - ~/notes
  - {path: ~/.cache/pip, mode: rw}   # shared pip cache

deny:
  - ~/Documents/**

network:
  allow:
    - pypi.org
    - '*.pythonhosted.org'
    - registry.npmjs.org:443
    - 127.0.0.1:8080
  deny:
    - '*.pastebin.com'
  ask_timeout: 90
"""


def make_home(home: Path) -> Path:
    for folder in ("notes", "Documents", "Downloads", ".cache/pip", ".ssh", ".aws",
                   ".config/gh", "src/shop/.git/hooks", "src/shop/app", "src/api"):  # fmt: skip
        (home / folder).mkdir(parents=True, exist_ok=True)
    (home / ".ssh" / "id_ed25519").write_text("not a real key\n")
    (home / ".ssh" / "known_hosts").write_text("github.com ssh-ed25519 AAAA\n")
    (home / ".aws" / "credentials").write_text("[default]\n")
    (home / ".gitconfig").write_text("[user]\n\tname = Ana\n")
    (home / "src/shop/.git/hooks/pre-commit").write_text("#!/bin/sh\n")
    (home / "src/shop/.git/config").write_text("[core]\n")
    (home / "src/shop/app/main.py").write_text("print('shop')\n")
    (home / "notes/todo.md").write_text("- ship it\n")
    config = home / ".config" / "sandgate"
    config.mkdir(parents=True, exist_ok=True)
    (config / "policy.yaml").write_text(POLICY)
    return home / "src" / "shop"


def main() -> int:
    from tests.ui.desktop import desktop

    out = ROOT / "docs" / "trust.png"
    with tempfile.TemporaryDirectory(prefix="sgtrust") as tmp, desktop("1280x800x24") as display:
        home = Path(tmp) / "ana"
        workspace = make_home(home)
        env = {**private_env(home), "DISPLAY": display, "QT_QPA_PLATFORM": "xcb"}
        script = f"""
import sys, time
sys.path.insert(0, {str(ROOT)!r})
from pathlib import Path
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from app.paths import Paths
from app.service.store import Store
from app.trust.saving import PolicyFiles
from app.ui.trust_controller import open_editor
paths = Paths.from_environment().ensure()
store = Store(paths.database)
store.open_session("s1", {str(workspace)!r}, ["claude"], agent="claude-code")
store.close()
app = QApplication([])
window = open_editor(paths, PolicyFiles.of(paths.user_policy))
window.setGeometry(0, 0, 1280, 800)
window.show()
home = {str(home)!r}
def pick_workspace():
    box = window.workspace
    box.setCurrentIndex(box.findData({str(workspace)!r}))
    box.activated.emit(box.currentIndex())
def expand():
    tree, model = window.tree, window.model
    window.tree.setRootIndex(model.index(home))
    for sub in (".aws", ".ssh", "src", "src/shop", "src/shop/.git", "src/shop/.git/hooks"):
        tree.expand(model.index(home + "/" + sub))
def pick():
    window.tree.setCurrentIndex(window.model.index(home + "/src/shop/.git/hooks/pre-commit"))
    window.tree.viewport().update()
QTimer.singleShot(1200, pick_workspace)
QTimer.singleShot(2200, expand)
QTimer.singleShot(3500, pick)
def take():
    window.grab().save({str(out)!r})
    window.controller.close()
    app.quit()
QTimer.singleShot(5000, take)
app.exec()
"""
        subprocess.run([sys.executable, "-c", script], env=env, check=True, timeout=90)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
