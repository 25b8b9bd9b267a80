#!/usr/bin/env bash
# System packages for the tfjs `webgpu` backend in Node (Dawn through the npm package `webgpu`).
#
# Dawn loads libvulkan.so.1 at run time and needs a Vulkan driver (an ICD):
#   - CPU-only machines: Mesa's lavapipe. Debian bookworm's Mesa 22 is too old for Dawn
#     ("shaderUniform*ArrayDynamicIndexing required"); Mesa 25 from bookworm-backports works.
#   - NVIDIA machines: the NVIDIA Vulkan ICD comes with the driver (in containers the runtime must expose
#     it: NVIDIA_DRIVER_CAPABILITIES must include `graphics`). lavapipe installed beside it does no harm:
#     shared/engine/backends picks a hardware adapter first.
# See docs/backends.md and shared/docs/platform.md section 2.
#
# Usage (as root, on Debian 12 bookworm; only the Debian registry needs to be reachable):
#   scripts/install-system.sh           install if needed (idempotent; returns in well under a second when done)
#   scripts/install-system.sh --check   exit 0 when installed, 1 otherwise; changes nothing
set -euo pipefail

readonly MIN_MESA_MAJOR=25
readonly BACKPORTS_LIST=/etc/apt/sources.list.d/hoptm-bookworm-backports.list
readonly BACKPORTS_LINE='deb http://deb.debian.org/debian bookworm-backports main'
readonly PACKAGES=(mesa-vulkan-drivers libvulkan1)

log() { printf 'install-system: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

installed_version() {
  dpkg-query -W -f='${db:Status-Status} ${Version}' "$1" 2>/dev/null | awk '$1 == "installed" { print $2 }'
}

# True when libvulkan1 is installed and mesa-vulkan-drivers is Mesa >= MIN_MESA_MAJOR with its lavapipe ICD.
is_installed() {
  local mesa
  mesa="$(installed_version mesa-vulkan-drivers)"
  [[ -n "$mesa" && -n "$(installed_version libvulkan1)" ]] || return 1
  [[ "${mesa%%.*}" =~ ^[0-9]+$ ]] && (( ${mesa%%.*} >= MIN_MESA_MAJOR )) || return 1
  compgen -G '/usr/share/vulkan/icd.d/lvp_icd*.json' > /dev/null
}

report() {
  log "mesa-vulkan-drivers $(installed_version mesa-vulkan-drivers), libvulkan1 $(installed_version libvulkan1)"
}

main() {
  if [[ "${1:-}" == "--check" ]]; then
    if is_installed; then report; exit 0; fi
    log "not installed (need libvulkan1 and mesa-vulkan-drivers >= ${MIN_MESA_MAJOR} from bookworm-backports)"
    exit 1
  fi
  [[ $# -eq 0 ]] || die "unknown argument '$1' (usage: $0 [--check])"

  if is_installed; then
    log "already installed"; report; exit 0
  fi

  [[ "$(id -u)" -eq 0 ]] || die "must run as root (apt-get install)"
  command -v apt-get > /dev/null || die "apt-get not found: this script targets Debian 12 (bookworm)"
  local codename
  codename="$(. /etc/os-release && printf '%s' "${VERSION_CODENAME:-}")"
  [[ "$codename" == bookworm ]] || die "expected Debian bookworm, found '${codename:-unknown}': install libvulkan1 and a Vulkan driver (Mesa >= ${MIN_MESA_MAJOR} lavapipe, or the GPU vendor's ICD) by hand"

  # Add bookworm-backports unless some source already provides it (a deb822 .sources file or a .list line).
  if ! grep -rqsE '^[^#]*bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
    log "adding ${BACKPORTS_LIST}"
    printf '%s\n' "$BACKPORTS_LINE" > "$BACKPORTS_LIST"
  fi

  export DEBIAN_FRONTEND=noninteractive
  log "apt-get update"
  apt-get update -q
  log "apt-get install -t bookworm-backports ${PACKAGES[*]}"
  apt-get install -y -q --no-install-recommends -t bookworm-backports "${PACKAGES[@]}"

  is_installed || die "packages installed but the check still fails (mesa-vulkan-drivers $(installed_version mesa-vulkan-drivers))"
  report
}

main "$@"
