#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Builds the .deb packages (logitscope-cli, logitscope) and installs them on a clean Debian 12:
#   - as root with debootstrap: a minimal Debian 12 (debootstrap --variant=minbase bookworm) kept in
#     BUILD/debian12-root as a pristine copy; every run installs into a fresh copy of it with apt
#     (which resolves the Depends from the Debian archive), inside chroot;
#   - otherwise: dpkg -x into a folder, then `ldd` must resolve every library on this machine.
# Then runs `logitscope-cli --version`, a short generation on the installed demo model,
# `logitscope --help` and the window offscreen for a few seconds (it must still be running).
#   packaging/test-deb.sh [BUILD_DIR]          default: build-pkg next to the sources
# Environment: LOGITSCOPE_DEBIAN_MIRROR (default http://deb.debian.org/debian),
#   LOGITSCOPE_DEB_TEST=chroot|extract (force a mode), LOGITSCOPE_JOBS (build jobs, default 2),
#   LOGITSCOPE_DEB_NO_BUILD=1 (package what BUILD_DIR holds, without building),
#   LOGITSCOPE_DEB_COMPONENTS=cli (package and test logitscope-cli only, e.g. while the GUI is broken).
# CTest: `ctest -L packaging` (slow; needs network for debootstrap/apt the first time).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=$(realpath -m "${1:-$root/build-pkg}")
mirror=${LOGITSCOPE_DEBIAN_MIRROR:-http://deb.debian.org/debian}
say() { echo "test-deb: $*"; }
die() { echo "test-deb: FAIL: $*" >&2; exit 1; }

for tool in cmake cpack dpkg-deb dpkg-shlibdeps file; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool is missing (scripts/install-deps.sh installs dpkg-dev and file)"
done

# ---- build and package ----
if [[ ! -f "$build/CMakeCache.txt" ]]; then
  say "configuring $build"
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX=/usr \
        -DLOGITSCOPE_CUDA=OFF >"$build.configure.log" 2>&1 || die "configure failed, see $build.configure.log"
fi
gui=$(sed -n 's/^LOGITSCOPE_GUI:BOOL=//p' "$build/CMakeCache.txt")
components=${LOGITSCOPE_DEB_COMPONENTS:-}
[[ -n "$components" ]] || { components=cli; [[ "$gui" == ON ]] && components="cli;gui"; }
targets=(logitscope-cli)
[[ "$components" == *gui* ]] && targets+=(logitscope)
if [[ "${LOGITSCOPE_DEB_NO_BUILD:-0}" == 1 ]]; then
  for t in "${targets[@]}"; do
    [[ -x $(find "$build/app" -name "$t" -type f -print -quit) ]] || die "LOGITSCOPE_DEB_NO_BUILD=1 but $t is not built in $build"
  done
else
  say "building ${targets[*]} in $build"
  cmake --build "$build" --target "${targets[@]}" -j "${LOGITSCOPE_JOBS:-2}" >"$build/test-deb-build.log" 2>&1 ||
    die "build failed, see $build/test-deb-build.log"
fi
debdir="$build/deb"
rm -rf "$debdir"
say "running cpack"
(cd "$build" && cpack --config "$build/CPackConfig.cmake" -G DEB -B "$debdir" -D CPACK_COMPONENTS_ALL="$components") >"$build/test-deb-cpack.log" 2>&1 ||
  die "cpack failed, see $build/test-deb-cpack.log"
mapfile -t debs < <(ls "$debdir"/*.deb)
[[ ${#debs[@]} -ge 1 ]] || die "cpack made no .deb (see $build/test-deb-cpack.log)"

# ---- static checks of the archives ----
check_contains() {  # deb path-pattern...
  local deb=$1; shift
  local listing; listing=$(dpkg-deb -c "$deb")
  for pattern in "$@"; do
    grep -q -- "$pattern" <<<"$listing" || die "$(basename "$deb") lacks $pattern"
  done
}
for deb in "${debs[@]}"; do
  say "$(basename "$deb"):"
  dpkg-deb -f "$deb" Package Version Architecture Depends Recommends | sed 's/^/    /'
  case $(dpkg-deb -f "$deb" Package) in
    logitscope-cli) check_contains "$deb" ./usr/bin/logitscope-cli ./usr/share/man/man1/logitscope-cli.1.gz \
                      ./usr/share/logitscope/demo-model/config.json ./usr/share/logitscope/demo-model/model.safetensors \
                      ./usr/share/logitscope/demo-model/tokenizer.json ./usr/share/doc/logitscope-cli/copyright ;;
    logitscope) check_contains "$deb" ./usr/bin/logitscope ./usr/share/applications/io.github.logitscope.Logitscope.desktop \
                  ./usr/share/metainfo/io.github.logitscope.Logitscope.metainfo.xml \
                  ./usr/share/icons/hicolor/scalable/apps/logitscope.svg ./usr/share/icons/hicolor/48x48/apps/logitscope.png \
                  ./usr/share/man/man1/logitscope.1.gz ./usr/share/doc/logitscope/copyright
                dpkg-deb -f "$deb" Depends | grep -q 'logitscope-cli (= ' || die "logitscope does not depend on logitscope-cli" ;;
  esac
  [[ -n $(dpkg-deb -f "$deb" Depends) ]] || die "$(basename "$deb") has no Depends (dpkg-shlibdeps did not run?)"
done

# The commands run on the installed system ($1 = prefix to run them under, e.g. chroot DIR).
smoke_commands='set -e
logitscope-cli --version
logitscope-cli generate --model /usr/share/logitscope/demo-model --ids 1,2,3 --max-new 4 --jsonl >/tmp/gen.jsonl
test "$(wc -l </tmp/gen.jsonl)" -ge 1
echo "generate: $(wc -l </tmp/gen.jsonl) tokens"
if command -v logitscope >/dev/null; then
  QT_QPA_PLATFORM=offscreen logitscope --help >/tmp/help.txt
  grep -q -- --model /tmp/help.txt
  echo "logitscope --help: ok"
  # No --model: the window must find /usr/share/logitscope/demo-model and keep running.
  set +e
  QT_QPA_PLATFORM=offscreen timeout 12 logitscope >/tmp/window.log 2>&1
  rc=$?
  set -e
  cat /tmp/window.log
  if [ "$rc" -ne 124 ]; then echo "window exited early with $rc"; exit 1; fi
  if grep -qi "no demo model" /tmp/window.log; then echo "window did not find the demo model"; exit 1; fi
  echo "window ran offscreen for 12 s: ok"
fi'

mode=${LOGITSCOPE_DEB_TEST:-}
if [[ -z "$mode" ]]; then
  if [[ $(id -u) -eq 0 ]] && command -v debootstrap >/dev/null 2>&1 && command -v chroot >/dev/null 2>&1; then
    mode=chroot
  else
    mode=extract
  fi
fi

if [[ "$mode" == chroot ]]; then
  base="$build/debian12-root"
  if [[ ! -x "$base/usr/bin/apt-get" ]]; then
    say "debootstrap minbase bookworm into $base (once; kept for later runs)"
    rm -rf "$base"
    debootstrap --variant=minbase bookworm "$base" "$mirror" >"$build/debootstrap.log" 2>&1 ||
      die "debootstrap failed (network? mirror $mirror), see $build/debootstrap.log"
  fi
  target="$build/deb-test-root"
  mounted=()
  cleanup() {
    local i
    for ((i=${#mounted[@]}-1; i>=0; i--)); do umount "${mounted[$i]}" 2>/dev/null || umount -l "${mounted[$i]}" || true; done
  }
  trap cleanup EXIT
  rm -rf "$target"
  cp -a "$base" "$target"
  for fs in proc dev; do
    mkdir -p "$target/$fs"
    if [[ $fs == proc ]]; then mount -t proc proc "$target/proc"; else mount --bind /dev "$target/dev"; fi
    mounted+=("$target/$fs")
  done
  cp /etc/resolv.conf "$target/etc/resolv.conf" 2>/dev/null || true
  mkdir -p "$target/var/cache/logitscope-debs"
  cp "${debs[@]}" "$target/var/cache/logitscope-debs/"
  say "installing the packages into a fresh minimal Debian 12 (apt-get, chroot $target)"
  chroot "$target" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive \
    sh -c 'apt-get update -qq && apt-get install -y -qq --no-install-recommends /var/cache/logitscope-debs/*.deb' \
    >"$build/test-deb-apt.log" 2>&1 || die "apt-get install of the .deb failed, see $build/test-deb-apt.log"
  chroot "$target" dpkg -l 'logitscope*' | tail -n +6
  say "running the installed programs"
  chroot "$target" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root sh -c "$smoke_commands" ||
    die "the installed programs failed (chroot $target)"
else
  target="$build/deb-extract"
  rm -rf "$target"
  mkdir -p "$target"
  for deb in "${debs[@]}"; do dpkg -x "$deb" "$target"; done
  for bin in "$target"/usr/bin/*; do
    if ldd "$bin" | grep -q 'not found'; then ldd "$bin" | grep 'not found' >&2; die "$(basename "$bin"): libraries not found"; fi
  done
  say "ldd: every library resolves"
  # The demo model path the binaries use is relative to the executable (../share/logitscope).
  smoke=${smoke_commands//\/usr\/share/$target/usr/share}
  PATH="$target/usr/bin:$PATH" sh -c "$smoke" || die "the extracted programs failed"
fi
say "PASS (${mode}): $(printf '%s ' "${debs[@]##*/}")"
