#!/usr/bin/env bash
# Builds the flowhunt binary (and, once it exists, the web console it embeds).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-bin/flowhunt}
if [ -f web/package.json ]; then
  ./scripts/web.sh
fi
go build -o "$out" ./cmd/flowhunt
