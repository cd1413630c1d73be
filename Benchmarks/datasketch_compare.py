#!/usr/bin/env python3
"""Side by side: DistillWatch's keyed one-permutation MinHash (128 bins) and datasketch's
MinHash with 128 permutations, on the same prompt pairs.

Makes pairs of prompts with controlled overlap (a base prompt and a copy with a share of
its words replaced), sketches them with both, and prints each one's speed, the mean
absolute difference between the two estimates, and each one's error against the exact
Jaccard similarity of the word 3-shingle sets.

usage: python3 Benchmarks/datasketch_compare.py [--pairs 2000]
       [--bench Benchmarks/.build/release/distillwatch-bench]
needs: pip install datasketch
"""
import argparse, json, random, re, subprocess, tempfile, time, os

def tokens(text):
    # The same normalisation as DistillWatch's for ASCII text: lower case, digits to 0,
    # anything else separates tokens.
    return re.findall(r"[a-z0-9]+", re.sub(r"[0-9]", "0", text.lower()))

def shingles(text):
    t = tokens(text)
    if len(t) < 3:
        return {" ".join(t)}
    return {" ".join(t[i - 2:i + 1]) for i in range(2, len(t))}

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pairs", type=int, default=2000)
    ap.add_argument("--bench", default="Benchmarks/.build/release/distillwatch-bench")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    from datasketch import MinHash

    rng = random.Random(args.seed)
    vocab = [f"w{i:x}z" for i in range(3000)]
    prompts = []
    for _ in range(args.pairs):
        n = rng.randint(30, 200)
        base = [rng.choice(vocab) for _ in range(n)]
        other = list(base)
        for _ in range(rng.randint(0, n)):
            other[rng.randrange(n)] = rng.choice(vocab)
        prompts += [" ".join(base), " ".join(other)]

    exact = []
    for i in range(0, len(prompts), 2):
        a, b = shingles(prompts[i]), shingles(prompts[i + 1])
        exact.append(len(a & b) / len(a | b))

    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        sketches = []
        for p in prompts:
            m = MinHash(num_perm=128, seed=1)
            m.update_batch([s.encode() for s in shingles(p)])
            sketches.append(m)
        best = min(best, time.perf_counter() - start)
    ds = [sketches[i].jaccard(sketches[i + 1]) for i in range(0, len(sketches), 2)]
    ds_rate = len(prompts) / best

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "prompts.jsonl")
        est = os.path.join(tmp, "estimates.txt")
        with open(path, "w") as f:
            for p in prompts:
                f.write(json.dumps(p) + "\n")
        out = subprocess.run([args.bench, "sketches", path, "--estimates", est], check=True,
                             capture_output=True, text=True).stdout
        dw = [float(x) for x in open(est).read().split()]
        dw_rate = float(re.search(r"([0-9.]+) prompts/s", out).group(1))

    def mae(xs, ys):
        return sum(abs(x - y) for x, y in zip(xs, ys)) / len(xs)

    print(f"{len(prompts)} prompts in {args.pairs} pairs, exact Jaccard spread over [0, 1]")
    print(f"datasketch MinHash(num_perm=128): {ds_rate:,.0f} prompts/s (shingling included)")
    print(f"DistillWatch OPH MinHash (128 bins, keyed SipHash): {dw_rate:,.0f} prompts/s (normalising and shingling included)")
    print(f"speed ratio DistillWatch / datasketch: {dw_rate / ds_rate:.1f}x")
    print(f"mean |DistillWatch - datasketch| estimate difference: {mae(dw, ds):.3f}")
    print(f"mean absolute error against exact Jaccard: DistillWatch {mae(dw, exact):.3f}, datasketch {mae(ds, exact):.3f}")

if __name__ == "__main__":
    main()
