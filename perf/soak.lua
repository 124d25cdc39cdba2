-- soak.lua: the wrk script of perf/soak.sh. Each connection cycles through a mix of
-- requests (Anthropic and OpenAI, JSON and SSE, both Bedrock routes, health, model
-- lists, and the error paths: bad JSON, a bad key, an unknown path, a throttled
-- upstream); a thread stops after BD_SOAK_PER_THREAD responses and then writes the
-- file named by BD_SOAK_DONE.
-- done() prints one line (BDSOAK ...) with the counts soak.sh records.

local key = os.getenv("BD_SOAK_KEY")
local per_thread = tonumber(os.getenv("BD_SOAK_PER_THREAD"))

local function post(path, body, auth)
    local h = { ["Content-Type"] = "application/json" }
    if auth == "anthropic" then
        h["x-api-key"] = key
    elseif auth == "openai" then
        h["Authorization"] = "Bearer " .. key
    elseif auth == "bad" then
        h["x-api-key"] = "sk-bd-not-a-key-at-all-0000000000"
    end
    return wrk.format("POST", path, h, body)
end

local function msg(model, stream, text)
    return string.format('{"model":"%s","max_tokens":32,"stream":%s,'
        .. '"messages":[{"role":"user","content":"%s"}]}', model, stream, text)
end

local function chat(stream, text)
    return string.format('{"model":"nova-pro","stream":%s,'
        .. '"messages":[{"role":"user","content":"%s"}]}', stream, text)
end

local mix = {
    post("/v1/messages", msg("claude-sonnet-4-5", "false", "soak one"), "anthropic"),
    post("/v1/messages", msg("claude-sonnet-4-5", "true", "soak two"), "anthropic"),
    post("/v1/messages", msg("nova-pro", "false", "soak three"), "anthropic"),
    post("/v1/messages", msg("nova-pro", "true", "soak four"), "anthropic"),
    post("/v1/chat/completions", chat("false", "soak five"), "openai"),
    post("/v1/chat/completions", chat("true", "soak six"), "openai"),
    wrk.format("GET", "/health"),
    wrk.format("GET", "/v1/models", { ["x-api-key"] = key }),
    post("/v1/messages", '{"model": "claude-sonnet-4-5", "messages": [', "anthropic"),
    post("/v1/messages", msg("claude-sonnet-4-5", "false", "soak"), "bad"),
    wrk.format("GET", "/no/such/path"),
    post("/v1/messages", msg("claude-sonnet-4-5", "false", "[[emu:throttle]] soak"), "anthropic"),
}

local i = 0
local seen = 0
local statuses = {}

function init(args)
    i = math.random(#mix) - 1
end

function request()
    i = i % #mix + 1
    return mix[i]
end

function response(status, headers, body)
    seen = seen + 1
    statuses[status] = (statuses[status] or 0) + 1
    if seen == per_thread then
        -- wrk itself runs until -d; the marker tells soak.sh to stop it now.
        local f = io.open(os.getenv("BD_SOAK_DONE"), "w")
        if f then
            f:close()
        end
        wrk.thread:stop()
    end
end

function done(summary, latency, requests)
    local e = summary.errors
    io.write(string.format("BDSOAK requests=%d duration_us=%d p50=%d p99=%d max=%d"
        .. " err_connect=%d err_read=%d err_write=%d err_status=%d err_timeout=%d\n",
        summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
        latency.max, e.connect, e.read, e.write, e.status, e.timeout))
end
