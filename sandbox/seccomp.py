"""A tiny seccomp filter, handed to bwrap with `--seccomp FD`: refuse TIOCSTI and TIOCLINUX.

TIOCSTI pushes characters into a terminal's input queue: an agent sharing the user's
terminal could type a command into the shell that runs after it exits. bwrap's own
answer is `--new-session`, which breaks job control for an interactive agent, so when
the agent keeps the terminal this filter refuses the ioctl instead (EPERM). Linux 6.2+
with `dev.tty.legacy_tiocsti = 0` refuses it already; the filter is kept anyway where
that sysctl is 1 (the default on most distributions).

The ioctl command is compared on its low 32 bits, as the terminal driver reads it
(the upper half was a known bypass of filters that compared 64 bits).
"""

from __future__ import annotations

import errno
import platform
import struct

_LD_W_ABS = 0x20
_JEQ_K = 0x15
_RET_K = 0x06
_ALLOW = 0x7FFF0000
_ERRNO = 0x00050000 | errno.EPERM
_OFF_NR, _OFF_ARCH, _OFF_ARG1_LOW = 0, 4, 24  # struct seccomp_data, little-endian
TIOCSTI = 0x5412
TIOCLINUX = 0x541C
_X32 = 0x40000000

# audit arch -> ioctl syscall numbers under it
_ARCHES: dict[str, list[tuple[int, tuple[int, ...]]]] = {
    "x86_64": [(0xC000003E, (16, _X32 | 16, _X32 | 514)), (0x40000003, (54,))],
    "aarch64": [(0xC00000B7, (29,)), (0x40000028, (54,))],
}


def _ins(code: int, k: int, jt: int = 0, jf: int = 0) -> bytes:
    return struct.pack("<HBBI", code, jt, jf, k)


def tiocsti_filter(machine: str | None = None) -> bytes | None:
    """The BPF program as bytes for this machine, or None if the machine is unknown."""
    arches = _ARCHES.get(machine or platform.machine())
    if arches is None:
        return None
    program: list[bytes] = []
    blocks: list[list[bytes]] = []
    for _, numbers in arches:
        block: list[bytes] = [_ins(_LD_W_ABS, _OFF_NR)]
        # nr is one of `numbers`: jump to the argument check after the allow below.
        for i, nr in enumerate(numbers):
            block.append(_ins(_JEQ_K, nr, jt=len(numbers) - i, jf=0))
        block.append(_ins(_RET_K, _ALLOW))
        block += [
            _ins(_LD_W_ABS, _OFF_ARG1_LOW),
            _ins(_JEQ_K, TIOCSTI, jt=2, jf=0),
            _ins(_JEQ_K, TIOCLINUX, jt=1, jf=0),
            _ins(_RET_K, _ALLOW),
            _ins(_RET_K, _ERRNO),
        ]
        blocks.append(block)
    # Dispatch on arch: each JEQ jumps to its block; an unknown arch is allowed (the
    # kernel only runs the native and compat ABIs listed here).
    program.append(_ins(_LD_W_ABS, _OFF_ARCH))
    dispatch_len = len(arches) + 1
    offsets: list[int] = []
    position = 0
    for block in blocks:
        offsets.append(position)
        position += len(block)
    for i, (arch, _) in enumerate(arches):
        # Jump from instruction (1 + i) to the start of block i.
        distance = (dispatch_len - i - 1) + offsets[i]
        program.append(_ins(_JEQ_K, arch, jt=distance, jf=0))
    program.append(_ins(_RET_K, _ALLOW))
    for block in blocks:
        program += block
    return b"".join(program)
