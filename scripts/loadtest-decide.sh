#!/usr/bin/env bash
# /v1/decide side by side: each binary given, in turn, for ROUNDS rounds, on loopback, bounded
# in time (about 40 s per binary and round). Per run: paced (30 connections, 2 ms pause: about
# 10,000-12,000 requests/s here), flat out (16 connections) with the server's CPU per request
# (from /proc, user + system), and paced (16 connections) while an ingest route runs flat out:
# /v1/exchanges (NDJSON, 1,000 lines a batch), /v1/traces (the OpenTelemetry Python SDK's gzip
# protobuf exports, 256 GenAI spans each) and /v1/litellm/logs (100 LiteLLM payloads a batch).
#
# Usage: scripts/loadtest-decide.sh OLD_BINARY NEW_BINARY ...   (needs wrk; about 60 s per binary and round)
#   ROUNDS=2  DURATION=10s  PORT=18392
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 1 ] || { sed -n '2,8p' "$0"; exit 2; }
ROUNDS=${ROUNDS:-2}
DURATION=${DURATION:-10s}
PORT=${PORT:-18392}
LOADTEST_NAME=decide
BINARIES=("$@")
DISTILLWATCH=${BINARIES[0]}
. scripts/loadtest/common.sh
python3 scripts/loadtest/traffic.py 1000 2 > "$WORK/traffic.jsonl"
split -l 10000 -d "$WORK/traffic.jsonl" "$WORK/chunk-"
head -1000 "$WORK/traffic.jsonl" > "$WORK/batch.jsonl"
python3 scripts/loadtest/litellm_bodies.py Tests/Fixtures/gateway/litellm/21-litellm-1.106.2-real-standard-logging-payload-array.json "$WORK" > /dev/null
OTLP_BODIES=0
for body in Tests/Fixtures/gateway/otlp/python-sdk-1.45.2/proto-http-exporter-1.45.2/*.bin; do
    cp "$body" "$WORK/otlp-$OTLP_BODIES"
    OTLP_BODIES=$((OTLP_BODIES + 1))
done
# under LABEL INGEST_WRK_ARGS...: paced decide (16 connections) while wrk runs the given ingest.
under() {
    local label=$1
    shift
    "$@" > "$WORK/ingest.txt" &
    local ingester=$!
    local mixed
    mixed=$(DW_TOKEN=$DECIDE DW_DELAY_MS=2 wrk -t1 -c16 -d"$DURATION" -s scripts/loadtest/decide.lua "http://127.0.0.1:$PORT" | tail -2)
    wait $ingester
    echo "   under $label: $(echo "$mixed" | head -1)  $(echo "$mixed" | tail -1 | cut -d';' -f1); ingest $(tail -1 "$WORK/ingest.txt" | sed 's/.*= //; s/;.*//')"
}
cpu() { awk '{print $14 + $15}' "/proc/$SERVER/stat"; }   # clock ticks (100 per second)
export DW_ACCOUNTS=1000
echo "machine: $(nproc) cores; $ROUNDS rounds of ${#BINARIES[@]} binaries, $DURATION per phase"
for round in $(seq 1 "$ROUNDS"); do
    for BIN in "${BINARIES[@]}"; do
        rm -rf "$WORK"/state.sqlite*
        serve_on "server.log" --database "$WORK/state.sqlite"
        for f in "$WORK"/chunk-*; do
            curl -fsS -o /dev/null -X POST "http://127.0.0.1:$PORT/v1/exchanges" -H "Authorization: Bearer $INGEST" -H 'Expect:' \
                --data-binary @"$f"
        done
        echo "== round $round: $BIN"
        paced=$(DW_TOKEN=$DECIDE DW_DELAY_MS=2 wrk -t2 -c30 -d"$DURATION" -s scripts/loadtest/decide.lua "http://127.0.0.1:$PORT" | tail -2)
        echo "   paced (30):   $(echo "$paced" | head -1)  $(echo "$paced" | tail -1 | cut -d';' -f1)"
        c0=$(cpu)
        flat=$(DW_TOKEN=$DECIDE wrk -t2 -c16 -d"$DURATION" -s scripts/loadtest/decide.lua "http://127.0.0.1:$PORT" | tail -2)
        c1=$(cpu)
        n=$(echo "$flat" | tail -1 | awk '{print $2}')
        echo "   flat out (16): $(echo "$flat" | head -1)  $(echo "$flat" | tail -1 | cut -d';' -f1); server CPU $(python3 -c "print(round(($c1 - $c0) * 10000 / $n, 1))") µs per request"
        under "ingest" env DW_TOKEN=$INGEST DW_BATCH_FILE="$WORK/batch.jsonl" DW_BATCH_LINES=1000 \
            wrk -t1 -c4 -d"$DURATION" -s scripts/loadtest/ingest.lua "http://127.0.0.1:$PORT"
        under "OTLP" env DW_PATH=/v1/traces DW_HEADER="Authorization: Bearer $INGEST" DW_BODY_PREFIX="$WORK/otlp" \
            DW_BODIES=$OTLP_BODIES DW_ITEMS=256 DW_CONTENT_TYPE=application/x-protobuf DW_CONTENT_ENCODING=gzip \
            wrk -t1 -c4 -d"$DURATION" --timeout 10s -s scripts/loadtest/post.lua "http://127.0.0.1:$PORT"
        under "LiteLLM logs" env DW_PATH=/v1/litellm/logs DW_HEADER="Authorization: Bearer $INGEST" DW_BODY_PREFIX="$WORK/logs" \
            DW_BODIES=20 DW_ITEMS=100 wrk -t1 -c4 -d"$DURATION" --timeout 10s -s scripts/loadtest/post.lua "http://127.0.0.1:$PORT"
        # Raises of the ingest lane out of SCHED_IDLE by its starvation watchdog (0 unless other
        # work starved it; an older build does not report it).
        starved=$(curl -fsS "http://127.0.0.1:$PORT/metrics" -H "Authorization: Bearer $DECIDE" \
            | awk '/^distillwatch_ingest_lane_starvations_total/ {print $2}')
        echo "   ingest lane starvations: ${starved:-not reported by this build}"
        stop_server
    done
done
