#!/usr/bin/env python3
"""A current ClickHouse (the one chdb embeds) behind the subset of ClickHouse's HTTP
interface DistillWatch uses, so that `scan --source`, `clickhouse init` and `clickhouse load`
run end to end against it where Debian's clickhouse-server (18.16) lacks a type (Map,
DateTime64: the OpenTelemetry Collector's otel_traces table).

  POST /?query=…&setting=…   the statement is `query` (URL) followed by the body (an
                              INSERT's rows), or the body alone
  answer                      the result in the statement's FORMAT (TabSeparated by
                              default), gzip-compressed when enable_http_compression=1 and
                              the client accepts gzip; an error is 500 with ClickHouse's
                              "Code: N. DB::Exception: …" text

Settings in the URL are not applied (chdb's defaults stand), except `database`. One
process, one chdb session (a directory), requests served one at a time.

  python chdb_http.py --port 18200 --path /tmp/chdb-data
"""
import argparse, gzip, http.server, sys, urllib.parse

import chdb.session

SESSION = None


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def answer(self, status, body, compress):
        if compress:
            body = gzip.compress(body)
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=UTF-8")
        if compress:
            self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def run(self, body):
        url = urllib.parse.urlparse(self.path)
        params = urllib.parse.parse_qs(url.query)
        query = params.get("query", [""])[0]
        statement = (query + "\n" + body) if query else body
        compress = params.get("enable_http_compression", ["0"])[0] == "1" and "gzip" in (self.headers.get("Accept-Encoding") or "")
        if url.path == "/ping" or not statement.strip():
            return self.answer(200, b"Ok.\n", False)
        try:
            result = SESSION.query(statement, "TabSeparated")
            data = result.bytes() if hasattr(result, "bytes") else bytes(str(result), "utf-8")
            self.answer(200, data, compress)
        except Exception as e:  # chdb's errors carry ClickHouse's "Code: N. DB::Exception: …"
            self.answer(500, str(e).encode(), False)

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        self.run(self.rfile.read(length).decode("utf-8", errors="replace"))

    def do_GET(self):
        self.run("")


def main():
    global SESSION
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--path", required=True, help="chdb's data directory")
    args = ap.parse_args()
    SESSION = chdb.session.Session(args.path)
    server = http.server.HTTPServer(("127.0.0.1", args.port), Handler)
    print(f"chdb_http: ClickHouse {SESSION.query('SELECT version()', 'TabSeparated')!s}".strip() + f" on http://127.0.0.1:{args.port}", flush=True)
    try:
        server.serve_forever()
    finally:
        SESSION.close()


if __name__ == "__main__":
    main()
