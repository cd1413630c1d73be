#!/usr/bin/env python3
"""kill -9 soak of `distillwatch serve` (issue 17): acknowledged exchanges must survive any
crash, including one while a snapshot is being written and one while the server replays
its log at start-up. Prints what it did and the number of acknowledged exchanges lost
(which must be 0); exits 1 otherwise.

Every batch k holds `--batch-lines` exchanges of one account of its own, `soak-k`, so the
final report says which batches the engine holds: each acknowledged batch must be there
whole, and an unacknowledged one (in flight at a kill) whole or not at all.

Trials rotate through three kinds of kill:
  load      SIGKILL at a random moment while clients post batches;
  snapshot  SIGKILL the moment a snapshot file is being written (`*.tmp` in the snapshot
            directory), while clients post;
  replay    SIGKILL at a random moment of the start-up (snapshot load and log replay),
            then a normal start and a `load` kill.
Snapshots are taken every `--snapshot-every` events with log compaction on, so kills also
land during compaction.

  scripts/kill-soak.py --trials 100 [--distillwatch .build/release/distillwatch]
"""
import argparse, glob, json, os, random, shutil, signal, subprocess, sys, tempfile, threading, time, urllib.request

TOKEN = "soak-token-00000000000000000001"


def post(port, path, body, timeout=30):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body, method="POST",
                                 headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/x-ndjson"})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return r.status


def get(port, path):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers={"Authorization": f"Bearer {TOKEN}"})
    return json.load(urllib.request.urlopen(req, timeout=600))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--distillwatch", default=".build/release/distillwatch")
    p.add_argument("--trials", type=int, default=100)
    p.add_argument("--clients", type=int, default=3)
    p.add_argument("--batch-lines", type=int, default=200)
    p.add_argument("--snapshot-every", type=int, default=4000)
    p.add_argument("--port", type=int, default=18491)
    p.add_argument("--seed", type=int, default=17)
    args = p.parse_args()
    rng = random.Random(args.seed)
    work = tempfile.mkdtemp(prefix="distillwatch-soak-")
    db = os.path.join(work, "state.sqlite")
    snaps = db + ".snapshots"
    binary = os.path.abspath(args.distillwatch)
    env = {**os.environ, "DISTILLWATCH_TOKENS": f"soak:ingest+analyst:{TOKEN}"}
    log = open(os.path.join(work, "server.log"), "a")

    def start():
        return subprocess.Popen([binary, "serve", "--database", db, "--port", str(args.port), "--log-level", "warning",
                                 "--reorder-tolerance-seconds", "0", "--snapshot-every-events", str(args.snapshot_every),
                                 "--snapshot-interval-seconds", "2", "--synchronous", "normal"],
                                env=env, stdout=log, stderr=log)

    def wait_listening(proc, limit=120):
        t0 = time.monotonic()
        while time.monotonic() - t0 < limit:
            if proc.poll() is not None:
                raise SystemExit(f"server exited with {proc.returncode}; see {work}/server.log")
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{args.port}/healthz", timeout=1).read()
                return time.monotonic() - t0
            except Exception:
                time.sleep(0.01)
        raise SystemExit("server did not start")

    lock = threading.Lock()
    next_batch = [0]
    acked = set()
    sent = set()
    stop_clients = threading.Event()

    def batch_body(k):
        base = 1_772_409_600_000 + k * 1000
        return "".join(f'{{"time":{base + i},"account_id":"soak-{k}","request_id":"b{k}-{i}","output_tokens":{10 + i % 50},'
                       f'"model":"m","client_ip":"198.51.{k % 250}.{1 + i % 250}"}}\n' for i in range(args.batch_lines)).encode()

    def client():
        while not stop_clients.is_set():
            with lock:
                k = next_batch[0]
                next_batch[0] += 1
                sent.add(k)
            try:
                if post(args.port, "/v1/exchanges", batch_body(k)) == 200:
                    with lock:
                        acked.add(k)
            except Exception:
                time.sleep(0.01)

    def run_load_until(kill_when):
        stop_clients.clear()
        threads = [threading.Thread(target=client, daemon=True) for _ in range(args.clients)]
        for t in threads:
            t.start()
        detail = kill_when()
        stop_clients.set()
        for t in threads:
            t.join(timeout=60)
        return detail

    kinds = {"load": 0, "snapshot": 0, "snapshot-missed": 0, "replay": 0, "replay-after-listening": 0}
    started = time.monotonic()
    last_start_seconds = 0.05
    proc = start()
    last_start_seconds = wait_listening(proc)
    for trial in range(args.trials):
        kind = ["load", "snapshot", "replay"][trial % 3]
        if kind == "replay":
            # Kill somewhere in a start-up: stop cleanly first is not allowed (that would
            # snapshot); kill the running server, start, and kill again mid-start.
            proc.kill(); proc.wait()
            proc = start()
            time.sleep(rng.uniform(0, max(0.02, last_start_seconds)))
            listening = True
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{args.port}/healthz", timeout=0.2).read()
            except Exception:
                listening = False
            proc.kill(); proc.wait()
            kinds["replay" if not listening else "replay-after-listening"] += 1
            proc = start()
            last_start_seconds = wait_listening(proc)
            kind = "load"

        def kill_at_random():
            time.sleep(rng.uniform(0.3, 2.0))
            proc.kill()
            return "load"

        def kill_during_snapshot():
            deadline = time.monotonic() + 8
            while time.monotonic() < deadline:
                if glob.glob(os.path.join(snaps, "*.tmp")):
                    proc.kill()
                    return "snapshot"
                time.sleep(0.001)
            proc.kill()
            return "snapshot-missed"

        landed = run_load_until(kill_during_snapshot if kind == "snapshot" else kill_at_random)
        proc.wait()
        kinds[landed] += 1
        proc = start()
        last_start_seconds = wait_listening(proc)
        if (trial + 1) % 10 == 0:
            print(f"  trial {trial + 1}: {len(acked)} batches acknowledged so far; last start {last_start_seconds:.2f} s", flush=True)

    report = get(args.port, "/v1/report?all=true")
    status = get(args.port, "/v1/status")
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=120)
    held = {a["account_id"]: a["exchanges"] for a in report["accounts"] if a["account_id"].startswith("soak-")}
    lost = [k for k in acked if held.get(f"soak-{k}", 0) != args.batch_lines]
    partial = [k for k in sent if held.get(f"soak-{k}", 0) not in (0, args.batch_lines)]
    extra = [k for k in sent - acked if held.get(f"soak-{k}", 0) == args.batch_lines]
    print(f"trials: {args.trials} ({kinds['load']} kills under load, {kinds['snapshot']} while a snapshot was being written, "
          f"{kinds['snapshot-missed']} snapshot kills that found no snapshot in flight, {kinds['replay']} during start-up "
          f"replay, {kinds['replay-after-listening']} start-up kills that came after listening)")
    print(f"batches sent {len(sent)}, acknowledged {len(acked)} ({len(acked) * args.batch_lines} exchanges); "
          f"in flight at a kill and kept whole: {len(extra)}; snapshots written in the last run: {status['snapshots']['written']}, "
          f"log compacted through {status['log']['compacted_through'] if status['log'] else '?'}")
    print(f"acknowledged exchanges lost: {len(lost) * args.batch_lines}; batches held in part: {len(partial)}")
    print(f"elapsed {time.monotonic() - started:.0f} s")
    shutil.rmtree(work, ignore_errors=True)
    sys.exit(0 if not lost and not partial else 1)


if __name__ == "__main__":
    main()
