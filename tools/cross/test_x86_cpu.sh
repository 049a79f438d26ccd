#!/usr/bin/env bash
# Run the test suite against the x86_64 wheel on an *emulated* older x86 CPU, to prove that the
# baseline x86-64 wheel never executes an instruction the CPU lacks (SIMD only behind run-time
# dispatch):  qemu-x86_64-static with QEMU_CPU=Nehalem (SSE4.2, no AVX; numpy >= 2.4 itself needs
# x86-64-v2, so no older model can run numpy).  Haswell (AVX2) also works under qemu 7.2.
#
# usage: tools/cross/test_x86_cpu.sh WHEEL [extra pytest args...]
# env:   TINYLUT_X86_CPU     qemu CPU model (default Nehalem)
#        TINYLUT_EXPECT_ISA  expected tinylut.info()['isa'] on that CPU (default: not checked)
#        TINYLUT_SHARED      the shared data dir (default: ../shared beside the repo)
# Child processes the tests start with sys.executable run natively (not emulated).
# shellcheck source=common.sh
source "$(dirname "$0")/common.sh"

[ $# -ge 1 ] || die "usage: $0 WHEEL [pytest args...]"
WHEEL=$(realpath "$1"); shift
case $(basename "$WHEEL") in *-cp311-*x86_64*.whl) ;; *) die "not a cp311 x86_64 wheel: $WHEEL";; esac
CPU=${TINYLUT_X86_CPU:-Nehalem}
EXPECT_ISA=${TINYLUT_EXPECT_ISA-}
SHARED=$(realpath "${TINYLUT_SHARED:-$REPO/../shared}")
check_host_python
apt_ensure qemu-user-static

RUN=$(mktemp -d "${TMPDIR:-/tmp}/tinylut-x86-test.XXXXXX")
trap 'rm -rf "$RUN"' EXIT
"$HOST_PY" -m venv "$RUN/venv"
extras=$("$HOST_PY" -c 'import sys, tomllib; print(" ".join(r for r in tomllib.load(open(sys.argv[1], "rb")).get("project", {}).get("optional-dependencies", {}).get("test", []) if not r.startswith("torch")))' "$REPO/pyproject.toml" 2>/dev/null || true)
# shellcheck disable=SC2086
timed venv "$RUN/venv/bin/python" -m pip install -q "$WHEEL" pytest $extras > "$RUN/pip.log" 2>&1 \
    || { cat "$RUN/pip.log" >&2; die "pip install failed"; }
cp -r "$REPO/tests" "$RUN/tests"
for f in pyproject.toml pytest.ini setup.cfg tox.ini conftest.py; do
    if [ -f "$REPO/$f" ]; then cp "$REPO/$f" "$RUN/"; fi
done

qpy() {
    (cd "$RUN" && env -u PYTHONPATH -u PYTHONDONTWRITEBYTECODE QEMU_CPU="$CPU" TINYLUT_SHARED="$SHARED" \
        qemu-x86_64-static "$RUN/venv/bin/python" "$@")
}
qpy -c 'import numpy, tinylut; print("qemu cpu '"$CPU"': numpy", numpy.__version__, "tinylut", tinylut.__file__, tinylut.info())'
t0=$SECONDS
set +e
qpy -m pytest -p no:cacheprovider -ra tests "$@"
rc=$?
set -e
log "TIME pytest-under-qemu-x86_64-$CPU: $((SECONDS - t0)) s (exit $rc)"
[ $rc -eq 0 ] || die "test suite failed on emulated $CPU (pytest exit $rc)"
if [ -n "$EXPECT_ISA" ]; then
    qpy -c "import tinylut; isa = tinylut.info()['isa']; assert isa == '$EXPECT_ISA', isa; print('tinylut isa on $CPU:', isa)" \
        || die "ISA check failed on $CPU (TINYLUT_EXPECT_ISA=$EXPECT_ISA)"
fi
log "x86_64 wheel passed on emulated $CPU: $(basename "$WHEEL")"
