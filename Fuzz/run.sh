#!/usr/bin/env bash
# Builds the fuzz targets (every module instrumented with libFuzzer and AddressSanitizer)
# and runs each for a bounded time or number of inputs, starting from the committed seed
# corpus (copied: what a run finds stays in its work folder, not in git).
#
#   Fuzz/run.sh [--seconds N | --runs N] [--work DIR] [TARGET...]
#
# Prints, per target, the inputs executed, coverage (libFuzzer's cov: edges, ft: features)
# and whether it crashed; exits 1 if any target crashed (the input is saved in DIR as
# crash-*). Defaults: 30 seconds per target, all targets.
set -euo pipefail
cd "$(dirname "$0")"
seconds=30
runs=""
work=""
targets=()
while [ $# -gt 0 ]; do
    case "$1" in
        --seconds) seconds=$2; shift 2 ;;
        --runs) runs=$2; shift 2 ;;
        --work) work=$2; shift 2 ;;
        -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
        -*) echo "run.sh: unknown option $1" >&2; exit 2 ;;
        *) targets+=("$1"); shift ;;
    esac
done
[ ${#targets[@]} -gt 0 ] || targets=(fuzz-exchange-line fuzz-account-line fuzz-label-line fuzz-traffic fuzz-engine fuzz-request-bodies fuzz-policy-file fuzz-litellm-logs fuzz-gateways fuzz-stix-bundle)
work=${work:-$(mktemp -d /tmp/distillwatch-fuzz.XXXXXX)}
mkdir -p "$work"

# lld: GNU gold fails on the instrumented objects ("internal error in format_file_lineno").
swift build -c release -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library -Xswiftc -use-ld=lld >&2
bin=$(swift build -c release -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library -Xswiftc -use-ld=lld --show-bin-path)

limit=(-max_total_time="$seconds")
[ -n "$runs" ] && limit=(-runs="$runs")
failed=0
crashed=0
printf '%-22s %12s %8s %8s %s\n' target inputs cov ft result
for t in "${targets[@]}"; do
    corpus="$work/corpus-$t"
    mkdir -p "$corpus"
    cp -n Corpus/"$t"/* "$corpus"/ 2>/dev/null || true
    log="$work/$t.log"
    set +e
    # Whole inputs through the engine are slow per byte: shorter inputs, more of them.
    case "$t" in fuzz-traffic) max_len=4096 ;; fuzz-engine) max_len=2048 ;; *) max_len=65536 ;; esac
    ASAN_OPTIONS=detect_leaks=0 "$bin/$t" "$corpus" -dict=fuzz.dict "${limit[@]}" -timeout=10 -rss_limit_mb=4096 \
        -max_len=$max_len -print_final_stats=1 -artifact_prefix="$work/$t-" > "$log" 2>&1
    status=$?
    set -e
    inputs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*' || echo '?')
    ft=$(grep -o 'ft: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*' || echo '?')
    if [ $status -eq 0 ]; then result=ok; else result="CRASH (exit $status; see $log)"; failed=1; crashed=$((crashed + 1)); fi
    printf '%-22s %12s %8s %8s %s\n' "$t" "${inputs:-?}" "${cov:-?}" "${ft:-?}" "$result"
done
echo "work folder: $work"
echo "fuzz: $(( ${#targets[@]} - crashed )) passed, $crashed failed"
exit $failed
