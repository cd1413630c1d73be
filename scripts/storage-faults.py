#!/usr/bin/env python3
"""Storage fault injection against a real `distillwatch serve` (issue 17). Needs root: it
mounts a small tmpfs for the database and runs the server as `nobody`, so that permission
changes bite. Prints what each fault did; exits 1 if any expectation fails.

While clients post batches and a prober calls /v1/decide:
  1. disk full: a filler file takes every free byte of the tmpfs. Ingest must answer 503
     with the reason, decide must keep answering 200, /healthz must say "degraded"; once
     the filler is removed, ingest must come back by itself within a few seconds.
  2. permissions: the database folder is made read-only (no new files: snapshots cannot
     be written, counted as failures) and the database and WAL files read-only; the open
     database keeps working (SQLite holds its files open), nothing is refused; everything
     is restored afterwards.
  3. the database replaced under the server: moved aside and another file put in its
     place: ingest 503 with the reason, decide 200; moved back: ingest resumes.
  4. restart: every acknowledged batch must be in the restarted server's report, whole.
  5. a database the server may only read, at start: refused with a clear message.

  sudo scripts/storage-faults.py [--distillwatch .build/release/distillwatch] [--size-mb 96]
"""
import argparse, glob, json, os, shutil, signal, subprocess, sys, tempfile, threading, time, urllib.error, urllib.request

TOKEN = "fault-token-0000000000000000001"
BATCH = 20  # exchanges per batch
KEY = "00112233445566778899aabbccddeeff"
failures = []


def check(ok, what):
    print(("  ok    " if ok else "  FAIL  ") + what, flush=True)
    if not ok:
        failures.append(what)


def request(port, path, body=None, timeout=10):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body, method="POST" if body is not None else "GET",
                                 headers={"Authorization": f"Bearer {TOKEN}"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--distillwatch", default=".build/release/distillwatch")
    p.add_argument("--size-mb", type=int, default=96)
    p.add_argument("--port", type=int, default=18591)
    args = p.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("needs root (mounts a tmpfs and runs the server as nobody)")
    binary = os.path.abspath(args.distillwatch)
    probe = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", binary, "--version"]
    if subprocess.run(probe, capture_output=True).returncode != 0:
        # nobody cannot reach the binary where it was built: run a copy from /tmp.
        copy_dir = tempfile.mkdtemp(prefix="distillwatch-bin-")
        os.chmod(copy_dir, 0o755)
        binary = shutil.copy2(binary, os.path.join(copy_dir, "distillwatch"))
        os.chmod(binary, 0o755)
    mount = tempfile.mkdtemp(prefix="distillwatch-faults-")
    if subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={args.size_mb}m,mode=0755", "tmpfs", mount]).returncode != 0:
        raise SystemExit(f"cannot mount a tmpfs at {mount} (this needs root with CAP_SYS_ADMIN)")
    data = os.path.join(mount, "data")
    os.makedirs(data)
    os.chown(data, 65534, 65534)
    db = os.path.join(data, "state.sqlite")
    log = open(os.path.join(tempfile.gettempdir(), "distillwatch-faults-server.log"), "w")
    env = {**os.environ, "DISTILLWATCH_TOKENS": f"ops:ingest+decide+analyst:{TOKEN}", "HOME": "/nonexistent"}

    def start(extra=()):
        return subprocess.Popen(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", binary, "serve",
                                 "--database", db, "--port", str(args.port), "--log-level", "notice",
                                 "--reorder-tolerance-seconds", "0", "--content-key", KEY,
                                 "--snapshot-every-events", "5000", "--snapshot-interval-seconds", "2", *extra],
                                env=env, stdout=log, stderr=log)

    def wait_listening(proc):
        for _ in range(600):
            if proc.poll() is not None:
                return False
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{args.port}/healthz", timeout=1).read()
                return True
            except Exception:
                time.sleep(0.05)
        return False

    lock = threading.Lock()
    state = {"next": 0, "acked": set(), "codes": {}, "decide": {}, "reasons": set()}
    stop = threading.Event()

    def body(k):
        base = 1_772_409_600_000 + k * 1000
        return "".join(f'{{"time":{base + i},"account_id":"fault-{k}","request_id":"f{k}-{i}","output_tokens":40,'
                       f'"prompt":"explain step {i} of task {k}"}}\n' for i in range(BATCH)).encode()

    def client():
        while not stop.is_set():
            with lock:
                k = state["next"]
                state["next"] += 1
            code, text = request(args.port, "/v1/exchanges", body(k))
            with lock:
                state["codes"][code] = state["codes"].get(code, 0) + 1
                if code == 200:
                    state["acked"].add(k)
                elif code == 503:
                    state["reasons"].add(json.loads(text).get("error", {}).get("message", text)[:160] if text.startswith("{") else text[:160])
            # Paced (about 20 batches/s per client): the load alone must not fill the disk.
            time.sleep(0.05)

    def prober():
        while not stop.is_set():
            code, _ = request(args.port, "/v1/decide", json.dumps({"account_id": "fault-1"}).encode())
            with lock:
                state["decide"][code] = state["decide"].get(code, 0) + 1
            time.sleep(0.01)

    def phase(name):
        with lock:
            state["codes"], state["decide"], state["reasons"] = {}, {}, set()
        print(f"== {name}", flush=True)

    def counts():
        with lock:
            return dict(state["codes"]), dict(state["decide"]), set(state["reasons"])

    def health():
        return json.loads(request(args.port, "/healthz")[1])

    proc = start()
    try:
        check(wait_listening(proc), "the server starts on the tmpfs as nobody")
        threads = [threading.Thread(target=client, daemon=True) for _ in range(2)] + [threading.Thread(target=prober, daemon=True)]
        for t in threads:
            t.start()
        time.sleep(3)

        phase("1. disk full")
        filler = os.path.join(mount, "filler")
        subprocess.run(["dd", "if=/dev/zero", f"of={filler}", "bs=64k"], stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        time.sleep(3)
        codes, decide, reasons = counts()
        h = health()
        print(f"  ingest answers {codes}; decide answers {decide}; health {h['status']}: {h['storage'].get('reason')}")
        print(f"  reasons given: {sorted(reasons)[:2]}")
        check(codes.get(503, 0) > 0, "ingest answers 503 while the disk is full")
        check(any("full" in r for r in reasons), "the 503 names the cause (disk full)")
        check(set(decide) == {200}, "decide answers 200 throughout")
        check(h["status"] == "degraded", "/healthz says degraded")
        check(not os.path.exists(db + "-shm"), "no -shm file exists (exclusive WAL: nothing memory-mapped to raise SIGBUS)")
        metrics = request(args.port, "/metrics")[1]
        check("distillwatch_storage_available 0" in metrics, "the storage_available gauge is 0")
        os.remove(filler)
        t0 = time.monotonic()
        while health()["status"] != "ok" and time.monotonic() - t0 < 15:
            time.sleep(0.1)
        recovered = time.monotonic() - t0
        phase("   after the filler is removed")
        time.sleep(2)
        codes, decide, _ = counts()
        print(f"  healthy again after {recovered:.1f} s; then ingest answers {codes}")
        check(health()["status"] == "ok" and codes.get(200, 0) > 0 and codes.get(503, 0) == 0, "ingest recovers by itself")

        phase("2. permissions flipped while load runs")
        for f in [db, db + "-wal"]:
            if os.path.exists(f):
                os.chmod(f, 0o444)
        os.chmod(data, 0o555)
        snaps = db + ".snapshots"
        if os.path.isdir(snaps):
            os.chmod(snaps, 0o555)
        status_before = json.loads(request(args.port, "/v1/status")[1])["snapshots"]
        time.sleep(5)
        codes, decide, _ = counts()
        status_after = json.loads(request(args.port, "/v1/status")[1])["snapshots"]
        print(f"  ingest answers {codes}; decide {decide}; snapshots failed {status_before['failed']} -> {status_after['failed']}: "
              f"{(status_after.get('last_error') or '')[:120]}")
        check(codes.get(200, 0) > 0, "the open database keeps taking writes (SQLite holds its files open)")
        check(set(decide) == {200}, "decide answers 200 throughout")
        for f in [db, db + "-wal"]:
            if os.path.exists(f):
                os.chmod(f, 0o644)
        os.chmod(data, 0o755)
        if os.path.isdir(snaps):
            os.chmod(snaps, 0o700)

        phase("3. database replaced under the server")
        os.rename(db, db + ".aside")
        shutil.copyfile("/etc/hostname", db)
        os.chown(db, 65534, 65534)
        time.sleep(3)
        codes, decide, reasons = counts()
        print(f"  ingest answers {codes}; decide {decide}; reasons {sorted(reasons)[:1]}")
        check(codes.get(503, 0) > 0 and any("replaced" in r for r in reasons), "ingest answers 503 naming the replaced file")
        check(set(decide) == {200}, "decide answers 200 throughout")
        os.remove(db)
        os.rename(db + ".aside", db)
        t0 = time.monotonic()
        while health()["status"] != "ok" and time.monotonic() - t0 < 15:
            time.sleep(0.1)
        phase("   after the original is back")
        time.sleep(2)
        codes, _, _ = counts()
        check(codes.get(200, 0) > 0 and codes.get(503, 0) == 0, f"ingest resumes ({time.monotonic() - t0:.1f} s after)")

        stop.set()
        for t in threads:
            t.join(timeout=30)
        phase("4. restart: every acknowledged batch is there")
        proc.kill()
        proc.wait()
        proc = start()
        check(wait_listening(proc), "the server restarts")
        report = json.loads(request(args.port, "/v1/report?all=true", timeout=120)[1])
        held = {a["account_id"]: a["exchanges"] for a in report["accounts"]}
        lost = [k for k in state["acked"] if held.get(f"fault-{k}") != BATCH]
        print(f"  {len(state['acked'])} batches ({len(state['acked']) * BATCH} exchanges) acknowledged; lost: {len(lost)}")
        check(not lost, "nothing acknowledged was lost")
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)

        phase("5. a database the server may only read, at start")
        os.chmod(db, 0o444)
        for f in glob.glob(db + "-*"):
            os.chmod(f, 0o444)
        proc = start()
        code = proc.wait(timeout=60)
        log.flush()
        tail = open(log.name).read().strip().splitlines()[-1:]
        print(f"  exit {code}: {tail}")
        check(code != 0 and any("can only be read" in line or "readonly" in line or "read-only" in line for line in tail),
              "refused with a message naming the file and the permission")
    finally:
        stop.set()
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        subprocess.run(["umount", mount])
        shutil.rmtree(mount, ignore_errors=True)
    print("storage faults:", "all expectations held" if not failures else f"{len(failures)} failed: {failures}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
