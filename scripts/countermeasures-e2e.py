#!/usr/bin/env python3
"""Countermeasures through a real LiteLLM proxy, end to end, all on loopback.

    clients (openai SDK) ──► LiteLLM proxy ──(distillwatch_litellm.DistillWatchGuardrail:
                                 │            POST /v1/decide, POST /v1/reasoning)──► distillwatch serve
                                 └──► OpenAI-compatible upstream (scripts/openai-stub.py), which
                                      records every request it receives and answers with reasoning
    distillwatch serve ──(reasoning_summarizer)──► the same LiteLLM proxy, model reasoning-summariser

The custom guardrail is the pip package in Integrations/litellm-guardrail, installed into the
proxy's venv, configured with the LiteLLM configuration of Documentation/Countermeasures.md
(the block after `<!-- countermeasures-e2e: this configuration -->`), and DistillWatch runs
its built-in countermeasure rules. Traffic for three accounts is ingested first so that their
verdicts are known: acct-throttled (throttle, score about 0.84), acct-review (review, about
0.71) and acct-allowed (allow). Checks, each printed as PASS/FAIL (exit status 1 if any fails):
  1. an allowed account's request reaches the upstream unchanged (max_tokens 32,000 and
     reasoning_effort kept) and its answer keeps its reasoning, streaming and not;
  2. the throttled account is refused with the verification message until an analyst marks it
     verified through the API; then the upstream receives max_tokens capped at 4,096, and the
     client gets the answer without the reasoning (reasoning_content and inline <think>
     blocks, streaming and not); a prefilled request is refused; past 20 requests a minute it
     gets 429 with Retry-After;
  3. the review account's reasoning is replaced by the summariser's summary, streaming and
     not, and its requests are capped at 8,192 tokens;
  4. DistillWatch counted the reasoning tokens not served and the refusals.

Run with the Python of a venv holding litellm[proxy]==1.106.2 and the guardrail package:
    VENV/bin/pip install ./Integrations/litellm-guardrail
    VENV/bin/python scripts/countermeasures-e2e.py --distillwatch .build/debug/distillwatch
Every wait is bounded; the run takes about a minute.
"""
import argparse
import datetime
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

from e2e_support import check, http, print_tails, results, stop, wait_for

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
INGEST, DECIDE, ANALYST = "cm-ingest-token-00000000001", "cm-decide-token-00000000002", "cm-analyst-token-0000000003"
MASTER = "sk-cm-master-key-0001"
VERIFY_URL = "https://example.com/verify-identity"


def documented_config():
    """The LiteLLM configuration of Documentation/Countermeasures.md: CI runs exactly that text."""
    text = open(os.path.join(ROOT, "Documentation/Countermeasures.md")).read()
    marker = "<!-- countermeasures-e2e: this configuration -->"
    if marker not in text:
        raise SystemExit("countermeasures-e2e: Documentation/Countermeasures.md has no block marked " + marker)
    return text.split(marker, 1)[1].split("```yaml\n", 1)[1].split("```", 1)[0]


def traffic():
    """Exchanges and account records that give the three accounts known verdicts under the
    built-in policy with volume and output-volume weights raised (the policy file below)."""
    rng = random.Random(7)
    t0 = datetime.datetime(2026, 11, 29, 8, 0, tzinfo=datetime.timezone.utc).timestamp()
    lines = []
    for name, n, out in [("acct-throttled", 400, 3000), ("acct-review", 400, 20), ("acct-allowed", 5, 100)]:
        t = t0
        for _ in range(n):
            t += rng.uniform(5, 30)
            lines.append({"time": int(t * 1000), "account_id": name, "model": "stub-model", "output_tokens": out,
                          "input_tokens": 50, "max_tokens": rng.choice([512, 1024, 2048]),
                          "temperature": rng.choice([0.2, 0.7, 1.0]), "message_count": rng.choice([1, 3, 5])})
    lines.sort(key=lambda l: l["time"])
    accounts = [{"account_id": a, "tier": tier, "created": "2026-10-01T00:00:00Z"}
                for a, tier in [("acct-throttled", "free"), ("acct-review", "free"), ("acct-allowed", "standard")]]
    return "".join(json.dumps(l) + "\n" for l in lines), "".join(json.dumps(a) + "\n" for a in accounts)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--distillwatch", default=os.path.join(ROOT, ".build/debug/distillwatch"))
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--port-base", type=int, default=18580)
    a = ap.parse_args()
    import openai  # from the litellm venv
    import distillwatch_litellm  # the package under test, installed into the same venv

    litellm_bin = os.path.join(os.path.dirname(sys.executable), "litellm")
    if not os.access(litellm_bin, os.X_OK):
        raise SystemExit(f"countermeasures-e2e: no litellm beside {sys.executable}")
    print(f"countermeasures-e2e: distillwatch_litellm {distillwatch_litellm.__version__} from "
          f"{os.path.dirname(distillwatch_litellm.__file__)}, openai SDK {openai.__version__}", flush=True)

    work = tempfile.mkdtemp(prefix="distillwatch-countermeasures-e2e-")
    dw, stub, proxy = a.port_base, a.port_base + 1, a.port_base + 2
    processes = []

    def start(args, log, env=None):
        p = subprocess.Popen(args, stdout=open(os.path.join(work, log), "w"), stderr=subprocess.STDOUT,
                             env={**os.environ, **(env or {})}, start_new_session=True)
        processes.append(p)
        return p

    try:
        with open(os.path.join(work, "policy.yaml"), "w") as f:
            f.write("# The built-in policy and countermeasure rules, with volume weighed more, so that the\n"
                    "# e2e traffic gives known verdicts.\nweights: {volume: 0.6, output_volume: 0.5}\n")
        with open(os.path.join(work, "serve.yaml"), "w") as f:
            f.write(f"""port: {dw}
database: state.sqlite
policy: policy.yaml
reorder_tolerance_seconds: 0
log_level: warning
verification_url: {VERIFY_URL}
reasoning_summarizer: {{url: "http://127.0.0.1:{proxy}/v1", model: reasoning-summariser, api_key_env: CM_MASTER_KEY, timeout_ms: 10000}}
tokens:
  - {{name: pipeline, roles: [ingest], secret_env: CM_INGEST}}
  - {{name: litellm, roles: [decide], secret_env: CM_DECIDE}}
  - {{name: alice, roles: [analyst], secret_env: CM_ANALYST}}
""")
        start([a.distillwatch, "serve", "--config", os.path.join(work, "serve.yaml")], "distillwatch.log",
              {"CM_INGEST": INGEST, "CM_DECIDE": DECIDE, "CM_ANALYST": ANALYST, "CM_MASTER_KEY": MASTER,
               "DISTILLWATCH_HOME": os.path.join(work, "home")})
        start([sys.executable, os.path.join(ROOT, "scripts/openai-stub.py"), str(stub)], "stub.log")
        wait_for(f"http://127.0.0.1:{dw}/healthz", 30, "distillwatch serve", "countermeasures-e2e")
        wait_for(f"http://127.0.0.1:{stub}/v1/models", 15, "the upstream stub", "countermeasures-e2e")

        exchanges, accounts = traffic()
        s1, _ = http("POST", f"http://127.0.0.1:{dw}/v1/accounts", INGEST, accounts)
        s2, body = http("POST", f"http://127.0.0.1:{dw}/v1/exchanges", INGEST, exchanges, timeout=60)
        http("POST", f"http://127.0.0.1:{dw}/v1/flush", ANALYST, "")
        verdicts = {}
        for acct in ["acct-throttled", "acct-review", "acct-allowed"]:
            _, b = http("GET", f"http://127.0.0.1:{dw}/v1/accounts/{acct}", ANALYST)
            verdicts[acct] = json.loads(b).get("verdict")
        check("the traffic gives the three verdicts", s1 == 200 and s2 == 200
              and verdicts == {"acct-throttled": "throttle", "acct-review": "review", "acct-allowed": "allow"}, f"{verdicts}")

        config = (documented_config().replace("http://distillwatch:8080", f"http://127.0.0.1:{dw}")
                  .replace("http://upstream:8000", f"http://127.0.0.1:{stub}"))
        with open(os.path.join(work, "litellm.yaml"), "w") as f:
            f.write(config)
        print("--- LiteLLM configuration (Documentation/Countermeasures.md, on loopback) ---\n" + config + "---", flush=True)
        start([litellm_bin, "--config", os.path.join(work, "litellm.yaml"), "--host", "127.0.0.1", "--port", str(proxy)],
              "litellm.log", {"DISTILLWATCH_DECIDE_TOKEN": DECIDE, "LITELLM_MASTER_KEY": MASTER,
                              "LITELLM_LOCAL_MODEL_COST_MAP": "True", "LITELLM_LOG": "ERROR"})
        wait_for(f"http://127.0.0.1:{proxy}/health/liveliness", 180, "the LiteLLM proxy", "countermeasures-e2e")
        client = openai.OpenAI(base_url=f"http://127.0.0.1:{proxy}/v1", api_key=MASTER, max_retries=0, timeout=60)

        def upstream_requests():
            _, b = http("GET", f"http://127.0.0.1:{stub}/_requests")
            return json.loads(b)

        def last_upstream(user):
            """The last request the upstream received for a client's model (LiteLLM does not
            pass `user` on; requests here are sequential, and the summariser's come after)."""
            mine = [r for r in upstream_requests() if r.get("model") != "reasoning-summariser"]
            return mine[-1] if mine else {}

        question = [{"role": "user", "content": "What is 17*23? Think it through."}]

        def ask(user, stream=False, model="stub-model", messages=question, **kw):
            """(answer text, reasoning text, error) as the client sees them."""
            try:
                if stream:
                    content, reasoning = [], []
                    for c in client.chat.completions.create(model=model, user=user, messages=messages, stream=True, **kw):
                        for ch in c.choices:
                            content.append(ch.delta.content or "")
                            reasoning.append(getattr(ch.delta, "reasoning_content", None) or "")
                    return "".join(content), "".join(reasoning), None
                r = client.chat.completions.create(model=model, user=user, messages=messages, **kw)
                m = r.choices[0].message
                return m.content, getattr(m, "reasoning_content", None) or "", None
            except openai.APIStatusError as e:
                return None, None, e

        # 1. An allowed account: untouched both ways.
        for stream in (False, True):
            text, reasoning, error = ask("acct-allowed", stream=stream, max_tokens=32000, reasoning_effort="high")
            up = last_upstream("acct-allowed")
            check(f"allowed account, {'streaming' if stream else 'not streaming'}: request and answer unchanged",
                  error is None and up.get("max_tokens") == 32000 and up.get("reasoning_effort") == "high"
                  and text == "stub answer" and reasoning.startswith("Step 1"),
                  f"upstream max_tokens {up.get('max_tokens')}, reasoning_effort {up.get('reasoning_effort')}; "
                  f"answer {text!r}, reasoning {reasoning[:30]!r}, error {error}")

        # 2. The throttled account: verification first.
        before = len(upstream_requests())
        text, _, error = ask("acct-throttled", max_tokens=32000)
        message = str(getattr(error, "message", "")) + json.dumps(getattr(error, "body", None) or {})
        check("the throttled account is refused until verified, with where to verify",
              error is not None and error.status_code == 403 and VERIFY_URL in message and "verify" in message
              and len(upstream_requests()) == before, f"{getattr(error, 'status_code', None)}: {message[:200]}")
        status, body = http("POST", f"http://127.0.0.1:{dw}/v1/accounts/acct-throttled/verify", ANALYST,
                            json.dumps({"method": "id_document", "note": "countermeasures-e2e"}))
        check("an analyst marks it verified through the API", status == 200 and json.loads(body).get("verified") is True,
              f"HTTP {status}: {body[:200]!r}")
        for stream in (False, True):
            text, reasoning, error = ask("acct-throttled", stream=stream, max_tokens=32000, reasoning_effort="high")
            up = last_upstream("acct-throttled")
            check(f"throttled account, {'streaming' if stream else 'not streaming'}: the upstream receives max_tokens 4096 "
                  "and the client no reasoning",
                  error is None and up.get("max_tokens") == 4096 and text == "stub answer" and reasoning == "",
                  f"upstream max_tokens {up.get('max_tokens')}; answer {text!r}, reasoning {reasoning[:40]!r}, error {error}")
        for stream in (False, True):
            text, reasoning, error = ask("acct-throttled", stream=stream, model="stub-r1", max_tokens=1000)
            check(f"throttled account, inline <think> reasoning removed ({'streaming' if stream else 'not streaming'})",
                  error is None and text == "The answer is 391." and "<think>" not in (text or "") and reasoning == "",
                  f"answer {text!r}, reasoning {reasoning!r}, error {error}")
        prefill = question + [{"role": "assistant", "content": "Sure. Step 1:"}]
        _, _, error = ask("acct-throttled", messages=prefill, max_tokens=100)
        check("a prefilled request is refused", error is not None and error.status_code == 403
              and "prefill" in str(getattr(error, "message", "")), f"{getattr(error, 'status_code', None)} {error}")
        limited, sent = None, 0
        for k in range(30):
            sent += 1
            _, _, error = ask("acct-throttled", max_tokens=10)
            if error is not None and error.status_code == 429:
                limited = error
                break
        retry_after = limited.response.headers.get("retry-after") if limited is not None else None
        check("past 20 requests a minute the throttled account gets 429 with Retry-After",
              limited is not None and retry_after is not None and int(retry_after) >= 1,
              f"429 after {sent} more requests, Retry-After {retry_after}")

        # 3. The review account: the summariser's summary instead of the reasoning.
        for stream in (False, True):
            text, reasoning, error = ask("acct-review", stream=stream, max_tokens=32000, reasoning_effort="high")
            up = last_upstream("acct-review")
            check(f"review account, {'streaming' if stream else 'not streaming'}: the reasoning is the summariser's summary",
                  error is None and text == "stub answer" and reasoning.startswith("Summary:") and "Step 1" not in reasoning
                  and up.get("max_tokens") == 8192,
                  f"answer {text!r}, reasoning {reasoning[:60]!r}, upstream max_tokens {up.get('max_tokens')}, error {error}")
        summariser_calls = [r for r in upstream_requests() if r.get("model") == "reasoning-summariser"]
        check("the summariser was asked with the reasoning, never the client",
              len(summariser_calls) >= 2 and all("Step 1" in json.dumps(r["messages"]) for r in summariser_calls),
              f"{len(summariser_calls)} summariser calls")

        # 4. What DistillWatch counted.
        _, metrics = http("GET", f"http://127.0.0.1:{dw}/metrics", ANALYST)
        metrics = metrics.decode()
        withheld = sum(float(l.split()[-1]) for l in metrics.splitlines()
                       if l.startswith("distillwatch_reasoning_withheld_tokens_total"))
        refusals = {l.split("{")[1].split("}")[0]: float(l.split()[-1]) for l in metrics.splitlines()
                    if l.startswith("distillwatch_refusals_total") and float(l.split()[-1]) > 0}
        summaries = [l for l in metrics.splitlines() if l.startswith("distillwatch_reasoning_summaries_total") and not l.endswith(" 0")]
        check("reasoning tokens not served are counted", withheld > 0, f"{withheld:.0f} tokens")
        check("refusals are counted by directive",
              any("require_verification" in k for k in refusals) and any("deny_prefill" in k for k in refusals)
              and any("rate_limit" in k for k in refusals), f"{refusals}")
        check("summaries came from the summariser", any('source="summarizer"' in l for l in summaries), f"{summaries}")
        print("countermeasures-e2e: " + "; ".join(l for l in metrics.splitlines()
                                                  if l.startswith(("distillwatch_reasoning", "distillwatch_refusals")) and not l.endswith(" 0")),
              flush=True)
    finally:
        stop(processes)
        failed = [n for n, ok in results if not ok]
        if failed:
            print_tails(work, ["distillwatch.log", "litellm.log", "stub.log"], lines=30)
        if a.keep or failed:
            print(f"countermeasures-e2e: work folder kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print(f"countermeasures-e2e: {len(results) - len(failed)} passed, {len(failed)} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
