#!/usr/bin/env python3
"""A tiny OTLP/HTTP traces receiver that only records what it is sent, loopback only.

Listens on 127.0.0.1:PORT and accepts POST /v1/traces. Every request body is saved
unchanged (still gzip when the request said Content-Encoding: gzip) as OUT/NNNNN.bin
(00001.bin, 00002.bin, ... in arrival order), and one JSON line per request is appended
to OUT/index.jsonl: {"n", "file", "bytes", "path", "received_at", "headers"}.

The answer is 200 with an empty export response in the request's content type:
application/x-protobuf gets an empty body (an empty ExportTraceServiceResponse),
application/json gets "{}". Other paths or methods get 404 / 405 and are not saved.

The server stops by itself after --seconds (default 600), or on SIGINT/SIGTERM, and prints
how many requests and bytes it saved.

Usage: otlp-capture.py --out DIR --port N [--seconds N]
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class CaptureServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int, out_dir: str):
        super().__init__(("127.0.0.1", port), CaptureHandler)
        self.out_dir = out_dir
        self.lock = threading.Lock()
        self.count = 0
        self.bytes = 0
        self.index = open(os.path.join(out_dir, "index.jsonl"), "a", encoding="utf-8")

    def save(self, body: bytes, path: str, headers: dict[str, str]) -> None:
        with self.lock:
            self.count += 1
            self.bytes += len(body)
            name = f"{self.count:05d}.bin"
            with open(os.path.join(self.out_dir, name), "wb") as f:
                f.write(body)
            entry = {"n": self.count, "file": name, "bytes": len(body), "path": path,
                     "received_at": time.time(), "headers": headers}
            self.index.write(json.dumps(entry) + "\n")
            self.index.flush()


class CaptureHandler(BaseHTTPRequestHandler):
    server: CaptureServer
    protocol_version = "HTTP/1.1"  # keep-alive, as the exporters' connection pools expect

    def do_POST(self) -> None:  # noqa: N802 (http.server naming)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        if self.path.split("?", 1)[0] != "/v1/traces":
            self.reply(404, "text/plain", b"not found\n")
            return
        self.server.save(body, self.path, dict(self.headers.items()))
        content_type = (self.headers.get("Content-Type") or "").split(";", 1)[0].strip().lower()
        if content_type == "application/json":
            self.reply(200, "application/json", b"{}")
        else:
            self.reply(200, "application/x-protobuf", b"")

    def do_GET(self) -> None:  # noqa: N802
        self.reply(405, "text/plain", b"POST only\n")

    def reply(self, code: int, content_type: str, body: bytes) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args) -> None:  # pylint: disable=redefined-builtin
        pass  # quiet: the index is the log


def main() -> int:
    parser = argparse.ArgumentParser(description="Record OTLP/HTTP trace exports to a directory.")
    parser.add_argument("--out", required=True, help="directory for NNNNN.bin and index.jsonl")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--seconds", type=float, default=600, help="lifetime (default 600)")
    args = parser.parse_args()

    os.makedirs(args.out, exist_ok=True)
    server = CaptureServer(args.port, args.out)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
    thread.start()
    print(f"otlp-capture: listening on http://127.0.0.1:{args.port}/v1/traces for "
          f"{args.seconds:g}s, saving to {args.out}", file=sys.stderr, flush=True)
    stop.wait(args.seconds)
    server.shutdown()
    server.server_close()
    server.index.close()
    print(f"otlp-capture: saved {server.count} requests, {server.bytes} bytes", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
