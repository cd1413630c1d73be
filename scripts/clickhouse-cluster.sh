#!/usr/bin/env bash
# Starts Debian's clickhouse-server as a two-shard cluster on loopback, for the ClickHouse
# end-to-end test and benchmarks: two server processes, each with its own data directory,
# HTTP port and native port, and a `remote_servers` entry named `distillwatch` listing
# both, so that a Distributed table on either spreads rows over the two.
#
#   scripts/clickhouse-cluster.sh start DIR [HTTP_PORT_BASE]   # shards on BASE and BASE+1 (default 18123)
#   scripts/clickhouse-cluster.sh stop DIR
#
# Prints the two HTTP URLs. Waits (up to 60 s) until both answer SELECT 1. Starting a
# cluster whose shard is down restarts that shard only (its data directory is kept).
set -euo pipefail

command="${1:?usage: clickhouse-cluster.sh start|stop DIR [HTTP_PORT_BASE]}"
dir="${2:?usage: clickhouse-cluster.sh start|stop DIR [HTTP_PORT_BASE]}"
base="${3:-18123}"
server="$(command -v clickhouse-server || echo /usr/sbin/clickhouse-server)"

case "$command" in
stop)
    for shard in 0 1; do
        if [ -f "$dir/shard$shard/pid" ]; then
            kill "$(cat "$dir/shard$shard/pid")" 2>/dev/null || true
        fi
    done
    for shard in 0 1; do
        pid="$(cat "$dir/shard$shard/pid" 2>/dev/null || true)"
        for _ in $(seq 1 100); do
            [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null || true
    done
    exit 0
    ;;
start) ;;
*) echo "usage: clickhouse-cluster.sh start|stop DIR [HTTP_PORT_BASE]" >&2; exit 2 ;;
esac

[ -x "$server" ] || { echo "clickhouse-server not found (apt-get install clickhouse-server)" >&2; exit 1; }
mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"
tcp0=$((base + 1000)); tcp1=$((base + 1001))
for shard in 0 1; do
    d="$dir/shard$shard"
    mkdir -p "$d/data" "$d/tmp" "$d/user_files" "$d/format_schemas"
    http=$((base + shard)); tcp=$((base + 1000 + shard)); inter=$((base + 2000 + shard))
    cat > "$d/config.xml" <<XML
<?xml version="1.0"?>
<yandex>
    <logger>
        <level>warning</level>
        <log>$d/server.log</log>
        <errorlog>$d/server.err.log</errorlog>
        <size>10M</size>
        <count>2</count>
    </logger>
    <http_port>$http</http_port>
    <tcp_port>$tcp</tcp_port>
    <interserver_http_port>$inter</interserver_http_port>
    <listen_host>127.0.0.1</listen_host>
    <max_connections>256</max_connections>
    <keep_alive_timeout>3</keep_alive_timeout>
    <max_concurrent_queries>50</max_concurrent_queries>
    <uncompressed_cache_size>268435456</uncompressed_cache_size>
    <mark_cache_size>268435456</mark_cache_size>
    <path>$d/data/</path>
    <tmp_path>$d/tmp/</tmp_path>
    <user_files_path>$d/user_files/</user_files_path>
    <format_schema_path>$d/format_schemas/</format_schema_path>
    <users_config>$d/users.xml</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <timezone>UTC</timezone>
    <remote_servers>
        <distillwatch>
            <shard><replica><host>127.0.0.1</host><port>$tcp0</port></replica></shard>
            <shard><replica><host>127.0.0.1</host><port>$tcp1</port></replica></shard>
        </distillwatch>
    </remote_servers>
    <macros><shard>$shard</shard></macros>
</yandex>
XML
    cat > "$d/users.xml" <<XML
<?xml version="1.0"?>
<yandex>
    <profiles><default><max_memory_usage>4000000000</max_memory_usage><load_balancing>random</load_balancing></default></profiles>
    <users>
        <default>
            <password></password>
            <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
            <profile>default</profile>
            <quota>default</quota>
        </default>
    </users>
    <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors><result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval></default></quotas>
</yandex>
XML
    if curl -s -o /dev/null "http://127.0.0.1:$http/" 2>/dev/null; then
        if [ -f "$d/pid" ] && kill -0 "$(cat "$d/pid")" 2>/dev/null; then
            continue  # this cluster's shard, still running: start only the ones that are down
        fi
        echo "port $http already answers: another server runs there (stop it, or give another HTTP_PORT_BASE)" >&2
        exit 1
    fi
    "$server" --config-file="$d/config.xml" > "$d/stdout.log" 2>&1 &
    echo $! > "$d/pid"
done
for shard in 0 1; do
    http=$((base + shard))
    ok=""
    for _ in $(seq 1 600); do
        if [ "$(curl -s "http://127.0.0.1:$http/?query=SELECT%201" 2>/dev/null)" = "1" ]; then ok=1; break; fi
        sleep 0.1
    done
    if [ -z "$ok" ]; then
        echo "shard $shard did not answer on port $http within 60 s; its log:" >&2
        tail -20 "$dir/shard$shard/server.err.log" "$dir/shard$shard/stdout.log" >&2 || true
        exit 1
    fi
    echo "http://127.0.0.1:$http"
done
