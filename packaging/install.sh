#!/usr/bin/env bash
# Installs everything Sandgate needs on Debian or Ubuntu (system packages and a Python
# environment in .venv beside this checkout), then starts Sandgate's main job.
#   bash packaging/install.sh             install, then start the tray (`sandgate`), which
#                                         runs the headless service when there is no display
#   bash packaging/install.sh --no-start  install only (the test command uses this)
set -euo pipefail
cd "$(dirname "$0")/.."

start=1
[ "${1:-}" = "--no-start" ] && start=0

# System packages: the sandbox (bubblewrap), the clients the tests drive through it
# (curl, git, nodejs), the shared libraries Qt needs even offscreen, and what the tray
# and its tests use: a system-tray host and screenshots under Xvfb (trayer, imagemagick,
# x11-utils, xdotool for simulated keys), a private D-Bus and notifications (dbus,
# dbus-x11, libnotify-bin), and PostgreSQL's server programs, from which the store's
# tests start a throwaway server of their own (postgresql; Sandgate itself needs no
# server unless database_url names one).
packages=(
  bubblewrap socat python3 python3-venv python3-pip ca-certificates curl git nodejs
  libegl1 libgl1 libxkbcommon0 libfontconfig1 libdbus-1-3 libglib2.0-0
  xvfb libxcb-cursor0 libxkbcommon-x11-0 libxcb-icccm4 libxcb-keysyms1 libxcb-shape0
  libxcb-render-util0 libxcb-image0
  trayer imagemagick x11-utils xdotool dbus dbus-x11 libnotify-bin
  appstream desktop-file-utils
  postgresql
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  echo "sandgate: installing system packages: ${missing[*]}"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q "${missing[@]}"
fi

python=${PYTHON:-python3}
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "sandgate: needs Python 3.11 or newer; $("$python" --version) found" >&2
  exit 1
fi
if [ ! -x .venv/bin/python ]; then
  echo "sandgate: creating .venv"
  "$python" -m venv .venv
fi
# Reinstall when pyproject.toml or the way we install changes. The editable install is
# in "compat" mode (a plain path entry): the default mode's import hook costs every
# Python start 10 ms, and `sandgate run` starts Python before every agent.
stamp=.venv/.sandgate-installed
want="compat $(sha256sum pyproject.toml | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "sandgate: installing the Python environment"
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -e '.[dev]' --config-settings editable_mode=compat
  echo "$want" > "$stamp"
fi

# Byte-compile our own sources: pip does it for what it installs, not for an editable
# checkout, and where PYTHONDONTWRITEBYTECODE is set nothing would ever write them, so
# every `sandgate run` would compile its modules again (~15 ms). Stale files are only
# ever ignored by Python, never trusted.
.venv/bin/python -m compileall -q -j 0 app sandbox triage resources >/dev/null

# Put `sandgate` on the PATH for the README's tour: a link in ~/.local/bin (the XDG place
# for a user's programs), never over a file that is not already our link. The test
# command (--no-start) leaves the home alone.
if [ "$start" = 1 ]; then
  bin="$HOME/.local/bin"
  target="$(pwd)/.venv/bin/sandgate"
  if [ ! -e "$bin/sandgate" ] || [ "$(readlink "$bin/sandgate")" = "$target" ]; then
    mkdir -p "$bin"
    ln -sfn "$target" "$bin/sandgate"
    echo "sandgate: linked $bin/sandgate to $target"
    case ":$PATH:" in
      *":$bin:"*) ;;
      *) echo "sandgate: $bin is not on your PATH: add it (or open a new login shell)" ;;
    esac
  else
    echo "sandgate: $bin/sandgate exists and is not ours; run $target instead"
  fi
  exec .venv/bin/sandgate
fi
