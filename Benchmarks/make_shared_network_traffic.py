#!/usr/bin/env python3
"""Writes the shared-network throughput file of issue 21: 1,000,000 v1 exchanges (about 800
bytes each) from 20,000 accounts whose addresses all lie in 198.51.0.0/16 (by default each exchange from a random address of it,
as behind a rotating proxy pool), each with a random
500-byte prompt drawn from a 6,000-word vocabulary, in time order over seven days.

Deterministic for a given --seed. Plain text, no dependencies.

usage: python3 Benchmarks/make_shared_network_traffic.py OUT.jsonl [--exchanges 1000000]
       [--accounts 20000] [--prompt-bytes 500] [--vocabulary 6000] [--days 7] [--seed 21]
       [--addresses per-exchange|per-account]
"""
import argparse, json, random, string
from datetime import datetime, timedelta, timezone

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--exchanges", type=int, default=1_000_000)
    ap.add_argument("--accounts", type=int, default=20_000)
    ap.add_argument("--prompt-bytes", type=int, default=500)
    ap.add_argument("--vocabulary", type=int, default=6_000)
    ap.add_argument("--days", type=int, default=7)
    ap.add_argument("--seed", type=int, default=21)
    ap.add_argument("--addresses", choices=["per-exchange", "per-account"], default="per-exchange",
                    help="each exchange from a random address of the /16 (a rotating pool: the default), "
                         "or each account from one address of it")
    args = ap.parse_args()
    rng = random.Random(args.seed)

    words = set()
    while len(words) < args.vocabulary:
        words.add("".join(rng.choices(string.ascii_lowercase, k=rng.randint(3, 10))))
    words = sorted(words)
    accounts = [f"acct-{i:05d}" for i in range(args.accounts)]
    address = {a: f"198.51.{rng.randrange(256)}.{rng.randrange(1, 255)}" for a in accounts}
    models = ["model-large", "model-medium", "model-small"]
    agents = ["python-httpx/0.27.0", "OpenAI/Python 1.54.0", "curl/8.5.0", "Mozilla/5.0 (X11; Linux x86_64)"]
    agent = {a: rng.choice(agents) for a in accounts}

    span_ms = args.days * 86_400_000
    times = sorted(rng.randrange(span_ms) for _ in range(args.exchanges))
    start = datetime(2026, 11, 1, tzinfo=timezone.utc)

    def prompt():
        out, size = [], 0
        while size < args.prompt_bytes:
            w = rng.choice(words)
            out.append(w)
            size += len(w) + 1
        return " ".join(out)[: args.prompt_bytes]

    with open(args.out, "w") as f:
        for n, offset in enumerate(times):
            a = accounts[rng.randrange(args.accounts)]
            t = start + timedelta(milliseconds=offset)
            record = {
                "time": t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z",
                "account_id": a,
                "request_id": f"req-{n:08d}",
                "model": rng.choice(models),
                "input_tokens": rng.randint(80, 200),
                "output_tokens": rng.randint(50, 900),
                "finish_reason": "stop",
                "status": 200,
                "latency_ms": rng.randint(300, 9000),
                "client_ip": address[a] if args.addresses == "per-account"
                             else f"198.51.{rng.randrange(256)}.{rng.randrange(1, 255)}",
                "user_agent": agent[a],
                "prompt": prompt(),
            }
            f.write(json.dumps(record, separators=(",", ":")))
            f.write("\n")

if __name__ == "__main__":
    main()
