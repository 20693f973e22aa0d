"""Behaviours 16–18 (environment, host sockets, processes) and 20's no-network half."""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.sandbox.conftest import Box

SECRETS = {
    "AWS_SECRET_ACCESS_KEY": "abc",
    "AWS_PROFILE": "prod",
    "GITHUB_TOKEN": "ghp_" + "a" * 36,
    "MY_SERVICE_TOKEN": "t",
    "STRIPE_SECRET_KEY": "s",
    "OPENAI_API_KEY": "sk-" + "b" * 40,
    "DB_PASSWORD": "p",
    "INNOCENT_LOOKING": "sk-ant-" + "c" * 40,
    "DATABASE_URL": "postgres://me:hunter2@db/x",
    "SSH_AUTH_SOCK": "/tmp/ssh-x/agent.1",
    "DBUS_SESSION_BUS_ADDRESS": "unix:path=/run/user/0/bus",
    "DISPLAY": ":0",
    "WAYLAND_DISPLAY": "wayland-0",
    "GPG_AGENT_INFO": "/run/user/0/gnupg/S.gpg-agent",
}


def test_16_secret_variables_are_absent_unless_passed(box: Box) -> None:
    box.policy_yaml = "env:\n  pass: [MY_SERVICE_TOKEN]\n  set: {EDITOR: vi}\n"
    plan = box.plan(["/usr/bin/env"], env={**SECRETS, "EDITOR_X": "1", "TERM": "xterm"})
    result = subprocess.run(plan.argv, env=dict(plan.env), capture_output=True, text=True)
    inside = dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)
    for name in SECRETS:
        if name != "MY_SERVICE_TOKEN":
            assert name not in inside, name
    assert inside["MY_SERVICE_TOKEN"] == "t"
    assert inside["EDITOR"] == "vi" and inside["TERM"] == "xterm"
    assert inside["HOME"] == str(box.home)
    assert "hunter2" not in result.stdout and "ghp_" not in result.stdout
    assert any("GITHUB_TOKEN" in notice for notice in plan.notices)
    assert not any("ghp_" in notice for notice in plan.notices)


@pytest.fixture
def host_sockets(box: Box) -> Iterator[dict[str, str]]:
    """Listening sockets like a desktop session's, in the test's own folders."""
    runtime = Path(os.environ["XDG_RUNTIME_DIR"])
    paths = {
        "dbus": runtime / "bus",
        "ssh": runtime / "ssh-agent.sock",
        "gpg": runtime / "gnupg" / "S.gpg-agent",
        "wayland": runtime / "wayland-0",
        "docker": box.home / ".docker" / "run" / "docker.sock",
        "x11": box.workspace.parent / "x11" / "X0",
        "ide": box.home / ".claude" / "ide" / "ide.sock",
    }
    servers: list[socket.socket] = []
    for path in paths.values():
        path.parent.mkdir(parents=True, exist_ok=True)
        server = socket.socket(socket.AF_UNIX)
        server.bind(str(path))
        server.listen()
        servers.append(server)
    abstract = socket.socket(socket.AF_UNIX)
    abstract.bind(f"\0sandgate-test-{os.getpid()}")
    abstract.listen()
    servers.append(abstract)
    tcp = socket.socket()
    tcp.bind(("127.0.0.1", 0))
    tcp.listen()
    servers.append(tcp)
    found = {name: str(path) for name, path in paths.items()}
    found["abstract"] = f"@sandgate-test-{os.getpid()}"
    found["tcp"] = str(tcp.getsockname()[1])
    yield found
    for server in servers:
        server.close()


def test_17_host_sockets_are_unreachable(box: Box, host_sockets: dict[str, str]) -> None:
    box.profile = "claude-code"  # trusts ~/.claude read-write: its socket must still hide
    probe = "; ".join(
        f"socat -u OPEN:/dev/null UNIX-CONNECT:{path} 2>/dev/null && echo REACHED-{name}"
        for name, path in host_sockets.items()
        if name not in ("abstract", "tcp")
    )
    probe += (
        f"; socat -u OPEN:/dev/null ABSTRACT-CONNECT:{host_sockets['abstract'][1:]} "
        "2>/dev/null && echo REACHED-abstract"
        f"; socat -u OPEN:/dev/null TCP:127.0.0.1:{host_sockets['tcp']} 2>/dev/null "
        "&& echo REACHED-tcp; ls /run /var/run /tmp; echo end"
    )
    # Outside, every one of them answers (so the probe itself works).
    outside = subprocess.run(["/bin/sh", "-c", probe], capture_output=True, text=True)
    assert outside.stdout.count("REACHED-") == len(host_sockets)
    result = box.run(probe, env={"DBUS_SESSION_BUS_ADDRESS": "unix:path=" + host_sockets["dbus"]})
    assert "REACHED" not in result.stdout, result.stdout
    assert result.stdout.strip().endswith("end")


def test_18_host_processes_are_invisible_and_unsignalable(box: Box) -> None:
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        result = box.run(
            f"""
            ls /proc | grep -c '^[0-9]'
            kill -0 {sleeper.pid} 2>/dev/null && echo SIGNALLED
            kill -0 1 && echo own-init
            ps -e -o comm= | sort | tr '\\n' ' '
            """
        )
        assert "SIGNALLED" not in result.stdout
        count = int(result.stdout.split()[0])
        assert count <= 5, result.stdout  # init, the shell, ls, grep
        assert "sleep" not in result.stdout
        assert sleeper.poll() is None
    finally:
        sleeper.kill()
        sleeper.wait()


def test_18_no_capabilities_and_no_new_user_namespaces(box: Box) -> None:
    result = box.run(
        """
        grep -E '^(CapEff|CapPrm|CapBnd|NoNewPrivs)' /proc/self/status
        unshare -U true 2>/dev/null && echo USERNS
        unshare -Ur true 2>/dev/null && echo USERNS-ROOT
        unshare -n true 2>/dev/null && echo NETNS
        mount -t tmpfs none /tmp 2>/dev/null && echo MOUNT
        chroot / true 2>/dev/null && echo CHROOT
        echo end
        """
    )
    lines = dict(line.split(":\t", 1) for line in result.stdout.splitlines() if ":\t" in line)
    assert lines["CapEff"] == lines["CapPrm"] == lines["CapBnd"] == "0000000000000000"
    assert lines["NoNewPrivs"] == "1"
    for forbidden in ("USERNS", "NETNS", "MOUNT", "CHROOT"):
        assert forbidden not in result.stdout


def test_20_without_a_network_plan_there_is_no_way_out(box: Box) -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]
    try:
        result = box.run(
            f"""
            ip -o link 2>/dev/null | grep -v ' lo:' && echo OTHER-LINK
            socat -u OPEN:/dev/null TCP:127.0.0.1:{port},connect-timeout=1 2>/dev/null && echo LOOP
            socat -u OPEN:/dev/null TCP:1.1.1.1:443,connect-timeout=1 2>/dev/null && echo TCP4
            socat -u OPEN:/dev/null TCP6:[2606:4700:4700::1111]:443,connect-timeout=1 \
              2>/dev/null && echo TCP6
            echo x | socat -u - UDP:8.8.8.8:53 2>/dev/null && echo UDP-SENT
            getent hosts example.com && echo DNS
            grep -c . /proc/net/route; echo end
            """
        )
        for leak in ("OTHER-LINK", "LOOP", "TCP4", "TCP6", "UDP-SENT", "DNS"):
            assert leak not in result.stdout, result.stdout
        assert result.stdout.split()[-2] == "1"  # only the header: no routes at all
    finally:
        server.close()


def test_17_host_sockets_stay_hidden_in_trusted_folders_outside_the_home(
    box: Box, host_sockets: dict[str, str]
) -> None:
    """A trusted folder outside the home (here the X11 socket's) and a socket trusted by
    its own name still show no live socket."""
    x11_folder = str(Path(host_sockets["x11"]).parent)
    box.policy_yaml = f"trusted:\n  - {x11_folder}\n  - {host_sockets['dbus']}\n"
    connect = "socat -u OPEN:/dev/null UNIX-CONNECT:{} 2>/dev/null && echo REACHED-{}; "
    probe = (
        f"ls {x11_folder} >/dev/null && echo LISTED; "
        + connect.format(host_sockets["x11"], "x11")
        + connect.format(host_sockets["dbus"], "dbus")
        + "echo end"
    )
    result = box.run(probe)
    assert "LISTED" in result.stdout, result.stdout + result.stderr  # the folder is shown
    assert "REACHED" not in result.stdout, result.stdout
    assert result.stdout.strip().endswith("end")


def test_16_a_variable_the_sandbox_sets_itself_is_not_reported_as_withheld(
    box: Box, tmp_path: Path
) -> None:
    """AWS_CA_BUNDLE looks secret (AWS_*), so the host's value is removed, but the sandbox
    points it at the proxy's bundle: the notice names only what the agent goes without."""
    from sandbox.proxy.plan import SANDBOX_CA_BUNDLE, NetworkPlan, proxy_env

    bundle = tmp_path / "bundle.pem"
    bundle.write_text("")
    network = NetworkPlan(tmp_path / "proxy.sock", 3128, proxy_env(3128), bundle)
    host = {"AWS_CA_BUNDLE": "/etc/host-ca.pem", "AWS_SECRET_ACCESS_KEY": "hunter2hunter2"}
    plan = box.plan(["/bin/true"], env=host, network=network)
    (withheld,) = [n for n in plan.notices if n.startswith("not passed into the sandbox")]
    assert "AWS_SECRET_ACCESS_KEY" in withheld and "AWS_CA_BUNDLE" not in withheld
    for name in ("AWS_CA_BUNDLE", "HTTPLIB2_CA_CERTS", "GRPC_DEFAULT_SSL_ROOTS_FILE_PATH"):
        assert plan.env[name] == str(SANDBOX_CA_BUNDLE), name
    assert "AWS_SECRET_ACCESS_KEY" not in plan.env
