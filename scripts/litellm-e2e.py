#!/usr/bin/env python3
"""DistillWatch behind a real LiteLLM proxy, end to end, all on loopback.

    clients (openai SDK) ──► LiteLLM proxy ──(generic_guardrail_api, pre_call)──► distillwatch serve
                                 │  └──(generic_api logging callback, json_array)──► /v1/litellm/logs
                                 └──► tiny OpenAI-compatible upstream (scripts/openai-stub.py)

Nothing else feeds DistillWatch: it learns only from LiteLLM's guardrail calls and logs.
Checks, each printed as PASS/FAIL (exit status 1 if any fails):
  1. a harvester (the simulator's bulk-harvester pattern: single-turn chain-of-thought
     prompts, max_tokens pinned at 32,000, temperature 1, streaming and not) is flagged and
     then refused by the proxy, while an ordinary user beside it is served throughout;
  2. a 300 KB request from the ordinary user is served;
  3. an analyst-blocked account is refused under every documented fallback setting
     (unreachable_fallback: fail_closed, unreachable_fallback: fail_open,
     fail_on_error: false), with a small prompt and with a 300 KB one;
  4. DistillWatch holds one exchange per request (the guardrail's and the log's views
     merged by litellm_call_id), and the logging callback's payloads were accepted;
  5. with DistillWatch stopped, fail_closed refuses and the two others serve.

Run with the Python of a venv holding litellm[proxy]==1.106.2 (it brings the openai SDK):
    VENV/bin/python scripts/litellm-e2e.py --distillwatch .build/debug/distillwatch
Options: --requests N (harvester requests, default 300), --keep (leave the work folder).
Every wait is bounded; the run takes about 70 seconds (and LiteLLM's install about a minute more).
"""
import argparse
import copy
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

from e2e_support import check, http, print_tails, results, stop, wait_for

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
INGEST, DECIDE, ANALYST = "e2e-ingest-token-0000000001", "e2e-decide-token-0000000002", "e2e-analyst-token-000000003"
MASTER = "sk-e2e-master-key-0001"
GUARDRAIL_SETTINGS = {
    "dw-fail-closed": {"unreachable_fallback": "fail_closed"},
    "dw-fail-open": {"unreachable_fallback": "fail_open"},
    "dw-fail-on-error-false": {"fail_on_error": False},
}






def readme_config():
    """The LiteLLM configuration of README.md's "Connect LiteLLM" section: the block after
    `<!-- litellm-e2e: this configuration -->`. CI runs exactly that text."""
    text = open(os.path.join(ROOT, "README.md")).read()
    marker = "<!-- litellm-e2e: this configuration -->"
    if marker not in text:
        raise SystemExit("litellm-e2e: README.md has no block marked " + marker)
    block = text.split(marker, 1)[1].split("```yaml\n", 1)[1].split("```", 1)[0]
    return block


def local(config_text, dw, stub):
    """The README's configuration with its host names pointed at this run's loopback ports."""
    return (config_text.replace("http://distillwatch:8080", f"http://127.0.0.1:{dw}")
            .replace("http://upstream:8000", f"http://127.0.0.1:{stub}"))


def fallback_variants(config_text):
    """The README's guardrail three times, once per documented failure setting, none on by
    default (each request names the one it tests), and no logging callback."""
    import yaml  # PyYAML, a dependency of litellm[proxy]
    config = yaml.safe_load(config_text)
    base = config["guardrails"][0]
    variants = []
    for name, settings in GUARDRAIL_SETTINGS.items():
        g = copy.deepcopy(base)
        g["guardrail_name"] = name
        params = g["litellm_params"]
        params.pop("unreachable_fallback", None)
        params.pop("fail_on_error", None)
        params.update(settings)
        params["default_on"] = False
        variants.append(g)
    config["guardrails"] = variants
    config.pop("litellm_settings", None)
    config.pop("callback_settings", None)
    return yaml.safe_dump(config, sort_keys=False)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--distillwatch", default=os.path.join(ROOT, ".build/debug/distillwatch"))
    ap.add_argument("--requests", type=int, default=300)
    ap.add_argument("--interval", type=float, default=0.12,
                    help="seconds between harvester requests (the run must outlast the 10 s reorder tolerance)")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--port-base", type=int, default=18480)
    a = ap.parse_args()
    import openai  # from the litellm venv

    litellm_bin = os.path.join(os.path.dirname(sys.executable), "litellm")
    if not os.access(litellm_bin, os.X_OK):
        raise SystemExit(f"litellm-e2e: no litellm beside {sys.executable}: run me with the Python of a venv holding litellm[proxy]")
    version = subprocess.run([os.path.join(os.path.dirname(sys.executable), "pip"), "show", "litellm"],
                             capture_output=True, text=True).stdout
    version = next((l.split()[1] for l in version.splitlines() if l.startswith("Version")), "unknown")
    print(f"litellm-e2e: LiteLLM {version}, openai SDK {openai.__version__}, {a.distillwatch}", flush=True)

    work = tempfile.mkdtemp(prefix="distillwatch-litellm-e2e-")
    dw, stub, proxy, matrix = a.port_base, a.port_base + 1, a.port_base + 2, a.port_base + 3
    processes = []

    def start(args, log, env=None):
        p = subprocess.Popen(args, stdout=open(os.path.join(work, log), "w"), stderr=subprocess.STDOUT,
                             env={**os.environ, **(env or {})}, start_new_session=True)
        processes.append(p)
        return p

    try:
        start([a.distillwatch, "serve", "--port", str(dw), "--database", os.path.join(work, "state.sqlite"),
               "--reorder-tolerance-seconds", "10", "--litellm-refuse-at", "throttle", "--content-key", "00112233445566778899aabbccddeeff", "--log-level", "warning"],
              "distillwatch.log", {"DISTILLWATCH_TOKENS": f"litellm-logs:ingest:{INGEST} litellm:decide:{DECIDE} alice:analyst:{ANALYST}",
                                   "DISTILLWATCH_HOME": os.path.join(work, "home")})
        start([sys.executable, os.path.join(ROOT, "scripts/openai-stub.py"), str(stub)], "stub.log")
        wait_for(f"http://127.0.0.1:{dw}/healthz", 30, "distillwatch serve", "litellm-e2e")
        wait_for(f"http://127.0.0.1:{stub}/v1/models", 15, "the upstream stub", "litellm-e2e")

        env = {"DISTILLWATCH_DECIDE_TOKEN": DECIDE, "DISTILLWATCH_INGEST_TOKEN": INGEST, "LITELLM_MASTER_KEY": MASTER,
               "LITELLM_LOCAL_MODEL_COST_MAP": "True", "LITELLM_LOG": "ERROR"}
        production = local(readme_config(), dw, stub)
        fallbacks = fallback_variants(production)
        for name, text in [("litellm.yaml", production), ("litellm-fallbacks.yaml", fallbacks)]:
            with open(os.path.join(work, name), "w") as f:
                f.write(text)
        print("--- LiteLLM configuration (README.md, \"Connect LiteLLM\", on loopback) ---\n" + production + "---", flush=True)
        start([litellm_bin, "--config", os.path.join(work, "litellm.yaml"), "--host", "127.0.0.1", "--port", str(proxy)],
              "litellm.log", env)
        start([litellm_bin, "--config", os.path.join(work, "litellm-fallbacks.yaml"), "--host", "127.0.0.1", "--port", str(matrix)],
              "litellm-fallbacks.log", env)
        wait_for(f"http://127.0.0.1:{proxy}/health/liveliness", 180, "the LiteLLM proxy", "litellm-e2e")
        wait_for(f"http://127.0.0.1:{matrix}/health/liveliness", 180, "the second LiteLLM proxy", "litellm-e2e")

        status, _ = http("POST", f"http://127.0.0.1:{dw}/v1/accounts/acct-blocked/label", ANALYST,
                         json.dumps({"label": "confirmed_attack", "note": "litellm-e2e: chargeback ring"}))
        check("an analyst labels acct-blocked", status == 200, f"HTTP {status}")

        harvester = openai.OpenAI(base_url=f"http://127.0.0.1:{proxy}/v1", api_key=MASTER, max_retries=0, timeout=30,
                                  default_headers={"User-Agent": "python-requests/2.31.0"})
        ordinary = openai.OpenAI(base_url=f"http://127.0.0.1:{proxy}/v1", api_key=MASTER, max_retries=0, timeout=60)

        def ask(client, user, messages, **kw):
            """Returns (served, detail)."""
            try:
                if kw.get("stream"):
                    text = "".join((c.choices[0].delta.content or "") for c in
                                   client.chat.completions.create(model="stub-model", user=user, messages=messages, **kw) if c.choices)
                else:
                    text = client.chat.completions.create(model="stub-model", user=user, messages=messages, **kw).choices[0].message.content
                return text == "stub answer", text
            except openai.APIStatusError as e:
                return False, f"HTTP {e.status_code}: {str(e.message)[:200]}"

        # 1. The harvester and an ordinary user side by side.
        first_refusal, refused_after, rate_limited, ordinary_refused, ordinary_served, refusal_text = None, 0, 0, [], 0, ""
        conversation = [{"role": "system", "content": "You are a helpful assistant for our internal wiki."}]
        started = time.time()
        for k in range(a.requests):
            served, detail = ask(harvester, "acct-harvester",
                                 [{"role": "user", "content": f"Solve problem #{k} and think step by step, showing all of your reasoning "
                                   f"before the final answer: how many lattice paths cross a {k % 17 + 3}x{k % 13 + 2} grid?"}],
                                 max_tokens=32000, temperature=1, stream=(k % 2 == 1))
            time.sleep(a.interval)
            if not served and "DistillWatch" in detail:
                if first_refusal is None:
                    first_refusal, refusal_text = k, detail
                refused_after += 1
            elif not served:
                rate_limited += 1   # the upstream's own rate limit (429), before DistillWatch refuses
            if k % 10 == 0:
                conversation.append({"role": "user", "content": f"Can you summarise section {k // 10} of the onboarding guide?"})
                ok, detail = ask(ordinary, "acct-ordinary", conversation[-6:], max_tokens=[512, 1024, 2048][k % 3],
                                 temperature=[0.2, 0.7][k % 2], stream=(k % 20 == 0))
                conversation.append({"role": "assistant", "content": "stub answer"})
                ordinary_served += ok
                if not ok:
                    ordinary_refused.append((k, detail))
        seconds = time.time() - started
        print(f"litellm-e2e: {a.requests} harvester requests and {ordinary_served + len(ordinary_refused)} ordinary ones in {seconds:.1f} s",
              flush=True)
        check("the harvester is refused by the proxy", first_refusal is not None and "DistillWatch" in refusal_text,
              f"first refused at request {first_refusal}, {refused_after} of {a.requests} refused, {rate_limited} rate-limited "
              f"by the upstream; {refusal_text[:160]}")
        check("once refused, the harvester stays refused", first_refusal is not None and refused_after == a.requests - first_refusal)
        check("the ordinary user is served throughout", not ordinary_refused and ordinary_served > 0,
              f"{ordinary_served} served; refused: {ordinary_refused[:3]}")

        # 2. A 300 KB request (an ordinary long-context paste; LiteLLM sends it to the guardrail twice).
        paste = "def f(x):\n    return x + 1\n" * 11_200
        served, detail = ask(ordinary, "acct-ordinary", [{"role": "user", "content": "Review this file:\n" + paste}], max_tokens=1024)
        check("a 300 KB request is served", served and len(paste) >= 300_000, f"{len(paste):,} bytes; {detail[:120]}")

        # 3. The analyst-blocked account under every documented fallback setting.
        for name in GUARDRAIL_SETTINGS:
            for size, content in [("small", "Think step by step: what is 17*23?"), ("300 KB", "Review this file:\n" + paste)]:
                client = openai.OpenAI(base_url=f"http://127.0.0.1:{matrix}/v1", api_key=MASTER, max_retries=0, timeout=60)
                served, detail = ask(client, "acct-blocked", [{"role": "user", "content": content}], max_tokens=256,
                                     extra_body={"guardrails": [name]})
                check(f"acct-blocked is refused under {name} ({size} prompt)", not served and "DistillWatch" in detail, detail[:120])
            served, detail = ask(openai.OpenAI(base_url=f"http://127.0.0.1:{matrix}/v1", api_key=MASTER, max_retries=0, timeout=60),
                                 "acct-ordinary", [{"role": "user", "content": "hello"}], max_tokens=64, extra_body={"guardrails": [name]})
            check(f"an ordinary account is served under {name}", served, detail[:120])

        # 4. What DistillWatch learned, from LiteLLM alone.
        time.sleep(7)  # LiteLLM's generic_api logger flushes every 5 s
        http("POST", f"http://127.0.0.1:{dw}/v1/flush", ANALYST, "")
        _, body = http("GET", f"http://127.0.0.1:{dw}/v1/status", ANALYST)
        engine = json.loads(body)["engine"]
        _, metrics = http("GET", f"http://127.0.0.1:{dw}/metrics", ANALYST)
        metrics = metrics.decode()
        logged = sum(float(l.split()[-1]) for l in metrics.splitlines() if l.startswith('distillwatch_exchanges_total{result="accepted"}'))
        _, h = http("GET", f"http://127.0.0.1:{dw}/v1/accounts/acct-harvester", ANALYST)
        h = json.loads(h)
        _, o = http("GET", f"http://127.0.0.1:{dw}/v1/accounts/acct-ordinary", ANALYST)
        o = json.loads(o)
        print(f"litellm-e2e: DistillWatch status {json.dumps(engine)}; log payloads accepted {logged:.0f}", flush=True)
        check("the logging callback's payloads were accepted", logged > 0, f"{logged:.0f}")
        check("guardrail and log views were merged by litellm_call_id", engine.get("merged_exchanges", 0) > 0,
              f"{engine.get('merged_exchanges')} merged")
        check("the harvester is flagged, one exchange per request it sent",
              h.get("verdict") in ("throttle", "block") and h.get("exchanges") == a.requests,
              f"verdict {h.get('verdict')}, score {h.get('score')}, {h.get('exchanges')} exchanges, "
              f"signals {[s['name'] for s in h.get('signals', [])][:5]}")
        check("the ordinary user is allowed", o.get("verdict") == "allow", f"verdict {o.get('verdict')}, {o.get('exchanges')} exchanges")

        # 5. DistillWatch down: what each failure setting does with an ordinary request.
        dw_process = processes[0]
        os.killpg(dw_process.pid, signal.SIGTERM)
        dw_process.wait(timeout=15)
        for name, refuses in [("dw-fail-closed", True), ("dw-fail-open", False), ("dw-fail-on-error-false", False)]:
            client = openai.OpenAI(base_url=f"http://127.0.0.1:{matrix}/v1", api_key=MASTER, max_retries=0, timeout=60)
            served, detail = ask(client, "acct-ordinary", [{"role": "user", "content": "hello"}], max_tokens=64,
                                 extra_body={"guardrails": [name]})
            check(f"with DistillWatch down, {name} {'refuses' if refuses else 'serves'}", served != refuses, detail[:120])
    finally:
        stop(processes)
        failed = [n for n, ok in results if not ok]
        if failed:
            print_tails(work, ["distillwatch.log", "litellm.log", "litellm-fallbacks.log"], lines=25)
        if a.keep or failed:
            print(f"litellm-e2e: work folder kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print(f"litellm-e2e: {len(results) - len(failed)} passed, {len(failed)} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
