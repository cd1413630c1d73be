#!/usr/bin/env python3
"""Regenerates Documentation/Figures.md: the throughput and memory figures the docs quote.

Every figure in that file comes from this script, run on the machine it names, on the
date it states, from the commit it names. Usage:

    swift build -c release
    python3 scripts/figures.py                 # ~10 minutes on 2 cores
    python3 scripts/figures.py --long          # adds hydra-2026 at default scale (~40-50 minutes)
    python3 scripts/figures.py --out /tmp/f.md # write elsewhere (default Documentation/Figures.md)

Each command runs once under /usr/bin/time -v (wall time, user+system CPU, peak resident
set). Machines are shared and noisy: the load average before each run is printed beside it.
"""
import argparse, datetime, os, platform, re, shutil, subprocess, sys, tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

def machine():
    model = "unknown processor"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip(); break
    except OSError:
        pass
    mem = 0
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal"):
                mem = int(line.split()[1]) // (1024 * 1024); break
    except OSError:
        pass
    swift = subprocess.run(["swift", "--version"], capture_output=True, text=True).stdout.strip().splitlines()
    return f"{os.cpu_count()} cores ({model}), {mem} GiB, {platform.system()} {platform.release()}; " + (swift[0] if swift else "swift: unknown")

def commit():
    r = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True).stdout.strip()
    return (r.stdout.strip() or "unknown") + (" with local changes" if dirty else "")

def measure(binary, args, shell_suffix=""):
    """Runs `binary args` under /usr/bin/time -v; returns a dict of figures."""
    load = os.getloadavg()[0]
    timing = tempfile.NamedTemporaryFile(delete=False)
    timing.close()
    command = " ".join([shutil.which("time") or "/usr/bin/time", "-v", "-o", timing.name, binary] + args) + shell_suffix
    r = subprocess.run(["bash", "-c", command], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"figures: `{' '.join(args)}` failed ({r.returncode}):\n{r.stderr[-2000:]}")
    t = open(timing.name).read(); os.unlink(timing.name)
    def field(name):
        m = re.search(re.escape(name) + r": (.*)", t)
        return m.group(1).strip() if m else None
    wall = field("Elapsed (wall clock) time (h:mm:ss or m:ss)")
    parts = [float(x) for x in wall.split(":")]
    seconds = sum(p * 60 ** k for k, p in enumerate(reversed(parts)))
    cpu = float(field("User time (seconds)")) + float(field("System time (seconds)"))
    rss_mb = int(field("Maximum resident set size (kbytes)")) / 1024
    m = re.search(r"([\d,]+) exchanges", r.stdout + r.stderr)
    exchanges = int(m.group(1).replace(",", "")) if m else None
    return dict(wall=seconds, cpu=cpu, rss=rss_mb, exchanges=exchanges, load=load)

def duration(s):
    if s < 120: return f"{s:.1f} s"
    return f"{int(s // 60)} min {int(s % 60)} s"

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", default=os.path.join(ROOT, ".build/release/distillwatch"))
    ap.add_argument("--out", default=os.path.join(ROOT, "Documentation/Figures.md"))
    ap.add_argument("--long", action="store_true", help="also hydra-2026 at default scale (317M exchanges)")
    a = ap.parse_args()
    if not os.access(a.binary, os.X_OK):
        sys.exit(f"figures: {a.binary} not found: run `swift build -c release` first")
    scratch = tempfile.mkdtemp(prefix="distillwatch-figures-")
    runs = [
        ("simulate --scenario agentic-hydra --stdout > /dev/null", ["simulate", "--scenario", "agentic-hydra", "--stdout", "--no-progress"], " > /dev/null"),
        ("simulate --scenario agentic-hydra --out DIR (gzip level 1)", ["simulate", "--scenario", "agentic-hydra", "--out", scratch + "/hydra", "--no-progress"], ""),
        ("scan DIR/traffic.jsonl.gz --accounts DIR/accounts.jsonl (content signals on)", ["scan", scratch + "/hydra/traffic.jsonl.gz", "--accounts", scratch + "/hydra/accounts.jsonl", "--json", scratch + "/report.json", "--quiet", "--no-progress"], ""),
        ("eval --scenario cot-harvest (simulate + scan, no files)", ["eval", "--scenario", "cot-harvest", "--no-progress"], ""),
        ("eval --scenario hydra-2026 --scale 0.1", ["eval", "--scenario", "hydra-2026", "--scale", "0.1", "--no-progress"], ""),
    ]
    if a.long:
        runs.append(("eval --scenario hydra-2026 (default scale)", ["eval", "--scenario", "hydra-2026", "--no-progress"], ""))
    started = datetime.datetime.now(datetime.timezone.utc)
    rows = []
    for label, args, suffix in runs:
        print(f"figures: {label} ...", file=sys.stderr, flush=True)
        f = measure(a.binary, args, suffix)
        if f["exchanges"] is None and args[0] == "scan":
            f["exchanges"] = rows[-1][1]["exchanges"]
        rows.append((label, f))
        print(f"figures:   {duration(f['wall'])} wall, {f['cpu']:.1f} s CPU, {f['rss']:.0f} MB", file=sys.stderr, flush=True)
    shutil.rmtree(scratch, ignore_errors=True)

    out = ["# Figures", "",
           "<!-- Written by scripts/figures.py; do not edit by hand. -->", "",
           f"Measured {started.strftime('%d %B %Y, %H:%M')} UTC on {machine()}, at commit {commit()}, "
           "with the release build (`swift build -c release`). Each command ran once under `/usr/bin/time -v`; "
           "the 1-minute load average before each run shows whether the machine was shared.",
           "", "Regenerate with `python3 scripts/figures.py` (`--long` adds `hydra-2026` at default scale).", "",
           "| command | exchanges | wall time | CPU time | exchanges/s (CPU) | peak memory | load before |",
           "|---|---:|---:|---:|---:|---:|---:|"]
    for label, f in rows:
        n = f["exchanges"]
        rate = f"{n / f['cpu']:,.0f}" if n and f["cpu"] > 0 else ""
        out.append(f"| `{label}` | {n:,} | {duration(f['wall'])} | {f['cpu']:.1f} s | {rate} | {f['rss']:.0f} MB | {f['load']:.2f} |" if n else
                   f"| `{label}` | | {duration(f['wall'])} | {f['cpu']:.1f} s | | {f['rss']:.0f} MB | {f['load']:.2f} |")
    out += ["", "`simulate` and the engine are single-threaded; `scan` sketches prompts on a second thread. "
            "Memory is O(accounts), not O(exchanges)."]
    open(a.out, "w").write("\n".join(out) + "\n")
    print(f"figures: wrote {a.out}", file=sys.stderr)

if __name__ == "__main__":
    main()
