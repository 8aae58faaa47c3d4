# syntax=docker/dockerfile:1.7
# GPU server: generation and training workers, HTTP on :3001.
# Build from the repository root:  docker build -f docker/gpu-server.Dockerfile -t vca-gpu-server .
#
# CPU inference works as built. For CUDA, onnxruntime-node's CUDA 12 binaries must be installed
# (build with --build-arg ONNXRUNTIME_NODE_INSTALL=cuda12 on a machine that can reach their
# download host) and the CUDA 12 / cuDNN 9 user-space libraries must be in the image or mounted;
# the NVIDIA container toolkit only provides the driver. Then set ORT_PROVIDER=cuda.

FROM node:20-bookworm-slim
WORKDIR /app
# onnxruntime-node's install script would download CUDA/TensorRT extras; the npm package already
# carries the CPU runtime.
ARG ONNXRUNTIME_NODE_INSTALL=skip
ENV ONNXRUNTIME_NODE_INSTALL=${ONNXRUNTIME_NODE_INSTALL}
# Manifests first, so source edits do not invalidate the npm ci layer (a new workspace under
# apps/ or libs/ needs its package.json listed here).
COPY package.json package-lock.json .npmrc ./
COPY apps/bot/package.json apps/bot/
COPY apps/gpu-server/package.json apps/gpu-server/
COPY libs/core/package.json libs/core/
COPY libs/diffusion/package.json libs/diffusion/
COPY libs/ml/package.json libs/ml/
COPY libs/queue/package.json libs/queue/
COPY libs/shared/package.json libs/shared/
COPY libs/world/package.json libs/world/
# Dev dependencies stay: the apps run their TypeScript through @swc-node/register (no build step
# whose output could drift from the sources the tests ran).
RUN --mount=type=cache,target=/root/.npm npm ci --no-audit --no-fund
# Sources last (node_modules is excluded from the context, so the installed tree stays).
COPY . .
ENV NODE_ENV=production \
    PORT=3001 \
    HOST=0.0.0.0 \
    MODEL_DIR=/app/models/default \
    IMAGE_DIR=/data/images
RUN mkdir -p /data/images && chown -R node:node /data
USER node
VOLUME ["/data/images"]
EXPOSE 3001
# /health is 200 only with the database, Redis and the model all up.
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+process.env.PORT+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# Exec form, not `npm run`: SIGTERM reaches node and Nest's shutdown hooks, so running jobs
# finish (a killed one stays locked until it expires and is retried by another worker).
CMD ["node", "-r", "@swc-node/register", "apps/gpu-server/src/main.ts"]
