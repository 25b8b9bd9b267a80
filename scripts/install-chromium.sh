#!/usr/bin/env bash
# Debian's chromium, for the run-report page test (tests/report/), driven by playwright-core with
# executablePath /usr/bin/chromium (shared/docs/platform.md section 9). Never `npx playwright install`: that is a
# browser download from outside the package registries.
#
# Usage (as root, on Debian 12; only the Debian registry needs to be reachable):
#   scripts/install-chromium.sh           install if needed (idempotent; returns at once when done)
#   scripts/install-chromium.sh --check   exit 0 when installed, 1 otherwise; changes nothing
set -euo pipefail

readonly BROWSER=/usr/bin/chromium

log() { printf 'install-chromium: %s\n' "$*" >&2; }

is_installed() {
  [[ -x "$BROWSER" ]] && dpkg-query -W -f='${db:Status-Status}' chromium 2> /dev/null | grep -qx installed
}

case "${1:-}" in
  --check)
    if is_installed; then
      log "chromium $(dpkg-query -W -f='${Version}' chromium) at $BROWSER"
      exit 0
    fi
    log "chromium is not installed (run scripts/install-chromium.sh as root)"
    exit 1
    ;;
  '') ;;
  *)
    log "unknown argument '$1' (expected --check or nothing)"
    exit 2
    ;;
esac

if is_installed; then
  log "chromium $(dpkg-query -W -f='${Version}' chromium) already installed"
  exit 0
fi
if [[ "$(id -u)" -ne 0 ]]; then
  log "error: installing chromium needs root (apt-get)"
  exit 1
fi
log "apt-get install chromium"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium > /dev/null
is_installed || { log "error: chromium still missing at $BROWSER after apt-get"; exit 1; }
log "chromium $(dpkg-query -W -f='${Version}' chromium) installed"
