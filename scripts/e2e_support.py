"""What the end-to-end scripts (litellm-e2e.py, otel-e2e.py) share: PASS/FAIL checks,
plain HTTP calls with a bearer token, and bounded waits for a service to come up."""
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request

results = []


def check(name, ok, detail=""):
    """Records and prints one check."""
    results.append((name, ok))
    print(f"{'PASS' if ok else 'FAIL'}  {name}" + (f"  ({detail})" if detail else ""), flush=True)


def http(method, url, token=None, body=None, timeout=10):
    """(status, body bytes); an HTTP error status is returned, not raised."""
    data = body.encode() if isinstance(body, str) else body
    request = urllib.request.Request(url, data=data, method=method)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def wait_for(url, seconds, what, script):
    """Waits until `url` answers, at most `seconds`; exits naming `what` otherwise."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except Exception:
            time.sleep(0.3)
    raise SystemExit(f"{script}: {what} did not come up within {seconds} s ({url})")


def stop(processes):
    """Stops each process group: SIGTERM, then SIGKILL after 10 s."""
    for p in processes:
        try:
            os.killpg(p.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    for p in processes:
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)


def print_tails(work, logs, lines=25):
    """Prints the end of each log of the work folder that exists (after a failure)."""
    for log in logs:
        path = os.path.join(work, log)
        if os.path.exists(path):
            print(f"--- tail of {log} ---\n" + "".join(open(path, errors="replace").readlines()[-lines:]), flush=True)

