#!/usr/bin/env bash
# tfjs's `tensorflow` backend without its download: @tensorflow/tfjs-node (CPU) or @tensorflow/tfjs-node-gpu,
# built from source against the TensorFlow C library that ships inside PyPI's TensorFlow wheels
# (shared/docs/platform.md section 2; docs/backends.md "The tensorflow backend").
#
# Neither package is in package.json: their install script downloads libtensorflow from a web site, so
# `npm ci` would fail on machines that reach only the package registries. This script installs the package
# into an ignored folder instead, which `npm ci` never touches, and shared/engine/backends/tensorflow.ts
# loads it from there:
#   .tools/tfjs-node/node_modules/@tensorflow/tfjs-node          (CPU)
#   .tools/tfjs-node-gpu/node_modules/@tensorflow/tfjs-node-gpu  (--gpu; CUDA from the nvidia-*-cu12 wheels)
# Its @tensorflow/tfjs* dependencies are removed there, so it registers its backend into the project's own
# tfjs-core (node_modules/, which must be installed first: scripts/setup.sh runs npm ci before this).
#
# Steps: pip downloads the pinned wheels into .tools/cache/wheels (sha256-checked: pip --require-hashes); npm
# installs the package with --ignore-scripts; the wheel's libtensorflow_cc.so.2 + libtensorflow_framework.so.2
# and C headers go into the package's deps/; node-pre-gyp builds the binding from source against them with
# the local Node headers; a load test runs; the folder is moved into place and stamped. Idempotent: a second
# run checks the stamp and that the binding loads (about a second).
# CPU build only, then: the project's TensorFlow op library (shared/engine/kernels/tensorflow/hoptm-ops.cc,
# fused instance norm kernels on TensorFlow's C kernel API) is compiled against the same wheel's C headers
# into .tools/tfjs-node/hoptm-ops/ (a few seconds; stamped with the source's hash, so an edit rebuilds only it).
#
# Usage:
#   scripts/install-tfjs-node.sh                 CPU build (every machine)
#   scripts/install-tfjs-node.sh --gpu           GPU build (GPU machines, the GPU container image; ~3 GB of wheels)
#   scripts/install-tfjs-node.sh [--gpu] --check exit 0 when installed and loading, 1 otherwise; changes nothing
#   scripts/install-tfjs-node.sh [--gpu] --dry-run  checks every pinned download against the registries (the npm
#                                                package; each wheel and its sha256, from the index's file list,
#                                                without downloading it) and the build tools; changes nothing
# Needs: node + npm, python3 with pip, make, g++, the Node headers (include/node beside the node binary).
set -euo pipefail
cd "$(dirname "$0")/.."
readonly ROOT=$PWD

readonly TFJS_NODE_VERSION=4.22.0
readonly TFJS_CORE_VERSION=4.22.0 # the project's tfjs-core must be this one: the package registers into it
readonly PY_TAGS=(--python-version 3.11 --implementation cp --abi cp311
  --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64)

# CPU: TensorFlow 2.12.1's C API (2.12.1 passed the whole tfjs-core test suite on this backend; 2.21.0 failed
# `round` on int32; 2.9.x keeps the C API in a Python extension and does not work).
readonly CPU_WHEELS='
tensorflow-cpu==2.12.1 --hash=sha256:7ffb595707a8fb376deaddc768784c7a0242b16cbc6e06393b1733b2ce19f855
'
# GPU: TensorFlow 2.21.0 (CUDA 12, cuDNN 9) and the CUDA libraries its `and-cuda` extra resolved to (pip,
# 2026-12), as wheels: ~3 GB. TensorFlow's libraries look for them in $ORIGIN/../nvidia/<name>/lib, i.e.
# deps/nvidia/ beside deps/lib; the driver's libcuda.so.1 comes from the host.
readonly GPU_WHEELS='
tensorflow==2.21.0 --hash=sha256:9056fbc9ba04235810b71ae6cbd958a196e8804fb53bbcffbf3e23b56155f124
nvidia-cublas-cu12==12.9.3.13 --hash=sha256:d7d51055f161b317c7105ddaae90e71eda059026074ffef93cf7cde2886bfe72
nvidia-cuda-cupti-cu12==12.8.90 --hash=sha256:ea0cb07ebda26bb9b29ba82cda34849e73c166c18162d3913575b0c9db9a6182
nvidia-cuda-nvcc-cu12==12.9.86 --hash=sha256:5d6a0d32fdc7ea39917c20065614ae93add6f577d840233237ff08e9a38f58f0
nvidia-cuda-nvrtc-cu12==12.9.86 --hash=sha256:210cf05005a447e29214e9ce50851e83fc5f4358df8b453155d5e1918094dcb4
nvidia-cuda-runtime-cu12==12.9.79 --hash=sha256:25bba2dfb01d48a9b59ca474a1ac43c6ebf7011f1b0b8cc44f54eb6ac48a96c3
nvidia-cudnn-cu12==9.28.0.42 --hash=sha256:9ff58b7f36dacd0a93e89f8f2957b52466889217963701daa15e577317cfa375
nvidia-cufft-cu12==11.4.1.4 --hash=sha256:c67884f2a7d276b4b80eb56a79322a95df592ae5e765cf1243693365ccab4e28
nvidia-curand-cu12==10.3.10.19 --hash=sha256:49b274db4780d421bd2ccd362e1415c13887c53c214f0d4b761752b8f9f6aa1e
nvidia-cusolver-cu12==11.7.5.82 --hash=sha256:15da72d1340d29b5b3cf3fd100e3cd53421dde36002eda6ed93811af63c40d88
nvidia-cusparse-cu12==12.5.10.65 --hash=sha256:73060ce019ac064a057267c585bf1fd5a353734151f87472ff02b2c5c9984e78
nvidia-nccl-cu12==2.32.3 --hash=sha256:bb94b2348e4861d5e8aa00b36c3d12d9bdf9c6369b82cbb723de0b582280a21c
nvidia-nvjitlink-cu12==12.9.86 --hash=sha256:e3f1171dbdc83c5932a45f0f4c99180a70de9bd2718c1ab77d14104f6d7147f9
'

log() { printf 'install-tfjs-node: %s\n' "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

variant=cpu mode=install
for arg in "$@"; do
  case "$arg" in
    --gpu) variant=gpu ;;
    --check) mode=check ;;
    --dry-run) mode=dry-run ;;
    *) die "unknown argument '$arg' (usage: $0 [--gpu] [--check | --dry-run])" ;;
  esac
done

if [[ $variant == gpu ]]; then
  readonly PACKAGE=@tensorflow/tfjs-node-gpu WHEELS=$GPU_WHEELS TF_WHEEL=tensorflow
else
  readonly PACKAGE=@tensorflow/tfjs-node WHEELS=$CPU_WHEELS TF_WHEEL=tensorflow_cpu
fi
readonly DEST="$ROOT/.tools/${PACKAGE#@tensorflow/}"
readonly PKG_DIR="$DEST/node_modules/$PACKAGE"
readonly CACHE="$ROOT/.tools/cache/wheels"
readonly STAMP="$DEST/.hoptm-stamp"
# What the build depends on: a change to any of it rebuilds.
STAMP_TEXT="$PACKAGE@$TFJS_NODE_VERSION $(printf '%s' "$WHEELS" | sha256sum | cut -c1-16) node-abi-napi-$(node -p process.versions.napi)"
readonly STAMP_TEXT

# Loads the package from the project root exactly as the backend loader does, and runs one op on it.
load_test() {
  TF_CPP_MIN_LOG_LEVEL=1 node --input-type=commonjs -e "
    const { createRequire } = require('node:module');
    const tf = require('@tensorflow/tfjs-core');
    if (tf.version_core !== '$TFJS_CORE_VERSION') throw new Error('the project has @tensorflow/tfjs-core ' + tf.version_core + ', expected $TFJS_CORE_VERSION');
    createRequire('$1/package.json')('$PACKAGE');
    if (tf.getBackend() !== 'tensorflow') throw new Error('backend is ' + tf.getBackend());
    const y = tf.matMul(tf.tensor2d([1, 2, 3, 4], [2, 2]), tf.tensor2d([5, 6, 7, 8], [2, 2])).dataSync().join(',');
    if (y !== '19,22,43,50') throw new Error('matMul gave ' + y);
    console.log('$PACKAGE loads from ${1#"$ROOT"/}: tensorflow backend on TensorFlow ' + tf.backend().binding.TF_Version + (tf.backend().isUsingGpuDevice ? ', GPU' : ', CPU'));
  "
}

is_installed() {
  [[ -f "$STAMP" && "$(cat "$STAMP")" == "$STAMP_TEXT" ]] && load_test "$DEST" > /dev/null 2>&1
}

node_headers() {
  local dir
  dir="$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")"
  [[ -f "$dir/include/node/node_api.h" ]] && printf '%s' "$dir"
}

check_tools() {
  local missing=()
  command -v make > /dev/null || missing+=(make)
  command -v g++ > /dev/null || missing+=(g++)
  python3 -m pip --version > /dev/null 2>&1 || missing+=(python3-pip)
  if ((${#missing[@]} > 0)); then
    [[ "$(id -u)" -eq 0 && $mode == install ]] || die "missing build tools: ${missing[*]} (as root: apt-get install make g++ python3-pip)"
    log "apt-get install ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
  fi
  node_headers > /dev/null || die "no Node headers (include/node/node_api.h) beside $(command -v node): node-gyp would try to download them"
}

requirements() { printf '%s\n' "$WHEELS" | grep -v '^$'; }

# The wheels, into the cache; pip checks each file's sha256 against the pin (a cached file is checked again).
download_wheels() {
  mkdir -p "$CACHE"
  log "pip download ($(requirements | wc -l) wheel(s), pinned by sha256) into ${CACHE#"$ROOT"/}"
  python3 -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: "${PY_TAGS[@]}" \
    --require-hashes -r <(requirements) -d "$CACHE"
}

wheel_file() {
  local name=$1 version=$2 f
  f=$(compgen -G "$CACHE/${name//-/_}-${version}-*.whl" | head -n1) || true
  [[ -n "$f" ]] || die "wheel $name==$version not found in $CACHE"
  printf '%s' "$f"
}

# extract_from_wheel WHEEL OUT LIBS SOURCE...: the wheel's files LIBS (comma-separated, may be empty) and the
# headers under tensorflow/include that the SOURCEs include, with every header those include in turn, into OUT.
extract_from_wheel() {
  python3 - "$@" <<'PY'
import re, sys, zipfile
wheel, out, libs, *sources = sys.argv[1:]
libs = [n for n in libs.split(',') if n]
root = 'tensorflow/include/'
includes = lambda text: re.findall(r'^#include "([^"]+)"', text, re.M)
with zipfile.ZipFile(wheel) as z:
    names = set(z.namelist())
    missing = [n for n in libs if n not in names]
    if missing:
        sys.exit(f'install-tfjs-node: error: {wheel} has no {missing}')
    todo, headers = [h for src in sources for h in includes(open(src).read())], set()
    while todo:
        h = todo.pop()
        if h in headers or root + h not in names:
            continue
        headers.add(h)
        todo += includes(z.read(root + h).decode())
    z.extractall(out, libs + [root + h for h in headers])
print(f'install-tfjs-node: {len(headers)} C API headers', file=sys.stderr)
PY
}

# The pinned TensorFlow wheel (downloaded by download_wheels).
tensorflow_wheel() {
  local version
  version=$(requirements | awk -v n="${TF_WHEEL//_/-}" -F'[= ]+' '$1 == n { print $2 }')
  wheel_file "$TF_WHEEL" "$version"
}

dry_run() {
  check_tools
  log "npm: $(npm view "$PACKAGE@$TFJS_NODE_VERSION" dist.integrity) ($PACKAGE@$TFJS_NODE_VERSION)"
  # Every pinned wheel must be on the package index with the pinned sha256: read from the index's JSON file
  # lists (PEP 691), without downloading ~3 GB of wheels.
  local index
  index=${PIP_INDEX_URL:-$(python3 -m pip config get global.index-url 2> /dev/null || true)}
  python3 - "${index:-https://pypi.org/simple}" <<'PY' <(requirements)
import json, sys, urllib.request
index, pins = sys.argv[1].rstrip('/'), sys.argv[2]
bad, n = [], 0
for line in open(pins):
    spec, _, digest = line.strip().partition(' --hash=sha256:')
    name, _, version = spec.partition('==')
    request = urllib.request.Request(f'{index}/{name}/', headers={'Accept': 'application/vnd.pypi.simple.v1+json'})
    files = json.load(urllib.request.urlopen(request, timeout=60))['files']
    match = [f['filename'] for f in files if f.get('hashes', {}).get('sha256') == digest]
    prefix = f"{name.replace('-', '_')}-{version}-"
    n += 1
    if not any(m.startswith(prefix) and 'x86_64' in m for m in match):
        bad.append(f'{name}=={version}: no x86_64 wheel with sha256 {digest} on {index}')
if bad:
    sys.exit('install-tfjs-node: error: pinned wheels not found:\n  ' + '\n  '.join(bad))
print(f'install-tfjs-node: dry run: all {n} pinned wheel(s) are on {index} with their sha256', file=sys.stderr)
PY
  log "dry run: would install $PACKAGE@$TFJS_NODE_VERSION into ${DEST#"$ROOT"/} (build tools and Node headers present)"
}

install() {
  [[ -d "$ROOT/node_modules/@tensorflow/tfjs-core" ]] || die "node_modules/@tensorflow/tfjs-core is missing: run npm ci first (scripts/setup.sh does)"
  check_tools
  local t0=$SECONDS
  download_wheels

  local stage="$DEST.tmp"
  rm -rf "$stage"
  mkdir -p "$stage"
  printf '{ "private": true, "description": "built by scripts/install-tfjs-node.sh", "dependencies": { "%s": "%s" } }\n' \
    "$PACKAGE" "$TFJS_NODE_VERSION" > "$stage/package.json"
  log "npm install --ignore-scripts $PACKAGE@$TFJS_NODE_VERSION"
  (cd "$stage" && npm install --ignore-scripts --no-audit --no-fund --loglevel=error --no-package-lock)
  # The package must use the project's tfjs (one engine, our gradient fixes): drop the copies npm added.
  find "$stage/node_modules/@tensorflow" -mindepth 1 -maxdepth 1 ! -name "${PACKAGE#@tensorflow/}" -exec rm -rf {} +
  local pkg="$stage/node_modules/$PACKAGE"

  local wheel
  wheel=$(tensorflow_wheel)
  log "libtensorflow from ${wheel##*/}"
  mkdir -p "$pkg/deps/lib" "$pkg/deps/include"
  local unpack="$stage/wheel"
  # The libraries, and the headers the binding's sources include, with every header they include in turn.
  extract_from_wheel "$wheel" "$unpack" tensorflow/libtensorflow_cc.so.2,tensorflow/libtensorflow_framework.so.2 \
    "$pkg"/binding/*.{cc,h}
  mv "$unpack"/tensorflow/libtensorflow_cc.so.2 "$unpack"/tensorflow/libtensorflow_framework.so.2 "$pkg/deps/lib/"
  cp -r "$unpack"/tensorflow/include/. "$pkg/deps/include/"
  rm -rf "$unpack"
  ln -sf libtensorflow_cc.so.2 "$pkg/deps/lib/libtensorflow.so"
  ln -sf libtensorflow_framework.so.2 "$pkg/deps/lib/libtensorflow_framework.so"
  # The name the package's install.js checks before downloading (should it ever run): present, so it won't.
  ln -sf libtensorflow_cc.so.2 "$pkg/deps/lib/libtensorflow.so.2.9.1"

  if [[ $variant == gpu ]]; then
    log "CUDA libraries from the nvidia-*-cu12 wheels into deps/nvidia"
    local line name version
    while read -r line; do
      name=${line%%==*} version=${line#*==} version=${version%% *}
      [[ $name == nvidia-* ]] || continue
      python3 -m zipfile -e "$(wheel_file "$name" "$version")" "$pkg/deps/"
    done < <(requirements)
    find "$pkg/deps/nvidia" -name '__init__.py' -delete
  fi

  log "building the binding from source (node-pre-gyp, Node headers in $(node_headers))"
  (cd "$pkg" && npm_config_nodedir="$(node_headers)" ../../.bin/node-pre-gyp install --build-from-source --loglevel=warn) \
    > "$stage/build.log" 2>&1 || {
    tail -n 40 "$stage/build.log" >&2
    die "the binding did not build (log: ${stage#"$ROOT"/}/build.log)"
  }
  rm -rf "$pkg/build" # objects only; the binding is in lib/
  load_test "$stage" >&2 || die "the built package does not load (left in ${stage#"$ROOT"/})"

  rm -rf "$DEST"
  mv "$stage" "$DEST"
  printf '%s' "$STAMP_TEXT" > "$STAMP"
  log "installed $PACKAGE@$TFJS_NODE_VERSION into ${DEST#"$ROOT"/} in $((SECONDS - t0)) s"
}

readonly OPS_SOURCE="$ROOT/shared/engine/kernels/tensorflow/hoptm-ops.cc"
readonly OPS_DIR="$DEST/hoptm-ops"
readonly OPS_FLAGS='-std=c++17 -O3 -mavx -shared -fPIC -pthread -Wall -Wextra -Werror'
ops_stamp_text() { printf '%s %s' "$(sha256sum "$OPS_SOURCE" | cut -c1-16)" "$OPS_FLAGS"; }

ops_load_test() {
  TF_CPP_MIN_LOG_LEVEL=1 node --input-type=commonjs -e "
    require('@tensorflow/tfjs-core');
    const { createRequire } = require('node:module');
    createRequire('$DEST/package.json')('$PACKAGE');
    const ops = require('$OPS_DIR/hoptm_ops.node').ops;
    console.log('TensorFlow ops ' + ops + ' load from ${OPS_DIR#"$ROOT"/}');
  "
}

ops_built() {
  [[ -f "$OPS_DIR/.stamp" && "$(cat "$OPS_DIR/.stamp")" == "$(ops_stamp_text)" ]] && ops_load_test > /dev/null 2>&1
}

# The op library, against the C kernel API headers of the wheel the binding was built from.
build_ops() {
  [[ $variant == cpu ]] || return 0 # CPU kernels: on the GPU build they would copy every activation to the host
  if ops_built; then
    log "TensorFlow ops already built in ${OPS_DIR#"$ROOT"/}"
    return 0
  fi
  check_tools
  download_wheels
  local wheel
  wheel=$(tensorflow_wheel)
  rm -rf "$OPS_DIR"
  mkdir -p "$OPS_DIR"
  extract_from_wheel "$wheel" "$OPS_DIR/include" '' "$OPS_SOURCE"
  local lib="$PKG_DIR/deps/lib" out="$OPS_DIR/hoptm_ops.node"
  log "compiling ${OPS_SOURCE#"$ROOT"/} against the C kernel API of ${wheel##*/}"
  # shellcheck disable=SC2086 # OPS_FLAGS is a list of flags
  g++ $OPS_FLAGS -I"$(node_headers)/include/node" -I"$OPS_DIR/include/tensorflow/include" "$OPS_SOURCE" \
    -o "$out.tmp" -L"$lib" -l:libtensorflow_framework.so.2 \
    -Wl,-rpath,'$ORIGIN/../node_modules/@tensorflow/tfjs-node/deps/lib' || die "the TensorFlow ops did not compile"
  mv "$out.tmp" "$out"
  rm -rf "$OPS_DIR/include"
  ops_load_test >&2 || die "the TensorFlow ops do not load"
  ops_stamp_text > "$OPS_DIR/.stamp"
}

case $mode in
  check)
    if is_installed; then
      load_test "$DEST" >&2
      if [[ $variant == cpu ]] && ! ops_built; then
        log "the TensorFlow ops are not built in ${OPS_DIR#"$ROOT"/} (run $0)"
        exit 1
      fi
      [[ $variant == gpu ]] || ops_load_test >&2
      exit 0
    fi
    log "$PACKAGE is not installed in ${DEST#"$ROOT"/} (run $0$([[ $variant == gpu ]] && printf ' --gpu'))"
    exit 1
    ;;
  dry-run) dry_run ;;
  install)
    if is_installed; then
      log "$PACKAGE@$TFJS_NODE_VERSION already installed in ${DEST#"$ROOT"/}"
    else
      install
    fi
    build_ops
    ;;
esac
