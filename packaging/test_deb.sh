#!/usr/bin/env bash
# Builds the .deb from BUILD_DIR (default build/) with cpack and installs it with dpkg into an
# empty test root with its own dpkg database (the host provides the dependencies, so dpkg is told
# not to look for them there). Before install-torch the installed CLI must fail to find LibTorch;
# after `install-torch --from` the build's environment it must run from the root alone: --version,
# methods (the ria plugin from the package's plugins folder), inspect of the packaged default
# model, and the GUI on it (offscreen, still running after 8 s). Removing the package must leave no file of it and the linked environment untouched.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
fail() { echo "[package] FAILED: $*" >&2; exit 1; }

(cd "$BUILD_DIR" && cpack -B "$WORK/pkg" >"$WORK/cpack.log") || { cat "$WORK/cpack.log"; fail "cpack"; }
deb=$(ls "$WORK"/pkg/prunestudio_*.deb)
dpkg-deb --field "$deb" Package Version Architecture Depends

R="$WORK/root"
mkdir -p "$R/var/lib/dpkg/info" "$R/var/lib/dpkg/updates"
touch "$R/var/lib/dpkg/status"
DPKG=(dpkg --root="$R" --log=/dev/null --force-not-root --force-script-chrootless)
"${DPKG[@]}" --force-depends -i "$deb" >"$WORK/dpkg.log" 2>&1 || { cat "$WORK/dpkg.log"; fail "dpkg -i"; }
grep -q "^Status: install ok installed" <<<"$("${DPKG[@]}" -s prunestudio)" || fail "dpkg does not list the package as installed"

CLI="$R/usr/bin/prunestudio-cli"
if err=$("$CLI" --version 2>&1); then fail "the CLI ran before install-torch"; fi
grep -q "libtorch" <<<"$err" || fail "without torch: $err"
"$R/usr/lib/prunestudio/install-torch" --check >/dev/null 2>&1 && fail "install-torch --check passed without an environment"
"$R/usr/lib/prunestudio/install-torch" --from "$ROOT/.venv"
"$R/usr/lib/prunestudio/install-torch" --check

for bin in "$CLI" "$R/usr/bin/prunestudio"; do
  [ -x "$bin" ] || continue
  libs=$(ldd "$bin")
  ! grep -q "not found" <<<"$libs" || fail "$bin: $(grep 'not found' <<<"$libs" | head -1)"
  grep -q "libtorch_cpu.so => $R/usr/bin/../lib/prunestudio/venv/" <<<"$libs" ||
    fail "$bin: LibTorch not taken from the package's environment: $(grep libtorch_cpu <<<"$libs")"
done
version=$("$CLI" --version)
grep -q "^prunestudio $(dpkg-deb --field "$deb" Version)$" <<<"$version" || fail "--version said: $version"
head -1 <<<"$version"
methods=$("$CLI" methods) || fail "methods"
grep -qF "[plugin $R/usr/lib/prunestudio/plugins/ria.so]" <<<"$methods" || fail "methods does not list the packaged ria plugin"
summary=$("$CLI" inspect "$R/usr/share/prunestudio/default-model") || fail "inspect of the packaged default model"
head -1 <<<"$summary"
if [ -x "$R/usr/bin/prunestudio" ]; then  # the GUI opens the packaged model and keeps running
  rc=0
  QT_QPA_PLATFORM=offscreen timeout 8 "$R/usr/bin/prunestudio" "$R/usr/share/prunestudio/default-model" \
    >"$WORK/gui.log" 2>&1 || rc=$?
  [ "$rc" -eq 124 ] || { cat "$WORK/gui.log"; fail "the GUI exited with status $rc"; }
fi
[ -f "$R/usr/share/applications/prunestudio.desktop" ] || fail "no desktop entry"
[ -f "$R/usr/share/icons/hicolor/scalable/apps/prunestudio.svg" ] || fail "no icon"

"${DPKG[@]}" -P prunestudio >/dev/null
left=$(find "$R" -path "$R/var" -prune -o ! -type d -print | head -5)
[ -z "$left" ] || fail "left after purge: $left"
[ -f "$ROOT/.venv/bin/python" ] || fail "purging removed the linked environment's files"
echo "[package] $(basename "$deb") ($(du -h "$deb" | cut -f1)): installed into a test root, ran, purged"
