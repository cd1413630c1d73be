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

Reasoning, for the countermeasure checks: a request with `reasoning_effort` or `thinking`
is answered with reasoning as DeepSeek-style providers send it (`reasoning_content` in the
message or in stream deltas, and `completion_tokens_details.reasoning_tokens`); a model
whose name ends in `-r1` writes it inline in the content (`<think>…</think>`, as open-weight
reasoning models do). The model `reasoning-summariser` answers with a fixed summary.
Every request body is kept: `GET /_requests` lists them (newest last).

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
received = []
REASONING = "Step 1: 17*23 = 17*20 + 17*3. Step 2: 340 + 51 = 391. Check: 391/23 = 17."
SUMMARY = "Summary: the product was split into tens and units and checked by division."


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
        with lock:
            received.append(request)
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
        reasons = bool(request.get("reasoning_effort") or request.get("thinking"))
        inline = model.endswith("-r1")
        answer = "stub answer"
        if model == "reasoning-summariser":
            answer = SUMMARY
        elif inline:
            answer = "<think>" + REASONING + "</think>The answer is 391."
        if reasons and not inline:
            usage["completion_tokens_details"] = {"reasoning_tokens": 42}
        if request.get("stream"):
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.send_header("cache-control", "no-cache")
            self.send_header("connection", "close")
            self.end_headers()
            chunks = [{"choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]}]
            if reasons and not inline:
                for part in (REASONING[:30], REASONING[30:]):
                    chunks.append({"choices": [{"index": 0, "delta": {"reasoning_content": part}, "finish_reason": None}]})
            # Pieces of 7 characters: an inline <think> tag arrives split across chunks.
            step = 7 if inline else max(1, len(answer) // 2)
            for i in range(0, len(answer), step):
                chunks.append({"choices": [{"index": 0, "delta": {"content": answer[i:i + step]}, "finish_reason": None}]})
            chunks += [
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
                         "message": dict({"role": "assistant", "content": answer},
                                         **({"reasoning_content": REASONING} if reasons and not inline else {}))}],
            "usage": usage,
        }).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path.startswith("/_requests"):
            with lock:
                body = json.dumps(received).encode()
        else:
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
