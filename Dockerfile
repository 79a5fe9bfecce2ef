# syntax=docker/dockerfile:1

# ---- build: compile TypeScript and the native better-sqlite3 module, then drop dev dependencies ----
FROM node:20-bookworm-slim AS build
WORKDIR /app
RUN apt-get update \
  && apt-get install -y --no-install-recommends python3 make g++ \
  && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

# ---- runtime: compiled JavaScript and production dependencies only, as a non-root user ----
FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production \
    MALLOC_ARENA_MAX=2 \
    VESPERA_DATA_DIR=/data \
    VESPERA_HOST=0.0.0.0 \
    VESPERA_PORT=3000
WORKDIR /app
# A fixed numeric id: Kubernetes' runAsNonRoot can only verify a numeric USER (deploy/k8s runs as 10001 too).
RUN groupadd --system --gid 10001 vespera \
  && useradd --system --uid 10001 --gid vespera --home-dir /app --shell /usr/sbin/nologin vespera \
  && mkdir -p /data \
  && chown vespera:vespera /data
COPY --from=build --chown=vespera:vespera /app/node_modules ./node_modules
COPY --from=build --chown=vespera:vespera /app/dist ./dist
COPY --chown=vespera:vespera package.json ./
COPY --chown=vespera:vespera bin ./bin
COPY --chown=vespera:vespera roles ./roles
COPY --chown=vespera:vespera web ./web
USER 10001:10001
VOLUME ["/data"]
EXPOSE 3000
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.VESPERA_PORT || 3000) + '/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "dist/cli.js", "serve"]
