#!/usr/bin/env bash
# The main job on embedded defaults: install the npm packages, then distil real MNIST digits to one image
# per class with HoP-TM (experts -> distillation -> evaluation beside a random real subset), on the best
# backend available, storing everything under runs/. Extra arguments go to `hoptm run`.
set -euo pipefail
cd "$(dirname "$0")/.."
HOPTM_SETUP_INFRA=0 scripts/setup.sh
exec npx tsx cli/index.ts run --preset mnist-ipc1 "$@"
