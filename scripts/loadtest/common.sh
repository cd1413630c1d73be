# What the load-test scripts share (sourced, not run): wrk's presence, the release binary,
# three tokens, a work folder removed on exit, and a server started and stopped on loopback.
#   LOADTEST_NAME  names the work folder;  PORT, DISTILLWATCH  may be set by the caller.
command -v wrk > /dev/null || { echo "wrk not found: apt-get install -y wrk" >&2; exit 1; }
BIN=${DISTILLWATCH:-.build/release/distillwatch}
WORK=$(mktemp -d "/tmp/distillwatch-${LOADTEST_NAME:-load}.XXXXXX")
INGEST=load-ingest-token-00000000001
DECIDE=load-decide-token-00000000002
ANALYST=load-analyst-token-0000000003
SERVER=
cleanup() { [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

[ -x "$BIN" ] || swift build -c release --product distillwatch

# serve_on LOG ARGS...: starts the server with ARGS, logging to $WORK/LOG, and waits for it.
serve_on() {
    local log=$1
    shift
    DISTILLWATCH_TOKENS="load:ingest:$INGEST gw:decide:$DECIDE ops:analyst:$ANALYST" \
        "$BIN" serve --port "$PORT" --log-level warning "$@" > "$WORK/$log" 2>&1 &
    SERVER=$!
    for _ in $(seq 1 3000); do curl -fs -o /dev/null "http://127.0.0.1:$PORT/healthz" && return; sleep 0.1; done
    echo "server did not start" >&2; cat "$WORK/$log" >&2; exit 1
}
stop_server() { kill "$SERVER"; wait "$SERVER" 2>/dev/null || true; SERVER=; }
