#!/usr/bin/env python3
"""ClickHouse side by side (issue 22): the same traffic scanned from a file, from ClickHouse
in one process, and as two shards plus the campaign step, on Debian's clickhouse-server
started as two shards (scripts/clickhouse-cluster.sh). Prints, for each way: wall time,
DistillWatch's CPU (user+sys) and peak memory, ClickHouse's own CPU over the same time,
exchanges per second of wall time and per CPU-second, and how far the sharded verdicts are
from the single process's. Not a test: minutes of CPU on large scales.

  python3 Benchmarks/clickhouse_benchmark.py --distillwatch .build/release/distillwatch \\
      --scenario hydra-2026 --scale 0.01 [--no-content] [--port 28123]

On a 2-core machine the two shards run one after the other: two shards here show
correctness and per-shard cost, not a speed-up (Documentation/Scaling.md).
"""
import argparse, json, os, shutil, subprocess, sys, tempfile, time, urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPTS = os.path.join(HERE, "..", "scripts")


def sql(port, query):
    req = urllib.request.Request(f"http://127.0.0.1:{port}/", data=query.encode(), method="POST")
    with urllib.request.urlopen(req, timeout=3600) as r:
        return r.read().decode()


def server_cpu(cluster):
    """CPU seconds (user+sys) both clickhouse-server processes have used."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    for shard in ("shard0", "shard1"):
        pid = open(os.path.join(cluster, shard, "pid")).read().strip()
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def timed(argv, cluster, env):
    """Runs a command under /usr/bin/time: (wall s, cpu s, peak MB, ClickHouse cpu s, stderr)."""
    before = server_cpu(cluster)
    t = time.time()
    p = subprocess.run(["/usr/bin/time", "-f", "TIME %e %U %S %M", *argv], capture_output=True, text=True, env=env)
    wall = time.time() - t
    if p.returncode != 0:
        sys.exit(f"failed: {' '.join(argv)}\n{p.stderr[-2000:]}")
    line = [l for l in p.stderr.splitlines() if l.startswith("TIME ")][-1].split()
    return wall, float(line[2]) + float(line[3]), int(line[4]) / 1024, server_cpu(cluster) - before, p.stderr


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--distillwatch", required=True)
    ap.add_argument("--scenario", default="hydra-2026")
    ap.add_argument("--scale", default="0.01")
    ap.add_argument("--no-content", action="store_true")
    ap.add_argument("--port", type=int, default=28123)
    ap.add_argument("--work", help="work directory (default: a new temporary one, removed after)")
    ap.add_argument("--skip-file", action="store_true", help="do not scan the file (minutes at scale 0.1)")
    args = ap.parse_args()
    dw = os.path.abspath(args.distillwatch)
    work = args.work or tempfile.mkdtemp(prefix="dw-ch-bench-")
    os.makedirs(work, exist_ok=True)
    home = os.path.join(work, "home")
    os.makedirs(home, exist_ok=True)
    with open(os.path.join(home, "content.key"), "w") as f:
        f.write("00112233445566778899aabbccddeeff\n")
    os.chmod(os.path.join(home, "content.key"), 0o600)
    env = dict(os.environ, DISTILLWATCH_HOME=home)
    content = ["--no-content"] if args.no_content else []
    sim = os.path.join(work, "sim")
    if not os.path.exists(os.path.join(sim, "traffic.jsonl.gz")):
        subprocess.run([dw, "simulate", "--scenario", args.scenario, "--scale", args.scale, "--out", sim, "--no-progress"],
                       check=True, env=env, capture_output=True)
    traffic, accounts = os.path.join(sim, "traffic.jsonl.gz"), os.path.join(sim, "accounts.jsonl")
    cluster = os.path.join(work, "cluster")
    subprocess.run(["bash", os.path.join(SCRIPTS, "clickhouse-cluster.sh"), "start", cluster, str(args.port)],
                   check=True, capture_output=True)
    p0 = args.port
    base = f"clickhouse://127.0.0.1:{p0}"
    rows = []
    try:
        for port in (p0, p0 + 1):
            subprocess.run([dw, "clickhouse", "init", f"clickhouse://127.0.0.1:{port}/dw", "--cluster", "distillwatch",
                            "--traffic-table", "traffic"], check=True, capture_output=True, env=env)
        if int(sql(p0, "SELECT count() FROM dw.traffic")) == 0:
            rows.append(("load into ClickHouse (Distributed)", *timed([dw, "clickhouse", "load", f"{base}/dw.traffic", traffic], cluster, env)[:4]))
        exchanges = int(sql(p0, "SELECT count() FROM dw.traffic"))
        per_shard = [int(sql(p, "SELECT count() FROM dw.traffic_local")) for p in (p0, p0 + 1)]
        file_json, single_json, merged_json = (os.path.join(work, n) for n in ("file.json", "single.json", "merged.json"))
        if not args.skip_file:
            rows.append(("scan of the file", *timed([dw, "scan", traffic, "--accounts", accounts, "--json", file_json, "--quiet", *content], cluster, env)[:4]))
        rows.append(("scan --source (one process)", *timed([dw, "scan", "--source", f"{base}/dw.traffic", "--accounts", accounts,
                                                            "--json", single_json, "--quiet", *content], cluster, env)[:4]))
        for k in (0, 1):
            rows.append((f"scan --shard {k}/2 --store", *timed([dw, "scan", "--source", f"{base}/dw.traffic", "--accounts", accounts,
                                                               "--quiet", "--shard", f"{k}/2", "--store", f"{base}/dw", "--run", "bench", *content],
                                                              cluster, env)[:4]))
        wall, cpu, mb, ch, err = timed([dw, "campaigns", "--store", f"{base}/dw", "--run", "bench", "--accounts", accounts,
                                        "--json", merged_json, *content], cluster, env)
        rows.append(("campaigns step", wall, cpu, mb, ch))
        summary = err.strip().splitlines()[0] if err.strip() else ""
        single, merged = json.load(open(single_json)), json.load(open(merged_json))
        fs = {a["account_id"]: a["verdict"] for a in single["accounts"] if a["verdict"] != "allow"}
        fm = {a["account_id"]: a["verdict"] for a in merged["accounts"] if a["verdict"] != "allow"}
        gs = {frozenset(c["accounts"]) for c in single["campaigns"]}
        gm = {frozenset(c["accounts"]) for c in merged["campaigns"]}
        print(f"{args.scenario} at scale {args.scale}{' --no-content' if args.no_content else ''}: {exchanges:,} exchanges "
              f"({per_shard[0]:,} + {per_shard[1]:,} on the two shards)")
        print(f"{'step':40} {'wall s':>8} {'CPU s':>8} {'peak MB':>8} {'ClickHouse CPU s':>17} {'exch/s wall':>12} {'exch/CPU-s':>11}")
        reread = int(summary.split("(")[1].split()[0]) if "read again" in summary else exchanges
        for name, wall, cpu, mb, ch in rows:
            # Exchanges each step read: all, a shard's, or the candidates' (the campaign step).
            n = per_shard[int(name.split()[2][0])] if name.startswith("scan --shard") else reread if name == "campaigns step" else exchanges
            print(f"{name:40} {wall:8.1f} {cpu:8.1f} {mb:8.0f} {ch:17.1f} {n / wall:12,.0f} {n / max(cpu, 1e-9):11,.0f}")
        print(f"campaign step: {summary}")
        print(f"one process: {len(fs)} flagged, {len(gs)} campaigns; sharded: {len(fm)} flagged, {len(gm)} campaigns; "
              f"flagged in both {len(set(fs) & set(fm))}, only one process {len(set(fs) - set(fm))}, only sharded {len(set(fm) - set(fs))}; "
              f"same verdicts {sum(1 for a in set(fs) & set(fm) if fs[a] == fm[a])}; identical campaigns {len(gs & gm)} of {len(gs)}")
    finally:
        subprocess.run(["bash", os.path.join(SCRIPTS, "clickhouse-cluster.sh"), "stop", cluster], capture_output=True)
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
