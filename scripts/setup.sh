#!/usr/bin/env bash
# One setup command for a fresh machine: npm packages, the native TensorFlow library behind
# @tensorflow/tfjs-node, and MLflow in ./.venv. Safe to run again: each step checks first and skips.
#
# Native TensorFlow, in order:
#   1. already built and loading            → nothing to do
#   2. libtensorflow's CDN reachable        → the standard tfjs-node install (downloads lib + prebuilt addon)
#   3. PyPI reachable                       → take libtensorflow_cc / libtensorflow_framework and the C headers
#                                             from the tensorflow-cpu wheel (downloaded, never installed) and
#                                             build the tfjs-node binding from source with node-gyp
#   4. neither                              → stop with instructions (GANSTUDY_LIBTENSORFLOW_DIR)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
START=$(date +%s)
log() { printf '[setup] %s\n' "$*" >&2; }
die() { printf '[setup] ERROR: %s\n' "$*" >&2; exit 1; }

# The wheel whose shared libraries stand in for libtensorflow 2.9.1 (tfjs-node 4.22's CDN build). 2.15.1 is the
# newest line whose C API the 4.22 binding compiles against unchanged; cp311 manylinux2014 x86_64.
TF_WHEEL_VERSION="${GANSTUDY_TF_WHEEL_VERSION:-2.15.1}"
CACHE="$ROOT/.cache/setup"
TFJS_NODE="$ROOT/node_modules/@tensorflow/tfjs-node"
mkdir -p "$CACHE"

# Node's headers for node-gyp: it cannot download them here; use the ones installed with node.
if [ -z "${npm_config_nodedir:-}" ]; then
  NODE_PREFIX=$(dirname "$(dirname "$(command -v node)")")
  if [ -f "$NODE_PREFIX/include/node/node_api.h" ]; then export npm_config_nodedir="$NODE_PREFIX"; fi
fi

# ---------------------------------------------------------------- npm packages
LOCK_HASH=$(sha256sum package-lock.json | cut -c1-16)
if [ -f node_modules/.ganstudy-lock ] && [ "$(cat node_modules/.ganstudy-lock)" = "$LOCK_HASH" ]; then
  log "npm packages: up to date"
else
  log "npm packages: npm ci (install scripts deferred; native TensorFlow is provisioned below)"
  npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
  # sharp ships its native part as an npm package (@img/sharp-*); check it loads
  node -e "require('sharp')" || die "sharp's prebuilt binary did not load (see the error above)"
  echo "$LOCK_HASH" > node_modules/.ganstudy-lock
fi

# ---------------------------------------------------------------- native TensorFlow
tf_loads() { node -e "require('@tensorflow/tfjs-node')" >/dev/null 2>&1; }

provision_from_dir() { # $1: a folder holding libtensorflow*.so* (a libtensorflow tarball's lib/ or a wheel's tensorflow/)
  local src=$1 inc=$2 lib fw
  lib=$(ls "$src"/libtensorflow_cc.so.2 "$src"/libtensorflow.so.2 2>/dev/null | head -n1 || true)
  fw=$(ls "$src"/libtensorflow_framework.so.2 2>/dev/null | head -n1 || true)
  [ -n "$lib" ] && [ -n "$fw" ] || die "no libtensorflow(_cc).so.2 + libtensorflow_framework.so.2 in $src"
  rm -rf "$TFJS_NODE/deps" && mkdir -p "$TFJS_NODE/deps/lib" "$TFJS_NODE/deps/include"
  cp "$lib" "$fw" "$TFJS_NODE/deps/lib/"
  # the binding links -ltensorflow; tfjs-node's install script looks for the .so.2.9.1 name
  (cd "$TFJS_NODE/deps/lib" && ln -sf "$(basename "$lib")" libtensorflow.so && ln -sf "$(basename "$lib")" libtensorflow.so.2.9.1 \
     && ln -sf libtensorflow_framework.so.2 libtensorflow_framework.so && ln -sf libtensorflow_framework.so.2 libtensorflow_framework.so.2.9.1)
  cp -r "$inc"/. "$TFJS_NODE/deps/include/"
}

build_binding() {
  log "building the tfjs-node binding from source (node-gyp, nodedir=${npm_config_nodedir:-default})"
  rm -rf "$TFJS_NODE/lib" "$TFJS_NODE/build"
  (cd "$TFJS_NODE" && "$ROOT/node_modules/.bin/node-pre-gyp" install --build-from-source --loglevel=warn) >"$CACHE/node-gyp.log" 2>&1 \
    || { tail -n 30 "$CACHE/node-gyp.log" >&2; die "building the tfjs-node binding failed (full log: $CACHE/node-gyp.log)"; }
}

if tf_loads; then
  log "native TensorFlow: already installed"
elif [ -n "${GANSTUDY_LIBTENSORFLOW_DIR:-}" ]; then
  log "native TensorFlow: from GANSTUDY_LIBTENSORFLOW_DIR=$GANSTUDY_LIBTENSORFLOW_DIR"
  provision_from_dir "$GANSTUDY_LIBTENSORFLOW_DIR/lib" "$GANSTUDY_LIBTENSORFLOW_DIR/include"
  build_binding
elif curl -sfI --max-time 10 "https://storage.googleapis.com/tensorflow/libtensorflow/libtensorflow-cpu-linux-x86_64-2.9.1.tar.gz" >/dev/null 2>&1; then
  log "native TensorFlow: libtensorflow CDN reachable, standard tfjs-node install"
  npm rebuild @tensorflow/tfjs-node --foreground-scripts
else
  log "native TensorFlow: libtensorflow CDN unreachable; using the tensorflow-cpu==$TF_WHEEL_VERSION wheel from PyPI"
  WHEEL_DIR="$CACHE/wheel"
  mkdir -p "$WHEEL_DIR"
  if ! ls "$WHEEL_DIR"/tensorflow_cpu-"$TF_WHEEL_VERSION"-*.whl >/dev/null 2>&1; then
    python3 -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.11 \
      --platform manylinux2014_x86_64 "tensorflow-cpu==$TF_WHEEL_VERSION" -d "$WHEEL_DIR" \
      || die "Neither libtensorflow's CDN (storage.googleapis.com) nor PyPI (tensorflow-cpu==$TF_WHEEL_VERSION) is reachable.
  Put libtensorflow 2.x for linux-x86_64 on this machine (lib/libtensorflow.so.2, lib/libtensorflow_framework.so.2
  and include/tensorflow/c/*.h, as in libtensorflow-cpu-linux-x86_64-2.9.1.tar.gz) and run:
    GANSTUDY_LIBTENSORFLOW_DIR=/path/to/libtensorflow npm run setup"
  fi
  WHEEL=$(ls "$WHEEL_DIR"/tensorflow_cpu-"$TF_WHEEL_VERSION"-*.whl | head -n1)
  EXTRACT="$CACHE/wheel-extract"
  rm -rf "$EXTRACT" && mkdir -p "$EXTRACT"
  python3 - "$WHEEL" "$EXTRACT" <<'PY'
import sys, zipfile
wheel, out = sys.argv[1], sys.argv[2]
wanted = ('tensorflow/libtensorflow_cc.so.2', 'tensorflow/libtensorflow_framework.so.2')
headers = ('tensorflow/include/tensorflow/c/', 'tensorflow/include/tensorflow/core/platform/', 'tensorflow/include/tsl/')
with zipfile.ZipFile(wheel) as z:
    for name in z.namelist():
        if name in wanted or (name.startswith(headers) and name.endswith('.h')):
            z.extract(name, out)
PY
  provision_from_dir "$EXTRACT/tensorflow" "$EXTRACT/tensorflow/include"
  rm -rf "$EXTRACT"
  build_binding
fi
tf_loads || die "@tensorflow/tfjs-node still does not load; run: node -e \"require('@tensorflow/tfjs-node')\" to see why"

# ---------------------------------------------------------------- CUDA (optional)
# On a machine with an NVIDIA driver, add @tensorflow/tfjs-node-gpu; src/backend prefers it when it loads.
# Only the standard (CDN) install is supported for it: the PyPI route would also need CUDA/cuDNN libraries.
if [ "${GANSTUDY_GPU:-auto}" != "0" ] && command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
  if node -e "require('@tensorflow/tfjs-node-gpu')" >/dev/null 2>&1; then
    log "CUDA: @tensorflow/tfjs-node-gpu already installed"
  elif curl -sfI --max-time 10 "https://storage.googleapis.com/tensorflow/libtensorflow/libtensorflow-gpu-linux-x86_64-2.9.1.tar.gz" >/dev/null 2>&1; then
    log "CUDA: installing @tensorflow/tfjs-node-gpu"
    npm install --no-save --no-audit --no-fund @tensorflow/tfjs-node-gpu@4.22.0
  else
    log "CUDA: GPU found but libtensorflow-gpu's CDN is unreachable; staying on the CPU build (GANSTUDY_GPU=0 silences this)"
  fi
fi

# ---------------------------------------------------------------- MLflow
MLFLOW_WANTED=$(sed -n 's/^mlflow==//p' requirements.txt)
MLFLOW_HAVE=$(.venv/bin/python -c "import importlib.metadata as m; print(m.version('mlflow'))" 2>/dev/null || true)
# psycopg lets the MLflow server use a PostgreSQL backend store (deploy/, MLFLOW_TRACKING_URI=postgresql://…)
PSYCOPG_HAVE=$(.venv/bin/python -c "import psycopg; print('yes')" 2>/dev/null || true)
if [ "$MLFLOW_HAVE" = "$MLFLOW_WANTED" ] && [ "$PSYCOPG_HAVE" = "yes" ]; then
  log "MLflow: $MLFLOW_HAVE in .venv (with the PostgreSQL driver)"
else
  log "MLflow: installing mlflow==$MLFLOW_WANTED and psycopg into .venv"
  [ -x .venv/bin/python ] || python3 -m venv .venv
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
fi

# ---------------------------------------------------------------- report
log "done in $(( $(date +%s) - START )) s; backend:"
node_modules/.bin/tsx src/cli/main.ts doctor
