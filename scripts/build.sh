#!/usr/bin/env bash
# Builds the flowhunt binary (and, once it exists, the web console it embeds).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-bin/flowhunt}
# libdeflate (Debian's libdeflate0) inflates objects 2.5 times cheaper than
# the pure-Go fallback; flowhunt loads it at run time when it is there.
./scripts/deps.sh libdeflate0 ||
  echo "build: without libdeflate0, ingest falls back to pure-Go gunzip (slower)" >&2
if [ -f web/package.json ]; then
  ./scripts/web.sh
fi
go build -o "$out" ./cmd/flowhunt
