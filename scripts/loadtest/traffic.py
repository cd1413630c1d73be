#!/usr/bin/env python3
"""Synthetic traffic for the load test: ACCOUNTS accounts over DAYS days, 2% of them
harvesters (round the clock, pinned parameters, rate-limited), the rest office-hours
users with irregular gaps. Writes NDJSON exchange records in time order to stdout."""
import datetime
import heapq
import json
import random
import sys

accounts = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
days = float(sys.argv[2]) if len(sys.argv) > 2 else 2
rng = random.Random(42)
start = datetime.datetime(2026, 4, 1, tzinfo=datetime.timezone.utc)
end = start + datetime.timedelta(days=days)


def harvester(a):
    t = start + datetime.timedelta(seconds=rng.uniform(0, 60))
    while t < end:
        yield t, {"account_id": f"acct-{a}", "model": "m-large", "output_tokens": 12000, "max_tokens": 32000,
                  "temperature": 1, "thinking": True, "message_count": 1,
                  "status": 429 if rng.random() < 0.3 else 200, "client_ip": f"198.51.100.{a % 250}"}
        t += datetime.timedelta(seconds=rng.uniform(15, 25))


def ordinary(a):
    t = start
    while t < end:
        t += datetime.timedelta(seconds=rng.expovariate(1 / 900))
        if 9 <= t.hour < 17:
            yield t, {"account_id": f"acct-{a}", "model": rng.choice(["m-large", "m-small"]),
                      "output_tokens": rng.randint(50, 800), "max_tokens": rng.choice([512, 1024, 2048]),
                      "temperature": rng.choice([0, 0.3, 0.7]), "thinking": False,
                      "message_count": rng.randint(1, 8), "client_ip": f"192.0.2.{a % 250}"}


streams = [(harvester(a) if a % 50 == 0 else ordinary(a)) for a in range(accounts)]
heap = []
for i, s in enumerate(streams):
    first = next(s, None)
    if first:
        heap.append((first[0], i, first[1]))
heapq.heapify(heap)
out = sys.stdout
while heap:
    t, i, rec = heapq.heappop(heap)
    out.write(json.dumps({"time": t.isoformat().replace("+00:00", "Z"), **rec}, separators=(",", ":")) + "\n")
    nxt = next(streams[i], None)
    if nxt:
        heapq.heappush(heap, (nxt[0], i, nxt[1]))
