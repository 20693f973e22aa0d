"""Checking and saving an edited policy file: the real loader first, then an atomic
write that keeps the previous file as `NAME.bak`.

The text is checked exactly as a session would read it: `load_policy` over the shipped
defaults and the user's file (a workspace's `.sandgate.yaml` last, where it may only
narrow). A text that does not load is never written, and the error names the file
being edited and the line. A file changed on disk since it was read is not written
over either (`ChangedOnDisk`): the window offers the change instead.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from types import MappingProxyType

from app.trust.document import PolicyDocument
from sandbox.policy import WORKSPACE_FILE, Policy, PolicyError, load_policy


class ChangedOnDisk(Exception):
    """The file was changed by someone else since the document was read."""

    def __init__(self, path: Path, text: str) -> None:
        super().__init__(f"{path} was changed outside Sandgate since it was opened")
        self.path = path
        self.text = text


@dataclass(frozen=True)
class PolicyFiles:
    """The files a session reads: the shipped defaults and the user's policy."""

    defaults: Path
    user: Path
    home: Path

    @classmethod
    def of(cls, user_policy: Path) -> PolicyFiles:
        """The shipped defaults, `user_policy` (Paths.user_policy) and this user's home."""
        from resources import resources_dir

        return cls(resources_dir() / "policy" / "default.yaml", user_policy, Path.home())

    def user_document(self) -> PolicyDocument:
        return PolicyDocument.read(self.user)

    def workspace_document(self, workspace: Path) -> PolicyDocument:
        return PolicyDocument.read(workspace / WORKSPACE_FILE, workspace=True)


def effective(
    files: PolicyFiles,
    workspace: Path | None,
    document: PolicyDocument | None = None,
    profile: str | None = None,
) -> Policy:
    """The policy a session in `workspace` would get, with `document`'s text (saved or
    not) in place of its file. Raises PolicyError naming the document's file and line."""
    with _staged(document) as staged:
        user_file = files.user
        local = workspace
        if document is not None and staged is not None:
            if document.workspace:
                local = staged.parent
            else:
                user_file = staged
        chosen = [files.defaults] + ([user_file] if user_file.exists() else [])
        try:
            policy = load_policy(*chosen, workspace=local, profile=profile, home=files.home)
        except PolicyError as exc:
            if staged is not None and document is not None and exc.file == staged:
                raise PolicyError(document.path, exc.line, exc.problem) from None
            raise
        if staged is None or document is None:
            return policy
        return _renamed(policy, str(staged), str(document.path))


def save(document: PolicyDocument, files: PolicyFiles, *, force: bool = False) -> PolicyDocument:
    """Check `document` with the loader, then write it in place atomically (same mode;
    0600 for a new file), the previous file kept beside it as `NAME.bak`. Returns the
    document as saved. Raises PolicyError (nothing written) or ChangedOnDisk (unless
    `force`)."""
    path = document.path
    on_disk = _read(path)
    if not force and on_disk != document.disk_text:
        raise ChangedOnDisk(path, on_disk)
    effective(files, path.parent if document.workspace else None, document)
    text = document.text()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    mode = path.stat().st_mode & 0o7777 if path.exists() else 0o600
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".new", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        if path.exists():
            backup = path.with_name(path.name + ".bak")
            with contextlib.suppress(FileNotFoundError):
                backup.unlink()
            try:
                os.link(path, backup)  # the old file itself, kept whole by the rename below
            except OSError:  # a file system without hard links
                shutil.copy2(path, backup)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return PolicyDocument(path, text, workspace=document.workspace)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return ""


@contextlib.contextmanager
def _staged(document: PolicyDocument | None) -> Iterator[Path | None]:
    """The document's text in a private folder, under the name the loader expects."""
    if document is None:
        yield None
        return
    with tempfile.TemporaryDirectory(prefix="sandgate-check-") as folder:
        name = WORKSPACE_FILE if document.workspace else document.path.name
        staged = Path(folder) / name
        staged.write_text(document.text(), encoding="utf-8")
        yield staged


def _renamed(policy: Policy, staged: str, real: str) -> Policy:
    """`policy` with the staged file's name replaced by the real one in what it names."""
    origins = {k: v.replace(staged, real) for k, v in policy.origins.items()}
    sources = tuple(Path(str(s).replace(staged, real)) for s in policy.sources)
    return replace(policy, origins=MappingProxyType(origins), sources=sources)
