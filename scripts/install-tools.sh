#!/usr/bin/env bash
# Go-built servers the pipeline and its tests run for real (offline: only the Go module proxy is needed):
#   - temporal (Temporal CLI v1.5.1: the dev server with SQLite persistence, Web UI and Schedules),
#   - fake-gcs-server v1.55.1 (a GCS-compatible server for the GCS adapter's tests).
# Binaries go to .tools/bin and the Go caches to .tools/go, so a second run builds nothing (a cold build takes
# minutes on 2 cores). v1.5.1 is the newest Temporal CLI tag `go install` accepts (shared/docs/platform.md 5).
#
# Usage: scripts/install-tools.sh [temporal|fake-gcs-server ...]   (default: both; idempotent)
set -euo pipefail
cd "$(dirname "$0")/.."

readonly TOOLS_DIR="${HOPTM_TOOLS_DIR:-$PWD/.tools}"
declare -A MODULES=(
  [temporal]='github.com/temporalio/cli/cmd/temporal@v1.5.1'
  [fake-gcs-server]='github.com/fsouza/fake-gcs-server@v1.55.1'
)

log() { printf 'install-tools: %s\n' "$*" >&2; }

build() {
  local name=$1 module=${MODULES[$1]:-}
  [[ -n "$module" ]] || { log "error: unknown tool '$name' (known: ${!MODULES[*]})"; exit 1; }
  local bin="$TOOLS_DIR/bin/$name" stamp="$TOOLS_DIR/bin/.$name.version"
  if [[ -x "$bin" && -f "$stamp" && "$(cat "$stamp")" == "$module" ]]; then
    log "$name: up to date ($module)"
    return
  fi
  command -v go > /dev/null || { log "error: go not found; install Go >= 1.24 to build $module"; exit 1; }
  log "$name: go install $module (a cold build takes minutes)"
  mkdir -p "$TOOLS_DIR/bin"
  CGO_ENABLED=0 GOBIN="$TOOLS_DIR/bin" GOMODCACHE="$TOOLS_DIR/go/mod" GOCACHE="$TOOLS_DIR/go/cache" \
    GOFLAGS=-buildvcs=false go install "$module"
  printf '%s' "$module" > "$stamp"
}

if [[ $# -eq 0 ]]; then set -- temporal fake-gcs-server; fi
for tool in "$@"; do build "$tool"; done
