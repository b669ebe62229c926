#!/bin/sh
# Train the shipped classifier (models/default.pt and models/default.onnx) from scratch on the
# CPU, as it was trained: a 5-fold, 40-epoch cross-validation over every labelled Chula field
# (whole overlap groups per fold) with the default recipe (smearscan.training.fit.DEFAULT_RECIPE),
# whose out-of-fold, end-to-end scores give the schistocyte operating point; then one model on
# all of Chula with the same recipe, written with that point. The fold models are kept for the
# analyses on the fields each never saw (scripts/image_quality.py, evaluate_segmentation.py
# --fold-models), and give the shipped model its whole-field rates: the sensitivity and false
# calls over every counted red cell of the Chula fields labelled >= 85%, and the NRBC false calls
# over every red and white cell, each field read by the fold model that never saw it
# (scripts/whole_field_point.py; the slide correction and the NRBC finding use them). Then
# evaluate the model on the test and val splits (metrics.json + plots per split) and read
# synthetic slides built from the whole-field scores of those Chula fields.
# ~60 min on 2 cores (crop extraction ~1-3 min more on the first run, cached in
# ~/.cache/smearscan); see models/README.md, "Cross-validation".
# Usage: scripts/train_default.sh [SHARED [EVALUATION_DIR]]
#   SHARED holds datasets/ (default ../shared); EVALUATION_DIR default ../smearscan-evaluation.
set -eu
cd "$(dirname "$0")/.."
# The shipped model's version (smearscan.training.train.MODEL_VERSION), and that of the final
# model of the cross-validation whose weights it carries with the whole-field rates. Any other
# training is given its own (local-YYYYMMDD-HHMMSS by default).
VERSION=cnn-2026.12-5
WEIGHTS=cnn-2026.12-4
SHARED="${1:-../shared}"
EVALUATION="${2:-../smearscan-evaluation}"
mkdir -p "$EVALUATION"
OMP_NUM_THREADS=1 python scripts/cross_validate.py --shared "$SHARED" --folds 5 --epochs 40 \
    --workers 2 --out "$EVALUATION/cross_validation" --final models/default.pt \
    --save-folds "$EVALUATION/cross_validation/folds" --version "$WEIGHTS"
python scripts/whole_field_point.py --shared "$SHARED" \
    --fold-models "$EVALUATION"/cross_validation/folds/fold-*.onnx \
    --out "$EVALUATION/whole_fields" --write models/default.pt --version "$VERSION"
for split in test val; do
    smearscan evaluate --shared "$SHARED" --model models/default.pt --split "$split" \
        --out "$EVALUATION/$split"
done
python scripts/synthetic_slides.py --shared "$SHARED" \
    --oof "$EVALUATION/whole_fields/exhaustive.npz" --slides-per-fold 2 \
    --threshold "$(python -c 'import json, sys; print(json.load(open(sys.argv[1]))["threshold"])' \
        "$EVALUATION/whole_fields/operating_point.json")" \
    --out "$EVALUATION/synthetic_slides"
