#!/usr/bin/env bash
# Durability load test of `distillwatch serve` (issue 17), with wrk, on loopback, bounded:
#
#   1. a history of $EVENTS exchanges from $ACCOUNTS accounts is written into the log and
#      the server started on it (it replays, then takes its first snapshot);
#   2. /v1/decide paced near 5,000 requests/s: alone; while snapshots are written back to
#      back (POST /v1/snapshot in a loop); while /v1/exchanges runs flat out; and both;
#   3. memory under a stalled clock: batches whose exchanges all carry one instant, with
#      the reorder buffer bound at its default and at a tenth of it.
#
# Usage: scripts/loadtest-durability.sh   (needs wrk; builds a release binary)
#   DURATION=20s  ACCOUNTS=100000  EVENTS=1000000  PACED_CONNECTIONS=16  PACED_DELAY_MS=2
#   STALLED_ONLY=1 runs only the stalled-clock part.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-20s}
ACCOUNTS=${ACCOUNTS:-100000}
EVENTS=${EVENTS:-1000000}
PACED_CONNECTIONS=${PACED_CONNECTIONS:-16}
PACED_DELAY_MS=${PACED_DELAY_MS:-2}
PORT=${PORT:-18282}
LOADTEST_NAME=durability
. scripts/loadtest/common.sh

echo "machine: $(nproc) cores, $(uname -sr); wrk $(wrk -v 2>&1 | head -1 | awk '{print $2}')"
if [ -z "${STALLED_ONLY:-}" ]; then
DB="$WORK/state.sqlite"
serve_on schema.log --database "$DB" --snapshot-directory off
stop_server
python3 -c "
import importlib.util, sys
spec = importlib.util.spec_from_file_location('rb', 'scripts/restart-benchmark.py'); rb = importlib.util.module_from_spec(spec); spec.loader.exec_module(rb)
rb.write_events('$DB', 1, $EVENTS, $ACCOUNTS, 1_772_409_600_000, 30 * 86_400_000)"
t0=$(date +%s.%N)
serve_on server.log --database "$DB" --log-retention keep --reorder-tolerance-seconds 0
echo "== history: $EVENTS exchanges of $ACCOUNTS accounts replayed in $(python3 -c "print(round($(date +%s.%N) - $t0, 1))") s"
status() { curl -fsS "http://127.0.0.1:$PORT/v1/status" -H "Authorization: Bearer $ANALYST"; }
until [ "$(status | python3 -c 'import json,sys; print(json.load(sys.stdin)["snapshots"]["written"])')" -ge 1 ]; do sleep 0.5; done
status | python3 -c 'import json,sys; s=json.load(sys.stdin)["snapshots"]; print("   first snapshot: %.0f MB in %.2f s" % (s["bytes"] / 1e6, s["seconds"]))'

python3 scripts/loadtest/traffic.py 1000 1 > "$WORK/traffic.jsonl"
head -1000 "$WORK/traffic.jsonl" > "$WORK/batch.jsonl"
export DW_ACCOUNTS=$ACCOUNTS
decide_paced() { DW_TOKEN=$DECIDE DW_DELAY_MS=$PACED_DELAY_MS wrk -t1 -c"$PACED_CONNECTIONS" -d"$DURATION" -s scripts/loadtest/decide.lua "http://127.0.0.1:$PORT" | tail -2; }
snapshots_loop() { while :; do curl -fsS -o /dev/null -X POST "http://127.0.0.1:$PORT/v1/snapshot" -H "Authorization: Bearer $ANALYST" || true; done; }
ingest_flat_out() { DW_TOKEN=$INGEST DW_BATCH_FILE="$WORK/batch.jsonl" DW_BATCH_LINES=1000 \
    wrk -t1 -c4 -d"$DURATION" -s scripts/loadtest/ingest.lua "http://127.0.0.1:$PORT" > "$WORK/ingest.txt"; }
written() { status | python3 -c 'import json,sys; s=json.load(sys.stdin)["snapshots"]; print(s["written"], round(s["seconds"], 2))'; }

echo; echo "== /v1/decide paced ($PACED_CONNECTIONS connections, ${PACED_DELAY_MS} ms pause), $DURATION, alone"
decide_paced
echo; echo "== /v1/decide paced while snapshots are written back to back"
before=$(written); snapshots_loop & LOOP=$!
decide_paced
kill $LOOP 2>/dev/null; wait $LOOP 2>/dev/null || true
echo "   snapshots written meanwhile: $(( $(written | cut -d' ' -f1) - $(echo "$before" | cut -d' ' -f1) )) (last took $(written | cut -d' ' -f2) s)"
echo; echo "== /v1/decide paced while /v1/exchanges runs flat out (4 connections, batches of 1,000)"
ingest_flat_out & ING=$!
decide_paced
wait $ING; echo "   ingest meanwhile:"; tail -2 "$WORK/ingest.txt" | sed 's/^/   /'
echo; echo "== /v1/decide paced while snapshots are written and /v1/exchanges runs flat out"
before=$(written); snapshots_loop & LOOP=$!; ingest_flat_out & ING=$!
decide_paced
kill $LOOP 2>/dev/null; wait $LOOP 2>/dev/null || true; wait $ING
echo "   snapshots written meanwhile: $(( $(written | cut -d' ' -f1) - $(echo "$before" | cut -d' ' -f1) )); ingest:"; tail -1 "$WORK/ingest.txt" | sed 's/^/   /'
stop_server

fi
status() { curl -fsS "http://127.0.0.1:$PORT/v1/status" -H "Authorization: Bearer $ANALYST"; }
echo; echo "== memory under a stalled clock: 1,000,000 exchanges all stamped with one instant (tolerance 300 s)"
python3 - "$WORK/stalled.jsonl" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    for i in range(25_000):
        f.write('{"time":"2026-03-02T00:00:00Z","account_id":"acct-%d","model":"m","output_tokens":100,"client_ip":"198.51.100.%d"}\n' % (i % 5000, 1 + i % 250))
PY
for bound in 500000 50000; do
    # A database file (not :memory:, which would keep the whole log in memory too).
    serve_on "stalled-$bound.log" --database "$WORK/stalled-$bound.sqlite" --snapshot-directory off \
        --reorder-tolerance-seconds 300 --max-buffered-exchanges "$bound"
    for round in $(seq 1 40); do
        curl -fsS -o /dev/null -X POST "http://127.0.0.1:$PORT/v1/exchanges" -H "Authorization: Bearer $INGEST" -H 'Expect:' --data-binary @"$WORK/stalled.jsonl"
        if [ $((round % 10)) -eq 0 ]; then
            b=$(status | python3 -c 'import json,sys; e=json.load(sys.stdin)["engine"]; print(e["buffered_exchanges"], e["overflow_exchanges"])')
            echo "   bound $bound: $((round * 25000)) posted: buffered/overflow $b; RSS $(awk '/VmRSS/ {print int($2/1024)}' /proc/$SERVER/status) MB"
        fi
    done
    stop_server
done
