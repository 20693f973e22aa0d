"""Preflight: a host that cannot sandbox is told exactly why and how to fix it."""

from __future__ import annotations

import shutil

import pytest

from sandbox.preflight import (
    HostProbe,
    SandboxUnavailable,
    check_bwrap,
    probe_host,
    tiocsti_blocked_by_kernel,
)

GOOD = HostProbe(bwrap="/usr/bin/bwrap", version=(0, 8, 0), sysctls={}, uid=1000)


@pytest.mark.parametrize(
    ("probe", "says"),
    [
        (HostProbe(None, None), ["not installed", "apt install bubblewrap"]),
        (HostProbe("/usr/bin/bwrap", None), ["did not report its version"]),
        (
            HostProbe("/usr/bin/bwrap", (0, 6, 1), uid=1000),
            ["0.6.1", "too old", "0.8.0", "--disable-userns"],
        ),
        (
            HostProbe("/usr/bin/bwrap", (0, 9, 0), {"user.max_user_namespaces": 0}, 1000),
            ["user.max_user_namespaces = 0", "sysctl -w user.max_user_namespaces="],
        ),
        (
            HostProbe("/usr/bin/bwrap", (0, 9, 0), {"kernel.unprivileged_userns_clone": 0}, 1000),
            ["kernel.unprivileged_userns_clone", "=1"],
        ),
        (
            HostProbe(
                "/usr/bin/bwrap",
                (0, 9, 0),
                {"kernel.apparmor_restrict_unprivileged_userns": 1},
                1000,
            ),
            ["AppArmor", "Ubuntu", "/etc/apparmor.d/bwrap", "userns,"],
        ),
        (
            HostProbe(
                "/usr/bin/bwrap",
                (0, 9, 0),
                {},
                1000,
                trial_error=("bwrap: setting up uid map: Permission denied"),
            ),
            ["could not create its namespaces", "AppArmor", "will not run the agent"],
        ),
    ],
)
def test_an_unusable_host_is_refused_with_the_fix(probe: HostProbe, says: list[str]) -> None:
    with pytest.raises(SandboxUnavailable) as caught:
        check_bwrap(probe)
    for words in says:
        assert words in str(caught.value)


def test_a_usable_host_passes() -> None:
    check_bwrap(GOOD)
    # A setuid bwrap does not need unprivileged user namespaces.
    check_bwrap(HostProbe("/usr/bin/bwrap", (0, 8, 0), {"user.max_user_namespaces": 0}, 1000, True))


@pytest.mark.skipif(shutil.which("bwrap") is None, reason="needs bubblewrap")
def test_this_host_passes_with_a_trial_run() -> None:
    probe = probe_host(trial=True)
    assert probe.version is not None and probe.version >= (0, 8, 0)
    assert probe.trial_error is None
    check_bwrap(probe)


def test_tiocsti_sysctl_is_read() -> None:
    assert tiocsti_blocked_by_kernel(HostProbe(None, None, {"dev.tty.legacy_tiocsti": 0}))
    assert not tiocsti_blocked_by_kernel(HostProbe(None, None, {"dev.tty.legacy_tiocsti": 1}))
