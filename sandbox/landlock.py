"""Narrowing a process further with Landlock, from inside a sandbox.

A child session (`sandgate run` inside a Sandgate sandbox) cannot make a sandbox of its
own: the agent may not create namespaces. Landlock needs none. A process restricts
itself, and every process it starts, to less than it had; a restriction only ever adds
to the ones already there, so a child can narrow its parent's sandbox and never widen
it. Used here for writes: the child may write only beneath the folders it names. Its
reads and its network stay its parent's (Landlock cannot hide a path beneath a readable
folder, and cannot tell the proxy's socket from any other), and it may not signal or
trace the processes outside it.

Linux only; `abi()` is 0 where the kernel has no Landlock, and `restrict_writes`
refuses there rather than run the command unnarrowed.
"""

from __future__ import annotations

import ctypes
import os
import struct
from collections.abc import Iterable

_CREATE_RULESET, _ADD_RULE, _RESTRICT_SELF = 444, 445, 446  # the same on every arch
_VERSION = 1  # landlock_create_ruleset flag: ask the ABI version
_PATH_BENEATH = 1
_PR_SET_NO_NEW_PRIVS = 38

WRITE_FILE = 1 << 1
_DIR_WRITES = (
    (1 << 4)  # remove a directory
    | (1 << 5)  # remove a file
    | (1 << 6)  # make a character device
    | (1 << 7)  # make a directory
    | (1 << 8)  # make a regular file
    | (1 << 9)  # make a socket
    | (1 << 10)  # make a FIFO
    | (1 << 11)  # make a block device
    | (1 << 12)  # make a symbolic link
)
_REFER = 1 << 13  # ABI 2: link or rename into another folder
_TRUNCATE = 1 << 14  # ABI 3
_SCOPE_SIGNAL = 1 << 1  # ABI 6: no signal to a process outside


class LandlockError(OSError):
    """Narrowing was asked for and could not be done: nothing is run."""


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def abi() -> int:
    """The kernel's Landlock ABI version, 0 if it has none (or it is turned off)."""
    if os.uname().sysname != "Linux":
        return 0
    libc = _libc()
    libc.syscall.restype = ctypes.c_long
    version = libc.syscall(_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(_VERSION))
    return max(int(version), 0)


def writes(version: int) -> int:
    """Every write access this ABI version can handle."""
    access = WRITE_FILE | _DIR_WRITES
    if version >= 2:
        access |= _REFER
    if version >= 3:
        access |= _TRUNCATE
    return access


def restrict_writes(allowed: Iterable[str]) -> None:
    """Restrict this process and all it starts from now on to writing beneath the
    `allowed` folders (each must exist). Raises LandlockError, having changed nothing
    that matters, when the kernel cannot do it."""
    version = abi()
    if version < 1:
        raise LandlockError("this kernel has no Landlock, so a child session cannot be narrowed")
    access = writes(version)
    libc = _libc()
    libc.syscall.restype = ctypes.c_long
    scoped = _SCOPE_SIGNAL if version >= 6 else 0
    # struct landlock_ruleset_attr: handled_access_fs, handled_access_net, scoped (u64s);
    # its size tells the kernel which fields this caller knows.
    attr = struct.pack("=QQQ", access, 0, scoped) if version >= 6 else struct.pack("=Q", access)
    buffer = ctypes.create_string_buffer(attr, len(attr))
    ruleset = libc.syscall(_CREATE_RULESET, buffer, ctypes.c_size_t(len(attr)), ctypes.c_uint32(0))
    if ruleset < 0:
        raise LandlockError(ctypes.get_errno(), "Landlock refused a ruleset")
    try:
        for folder in allowed:
            _allow_beneath(libc, int(ruleset), folder, access)
        if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            raise LandlockError(ctypes.get_errno(), "cannot set no-new-privileges")
        if libc.syscall(_RESTRICT_SELF, ctypes.c_int(ruleset), ctypes.c_uint32(0)) != 0:
            raise LandlockError(ctypes.get_errno(), "Landlock refused to restrict this process")
    finally:
        os.close(int(ruleset))


def _allow_beneath(libc: ctypes.CDLL, ruleset: int, folder: str, access: int) -> None:
    try:
        fd = os.open(folder, os.O_PATH | os.O_CLOEXEC | os.O_DIRECTORY)
    except OSError as exc:
        raise LandlockError(exc.errno, f"cannot allow writes in {folder}: {exc.strerror}") from None
    try:
        # struct landlock_path_beneath_attr { u64 allowed_access; s32 parent_fd; } packed
        rule = ctypes.create_string_buffer(struct.pack("=Qi", access, fd), 12)
        if libc.syscall(_ADD_RULE, ctypes.c_int(ruleset), ctypes.c_int(_PATH_BENEATH), rule,
                        ctypes.c_uint32(0)) != 0:  # fmt: skip
            raise LandlockError(ctypes.get_errno(), f"Landlock refused a rule for {folder}")
    finally:
        os.close(fd)
