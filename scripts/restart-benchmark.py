#!/usr/bin/env python3
"""Restart time of `distillwatch serve` against the size of its history, with and without
snapshots (issue 17). Not a test: it prints figures.

For each size N (events), it writes an event log of N synthetic exchanges straight into a
server database (Python's sqlite3, the schema created by the server itself), then:
  1. starts `serve --snapshot-directory off` and times until /healthz answers: a full replay;
  2. starts `serve` with snapshots, waits for its first snapshot, stops it (SIGTERM), and
     times the next start: the snapshot loaded, nothing to replay;
  3. appends TAIL more events and times the next start: the snapshot plus a replayed tail.
It prints events, accounts, database and snapshot sizes, seconds to listening and the
server's peak memory (VmHWM) for each.

  scripts/restart-benchmark.py --sizes 1000000,10000000,50000000 [--accounts 100000] [--tail 250000]

The exchanges carry no content sketches (the stored form of a real log also holds ~570
bytes of sketch per exchange; replay then decodes more, and the snapshot is unchanged).
"""
import argparse, json, os, shutil, signal, sqlite3, subprocess, sys, tempfile, time, urllib.request

TOKENS = "bench:analyst+ingest:bench-token-0000000000000001"
HEADERS = {"Authorization": "Bearer bench-token-0000000000000001"}


def wait_listening(port, proc, limit=3600):
    start = time.monotonic()
    while time.monotonic() - start < limit:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1).read()
            return time.monotonic() - start
        except Exception:
            time.sleep(0.02)
    raise SystemExit("server did not start")


def get(port, path):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=HEADERS)
    return json.load(urllib.request.urlopen(req, timeout=600))


def peak_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def serve(binary, db, port, *extra):
    return subprocess.Popen([binary, "serve", "--database", db, "--port", str(port), "--log-level", "warning",
                             "--reorder-tolerance-seconds", "0", *extra],
                            env={**os.environ, "DISTILLWATCH_TOKENS": TOKENS},
                            stdout=subprocess.DEVNULL, stderr=open(db + ".log", "a"))


def stop(proc):
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=600)


def write_events(db, first, count, accounts, start_ms, span_ms):
    """Appends `count` exchange events (sequence numbers first..first+count-1)."""
    con = sqlite3.connect(db)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=OFF")
    batch = []
    countries = ["US", "DE", "BR", "IN", "JP", "FR", "GB", "VN"]
    for n in range(first, first + count):
        a = (n * 2654435761) % accounts
        t = start_ms + (n * span_ms) // (first + count)
        proxy = a % 20 == 0
        ip = f"100.{64 + n % 60}.{(n // 60) % 250}.{1 + n % 250}" if proxy else f"198.{51 + a % 4}.{(a // 250) % 250}.{1 + a % 250}"
        line = (f'{{"time":{t},"account_id":"acct-{a}","request_id":"r-{n}","api_key_id":"key-{a % 3}",'
                f'"model":"model-{"ab"[n % 2]}","input_tokens":{200 + n % 900},"output_tokens":{100 + (n * 7) % 3000},'
                f'"max_tokens":{4096 if proxy else 1024},"thinking":{"true" if proxy else "false"},"message_count":{1 + a % 4},'
                f'"client_ip":"{ip}","asn":{64500 + (n % 90 if proxy else a % 3000)},"country":"{countries[(n if proxy else a) % 8]}",'
                f'"user_agent":"client/{a % 40}"}}')
        batch.append((1, f"acct-{a}", t, line.encode()))
        if len(batch) == 20000:
            con.executemany("INSERT INTO events (kind, subject, received_at, payload) VALUES (?, ?, ?, ?)", batch)
            con.commit()
            batch = []
    if batch:
        con.executemany("INSERT INTO events (kind, subject, received_at, payload) VALUES (?, ?, ?, ?)", batch)
        con.commit()
    con.close()


def du(path):
    if os.path.isdir(path):
        return sum(os.path.getsize(os.path.join(path, f)) for f in os.listdir(path))
    return os.path.getsize(path) if os.path.exists(path) else 0


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--distillwatch", default=".build/release/distillwatch")
    p.add_argument("--sizes", default="1000000,10000000")
    p.add_argument("--accounts", type=int, default=100_000)
    p.add_argument("--tail", type=int, default=250_000)
    p.add_argument("--port", type=int, default=18391)
    p.add_argument("--work", default=None)
    args = p.parse_args()
    binary = os.path.abspath(args.distillwatch)
    work = args.work or tempfile.mkdtemp(prefix="distillwatch-restart-")
    os.makedirs(work, exist_ok=True)
    print(f"machine: {os.cpu_count()} cores; {binary}; work in {work}")
    print(f"{'events':>11} {'accounts':>9} {'db MB':>8} {'how':<36} {'listening s':>11} {'peak RSS MB':>11} {'snapshot MB':>11}")
    for size in [int(s) for s in args.sizes.split(",")]:
        db = os.path.join(work, f"log-{size}.sqlite")
        for f in [db, db + "-wal", db + "-shm"]:
            if os.path.exists(f):
                os.remove(f)
        shutil.rmtree(db + ".snapshots", ignore_errors=True)
        # The schema, as the server creates it.
        proc = serve(binary, db, args.port, "--snapshot-directory", "off")
        wait_listening(args.port, proc)
        stop(proc)
        t0 = time.monotonic()
        write_events(db, 1, size, args.accounts, 1_772_409_600_000, 30 * 86_400_000)
        gen = time.monotonic() - t0
        mb = du(db) / 1e6
        print(f"# {size} events written in {gen:.0f} s", flush=True)

        # No snapshot yet: the whole log is replayed; then the first snapshot is taken.
        proc = serve(binary, db, args.port, "--log-retention", "keep")
        s = wait_listening(args.port, proc)
        status = get(args.port, "/v1/status")
        accounts = status["engine"]["accounts"]
        assert status["restart"]["replayed_events"] == size, status["restart"]
        rss = peak_kib(proc.pid) / 1024
        print(f"{size:>11} {accounts:>9} {mb:>8.0f} {'full replay (no snapshot)':<36} {s:>11.2f} {rss:>11.0f} {'':>11}", flush=True)
        while get(args.port, "/v1/status")["snapshots"]["written"] < 1:
            time.sleep(0.2)
        stop(proc)
        snap_mb = du(db + ".snapshots") / 1e6
        proc = serve(binary, db, args.port, "--log-retention", "keep")
        s = wait_listening(args.port, proc)
        restart = get(args.port, "/v1/status")["restart"]
        rss = peak_kib(proc.pid) / 1024
        stop(proc)
        assert restart["snapshot"] and restart["replayed_events"] == 0, restart
        print(f"{size:>11} {accounts:>9} {mb:>8.0f} {'snapshot, no tail':<36} {s:>11.2f} {rss:>11.0f} {snap_mb:>11.0f}", flush=True)

        write_events(db, size + 1, args.tail, args.accounts, 1_772_409_600_000 + 30 * 86_400_000, 3_600_000)
        proc = serve(binary, db, args.port, "--log-retention", "keep", "--snapshot-every-events", str(10 * size))
        s = wait_listening(args.port, proc)
        restart = get(args.port, "/v1/status")["restart"]
        rss = peak_kib(proc.pid) / 1024
        stop(proc)
        assert restart["replayed_events"] == args.tail, restart
        print(f"{size:>11} {accounts:>9} {mb:>8.0f} {f'snapshot + {args.tail}-event tail':<36} {s:>11.2f} {rss:>11.0f} {snap_mb:>11.0f}",
              flush=True)
        for f in [db, db + "-wal", db + "-shm", db + ".log"]:
            if os.path.exists(f):
                os.remove(f)
        shutil.rmtree(db + ".snapshots", ignore_errors=True)


if __name__ == "__main__":
    main()
