#!/usr/bin/env bash
# Train the shipped TinyLUT-S x4 from scratch, or continue the run kept in the repository.
#
#   tools/train_tinylut_s_x4.sh            # start (or resume if RUN/last.pt exists) in the background
#   tools/train_tinylut_s_x4.sh bake       # bake the kept checkpoint into the package default
#
# The run folder (runs/, git-ignored) holds last.pt and train.log; every checkpoint is also
# copied to train_state/tinylut-s-x4/last.pt, which is committed so a fresh machine resumes it:
# copy it to $RUN/last.pt and run this script again. The schedule (cosine 5e-3 -> 5e-4 over
# 60k steps), data, seed and batch come from the checkpoint on resume. Environment: THREADS,
# STEPS (reschedules on resume), EXTRA (more trainer options, e.g. "--lr 2e-3" for a warm restart),
# NOTE (bake: the run's history for the file's meta).
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED=${TINYLUT_SHARED:-$(cd .. && pwd)/shared}
RUN=${RUN:-runs/tinylut-s-x4}
KEEP=train_state/tinylut-s-x4/last.pt
THREADS=${THREADS:-1}

if [[ "${1:-}" == bake ]]; then
    exec python tools/train_bake.py "$KEEP" tinylut/models/tinylut-s-x4.tlut ${NOTE:+--note "$NOTE"}
fi

mkdir -p "$RUN"
if [[ ! -f "$RUN/last.pt" && -f "$KEEP" ]]; then
    cp "$KEEP" "$RUN/last.pt"
fi
if [[ -f "$RUN/last.pt" ]]; then
    set -- --resume
else
    set -- --arch tinylut-s --task sr --scale 4 --steps 60000 --seed 0 \
        --data "$SHARED/data/train/T91" "$SHARED/data/train/BSD200" "$SHARED/data/train/BSD400"
fi
PYTHONPATH=$PWD nohup python -m tinylut.train --out "$RUN" --threads "$THREADS" ${STEPS:+--steps "$STEPS"} \
    --export "$KEEP" --no-progress "$@" ${EXTRA:-} >> "$RUN.out" 2>&1 &
echo "training in the background: pid $!, log $RUN/train.log"
