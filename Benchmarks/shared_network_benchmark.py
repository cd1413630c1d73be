#!/usr/bin/env python3
"""Issue 21's throughput benchmark: DistillWatch's scan and DuckDB side by side, alternately,
on traffic whose accounts share one network, and instructions per exchange under callgrind.

1. Writes (once) the shared-network file: 1,000,000 exchanges of about 800 bytes from 20,000
   accounts, random 500-byte prompts from a 6,000-word vocabulary, addresses 198.51.x.y
   (Benchmarks/make_shared_network_traffic.py), and, with --hydra-scale, the simulator's
   hydra-2026 scenario at that scale.
2. For each file, --runs rounds; each round runs, one after the other, DuckDB's per-account
   count, output-token sum and distinct active hours (read_json, three columns), then
   `distillwatch scan --no-content`, then `distillwatch scan` with content signals, then both
   again with `--engine-threads N` (--engine-threads, default 2; 1 leaves them out). Prints
   the median wall time, the median CPU time (user + system, all threads) per exchange, and
   the ratio DuckDB time / DistillWatch time (1.0: as fast as DuckDB). With --before, an
   earlier build's two scans join each round, and the ratio of the two builds' times is printed.
3. With --callgrind LINES, runs `scan --no-content` on the file's first LINES lines under
   valgrind's callgrind (instruction counts repeat on a noisy machine where times do not)
   for --distillwatch and, if given, --before, and prints instructions per exchange for the
   whole process and for the engine thread's `observeAccepted` (inclusive). Valgrind cannot
   read Swift's debug information, so a copy stripped of it (`strip -g`) is profiled.

usage: python3 Benchmarks/shared_network_benchmark.py [--work DIR] [--runs 3]
         [--distillwatch .build/release/distillwatch] [--before OLD_BINARY]
         [--engine-threads 2] [--hydra-scale 0.1] [--callgrind 100000]
needs: pip install duckdb; apt-get install valgrind (for --callgrind)
"""
import argparse, os, resource, shutil, statistics, subprocess, sys, time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from duckdb_compare import duckdb_query  # the same query as the older side-by-side script
CONTENT_KEY = "0123456789abcdef0123456789abcdef"

def timed_child(cmd):
    """Wall seconds and CPU seconds (user + system) of one child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)

def warm(path):
    """Reads the file once, so that the first run of the first round does not pay for the disk.
    The project's virtual machines page out memory left cold (a DAMON `pageout` scheme runs:
    /sys/kernel/mm/damon/admin/kdamonds), and on 2 December a scan of a file last read ten
    minutes before spent a quarter of its samples in the kernel's read path (`filemap_read`,
    `_copy_to_iter`); `dd` then read the same file in 0.22 s, and in 0.05 s the next times."""
    with open(path, "rb") as f:
        while f.read(1 << 24):
            pass

def side_by_side(path, runs, binary, before=None, threads=2):
    import duckdb
    con = duckdb.connect()
    query = duckdb_query(path)
    scan = [binary, "scan", "--quiet", "--no-progress", "--json", "/dev/null"]
    # One engine thread explicitly (`auto`, the default, takes two behaviour only); an
    # earlier build (--before) runs the same two scans, with the option when it has it.
    plain_args, full_args = ["--no-content", path], ["--content-key", CONTENT_KEY, path]
    one = ["--engine-threads", "1"]
    variants = [("scan --no-content", scan + one + plain_args),
                ("scan, content signals", scan + one + full_args)]
    if threads > 1:
        variants += [(f"scan --no-content, {threads} engine threads", scan + ["--no-content", "--engine-threads", str(threads), path]),
                     (f"scan, content, {threads} engine threads",
                      scan + ["--content-key", CONTENT_KEY, "--engine-threads", str(threads), path])]
    duck = []
    times = {label: [] for label, _ in variants}
    old = {label: [] for label, _ in variants[:2]}
    exchanges = 0
    warm(path)
    for _ in range(runs):
        start = time.perf_counter()
        rows = con.execute(query).fetchall()
        duck.append(time.perf_counter() - start)
        exchanges = sum(r[1] for r in rows)
        for label, cmd in variants:
            times[label].append(timed_child(cmd))
        if before:
            before_one = one if takes_engine_threads(before) else []
            for label, args in zip(old, (plain_args, full_args)):
                old[label].append(timed_child([before] + scan[1:] + before_one + args))
    m = statistics.median
    print(f"\n{path}: {exchanges:,} exchanges ({os.path.getsize(path) / 1e6:,.0f} MB), median of {runs} alternating runs, "
          f"DuckDB {duckdb.__version__}, {os.cpu_count()} cores")
    print(f"  DuckDB count / token sum / distinct hours: {m(duck):6.2f} s  {exchanges / m(duck):>12,.0f} exchanges/s")
    for label, _ in variants:
        walls = [r[0] for r in times[label]]; cpus = [r[1] for r in times[label]]
        print(f"  distillwatch {label:<40} {m(walls):6.2f} s  {exchanges / m(walls):>12,.0f} exchanges/s  "
              f"{m(cpus) / exchanges * 1e6:5.2f} µs CPU per exchange ({m(cpus) / m(walls):.2f} cores busy)  "
              f"ratio DuckDB/DistillWatch {m(duck) / m(walls):.2f}")
    for label, _ in variants[:2]:
        if old[label]:
            w = m([r[0] for r in old[label]]); c = m([r[1] for r in old[label]])
            now = m([r[0] for r in times[label]])
            print(f"  before: {label:<40} {w:6.2f} s  {exchanges / w:>12,.0f} exchanges/s  "
                  f"{c / exchanges * 1e6:5.2f} µs CPU per exchange; this build takes {now / w:.2f}× its time")

def takes_engine_threads(binary):
    """Whether the build's scan has --engine-threads (builds before 30 November 2026 do not)."""
    help_text = subprocess.run([binary, "scan", "--help"], capture_output=True, text=True).stdout
    return "--engine-threads" in help_text

def instructions(binary, sample, work, extra=()):
    stripped = os.path.join(work, "distillwatch-" + str(abs(hash(os.path.realpath(binary)))) + "-nodebug")
    shutil.copyfile(binary, stripped)
    os.chmod(stripped, 0o755)
    subprocess.run(["strip", "-g", stripped], check=True)
    out = os.path.join(work, "callgrind.out")
    subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", stripped, "scan", "--quiet",
                    "--no-progress", "--no-content", "--json", "/dev/null", *extra, sample],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    text = subprocess.run(["callgrind_annotate", "--inclusive=yes", out], capture_output=True, text=True).stdout
    total = engine = None
    for line in text.splitlines():
        parts = line.split()
        if not parts or not parts[0][0].isdigit():
            continue
        n = int(parts[0].replace(",", ""))
        if "PROGRAM TOTALS" in line and total is None:
            total = n
        elif "DetectionEngineV15observeAccepted" in line and engine is None:
            engine = n
    return total, engine

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", default="/tmp/distillwatch-bench-21")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--distillwatch", default=".build/release/distillwatch")
    ap.add_argument("--before", help="an earlier build, for instructions per exchange before and after")
    ap.add_argument("--hydra-scale", type=float, default=None)
    ap.add_argument("--callgrind", type=int, default=0, metavar="LINES")
    ap.add_argument("--engine-threads", type=int, default=2, help="also scan with this many engine threads (1: not)")
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    shared = os.path.join(args.work, "shared-network-1m.jsonl")
    if not os.path.exists(shared):
        subprocess.run([sys.executable, os.path.join(HERE, "make_shared_network_traffic.py"), shared + ".part"], check=True)
        os.rename(shared + ".part", shared)
    files = [shared]
    if args.hydra_scale:
        hydra = os.path.join(args.work, f"hydra-2026-{args.hydra_scale}")
        if not os.path.exists(os.path.join(hydra, "traffic.jsonl")):
            subprocess.run([args.distillwatch, "simulate", "--scenario", "hydra-2026", "--scale", str(args.hydra_scale),
                            "--out", hydra, "--no-progress"], check=True, stdout=subprocess.DEVNULL)
            subprocess.run(["gunzip", "-f", os.path.join(hydra, "traffic.jsonl.gz")], check=True)
        files.append(os.path.join(hydra, "traffic.jsonl"))
    for path in files:
        side_by_side(path, args.runs, args.distillwatch, args.before, args.engine_threads)
    if args.callgrind:
        sample = os.path.join(args.work, f"shared-network-{args.callgrind}.jsonl")
        with open(shared) as src, open(sample, "w") as dst:
            for n, line in enumerate(src):
                if n >= args.callgrind:
                    break
                dst.write(line)
        print(f"\ninstructions per exchange, scan --no-content on the first {args.callgrind:,} lines (callgrind):")
        for label, binary in (("before", args.before), ("this build", args.distillwatch)):
            if binary:
                # One engine thread for both (`auto` would take two), when the build has the option.
                extra = ["--engine-threads", "1"] if takes_engine_threads(binary) else []
                total, engine = instructions(binary, sample, args.work, extra)
                print(f"  {label:<10} {total / args.callgrind:>9,.0f} whole process, "
                      f"{(engine or 0) / args.callgrind:>9,.0f} engine (observeAccepted)")

if __name__ == "__main__":
    main()
