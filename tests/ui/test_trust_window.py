"""The trusted-paths window over real files, a real service and a test keyring: marks
written with comments kept, a bad file refused by line, outside edits live and
offered, the keyring path, dropping folders, and revoking a remembered decision."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QLabel, QLineEdit, QPlainTextEdit, QTableWidget

from app.client import connect
from app.paths import Paths
from app.trust.saving import PolicyFiles
from app.ui.trust_controller import TrustController
from app.ui.trust_window import TrustWindow
from sandbox.policy import load_policy
from tests.file_keyring import file_keyring
from tests.ui.conftest import Service, batch_of

MINE = """\
# My policy: this comment stays.
trusted:
  - ~/notes   # for the agents
"""


@pytest.fixture
def files(isolated_env: Path, resources: Path, paths: Paths) -> PolicyFiles:
    paths.user_policy.write_text(MINE)
    for folder in ("notes", "src/lib", ".aws", "drop-me"):
        (isolated_env / folder).mkdir(parents=True, exist_ok=True)
    (isolated_env / ".aws" / "credentials").write_text("[default]\n")
    return PolicyFiles(resources / "policy" / "default.yaml", paths.user_policy, isolated_env)


@pytest.fixture
def editor(files: PolicyFiles, paths: Paths, qtbot: Any) -> Iterator[Any]:
    asked: list[tuple[str, str]] = []
    answers = {"ask": True, "mode": "rw"}
    window = TrustWindow()
    qtbot.addWidget(window)
    controller = TrustController(
        window, paths, files,
        ask=lambda title, text: asked.append((title, text)) or bool(answers["ask"]),
        choose_mode=lambda picked: answers["mode"],
    )  # fmt: skip
    window.show()
    qtbot.waitUntil(lambda: window.model.explainer is not None, timeout=10000)
    yield window, controller, asked, answers
    window.close()


def _state(window: TrustWindow, qtbot: Any, path: Path, wanted: str) -> str:
    """The tree's state column for `path`, once the latest plan says `wanted`."""
    index = window.model.index(str(path))
    state = window.model.index(index.row(), 1, index.parent())
    why = window.model.index(index.row(), 2, index.parent())
    qtbot.waitUntil(lambda: window.model.data(state) == wanted, timeout=10000)
    return str(window.model.data(why))


def _select(window: TrustWindow, path: Path) -> None:
    window.tree.setCurrentIndex(window.model.index(str(path)))


def test_marks_are_saved_with_comments_and_shown_with_their_line(
    editor: Any, files: PolicyFiles, qtbot: Any
) -> None:
    window, _controller, _asked, _answers = editor
    home = files.home
    why = _state(window, qtbot, home / "notes", "read-only")
    assert why == "trusted — ~/notes (~/.config/sandgate/policy.yaml line 3)"
    assert _state(window, qtbot, home / "src", "hidden").startswith("the home is empty")
    _select(window, home / "src" / "lib")
    window.trust_rw.click()
    # Not saved yet, the tree already shows what a session would get.
    assert "not saved" not in _state(window, qtbot, home / "src" / "lib", "read-write")
    assert window.windowTitle().endswith(" *")
    window.allowed.field.setText("*.github.com")
    window.allowed.add_button.click()
    window.save.click()
    text = files.user.read_text()
    assert text.startswith("# My policy: this comment stays.\n")
    assert "  - ~/notes   # for the agents\n" in text and "{path: ~/src/lib, mode: rw}" in text
    assert files.user.with_name("policy.yaml.bak").read_text() == MINE
    policy = load_policy(files.defaults, files.user, home=home)
    assert "*.github.com" in policy.network.allow
    why = _state(window, qtbot, home / "src" / "lib", "read-write")
    assert why == "trusted — ~/src/lib (~/.config/sandgate/policy.yaml line 4)"
    assert window.allowed.list.item(0).text() == "*.github.com   (line 7)"
    _select(window, home / "notes")
    window.deny.click()
    # Denied and no longer trusted: hidden with the rest of the home, and said so.
    assert _state(window, qtbot, home / "notes", "hidden").startswith("the home is empty")
    assert "~/notes/**" in [e.value for e in _controller.document.denied()]
    assert "; policy.yaml denies it (~/notes/**)" in window.selected.text()
    assert _state(window, qtbot, home / "notes", "hidden").endswith(
        "; policy.yaml denies it (~/notes/**)"
    )


def test_a_file_that_does_not_load_is_not_written_and_the_line_is_named(
    editor: Any, files: PolicyFiles, qtbot: Any
) -> None:
    window, controller, _asked, _answers = editor
    controller.mark(str(files.home), "ro")  # the whole home: the loader refuses it
    qtbot.waitUntil(lambda: "Cannot work out the sandbox" in window.status.text(), timeout=5000)
    window.save.click()
    assert window.status.text().startswith(
        f"Not saved: {files.user}:4: trusting '~' reaches into your whole home folder"
    )
    assert files.user.read_text() == MINE
    assert not files.user.with_name("policy.yaml.bak").exists()


def test_outside_edits_show_up_live_and_are_offered_over_unsaved_changes(
    editor: Any, files: PolicyFiles, qtbot: Any
) -> None:
    window, controller, _asked, _answers = editor
    files.user.write_text(MINE + "network:\n  allow: [pypi.org]\n")
    qtbot.waitUntil(lambda: window.allowed.list.count() == 1, timeout=5000)
    assert window.allowed.list.item(0).text() == "pypi.org   (line 5)"
    assert "changed outside Sandgate" in window.status.text()
    # Now with a change of the window's own not saved: offered, never written over.
    window.addresses.field.setText("127.0.0.1:8080")
    window.addresses.add_button.click()
    theirs = MINE + "network:\n  allow: [pypi.org, registry.npmjs.org]\n"
    files.user.write_text(theirs)
    qtbot.waitUntil(lambda: window.conflict.isVisible(), timeout=5000)
    assert "unsaved changes" in window.conflict.text.text()
    assert "127.0.0.1:8080" in controller.document.text()
    assert files.user.read_text() == theirs
    window.save.click()  # still refused: the person has not chosen
    assert files.user.read_text() == theirs and window.conflict.isVisible()
    window.conflict.take.click()
    assert not window.conflict.isVisible()
    assert "registry.npmjs.org" in controller.document.text()
    assert "127.0.0.1:8080" not in controller.document.text()
    # Keeping one's own is a choice too: then saving replaces the file's version.
    window.addresses.field.setText("10.0.0.0/8")
    window.addresses.add_button.click()
    files.user.write_text(MINE)
    qtbot.waitUntil(lambda: window.conflict.isVisible(), timeout=5000)
    window.conflict.keep.click()
    window.save.click()
    assert "10.0.0.0/8" in files.user.read_text() and "registry.npmjs.org" in files.user.read_text()


def test_trusting_a_credential_location_asks_and_names_what_it_exposes(
    editor: Any, files: PolicyFiles, qtbot: Any
) -> None:
    window, controller, asked, answers = editor
    answers["ask"] = False
    assert not controller.mark(str(files.home / ".aws"), "ro")
    title, sentence = asked[-1]
    assert title == "Trust a credential location?"
    assert "AWS credentials (~/.aws/credentials)" in sentence
    assert "~/.aws" not in [e.value for e in controller.document.trusted()]
    answers["ask"] = True
    assert controller.mark(str(files.home / ".aws"), "ro")
    assert _state(window, qtbot, files.home / ".aws" / "credentials", "decoy")
    asked.clear()
    controller.mark(str(files.home / "src"), "ro")
    assert asked == []  # nothing catalogued there: nothing to confirm


def test_a_folder_dropped_in_is_trusted_as_chosen(
    editor: Any, files: PolicyFiles, qtbot: Any
) -> None:
    window, controller, _asked, answers = editor
    folder = files.home / "drop-me"
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(folder))])
    answers["mode"] = None  # cancelled: nothing trusted
    window.tree.dropEvent(_drop(window, mime))
    assert "~/drop-me" not in [e.value for e in controller.document.trusted()]
    answers["mode"] = "ro"
    window.tree.dropEvent(_drop(window, mime))
    assert [(e.value, e.mode) for e in controller.document.trusted()][-1] == ("~/drop-me", "ro")
    _state(window, qtbot, folder, "read-only")


def _drop(window: TrustWindow, mime: QMimeData) -> QDropEvent:
    return QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime,
                      Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)  # fmt: skip


def test_a_secret_goes_to_the_keyring_only_and_is_never_shown_again(
    editor: Any, files: PolicyFiles, paths: Paths, qtbot: Any, tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    window, _controller, _asked, _answers = editor
    secret = "ghp_" + "S3cr3t" * 6
    caplog.set_level(logging.DEBUG)
    with file_keyring(tmp_path / "keyring.json") as keyring:
        form = window.credentials
        form.name.setText("github")
        form.domain.setText("api.github.com")
        form.header.setText("authorization")
        form.secret.setText(secret)
        form.bind_button.click()
        assert form.secret.text() == ""  # gone from the window at once
        qtbot.waitUntil(lambda: form.table.rowCount() == 1, timeout=5000)
        assert keyring.get_password("sandgate", "github") == secret
    assert form.table.item(0, 1).text() == "api.github.com"
    assert form.table.item(0, 3).text() == "$GITHUB_API_KEY"
    index = json.loads((paths.config / "credentials.json").read_text())
    assert index == {"github": {"name": "github", "domain": "api.github.com",
                                "header": "authorization", "env": "GITHUB_API_KEY"}}  # fmt: skip
    assert secret not in files.user.read_text()
    assert secret not in caplog.text
    shown = [w.text() for w in window.findChildren(QLineEdit) + window.findChildren(QLabel)]
    shown += [w.toPlainText() for w in window.findChildren(QPlainTextEdit)]
    for table in window.findChildren(QTableWidget):
        shown += [table.item(r, c).text() for r in range(table.rowCount())
                  for c in range(table.columnCount()) if table.item(r, c)]  # fmt: skip
    assert not [text for text in shown if secret in text]


def test_revoking_a_remembered_decision_from_the_window(
    service: Service, editor: Any, qtbot: Any
) -> None:
    window, _controller, _asked, _answers = editor
    session = service.open_session()
    service.hold(session, "low", "https://pypi.org/simple/requests/")
    deadline = time.monotonic() + 5
    while not service.queue.listing() and time.monotonic() < deadline:
        time.sleep(0.02)
    with connect(service.paths) as client:  # type: ignore[union-attr]
        client.request("decide", batch=batch_of(service, "pypi.org"), decision="allow",
                       scope="always")  # fmt: skip
    table = window.remembered.table
    qtbot.waitUntil(lambda: table.rowCount() == 1, timeout=5000)
    assert [table.item(0, c).text() for c in (0, 1, 2, 3)] == [
        "allow (up to low)", "net pypi.org:443", "always", "you"
    ]  # fmt: skip
    assert table.item(0, 5).text() == "never"
    table.selectRow(0)
    window.remembered.revoke_button.click()
    qtbot.waitUntil(lambda: table.rowCount() == 0, timeout=5000)
    assert json.loads((service.paths.state / "decisions.json").read_text()) == []
    assert "Revoked" in window.remembered.status.text()


def test_registry_reads_start_from_the_shipped_list_and_an_edit_writes_the_whole_list(
    editor: Any, files: PolicyFiles
) -> None:
    window, _controller, _asked, _answers = editor
    shipped = list(load_policy(files.defaults).network.fetch)
    shown = [window.fetch.list.item(i).text() for i in range(window.fetch.list.count())]
    assert shown == [f"{rule}   (shipped list)" for rule in shipped]
    window.fetch.field.setText("10.0.0.1")
    window.fetch.add_button.click()
    assert "not a domain name" in window.status.text()
    window.fetch.list.setCurrentRow(0)  # pypi.org: its reads ask again
    window.fetch.remove_button.click()
    window.fetch.field.setText("repo.example.org")
    window.fetch.add_button.click()
    window.save.click()
    policy = load_policy(files.defaults, files.user, home=files.home)
    assert list(policy.network.fetch) == [*shipped[1:], "repo.example.org"]
    assert files.user.read_text().startswith("# My policy: this comment stays.\n")
    assert window.fetch.list.item(0).text().endswith("(line 6)"), window.fetch.list.item(0).text()
