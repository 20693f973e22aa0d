"""The trusted-paths editor's decisions: which file is edited, what each mark writes,
when the sandbox is planned again, saving, and edits made outside the window.

Every change goes to a `PolicyDocument` (app/trust/document.py) and is planned again
off the GUI thread (`DatabaseCalls`, the history's worker), so the tree shows the
unsaved state as a session would get it. Saving runs the loader first and writes
atomically (app/trust/saving.py). An edit made outside arrives through `FileWatch`:
taken in at once when the window holds nothing unsaved, offered otherwise.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QModelIndex, QObject

from app.paths import Paths
from app.trust.document import DocumentError, PolicyDocument, reread
from app.trust.explaining import readable
from app.trust.exposure import as_pattern, catalogue, exposed_by
from app.trust.saving import ChangedOnDisk, PolicyFiles, save
from app.ui.history_worker import DatabaseCalls
from app.ui.text import visible
from app.ui.trust_network import NetworkLists
from app.ui.trust_remote import RemoteParts, seen_workspaces
from app.ui.trust_watch import FileWatch
from app.ui.trust_window import TrustWindow, ask_mode, ask_yes
from sandbox.policy import PolicyError, load_policy

Ask = Callable[[str, str], bool]  # (title, sentence) -> yes
ChooseMode = Callable[[list[str]], str | None]  # paths -> "ro" / "rw" / None


class TrustController(QObject):
    def __init__(
        self,
        window: TrustWindow,
        paths: Paths,
        files: PolicyFiles,
        *,
        bridge: Any = None,
        profile: str | None = None,
        ask: Ask | None = None,
        choose_mode: ChooseMode | None = None,
    ) -> None:
        super().__init__(window)
        self.window, self.paths, self.files, self.profile = window, paths, files, profile
        self.ask = ask or (lambda title, text: ask_yes(window, title, text))
        self.choose_mode = choose_mode or (lambda picked: ask_mode(window, picked))
        self.calls = DatabaseCalls("sandgate-trust", self)
        self.watch = FileWatch(self)
        self.watch.changed.connect(self.changed_outside)
        self.remote = RemoteParts(window, paths, self.calls, bridge)
        from resources import resources_dir

        self.catalogue = catalogue(resources_dir())
        self.workspace: Path | None = None
        self.document = files.user_document()
        self.outside: str | None = None  # the file's new text, offered while unsaved
        self._plans = 0
        window.controller = self
        self._connect()
        self.network = NetworkLists(self)
        self._offer_files()
        self.watch.watch(files.user)
        model = window.model
        model.readable = lambda text: readable(text, files)
        model.own_entries = self._own_entries
        model.setRootPath(str(files.home))
        window.tree.setRootIndex(model.index(str(files.home)))
        self.calls.call(seen_workspaces, paths, then=self._offer_workspaces)
        self.show_document()
        self.remote.start()

    # --- wiring --------------------------------------------------------------------

    def _connect(self) -> None:
        w = self.window
        w.trust_ro.clicked.connect(lambda _=False: self.mark_selected("ro"))
        w.trust_rw.clicked.connect(lambda _=False: self.mark_selected("rw"))
        w.deny.clicked.connect(lambda _=False: self.mark_selected("deny"))
        w.forget.clicked.connect(lambda _=False: self.mark_selected("remove"))
        w.tree.selectionModel().currentChanged.connect(lambda *_: self.show_selected())
        w.tree.dropped.connect(self.dropped)
        w.save.clicked.connect(lambda _=False: self.save())
        w.reload.clicked.connect(lambda _=False: self.reload())
        w.conflict.take.clicked.connect(lambda _=False: self.take_outside())
        w.conflict.keep.clicked.connect(lambda _=False: self.keep_mine())
        w.editing.activated.connect(lambda _i: self._switch_file())
        w.workspace.activated.connect(lambda _i: self._switch_workspace())
        w.profile.activated.connect(lambda _i: self._switch_profile())

    def _offer_files(self) -> None:
        box = self.window.editing
        box.clear()
        box.addItem(f"Your policy ({_short(self.files.user, self.files.home)})", None)
        if self.workspace is not None:
            box.addItem("This workspace's .sandgate.yaml (only narrows)", str(self.workspace))
        box.setCurrentIndex(1 if self.document.workspace and box.count() > 1 else 0)

    def _offer_workspaces(self, workspaces: list[str]) -> None:
        box = self.window.workspace
        box.clear()
        box.addItem("no workspace (the home only)", None)
        for workspace in workspaces:
            box.addItem(visible(as_pattern(workspace, self.files.home)), workspace)
        profiles = self.window.profile
        profiles.clear()
        profiles.addItem("none", None)
        try:
            names = load_policy(self.files.defaults).profiles
        except PolicyError:
            names = ()
        for name in names:
            profiles.addItem(name, name)
        if self.profile is not None and self.profile in names:
            profiles.setCurrentIndex(profiles.findData(self.profile))

    # --- the document --------------------------------------------------------------

    def show_document(self) -> None:
        """Fill the lists from the document and plan the sandbox again."""
        doc, w = reread(self.document), self.window
        self.network.show(doc)
        w.yaml.setPlainText(self.document.text())
        for button in (w.trust_ro, w.trust_rw):
            button.setEnabled(not doc.workspace)  # a workspace file may only narrow
        name = _short(self.document.path, self.files.home)
        w.setWindowTitle(
            f"Sandgate: trusted paths and domains — {name}{' *' if self.document.changed else ''}"
        )
        self.plan()

    def plan(self) -> None:
        """Plan the sandbox with the document as it is now (saved or not), off the GUI
        thread; the tree shows it when it arrives (an older plan is dropped)."""
        from app.trust.explaining import explainer

        self._plans += 1
        token = self._plans
        snapshot = PolicyDocument(self.document.path, self.document.text(),
                                  workspace=self.document.workspace)  # fmt: skip
        private = (self.paths.config, self.paths.data, self.paths.state, self.paths.runtime)
        files, workspace, profile = self.files, self.workspace, self.profile

        def planned(found: Any) -> None:
            if token == self._plans:
                self.window.model.show_plan(found)
                self.window.tree.viewport().update()
                self.show_selected()

        def refused(error: str) -> None:
            if token == self._plans:
                self.say(f"Cannot work out the sandbox: {error.split(': ', 1)[-1]}")

        self.calls.call(
            lambda: explainer(files, workspace, snapshot, profile, private_paths=private),
            then=planned,
            failed=refused,
        )

    def edit(self, change: Callable[[], object]) -> None:
        try:
            change()
        except (DocumentError, ValueError) as exc:
            self.say(str(exc))
            return
        self.show_document()

    def selected_path(self) -> str | None:
        index: QModelIndex = self.window.tree.currentIndex()
        return self.window.model.filePath(index) if index.isValid() else None

    def show_selected(self) -> None:
        path = self.selected_path()
        if path is None:
            return
        answer = self.window.model.explain(path)
        shown = _short(Path(path), self.files.home)
        if answer is None:
            self.window.selected.setText(visible(f"{shown}: working it out…"))
            return
        why = readable(answer.why, self.files)
        why += self._own_entries(path, why)
        self.window.selected.setText(visible(f"{shown}: {answer.state}: {why}"))

    def _own_entries(self, path: str, why: str) -> str:
        """What the edited file itself says about `path` that the reason `why` does not
        (a denied folder the plan never had to hide, say)."""
        pattern = as_pattern(path, self.files.home)
        own = (pattern, pattern + "/**")
        said = [f"trusts it {e.mode} ({e.value})" for e in self.document.trusted()
                if e.value in own and f"— {e.value} " not in why]  # fmt: skip
        said += [f"denies it ({e.value})" for e in self.document.denied()
                 if e.value in own and f"— {e.value} " not in why]  # fmt: skip
        return f"; {self.document.path.name} {' and '.join(said)}" if said else ""

    def mark_selected(self, choice: str) -> None:
        path = self.selected_path()
        if path is not None:
            self.mark(path, choice)

    def mark(self, path: str, choice: str) -> bool:
        """Trust `path` read-only (`ro`) or read-write (`rw`), `deny` it, or `remove`
        this file's entries for it. Trusting a credential location asks first."""
        pattern = as_pattern(path, self.files.home)
        folder_pattern = pattern.rstrip("/") + "/**"
        if choice == "remove":
            removed = [self.document.remove(section, p) for section in ("trusted", "deny")
                       for p in (pattern, folder_pattern)]  # fmt: skip
            if not any(removed):
                self.say(f"{pattern} has no entry of its own in {self.document.path.name}.")
            self.show_document()
            return any(removed)
        if choice == "deny":
            self.document.remove("trusted", pattern)
            self.edit(
                lambda: self.document.deny(folder_pattern if os.path.isdir(path) else pattern)
            )
            return True
        exposed = exposed_by(pattern, self.files.home, self.catalogue)
        if exposed:
            names = "; ".join(f"{title} ({where})" for title, where in exposed)
            kind = "read-write" if choice == "rw" else "read-only"
            sentence = (
                f"Trusting {pattern} {kind} shows a credential location to the agent: {names}. "
                "Catalogued files there are shown as decoys unless named under `expose:`; "
                "everything else in it is the real thing. Trust it?"
            )
            if not self.ask("Trust a credential location?", sentence):
                self.say(f"{pattern} left as it was.")
                return False
        self.document.remove("deny", folder_pattern)
        self.edit(lambda: self.document.trust(pattern, choice))
        return True

    def dropped(self, paths: list[str]) -> None:
        """Folders dropped from a file manager: trusted, read-only or read-write as the
        person chooses (nothing is trusted without that choice)."""
        mode = self.choose_mode(paths)
        if mode in ("ro", "rw"):
            for path in paths:
                self.mark(path, mode)

    # --- saving and outside edits --------------------------------------------------

    def save(self, force: bool = False) -> bool:
        try:
            self.document = save(self.document, self.files, force=force)
        except PolicyError as exc:
            self.say(f"Not saved: {exc}")
            return False
        except ChangedOnDisk as exc:
            self.offer_outside(exc.text)
            return False
        self.outside = None
        self.window.conflict.hide()
        self.say(f"Saved {self.document.path} (the previous file is kept as "
                 f"{self.document.path.name}.bak).")  # fmt: skip
        self.show_document()
        return True

    def changed_outside(self, path: str) -> None:
        if Path(path) != self.document.path:
            return
        try:
            text = self.document.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            text = ""
        if text == self.document.disk_text:
            return  # our own save, or nothing new
        if not self.document.changed:
            self._load(text)
            self.say(f"{self.document.path.name} was changed outside Sandgate: shown as it is now.")
            return
        self.offer_outside(text)

    def offer_outside(self, text: str) -> None:
        """The file changed while the window holds unsaved changes: offer, never overwrite."""
        self.outside = text
        bar = self.window.conflict
        bar.text.setText(
            f"{self.document.path} was changed outside Sandgate while this window holds "
            "unsaved changes. Use the file's version (your changes here are dropped), or keep "
            "yours (saving will replace the file's)."
        )
        bar.show()

    def take_outside(self) -> None:
        if self.outside is not None:
            self._load(self.outside)
        self.window.conflict.hide()

    def keep_mine(self) -> None:
        if self.outside is not None:
            self.document.disk_text = self.outside  # the next save replaces it knowingly
        self.outside = None
        self.window.conflict.hide()
        self.say("Your changes are kept; saving will replace the file's version.")

    def reload(self) -> None:
        if self.document.changed and not self.ask(
            "Drop unsaved changes?", "Reading the file again drops the changes made here."
        ):
            return
        self._load(self.document.path.read_text(encoding="utf-8")
                   if self.document.path.exists() else "")  # fmt: skip

    def _load(self, text: str) -> None:
        try:
            self.document = PolicyDocument(self.document.path, text,
                                           workspace=self.document.workspace)  # fmt: skip
        except DocumentError as exc:
            self.say(f"Cannot read it: {exc}")
            return
        self.outside = None
        self.window.conflict.hide()
        self.show_document()

    def _switch_file(self) -> None:
        data = self.window.editing.currentData()
        wanted = self.files.user if data is None else Path(data) / ".sandgate.yaml"
        if wanted == self.document.path:
            return
        if self.document.changed and not self.ask(
            "Drop unsaved changes?", f"{self.document.path.name} has changes not saved."
        ):
            self._offer_files()
            return
        if data is None:
            self.document = self.files.user_document()
        else:
            self.document = self.files.workspace_document(Path(data))
        self.watch.watch(self.document.path)
        self.show_document()

    def _switch_workspace(self) -> None:
        data = self.window.workspace.currentData()
        self.workspace = Path(data) if data else None
        if self.document.workspace and self.document.path.parent != self.workspace:
            self.document = self.files.user_document()
        self._offer_files()
        if self.workspace is not None:
            home, ws = str(self.files.home), str(self.workspace)
            root = home if ws.startswith(home + "/") else os.path.commonpath([home, ws])
            self.window.tree.setRootIndex(self.window.model.index(root))
            index = self.window.model.index(ws)
            self.window.tree.setCurrentIndex(index)
            self.window.tree.scrollTo(index)
        self.plan()

    def _switch_profile(self) -> None:
        self.profile = self.window.profile.currentData()
        self.plan()

    def say(self, text: str) -> None:
        self.window.status.setText(visible(text))

    def may_close(self) -> bool:
        return not self.document.changed or self.ask(
            "Close without saving?", f"{self.document.path.name} has changes not saved."
        )

    def close(self) -> None:
        self.watch.stop()
        self.remote.stop()
        self.calls.shutdown()


def _short(path: Path, home: Path) -> str:
    return as_pattern(str(path), home)


def open_editor(
    paths: Paths, files: PolicyFiles, *, bridge: Any = None, profile: str | None = None
) -> TrustWindow:
    """A new editor window with its controller (the caller shows it)."""
    window = TrustWindow()
    TrustController(window, paths, files, bridge=bridge, profile=profile)
    return window
