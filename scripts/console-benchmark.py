#!/usr/bin/env python3
"""Console benchmark: server time of the console's pages at the sizes issue 19 names.

Builds a population of 100,000 accounts: one campaign of 25,000 accounts (free-tier
sign-ups sharing payment fingerprints and a user-agent pool, rotating through proxy exits
in many networks and countries, identical request parameters) and 75,000 ordinary
accounts (their own address, client and parameters). Ingests it into a real
`distillwatch serve` (SQLite store), then times each page with a signed-in session over
loopback, alternating pages, and prints median and 90th percentile (time to the last
byte, which on loopback is the server's time plus well under a millisecond).

Targets (issue 19): the campaign page of the 25,000-member campaign under 300 ms, the
overview with 100,000 accounts under 200 ms. It also prints the size of the HTML report
of `eval --scenario hydra-2026 --scale 0.1 --html` (target: under 5 MB).

Usage: scripts/console-benchmark.py --distillwatch .build/release/distillwatch [--members 25000]
       [--others 75000] [--repeat 15] [--skip-report]
This is a benchmark, not a test: it prints figures and exits 0 unless something fails.
"""
import argparse
import http.client
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse

TOKEN = "bench-analyst-ingest-0000000001"


def generate(members, others, seed=7):
    """(account lines, exchange lines) in time order."""
    rng = random.Random(seed)
    accounts, items = [], []
    start = 1775001600  # 2026-04-01T00:00:00Z
    countries = ["US", "BR", "IN", "DE", "VN", "ID", "NG", "MX"]
    agents = [f"python-httpx/0.2{k}" for k in range(4)]
    for k in range(members):
        aid = f"hydra-{k:05d}"
        created = start - 3600 * 24 + (k // 500) * 60
        accounts.append(json.dumps({"account_id": aid, "tier": "free", "verified": False,
                                    "payment_fingerprint": f"pf-{k % 40}", "created": iso(created)}))
        t = start + rng.random() * 3600
        for n in range(12):
            asn = 64500 + rng.randrange(60)
            items.append((t, json.dumps({
                "time": iso(t), "account_id": aid, "model": "frontier-1", "input_tokens": 800, "output_tokens": 1600,
                "max_tokens": 32000, "temperature": 1.0, "stream": False, "thinking": True, "message_count": 1,
                "client_ip": f"203.{asn % 250}.{rng.randrange(250)}.{rng.randrange(250)}", "asn": asn,
                "country": countries[rng.randrange(len(countries))], "user_agent": agents[k % 4],
                "client_fingerprint": f"ja4-{k % 4}", "status": 200})))
            t += 1200 + rng.random() * 600
    for k in range(others):
        aid = f"cust-{k:06d}"
        accounts.append(json.dumps({"account_id": aid, "tier": "standard", "verified": True,
                                    "payment_fingerprint": f"card-{k}", "created": iso(start - 86400 * (30 + k % 300))}))
        t = start + rng.random() * 6 * 3600
        for n in range(2):
            items.append((t, json.dumps({
                "time": iso(t), "account_id": aid, "model": "frontier-1", "input_tokens": 300, "output_tokens": 400,
                "max_tokens": 1000 + k % 7 * 500, "temperature": 0.2 + (k % 5) / 10, "stream": True,
                "message_count": 3 + k % 4, "client_ip": f"10.{k // 65536 % 256}.{k // 256 % 256}.{k % 256}",
                "asn": 7922, "country": "US", "user_agent": f"acme-app/{k % 97}", "status": 200})))
            t += 600 + rng.random() * 3600
    items.sort(key=lambda x: x[0])
    return accounts, [line for _, line in items]


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int((t % 1) * 1000):03d}Z"


class Client:
    def __init__(self, port):
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)

    def request(self, method, path, body=None, headers=None):
        self.conn.request(method, path, body=body, headers=headers or {})
        r = self.conn.getresponse()
        headers = dict(r.getheaders())
        headers["Set-Cookie"] = "; ".join(r.msg.get_all("Set-Cookie") or [])
        return r.status, headers, r.read()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--distillwatch", required=True)
    ap.add_argument("--members", type=int, default=25_000)
    ap.add_argument("--others", type=int, default=75_000)
    ap.add_argument("--repeat", type=int, default=15)
    ap.add_argument("--skip-report", action="store_true")
    a = ap.parse_args()
    binary = os.path.abspath(a.distillwatch)
    work = tempfile.mkdtemp(prefix="console-bench-")
    server = None
    try:
        t0 = time.time()
        accounts, exchanges = generate(a.members, a.others)
        print(f"generated {len(accounts):,} accounts and {len(exchanges):,} exchanges in {time.time() - t0:.1f} s")
        log = open(os.path.join(work, "serve.log"), "w")
        server = subprocess.Popen([binary, "serve", "--port", "0", "--database", os.path.join(work, "db.sqlite"),
                                   "--token", f"bench:ingest+analyst:{TOKEN}", "--reorder-tolerance-seconds", "0",
                                   "--max-buffered-exchanges", "2000000"],
                                  stdout=subprocess.PIPE, stderr=log, text=True)
        line = server.stdout.readline()
        port = int(re.search(r":(\d+)$", line.strip()).group(1))
        c = Client(port)
        auth = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/x-ndjson"}
        t0 = time.time()
        for i in range(0, len(accounts), 20_000):
            s, _, b = c.request("POST", "/v1/accounts", "\n".join(accounts[i:i + 20_000]) + "\n", auth)
            assert s == 200, b[:300]
        for i in range(0, len(exchanges), 20_000):
            s, _, b = c.request("POST", "/v1/exchanges", "\n".join(exchanges[i:i + 20_000]) + "\n", auth)
            assert s == 200, b[:300]
        s, _, b = c.request("POST", "/v1/flush", None, {"Authorization": f"Bearer {TOKEN}"})
        assert s == 200, b[:300]
        print(f"ingested into serve in {time.time() - t0:.1f} s")
        s, _, b = c.request("GET", "/v1/campaigns", None, {"Authorization": f"Bearer {TOKEN}"})
        campaigns = sorted(json.loads(b)["campaigns"], key=lambda x: -len(x["accounts"]))
        assert campaigns, "no campaign was found"
        big = campaigns[0]
        print(f"largest campaign: {big['campaign_id']} with {len(big['accounts']):,} members, verdict {big['verdict']}; "
              f"{len(campaigns)} campaign(s)")
        s, _, b = c.request("GET", "/v1/status", None, {"Authorization": f"Bearer {TOKEN}"})
        print(f"engine: {json.loads(b)['engine']['accounts']:,} accounts")
        # Sign in.
        s, h, body = c.request("GET", "/console/login")
        login = re.search(r"dw_login=([0-9a-f]+)", h.get("Set-Cookie", "")).group(1)
        csrf = re.search(rb'name="csrf" value="([0-9a-f]+)"', body).group(1).decode()
        s, h, _ = c.request("POST", "/console/login", urllib.parse.urlencode({"csrf": csrf, "token": TOKEN}),
                            {"Cookie": f"dw_login={login}", "Content-Type": "application/x-www-form-urlencoded"})
        session = re.search(r"dw_session=([0-9a-f]+)", h.get("Set-Cookie", "")).group(1)
        cookie = {"Cookie": f"dw_session={session}"}
        pages = {
            "overview (100,000 accounts)": "/console",
            f"campaign page ({len(big['accounts']):,} members)": f"/console/campaigns/{big['campaign_id']}",
            "campaign page, members page 200": f"/console/campaigns/{big['campaign_id']}?page=200",
            "campaigns list": "/console/campaigns",
            "account page (a member)": f"/console/accounts/{big['accounts'][0]}",
            "search by address prefix": "/console/search?q=203.1",
            "screening (100,000 active accounts)": "/console/screening?from=2026-04-01&to=2026-04-02&min_exchanges=10",
        }
        times = {name: [] for name in pages}
        sizes = {}
        cold = {}
        for name, path in pages.items():  # the first request of each page (caches empty)
            t = time.perf_counter()
            s, _, body = c.request("GET", path, None, cookie)
            cold[name] = (time.perf_counter() - t) * 1000
            assert s == 200, (path, s, body[:300])
        for _ in range(2):  # warm-up
            for path in pages.values():
                c.request("GET", path, None, cookie)
        for _ in range(a.repeat):
            for name, path in pages.items():
                t = time.perf_counter()
                s, _, body = c.request("GET", path, None, cookie)
                times[name].append((time.perf_counter() - t) * 1000)
                assert s == 200, (path, s, body[:300])
                sizes[name] = len(body)
        targets = {"overview (100,000 accounts)": 200, f"campaign page ({len(big['accounts']):,} members)": 300}
        print(f"\n{'page':<42} {'first ms':>9} {'median ms':>10} {'p90 ms':>8} {'KB':>7}  target (median)")
        for name, ts in times.items():
            ts.sort()
            p90 = ts[min(len(ts) - 1, int(len(ts) * 0.9))]
            target = targets.get(name)
            verdict = "" if target is None else (f"< {target} ms: {'met' if statistics.median(ts) < target else 'NOT met'}")
            print(f"{name:<42} {cold[name]:>9.1f} {statistics.median(ts):>10.1f} {p90:>8.1f} {sizes[name] / 1024:>7.1f}  {verdict}")
        server.terminate()
        server.wait(timeout=60)
        server = None
        if not a.skip_report:
            out = os.path.join(work, "hydra.html")
            t0 = time.time()
            r = subprocess.run([binary, "eval", "--scenario", "hydra-2026", "--scale", "0.1", "--html", out, "--no-progress"],
                               capture_output=True, text=True)
            assert r.returncode == 0, r.stderr[-2000:]
            size = os.path.getsize(out)
            print(f"\nHTML report of eval --scenario hydra-2026 --scale 0.1: {size / 1e6:.2f} MB "
                  f"({'met' if size < 5e6 else 'NOT met'}: target under 5 MB; {time.time() - t0:.0f} s with the evaluation)")
    finally:
        if server:
            server.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
