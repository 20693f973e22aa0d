#!/usr/bin/env bash
# Builds the one-folder app (dist/sandgate/) with PyInstaller and the Debian package
# (dist/sandgate_VERSION_ARCH.deb) from it, using only what PyPI and Debian ship.
#   bash packaging/build.sh          build both
#   bash packaging/build.sh --check  build, then install the package with dpkg -i, run it,
#                                    and purge it, checking that nothing is left behind
#                                    (needs root or sudo; leaves the machine as it was)
set -euo pipefail
cd "$(dirname "$0")/.."

check=0
[ "${1:-}" = "--check" ] && check=1
python=.venv/bin/python
[ -x "$python" ] || { echo "sandgate build: run bash packaging/install.sh --no-start first" >&2; exit 1; }
version=$("$python" -c 'import tomllib; print(tomllib.load(open("pyproject.toml", "rb"))["project"]["version"])')
arch=$(dpkg --print-architecture)
deb="dist/sandgate_${version}_${arch}.deb"

# 1. The bundle. The work folder is kept between builds: PyInstaller reuses its analysis.
start=$(date +%s)
"$python" -m PyInstaller --noconfirm --log-level WARN --distpath dist \
  --workpath build/pyinstaller packaging/sandgate.spec
echo "sandgate build: bundle dist/sandgate/ in $(( $(date +%s) - start )) s"

# 2. The package, staged as it will be installed.
stage=build/deb/root
rm -rf build/deb
mkdir -p "$stage/DEBIAN" "$stage/opt" "$stage/usr/bin" "$stage/usr/share/applications" \
  "$stage/usr/share/metainfo" "$stage/usr/lib/systemd/user" \
  "$stage/usr/share/icons/hicolor/scalable/apps" "$stage/usr/share/doc/sandgate"
cp -a dist/sandgate "$stage/opt/sandgate"
ln -s /opt/sandgate/sandgate "$stage/usr/bin/sandgate"
install -m 0644 packaging/io.github.sandgate.Sandgate.desktop "$stage/usr/share/applications/"
install -m 0644 packaging/io.github.sandgate.Sandgate.metainfo.xml "$stage/usr/share/metainfo/"
install -m 0644 packaging/sandgate.service "$stage/usr/lib/systemd/user/"
install -m 0644 resources/icons/sandgate-app.svg \
  "$stage/usr/share/icons/hicolor/scalable/apps/io.github.sandgate.Sandgate.svg"
install -m 0644 README.md "$stage/usr/share/doc/sandgate/README.md"
printf 'Sandgate\nLicense: Apache-2.0\n' > "$stage/usr/share/doc/sandgate/copyright"
chmod -R u=rwX,go=rX "$stage"
size=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
# No maintainer scripts: the desktop database and icon cache are refreshed by dpkg
# triggers, and the user unit is each user's to enable (systemctl --user enable sandgate).
cat > "$stage/DEBIAN/control" <<CONTROL
Package: sandgate
Version: $version
Architecture: $arch
Maintainer: The Sandgate developers <sandgate@localhost>
Installed-Size: $size
Depends: bubblewrap, socat
Section: utils
Priority: optional
Homepage: https://github.com/sandgate/sandgate
Description: approval manager for AI coding agents
 Runs AI coding agents inside bubblewrap, with the network denied except through
 Sandgate's own egress proxy and credentials replaced by decoys, and ranks what
 escapes with a deterministic, explained risk scorer for a person to decide.
CONTROL
start=$(date +%s)
# gzip at a low level: xz, or gzip at its default level 9, take minutes on a bundle this
# size, and save little on shared libraries.
dpkg-deb --root-owner-group -Zgzip -z3 --build "$stage" "$deb" >/dev/null
echo "sandgate build: package $deb ($(du -h "$deb" | cut -f1)) in $(( $(date +%s) - start )) s"

[ "$check" = 1 ] || exit 0

# 3. The check: install, run, purge, and nothing of it may remain.
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
if dpkg-query -W -f='${Status}' sandgate 2>/dev/null | grep -q "install ok installed"; then
  echo "sandgate build: a sandgate package is already installed here; not checking" >&2
  exit 1
fi
files=$(dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\./|/|' | grep -v '/$')
trap '$sudo dpkg -P sandgate >/dev/null 2>&1 || true' EXIT
$sudo dpkg -i "$deb"
scratch=$(mktemp -d)
mkdir -p "$scratch/home" "$scratch/run" "$scratch/ws"
chmod 700 "$scratch/run"
(
  cd "$scratch/ws"
  export HOME="$scratch/home" XDG_RUNTIME_DIR="$scratch/run"
  unset XDG_CONFIG_HOME XDG_DATA_HOME XDG_STATE_HOME XDG_CACHE_HOME
  if /usr/bin/sandgate --help | grep -q -- '--version\|^  version'; then
    /usr/bin/sandgate --version
  fi
  /usr/bin/sandgate --help >/dev/null
  echo '{"id":"e1","session":"s1","kind":"file.read","path":"~/.aws/credentials"}' \
    | /usr/bin/sandgate score - | grep -q '"e1"' 
  /usr/bin/sandgate run -- true
  systemd-analyze verify --user /usr/lib/systemd/user/sandgate.service
  if command -v desktop-file-validate >/dev/null; then
    desktop-file-validate /usr/share/applications/io.github.sandgate.Sandgate.desktop
  fi
)
rm -rf "$scratch"
$sudo dpkg -P sandgate
trap - EXIT
left=()
while IFS= read -r path; do
  [ -e "$path" ] || [ -L "$path" ] && left+=("$path")
done <<< "$files"
[ -e /opt/sandgate ] && left+=(/opt/sandgate)
if [ ${#left[@]} -gt 0 ]; then
  echo "sandgate build: purging left behind: ${left[*]}" >&2
  exit 1
fi
echo "sandgate build: dpkg -i, run and dpkg -P passed; nothing left behind"
