#!/usr/bin/env bash
# The test command (README, .ci/run): install what the tests need, type-check, lint, then run every suite
# (unit, parity on cpu/wasm/webgpu, infra policy tests).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
npm run typecheck
npm --prefix infra/pulumi run typecheck
npm run lint
npm test
