"""The OpenTelemetry Collector's ClickHouse exporter table, and a current ClickHouse end to end
(issue 22), run by clickhouse-e2e.py with --chdb-python: chdb's ClickHouse (26.9) behind
ClickHouse's HTTP interface (scripts/chdb_http.py), because Debian's 18.16 has neither the
Map nor the DateTime64 type the exporter's table uses.

  - the whole path on a current ClickHouse: `clickhouse init`, `clickhouse load`, `scan --source`
    of the v1 table: the same verdicts as the file;
  - `otel_traces` created with the exporter's own statement (traces_table.sql), filled with
    the simulator's `mixed` traffic as GenAI spans (OTel GenAI semantic conventions; every
    value a string, as the exporter keeps attributes), plus agent and tool spans, and a span
    of another service: `scan --source …otel_traces --clickhouse-mapping otel-traces` flags the
    same accounts with the same verdicts as the scan of the traffic the spans were made from;
    two shards read it whole; a span with no account is counted malformed.
"""
import datetime, gzip, json, os, socket, subprocess, time

from e2e_support import check, wait_for

# opentelemetry-collector-contrib exporter/clickhouseexporter/internal/sql_templates/traces_table.sql
# (engine and TTL filled in as the exporter does by default).
OTEL_TRACES = """
CREATE TABLE IF NOT EXISTS otel.otel_traces (
    Timestamp DateTime64(9) CODEC(Delta, ZSTD(1)),
    TraceId String CODEC(ZSTD(1)),
    SpanId String CODEC(ZSTD(1)),
    ParentSpanId String CODEC(ZSTD(1)),
    TraceState String CODEC(ZSTD(1)),
    SpanName LowCardinality(String) CODEC(ZSTD(1)),
    SpanKind LowCardinality(String) CODEC(ZSTD(1)),
    ServiceName LowCardinality(String) CODEC(ZSTD(1)),
    ResourceAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    ScopeName String CODEC(ZSTD(1)),
    ScopeVersion String CODEC(ZSTD(1)),
    SpanAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    Duration UInt64 CODEC(ZSTD(1)),
    StatusCode LowCardinality(String) CODEC(ZSTD(1)),
    StatusMessage String CODEC(ZSTD(1)),
    Events Nested (
        Timestamp DateTime64(9),
        Name LowCardinality(String),
        Attributes Map(LowCardinality(String), String)
    ) CODEC(ZSTD(1)),
    Links Nested (
        TraceId String,
        SpanId String,
        TraceState String,
        Attributes Map(LowCardinality(String), String)
    ) CODEC(ZSTD(1)),
    INDEX idx_trace_id TraceId TYPE bloom_filter(0.001) GRANULARITY 1,
    INDEX idx_res_attr_key mapKeys(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_res_attr_value mapValues(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_span_attr_key mapKeys(SpanAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_span_attr_value mapValues(SpanAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_duration Duration TYPE minmax GRANULARITY 1
) ENGINE = MergeTree()
PARTITION BY toDate(Timestamp)
ORDER BY (ServiceName, SpanName, toDateTime(Timestamp))
SETTINGS index_granularity=8192, ttl_only_drop_parts = 1
"""

# v1 fields carried under their OTel GenAI names; the rest under their own (as a gateway's
# instrumentation adds them); every value a string.
GENAI = {"model": "gen_ai.request.model", "operation": "gen_ai.operation.name", "input_tokens": "gen_ai.usage.input_tokens",
         "output_tokens": "gen_ai.usage.output_tokens", "reasoning_tokens": "gen_ai.usage.reasoning.output_tokens",
         "max_tokens": "gen_ai.request.max_tokens", "temperature": "gen_ai.request.temperature",
         "stream": "gen_ai.request.stream", "status": "http.response.status_code", "client_ip": "client.address",
         "user_agent": "user_agent.original"}
OWN = ["asn", "country", "client_fingerprint", "api_key_id", "end_user_id", "batch_id", "reasoning_effort",
       "reasoning_replay_of", "prefill", "cost_usd", "thinking", "tool_count", "message_count"]


def text(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def span_rows(lines):
    """(otel_traces rows, the v1 records they stand for: request_id = SpanId, no response text)."""
    rows, projected = [], []
    for i, line in enumerate(lines):
        e = json.loads(line)
        span_id = f"{i + 1:016x}"
        attributes = {"user.id": e["account_id"]}
        if "operation" not in e:
            attributes["gen_ai.operation.name"] = "chat"
        for field, name in GENAI.items():
            if e.get(field) is not None:
                attributes[name] = text(e[field])
        for field in OWN:
            if e.get(field) is not None:
                attributes[field] = text(e[field])
        if e.get("finish_reason"):
            attributes["gen_ai.response.finish_reasons"] = json.dumps([e["finish_reason"]])
        if e.get("prompt") is not None:
            attributes["gen_ai.input.messages"] = json.dumps([{"role": "user", "parts": [{"type": "text", "content": e["prompt"]}]}])
        if e.get("system") is not None:
            attributes["gen_ai.system_instructions"] = json.dumps([{"type": "text", "content": e["system"]}])
        t = e["time"]
        ms = t if isinstance(t, int) else round(datetime.datetime.fromisoformat(t.replace("Z", "+00:00")).timestamp() * 1000)
        rows.append({"Timestamp": f"{ms // 1000}.{ms % 1000:03d}000000", "TraceId": f"{i + 1:032x}", "SpanId": span_id,
                     "SpanName": f"chat {e.get('model', '')}", "SpanKind": "Client", "ServiceName": "gateway",
                     "ResourceAttributes": {"service.name": "gateway"}, "SpanAttributes": attributes,
                     "Duration": int(round(float(e.get("latency_ms", 0)) * 1_000_000)), "StatusCode": "Unset"})
        p = {k: v for k, v in e.items() if k != "response"}
        p["request_id"] = span_id
        if "operation" not in e:
            p["operation"] = "chat"
        projected.append(p)
    return rows, projected


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def run(binary, env, work, sim, chdb_python):
    port = free_port()
    here = os.path.dirname(os.path.abspath(__file__))
    log = open(os.path.join(work, "chdb_http.log"), "w")
    server = subprocess.Popen([chdb_python, os.path.join(here, "chdb_http.py"), "--port", str(port), "--path",
                               os.path.join(work, "chdb-data")], stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for(f"http://127.0.0.1:{port}/ping", 60, "chdb's ClickHouse over HTTP", "otel_traces_checks")
        checks(binary, env, work, sim, port)
    finally:
        server.terminate()
        server.wait(timeout=20)


def dw(binary, env, *args):
    p = subprocess.run([binary, *args], capture_output=True, text=True, env=env, timeout=600)
    return p.returncode, p.stdout, p.stderr


def verdicts(path):
    return {a["account_id"]: a["verdict"] for a in json.load(open(path))["accounts"] if a["verdict"] != "allow"}


def checks(binary, env, work, sim, port):
    import urllib.request
    base = f"clickhouse://127.0.0.1:{port}"

    def sql(q, data=None):
        url = f"http://127.0.0.1:{port}/" + ("?query=" + urllib.parse.quote(q) if data is not None else "")
        req = urllib.request.Request(url, data=(data if data is not None else q).encode(), method="POST")
        with urllib.request.urlopen(req, timeout=120) as r:
            return r.read().decode()

    import urllib.parse
    accounts = os.path.join(sim, "accounts.jsonl")
    file_json = os.path.join(work, "current-file.json")
    rc, out, err = dw(binary, env, "scan", os.path.join(sim, "traffic.jsonl.gz"), "--accounts", accounts, "--json", file_json, "--quiet")
    rc1, o1, e1 = dw(binary, env, "clickhouse", "init", f"{base}/dw", "--traffic-table", "traffic")
    rc2, o2, e2 = dw(binary, env, "clickhouse", "load", f"{base}/dw.traffic", os.path.join(sim, "traffic.jsonl.gz"))
    ch_json = os.path.join(work, "current-ch.json")
    rc3, o3, e3 = dw(binary, env, "scan", "--source", f"{base}/dw.traffic", "--accounts", accounts, "--json", ch_json, "--quiet")
    same = rc3 == 0 and verdicts(ch_json) == verdicts(file_json)
    check("a current ClickHouse (26.9, chdb) end to end: init, load, scan --source give the file's verdicts",
          rc == rc1 == rc2 == rc3 == 0 and same, (e1 + e2 + e3).strip()[:300] or f"{len(verdicts(ch_json))} flagged")

    lines = [l for l in gzip.open(os.path.join(sim, "traffic.jsonl.gz"), "rt").read().splitlines() if l.strip()]
    rows, projected = span_rows(lines)
    # Spans that are not model calls, and one whose account is missing.
    t0 = rows[0]["Timestamp"]
    rows.append({"Timestamp": t0, "SpanId": "a0", "ServiceName": "gateway", "SpanName": "invoke_agent planner",
                 "SpanAttributes": {"gen_ai.operation.name": "invoke_agent", "user.id": "acct-agent-only"}})
    rows.append({"Timestamp": t0, "SpanId": "a1", "ServiceName": "gateway", "SpanName": "execute_tool search",
                 "SpanAttributes": {"gen_ai.operation.name": "execute_tool", "user.id": "acct-agent-only"}})
    rows.append({"Timestamp": t0, "SpanId": "a2", "ServiceName": "db", "SpanName": "SELECT", "SpanAttributes": {"db.system": "postgresql"}})
    rows.append({"Timestamp": t0, "SpanId": "a3", "ServiceName": "gateway", "SpanName": "chat m",
                 "SpanAttributes": {"gen_ai.operation.name": "chat", "gen_ai.request.model": "m"}})
    sql("CREATE DATABASE IF NOT EXISTS otel")
    sql(OTEL_TRACES)
    for i in range(0, len(rows), 5000):
        sql("INSERT INTO otel.otel_traces FORMAT JSONEachRow", "\n".join(json.dumps(r) for r in rows[i:i + 5000]))
    projected_path = os.path.join(work, "otel-projected.jsonl")
    with open(projected_path, "w") as f:
        f.write("\n".join(json.dumps(p) for p in projected) + "\n")
    proj_json, otel_json = os.path.join(work, "otel-projected.json"), os.path.join(work, "otel.json")
    rc, out, err = dw(binary, env, "scan", projected_path, "--accounts", accounts, "--json", proj_json, "--quiet")
    rc2, out2, err2 = dw(binary, env, "scan", "--source", f"{base}/otel.otel_traces", "--clickhouse-mapping", "otel-traces",
                         "--accounts", accounts, "--json", otel_json)
    ok = rc == 0 and rc2 == 0
    vp, vo = (verdicts(proj_json), verdicts(otel_json)) if ok else ({}, {})
    report = json.load(open(otel_json)) if ok else {"input": {}}
    check("otel_traces (the exporter's table) read with --clickhouse-mapping otel-traces: the same verdicts as the traffic",
          ok and vp == vo and len(vo) > 0, (err2.strip()[-300:] if not ok else
          f"{report['input'].get('exchanges')} exchanges from {len(rows)} spans, {len(vo)} flagged; "
          f"only the file: {sorted(set(vp) - set(vo))[:5]}, only otel: {sorted(set(vo) - set(vp))[:5]}"))
    check("agent, tool and non-GenAI spans are not exchanges; a span without an account is counted malformed",
          ok and report["input"].get("exchanges") == len(lines) and report["input"].get("malformed_lines") == 1
          and "acct-agent-only" not in {a["account_id"] for a in report["accounts"]},
          f"{report['input'].get('exchanges')} exchanges of {len(lines)} model calls, {report['input'].get('malformed_lines')} malformed")
    total = 0
    for k in (0, 1):
        rc, out, err = dw(binary, env, "scan", "--source", f"{base}/otel.otel_traces", "--clickhouse-mapping", "otel-traces",
                          "--shard", f"{k}/2", "--json", os.path.join(work, f"otel-{k}.json"), "--quiet")
        if rc == 0:
            total += json.load(open(os.path.join(work, f"otel-{k}.json")))["input"]["exchanges"]
    check("two shards of otel_traces read every span once", total == len(lines), f"{total} of {len(lines)}")
    rc, out, err = dw(binary, env, "scan", "--source", f"{base}/otel.otel_traces", "--clickhouse-mapping", "v1", "--quiet")
    check("otel_traces read as v1 fails naming the missing column", rc != 0 and "has no column 'time'" in err, err.strip()[:200])
