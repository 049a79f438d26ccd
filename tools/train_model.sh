#!/usr/bin/env bash
# Train one of the models we ship, from scratch or continuing the run kept in the repository.
#
#   tools/train_model.sh MODEL           # start (or resume if RUN/last.pt exists) in the background
#   tools/train_model.sh MODEL bake      # bake the kept checkpoint into tinylut/models/MODEL.tlut
#
# MODEL: tinylut-s-dn15 | tinylut-s-dn25 | tinylut-s-dn50    (TinyLUT-S gray denoisers, <= 22 KB)
#        tinylut-f-dn15 | tinylut-f-dn25 | tinylut-f-dn50    (TinyLUT-F gray denoisers, <= 187 KB)
#        tinylut-s-x4                                        (TinyLUT-S x4 SR, the default, <= 38 KB)
#        tinylut-f-x4                                        (TinyLUT-F x4 SR, <= 171 KB)
#
# The run folder (runs/MODEL, git-ignored) holds last.pt and train.log; every checkpoint is also
# copied to train_state/MODEL/last.pt, which is committed so a fresh machine resumes it: copy it
# to runs/MODEL/last.pt (done here when missing) and run this script again. On resume the
# schedule, data, seed, batch, sigma and table budget come from the checkpoint.
# Environment: THREADS (torch threads, default 1), STEPS (length of the cosine schedule; on
# resume only if set), RUN (run folder), KEEP (the kept checkpoint, for a second run of the same
# model, e.g. an experiment), INIT (start from this checkpoint's weights: the sigma-25 run for
# sigma 15/50, or a TinyLUT-S run to grow into TinyLUT-F; with bake: where the kept run started,
# when its checkpoint does not say), AFTER (train a later pass of a cascade: the frozen model
# file it refines, e.g. tinylut/models/tinylut-s-dn50.tlut; the model's table budget is then
# the whole cascade's), EXTRA (more trainer options), NOTE
# (bake: the run's history for the file's meta), VAL_EVERY (steps between validations; default
# 500 for TinyLUT-S, 2000 for TinyLUT-F, whose validation costs more), RESTART (on resume: a
# warm restart of that many steps, cosine 1.1e-4 -> the run's final rate; see --warm-restart).
set -euo pipefail
cd "$(dirname "$0")/.."
MODEL=${1:?usage: tools/train_model.sh MODEL [bake]}
SHARED=${TINYLUT_SHARED:-$(cd .. && pwd)/shared}
RUN=${RUN:-runs/$MODEL}
KEEP=${KEEP:-train_state/$MODEL/last.pt}
THREADS=${THREADS:-1}
TRAIN="$SHARED/data/train"

case "$MODEL" in
    tinylut-[sf]-dn*)
        ARCH=${MODEL%-dn*}; SIGMA=${MODEL##*-dn}
        [[ "$SIGMA" =~ ^[0-9]+$ ]] || { echo "bad noise level in $MODEL" >&2; exit 2; }
        DEFAULT_STEPS=$([[ $ARCH == tinylut-s ]] && echo 40000 || echo 30000)
        TASK=denoise
        NEW=(--arch "$ARCH" --task "$TASK" --sigma "$SIGMA"
             --data "$TRAIN/BSD400" "$TRAIN/BSD200" --val "$SHARED/data/denoise/Set12") ;;
    tinylut-[sf]-x4)
        ARCH=${MODEL%-x4}
        DEFAULT_STEPS=$([[ $ARCH == tinylut-s ]] && echo 60000 || echo 30000)
        TASK=sr
        NEW=(--arch "$ARCH" --task "$TASK" --scale 4
             --data "$TRAIN/T91" "$TRAIN/BSD200" "$TRAIN/BSD400" --val "$SHARED/data/sr/Set5") ;;
    *) echo "unknown model $MODEL (see the top of $0)" >&2; exit 2 ;;
esac
VAL_EVERY=${VAL_EVERY:-$([[ $ARCH == tinylut-s ]] && echo 500 || echo 2000)}

if [[ "${2:-}" == bake ]]; then
    exec python tools/train_bake.py "$KEEP" "tinylut/models/$MODEL.tlut" --name "$MODEL" --arch "$ARCH" \
        ${NOTE:+--note "$NOTE"} \
        ${INIT:+--init "$INIT"}
fi

mkdir -p "$RUN" "$(dirname "$KEEP")"
if [[ ! -f "$RUN/last.pt" && -f "$KEEP" ]]; then
    cp "$KEEP" "$RUN/last.pt"
fi
if [[ -f "$RUN/last.pt" ]]; then
    set -- --resume ${STEPS:+--steps "$STEPS"} ${RESTART:+--warm-restart "$RESTART"}
else
    if [[ -n "${AFTER:-}" ]]; then
        # the whole cascade gets the model's budget: the one tinylut/train/nets.py gives it
        BUDGET=$(PYTHONPATH=$PWD python -c "from tinylut.train.nets import ARCHS; \
print(ARCHS[('$ARCH', '$TASK')].table_budget)")
    fi
    set -- "${NEW[@]}" --steps "${STEPS:-$DEFAULT_STEPS}" --seed 0 ${INIT:+--init "$INIT"} \
        ${AFTER:+--after "$AFTER" --table-budget "$BUDGET"}
fi
PYTHONPATH=$PWD nohup python -m tinylut.train --out "$RUN" --threads "$THREADS" \
    --export "$KEEP" --no-progress --val-every "$VAL_EVERY" "$@" ${EXTRA:-} >> "$RUN.out" 2>&1 &
echo "training $MODEL in the background: pid $!, log $RUN/train.log"
