#!/usr/bin/env python3
"""The analyst console (`/console` in `distillwatch serve`) in a real browser, end to end,
all on loopback.

    distillwatch simulate (agentic-hydra) ──POST /v1/accounts, /v1/exchanges, /v1/flush──► distillwatch serve
    headless Chromium (selenium, chromedriver) ──► /console/...      urllib ──► /console/..., /v1/...

Checks, each printed as PASS/FAIL (exit status 1 if any fails):
  1. traffic from the simulator (agentic-hydra, small scale) and one hostile account (an id
     and a user agent that are HTML) are ingested and a campaign is flagged;
  2. in the browser: /console without a session lands on the sign-in form; a decide-only
     token is refused with a page; the analyst token signs in; the overview, the campaigns
     list, the highest-scored campaign, one of its member accounts, search and screening
     pages open; a note typed on the campaign page and "confirm" store the label, which the
     JSON API (GET /v1/campaigns/{id}) then shows; the hostile account's page shows its id
     as text, runs none of it, and its "legitimate" form works through the URL-encoded id;
     signing out ends the session, also for a copy of its cookie;
  3. over plain HTTP: a page without a session is a 303 to /console/login; a POST with a
     wrong, missing or foreign csrf field is a 403 (and the same POST with the right one is
     not); a token without the analyst role gets a 403 page and no session; the session
     cookie is HttpOnly, SameSite=Strict, Path=/console;
  4. after every page: no alert or other dialog was opened, the browser console has no
     SEVERE entry (a failed /favicon.ico and the deliberate 403 page are ignored, and said),
     and axe-core finds no violation of impact "serious" or "critical" (each is printed
     with its rule, targets and HTML); each page is screenshot into --screenshots.

Run with the Python of a venv holding selenium and axe-selenium-python (see .ci/run):
    VENV/bin/python scripts/console-e2e.py --distillwatch .build/debug/distillwatch
Options: --screenshots DIR (default ci-output/console), --readme-images DIR (also writes
console-overview.png and console-campaign.png there), --scale (simulator scale, default
0.005), --keep (leave the work folder), --time-limit SECONDS (default 230), --axe-script
FILE (an axe.min.js instead of the one axe-selenium-python bundles; the version used is printed).
Every wait is bounded; the run takes about 30 seconds.
"""
import argparse
import calendar
import gzip
import html.parser
from http.client import HTTPConnection
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_support import check, http, results  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OPS, ANALYST, DECIDE = "console-e2e-ops-token-000001", "console-e2e-analyst-token-02", "console-e2e-decide-token-003"
HOSTILE_ID = '<script>alert("dw")</script>'
HOSTILE_UA = '"><img src=x onerror=alert(1)>'
HOSTILE_EMAIL = 'x.example"><svg onload=alert(3)>'
NOTE = 'e2e: confirmed from the console <img src=x onerror=alert("note")>'
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
# Records window.alert/confirm/prompt/print calls before any page script runs, so a dialog
# is seen even when Chromium dismisses it before selenium asks.
DIALOG_HOOK = """
window.__dwDialogs = [];
for (const name of ['alert', 'confirm', 'prompt', 'print']) {
  const original = window[name];
  window[name] = function (...args) { window.__dwDialogs.push(name + '(' + args.map(String).join(',') + ')');
                                      return original.apply(window, args); };
}
"""

timings = []      # (what, seconds)
ignored_log = []  # browser console entries ignored, with why


class Fatal(Exception):
    """A step the rest cannot go on without failed."""


class Timeout(Exception):
    pass


def timed(what):
    class T:
        def __enter__(self):
            self.t = time.time()

        def __exit__(self, *exc):
            timings.append((what, time.time() - self.t))
    return T()


# --- plain HTTP without following redirects --------------------------------------------------------

class Raw:
    def __init__(self, port):
        self.port = port

    def __call__(self, method, path, headers=None, body=None, timeout=15):
        """(status, headers (http.client.HTTPMessage), body text)."""
        c = HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            c.request(method, path, body=body, headers=headers or {})
            r = c.getresponse()
            return r.status, r.headers, r.read().decode("utf-8", "replace")
        finally:
            c.close()


def set_cookies(headers):
    """{name: (value, {attribute lowercased: value or True})} from Set-Cookie headers."""
    out = {}
    for line in headers.get_all("Set-Cookie") or []:
        parts = [p.strip() for p in line.split(";")]
        name, _, value = parts[0].partition("=")
        attrs = {}
        for p in parts[1:]:
            k, eq, v = p.partition("=")
            attrs[k.strip().lower()] = v.strip() if eq else True
        out[name.strip()] = (value, attrs)
    return out


class Forms(html.parser.HTMLParser):
    """Each <form>'s attributes and its inputs and buttons (attribute dicts)."""

    def __init__(self, text):
        super().__init__()
        self.forms, self.current = [], None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.current = {"attrs": a, "fields": []}
            self.forms.append(self.current)
        elif tag in ("input", "button", "textarea") and self.current is not None:
            self.current["fields"].append(dict(a, tag=tag))

    def handle_endtag(self, tag):
        if tag == "form":
            self.current = None

    def form(self, action):
        for f in self.forms:
            if f["attrs"].get("action") == action:
                return f
        return None

    def csrf(self, action):
        f = self.form(action)
        if f:
            for field in f["fields"]:
                if field.get("name") == "csrf":
                    return field.get("value")
        return None


def location_is(headers, path):
    loc = headers.get("Location") or ""
    return urllib.parse.urlsplit(loc).path == path


# --- the server and its traffic ------------------------------------------------------------------

def start_server(dw, work):
    config = os.path.join(work, "serve.yaml")
    with open(config, "w") as f:
        f.write("host: 127.0.0.1\nport: 0\ndatabase: state.sqlite\nreorder_tolerance_seconds: 300\n"
                "tokens:\n"
                "  - {name: ops, roles: [ingest, analyst], secret_env: DW_E2E_OPS}\n"
                "  - {name: alice, roles: [analyst], secret_env: DW_E2E_ANALYST}\n"
                "  - {name: gateway, roles: [decide], secret_env: DW_E2E_DECIDE}\n")
    env = dict(os.environ, DW_E2E_OPS=OPS, DW_E2E_ANALYST=ANALYST, DW_E2E_DECIDE=DECIDE)
    log = os.path.join(work, "serve.log")
    proc = subprocess.Popen([dw, "serve", "--config", config], stdout=open(log, "w"), stderr=subprocess.STDOUT,
                            env=env, start_new_session=True)
    deadline = time.time() + 30
    while time.time() < deadline:
        m = re.search(r"listening on http://127\.0\.0\.1:(\d+)", open(log).read())
        if m:
            return proc, int(m.group(1)), log
        if proc.poll() is not None:
            break
        time.sleep(0.2)
    raise Fatal(f"distillwatch serve did not say it was listening within 30 s; its log:\n{open(log).read()[-3000:]}")


def stop(proc):
    """SIGTERM to the server's process group (it was started in a session of its own), then SIGKILL."""
    if proc and proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)


def ingest(base, sim, labels):
    """Accounts, traffic (batches of 10,000 lines), the hostile account, then a flush."""
    with open(os.path.join(sim, "accounts.jsonl")) as f:
        accounts = f.read()
    hostile_account = {"account_id": HOSTILE_ID, "created": "2026-01-05T10:00:00Z", "tier": "free",
                       "email_domain": HOSTILE_EMAIL, "declared_country": "US"}
    status, body = http("POST", f"{base}/v1/accounts", OPS, accounts + json.dumps(hostile_account) + "\n", timeout=60)
    check("account records are accepted", status == 200, f"{status} {body[:200]!r}")

    with gzip.open(os.path.join(sim, "traffic.jsonl.gz"), "rt") as f:
        lines = f.read().splitlines()
    template = None
    for line in lines:
        record = json.loads(line)
        if labels.get(record["account_id"], {}).get("label") == "legit":
            template = record
            break
    last = max(json.loads(line)["time"] for line in lines[-2000:])
    last_t = calendar.timegm(time.strptime(last[:19], "%Y-%m-%dT%H:%M:%S"))
    for i in range(5):
        r = dict(template or {}, account_id=HOSTILE_ID, user_agent=HOSTILE_UA, request_id=f"req_console_e2e_{i}",
                 time=time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(last_t + 10 * (i + 1))) + ".000Z")
        lines.append(json.dumps(r))
    accepted = rejected = 0
    for i in range(0, len(lines), 10_000):
        status, body = http("POST", f"{base}/v1/exchanges", OPS, "\n".join(lines[i:i + 10_000]) + "\n", timeout=120)
        if status != 200:
            raise Fatal(f"POST /v1/exchanges answered {status}: {body[:300]!r}")
        answer = json.loads(body)
        accepted += answer.get("accepted", 0)
        rejected += answer.get("rejected", 0)
    check("every exchange is accepted (with 5 from the hostile account)", accepted == len(lines) and rejected == 0,
          f"{accepted:,} accepted, {rejected} rejected of {len(lines):,}")
    status, body = http("POST", f"{base}/v1/flush", OPS, "", timeout=120)
    check("POST /v1/flush", status == 200, f"{status} {body[:200]!r}")
    return len(lines)


def campaigns_from_api(base):
    status, body = http("GET", f"{base}/v1/campaigns", ANALYST)
    if status != 200:
        raise Fatal(f"GET /v1/campaigns answered {status}: {body[:300]!r}")
    data = json.loads(body)
    return data.get("campaigns", data) if isinstance(data, dict) else data


def member_ids(campaign):
    out = []
    for a in campaign.get("accounts", []):
        out.append(a.get("account_id") if isinstance(a, dict) else a)
    return out


# --- the browser ------------------------------------------------------------------------------------

def make_driver():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,800",
                "--disable-gpu", "--no-first-run", "--disable-extensions", "--lang=en-US"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    options.set_capability("unhandledPromptBehavior", "ignore")  # leave dialogs open to be seen
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(20)
    driver.set_script_timeout(30)
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": DIALOG_HOOK})
    # --window-size is the window's outer size: grow it so that the page itself is 1280×800.
    inner = driver.execute_script("return [window.innerWidth, window.innerHeight]")
    size = driver.get_window_size()
    driver.set_window_size(size["width"] + 1280 - inner[0], size["height"] + 800 - inner[1])
    return driver


class Browser:
    def __init__(self, driver, base, shots, readme, axe_script=None):
        from selenium.webdriver.common.by import By
        self.d, self.base, self.shots, self.readme, self.By = driver, base, shots, readme, By
        self.axe_script = axe_script
        self.axe_versions = set()
        self.pages = 0
        self.opened = []  # dialogs seen open (and dismissed) since the last page()
        self.logs = []    # (path, browser console entry) since the last page()

    def collect(self):
        """Moves the browser console's entries so far into self.logs, with the page they came from."""
        try:
            path = urllib.parse.urlsplit(self.d.current_url).path
            self.logs += [(path, entry) for entry in self.d.get_log("browser")]
        except Exception:
            pass

    def settle(self):
        """Dismisses any dialog left open (an injected script's alert blocks every command),
        remembering it for the page's checks."""
        from selenium.common.exceptions import NoAlertPresentException
        for _ in range(10):
            try:
                alert = self.d.switch_to.alert
                self.opened.append(f"open dialog {alert.text!r}")
                alert.dismiss()
                time.sleep(0.1)
            except NoAlertPresentException:
                return

    def path(self):
        self.settle()
        return urllib.parse.urlsplit(self.d.current_url).path

    def go(self, path):
        self.collect()
        self.d.get(self.base + path)
        self.settle()

    def click(self, element):
        self.collect()
        element.click()
        time.sleep(0.2)
        self.settle()

    def text(self):
        return self.d.find_element(self.By.TAG_NAME, "body").text

    def find(self, css):
        return self.d.find_elements(self.By.CSS_SELECTOR, css)

    def submit(self, button_css):
        """Clicks a submit button and waits for the next page."""
        from selenium.webdriver.support.ui import WebDriverWait
        from selenium.common.exceptions import (StaleElementReferenceException, UnexpectedAlertPresentException,
                                                WebDriverException)
        buttons = self.find(button_css)
        if not buttons:
            raise Fatal(f"no {button_css} on {self.path()}")
        old = self.d.find_element(self.By.TAG_NAME, "html")
        self.collect()
        buttons[0].click()

        def left(_):
            # EC.staleness_of, plus Chrome's other answer for an element of a page being
            # unloaded mid-query ("Node with given id does not belong to the document", a
            # race with the navigation seen once in CI on 1 December 2026): both mean gone.
            try:
                old.is_enabled()
                return False
            except StaleElementReferenceException:
                return True
            except UnexpectedAlertPresentException:
                raise
            except WebDriverException as e:
                if "does not belong to the document" in str(e) or "No node with given id" in str(e):
                    return True
                raise
        try:
            WebDriverWait(self.d, 15).until(left)
        except UnexpectedAlertPresentException:
            self.settle()
        self.settle()
        WebDriverWait(self.d, 15).until(lambda d: d.execute_script("return document.readyState") == "complete")

    def dialogs(self):
        """Dialogs opened on this page: one still open, and those the hook recorded."""
        self.settle()
        seen, self.opened = self.opened, []
        try:
            seen += self.d.execute_script("return window.__dwDialogs || []") or []
        except Exception as e:  # an alert opened between the two calls
            seen.append(f"dialog while reading the hook: {e.__class__.__name__}")
        return seen

    def page(self, name, *, nav=True, expect_status=None, readme_as=None):
        """The checks every page gets: no dialog, <main> (and a nav), no SEVERE console entry,
        no serious or critical axe violation; then a screenshot."""
        from axe_selenium_python import Axe
        t0 = time.time()
        self.pages += 1
        path = self.path()
        time.sleep(0.3)  # let late error handlers (an <img onerror>) run
        found = self.dialogs()
        check(f"[{name}] no dialog opened", not found, "; ".join(found))
        check(f"[{name}] has <main>", len(self.find("main")) == 1, f"{len(self.find('main'))} <main> on {path}")
        if nav:
            check(f"[{name}] has a nav", bool(self.find("nav, [role=navigation]")), path)
        severe = []
        self.collect()
        entries, self.logs = self.logs, []
        for at, entry in entries:
            if entry.get("level") != "SEVERE":
                continue
            message = entry.get("message", "")
            if "/favicon.ico" in message:
                ignored_log.append(f"{name} (at {at}): {message}")
            elif expect_status and f"status of {expect_status}" in message and path in message:
                ignored_log.append(f"{name} (deliberate {expect_status}): {message}")
            else:
                severe.append(f"at {at}: {message}")
        check(f"[{name}] no SEVERE browser console entry", not severe, " | ".join(severe)[:1500])
        # Every axe-core given: the one axe-selenium-python bundles, then each --axe-script.
        for script in [None] + list(self.axe_script or []):
            self.run_axe(name, Axe, script)
        shot = os.path.join(self.shots, f"{self.pages:02d}-{name}.png")
        self.d.execute_script("window.scrollTo(0, 0)")  # the top of the page, also after a form's redirect
        self.d.save_screenshot(shot)
        if readme_as and self.readme:
            shutil.copyfile(shot, os.path.join(self.readme, readme_as))
        timings.append((f"page {name}", time.time() - t0))

    def run_axe(self, name, Axe, script):
        axe = Axe(self.d, **({"script_url": script} if script else {}))
        axe.inject()
        version = self.d.execute_script("return axe.version")
        if version not in self.axe_versions:
            self.axe_versions.add(version)
            print(f"      note: axe-core {version} ({axe.script_url})")
        report = axe.run()
        bad = [v for v in report["violations"] if v.get("impact") in ("serious", "critical")]
        minor = [v for v in report["violations"] if v not in bad]
        check(f"[{name}] axe-core {version}: no serious or critical violation", not bad,
              f"{len(bad)} rule(s): " + ", ".join(f"{v['id']} ({v['impact']})" for v in bad) if bad else
              f"{len(report['passes'])} rules pass")
        for v in bad + minor:
            print(f"      axe {v['impact']:<8} {v['id']}: {v['help']}  ({v['helpUrl']})")
            for node in v["nodes"][:8]:
                print(f"          target {', '.join(map(str, node['target']))}")
                print(f"            html {node['html'][:300]}")
                summary = (node.get("failureSummary") or "").replace("\n", " / ")
                if summary:
                    print(f"             why {summary[:400]}")
            if len(v["nodes"]) > 8:
                print(f"          ... and {len(v['nodes']) - 8} more")


def console_session(raw, token, csrf=None, cookie=True):
    """Signs in over plain HTTP: (status, headers, body, cookies set by the POST)."""
    status, headers, body = raw("GET", "/console/login")
    if status != 200:
        raise Fatal(f"GET /console/login answered {status}")
    login_cookie = set_cookies(headers).get("dw_login")
    real_csrf = Forms(body).csrf("/console/login")
    form = {"token": token}
    if csrf != "":
        form["csrf"] = real_csrf if csrf is None else csrf
    h = {"Content-Type": "application/x-www-form-urlencoded"}
    if cookie and login_cookie:
        h["Cookie"] = f"dw_login={login_cookie[0]}"
    status, headers, body = raw("POST", "/console/login", h, urllib.parse.urlencode(form))
    return status, headers, body, set_cookies(headers)


# --- the run ------------------------------------------------------------------------------------------

def run(a, work):
    with timed("simulate"):
        sim = os.path.join(work, "sim")
        out = subprocess.run([a.distillwatch, "simulate", "--scenario", "agentic-hydra", "--scale", str(a.scale),
                              "--seed", "1", "--out", sim, "--no-progress"], capture_output=True, text=True, timeout=60)
        if out.returncode != 0:
            raise Fatal(f"simulate failed: {out.stderr[-2000:]}")
        print("console-e2e: " + (out.stdout + out.stderr).strip().splitlines()[-1], flush=True)
        labels = {}
        with open(os.path.join(sim, "labels.jsonl")) as f:
            for line in f:
                r = json.loads(line)
                labels[r["account_id"]] = r
        attackers = {k for k, v in labels.items() if v.get("label") == "attack"}

    with timed("start serve"):
        proc, port, log = start_server(a.distillwatch, work)
    base = f"http://127.0.0.1:{port}"
    raw = Raw(port)
    try:
        with timed("ingest and flush"):
            ingest(base, sim, labels)
        campaigns = campaigns_from_api(base)
        if not campaigns:
            raise Fatal("no campaign after ingesting agentic-hydra traffic")
        top = max(campaigns, key=lambda c: c.get("score", 0))
        cid = top["campaign_id"]
        members = member_ids(top)
        check("the highest-scored campaign is the agentic-hydra one",
              bool(members) and set(members) <= attackers,
              f"{cid}: score {top.get('score')}, verdict {top.get('verdict')}, {len(members)} members, "
              f"{len(set(members) & attackers)} of them agentic-hydra")
        status, body = http("GET", f"{base}/v1/accounts/{urllib.parse.quote(HOSTILE_ID, safe='')}", ANALYST)
        check("the hostile account is known to the API", status == 200, f"{status} {body[:120]!r}")

        with timed("browser start"):
            driver = make_driver()
        try:
            browse(a, Browser(driver, base, a.screenshots, a.readme_images, a.axe_script), raw, base, cid, members, attackers)
        finally:
            driver.quit()
    finally:
        stop(proc)
        if any(not ok for _, ok in results):
            print(f"console-e2e: the server's log is {log}" + ("" if a.keep else " (removed; --keep keeps it); its tail:"))
            if not a.keep:
                print(open(log).read()[-2000:])


def browse(a, b, raw, base, cid, members, attackers):
    from selenium.webdriver.common.by import By
    campaign_path = f"/console/campaigns/{urllib.parse.quote(cid, safe='')}"
    hostile_path = f"/console/accounts/{urllib.parse.quote(HOSTILE_ID, safe='')}"

    # Not signed in: the sign-in form.
    b.go("/console")
    check("/console without a session lands on /console/login", b.path() == "/console/login", b.d.current_url)
    has_form = (b.find('form[method="post"][action="/console/login"]') and b.find('input#token[type="password"][name="token"]')
                and b.find('form[action="/console/login"] input[type="hidden"][name="csrf"]') and b.find('button#sign-in[type="submit"]'))
    check("the sign-in form is as agreed (password #token, hidden csrf, #sign-in)", bool(has_form))
    b.page("login", nav=False)
    if not has_form:
        raise Fatal("no sign-in form; nothing else can be checked in the browser")

    # A token without the analyst role: a 403 page, no session.
    b.d.find_element(By.ID, "token").send_keys(DECIDE)
    b.submit("#sign-in")
    check("a decide-only token is refused with a page naming the analyst role",
          "analyst" in b.text().lower() and b.d.get_cookie("dw_session") is None,
          f"at {b.path()}, dw_session {'set' if b.d.get_cookie('dw_session') else 'not set'}; text: {b.text()[:160]!r}")
    b.page("forbidden", nav=False, expect_status=403)

    # Sign in as the analyst.
    b.go("/console/login")
    b.d.find_element(By.ID, "token").send_keys(ANALYST)
    b.submit("#sign-in")
    session = b.d.get_cookie("dw_session")
    check("the analyst signs in and lands on /console", b.path() == "/console" and session is not None,
          f"at {b.path()}, dw_session {'set' if session else 'not set'}")
    if session is None:
        raise Fatal("the analyst could not sign in in the browser")
    check("the browser's dw_session cookie is HttpOnly, SameSite=Strict, Path=/console",
          session.get("httpOnly") is True and session.get("sameSite") == "Strict" and session.get("path") == "/console",
          f"{ {k: session.get(k) for k in ('httpOnly', 'sameSite', 'path', 'secure')} }")
    h1 = [e.text for e in b.find("h1")]
    check("the overview's <h1> is Overview", h1 == ["Overview"], f"{h1}")
    b.page("overview", readme_as="console-overview.png")

    # The campaigns list, then the top campaign through its link.
    links = b.find('nav a[href="/console/campaigns"]')
    if links:
        b.click(links[0])
    else:
        print("      note: no nav link to /console/campaigns; opening it by URL")
        b.go("/console/campaigns")
    check("the campaigns list opens", b.path() == "/console/campaigns", b.d.current_url)
    rows = b.find("a.campaign-link")
    target = [e for e in rows if urllib.parse.urlsplit(e.get_attribute("href")).path == campaign_path]
    check(f"the campaigns list links to {cid}", bool(target), f"{len(rows)} campaign links")
    b.page("campaigns")
    if target:
        b.click(target[0])
    else:
        b.go(campaign_path)
    check(f"the campaign page opens at {campaign_path}", b.path() == campaign_path and cid in b.text(), b.d.current_url)
    member_links = b.find("a.account-link")
    hrefs = {urllib.parse.urlsplit(e.get_attribute("href")).path: e for e in member_links}
    expected = {f"/console/accounts/{urllib.parse.quote(m, safe='')}" for m in members}
    check("the campaign page links every member account", expected <= set(hrefs),
          f"{len(expected & set(hrefs))} of {len(expected)} members linked")
    form_ok = (b.find(f'form#label-campaign[method="post"][action="{campaign_path}/label"]')
               and b.find('form#label-campaign input[type="hidden"][name="csrf"]')
               and b.find('form#label-campaign textarea#note[name="note"]')
               and b.find('form#label-campaign button#confirm-campaign[name="label"][value="confirmed_attack"]')
               and b.find('form#label-campaign button#dismiss-campaign[name="label"][value="legitimate"]'))
    check("the campaign's label form is as agreed", bool(form_ok))
    b.page("campaign")


    # One member account.
    member = next((m for m in members if m in attackers), members[0])
    member_path = f"/console/accounts/{urllib.parse.quote(member, safe='')}"
    if member_path in hrefs:
        b.click(hrefs[member_path])
    else:
        b.go(member_path)
    check(f"the member account page opens ({member})", b.path() == member_path and member in b.text(), b.d.current_url)
    check("the account's label form is as agreed",
          bool(b.find(f'form#label-account[method="post"][action="{member_path}/label"]')
               and b.find('form#label-account input[type="hidden"][name="csrf"]')
               and b.find('form#label-account button#confirm-account') and b.find('form#label-account button#mark-legitimate')))
    b.page("account")

    # Keyboard only: Tab from the top of the page reaches the skip link, the navigation and
    # the confirm button, in that order.
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys
    b.go(campaign_path)
    b.d.execute_script("if (document.activeElement) document.activeElement.blur(); window.scrollTo(0, 0);")
    reached = []
    for _ in range(60):
        ActionChains(b.d).send_keys(Keys.TAB).perform()
        active = b.d.switch_to.active_element
        reached.append(active.get_attribute("id") or active.get_attribute("class") or active.tag_name)
        if active.get_attribute("id") == "confirm-campaign":
            break
    check("Tab reaches the skip link first and the confirm button by keyboard alone",
          reached and reached[0] == "skip" and reached[-1] == "confirm-campaign", " > ".join(reached[:12]))

    # A narrow window (a phone, a split screen): nothing wider than the window but tables,
    # which scroll inside their own box.
    b.d.set_window_size(420, 900)
    b.go(campaign_path)
    overflow = b.d.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
    check("at 420 px wide the page does not scroll sideways", overflow <= 1, f"{overflow} px wider than the window")
    b.d.save_screenshot(os.path.join(b.shots, "narrow-campaign.png"))
    b.d.set_window_size(1280, 800)

    # Confirm the campaign with a note (which is HTML, to be shown as text).
    b.go(campaign_path)
    if not form_ok:
        raise Fatal("no label form on the campaign page")
    b.d.find_element(By.ID, "note").send_keys(NOTE)
    b.submit("#confirm-campaign")
    check("confirming answers with the campaign page again", b.path() == campaign_path, b.d.current_url)
    text = b.text()
    check("the campaign page shows the confirmed label", "confirmed" in text.lower(), text[:200].replace("\n", " | "))
    check("the note's HTML is not markup", not b.find('img[src="x"]') and not b.find("[onerror]"),
          f"{len(b.find('img[src=x]'))} img[src=x]")
    if NOTE in text:
        print("      note: the campaign page shows the note as text")
    b.page("campaign-confirmed", readme_as="console-campaign.png")
    status, body = http("GET", f"{base}/v1/campaigns/{urllib.parse.quote(cid, safe='')}", ANALYST)
    label = json.loads(body).get("analyst_label") if status == 200 else None
    check("GET /v1/campaigns/{id} says analyst_label confirmed_attack", label == "confirmed_attack", f"{status}: {label!r}")

    # Search: a member's id, then the hostile id (reflected in the page).
    b.go("/console/search?" + urllib.parse.urlencode({"q": member}))
    check("searching a member's id finds its account", bool(b.find(f'a[href="{member_path}"]')) or member_path in
          {urllib.parse.urlsplit(e.get_attribute("href") or "").path for e in b.find("a")}, b.d.current_url)
    b.page("search")
    b.go("/console/search?" + urllib.parse.urlencode({"q": HOSTILE_ID}))
    check("a search for the hostile id shows it as text", HOSTILE_ID in b.text(), b.text()[:200].replace("\n", " | "))
    hostile_links = [e for e in b.find("a") if urllib.parse.urlsplit(e.get_attribute("href") or "").path == hostile_path]
    b.page("search-hostile")

    # The hostile account's page (through the search result's link when there is one).
    if hostile_links:
        b.click(hostile_links[0])
    else:
        print("      note: the search for the hostile id links to no account; opening it by URL")
        b.go(hostile_path)
    check("the hostile account's page opens at its URL-encoded path", b.path() == hostile_path, b.d.current_url)
    text = b.text()
    check("the hostile account's page shows its id as text", HOSTILE_ID in text, text[:200].replace("\n", " | "))
    check("no <img src=x> or onerror/onload attribute in the hostile account's DOM",
          not b.find('img[src="x"]') and not b.find("[onerror], svg[onload]"),
          f"{len(b.find('img[src=x]'))} img[src=x], {len(b.find('[onerror]'))} [onerror]")
    check("no script element carries the hostile id",
          not b.d.execute_script("return [...document.scripts].some(s => s.text.includes('alert(\"dw\")'))"))
    if HOSTILE_UA in text:
        print("      note: the hostile account's page shows its user agent as text")
    b.page("account-hostile")
    if b.find("#mark-legitimate"):
        b.submit("#mark-legitimate")
        check("marking the hostile account legitimate answers with its page", b.path() == hostile_path, b.d.current_url)
        status, body = http("GET", f"{base}/v1/accounts/{urllib.parse.quote(HOSTILE_ID, safe='')}", ANALYST)
        label = json.loads(body).get("analyst_label") if status == 200 else None
        check("GET /v1/accounts/{hostile id} says analyst_label legitimate", label == "legitimate", f"{status}: {label!r}")
        b.page("account-hostile-labelled")
    else:
        check("the hostile account's page has the #mark-legitimate button", False)

    # Screening.
    b.go("/console/screening")
    check("the screening page opens", b.path() == "/console/screening", b.d.current_url)
    b.page("screening")

    # Plain HTTP: redirects, cookies, CSRF, roles.
    http_checks(raw, cid, campaign_path, base, b)

    # Sign out.
    browser_session = b.d.get_cookie("dw_session")
    b.go("/console")
    if b.find("button#sign-out"):
        check("the sign-out form is as agreed", bool(b.find('form[method="post"][action="/console/logout"] button#sign-out')))
        b.submit("#sign-out")
        b.go("/console")
        check("after signing out, /console lands on /console/login", b.path() == "/console/login", b.d.current_url)
        status, headers, _ = raw("GET", "/console", {"Cookie": f"dw_session={browser_session['value']}"})
        check("a copy of the signed-out session cookie no longer works", status == 303 and location_is(headers, "/console/login"),
              f"{status} to {headers.get('Location')}")
        b.page("signed-out", nav=False)
    else:
        check("the overview has button#sign-out", False)


def http_checks(raw, cid, campaign_path, base, b):
    for path in ("/console", "/console/campaigns", campaign_path, "/console/accounts/x", "/console/search?q=x", "/console/screening"):
        status, headers, _ = raw("GET", path)
        check(f"GET {path} without a session is a 303 to /console/login", status == 303 and location_is(headers, "/console/login"),
              f"{status} to {headers.get('Location')}")

    status, headers, body, cookies = console_session(raw, DECIDE)
    check("signing in with a decide-only token is a 403 HTML page without dw_session",
          status == 403 and "dw_session" not in cookies and "text/html" in (headers.get("Content-Type") or ""),
          f"{status}, {headers.get('Content-Type')}, cookies {sorted(cookies)}")
    status, _, _, cookies = console_session(raw, ANALYST, csrf="wrong-csrf-value")
    check("signing in with a wrong csrf is a 403 without dw_session", status == 403 and "dw_session" not in cookies,
          f"{status}, cookies {sorted(cookies)}")
    status, _, _, cookies = console_session(raw, ANALYST, csrf="")
    check("signing in without a csrf field is a 403 without dw_session", status == 403 and "dw_session" not in cookies,
          f"{status}, cookies {sorted(cookies)}")
    status, _, _, cookies = console_session(raw, ANALYST, cookie=False)
    check("signing in without the dw_login cookie (double submit) is a 403", status == 403 and "dw_session" not in cookies,
          f"{status}, cookies {sorted(cookies)}")
    status, headers, _, cookies = console_session(raw, ANALYST)
    check("signing in with the analyst token over HTTP is a 303 to /console", status == 303 and location_is(headers, "/console"),
          f"{status} to {headers.get('Location')}")
    if "dw_session" not in cookies:
        check("the analyst's sign-in sets dw_session", False, f"cookies {sorted(cookies)}")
        return
    value, attrs = cookies["dw_session"]
    check("Set-Cookie dw_session is HttpOnly, SameSite=Strict, Path=/console",
          attrs.get("httponly") is True and str(attrs.get("samesite", "")).lower() == "strict" and attrs.get("path") == "/console",
          f"{attrs}")
    print(f"      note: Set-Cookie dw_session attributes {attrs}")
    session = {"Cookie": f"dw_session={value}"}
    status, headers, body = raw("GET", campaign_path, session)
    check("the HTTP session opens the campaign page", status == 200, f"{status}")
    print(f"      note: page headers: Content-Type {headers.get('Content-Type')!r}, Content-Security-Policy "
          f"{headers.get('Content-Security-Policy')!r}, X-Content-Type-Options {headers.get('X-Content-Type-Options')!r}, "
          f"X-Frame-Options {headers.get('X-Frame-Options')!r}, Cache-Control {headers.get('Cache-Control')!r}, "
          f"Referrer-Policy {headers.get('Referrer-Policy')!r}")
    action = f"{campaign_path}/label"
    csrf = Forms(body).csrf(action)
    form = {"headers": dict(session, **{"Content-Type": "application/x-www-form-urlencoded"})}

    def post(fields):
        return raw("POST", action, form["headers"], urllib.parse.urlencode(fields))

    status, _, _ = post({"label": "legitimate", "note": "forged", "csrf": "wrong-csrf-value"})
    check("a label POST with a wrong csrf is a 403", status == 403, f"{status}")
    status, _, _ = post({"label": "legitimate", "note": "forged"})
    check("a label POST without a csrf field is a 403", status == 403, f"{status}")
    foreign = [e.get_attribute("value") for e in b.find('form#label-campaign input[name="csrf"]')] if b.path() == campaign_path else []
    if not foreign:
        b.go(campaign_path)
        foreign = [e.get_attribute("value") for e in b.find('form#label-campaign input[name="csrf"]')]
    if foreign and foreign[0] != csrf:
        status, _, _ = post({"label": "legitimate", "note": "forged", "csrf": foreign[0]})
        check("a label POST with another session's csrf is a 403", status == 403, f"{status}")
    else:
        print("      note: the browser's and the HTTP session's csrf values are equal (or absent); the foreign-csrf check is skipped")
    status, body = http("GET", f"{base}/v1/campaigns/{urllib.parse.quote(cid, safe='')}", ANALYST)
    label = json.loads(body).get("analyst_label") if status == 200 else None
    check("the refused POSTs left the label confirmed_attack", label == "confirmed_attack", f"{label!r}")
    status, headers, _ = post({"label": "confirmed_attack", "note": "e2e: the same label again, with the right csrf", "csrf": csrf or ""})
    check("the same POST with the right csrf is a 303 to the campaign page", status == 303 and location_is(headers, campaign_path),
          f"{status} to {headers.get('Location')}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--distillwatch", required=True)
    ap.add_argument("--screenshots", default="ci-output/console")
    ap.add_argument("--readme-images")
    ap.add_argument("--scale", type=float, default=0.005)
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--axe-script", action="append", default=[], help="another axe.min.js to run on every page after the one axe-selenium-python bundles (repeatable)")
    ap.add_argument("--time-limit", type=int, default=230)
    a = ap.parse_args()
    a.distillwatch = os.path.abspath(a.distillwatch)
    os.makedirs(a.screenshots, exist_ok=True)
    if a.readme_images:
        os.makedirs(a.readme_images, exist_ok=True)
    os.environ.setdefault("SE_OFFLINE", "true")  # Selenium Manager must not try to download anything

    def on_alarm(*_):
        raise Timeout(f"the run took longer than --time-limit {a.time_limit} s")
    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(a.time_limit)
    started = time.time()
    work = tempfile.mkdtemp(prefix="console-e2e-")
    problem = None
    try:
        run(a, work)
    except (Fatal, Timeout) as e:
        problem = str(e)
    except Exception as e:  # selenium errors and the like: say what and where
        import traceback
        trace = "\n".join(line for line in traceback.format_exc().splitlines() if not re.match(r"\s*#\d+ 0x", line))
        problem = f"{e.__class__.__name__}: {e}\n{trace[-2500:]}"
    finally:
        signal.alarm(0)
        if a.keep:
            print(f"console-e2e: work folder kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    if problem:
        check("the run went to its end", False, problem)
    favicon = [line for line in ignored_log if "/favicon.ico" in line]
    for line in ignored_log:
        if line not in favicon:
            print(f"      ignored console entry: {line}")
    if favicon:
        print(f"      ignored console entry, {len(favicon)} times: a failed /favicon.ico, e.g. {favicon[0]}")
    print("console-e2e: timings: " + ", ".join(f"{w} {s:.1f} s" for w, s in timings))
    failed = [n for n, ok in results if not ok]
    print(f"console-e2e: screenshots in {os.path.abspath(a.screenshots)}; total {time.time() - started:.1f} s")
    for n in failed:
        print(f"FAILED: {n}")
    print(f"console-e2e: {len(results) - len(failed)} passed, {len(failed)} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
