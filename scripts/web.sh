#!/usr/bin/env bash
# Builds the web console (web/, TypeScript + ECharts, bundled by Vite) into
# internal/server/dist, which the Go binary embeds. npm packages come from the
# registry at build time; the built console needs no network.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v npm >/dev/null || { echo "web: npm not found (install Node.js 20+)" >&2; exit 1; }
cd web
if [ -f package-lock.json ]; then
  # Reuse node_modules when they match the lock file.
  if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    npm ci --no-audit --no-fund --loglevel=error
  fi
else
  npm install --no-audit --no-fund --loglevel=error
fi
dist=../internal/server/dist
rm -rf "$dist/assets" "$dist/index.html"
npx --no-install tsc --noEmit -p .   # type-check (Vite itself only strips types)
npx --no-install vite build --logLevel warn
test -f "$dist/index.html"
