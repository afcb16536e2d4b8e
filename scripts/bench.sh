#!/usr/bin/env bash
# Runs flowhunt's benchmark harness (`make bench`): generates (or reuses) the
# seeded 1M and 10M record data sets, measures ingest, the seed queries, the
# full hunt and the decoder against their anchors, prints the Markdown table
# and writes it with the raw numbers to artifacts/bench/bench-<time>.{md,json}.
#   BENCH_ARGS="--huge"            adds the 100M data set
#   BENCH_ARGS="--sizes 1M"        a quick run
#   FLOWHUNT_BENCH_CACHE=DIR       where data sets are kept (default: the user cache dir)
# Compare runs: bin/flowhunt bench --compare artifacts/bench/bench-*.json
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${BIN:-bin/flowhunt}
if [ ! -x "$bin" ]; then
  ./scripts/build.sh "$bin"
fi
echo "load before the run: $(uptime)" >&2
# shellcheck disable=SC2086 # BENCH_ARGS is a list of flags
exec "$bin" bench --out artifacts/bench ${BENCH_ARGS:-} "$@"
