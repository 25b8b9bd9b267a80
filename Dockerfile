# syntax=docker/dockerfile:1
# HoP-TM worker images: one file, two targets (docs/deploy.md has the exact commands).
#   docker build --target cpu -t <registry>/worker-cpu:<tag> .   workflows and I/O activities, wasm backend
#   docker build --target gpu -t <registry>/worker-gpu:<tag> .   GPU activities, webgpu (Dawn over Vulkan) or
#                                                                tensorflow (tfjs-node-gpu, CUDA 12/cuDNN 9)
#
# Entry points: workers/cpu-worker.ts and workers/gpu-worker.ts, configured by the environment of
# docs/deploy.md section 8 (shared/config/worker-env.ts).
#
# Stages: deps (production node_modules from the lockfile) -> gpu-deps (+ tfjs-node-gpu in .tools/, with CUDA
# from PyPI) ; base (Node 22 LTS on Debian bookworm, non-root user, sources, health check) -> cpu, gpu. The GPU
# image is bookworm, not an NVIDIA CUDA image: Dawn's dawn.node (npm `webgpu`) needs glibc >= 2.34, and the
# CUDA libraries come as PyPI wheels with tfjs-node-gpu (below), so no CUDA base image is needed.

ARG NODE_IMAGE=node:22-bookworm-slim

FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund \
 && npm cache clean --force

# @tensorflow/tfjs-node-gpu is not in package.json (its install script downloads libtensorflow from a web site).
# scripts/install-tfjs-node.sh --gpu, the same script as on GPU machines, builds it from source into
# .tools/tfjs-node-gpu against the TensorFlow C library of PyPI's `tensorflow` wheel, and puts CUDA 12, cuDNN 9
# etc. from the nvidia-*-cu12 wheels beside it (deps/nvidia, where TensorFlow looks for them): every download
# pinned by version and sha256, from the registries only. The build tools stay in this stage.
FROM deps AS gpu-deps
RUN apt-get update \
 && apt-get install -y --no-install-recommends make g++ python3-pip \
 && rm -rf /var/lib/apt/lists/*
COPY scripts/install-tfjs-node.sh scripts/
RUN scripts/install-tfjs-node.sh --gpu \
 && rm -rf .tools/cache .tools/tfjs-node-gpu/node_modules/@tensorflow/tfjs-node-gpu/deps/include

FROM ${NODE_IMAGE} AS base
ARG VERSION=0.1.0
ARG REVISION=unknown
LABEL org.opencontainers.image.title="HoP-TM worker" \
      org.opencontainers.image.description="HoP-TM medical dataset distillation: Temporal worker" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"
# tini as PID 1 forwards SIGTERM to the worker (which then writes its checkpoint) and reaps zombies.
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 hoptm \
 && useradd --system --uid 10001 --gid hoptm --home-dir /app --no-create-home --shell /usr/sbin/nologin hoptm
WORKDIR /app
# The root filesystem is read-only in the cluster: npm and tsx write under /tmp only.
ENV NODE_ENV=production \
    XDG_CACHE_HOME=/tmp/.cache \
    NPM_CONFIG_CACHE=/tmp/npm-cache \
    NPM_CONFIG_UPDATE_NOTIFIER=false \
    HOPTM_HEALTH_FILE=/tmp/hoptm-worker.health \
    HOPTM_HEALTH_MAX_AGE_SECONDS=120
# Sources stay owned by root: the worker can read its code but not change it (.dockerignore is an allowlist).
COPY . .
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
  CMD ["node", "/app/infra/docker/healthcheck.mjs"]
ENTRYPOINT ["/usr/bin/tini", "--"]

FROM base AS cpu
LABEL org.opencontainers.image.title="HoP-TM CPU worker"
COPY --from=deps /app/node_modules ./node_modules
# The workflow bundle is built once here, so a worker starts without bundling (deploy.md 8).
RUN npx tsx scripts/bundle-workflows.ts /app/dist/workflow-bundle.js
ENV HOPTM_BACKEND=wasm \
    HOPTM_WORKFLOW_BUNDLE=/app/dist/workflow-bundle.js
USER 10001:10001
CMD ["npx", "tsx", "workers/cpu-worker.ts"]

FROM base AS gpu
LABEL org.opencontainers.image.title="HoP-TM GPU worker"
# Vulkan loader for Dawn (WebGPU); the NVIDIA Vulkan driver itself comes from the node (GKE mounts it at
# /usr/local/nvidia; the NVIDIA container toolkit injects it when NVIDIA_DRIVER_CAPABILITIES has graphics).
RUN apt-get update \
 && apt-get install -y --no-install-recommends libvulkan1 \
 && rm -rf /var/lib/apt/lists/*
COPY infra/docker/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json
COPY --from=deps /app/node_modules ./node_modules
# tfjs-node-gpu with its libtensorflow and CUDA libraries; shared/engine/backends/tensorflow.ts loads it from here.
COPY --from=gpu-deps /app/.tools/tfjs-node-gpu ./.tools/tfjs-node-gpu
# The driver's libcuda.so.1: GKE mounts it at /usr/local/nvidia/lib64 (the NVIDIA runtime puts it on the
# default path elsewhere).
ENV NVIDIA_VISIBLE_DEVICES=all \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility,graphics \
    LD_LIBRARY_PATH=/usr/local/nvidia/lib64 \
    CUDA_CACHE_PATH=/tmp/.nv/ComputeCache \
    XDG_RUNTIME_DIR=/tmp \
    HOPTM_BACKEND=webgpu
USER 10001:10001
CMD ["npx", "tsx", "workers/gpu-worker.ts"]
