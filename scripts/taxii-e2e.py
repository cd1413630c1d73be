#!/usr/bin/env python3
"""Indicator sharing over TAXII 2.1 between two DistillWatch servers and OASIS medallion,
end to end with real processes, all on loopback (Documentation/Sharing.md).

    provider A (serve) ──TAXII──► taxii2-client (reads, adds to A's inbox)
        │ published collection
        └─ share pull ─► pulled-a.json ─ share push ─► medallion 3.0.0 ─ taxii_feeds ─► provider B (serve)

Checks, each printed as PASS/FAIL (exit status 1 if any fails):
  1. A's published collection is empty until an analyst approves a flagged campaign;
  2. taxii2-client 2.3.0 reads A: discovery, API root, collections (share_read sees only
     the published one, read-only), every object page by page (as many as the manifest),
     one object and its versions; share_write adds a bundle to A's inbox (status complete),
     and an invalid object is a failure in the status;
  3. `share pull` reads A, `share push` writes medallion (without extension-definition
     objects, which medallion 3.0.0 cannot serve: its find_att reads their `version`
     property as a timestamp; a scratch collection shows it), `share pull --state` from
     medallion is incremental;
  4. provider B polls medallion (taxii_feeds) and matches the indicators on the campaign's
     members (the shared_indicator signal), under its own content key and the shared
     sharing key;
  5. dismissing the campaign on A revokes what it published; the revocation travels the
     same way and B stops matching.

Run with the Python of a venv holding taxii2-client 2.3.0 and medallion 3.0.0:
    VENV/bin/python scripts/taxii-e2e.py --distillwatch .build/debug/distillwatch --medallion VENV/bin/medallion
Options: --keep (leave the work folder; it is always kept on failure). Every wait is bounded.
"""
import argparse
import gzip
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid

import requests
import taxii2client
from taxii2client.v21 import Server, as_pages

SCRIPT = "taxii-e2e"
ANALYST = "e2e-analyst-secret-0000000001"
READER = "e2e-globex-reader-secret-00002"
WRITER = "e2e-globex-writer-secret-00003"
B_ANALYST = "e2e-b-analyst-secret-000000004"
MED_USER, MED_PASSWORD = "dw", "e2e-medallion-password-5"
CONTENT_KEY_A = "00112233445566778899aabbccddeeff"
CONTENT_KEY_B = "ffeeddccbbaa99887766554433221100"
TAXII = "application/taxii+json;version=2.1"
BATCH_BYTES = 4 * 1024 * 1024 - 64 * 1024

results = []


def check(name, ok, detail=""):
    """Records and prints one check."""
    results.append((name, bool(ok)))
    print(f"{'PASS' if ok else 'FAIL'}  {name}" + (f"  ({detail})" if detail else ""), flush=True)
    return bool(ok)


def note(text):
    print(f"{SCRIPT}: {text}", flush=True)


class Bearer(requests.auth.AuthBase):
    """`Authorization: Bearer SECRET`, as DistillWatch's TAXII server asks."""

    def __init__(self, secret):
        self.secret = secret

    def __call__(self, r):
        r.headers["Authorization"] = f"Bearer {self.secret}"
        return r


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def api(method, url, token=None, body=None, timeout=30, **kw):
    """(status, parsed JSON or text) of a DistillWatch REST call; never raises on HTTP errors."""
    headers = kw.pop("headers", {})
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = body.encode() if isinstance(body, str) else body
    r = requests.request(method, url, data=data, headers=headers, timeout=timeout, **kw)
    try:
        return r.status_code, r.json()
    except ValueError:
        return r.status_code, r.text


def wait_until(seconds, probe, interval=0.5):
    """Calls probe() until it returns a true value or `seconds` pass; returns the last value."""
    deadline = time.time() + seconds
    value = None
    while True:
        try:
            value = probe()
        except (requests.RequestException, ValueError, KeyError):
            value = None
        if value or time.time() >= deadline:
            return value
        time.sleep(interval)


def wait_http(url, seconds, what):
    ok = wait_until(seconds, lambda: requests.get(url, timeout=2).status_code < 500, 0.3)
    if not ok:
        raise SystemExit(f"{SCRIPT}: {what} did not come up within {seconds} s ({url})")


def signal_of(account, name):
    """The named signal of a GET /v1/accounts/{id} answer, or None."""
    for s in account.get("signals", []) if isinstance(account, dict) else []:
        if s.get("name") == name:
            return s
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--distillwatch", required=True, help="the distillwatch binary")
    ap.add_argument("--medallion", required=True, help="medallion 3.0.0's console script")
    ap.add_argument("--keep", action="store_true", help="keep the work folder")
    a = ap.parse_args()
    started = time.time()
    dw = os.path.abspath(a.distillwatch)
    medallion = os.path.abspath(a.medallion)
    for path, what in [(dw, "--distillwatch"), (medallion, "--medallion")]:
        if not os.access(path, os.X_OK):
            raise SystemExit(f"{SCRIPT}: {what} {path} is not an executable")
    medallion_help = subprocess.run([medallion, "--help"], capture_output=True, text=True, timeout=60).stdout
    medallion_version = next((l.strip() for l in medallion_help.splitlines() if l.strip().startswith("medallion v")), "medallion ?")
    note(f"{dw}; taxii2-client {taxii2client.__version__}; {medallion_version}")

    work = tempfile.mkdtemp(prefix="distillwatch-taxii-e2e-")
    processes = []

    def start(args, log, env=None):
        p = subprocess.Popen(args, cwd=work, stdout=open(os.path.join(work, log), "w"), stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL, env={**os.environ, **(env or {})}, start_new_session=True)
        processes.append((p, log))
        return p

    def run(args, limit=120, env=None):
        """Runs a command to completion (bounded); returns (status, stdout, stderr)."""
        try:
            r = subprocess.run(args, cwd=work, capture_output=True, text=True, timeout=limit,
                               env={**os.environ, **(env or {})}, stdin=subprocess.DEVNULL)
            return r.returncode, r.stdout, r.stderr
        except subprocess.TimeoutExpired as e:
            return 124, e.stdout or "", f"timed out after {limit} s"

    def terminated(signum, frame):
        raise SystemExit(f"{SCRIPT}: stopped by signal {signum}")

    signal.signal(signal.SIGTERM, terminated)
    signal.signal(signal.SIGHUP, terminated)
    env_home = {"DISTILLWATCH_HOME": os.path.join(work, "home")}
    crashed = None
    try:
        crashed = scenario(a, dw, medallion, work, start, run, env_home)
    except SystemExit as e:
        crashed = str(e)
    except Exception as e:  # a bug or an unexpected answer: a failure, not a traceback only
        import traceback
        traceback.print_exc()
        crashed = f"{type(e).__name__}: {e}"
    finally:
        for p, _ in processes:
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.time() + 10
        for p, _ in processes:
            try:
                p.wait(timeout=max(0.1, deadline - time.time()))
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                p.wait(timeout=10)
    if crashed:
        check("the run completes", False, crashed)
    failed = [name for name, ok in results if not ok]
    elapsed = time.time() - started
    if failed:
        for p, log in processes:
            path = os.path.join(work, log)
            if os.path.exists(path):
                lines = open(path, errors="replace").read().splitlines()
                print(f"--- {log} (last 15 lines) ---")
                for line in lines[-15:]:
                    print("      | " + line)
    print(f"{SCRIPT}: {len(results) - len(failed)} passed, {len(failed)} failed in {elapsed:.1f} s", flush=True)
    if failed:
        print(f"{SCRIPT}: FAIL: " + "; ".join(failed))
        print(f"{SCRIPT}: files kept in {work}")
        sys.exit(1)
    print(f"{SCRIPT}: PASS")
    if a.keep:
        print(f"{SCRIPT}: files kept in {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)


def scenario(a, dw, medallion, work, start, run, env_home):
    path = lambda *p: os.path.join(work, *p)  # noqa: E731
    pm, pa, pb = free_port(), free_port(), free_port()
    while len({pm, pa, pb}) < 3:
        pa, pb = free_port(), free_port()

    # 1. medallion: memory backend, one API root, a read/write collection, Basic auth, pages of 20.
    med_collection = str(uuid.uuid4())
    scratch_collection = str(uuid.uuid4())
    med_root = f"http://127.0.0.1:{pm}/api1/"

    def collection(cid, title):
        return {"id": cid, "title": title, "description": "", "can_read": True, "can_write": True,
                "media_types": ["application/stix+json;version=2.1"], "objects": [], "manifest": []}

    data = {
        "/discovery": {"title": "medallion for DistillWatch CI", "description": "OASIS medallion", "default": med_root,
                       "api_roots": [med_root]},
        "api1": {"information": {"title": "api1", "description": "indicator exchange", "versions": [TAXII],
                                 "max_content_length": 104857600},
                 "status": [],
                 "collections": [collection(med_collection, "Distillation campaigns"),
                                 collection(scratch_collection, "Scratch (extension-definition probe)")]},
    }
    json.dump(data, open(path("medallion-data.json"), "w"))
    json.dump({"backend": {"module": "medallion.backends.memory_backend", "module_class": "MemoryBackend",
                           "filename": path("medallion-data.json")},
               "users": {MED_USER: MED_PASSWORD}, "taxii": {"max_page_size": 20}},
              open(path("medallion.json"), "w"))
    start([medallion, "--host", "127.0.0.1", "--port", str(pm), "--log-level", "WARN", path("medallion.json")], "medallion.log")

    # 2. Traffic and a sharing key.
    status, out, err = run([dw, "simulate", "--scenario", "mixed", "--scale", "0.1", "--out", "sim", "--no-progress"])
    if not check("simulate the mixed scenario at scale 0.1", status == 0, (err or out).strip().splitlines()[-1:] if status else ""):
        return "simulate failed"
    status, out, err = run([dw, "share", "keygen", "acme-globex"])
    check("share keygen acme-globex", status == 0 and out.startswith("acme-globex "), err.strip())
    open(path("keys"), "w").write(out)
    traffic = gzip.open(path("sim", "traffic.jsonl.gz"), "rt").read().splitlines()
    labels = {j["account_id"]: j for j in (json.loads(l) for l in open(path("sim", "labels.jsonl")) if l.strip())}

    # 3. Provider A.
    a_url = f"http://127.0.0.1:{pa}"
    start([dw, "serve", "--port", str(pa), "--database", path("a.sqlite"),
           "--token", f"alice:analyst+ingest:{ANALYST}", "--token", f"globex-reader:share_read:{READER}",
           "--token", f"globex-writer:share_write:{WRITER}", "--sharing-producer", "Acme AI", "--sharing-keys", path("keys"),
           "--content-key", CONTENT_KEY_A, "--reorder-tolerance-seconds", "0", "--log-level", "notice"],
          "provider-a.log", env_home)
    wait_http(f"{a_url}/healthz", 60, "provider A")
    wait_http(f"http://127.0.0.1:{pm}/taxii2/", 60, "medallion")

    def ingest(base, token, lines, what):
        """Posts NDJSON lines in batches under 4 MiB; returns how many were accepted."""
        accepted, batch, size, problems = 0, [], 0, []

        def flush():
            nonlocal accepted, batch, size
            if not batch:
                return
            status, body = api("POST", f"{base}/v1/exchanges", token, "\n".join(batch) + "\n", timeout=120,
                               headers={"Content-Type": "application/x-ndjson"})
            if status != 200:
                problems.append(f"HTTP {status}: {str(body)[:300]}")
            else:
                accepted += body.get("accepted", 0)
            batch, size = [], 0

        for line in lines:
            if size + len(line) + 1 > BATCH_BYTES:
                flush()
            batch.append(line)
            size += len(line) + 1
        flush()
        check(f"{what}: {accepted} of {len(lines)} exchanges accepted", accepted == len(lines) and not problems, "; ".join(problems))
        return accepted

    status, body = api("POST", f"{a_url}/v1/accounts", ANALYST, open(path("sim", "accounts.jsonl")).read(),
                       headers={"Content-Type": "application/x-ndjson"})
    check("A: accounts ingested", status == 200 and body.get("accepted") == len(labels), f"HTTP {status}, accepted {body.get('accepted') if isinstance(body, dict) else body}")
    ingest(a_url, ANALYST, traffic, "A")
    status, body = api("GET", f"{a_url}/v1/campaigns", ANALYST)
    campaigns = body.get("campaigns", []) if status == 200 else []

    def attack_share(c):
        members = c.get("accounts", [])
        return sum(labels.get(m, {}).get("label") == "attack" for m in members) / max(1, len(members))

    flagged = [c for c in campaigns if c.get("verdict") in ("block", "throttle", "review") and attack_share(c) > 0.5]
    flagged.sort(key=lambda c: (-attack_share(c), -len(c["accounts"])))
    if not check("A flags a campaign whose members are mostly attackers", flagged,
                 f"{len(campaigns)} campaigns: " + ", ".join(f"{c.get('campaign_id')} {c.get('verdict')} "
                                                             f"{attack_share(c):.0%} attack" for c in campaigns)):
        return "no campaign to share"
    campaign = flagged[0]
    cid, members = campaign["campaign_id"], campaign["accounts"]
    note(f"campaign {cid}: {len(members)} members ({attack_share(campaign):.0%} attack: "
         f"{sorted({labels[m].get('campaign', '?') for m in members if m in labels})}), verdict {campaign['verdict']}")

    # 4. TAXII reads of A with taxii2-client, before and after approval.
    reader = Server(f"{a_url}/taxii2/", auth=Bearer(READER))
    reader_root = reader.api_roots[0]
    visible = reader_root.collections
    published = next((c for c in visible if "publish" in c.title.lower()), visible[0] if visible else None)
    before = published.get_objects() if published else {}
    check("before approval, A's published collection is empty to share_read",
          published is not None and not before.get("objects") and not before.get("more"),
          f"{len(before.get('objects', []))} objects" if published else "no collection visible")

    status, body = api("POST", f"{a_url}/v1/campaigns/{cid}/share", ANALYST, json.dumps({"action": "publish", "note": "ci"}))
    check(f"an analyst approves {cid} for sharing", status == 200 and body.get("objects", 0) > 0,
          f"HTTP {status}: {str(body)[:300] if status != 200 else str(body.get('objects')) + ' objects'}")
    published_id = body.get("collection") if status == 200 else None

    reader = Server(f"{a_url}/taxii2/", auth=Bearer(READER))
    check("discovery: title and api_roots", reader.title and "DistillWatch" in reader.title and len(reader.api_roots) == 1
          and reader.api_roots[0].url.rstrip("/").endswith("/taxii2/api"), f"{reader.title!r}, {[r.url for r in reader.api_roots]}")
    root = reader.api_roots[0]
    check("API root: versions has application/taxii+json;version=2.1", TAXII in (root.versions or []), f"{root.versions}")
    cols = root.collections
    check("collections: share_read sees only the published collection, readable and not writable",
          len(cols) == 1 and cols[0].id == published_id and cols[0].can_read and not cols[0].can_write,
          f"{[(c.id, c.title, c.can_read, c.can_write) for c in cols]}; published {published_id}")
    published = cols[0] if cols else None

    objects, pages = [], 0
    for envelope in as_pages(published.get_objects, per_request=10):
        pages += 1
        objects.extend(envelope.get("objects", []))
    manifest = []
    for envelope in as_pages(published.get_manifest, per_request=10):
        manifest.extend(envelope.get("objects", []))
    check("get_objects page by page (10 a page) reads every object",
          len(objects) > 10 and pages > 1 and len(objects) == len(manifest) and len({o['id'] for o in objects}) == len(objects),
          f"{len(objects)} objects in {pages} pages, manifest {len(manifest)}")
    by_type = {}
    for o in objects:
        by_type[o["type"]] = by_type.get(o["type"], 0) + 1
    note("published: " + ", ".join(f"{n} {t}" for t, n in sorted(by_type.items())))
    indicators = [o for o in objects if o["type"] == "indicator"]
    keyed = [i for i in indicators if "distillwatch-keyed-fingerprint" in i.get("pattern", "")]
    check("the campaign's indicators include keyed prompt fingerprints (acme-globex)",
          indicators and keyed and all("'acme-globex'" in i["pattern"] for i in keyed), f"{len(indicators)} indicators, {len(keyed)} keyed")
    one = indicators[0] if indicators else {"id": "indicator--00000000-0000-4000-8000-000000000000"}
    got = published.get_object(one["id"])
    versions = published.object_versions(one["id"])
    check("get_object and object_versions of one indicator",
          [o.get("id") for o in got.get("objects", [])] == [one["id"]] and versions.get("versions") == [one.get("modified")],
          f"{one['id']}: {len(got.get('objects', []))} objects, versions {versions.get('versions')}")

    # share_write adds to A's inbox.
    writer = Server(f"{a_url}/taxii2/", auth=Bearer(WRITER))
    inbox = next((c for c in writer.api_roots[0].collections if c.can_write), None)
    now = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
    identity = {"type": "identity", "spec_version": "2.1", "id": f"identity--{uuid.uuid4()}", "created": now, "modified": now,
                "name": "Globex (taxii-e2e)", "identity_class": "organization"}
    indicator = {"type": "indicator", "spec_version": "2.1", "id": f"indicator--{uuid.uuid4()}", "created": now, "modified": now,
                 "created_by_ref": identity["id"], "name": "taxii-e2e: an address", "indicator_types": ["malicious-activity"],
                 "pattern": "[ipv4-addr:value = '198.51.100.77']", "pattern_type": "stix", "valid_from": now}
    relationship = {"type": "relationship", "spec_version": "2.1", "id": f"relationship--{uuid.uuid4()}", "created": now,
                    "modified": now, "created_by_ref": identity["id"], "relationship_type": "related-to",
                    "source_ref": indicator["id"], "target_ref": identity["id"]}
    good = [identity, indicator, relationship]
    if inbox is None:
        check("share_write sees a writable collection (A's inbox)", False, "none")
    else:
        check("share_write sees A's inbox: writable, not readable", inbox.can_write and not inbox.can_read,
              f"{inbox.id} {inbox.title!r}")
        st = inbox.add_objects({"objects": good}, wait_for_completion=True, poll_interval=1, timeout=20)
        check("add_objects of a valid bundle to A's inbox: complete, every object a success",
              st.status == "complete" and st.success_count == len(good) and st.failure_count == 0 and st.total_count == len(good),
              f"status {st.status}, total {st.total_count}, success {st.success_count}, failure {st.failure_count}, {st.failures}")
        bad_id = f"indicator--{uuid.uuid4()}"
        bad = {"type": "indicator", "spec_version": "2.1", "id": bad_id, "created": now, "modified": now,
               "pattern": "[ipv4-addr:value = ", "pattern_type": "stix", "valid_from": now}
        st = inbox.add_objects({"objects": [bad, {**identity, "id": f"identity--{uuid.uuid4()}"}]}, wait_for_completion=True,
                               poll_interval=1, timeout=20)
        failure_ids = [f.get("id") for f in (st.failures or [])]
        check("add_objects with an invalid indicator: a failure for it in the status, the rest succeeds",
              st.status == "complete" and st.failure_count == 1 and failure_ids == [bad_id] and st.success_count == 1,
              f"status {st.status}, success {st.success_count}, failure {st.failure_count}: {st.failures}")

    # 5. DistillWatch's own TAXII client: A → file → medallion → file.
    secrets = {"A_READER": READER, "MEDPW": MED_PASSWORD}
    status, out, err = run([dw, "share", "pull", f"{a_url}/taxii2/api/", "--collection", published_id or "?",
                            "--bearer-env", "A_READER", "--state", "a-state.json", "--out", "pulled-a.json"], env=secrets)
    pulled_a = json.load(open(path("pulled-a.json")))["objects"] if status == 0 else []
    check("share pull from A: every published object", status == 0 and len(pulled_a) == len(objects),
          f"exit {status}, {len(pulled_a)} objects (TAXII read {len(objects)}) {err.strip()[-300:]}")
    extension_definitions = [o for o in pulled_a if o["type"] == "extension-definition"]

    # Why push leaves extension-definition objects out: medallion 3.0.0 stores one but cannot serve it.
    if extension_definitions:
        probe = f"{med_root}collections/{scratch_collection}/objects/"
        auth = (MED_USER, MED_PASSWORD)
        r = requests.post(probe, auth=auth, timeout=30, headers={"Content-Type": TAXII, "Accept": TAXII},
                          data=json.dumps({"objects": extension_definitions[:1]}))
        g = requests.get(probe, auth=auth, timeout=30, headers={"Accept": TAXII})
        check("medallion 3.0.0 cannot serve an extension-definition (why push uses --omit-type extension-definition)",
              r.status_code == 202 and g.status_code >= 500,
              f"add: HTTP {r.status_code}; get objects: HTTP {g.status_code} (its find_att reads the "
              f"definition's version {extension_definitions[0].get('version')!r} as a timestamp)")

    status, out, err = run([dw, "share", "push", med_root, "pulled-a.json", "--collection", med_collection, "--user", MED_USER,
                            "--password-env", "MEDPW", "--omit-type", "extension-definition"], env=secrets)
    expected = len(pulled_a) - len(extension_definitions)
    try:
        pushed = json.loads(out)
    except ValueError:
        pushed = {}
    check("share push to medallion (without extension-definition): status complete, all succeed",
          status == 0 and pushed.get("status") == "complete" and pushed.get("success_count") == expected
          and pushed.get("failure_count", 0) == 0,
          f"exit {status}, {expected} sent, success {pushed.get('success_count')}, failure {pushed.get('failure_count')} {err.strip()[-300:]}")

    status, out, err = run([dw, "share", "pull", med_root, "--collection", med_collection, "--user", MED_USER,
                            "--password-env", "MEDPW", "--state", "med-state.json", "--out", "pulled-med.json"], env=secrets)
    first = json.load(open(path("pulled-med.json")))["objects"] if status == 0 else []
    check("share pull from medallion (pages of 20): everything pushed", status == 0 and len(first) == expected,
          f"exit {status}, {len(first)} of {expected} {err.strip()[-300:]}")
    status, out, err = run([dw, "share", "pull", med_root, "--collection", med_collection, "--user", MED_USER,
                            "--password-env", "MEDPW", "--state", "med-state.json", "--out", "pulled-med-2.json"], env=secrets)
    second = json.load(open(path("pulled-med-2.json")))["objects"] if status == 0 else None
    check("share pull --state again: 0 objects (incremental)", second == [],
          f"exit {status}, {len(second) if second is not None else '?'} objects {err.strip()[-300:]}")

    # 6. Provider B: polls medallion every 2 s, its own content key, the same sharing key.
    b_url = f"http://127.0.0.1:{pb}"
    open(path("b.yaml"), "w").write(
        f"host: 127.0.0.1\nport: {pb}\ndatabase: b.sqlite\nreorder_tolerance_seconds: 0\nlog_level: info\n"
        f"sharing_producer: Globex\n"
        f"tokens:\n  - {{name: bob, roles: [analyst, ingest], secret_env: B_ANALYST_TOKEN}}\n"
        f"taxii_feeds:\n  - {{name: medallion, api_root: \"{med_root}\", collection: \"{med_collection}\", user: {MED_USER}, "
        f"password_env: MEDPW, interval_seconds: 2}}\n")
    start([dw, "serve", "--config", path("b.yaml"), "--content-key", CONTENT_KEY_B, "--sharing-keys", path("keys")],
          "provider-b.log", {**env_home, "DISTILLWATCH_HOME": path("home-b"), "MEDPW": MED_PASSWORD, "B_ANALYST_TOKEN": B_ANALYST})
    wait_http(f"{b_url}/healthz", 60, "provider B")

    def b_matched():
        status, body = api("GET", f"{b_url}/v1/sharing", B_ANALYST)
        return body.get("indicators_matched", 0) if status == 200 else 0

    t0 = time.time()
    matched = wait_until(30, b_matched)
    check("B's feed reads medallion: indicators_matched > 0", matched, f"{matched} indicators after {time.time() - t0:.1f} s "
          f"({len(indicators)} published)")

    member_set = set(members)
    honest = [l for l in traffic if labels.get(json.loads(l)["account_id"], {}).get("label") == "legit"][:200]
    mine = [l for l in traffic if json.loads(l)["account_id"] in member_set]
    ingest(b_url, B_ANALYST, mine + honest, "B: the members' traffic and 200 honest lines")

    def member_signals():
        """Each member's shared_indicator signal on B; {} when the account view lists none (it lists
        the signals that contribute, so absent means value 0); None when B does not know the account."""
        out = {}
        for m in members:
            status, body = api("GET", f"{b_url}/v1/accounts/{m}", B_ANALYST)
            known = status == 200 and isinstance(body, dict) and body.get("account_id") == m and body.get("exchanges", 0) > 0
            out[m] = (signal_of(body, "shared_indicator") or {}) if known else None
        return out

    def half_matched():
        s = member_signals()
        return s if sum(bool(v and v.get("value", 0) > 0) for v in s.values()) * 2 >= len(members) else None

    signals = wait_until(15, half_matched) or member_signals()
    hits = {m: s for m, s in signals.items() if s and s.get("value", 0) > 0}
    by_prompt = [m for m, s in hits.items() if "by prompt" in s.get("detail", "")]
    check("B: at least half the members carry shared_indicator > 0", len(hits) * 2 >= len(members),
          f"{len(hits)} of {len(members)}; by prompt: {len(by_prompt)}; e.g. "
          + (next(iter(hits.values())).get("detail", "")[:200] if hits else str(signals)[:300]))
    note(f"members matched by a keyed prompt fingerprint: {len(by_prompt)} of {len(members)}")
    honest_ids = sorted({json.loads(l)["account_id"] for l in honest})
    falsely = []
    for h in honest_ids:
        status, body = api("GET", f"{b_url}/v1/accounts/{h}", B_ANALYST)
        s = signal_of(body, "shared_indicator") if status == 200 else None
        if s and s.get("value", 0) > 0:
            falsely.append(h)
    check("B: no honest account carries shared_indicator", not falsely, f"{len(honest_ids)} honest accounts; matched: {falsely}")

    # 7. Dismissal on A revokes; the revocation travels to B, which stops matching.
    status, body = api("POST", f"{a_url}/v1/campaigns/{cid}/label", ANALYST, json.dumps({"label": "legitimate", "note": "ci dismissal"}))
    check(f"A: an analyst dismisses {cid} (label legitimate)", status == 200, f"HTTP {status}: {str(body)[:200] if status != 200 else ''}")
    status, body = api("GET", f"{a_url}/v1/sharing", ANALYST)
    last = (body.get("decisions") or [{}])[0] if status == 200 else {}
    check("A records the dismissal as a sharing decision", last.get("action") == "dismiss" and last.get("campaign_id") == cid,
          f"{ {k: last.get(k) for k in ('action', 'campaign_id', 'analyst', 'note')} }")

    latest = []
    for envelope in as_pages(published.get_objects, per_request=10, type="indicator", version="last"):
        latest.extend(envelope.get("objects", []))
    check("taxii2-client: A's indicators, latest versions, are all revoked",
          latest and len(latest) == len(indicators) and all(o.get("revoked") is True for o in latest),
          f"{sum(o.get('revoked') is True for o in latest)} of {len(latest)} revoked ({len(indicators)} published)")
    versions = published.object_versions(one["id"])
    check("object_versions of the indicator: 2 versions", len(versions.get("versions", [])) == 2, f"{versions.get('versions')}")

    status, out, err = run([dw, "share", "pull", f"{a_url}/taxii2/api/", "--collection", published_id or "?",
                            "--bearer-env", "A_READER", "--state", "a-state.json", "--out", "pulled-a-2.json"], env=secrets)
    revoked = json.load(open(path("pulled-a-2.json")))["objects"] if status == 0 else []
    check("share pull --state from A: only the revoked new versions",
          status == 0 and revoked and all(o.get("revoked") is True for o in revoked)
          and {o["id"] for o in revoked} <= {o["id"] for o in pulled_a}
          and {o["id"] for o in indicators} <= {o["id"] for o in revoked},
          f"exit {status}, {len(revoked)} objects, {sum(o.get('revoked') is True for o in revoked)} revoked {err.strip()[-300:]}")
    status, out, err = run([dw, "share", "push", med_root, "pulled-a-2.json", "--collection", med_collection, "--user", MED_USER,
                            "--password-env", "MEDPW", "--omit-type", "extension-definition"], env=secrets)
    try:
        pushed = json.loads(out)
    except ValueError:
        pushed = {}
    sent = len([o for o in revoked if o["type"] != "extension-definition"])
    check("share push of the revocation to medallion", status == 0 and pushed.get("success_count") == sent,
          f"exit {status}, success {pushed.get('success_count')} of {sent} {err.strip()[-300:]}")

    t0 = time.time()
    gone = wait_until(30, lambda: b_matched() == 0)
    check("B's feed reads the revocation: indicators_matched 0", gone, f"after {time.time() - t0:.1f} s: {b_matched()}")

    def stopped():
        s = member_signals()
        return s if all(v is not None and v.get("value", 0) == 0 for v in s.values()) else None

    t0 = time.time()
    after = wait_until(30, stopped)
    final = after or member_signals()
    check("B stops matching: members' shared_indicator is 0", after,
          f"after {time.time() - t0:.1f} s: " + ", ".join(
              f"{m}: {'unknown to B' if v is None else v['value'] if v else 'not listed (value 0)'}" for m, v in final.items()))
    return None


if __name__ == "__main__":
    main()
