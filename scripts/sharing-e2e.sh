#!/usr/bin/env bash
# End to end check of indicator sharing with the real tools (CI's real-tools stage;
# Documentation/Sharing.md): simulate the mixed scenario at scale 0.1, make a sharing key,
# scan, export the flagged campaigns (providers STIX with keyed fingerprints, authorities
# STIX at TLP:RED, a MISP event, a revocation bundle), validate every file with
# scripts/check-sharing.py (stix2-validator 3.2.0, stix2, stix2-patterns, PyMISP), read the
# bundles back (share import, scan --indicators) and assert that the shared_indicator
# signal fires, that revocation withdraws it, and that no prompt text or account id of the
# traffic is in any exported file.
#
# Usage: scripts/sharing-e2e.sh [DISTILLWATCH [PYTHON]]
#   DISTILLWATCH  the binary (default .build/debug/distillwatch)
#   PYTHON        a python with stix2-validator, stix2, stix2-patterns and pymisp; default:
#                 a fresh venv in the temporary folder with the pinned versions below.
# Prints PASS or FAIL per check and a summary; exits 1 on any failure (2 on bad usage).
# SHARING_E2E_KEEP=1 keeps the temporary folder (it is always kept on failure).
set -euo pipefail

started=$SECONDS
root=$(cd "$(dirname "$0")/.." && pwd)
case "${1:-}" in -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;; esac
[ $# -le 2 ] || { echo "usage: $0 [DISTILLWATCH [PYTHON]]" >&2; exit 2; }

absolute() { case "$1" in /*) echo "$1" ;; *) echo "$PWD/$1" ;; esac; }
if [ $# -ge 1 ]; then dw=$(absolute "$1"); else dw="$root/.build/debug/distillwatch"; fi
[ -x "$dw" ] || { echo "sharing-e2e: $dw is not an executable (build first, or pass the binary)" >&2; exit 2; }
py=""
if [ $# -ge 2 ]; then
    py=$(command -v "$2" || true)
    [ -n "$py" ] || { echo "sharing-e2e: $2 is not a python" >&2; exit 2; }
    py=$(absolute "$py")
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/sharing-e2e.XXXXXX")
passed=0
failed=0
failures=()
cleanup() {
    if [ "$failed" -gt 0 ] || [ "${SHARING_E2E_KEEP:-0}" = 1 ]; then
        echo "sharing-e2e: files kept in $work"
    else
        rm -rf "$work"
    fi
}
trap cleanup EXIT
cd "$work"

CONTENT_KEY=00112233445566778899aabbccddeeff
KEY_NAME=e2e-acme-globex
PRODUCER="Acme AI (sharing e2e)"

pass() { passed=$((passed + 1)); printf 'PASS  %-58s %s\n' "$1" "${2:-}"; }
fail() {
    failed=$((failed + 1)); failures+=("$1")
    printf 'FAIL  %-58s %s\n' "$1" "${2:-}"
    if [ -n "${3:-}" ] && [ -s "$3" ]; then sed 's/^/      | /' "$3" | tail -n 25; fi
}
summary() {
    echo "sharing-e2e: $passed passed, $failed failed in $((SECONDS - started)) s"
    if [ "$failed" -gt 0 ]; then
        printf 'sharing-e2e: FAIL: %s\n' "${failures[@]}"
    else
        echo "sharing-e2e: PASS"
    fi
}

# step NAME LIMIT COMMAND...: runs COMMAND bounded by LIMIT seconds, output to logs/NAME.log.
# Returns the command's status; prints PASS or FAIL (with the log's tail).
mkdir -p logs
logof() { printf 'logs/%s.log' "$(printf '%s' "$1" | tr -c 'A-Za-z0-9._-' '_')"; }
step() {
    local name=$1 limit=$2 log t0 rc=0
    shift 2
    log=$(logof "$name")
    t0=$SECONDS
    timeout -k 10 "$limit" "$@" >"$log" 2>&1 || rc=$?
    if [ $rc -eq 0 ]; then
        pass "$name" "($((SECONDS - t0)) s)"
    else
        fail "$name" "(exit $rc$([ $rc -eq 124 ] && echo ", timed out after $limit s"))" "$log"
    fi
    return $rc
}
# A step the rest depends on: on failure, stop here.
need() { step "$@" || { summary; exit 1; }; }

echo "sharing-e2e: $("$dw" --version) ($dw), in $work"

# --- Python with the checkers -----------------------------------------------------------
if [ -z "$py" ]; then
    need "python venv with the STIX and MISP packages" 900 bash -c '
        python3 -m venv venv &&
        venv/bin/pip install -q stix2-validator==3.2.0 stix2==3.0.2 stix2-patterns==2.1.2 pymisp==2.5.34.4'
    py="$work/venv/bin/python"
fi
need "python imports stix2validator, stix2, stix2patterns, pymisp" 120 \
    "$py" -c 'import stix2validator, stix2, stix2patterns, pymisp, jsonschema'

# --- Traffic, key, scan -----------------------------------------------------------------
need "simulate mixed --scale 0.1" 120 "$dw" simulate --scenario mixed --scale 0.1 --out sim --no-progress
need "share keygen $KEY_NAME" 30 bash -c '"$0" share keygen "$1" > keys' "$dw" "$KEY_NAME"
if grep -Eq "^$KEY_NAME [0-9a-f]{32}\$" keys && [ "$(wc -l < keys)" -eq 1 ]; then
    pass "keygen prints one NAME SECRET line (32 hex digits)"
else
    fail "keygen prints one NAME SECRET line (32 hex digits)" "got: $(head -c 200 keys)"
fi
need "scan (report.json)" 300 "$dw" scan sim/traffic.jsonl.gz --accounts sim/accounts.jsonl \
    --content-key "$CONTENT_KEY" --json report.json --quiet
first=$("$py" -c '
import json, sys
r = json.load(open("report.json"))
flagged = [c["campaign_id"] for c in r["campaigns"] if (c.get("verdict") or "review") in ("review", "throttle", "block")]
print(flagged[0] if flagged else "")')
if [ -n "$first" ]; then
    pass "the report flags a campaign" "(first: $first)"
else
    fail "the report flags a campaign" "(none: nothing to share)"
    summary; exit 1
fi

# --- Exports ----------------------------------------------------------------------------
export_args=(share export --report report.json --traffic sim/traffic.jsonl.gz --accounts sim/accounts.jsonl
             --producer "$PRODUCER" --contact "security@acme.example" --sharing-keys keys)
need "export providers STIX (bundle.json)" 300 "$dw" "${export_args[@]}" --all-flagged --out bundle.json
need "export authorities STIX, TLP:RED (authorities.json)" 300 "$dw" "${export_args[@]}" --all-flagged \
    --tlp red --audience authorities --out authorities.json
need "export MISP event of $first (misp.json)" 300 "$dw" "${export_args[@]}" --campaign "$first" \
    --format misp --out misp.json
need "revoke the published bundle (revoked.json)" 120 "$dw" share revoke bundle.json --out revoked.json
for f in bundle.json authorities.json misp.json revoked.json; do echo "      $(grep -h "^wrote $f" logs/*.log | cut -c1-160 || true)"; done

# --- Validation with the real tools -----------------------------------------------------
step "check-sharing.py (stix2-validator, stix2, patterns, PyMISP)" 600 \
    "$py" "$root/scripts/check-sharing.py" --quiet --ignore 103 \
    --stix bundle.json authorities.json revoked.json --misp misp.json || true
grep -E '^(PASS|FAIL|check-sharing)' "$(logof "check-sharing.py (stix2-validator, stix2, patterns, PyMISP)")" | sed 's/^/      /' || true

# What each file should say about itself.
"$py" - "$first" > logs/shape.txt 2>&1 <<'EOF' || true
import json, sys
first = sys.argv[1]
def objects(path):
    return json.load(open(path))["objects"]
def line(ok, name, why=""):
    print(("PASS" if ok else "FAIL") + "\t" + name + "\t" + why)
amber = "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"
red = "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"
b = objects("bundle.json")
keyed = [o for o in b if o["type"] == "distillwatch-keyed-fingerprint"]
marked = [o for o in b if "object_marking_refs" in o]
line(bool(keyed) and all(o["key_id"] == "e2e-acme-globex" for o in keyed),
     "providers bundle carries keyed fingerprints under the key", f"({len(keyed)} keyed observables)")
line(all(o["object_marking_refs"] == [amber] for o in marked), "providers bundle is TLP:AMBER (default)")
a = objects("authorities.json")
patterns = [o["pattern"] for o in a if o["type"] == "indicator"]
line(all(o["object_marking_refs"] == [red] for o in a if "object_marking_refs" in o) and any(o["id"] == red for o in a),
     "authorities bundle is TLP:RED")
line(bool(patterns) and not any("ipv4-addr" in p or "ipv6-addr" in p for p in patterns),
     "authorities bundle has no address indicators", f"({len(patterns)} indicators)")
line(not any("'email-domain'" in p for p in patterns), "authorities bundle has no sign-up domain indicators")
r = objects("revoked.json")
sdos = [o for o in r if o["type"] not in ("identity", "marking-definition", "extension-definition") and "created_by_ref" in o]
line(bool(sdos) and all(o.get("revoked") is True for o in sdos), "revocation bundle revokes every campaign object",
     f"({len(sdos)} objects)")
e = json.load(open("misp.json"))["Event"]
line(first in e["info"] and any(t["name"] == "tlp:amber" for t in e["Tag"]), "MISP event is the chosen campaign, tlp:amber",
     f"({len(e['Attribute'])} attributes)")
EOF
while IFS=$'\t' read -r verdict name why; do
    case "$verdict" in
        PASS) pass "$name" "$why" ;;
        FAIL) fail "$name" "$why" ;;
        *) fail "bundle shape checks" "$verdict $name $why" ;;
    esac
done < logs/shape.txt

# --- Reading the bundles back -----------------------------------------------------------
name="share import bundle.json authorities.json revoked.json"
if step "$name" 120 "$dw" share import bundle.json authorities.json revoked.json --sharing-keys keys; then
    log=$(logof "$name")
    sed 's/^/      | /' "$log" | cut -c1-200
    problems=$(grep -Ec '^(bundle|authorities|revoked)\.json: objects\[' "$log" || true)
    if [ "$problems" -eq 0 ] && [ "$(grep -c ', 0 problems' "$log")" -eq 3 ]; then
        pass "share import reads all three bundles without a problem"
    else
        fail "share import reads all three bundles without a problem" "($problems per-object problems)" "$log"
    fi
fi
name="share import bundle.json --sharing-keys keys"
if step "$name" 120 "$dw" share import bundle.json --sharing-keys keys; then
    log=$(logof "$name")
    n=$(sed -n 's/^\([0-9][0-9]*\) indicators to match.*/\1/p' "$log")
    if [ "${n:-0}" -gt 0 ] && grep -q "keyed fingerprints ($KEY_NAME)" "$log" && ! grep -q 'cannot be matched' "$log"; then
        pass "share import: indicators to match, keyed ones matchable" "($n indicators)"
    else
        fail "share import: indicators to match, keyed ones matchable" "" "$log"
    fi
fi

# signals FILE: "accounts-with-shared_indicator content-matched-accounts total-accounts"
signals() {
    "$py" -c '
import json, sys
r = json.load(open(sys.argv[1]))
hits = [s for a in r["accounts"] for s in a.get("signals", []) if s.get("name") == "shared_indicator"]
print(len(hits), sum(1 for s in hits if " by prompt" in s.get("detail", "")), len(r["accounts"]))' "$1"
}
scan_args=(scan sim/traffic.jsonl.gz --accounts sim/accounts.jsonl --content-key "$CONTENT_KEY" --sharing-keys keys --all --quiet)
if step "scan --indicators bundle.json --sharing-keys keys" 300 "$dw" "${scan_args[@]}" \
    --indicators bundle.json --json matched.json --sightings sightings.json --sightings-producer "Globex AI"; then
    read -r hits content total <<< "$(signals matched.json || echo 0 0 -1)"
    if [ "$hits" -gt 0 ]; then
        pass "accounts with a shared_indicator signal" "($hits of $total accounts)"
    else
        fail "accounts with a shared_indicator signal" "(none of $total accounts)"
    fi
    if [ "$content" -gt 0 ]; then
        pass "keyed fingerprints matched (by prompt)" "($content accounts)"
    else
        fail "keyed fingerprints matched (by prompt)" "(no account matched a keyed indicator)"
    fi
    # The sightings shared back pass the same real tools.
    if step "check-sharing.py on the sightings shared back" 300 "$py" "$root/scripts/check-sharing.py" --quiet --ignore 103 \
        --stix sightings.json; then
        n=$("$py" -c 'import json; print(sum(o["type"] == "sighting" for o in json.load(open("sightings.json"))["objects"]))')
        if [ "$n" -gt 0 ]; then pass "sightings of the matched indicators" "($n sightings)"; else fail "sightings of the matched indicators" "(none)"; fi
    fi
fi
if step "scan --indicators bundle.json --indicators revoked.json" 300 "$dw" "${scan_args[@]}" \
    --indicators bundle.json --indicators revoked.json --json revoked-scan.json; then
    read -r hits content total <<< "$(signals revoked-scan.json || echo -1 0 -1)"
    if [ "$hits" -eq 0 ]; then
        pass "revocation honoured: no shared_indicator signal" "(0 of $total accounts)"
    else
        fail "revocation honoured: no shared_indicator signal" "($hits of $total accounts still have one)"
    fi
fi

# --- Canaries: no prompt text, no account id in any exported file ------------------------
"$py" - > logs/canaries.txt 2>&1 <<'EOF' || true
import gzip, json
files = ["bundle.json", "authorities.json", "misp.json", "revoked.json", "sightings.json"]
blobs = {f: open(f, "rb").read() for f in files}
report = json.load(open("report.json"))
members = {a for c in report["campaigns"] for a in c["accounts"]}
prompts, systems, accounts = [], set(), set()
for line in gzip.open("sim/traffic.jsonl.gz", "rt", encoding="utf-8"):
    o = json.loads(line)
    accounts.add(o["account_id"])
    if isinstance(o.get("system"), str):
        systems.add(o["system"])
    p = o.get("prompt")
    if isinstance(p, str) and len(p) >= 40:
        prompts.append((o["account_id"] in members, p))
for line in open("sim/accounts.jsonl", encoding="utf-8"):
    if line.strip():
        accounts.add(json.loads(line)["account_id"])
# 20 distinct prompts: the campaign members' first (what an export reads), then others.
chosen = []
for member in (True, False):
    for m, p in prompts:
        if m == member and p not in chosen and len(chosen) < 20:
            chosen.append(p)
def forms(text):
    esc = json.dumps(text, ensure_ascii=False)[1:-1]
    stix = text.replace("\\", "\\\\").replace("'", "\\'")
    return {text, esc, json.dumps(stix, ensure_ascii=False)[1:-1], json.dumps(text)[1:-1]}
def leaks(texts):
    out = []
    for t in texts:
        for f, b in blobs.items():
            if any(x.encode("utf-8") in b for x in forms(t)):
                out.append(f"{t[:60]!r} in {f}")
    return out
def line(ok, name, why):
    print(("PASS" if ok else "FAIL") + "\t" + name + "\t" + why)
bad = leaks(chosen)
line(len(chosen) == 20 and not bad, "no prompt text in any export (20 canaries)",
     f"({sum(m for m, p in prompts if p in chosen)} from campaign members)" if not bad else "; ".join(bad[:5]))
bad = leaks(sorted(systems))
line(bool(systems) and not bad, "no system prompt text in any export",
     f"({len(systems)} system prompts)" if not bad else "; ".join(bad[:5]))
bad = [f"{a} in {f}" for a in sorted(accounts) for f, b in blobs.items() if a.encode() in b]
line(len(accounts) > 0 and not bad, "no account id in any export (default profile)",
     f"({len(accounts)} account ids)" if not bad else "; ".join(bad[:5]))
EOF
while IFS=$'\t' read -r verdict name why; do
    case "$verdict" in
        PASS) pass "$name" "$why" ;;
        FAIL) fail "$name" "$why" ;;
        *) fail "canary checks" "$verdict $name $why" ;;
    esac
done < logs/canaries.txt

summary
[ "$failed" -eq 0 ]
