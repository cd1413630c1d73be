"""Live shards (issue 22, item 5), run by clickhouse-e2e.py once the sharded scans of run r1
and their campaign step are in ClickHouse:

  - two `serve --shard k/2` nodes (each reading run r1's campaign step from ClickHouse) and
    one unsharded `serve` node take the same traffic, posted to the shard nodes alternately,
    so that each passes half of every batch to the other; every account is then asked
    through shard 0's node (half of them forwarded to shard 1's): the flagged accounts and
    verdicts are compared with the unsharded node's, with and without the campaign step;
  - the owner down: decide answers allow marked owner_unavailable; a batch holding its
    accounts is refused whole (503), nothing written on the node that got it; once the owner
    is back (restarted on its database), the same batch is taken and counted once;
  - figures: forwarded and local decide latency (sequential, this machine).
"""
import gzip, json, os, socket, subprocess, time

from e2e_support import check, http, stop, wait_for

TOKEN = "live-shards-token-0000000000001"


def free_ports(n):
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def start(binary, env, work, name, port, extra):
    log = open(os.path.join(work, name + ".log"), "w")
    args = [binary, "serve", "--port", str(port), "--database", os.path.join(work, name + ".sqlite"),
            "--token", f"ops:ingest+decide+analyst+exempt:{TOKEN}", *extra]
    p = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    wait_for(f"http://127.0.0.1:{port}/healthz", 60, name, "live_shards_checks")
    return p


def console_session(node):
    """Signs in to the console with the token: the session cookie."""
    import re, urllib.parse, urllib.request
    with urllib.request.urlopen(f"{node}/console/login", timeout=10) as r:
        login_cookie = re.search(r"dw_login=([^;]+)", r.headers.get("Set-Cookie", "")).group(1)
        csrf = re.search(r'name="csrf" value="([^"]+)"', r.read().decode()).group(1)

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None
    opener = urllib.request.build_opener(NoRedirect)
    request = urllib.request.Request(f"{node}/console/login", method="POST",
                                     data=urllib.parse.urlencode({"csrf": csrf, "token": TOKEN}).encode(),
                                     headers={"Content-Type": "application/x-www-form-urlencoded", "Cookie": f"dw_login={login_cookie}"})
    try:
        response = opener.open(request, timeout=10)
        cookies = response.headers.get_all("Set-Cookie") or []
    except urllib.error.HTTPError as e:
        cookies = e.headers.get_all("Set-Cookie") or []
    return next(c.split(";")[0] for c in cookies if c.startswith("dw_session="))


def console_get(node, path, session):
    import urllib.error, urllib.request
    request = urllib.request.Request(f"{node}{path}", headers={"Cookie": session})
    try:
        with urllib.request.urlopen(request, timeout=30) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def post_all(url, lines, batch):
    statuses = []
    for i in range(0, len(lines), batch):
        status, body = http("POST", url, TOKEN, "\n".join(lines[i:i + batch]), timeout=120)
        statuses.append((status, body[:300]))
    return statuses


def decide(node, account):
    status, body = http("POST", f"{node}/v1/decide", TOKEN, json.dumps({"account_id": account, "dry_run": True}))
    return status, json.loads(body) if body.startswith(b"{") else {"raw": body.decode(errors="replace")}


def shard_of(p0_sql, account):
    return int(p0_sql(f"SELECT cityHash64('{account}') % 2").strip())


def run(binary, env, work, sim, base, sql_p0, merged):
    ports = free_ports(3)
    nodes = [f"http://127.0.0.1:{p}" for p in ports]
    ref_url, s0, s1 = nodes
    shard_nodes = f"{s0},{s1}"
    feed = ["--shard-campaigns", f"{base}/dw", "--shard-campaigns-run", "r1",
            "--decision-audit", "flagged", "--decision-audit-clickhouse", f"{base}/dw"]
    processes = []
    try:
        processes.append(start(binary, env, work, "reference", ports[0], ["--console-clickhouse", f"{base}/dw"]))
        processes.append(start(binary, env, work, "shard0", ports[1], ["--shard", "0/2", "--shard-nodes", shard_nodes, *feed]))
        processes.append(start(binary, env, work, "shard1", ports[2], ["--shard", "1/2", "--shard-nodes", shard_nodes, *feed]))
        checks(binary, env, work, sim, sql_p0, merged, ports, nodes, processes, shard_nodes, feed)
    finally:
        stop(processes)


def checks(binary, env, work, sim, sql_p0, merged, ports, nodes, processes, shard_nodes, feed):
    ref, s0, s1 = nodes
    accounts_lines = [l for l in open(os.path.join(sim, "accounts.jsonl")).read().splitlines() if l.strip()]
    traffic = [l for l in gzip.open(os.path.join(sim, "traffic.jsonl.gz"), "rt").read().splitlines() if l.strip()]
    for node in (ref, s0):
        bad = [s for s in post_all(f"{node}/v1/accounts", accounts_lines, 1000) if s[0] != 200]
        check(f"account records posted to {'the unsharded node' if node == ref else 'shard 0 (half passed on)'}", not bad, str(bad[:1]))
    t = time.time()
    bad = [s for s in post_all(f"{ref}/v1/exchanges", traffic, 2000) if s[0] != 200]
    ref_seconds = time.time() - t
    t = time.time()
    forwarded = 0
    for i in range(0, len(traffic), 2000):
        node = (s0, s1)[(i // 2000) % 2]
        status, body = http("POST", f"{node}/v1/exchanges", TOKEN, "\n".join(traffic[i:i + 2000]), timeout=120)
        if status != 200:
            bad.append((status, body[:300]))
        else:
            forwarded += sum(json.loads(body).get("forwarded", {}).values())
    shard_seconds = time.time() - t
    check("traffic posted to both shard nodes, each passing the other's part on", not bad and forwarded > 0,
          f"{len(traffic)} exchanges; {forwarded} passed between nodes; unsharded {ref_seconds:.1f} s, shards {shard_seconds:.1f} s"
          + (f"; {bad[:1]}" if bad else ""))
    for node in nodes:
        http("POST", f"{node}/v1/flush", TOKEN, "")
    counts = []
    for node in (s0, s1):
        status, body = http("GET", f"{node}/v1/status", TOKEN)
        counts.append(json.loads(body)["engine"]["accepted_exchanges"])
    check("each exchange is kept by exactly one shard node", sum(counts) == len(traffic), f"{counts[0]} + {counts[1]} of {len(traffic)}")

    # Wait for the campaign feed's first load (at start; logged).
    deadline = time.time() + 30
    while time.time() < deadline and not all("account(s) of this shard flagged" in open(os.path.join(work, f"shard{k}.log")).read()
                                              for k in (0, 1)):
        time.sleep(0.5)
    traffic_accounts = sorted({json.loads(l)["account_id"] for l in traffic})
    ref_verdicts, shard_verdicts, raised, errors = {}, {}, [], []
    for a in traffic_accounts:
        status, r = decide(ref, a)
        ref_verdicts[a] = r.get("verdict")
        status, s = decide(s0, a)
        if status != 200:
            errors.append((a, status, s))
            continue
        shard_verdicts[a] = s.get("verdict")
        if (s.get("campaign_id") or "").startswith("r1:") or any("campaign step across shards" in x.get("detail", "")
                                                                  for x in s.get("reasons", [])):
            raised.append(a)
    check("every account answered through shard 0's node (half forwarded to shard 1's)", not errors, str(errors[:2]))
    flagged_ref = {a for a, v in ref_verdicts.items() if v != "allow"}
    flagged_shards = {a for a, v in shard_verdicts.items() if v != "allow"}
    merged_flagged = {a["account_id"] for a in merged["accounts"] if a["verdict"] != "allow"}
    same = sum(1 for a in traffic_accounts if ref_verdicts.get(a) == shard_verdicts.get(a))
    print(f"      unsharded node: {len(flagged_ref)} flagged; live shards: {len(flagged_shards)} flagged, "
          f"{len(raised)} answered from the campaign step; same verdict {same}/{len(traffic_accounts)}; "
          f"only unsharded: {sorted(flagged_ref - flagged_shards)}; only shards: {sorted(flagged_shards - flagged_ref)}")
    check("the campaign step's verdicts reach the live shards (campaigns named r1:campaign-N)", len(raised) > 0,
          f"{len(raised)} accounts")
    check("live shards with the campaign step flag every account the unsharded node flags", flagged_ref <= flagged_shards,
          f"missing {sorted(flagged_ref - flagged_shards)}")
    check("live shards flag no account that neither the unsharded node nor the sharded scans flag",
          flagged_shards <= (flagged_ref | merged_flagged), f"extra {sorted(flagged_shards - flagged_ref - merged_flagged)}")

    # The decision audit, copied to ClickHouse by each node (inserted every second).
    deadline = time.time() + 15
    audited = set()
    while time.time() < deadline:
        audited = set(sql_p0("SELECT DISTINCT account_id FROM dw.dw_decisions WHERE verdict != 'allow' FORMAT TSV").split())
        if audited >= flagged_shards:
            break
        time.sleep(0.5)
    wrong_node = sql_p0("SELECT count() FROM dw.dw_decisions WHERE node != concat(toString(cityHash64(account_id) % 2), '/2')").strip()
    nodes_seen = sql_p0("SELECT node, count() FROM dw.dw_decisions GROUP BY node ORDER BY node FORMAT TSV").strip().replace("\n", "; ")
    check("the decision audit is in ClickHouse (dw_decisions), each decision audited by its account's owner",
          audited == flagged_shards and wrong_node == "0", f"{len(audited)} flagged accounts audited; rows by node: {nodes_seen}; "
          f"rows from a node that does not own the account: {wrong_node}")

    # The console reads the stored runs from ClickHouse (the unsharded node has console_clickhouse).
    session = console_session(ref)
    status, runs_page = console_get(ref, "/console/runs", session)
    status2, run_page = console_get(ref, "/console/runs/r1", session)
    merged_campaigns = [c["campaign_id"] for c in merged["campaigns"]]
    check("the console's Runs pages read the runs from ClickHouse: run r1 with every flagged account and campaign of the merged run",
          status == 200 and ">r1<" in runs_page and status2 == 200 and all(a in run_page for a in merged_flagged)
          and all(c in run_page for c in merged_campaigns) and "<script" not in run_page,
          f"runs page {status}, run page {status2}: {sum(a in run_page for a in merged_flagged)} of {len(merged_flagged)} flagged accounts, "
          f"{sum(c in run_page for c in merged_campaigns)} of {len(merged_campaigns)} campaigns")
    status, missing = console_get(ref, "/console/runs/no-such-run", session)
    check("the console names a run that is not stored (404)", status == 404 and "no-such-run" in missing, f"{status}")

    # Latency of a decision, local and forwarded (sequential; this machine).
    own = [a for a in traffic_accounts if shard_of(sql_p0, a) == 0][:1]
    other = [a for a in traffic_accounts if shard_of(sql_p0, a) == 1][:1]
    figures = {}
    for what, account in (("local", own[0]), ("forwarded", other[0])):
        samples = []
        for _ in range(300):
            t = time.perf_counter()
            decide(s0, account)
            samples.append((time.perf_counter() - t) * 1000)
        samples.sort()
        figures[what] = (samples[len(samples) // 2], samples[int(len(samples) * 0.99)])
    print(f"      decide through shard 0's node, 300 sequential calls each from Python: local p50 {figures['local'][0]:.2f} ms "
          f"p99 {figures['local'][1]:.2f} ms; forwarded p50 {figures['forwarded'][0]:.2f} ms p99 {figures['forwarded'][1]:.2f} ms")

    # The owner down.
    stop([processes[2]])
    status, r = decide(s0, other[0])
    reason = (r.get("reasons") or [{}])[0]
    check("owner down: decide answers allow, marked owner_unavailable", status == 200 and r.get("verdict") == "allow"
          and reason.get("signal") == "owner_unavailable", (reason.get("detail") or str(r))[:200])
    before = json.loads(http("GET", f"{s0}/v1/status", TOKEN)[1])["engine"]["accepted_exchanges"]
    late = [json.dumps({"time": 1_900_000_000_000 + i, "account_id": a, "output_tokens": 10}) for i, a in enumerate(own + other)]
    status, body = http("POST", f"{s0}/v1/exchanges", TOKEN, "\n".join(late))
    after = json.loads(http("GET", f"{s0}/v1/status", TOKEN)[1])["engine"]["accepted_exchanges"]
    message = json.loads(body).get("error", {}).get("message", "") if body.startswith(b"{") else body.decode()
    check("owner down: a batch holding its accounts is refused whole, nothing written here", status == 503 and after == before
          and "shard 1/2" in message, f"{status}: {message[:160]}")
    processes[2] = start(binary, env, work, "shard1", int(nodes[2].rsplit(":", 1)[1]),
                         ["--shard", "1/2", "--shard-nodes", shard_nodes, *feed])
    s1_before = json.loads(http("GET", f"{nodes[2]}/v1/status", TOKEN)[1])["engine"]["accepted_exchanges"]
    time.sleep(1.1)  # the node is taken as down for a second after it failed
    status, body = http("POST", f"{s0}/v1/exchanges", TOKEN, "\n".join(late))
    s1_after = json.loads(http("GET", f"{nodes[2]}/v1/status", TOKEN)[1])["engine"]["accepted_exchanges"]
    check("the owner back: the same batch is taken, its part counted once on the owner", status == 200
          and s1_after - s1_before == 1 and s1_before == counts[1], f"{status}; shard 1 restarted with {s1_before}, then {s1_after}")
    status, r = decide(s0, other[0])
    check("the owner back: its answers come through again", status == 200 and r.get("known") is True
          and not any(x.get("signal") == "owner_unavailable" for x in r.get("reasons", [])), str(r)[:200])
