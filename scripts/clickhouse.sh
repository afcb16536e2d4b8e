#!/usr/bin/env bash
# Runs a two-shard ClickHouse cluster on loopback for flowhunt's tests:
#   scripts/clickhouse.sh start DIR   installs clickhouse-server when missing (via
#                                     scripts/deps.sh), starts two servers with their
#                                     own config and data under DIR, waits until both
#                                     answer, and prints the store URL
#   scripts/clickhouse.sh stop DIR    stops them (by the pids recorded in DIR)
# Ports: FLOWHUNT_CH_PORT (default 18123) and the next one are the HTTP ports of
# shard 1 and 2; native ports are HTTP+1000, interserver ports HTTP+2000.
# The cluster is named "flowhunt" in remote_servers.
set -euo pipefail
cmd=${1:-}
dir=${2:-}
if [ -z "$cmd" ] || [ -z "$dir" ]; then
  echo "usage: $0 start|stop DIR" >&2
  exit 2
fi
base=${FLOWHUNT_CH_PORT:-18123}
root="$(cd "$(dirname "$0")/.." && pwd)"

stop() {
  for i in 1 2; do
    pidf="$dir/shard$i/pid"
    if [ -f "$pidf" ]; then
      pid=$(cat "$pidf")
      if kill -0 "$pid" 2>/dev/null; then
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 1 100); do
          kill -0 "$pid" 2>/dev/null || break
          sleep 0.1
        done
        kill -9 "$pid" 2>/dev/null || true
      fi
      rm -f "$pidf"
    fi
  done
}

config() { # shard http tcp interserver
  local d="$dir/shard$1"
  mkdir -p "$d/data" "$d/tmp" "$d/user_files" "$d/log"
  cat >"$d/config.xml" <<EOF
<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>$d/log/server.log</log><errorlog>$d/log/server.err.log</errorlog><size>10M</size><count>1</count></logger>
  <http_port>$2</http_port>
  <tcp_port>$3</tcp_port>
  <interserver_http_port>$4</interserver_http_port>
  <listen_host>127.0.0.1</listen_host>
  <max_connections>256</max_connections>
  <keep_alive_timeout>10</keep_alive_timeout>
  <max_concurrent_queries>64</max_concurrent_queries>
  <uncompressed_cache_size>268435456</uncompressed_cache_size>
  <mark_cache_size>268435456</mark_cache_size>
  <path>$d/data/</path>
  <tmp_path>$d/tmp/</tmp_path>
  <user_files_path>$d/user_files/</user_files_path>
  <users_config>$d/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
  <mlock_executable>false</mlock_executable>
  <remote_servers>
    <flowhunt>
      <shard><replica><host>127.0.0.1</host><port>$((base + 1000))</port></replica></shard>
      <shard><replica><host>127.0.0.1</host><port>$((base + 1001))</port></replica></shard>
    </flowhunt>
  </remote_servers>
  <merge_tree><parts_to_throw_insert>600</parts_to_throw_insert></merge_tree>
</yandex>
EOF
  cat >"$d/users.xml" <<EOF
<?xml version="1.0"?>
<yandex>
  <profiles><default><max_memory_usage>4000000000</max_memory_usage><load_balancing>random</load_balancing></default></profiles>
  <users><default><password></password><networks><ip>127.0.0.1</ip><ip>::1</ip></networks><profile>default</profile><quota>default</quota></default></users>
  <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors><result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval></default></quotas>
</yandex>
EOF
}

case "$cmd" in
start)
  if ! command -v clickhouse-server >/dev/null; then
    "$root/scripts/deps.sh" clickhouse-server clickhouse-client >&2
  fi
  mkdir -p "$dir"
  dir="$(cd "$dir" && pwd)"
  stop
  for i in 1 2; do
    if curl -fsS "http://127.0.0.1:$((base + i - 1))/ping" >/dev/null 2>&1; then
      echo "clickhouse: port $((base + i - 1)) already answers: another server runs there (set FLOWHUNT_CH_PORT)" >&2
      exit 1
    fi
  done
  for i in 1 2; do
    http=$((base + i - 1))
    config "$i" "$http" $((http + 1000)) $((http + 2000))
    d="$dir/shard$i"
    # The server stays in the foreground of its own process group; its pid is ours to stop.
    setsid clickhouse-server --config-file="$d/config.xml" >"$d/log/stdout.log" 2>&1 </dev/null &
    echo $! >"$d/pid"
  done
  for i in 1 2; do
    http=$((base + i - 1))
    ok=
    for _ in $(seq 1 300); do
      if curl -fsS "http://127.0.0.1:$http/ping" >/dev/null 2>&1; then ok=1; break; fi
      if ! kill -0 "$(cat "$dir/shard$i/pid")" 2>/dev/null; then break; fi
      sleep 0.1
    done
    if [ -z "$ok" ]; then
      echo "clickhouse: shard $i did not start on port $http; log:" >&2
      tail -n 20 "$dir/shard$i/log/server.err.log" "$dir/shard$i/log/stdout.log" >&2 2>/dev/null || true
      stop
      exit 1
    fi
  done
  echo "clickhouse://127.0.0.1:$base,127.0.0.1:$((base + 1))/flowhunt?cluster=flowhunt"
  ;;
stop)
  [ -d "$dir" ] && dir="$(cd "$dir" && pwd)"
  stop
  ;;
*)
  echo "usage: $0 start|stop DIR" >&2
  exit 2
  ;;
esac
