-- wrk script: POST /v1/exchanges with the NDJSON batch in DW_BATCH_FILE, again and again.
-- DW_TOKEN: an ingest token. DW_BATCH_LINES: lines per batch (for the exchanges/s figure).
local f = assert(io.open(os.getenv("DW_BATCH_FILE"), "rb"))
wrk.method = "POST"
wrk.path = "/v1/exchanges"
wrk.body = f:read("*a")
f:close()
wrk.headers["Authorization"] = "Bearer " .. os.getenv("DW_TOKEN")
wrk.headers["Content-Type"] = "application/x-ndjson"
local lines = tonumber(os.getenv("DW_BATCH_LINES") or "1")
done = function(summary, latency, requests)
  local seconds = summary.duration / 1e6
  io.write(string.format("latency per batch: p50 %.2f ms  p90 %.2f ms  p99 %.2f ms  max %.2f ms\n",
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
  io.write(string.format("batches: %d in %.1f s = %.0f/s = %.0f exchanges/s; errors: status %d, timeout %d\n",
    summary.requests, seconds, summary.requests / seconds, summary.requests * lines / seconds,
    summary.errors.status, summary.errors.timeout))
end
