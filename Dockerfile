# The chat server on the current Node LTS (26). The code also runs on Node 20.
FROM node:26-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY views ./views
COPY bench ./bench
RUN npm run build && npm prune --omit=dev

FROM node:26-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY sql ./sql
USER node
# Memory: see README ("Performance"). Replace NODE_OPTIONS to change them (e.g. a larger heap for a huge room).
ENV NODE_OPTIONS="--max-semi-space-size=2 --max-old-space-size=256"
EXPOSE 3000
CMD ["node", "dist/src/server.js"]
