#!/bin/sh
# Train the shipped classifier weights (models/default.pt) from scratch on the CPU, then
# evaluate them on the held-out test split and on val (metrics.json + plots per split).
# ~15-20 min on 2 cores (crop extraction ~3 min on the first run, cached in ~/.cache/smearscan).
# Usage: scripts/train_default.sh [SHARED [EVALUATION_DIR]]
#   SHARED holds datasets/ (default ../shared); EVALUATION_DIR default ../smearscan-evaluation.
set -eu
cd "$(dirname "$0")/.."
SHARED="${1:-../shared}"
EVALUATION="${2:-../smearscan-evaluation}"
smearscan train --shared "$SHARED" --out models/default.pt --seed 0 --epochs 40
for split in test val; do
    smearscan evaluate --shared "$SHARED" --model models/default.pt --split "$split" \
        --out "$EVALUATION/$split"
done
