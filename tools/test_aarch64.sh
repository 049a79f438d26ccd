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
#        TINYLUT_AARCH64_TEST_DEPS  pip requirements for the test env (default: the wheel's
#                             Requires-Dist + the 'test' extra of pyproject.toml + pytest, minus torch)
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

deps=${TINYLUT_AARCH64_TEST_DEPS:-$("$HOST_PY" - "$WHEEL" "$REPO/pyproject.toml" <<'PY'
# the wheel's own run-time requirements + the project's 'test' extra + pytest, minus torch
import re, sys, tomllib, zipfile
from email.parser import Parser
whl, pyproject = sys.argv[1:]
with zipfile.ZipFile(whl) as z:
    meta = next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))
    reqs = [r for r in Parser().parsestr(z.read(meta).decode()).get_all("Requires-Dist") or []
            if "extra ==" not in r.replace('"', "").replace("'", "")]
try:
    with open(pyproject, "rb") as f:
        reqs += tomllib.load(f).get("project", {}).get("optional-dependencies", {}).get("test", [])
except FileNotFoundError:
    pass
name = lambda r: re.split(r"[ <>=!~;\[(]", r.strip(), maxsplit=1)[0].lower()
out = {"pytest": "pytest", "numpy": "numpy"}
for r in reqs:
    if name(r) not in ("torch", "torchvision"):
        out[name(r)] = r.split(";")[0].strip()
print(" ".join(sorted(out.values())))
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
# tools/ comes too: some tests check the tools (they import tinylut from the wheel).
cp -r "$REPO/tests" "$RUN/tests"
cp -r "$REPO/tools" "$RUN/tools"
for f in pyproject.toml pytest.ini setup.cfg tox.ini conftest.py; do
    [ -f "$REPO/$f" ] && cp "$REPO/$f" "$RUN/"
done

# The emulated interpreter is this host shell script: it appends the env's "site-packages" (the
# wheel, the test deps) to PYTHONPATH, so they stay importable when a test sets PYTHONPATH for a
# child process, as a real site-packages would.  Tests that start `sys.executable`: with no
# binfmt_misc handler for aarch64 on the host, exec of the arm64 interpreter fails (ENOEXEC), so
# sys.executable is pointed at this script by a sitecustomize that only this run sees.
mkdir -p "$RUN/bin" "$RUN/hook"
cat > "$RUN/bin/python$PYVER" <<SH
#!/bin/sh
PYTHONPATH="\${PYTHONPATH:+\$PYTHONPATH:}$RUN/hook:$RUN/site:$DEPS"
export PYTHONPATH
exec qemu-aarch64-static -L "$SYSROOT" "$SYSROOT/usr/bin/python$PYVER" -s "\$@"
SH
chmod +x "$RUN/bin/python$PYVER"
cat > "$RUN/hook/sitecustomize.py" <<'PY'
import os, sys
if os.environ.get("TINYLUT_QEMU_PYTHON"):
    sys.executable = sys._base_executable = os.environ["TINYLUT_QEMU_PYTHON"]
PY

# Emulated python: only the wheel, the test deps and the sysroot's stdlib are visible.
# Bytecode writing stays on (the host sets PYTHONDONTWRITEBYTECODE): the first emulated start
# caches .pyc files in the sysroot and the deps dir, later starts are ~2x faster.
# OPENBLAS_CORETYPE/L2_SIZE may name an x86 core on the host: meaningless for arm64 OpenBLAS.
qpy() {
    (cd "$RUN" && env -u PYTHONHOME -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE -u PYTHONDONTWRITEBYTECODE \
        -u PYTHONPATH PYTHONNOUSERSITE=1 TINYLUT_QEMU_PYTHON="$RUN/bin/python$PYVER" \
        QEMU_CPU=cortex-a72 TINYLUT_SHARED="$SHARED" \
        "$RUN/bin/python$PYVER" "$@")
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
