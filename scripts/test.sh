#!/usr/bin/env bash
# Runs the whole test suite. It installs what the tests need first, so it
# works on a fresh machine; under CI=true, tests that need a real server
# start it and fail (never skip) when it cannot run.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/deps.sh
# whole-object gunzip (internal/inflate) loads Debian's libdeflate0 at run time
./scripts/deps.sh libdeflate0
# the console's browser tests (internal/server/local) drive Debian's headless chromium
./scripts/deps.sh chromium
# the ClickHouse tests (internal/store/clickhouse, cmd/flowhunt) start a two-shard
# cluster of Debian's clickhouse-server on loopback (scripts/clickhouse.sh)
./scripts/deps.sh clickhouse-server clickhouse-client
if [ -f web/package.json ]; then
  ./scripts/web.sh
fi
go vet ./...
go test -count=1 -timeout 45m ./...
