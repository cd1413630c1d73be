#!/usr/bin/env bash
# Load test of DistillWatch's gateway routes with wrk, on loopback only, bounded in time:
#
#   1. POST /v1/litellm/logs: json_array batches of 100 StandardLoggingPayloads (LiteLLM
#      1.106.2's shape, ~12 KB each), 4 connections flat out: exchanges/s
#   2. POST /beta/litellm_basic_guardrail_api with a 2 KB body, paced: p50/p99
#   3. the same with a 300 KB body (a 140 KB paste, sent twice by LiteLLM), paced: p50/p99
#   4. POST /v1/traces: the real OpenTelemetry Python SDK's 26 gzip protobuf exports
#      (Tests/Fixtures/gateway/otlp; 256 GenAI spans and 256 other spans each), 4
#      connections flat out: GenAI spans/s (repeats merge as duplicates; each is still decoded,
#      mapped and logged)
#   5. an Envoy ext_authz check with a 2 KB chat body, paced: p50/p99
#
# Usage: scripts/loadtest-gateways.sh   (needs wrk: apt-get install wrk; builds a release binary)
#   DURATION=20s  GUARD_CONNECTIONS=8  GUARD_DELAY_MS=5
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-20s}
GUARD_CONNECTIONS=${GUARD_CONNECTIONS:-8}
GUARD_DELAY_MS=${GUARD_DELAY_MS:-5}
PORT=${PORT:-18291}
LOADTEST_NAME=load-gateways
. scripts/loadtest/common.sh

start_server() { serve_on server.log --database "$WORK/state.sqlite" --content-key 00112233445566778899aabbccddeeff; }

echo "machine: $(nproc) cores, $(uname -sr); wrk $(wrk -v 2>&1 | head -1 | awk '{print $2}'); $(date -u '+%Y-%m-%d %H:%M UTC'); commit $(git rev-parse --short HEAD)"
python3 scripts/loadtest/litellm_bodies.py Tests/Fixtures/gateway/litellm/21-litellm-1.106.2-real-standard-logging-payload-array.json "$WORK"
echo "bodies: logs batch $(stat -c %s "$WORK/logs-0") bytes (100 payloads); guardrail $(stat -c %s "$WORK/guard2k-0") and $(stat -c %s "$WORK/guard300k-0") bytes"

start_server
echo
echo "== POST /v1/litellm/logs: json_array batches of 100 payloads, 4 connections, $DURATION"
DW_PATH=/v1/litellm/logs DW_HEADER="Authorization: Bearer $INGEST" DW_BODY_PREFIX="$WORK/logs" DW_BODIES=20 DW_ITEMS=100 \
    wrk -t1 -c4 -d"$DURATION" --timeout 10s -s scripts/loadtest/post.lua "http://127.0.0.1:$PORT" | tail -2
for size in 2k 300k; do
    echo
    echo "== POST /beta/litellm_basic_guardrail_api, $size body: $GUARD_CONNECTIONS connections, ${GUARD_DELAY_MS} ms pause each, $DURATION"
    DW_PATH=/beta/litellm_basic_guardrail_api DW_HEADER="x-api-key: $DECIDE" DW_BODY_PREFIX="$WORK/guard$size" DW_BODIES=20 \
        DW_DELAY_MS=$GUARD_DELAY_MS wrk -t1 -c"$GUARD_CONNECTIONS" -d"$DURATION" -s scripts/loadtest/post.lua "http://127.0.0.1:$PORT" | tail -2
done
echo
i=0
for body in Tests/Fixtures/gateway/otlp/python-sdk-1.45.2/proto-http-exporter-1.45.2/*.bin; do cp "$body" "$WORK/otlp-$i"; i=$((i + 1)); done
echo "== POST /v1/traces: the SDK's $i gzip protobuf exports (256 GenAI spans each), 4 connections, $DURATION"
DW_PATH=/v1/traces DW_HEADER="Authorization: Bearer $INGEST" DW_BODY_PREFIX="$WORK/otlp" DW_BODIES=$i DW_ITEMS=256 \
    DW_CONTENT_TYPE=application/x-protobuf DW_CONTENT_ENCODING=gzip \
    wrk -t1 -c4 -d"$DURATION" --timeout 10s -s scripts/loadtest/post.lua "http://127.0.0.1:$PORT" | tail -2
echo
python3 - "$WORK/envoy-0" <<'PY'
import json, sys
sentence = "Explain, step by step, how a hash map resolves collisions. "
body = {"model": "gpt-4o", "max_tokens": 4096, "messages": [{"role": "system", "content": "You are a helpful assistant."},
                                                             {"role": "user", "content": sentence * 30}]}
open(sys.argv[1], "w").write(json.dumps(body))  # about 2 KB
PY
echo "== Envoy ext_authz check, $(stat -c %s "$WORK/envoy-0") byte body: $GUARD_CONNECTIONS connections, ${GUARD_DELAY_MS} ms pause each, $DURATION"
DW_PATH=/distillwatch/v1/chat/completions DW_HEADER="x-api-key: $DECIDE" DW_BODY_PREFIX="$WORK/envoy" DW_BODIES=1 \
    DW_EXTRA_HEADER="authorization: Bearer sk-client-key-0001" \
    DW_DELAY_MS=$GUARD_DELAY_MS wrk -t1 -c"$GUARD_CONNECTIONS" -d"$DURATION" -s scripts/loadtest/post.lua "http://127.0.0.1:$PORT" | tail -2
echo
curl -fsS "http://127.0.0.1:$PORT/metrics" -H "Authorization: Bearer $ANALYST" \
    | grep -E '^distillwatch_(exchanges_total|litellm_guardrail_calls_total|otlp_spans_total|envoy_checks_total|merged_exchanges|duplicate_exchanges)' | sed 's/^/   /'
stop_server
