#!/usr/bin/env bash
# End-to-end check of DistillWatch as a LiteLLM guardrail, all on loopback:
#
#   client ──► LiteLLM proxy ──(generic_guardrail_api, pre_call)──► distillwatch serve
#                   │
#                   └──► tiny OpenAI-compatible upstream (scripts/openai-stub.py)
#
# A request from an account DistillWatch blocks must be refused by LiteLLM; an ordinary
# account's request must pass and get the upstream's answer. Exits non-zero otherwise.
#
# Usage: scripts/litellm-e2e.sh            (builds distillwatch if needed)
#   LITELLM_VENV=dir   where to install litellm[proxy] (default /tmp/distillwatch-litellm-venv)
#   DISTILLWATCH=path  the distillwatch binary (default .build/debug/distillwatch)
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${LITELLM_VENV:-/tmp/distillwatch-litellm-venv}
BIN=${DISTILLWATCH:-.build/debug/distillwatch}
DW_PORT=${DW_PORT:-18181}
STUB_PORT=${STUB_PORT:-18182}
LLM_PORT=${LLM_PORT:-18183}
WORK=$(mktemp -d /tmp/distillwatch-e2e.XXXXXX)
INGEST=e2e-ingest-token-0000000001
DECIDE=e2e-decide-token-0000000002
ANALYST=e2e-analyst-token-000000003
MASTER=sk-e2e-master-key-0001
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

step() { printf '\n== %s\n' "$*"; }
wait_for() { # url, seconds
    for _ in $(seq 1 "$2"); do curl -fs -o /dev/null "$1" && return 0; sleep 1; done
    echo "timed out waiting for $1" >&2; return 1
}

if [ ! -x "$VENV/bin/litellm" ]; then
    step "installing litellm[proxy] into $VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q 'litellm[proxy]'
fi
step "litellm $("$VENV/bin/pip" show litellm 2>/dev/null | awk '/^Version/ {print $2}')"
[ -x "$BIN" ] || swift build --product distillwatch

step "starting distillwatch serve on 127.0.0.1:$DW_PORT"
# Without LiteLLM's database there are no virtual keys, so the account is the OpenAI `user`
# field (LiteLLM's end_user_id). With virtual keys, keep the default (org, team, user, key).
DISTILLWATCH_TOKENS="pipeline:ingest:$INGEST litellm:decide:$DECIDE alice:analyst:$ANALYST" \
    "$BIN" serve --port "$DW_PORT" --database "$WORK/state.sqlite" --reorder-tolerance-seconds 0 \
    --litellm-account-fields end_user_id,team_id,user_id --log-level warning > "$WORK/distillwatch.log" 2>&1 &
PIDS+=($!)
wait_for "http://127.0.0.1:$DW_PORT/healthz" 30

step "starting the OpenAI-compatible stub on 127.0.0.1:$STUB_PORT"
python3 scripts/openai-stub.py "$STUB_PORT" &
PIDS+=($!)
wait_for "http://127.0.0.1:$STUB_PORT/v1/models" 10

step "starting the LiteLLM proxy on 127.0.0.1:$LLM_PORT"
cat > "$WORK/litellm.yaml" <<YAML
model_list:
  - model_name: stub-model
    litellm_params:
      model: openai/stub-model
      api_base: http://127.0.0.1:$STUB_PORT/v1
      api_key: sk-stub
guardrails:
  - guardrail_name: distillwatch
    litellm_params:
      guardrail: generic_guardrail_api
      mode: pre_call
      api_base: http://127.0.0.1:$DW_PORT
      api_key: os.environ/DISTILLWATCH_DECIDE_TOKEN
      unreachable_fallback: fail_closed
      default_on: true
general_settings:
  master_key: $MASTER
YAML
cat "$WORK/litellm.yaml"
DISTILLWATCH_DECIDE_TOKEN=$DECIDE "$VENV/bin/litellm" --config "$WORK/litellm.yaml" \
    --host 127.0.0.1 --port "$LLM_PORT" > "$WORK/litellm.log" 2>&1 &
PIDS+=($!)
wait_for "http://127.0.0.1:$LLM_PORT/health/liveliness" 120

step "teaching DistillWatch: a harvester's traffic, an ordinary account's, an analyst's label"
python3 - "$WORK/traffic.jsonl" <<'PY'
import json, sys, datetime, random
random.seed(7)
start = datetime.datetime(2026, 4, 1, tzinfo=datetime.timezone.utc)
recs = []
# Harvester: every ~20 s around the clock for 3 days, long pinned answers, hitting its rate limit.
t = start
while t < start + datetime.timedelta(days=3):
    t += datetime.timedelta(seconds=20)
    recs.append((t, {"account_id": "acct-harvester", "model": "stub-model", "output_tokens": 12000, "max_tokens": 32000,
                     "temperature": 1, "thinking": True, "message_count": 1, "status": 429 if random.random() < 0.3 else 200}))
# Ordinary accounts: office hours, irregular gaps, varied parameters.
for a in range(8):
    t = start
    while t < start + datetime.timedelta(days=3):
        t += datetime.timedelta(seconds=random.expovariate(1 / 600))
        if not 9 <= t.hour < 17:
            continue
        recs.append((t, {"account_id": "acct-ordinary-%d" % a, "model": "stub-model", "output_tokens": random.randint(50, 800),
                         "max_tokens": random.choice([512, 1024, 2048]), "temperature": random.choice([0, 0.3, 0.7]),
                         "thinking": False, "message_count": random.randint(1, 8)}))
recs.sort(key=lambda r: r[0])
with open(sys.argv[1], "w") as f:
    for t, r in recs:
        f.write(json.dumps({"time": t.isoformat().replace("+00:00", "Z"), **r}) + "\n")
PY
curl -fsS -X POST "http://127.0.0.1:$DW_PORT/v1/accounts" -H "Authorization: Bearer $INGEST" \
    --data-binary '{"account_id":"acct-harvester","tier":"free","created":"2026-03-30T00:00:00Z"}'; echo
curl -fsS -X POST "http://127.0.0.1:$DW_PORT/v1/exchanges" -H "Authorization: Bearer $INGEST" -H 'Expect:' \
    --data-binary @"$WORK/traffic.jsonl" | head -c 300; echo
curl -fsS -X POST "http://127.0.0.1:$DW_PORT/v1/accounts/acct-stolen-card/label" -H "Authorization: Bearer $ANALYST" \
    -d '{"label":"confirmed_attack","note":"chargeback ring, case 812"}' | head -c 300; echo
for a in acct-harvester acct-stolen-card acct-ordinary-3; do
    printf '%s: ' "$a"
    curl -fsS -X POST "http://127.0.0.1:$DW_PORT/v1/decide" -H "Authorization: Bearer $DECIDE" \
        -d "{\"account_id\":\"$a\"}" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["verdict"], d["score"], [r["signal"] for r in d["reasons"]])'
done

chat() { # account → prints status and body
    curl -s -o "$WORK/out.json" -w '%{http_code}' "http://127.0.0.1:$LLM_PORT/v1/chat/completions" \
        -H "Authorization: Bearer $MASTER" -H 'Content-Type: application/json' \
        -d "{\"model\":\"stub-model\",\"user\":\"$1\",\"messages\":[{\"role\":\"user\",\"content\":\"Think step by step: what is 17*23?\"}]}"
}

fail=0
step "requests through LiteLLM"
for a in acct-harvester acct-stolen-card acct-ordinary-3; do
    code=$(chat "$a")
    printf '%-18s HTTP %s  %s\n' "$a" "$code" "$(head -c 240 "$WORK/out.json")"
    case "$a:$code" in
        acct-ordinary-3:200) grep -q 'stub answer' "$WORK/out.json" || fail=1 ;;
        acct-ordinary-3:*) fail=1 ;;
        *:200) fail=1 ;;
        *) grep -q 'DistillWatch' "$WORK/out.json" || fail=1 ;;
    esac
done

step "DistillWatch's audit log of LiteLLM's calls"
curl -fsS "http://127.0.0.1:$DW_PORT/v1/decisions?limit=5" -H "Authorization: Bearer $ANALYST" \
    | python3 -c 'import json,sys; [print(" ", d["endpoint"], d["account_id"], d["verdict"], d["caller"]) for d in json.load(sys.stdin)["decisions"]]'

if [ $fail -ne 0 ]; then
    echo; echo "FAILED: see the answers above"; tail -30 "$WORK/litellm.log"; exit 1
fi
echo; echo "litellm-e2e: 3 passed, 0 failed"
