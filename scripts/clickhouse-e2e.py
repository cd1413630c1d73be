#!/usr/bin/env python3
"""ClickHouse end to end (issue 22): Debian's clickhouse-server 18.16 started as two shards
(scripts/clickhouse-cluster.sh: two processes, a `remote_servers` cluster, Distributed
tables), loaded with the simulator's `mixed` scenario, whose campaign spreads over both
shards. Checks, each printed PASS/FAIL:

  - one `scan --source` of the Distributed table, and two `scan --shard k/2` workers plus
    `distillwatch campaigns`, flag the same accounts and group the same campaigns
    (figures printed: flagged accounts, agreement, candidates re-read);
  - verdicts, signal readings, campaigns and members are queryable in ClickHouse, on both
    servers through the Distributed tables;
  - bad input: a wrong URL, an unreachable server, a missing database, table or column,
    a campaign step before every shard finished: exit status 1 and a message naming it;
  - a shard that dies mid-scan (its connection cut after the first bytes of the result, by
    a proxy in this script; and a shard server killed) fails with a clear error, writes
    nothing that counts, and its rerun counts once;
  - Helicone's request_response_rmt (in 18.16's types) read with --clickhouse-mapping helicone;
  - live shards (scripts/live_shards_checks.py): two `serve --shard k/2` nodes reading run
    r1's campaign step back, against one unsharded `serve`; the owner down and back;
  - with --chdb-python (scripts/otel_traces_checks.py): the whole path on a current ClickHouse,
    and the OpenTelemetry Collector's exporter table otel_traces read with --clickhouse-mapping
    otel-traces;
  - with --chdb-python: every statement DistillWatch sent (DISTILLWATCH_CLICKHOUSE_QUERY_LOG)
    also runs on a current ClickHouse (chdb's embedded server).

  scripts/clickhouse-e2e.py --distillwatch .build/debug/distillwatch [--chdb-python venv/bin/python]
"""
import argparse, json, os, shutil, socket, subprocess, sys, tempfile, threading, time, urllib.request, uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_support import check, results  # noqa: E402
import live_shards_checks  # noqa: E402
import otel_traces_checks  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def sql(port, query):
    req = urllib.request.Request(f"http://127.0.0.1:{port}/", data=query.encode(), method="POST")
    with urllib.request.urlopen(req, timeout=60) as r:
        return r.read().decode()


def dw(binary, *args, env=None, timeout=600):
    p = subprocess.run([binary, *args], capture_output=True, text=True, timeout=timeout, env=env)
    return p.returncode, p.stdout, p.stderr


def flagged(report):
    return {a["account_id"]: a["verdict"] for a in report["accounts"] if a["verdict"] != "allow"}


def groups(report):
    return {frozenset(c["accounts"]) for c in report["campaigns"]}


class CuttingProxy:
    """Forwards one connection to ClickHouse and cuts it after `limit` bytes of the answer:
    a shard whose connection dies in the middle of a result."""

    def __init__(self, target_port, limit):
        self.target, self.limit = target_port, limit
        self.server = socket.socket()
        self.server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(8)
        self.port = self.server.getsockname()[1]
        self.cut = False
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            threading.Thread(target=self.relay, args=(client,), daemon=True).start()

    def relay(self, client):
        upstream = socket.create_connection(("127.0.0.1", self.target))
        def forward_requests():
            try:
                while data := client.recv(65536):
                    upstream.sendall(data)
            except OSError:
                pass
        threading.Thread(target=forward_requests, daemon=True).start()
        sent = 0
        try:
            while data := upstream.recv(65536):
                # DESCRIBE answers are small: only a large answer (the traffic) is cut.
                if sent + len(data) > self.limit:
                    client.sendall(data[: self.limit - sent])
                    self.cut = True
                    break
                client.sendall(data)
                sent += len(data)
        except OSError:
            pass
        for s in (client, upstream):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def close(self):
        self.server.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--distillwatch", required=True)
    ap.add_argument("--chdb-python", help="a Python with chdb installed: replay every statement on a current ClickHouse")
    ap.add_argument("--port", type=int, default=18123, help="HTTP port of shard 0 (shard 1: +1)")
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--keep", action="store_true", help="keep the work directory and leave the servers running")
    args = ap.parse_args()
    binary = os.path.abspath(args.distillwatch)
    work = tempfile.mkdtemp(prefix="dw-clickhouse-")
    query_log = os.path.join(work, "queries.log")
    env = dict(os.environ, DISTILLWATCH_CLICKHOUSE_QUERY_LOG=query_log, DISTILLWATCH_HOME=os.path.join(work, "home"))
    # One content key for every run: the same sketches, so the figures repeat from run to run.
    os.makedirs(env["DISTILLWATCH_HOME"], mode=0o700)
    with open(os.path.join(env["DISTILLWATCH_HOME"], "content.key"), "w") as f:
        f.write("00112233445566778899aabbccddeeff\n")
    os.chmod(os.path.join(env["DISTILLWATCH_HOME"], "content.key"), 0o600)
    p0, p1 = args.port, args.port + 1
    base = f"clickhouse://127.0.0.1:{p0}"
    cluster = os.path.join(work, "cluster")
    started = time.time()
    subprocess.run(["bash", os.path.join(HERE, "clickhouse-cluster.sh"), "start", cluster, str(p0)], check=True, timeout=120)
    try:
        run_checks(binary, env, work, p0, p1, base, cluster, args)
        if args.chdb_python:
            replay_on_current_clickhouse(binary, args.chdb_python, query_log, work)
            otel_traces_checks.run(binary, env, work, os.path.join(work, "sim"), args.chdb_python)
    finally:
        if not args.keep:
            subprocess.run(["bash", os.path.join(HERE, "clickhouse-cluster.sh"), "stop", cluster], timeout=60)
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"kept {work}")
    failed = [n for n, ok in results if not ok]
    print(f"{len(results) - len(failed)}/{len(results)} checks passed in {time.time() - started:.1f} s")
    sys.exit(1 if failed else 0)


def run_checks(binary, env, work, p0, p1, base, cluster, args):
    for port in (p0, p1):
        rc, out, err = dw(binary, "clickhouse", "init", f"clickhouse://127.0.0.1:{port}/dw", "--cluster", "distillwatch",
                          "--traffic-table", "traffic", env=env)
        check(f"clickhouse init on port {port}", rc == 0, (out + err).strip()[:200])
    sim = os.path.join(work, "sim")
    rc, out, err = dw(binary, "simulate", "--scenario", "mixed", "--scale", str(args.scale), "--out", sim, env=env)
    check("simulate mixed", rc == 0, err[:200])
    t = time.time()
    rc, out, err = dw(binary, "clickhouse", "load", f"{base}/dw.traffic", os.path.join(sim, "traffic.jsonl.gz"), env=env)
    exchanges = int(sql(p0, "SELECT count() FROM dw.traffic"))
    per_shard = [int(sql(p, "SELECT count() FROM dw.traffic_local")) for p in (p0, p1)]
    check("clickhouse load into the Distributed table", rc == 0 and exchanges > 0 and min(per_shard) > 0,
          f"{exchanges} exchanges, {per_shard[0]} + {per_shard[1]} on the two shards, {time.time() - t:.1f} s")
    labels = [json.loads(l) for l in open(os.path.join(sim, "labels.jsonl"))]
    campaign_members = {}
    for l in labels:
        if l.get("campaign"):
            campaign_members.setdefault(l["campaign"], []).append(l["account_id"])
    biggest = max(campaign_members.values(), key=len)
    ids = ",".join("'" + a + "'" for a in biggest)
    spread = sql(p0, f"SELECT cityHash64(account_id) % 2 AS s, count() FROM (SELECT DISTINCT account_id FROM dw.traffic "
                     f"WHERE account_id IN ({ids})) GROUP BY s ORDER BY s FORMAT TSV").split()
    check("the largest campaign is spread over both shards", len(spread) == 4,
          f"{len(biggest)} accounts: shard {spread[0]}: {spread[1]}, shard {spread[2] if len(spread) > 2 else '-'}: {spread[3] if len(spread) > 3 else 0}")

    accounts = os.path.join(sim, "accounts.jsonl")
    source = f"{base}/dw.traffic"
    store = f"{base}/dw"
    single_json, merged_json = os.path.join(work, "single.json"), os.path.join(work, "merged.json")
    t = time.time()
    rc, out, err = dw(binary, "scan", "--source", source, "--accounts", accounts, "--json", single_json, "--quiet",
                      "--store", store, "--run", "single", env=env)
    check("scan --source (one process, both shards through the Distributed table)", rc == 0, err.strip()[:300] or f"{time.time() - t:.1f} s")
    t = time.time()
    for k in (0, 1):
        rc, out, err = dw(binary, "scan", "--source", source, "--accounts", accounts, "--quiet", "--shard", f"{k}/2",
                          "--store", store, "--run", "r1", env=env)
        check(f"scan --shard {k}/2 --store", rc == 0, err.strip()[:300])
    merged_html = os.path.join(work, "merged.html")
    rc, out, err = dw(binary, "campaigns", "--store", store, "--run", "r1", "--accounts", accounts, "--json", merged_json,
                      "--html", merged_html, env=env)
    check("campaigns step", rc == 0, (err or out).strip()[:300])
    sharded_seconds = time.time() - t
    single, merged = json.load(open(single_json)), json.load(open(merged_json))
    fs, fm = flagged(single), flagged(merged)
    both = set(fs) & set(fm)
    agreement = len(both) / max(1, len(set(fs) | set(fm)))
    same_verdicts = sum(1 for a in both if fs[a] == fm[a])
    print(f"      one process: {len(fs)} flagged, {len(single['campaigns'])} campaigns; sharded: {len(fm)} flagged, "
          f"{len(merged['campaigns'])} campaigns; flagged-set agreement (Jaccard) {agreement:.3f}, same verdict "
          f"{same_verdicts}/{len(both)}; only one process: {sorted(set(fs) - set(fm))}; only sharded: {sorted(set(fm) - set(fs))}")
    check("sharded scan flags the same accounts as one process", set(fs) == set(fm), f"Jaccard {agreement:.3f}")
    check("sharded scan gives the same verdicts", same_verdicts == len(both) and set(fs) == set(fm))
    check("sharded scan groups the same campaigns", groups(single) == groups(merged),
          f"sizes {sorted(len(g) for g in groups(single))} vs {sorted(len(g) for g in groups(merged))}")
    check("the merged report counts every exchange once", merged["input"]["exchanges"] == single["input"]["exchanges"] == exchanges,
          f"{merged['input']['exchanges']} vs {single['input']['exchanges']}; sharded path {sharded_seconds:.1f} s")
    page = open(merged_html).read() if os.path.exists(merged_html) else ""
    check("the console's report of the sharded run (campaigns --html): every campaign and flagged account",
          all(c["campaign_id"] in page for c in merged["campaigns"]) and all(a in page for a in fm) and "<script" not in page,
          f"{len(page) // 1024} KB, {len(merged['campaigns'])} campaigns, {len(fm)} flagged accounts")
    split = [g for g in groups(merged) if len({sql(p0, f"SELECT cityHash64('{a}') % 2").strip() for a in g}) == 2]
    check("a campaign with members on both shards is one campaign", len(split) >= 1, f"{len(split)} such campaigns")

    # Live shards: serve --shard nodes, with run r1's campaign step read back from ClickHouse.
    live_shards_checks.run(binary, env, work, sim, base, lambda q: sql(p0, q), merged)

    # Queryable in ClickHouse, from either server.
    for port in (p0, p1):
        n = int(sql(port, "SELECT count() FROM dw.dw_verdicts WHERE run_id = 'r1' AND shard = 'campaigns' AND verdict != 'allow'"))
        m = int(sql(port, "SELECT count() FROM dw.dw_campaign_members WHERE run_id = 'r1' AND shard = 'campaigns'"))
        r = int(sql(port, "SELECT count() FROM dw.dw_signal_readings WHERE run_id = 'r1'"))
        check(f"verdicts, members and signal readings queryable on port {port}", n > 0 and m > 0 and r > 0,
              f"{n} flagged by the campaign step, {m} campaign members, {r} signal readings")
    top = sql(p0, "SELECT signal, count() FROM dw.dw_signal_readings WHERE run_id = 'single' GROUP BY signal ORDER BY count() DESC LIMIT 3 FORMAT TSV")
    check("an analyst's SQL over the readings", bool(top.strip()), top.strip().replace("\n", "; ").replace("\t", " "))

    # Bad input.
    cases = [
        (["scan", "--source", "clickhouse://127.0.0.1:1/dw.traffic"], "cannot reach ClickHouse", "unreachable server"),
        (["scan", "--source", f"{base}/dw.nope"], "ClickHouse error 60", "missing table"),
        (["scan", "--source", f"{base}/nodb.traffic"], "ClickHouse error 81", "missing database"),
        (["scan", "--source", "postgres://127.0.0.1/dw.traffic"], "is not clickhouse://", "wrong scheme"),
        (["scan", "--source", f"{base}/dw"], "names no table", "URL without a table"),
        (["scan", "--source", source, "--shard", "2/2"], "k must be from 0 to 1", "shard out of range"),
    ]
    sql(p0, "CREATE TABLE IF NOT EXISTS dw.no_account (time UInt64, user String) ENGINE = Memory")
    cases.append((["scan", "--source", f"{base}/dw.no_account"], "has no column 'account_id'", "missing column"))
    sql(p0, "CREATE TABLE IF NOT EXISTS dw.text_time (time String, account_id String) ENGINE = Memory")
    cases.append((["scan", "--source", f"{base}/dw.text_time"], "a time column must be", "time column of an unreadable type"))
    rc, _, _ = dw(binary, "scan", "--source", source, "--accounts", accounts, "--quiet", "--shard", "0/2", "--store", store, "--run", "half", env=env)
    cases.append((["campaigns", "--store", store, "--run", "half"], "shard 1/2 has not finished", "campaign step before every shard finished"))
    for argv, expected, name in cases:
        rc, out, err = dw(binary, *argv, env=env)
        check(f"bad input: {name}", rc != 0 and expected in err, err.strip().splitlines()[-1][:200] if err.strip() else f"rc {rc}")

    # A window: the shards read --since/--until, and the campaign step reads the same window again.
    window = ["--since", "2026-03-02T00:00:00Z", "--until", "2026-03-02T12:00:00Z"]
    wsingle, wmerged = os.path.join(work, "wsingle.json"), os.path.join(work, "wmerged.json")
    dw(binary, "scan", "--source", source, "--accounts", accounts, "--quiet", "--json", wsingle, "--all", *window, env=env)
    for k in (0, 1):
        dw(binary, "scan", "--source", source, "--accounts", accounts, "--quiet", "--shard", f"{k}/2", *window,
           "--store", store, "--run", "win", env=env)
    rc, out, err = dw(binary, "campaigns", "--store", store, "--run", "win", "--accounts", accounts, "--json", wmerged, env=env)
    ws, wm = json.load(open(wsingle)), (json.load(open(wmerged)) if rc == 0 else {"input": {}, "accounts": []})
    check("the campaign step reads the shards' window, not the whole table",
          rc == 0 and wm["input"].get("exchanges") == ws["input"]["exchanges"] and flagged(wm) == flagged(ws)
          and "read again" in err and int(err.split("(")[1].split()[0]) <= ws["input"]["exchanges"],
          f"window of {ws['input']['exchanges']} exchanges; {err.strip()[:160]}")

    # Account ids a text format would escape (backslash, tab), and a shard that owns no account.
    sql(p0, "CREATE TABLE IF NOT EXISTS dw.odd_local AS dw.traffic_local")
    sql(p1, "CREATE TABLE IF NOT EXISTS dw.odd_local AS dw.traffic_local")
    sql(p0, "CREATE TABLE IF NOT EXISTS dw.odd AS dw.traffic_local ENGINE = Distributed(distillwatch, dw, odd_local, cityHash64(account_id))")
    names = [l.split("\t")[0] for l in sql(p0, "DESCRIBE TABLE dw.traffic_local FORMAT TSV").splitlines()]
    chosen = ", ".join("if(cityHash64(account_id) % 3 = 0, concat(account_id, '\\\\x\\t'), account_id)" if n == "account_id" else n
                       for n in names)
    sql(p0, f"INSERT INTO dw.odd SELECT {chosen} FROM dw.traffic")
    for _ in range(300):  # a Distributed insert reaches the other shard in the background
        if int(sql(p0, "SELECT count() FROM dw.odd")) == exchanges:
            break
        time.sleep(0.1)
    osingle, omerged = os.path.join(work, "osingle.json"), os.path.join(work, "omerged.json")
    dw(binary, "scan", "--source", f"{base}/dw.odd", "--accounts", accounts, "--quiet", "--json", osingle, env=env)
    for k in (0, 1):
        dw(binary, "scan", "--source", f"{base}/dw.odd", "--accounts", accounts, "--quiet", "--shard", f"{k}/2",
           "--store", store, "--run", "odd", env=env)
    rc, out, err = dw(binary, "campaigns", "--store", store, "--run", "odd", "--accounts", accounts, "--json", omerged, env=env)
    os_, om = json.load(open(osingle)), (json.load(open(omerged)) if rc == 0 else {"accounts": [], "campaigns": []})
    odd = [a for a in flagged(os_) if "\\" in a]
    check("account ids with a backslash and a tab survive the campaign step", rc == 0 and flagged(om) == flagged(os_) and odd
          and groups(om) == groups(os_), f"{len(odd)} flagged accounts with such ids; {err.strip()[:160]}; "
          f"only one process {sorted(set(flagged(os_)) - set(flagged(om)))}, only sharded {sorted(set(flagged(om)) - set(flagged(os_)))}")
    one = sorted(fs)[0]
    sql(p0, f"CREATE TABLE IF NOT EXISTS dw.one AS dw.traffic_local ENGINE = MergeTree() ORDER BY (time, account_id)")
    sql(p0, f"INSERT INTO dw.one SELECT * FROM dw.traffic WHERE account_id = '{one}'")
    owner = int(sql(p0, f"SELECT cityHash64('{one}') % 2").strip())
    rcs = [dw(binary, "scan", "--source", f"{base}/dw.one", "--quiet", "--shard", f"{k}/2", "--store", store, "--run", "one", env=env)
           for k in (0, 1)]
    rc, out, err = dw(binary, "campaigns", "--store", store, "--run", "one", env=env)
    check("a shard that owns no account finishes with zero exchanges", all(r[0] == 0 for r in rcs) and rc == 0,
          f"owner of the only account: shard {owner}; {(rcs[1 - owner][2] or err).strip()[:160]}")

    # A malformed row (an empty account) is counted and named like a file's line; --strict stops there.
    rc, out, err = dw(binary, "clickhouse", "init", f"{base}/dwplain", "--traffic-table", "traffic", env=env)
    sql(p0, "INSERT INTO dwplain.traffic (time, account_id, model) VALUES (1776827655926, 'a1', 'm'), (1776827656926, '', 'm'), "
            "(1776827657926, 'a1', 'm')")
    rc, out, err = dw(binary, "scan", "--source", f"{base}/dwplain.traffic", "--no-content", env=env)
    check("a malformed row is counted and named, the rest scanned", rc == 0 and "Scanned 2 exchanges" in out
          and 'dwplain.traffic:2: field "account_id"' in out, (out + err).strip().replace("\n", " | ")[:300])
    sql(p0, "CREATE TABLE IF NOT EXISTS dwplain.nullable (time UInt64, account_id Nullable(String), model Nullable(String)) "
            "ENGINE = MergeTree() ORDER BY time")
    sql(p0, "INSERT INTO dwplain.nullable VALUES (1776827655926, 'a1', 'm'), (1776827656926, NULL, 'm'), (1776827657926, '', 'm')")
    malformed = 0
    for k in (0, 1):
        rc, out, err = dw(binary, "scan", "--source", f"{base}/dwplain.nullable", "--no-content", "--shard", f"{k}/2", env=env)
        malformed += sum(int(l.split(":")[1].split()[0].replace(",", "")) for l in out.splitlines() if l.startswith("Malformed lines:"))
    check("rows with a NULL or empty account reach one shard, as malformed", malformed == 2, f"{malformed} malformed over the two shards")
    rc, out, err = dw(binary, "scan", "--source", f"{base}/dwplain.traffic", "--no-content", "--strict", env=env)
    check("--strict stops at the malformed row and says where", rc != 0 and 'dwplain.traffic:2: field "account_id"' in err
          and "stopped: --strict" in err, err.strip()[-200:])

    # A shard whose connection dies mid-result: clear error, nothing counted; its rerun counts once.
    proxy = CuttingProxy(p0, limit=200_000)
    rc, out, err = dw(binary, "scan", "--source", f"clickhouse://127.0.0.1:{proxy.port}/dw.traffic", "--accounts", accounts,
                      "--quiet", "--shard", "1/2", "--store", store, "--run", "r2", env=env)
    proxy.close()
    attempts = int(sql(p0, "SELECT count() FROM dw.dw_runs WHERE run_id = 'r2'"))
    check("a shard cut off mid-result fails with a clear error and writes no finished attempt",
          proxy.cut and rc != 0 and attempts == 0 and ("stopped before its end" in err or "truncated" in err),
          err.strip().splitlines()[-1][:200] if err.strip() else f"rc {rc}")
    # A shard server killed: the Distributed read fails, named.
    pid = int(open(os.path.join(cluster, "shard1", "pid")).read())
    os.kill(pid, 9)
    time.sleep(0.5)
    rc, out, err = dw(binary, "scan", "--source", source, "--accounts", accounts, "--quiet", "--shard", "0/2",
                      "--store", store, "--run", "r2", env=env)
    check("a dead shard server: the scan fails and says so", rc != 0 and "ClickHouse error" in err,
          err.strip().splitlines()[-1][:200] if err.strip() else f"rc {rc}")
    subprocess.run(["bash", os.path.join(HERE, "clickhouse-cluster.sh"), "start", cluster, str(p0)], check=True, timeout=120,
                   capture_output=True)
    for k in (0, 1, 1):  # shard 1 finishes twice: its latest attempt counts, once
        rc, out, err = dw(binary, "scan", "--source", source, "--accounts", accounts, "--quiet", "--shard", f"{k}/2",
                          "--store", store, "--run", "r2", env=env)
        check(f"rerun of shard {k}/2 after the failures", rc == 0, err.strip()[:200])
    rerun_json = os.path.join(work, "rerun.json")
    rc, out, err = dw(binary, "campaigns", "--store", store, "--run", "r2", "--accounts", accounts, "--json", rerun_json, env=env)
    rerun = json.load(open(rerun_json)) if rc == 0 else {"input": {"exchanges": -1}, "accounts": [], "campaigns": []}
    finished = sql(p0, "SELECT shard, count() FROM dw.dw_runs WHERE run_id = 'r2' GROUP BY shard ORDER BY shard FORMAT TSV").split()
    check("restarted shards count once", rc == 0 and rerun["input"]["exchanges"] == exchanges and flagged(rerun).keys() == fs.keys(),
          f"{rerun['input']['exchanges']} exchanges of {exchanges}; finished attempts by shard: {finished}")

    # Helicone's request log, in the types 18.16 has.
    sql(p0, "CREATE DATABASE IF NOT EXISTS helicone")
    sql(p0, """CREATE TABLE IF NOT EXISTS helicone.request_response_rmt (response_id Nullable(UUID),
        response_created_at Nullable(DateTime), latency Nullable(Int64), status Int64, completion_tokens Nullable(Int64),
        prompt_tokens Nullable(Int64), model String, request_id UUID, request_created_at DateTime, user_id String,
        organization_id UUID, proxy_key_id Nullable(UUID), provider String, country_code Nullable(String),
        cost Nullable(Int64), request_body String, response_body String) ENGINE = MergeTree()
        PARTITION BY toYYYYMM(request_created_at) ORDER BY (organization_id, user_id, request_created_at, request_id)""")
    body = json.dumps({"model": "gpt-4o", "max_tokens": 2048, "temperature": 0.7,
                       "messages": [{"role": "user", "content": "Write a sorting function."}]}).replace("'", "\\'")
    answer = json.dumps({"choices": [{"finish_reason": "stop"}]})
    rows = []
    for i in range(6):
        rows.append(f"(NULL, NULL, {900 + i}, 200, 500, 140, 'gpt-4o', '{uuid.uuid4()}', '2026-11-20 10:0{i}:00', "
                    f"'customer-{i % 2}', '{uuid.uuid4()}', NULL, 'OPENAI', 'US', 5300000, '{body}', '{answer}')")
    sql(p0, "INSERT INTO helicone.request_response_rmt VALUES " + ", ".join(rows))
    hjson = os.path.join(work, "helicone.json")
    rc, out, err = dw(binary, "scan", "--source", f"{base}/helicone.request_response_rmt", "--clickhouse-mapping", "helicone",
                      "--all", "--json", hjson, "--quiet", env=env)
    report = json.load(open(hjson)) if rc == 0 else {"input": {}, "accounts": []}
    check("Helicone's request_response_rmt read with --clickhouse-mapping helicone",
          rc == 0 and report["input"].get("exchanges") == 6 and sorted(a["account_id"] for a in report["accounts"]) == ["customer-0", "customer-1"],
          err.strip()[:200] or f"{report['input'].get('exchanges')} exchanges")


def replay_on_current_clickhouse(binary, python, query_log, work):
    """Every statement DistillWatch sent to 18.16 must also run on a current ClickHouse."""
    ddl = subprocess.run([binary, "clickhouse", "init", "clickhouse://127.0.0.1:1/dw", "--traffic-table", "traffic", "--print"],
                         capture_output=True, text=True, check=True).stdout
    statements = []
    for line in open(query_log):
        text, _, _settings = line.rstrip("\n").rpartition(" -- ")
        if not text or "ON CLUSTER" in text or "Distributed(" in text:
            continue
        statements.append(text)
    program = r'''
import sys, json, chdb
from chdb import session
ddl, statements = json.load(open(sys.argv[1]))
s = session.Session()
print("current ClickHouse:", s.query("SELECT version()", "CSV").bytes().decode().strip())
for d in ddl:
    s.query(d)
s.query("CREATE DATABASE IF NOT EXISTS helicone")
s.query("""CREATE TABLE IF NOT EXISTS helicone.request_response_rmt (response_id Nullable(UUID),
    response_created_at Nullable(DateTime64(3)), latency Nullable(Int64), status Int64, completion_tokens Nullable(Int64),
    prompt_tokens Nullable(Int64), model LowCardinality(String), request_id UUID, request_created_at DateTime64(3),
    user_id LowCardinality(String), organization_id UUID, proxy_key_id Nullable(UUID), provider LowCardinality(String),
    country_code Nullable(String), cost Nullable(Int64), properties Map(LowCardinality(String), String),
    request_body String, response_body String) ENGINE = MergeTree() ORDER BY (organization_id, user_id, request_created_at)""")
for t in ["no_account (time UInt64, user String)", "text_time (time String, account_id String)"]:
    s.query("CREATE TABLE IF NOT EXISTS dw." + t + " ENGINE = Memory")
# The tables this script made with its own SQL (not through DistillWatch).
for t in ["odd", "one"]:
    s.query(f"CREATE TABLE IF NOT EXISTS dw.{t} AS dw.traffic")
s.query("CREATE DATABASE IF NOT EXISTS dwplain")
s.query("CREATE TABLE IF NOT EXISTS dwplain.nullable (time UInt64, account_id Nullable(String), model Nullable(String)) "
        "ENGINE = MergeTree() ORDER BY time")
failed = 0
for q in statements:
    if q.startswith("INSERT"):
        q = q + " {}"
    if "dw.nope" in q or "nodb." in q:
        continue
    try:
        s.query(q, "Null" if " FORMAT " not in q and not q.startswith(("CREATE", "INSERT")) else None) if False else s.query(q)
    except Exception as e:
        failed += 1
        print("FAILED on current ClickHouse:", q[:300], "--", str(e)[:300])
print(json.dumps({"statements": len(statements), "failed": failed}))
'''
    path = os.path.join(work, "replay.py")
    open(path, "w").write(program)
    data = os.path.join(work, "replay.json")
    json.dump([[l for l in ddl.strip().split(";\n") if l.strip()], sorted(set(statements))], open(data, "w"))
    p = subprocess.run([python, path, data], capture_output=True, text=True, timeout=600)
    tail = p.stdout.strip().splitlines()
    print("\n".join("      " + l for l in tail[:-1]))
    try:
        summary = json.loads(tail[-1])
    except (IndexError, ValueError):
        summary = {"statements": 0, "failed": -1}
    check("every statement DistillWatch sent also runs on a current ClickHouse (chdb)",
          p.returncode == 0 and summary["failed"] == 0 and summary["statements"] > 0,
          f"{summary['statements']} distinct statements, {summary['failed']} failed" + (p.stderr.strip()[-300:] if p.returncode else ""))


if __name__ == "__main__":
    main()
