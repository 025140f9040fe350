# Bashgah: multi-stage image. The club runs compiled (dist/, built here by scripts/build.mjs with
# esbuild, a production dependency), so a start transpiles nothing; the final image runs as a
# non-root user.
FROM node:22-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

FROM deps AS build
COPY scripts/build.mjs ./scripts/
COPY src ./src
COPY migrations ./migrations
RUN node scripts/build.mjs

FROM node:22-bookworm-slim
# malloc returns freed memory to the system (fixed thresholds instead of glibc's growing ones), as
# `npm start` sets it: the club's RSS -25 MB on PGlite (README, Performance).
ENV NODE_ENV=production PORT=8080 DATA_DIR=/data GLIBC_TUNABLES=glibc.malloc.trim_threshold=131072:glibc.malloc.mmap_threshold=4194304
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json tsconfig.json ./
# The sources stay beside the build: the compiled club reads locales/, migrations/ and the
# playground's page from where they are in the repository (and `npm run migrate` runs the TypeScript).
COPY src ./src
COPY scripts ./scripts
COPY migrations ./migrations
COPY locales ./locales
COPY --from=build /app/dist ./dist
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# SIGTERM reaches node directly (exec form): it finishes updates in flight, then exits. The image
# was built above, so it runs dist/main.js itself (what `npm start` runs once its build is fresh).
CMD ["node", "dist/main.js"]
