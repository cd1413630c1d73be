#!/usr/bin/env python3
"""A tiny OpenAI-compatible upstream for the LiteLLM end-to-end checks, loopback only.

Answers every chat completion with a fixed message, as JSON or, with "stream": true, as
server-sent events ending in a usage chunk. The usage it reports follows the request:
completion_tokens is max_tokens (capped at 16,000; 2 without max_tokens), so a client that
pins max_tokens high looks like one harvesting long answers. prompt_tokens is the prompt's
length in bytes / 4.

With RATE_LIMIT, more than that many requests a minute from one end user (the request's
`user`) are answered 429, as a provider's rate limit would (default 0: no limit; LiteLLM
cools a deployment down after 429s, so a shared stub should not limit).

Usage: openai-stub.py PORT [RATE_LIMIT]
"""
import collections
import threading
import json
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


RATE_LIMIT = 0
recent = collections.defaultdict(collections.deque)
lock = threading.Lock()


def over_limit(user):
    now = time.time()
    with lock:
        q = recent[user]
        while q and q[0] < now - 60:
            q.popleft()
        if len(q) >= RATE_LIMIT:
            return True
        q.append(now)
        return False


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) or b"{}"
        request = json.loads(raw)
        if RATE_LIMIT > 0 and over_limit(request.get("user") or ""):
            body = json.dumps({"error": {"message": "Rate limit reached for requests", "type": "requests",
                                         "code": "rate_limit_exceeded"}}).encode()
            self.send_response(429)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.send_header("retry-after", "1")
            self.end_headers()
            self.wfile.write(body)
            return
        model = request.get("model", "stub-model")
        completion = min(int(request.get("max_tokens") or request.get("max_completion_tokens") or 2), 16000)
        usage = {"prompt_tokens": max(1, len(raw) // 4), "completion_tokens": completion,
                 "total_tokens": max(1, len(raw) // 4) + completion}
        created = int(time.time())
        if request.get("stream"):
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.send_header("cache-control", "no-cache")
            self.send_header("connection", "close")
            self.end_headers()
            chunks = [
                {"choices": [{"index": 0, "delta": {"role": "assistant", "content": "stub "}, "finish_reason": None}]},
                {"choices": [{"index": 0, "delta": {"content": "answer"}, "finish_reason": None}]},
                {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
                {"choices": [], "usage": usage},
            ]
            for chunk in chunks:
                chunk.update({"id": "chatcmpl-stub", "object": "chat.completion.chunk", "created": created, "model": model})
                self.wfile.write(b"data: " + json.dumps(chunk).encode() + b"\n\n")
            self.wfile.write(b"data: [DONE]\n\n")
            self.wfile.flush()
            self.close_connection = True
            return
        body = json.dumps({
            "id": "chatcmpl-stub",
            "object": "chat.completion",
            "created": created,
            "model": model,
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": "stub answer"}}],
            "usage": usage,
        }).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        body = json.dumps({"object": "list", "data": [{"id": "stub-model", "object": "model"}]}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    if len(sys.argv) > 2:
        RATE_LIMIT = int(sys.argv[2])
    ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
