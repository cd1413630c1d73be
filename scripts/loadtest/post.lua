-- wrk script: POST pre-built bodies in turn. DW_PATH: the route. DW_HEADER: one header,
-- "name: value" (the token). DW_BODY_PREFIX and DW_BODIES: files PREFIX-0 .. PREFIX-(N-1),
-- read once. DW_ITEMS: records per body (for records/s). DW_DELAY_MS: pause per connection
-- between requests (paces the rate; wrk's latency does not include it). DW_CONTENT_TYPE
-- (default application/json), DW_CONTENT_ENCODING (e.g. gzip) and DW_EXTRA_HEADER (a second
-- "name: value") set those headers.
local path = os.getenv("DW_PATH")
local prefix = os.getenv("DW_BODY_PREFIX")
local n = tonumber(os.getenv("DW_BODIES") or "1")
local items = tonumber(os.getenv("DW_ITEMS") or "1")
local pause = tonumber(os.getenv("DW_DELAY_MS") or "0")
local name, value = string.match(os.getenv("DW_HEADER"), "^([^:]+):%s*(.*)$")
local bodies = {}
for i = 0, n - 1 do
  local f = assert(io.open(string.format("%s-%d", prefix, i), "rb"))
  bodies[#bodies + 1] = f:read("*a")
  f:close()
end
wrk.method = "POST"
wrk.headers[name] = value
wrk.headers["Content-Type"] = os.getenv("DW_CONTENT_TYPE") or "application/json"
if os.getenv("DW_CONTENT_ENCODING") then wrk.headers["Content-Encoding"] = os.getenv("DW_CONTENT_ENCODING") end
if os.getenv("DW_EXTRA_HEADER") then
  local extra_name, extra_value = string.match(os.getenv("DW_EXTRA_HEADER"), "^([^:]+):%s*(.*)$")
  wrk.headers[extra_name] = extra_value
end
local i = math.random(n)
request = function()
  i = i + 1
  return wrk.format(nil, path, nil, bodies[(i % n) + 1])
end
if pause > 0 then
  delay = function() return pause end
end
done = function(summary, latency, requests)
  local seconds = summary.duration / 1e6
  io.write(string.format("latency: p50 %.3f ms  p90 %.3f ms  p99 %.3f ms  p99.9 %.3f ms  max %.3f ms\n",
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency:percentile(99.9) / 1000, latency.max / 1000))
  io.write(string.format("requests: %d in %.1f s = %.0f/s (%.0f records/s); errors: connect %d, read %d, write %d, status %d, timeout %d\n",
    summary.requests, seconds, summary.requests / seconds, summary.requests * items / seconds,
    summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.status, summary.errors.timeout))
end
