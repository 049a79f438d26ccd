#!/usr/bin/env bash
# Run tinylut's test suite against an aarch64 wheel, emulated on this x86_64 machine:
#   qemu-aarch64-static -L SYSROOT SYSROOT/usr/bin/python3.11 -m pytest tests/   (QEMU_CPU=cortex-a72,
#   the Raspberry Pi 4 core).  The wheel and aarch64 builds of its test dependencies (numpy, pytest,
#   Pillow, ...) are pip-installed with --platform/--target into a private dir; tests needing torch
#   skip (there is no torch in that env).  Then asserts tinylut.info()['isa'] == $TINYLUT_EXPECT_ISA.
#
# usage: tools/test_aarch64.sh WHEEL [extra pytest args...]
# env:   TINYLUT_EXPECT_ISA   expected tinylut.info()['isa'] (default: neon; empty or 'any': don't check)
#        TINYLUT_SHARED       the shared data dir (default: ../shared beside the repo)
#        TINYLUT_AARCH64_TEST_DEPS  pip requirements for the test env
#                             (default: numpy pytest pillow + the 'test' extra of pyproject.toml, minus torch)
#        TINYLUT_CROSS        cache dir (sysroot, test dependencies), as for build_wheels.sh
# shellcheck source=cross/common.sh
source "$(dirname "$0")/cross/common.sh"

[ $# -ge 1 ] || die "usage: $0 WHEEL [pytest args...]"
WHEEL=$(realpath "$1"); shift
[ -f "$WHEEL" ] || die "no such wheel: $WHEEL"
case $(basename "$WHEEL") in *-cp311-*aarch64*.whl) ;; *) die "not a cp311 aarch64 wheel: $WHEEL";; esac
EXPECT_ISA=${TINYLUT_EXPECT_ISA-neon}
SHARED=${TINYLUT_SHARED:-$REPO/../shared}
[ -d "$SHARED" ] || die "shared data dir not found: $SHARED (set TINYLUT_SHARED)"
SHARED=$(realpath "$SHARED")

timed sysroot bash "$REPO/tools/cross/make_sysroot.sh"   # also installs qemu-user-static
check_host_python

# pip flags for aarch64 binaries that run on the sysroot's glibc (2.36, like Raspberry Pi OS 12)
PLAT=(--only-binary=:all: --implementation cp --python-version "$PYVER")
for v in $(seq 36 -1 17); do PLAT+=(--platform "manylinux_2_${v}_aarch64"); done
PLAT+=(--platform manylinux2014_aarch64)

deps=${TINYLUT_AARCH64_TEST_DEPS:-$("$HOST_PY" - "$REPO/pyproject.toml" <<'PY'
import re, sys, tomllib
try:
    with open(sys.argv[1], "rb") as f:
        extra = tomllib.load(f).get("project", {}).get("optional-dependencies", {}).get("test", [])
except FileNotFoundError:
    extra = []
name = lambda r: re.split(r"[ <>=!~;\[]", r, 1)[0].lower()
reqs = {"numpy": "numpy", "pytest": "pytest", "pillow": "pillow"}
for r in extra:
    if name(r) not in ("torch", "torchvision"):
        reqs[name(r)] = r
print(" ".join(sorted(reqs.values())))
PY
)}
deps_key=$(printf '%s' "$deps" | sha1sum | cut -c1-12)
DEPS=$CROSS/testdeps-$deps_key
install_deps() {
    rm -rf "$DEPS.tmp"
    # shellcheck disable=SC2086
    "$HOST_PY" -m pip install -q "${PLAT[@]}" --target "$DEPS.tmp" $deps > "$CROSS/testdeps.log" 2>&1 \
        || { cat "$CROSS/testdeps.log" >&2; die "could not get aarch64 test dependencies: $deps"; }
    mv "$DEPS.tmp" "$DEPS"
}
if [ ! -d "$DEPS" ]; then timed test-deps install_deps; fi
log "aarch64 test deps ($deps): $(cd "$DEPS" && printf '%s ' *.dist-info)"

RUN=$(mktemp -d "${TMPDIR:-/tmp}/tinylut-aarch64-test.XXXXXX")
trap 'rm -rf "$RUN"' EXIT
"$HOST_PY" -m pip install -q --no-deps "${PLAT[@]}" --target "$RUN/site" "$WHEEL" > "$RUN/pip.log" 2>&1 \
    || { cat "$RUN/pip.log" >&2; die "could not install $WHEEL"; }
# The tests run from a copy, so that the source tree's tinylut/ can never shadow the wheel.
cp -r "$REPO/tests" "$RUN/tests"
for f in pyproject.toml pytest.ini setup.cfg tox.ini conftest.py; do
    [ -f "$REPO/$f" ] && cp "$REPO/$f" "$RUN/"
done

# Emulated python: only the wheel, the test deps and the sysroot's stdlib are visible.
# Bytecode writing stays on (the host sets PYTHONDONTWRITEBYTECODE): the first emulated start
# caches .pyc files in the sysroot and the deps dir, later starts are ~2x faster.
# OPENBLAS_CORETYPE/L2_SIZE may name an x86 core on the host: meaningless for arm64 OpenBLAS.
qpy() {
    (cd "$RUN" && env -u PYTHONHOME -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE -u PYTHONDONTWRITEBYTECODE \
        PYTHONPATH="$RUN/site:$DEPS" PYTHONNOUSERSITE=1 \
        QEMU_CPU=cortex-a72 TINYLUT_SHARED="$SHARED" \
        qemu-aarch64-static -L "$SYSROOT" "$SYSROOT/usr/bin/python$PYVER" -s "$@")
}

log "import check under qemu (QEMU_CPU=cortex-a72)"
qpy - "$RUN/site" <<'PY'
import platform, sys
import numpy, tinylut
site = sys.argv[1]
assert platform.machine() == "aarch64", platform.machine()
assert tinylut.__file__.startswith(site), f"tinylut imported from {tinylut.__file__}, not the wheel"
info = tinylut.info() if hasattr(tinylut, "info") else None
print(f"python {sys.version.split()[0]} on {platform.machine()}, numpy {numpy.__version__}, "
      f"tinylut from {tinylut.__file__}, info() = {info}")
PY

t0=$SECONDS
set +e
qpy -m pytest -p no:cacheprovider -ra tests "$@"
rc=$?
set -e
log "TIME pytest-under-qemu: $((SECONDS - t0)) s (exit $rc)"
[ $rc -eq 0 ] || die "aarch64 test suite failed (pytest exit $rc)"

if [ -n "$EXPECT_ISA" ] && [ "$EXPECT_ISA" != any ]; then
    qpy -c "import tinylut; isa = tinylut.info()['isa']; assert isa == '$EXPECT_ISA', f'isa is {isa!r}, expected {\"$EXPECT_ISA\"!r}'; print('tinylut isa:', isa)" \
        || die "ISA check failed (TINYLUT_EXPECT_ISA=$EXPECT_ISA)"
else
    log "ISA check skipped (TINYLUT_EXPECT_ISA='$EXPECT_ISA')"
fi
log "aarch64 tests passed: $(basename "$WHEEL")"
