#!/usr/bin/env python3
"""Writes the bodies of the LiteLLM load test into a folder:

  logs-0 .. logs-(B-1)        json_array batches of P StandardLoggingPayloads, each in the
                              shape LiteLLM 1.106.2 sends (about 12 KB: model map, cost
                              breakdown, headers), 1,000 accounts, distinct call ids
  guard2k-0 .. guard2k-(G-1)  guardrail calls with a ~2 KB body
  guard300k-0 .. -(G-1)       guardrail calls with a ~300 KB body (a 140 KB paste, sent twice)

Usage: litellm_bodies.py TEMPLATE.json OUT_DIR [BATCHES=20] [PER_BATCH=100] [GUARDRAIL_BODIES=20]
TEMPLATE is a captured StandardLoggingPayload array (Tests/Fixtures/gateway/litellm/21-...).
"""
import copy
import json
import sys

template = json.load(open(sys.argv[1]))[0]
out = sys.argv[2]
batches = int(sys.argv[3]) if len(sys.argv) > 3 else 20
per_batch = int(sys.argv[4]) if len(sys.argv) > 4 else 100
guardrails = int(sys.argv[5]) if len(sys.argv) > 5 else 20
start = 1_795_000_000.0
k = 0
for b in range(batches):
    payloads = []
    for _ in range(per_batch):
        p = copy.deepcopy(template)
        account = f"acct-{k % 1000}"
        p["litellm_call_id"] = f"load-call-{k}"
        p["id"] = f"chatcmpl-{k}"
        p["startTime"] = start + k * 0.01
        p["endTime"] = p["startTime"] + 0.4
        p["end_user"] = account
        p["metadata"]["user_api_key_end_user_id"] = account
        p["model_parameters"]["user"] = account
        p["messages"] = [{"role": "user", "content": f"Question {k}: explain step by step how a hash map resizes."}]
        payloads.append(p)
        k += 1
    with open(f"{out}/logs-{b}", "w") as f:
        json.dump(payloads, f)


def guardrail(i, prompt):
    return json.dumps({
        "input_type": "request", "litellm_call_id": f"guard-call-{i}", "litellm_trace_id": f"trace-{i}",
        "structured_messages": [{"role": "system", "content": "You are a coding agent."}, {"role": "user", "content": prompt}],
        "images": None, "tools": None, "texts": ["You are a coding agent.", prompt],
        "request_data": {"user_api_key_hash": "litellm_proxy_master_key", "user_api_key_user_id": "default_user_id",
                         "user_api_key_end_user_id": f"acct-{i % 1000}"},
        "request_headers": {"host": "127.0.0.1", "user-agent": "OpenAI/Python 1.99.0", "content-type": "application/json"},
        "litellm_version": "1.106.2", "additional_provider_specific_params": {}, "tool_calls": None, "model": "stub-model",
    })


small = "Review this function and explain step by step what it does:\n" + "def f(x):\n    return x + 1\n" * 32
big = "Review this file:\n" + "def f(x):\n    return x + 1\n" * 5_400
for i in range(guardrails):
    for name, prompt in [("guard2k", small), ("guard300k", big)]:
        with open(f"{out}/{name}-{i}", "w") as f:
            f.write(guardrail(i, prompt))
