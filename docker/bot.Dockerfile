# syntax=docker/dockerfile:1.7
# Bot: web chat (and later the Discord/Slack adapters), HTTP on :3000.
# Build from the repository root:  docker build -f docker/bot.Dockerfile -t vca-bot .

FROM node:20-bookworm-slim
WORKDIR /app
# One lockfile for the monorepo: onnxruntime-node is installed here too, without its CUDA extras.
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
    PORT=3000 \
    HOST=0.0.0.0 \
    IMAGE_DIR=/data/images
RUN mkdir -p /data/images && chown -R node:node /data
USER node
VOLUME ["/data/images"]
EXPOSE 3000
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+process.env.PORT+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# Exec form, not `npm run`: SIGTERM reaches node and Nest's shutdown hooks.
CMD ["node", "-r", "@swc-node/register", "apps/bot/src/main.ts"]
