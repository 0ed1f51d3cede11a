# Image of Doorbell's API and worker. The command selects the process:
#   docker run IMAGE                  runs the API (src/api/main.ts, the default)
#   docker run IMAGE src/worker.ts    runs the Temporal worker and the reconciler
# NOTE: not built here, because the machine this was written on has no Docker engine.
FROM node:20-bookworm-slim

WORKDIR /app
ENV NODE_ENV=production

# patches/ holds the fixes the postinstall step applies to dependencies (see patches/README.md).
COPY package.json package-lock.json ./
COPY patches ./patches
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# tsx (a production dependency) runs the TypeScript sources as they are. tsconfig.json stays out
# because it extends @tsconfig/node20, a development dependency, and the processes need none of
# its settings.
COPY src ./src

USER node
EXPOSE 3000
ENTRYPOINT ["node", "--import", "tsx"]
CMD ["src/api/main.ts"]
