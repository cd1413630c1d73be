-- wrk script: POST /v1/decide for accounts acct-0 ... acct-(DW_ACCOUNTS-1) in turn.
-- DW_TOKEN: a decide token. DW_DELAY_MS: pause per connection between requests (paces
-- the rate; wrk's latency does not include it).
local n = tonumber(os.getenv("DW_ACCOUNTS") or "1000")
local pause = tonumber(os.getenv("DW_DELAY_MS") or "0")
local bodies = {}
for i = 0, n - 1 do
  bodies[#bodies + 1] = string.format(
    '{"account_id":"acct-%d","client_ip":"203.0.113.7","user_agent":"loadtest","model":"m-large","max_tokens":1024}', i)
end
wrk.method = "POST"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("DW_TOKEN")
wrk.headers["Content-Type"] = "application/json"
local i = math.random(n)
request = function()
  i = i + 1
  return wrk.format(nil, "/v1/decide", nil, bodies[(i % n) + 1])
end
if pause > 0 then
  delay = function() return pause end
end
done = function(summary, latency, requests)
  io.write(string.format("latency: p50 %.3f ms  p90 %.3f ms  p99 %.3f ms  p99.9 %.3f ms  max %.3f ms\n",
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency:percentile(99.9) / 1000, latency.max / 1000))
  io.write(string.format("requests: %d in %.1f s = %.0f/s; errors: connect %d, read %d, write %d, status %d, timeout %d\n",
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.status, summary.errors.timeout))
end
