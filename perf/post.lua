-- post.lua: the wrk script of perf/run.sh. Every request is a POST of one body
-- read from the file named by BD_BODY, with optional extra headers from
-- BD_HEADERS ("name: value|name: value"). done() prints one machine-readable
-- line (BDPERF ...) that run.sh parses: counts, errors and p50/p99/p999 in µs.

local path = os.getenv("BD_BODY")
local f = assert(io.open(path, "rb"), "cannot open BD_BODY " .. tostring(path))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "*/*"

local extra = os.getenv("BD_HEADERS") or ""
for item in string.gmatch(extra, "[^|]+") do
    local name, value = string.match(item, "^%s*([^:]+):%s*(.-)%s*$")
    if name then
        wrk.headers[name] = value
    end
end

function done(summary, latency, requests)
    local e = summary.errors
    io.write(string.format(
        "BDPERF requests=%d duration_us=%d bytes=%d p50=%d p99=%d p999=%d max=%d mean=%.1f"
        .. " err_connect=%d err_read=%d err_write=%d err_status=%d err_timeout=%d\n",
        summary.requests, summary.duration, summary.bytes,
        latency:percentile(50), latency:percentile(99), latency:percentile(99.9),
        latency.max, latency.mean,
        e.connect, e.read, e.write, e.status, e.timeout))
end
