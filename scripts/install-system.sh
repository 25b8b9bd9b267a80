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
#   scripts/install-system.sh --print-backports-source
#                                       the bookworm-backports entry it would add: the mirror (and keyring) of
#                                       the machine's existing bookworm entry, read from /etc/apt; changes nothing
set -euo pipefail

readonly MIN_MESA_MAJOR=25
readonly BACKPORTS_SOURCES=/etc/apt/sources.list.d/hoptm-bookworm-backports.sources
readonly APT_SOURCES_DIR=${HOPTM_APT_SOURCES_DIR:-/etc/apt} # tests point it at a fixture folder
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

# The Debian mirror this machine already uses for bookworm: prints 'URI<TAB>SIGNED-BY' (SIGNED-BY may be
# empty) from the first enabled deb entry whose suites include bookworm, in the deb822 *.sources files first,
# then sources.list and *.list. The backports entry then uses the same mirror: no host is written here.
bookworm_mirror() {
  local f found=
  for f in "$APT_SOURCES_DIR"/sources.list.d/*.sources; do
    [[ -f "$f" ]] || continue
    found=$(awk '
      function flush() {
        if (!done && types ~ /(^| )deb( |$)/ && suites ~ /(^| )bookworm( |$)/ && enabled != "no" && uri != "") {
          print uri "\t" signed; done = 1; exit
        }
        types = suites = uri = signed = enabled = ""
      }
      /^[ \t]*#/ { next }
      /^[ \t]*$/ { flush(); next }
      { key = tolower($1); sub(/:$/, "", key); $1 = ""; sub(/^ +/, ""); value = $0 }
      key == "types" { types = value } key == "suites" { suites = value } key == "enabled" { enabled = tolower(value) }
      key == "uris" { split(value, u, " "); uri = u[1] } key == "signed-by" { signed = value }
      END { flush() }' "$f")
    [[ -n "$found" ]] && break
  done
  if [[ -z "$found" ]]; then
    found=$(cat "$APT_SOURCES_DIR"/sources.list "$APT_SOURCES_DIR"/sources.list.d/*.list 2> /dev/null | awk '
      $1 != "deb" { next }
      { signed = ""; i = 2 }
      $2 ~ /^\[/ { while (i <= NF) { if ($i ~ /^\[?signed-by=/) { signed = $i; sub(/^\[?signed-by=/, "", signed); sub(/\]$/, "", signed) }
                                     if ($i ~ /\]$/) { i++; break } i++ } }
      $(i + 1) == "bookworm" { print $i "\t" signed; exit }')
  fi
  [[ -n "$found" ]] && printf '%s\n' "$found"
}

# The deb822 entry for bookworm-backports on the machine's own bookworm mirror.
backports_source() {
  local mirror uri signed
  mirror=$(bookworm_mirror) || die "no enabled 'deb ... bookworm' entry in ${APT_SOURCES_DIR}/sources.list{,.d/*.list,.d/*.sources}: add bookworm-backports for your mirror by hand"
  uri=${mirror%%$'\t'*} signed=${mirror#*$'\t'}
  printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main\n' "$uri"
  [[ -z "$signed" ]] || printf 'Signed-By: %s\n' "$signed"
}

main() {
  if [[ "${1:-}" == "--print-backports-source" ]]; then
    # Prints the entry it would write (for tests and a look before running as root); changes nothing.
    backports_source
    exit
  fi
  if [[ "${1:-}" == "--check" ]]; then
    if is_installed; then report; exit 0; fi
    log "not installed (need libvulkan1 and mesa-vulkan-drivers >= ${MIN_MESA_MAJOR} from bookworm-backports)"
    exit 1
  fi
  [[ $# -eq 0 ]] || die "unknown argument '$1' (usage: $0 [--check | --print-backports-source])"

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
    local entry
    entry=$(backports_source)
    log "adding ${BACKPORTS_SOURCES} (mirror of the existing bookworm entry): $(printf '%s' "$entry" | grep '^URIs:')"
    printf '%s\n' "$entry" > "$BACKPORTS_SOURCES"
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
