#!/usr/bin/env python3
"""Reports identical before and after a change: runs two builds of `distillwatch` on the same
inputs and compares their v1 scan reports field by field (all but `generated_at`).

Inputs: the simulator's scenarios at --scale (simulated once, by the `--after` build), the
sample in Samples/mixed, and any traffic files given. Exits 1 and names the first difference when a
report differs.

usage: python3 Benchmarks/compare_reports.py --before OLD_BINARY --after NEW_BINARY
       [--after-args "--engine-threads 2"] [--scale 0.1] [--scenarios mixed,cot-harvest,...]
       [--work DIR] [TRAFFIC.jsonl ...]

--after-args adds options to the after build's scans only: with one binary as both builds,
`--after-args "--engine-threads 2"` checks that the partitioned engine reports exactly what
the sequential one does.
"""
import argparse, json, os, subprocess, sys, tempfile

SCENARIOS = "mixed,cot-harvest,agentic-hydra,low-and-slow,naive-bulk,relay-2026,key-abuse,busy-cluster,hydra-2026"

def report(binary, traffic, accounts, extra, out):
    cmd = [binary, "scan", "--quiet", "--no-progress", "--json", out, *extra, traffic]
    if accounts:
        cmd[2:2] = ["--accounts", accounts]
    subprocess.run(cmd, check=True)
    with open(out) as f:
        r = json.load(f)
    r.pop("generated_at", None)
    return r

def first_difference(a, b, path="$"):
    if type(a) is not type(b):
        return f"{path}: {a!r} vs {b!r}"
    if isinstance(a, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                return f"{path}.{k}: only in {'after' if k in b else 'before'}"
            d = first_difference(a[k], b[k], f"{path}.{k}")
            if d:
                return d
        return None
    if isinstance(a, list):
        if len(a) != len(b):
            return f"{path}: {len(a)} vs {len(b)} entries"
        for i, (x, y) in enumerate(zip(a, b)):
            d = first_difference(x, y, f"{path}[{i}]")
            if d:
                return d
        return None
    return None if a == b else f"{path}: {a!r} vs {b!r}"

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--before", required=True)
    ap.add_argument("--after", required=True)
    ap.add_argument("--scale", default="0.1")
    ap.add_argument("--scenarios", default=SCENARIOS)
    ap.add_argument("--work", default=None)
    ap.add_argument("--content-key", default="0123456789abcdef0123456789abcdef")
    ap.add_argument("--after-args", default="", help="options added to the after build's scans")
    ap.add_argument("traffic", nargs="*")
    args = ap.parse_args()
    work = args.work or tempfile.mkdtemp(prefix="distillwatch-parity-")
    inputs = []
    for name in filter(None, args.scenarios.split(",")):
        out = os.path.join(work, f"{name}-{args.scale}")
        if not os.path.exists(os.path.join(out, "traffic.jsonl.gz")):
            subprocess.run([args.after, "simulate", "--scenario", name, "--scale", args.scale, "--out", out,
                            "--no-progress"], check=True, stdout=subprocess.DEVNULL)
        inputs.append((f"{name} (scale {args.scale})", os.path.join(out, "traffic.jsonl.gz"),
                       os.path.join(out, "accounts.jsonl")))
    here = os.path.dirname(os.path.abspath(__file__))
    sample = os.path.join(here, "..", "Samples", "mixed")
    inputs.append(("Samples/mixed", os.path.join(sample, "traffic.jsonl.gz"), os.path.join(sample, "accounts.jsonl")))
    inputs += [(path, path, None) for path in args.traffic]
    failed = False
    for label, traffic, accounts in inputs:
        for mode, extra in (("behaviour", ["--no-content"]), ("content", ["--content-key", args.content_key])):
            a = report(args.before, traffic, accounts, extra, os.path.join(work, "before.json"))
            b = report(args.after, traffic, accounts, extra + args.after_args.split(), os.path.join(work, "after.json"))
            d = first_difference(a, b)
            accounts_n = len(b.get("accounts", []))
            print(f"{label}, {mode}: {'identical' if d is None else 'DIFFERENT: ' + d} "
                  f"({b['input']['exchanges']:,} exchanges, {accounts_n} accounts listed)", flush=True)
            failed = failed or d is not None
    sys.exit(1 if failed else 0)

if __name__ == "__main__":
    main()
