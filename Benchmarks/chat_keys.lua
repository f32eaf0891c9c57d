-- wrk script for the limits scenario: the proxy scenario's chat completion, each request with
-- the next of BENCH_USERS keys (tg-bench-user-NNNNNN-0000000000), each thread starting at its
-- own offset, so the keys, and so the users' limiter entries, spread over every connection.
local model = os.getenv("BENCH_MODEL") or "bench-model"
local users = tonumber(os.getenv("BENCH_USERS") or "1000")
local body = '{"model":"' .. model .. '","messages":[{"role":"user","content":"Say hello."}],"max_tokens":16}'
-- Set in each thread's own Lua state by setup() (a global: a local would hide it).
start_offset = 0
local next_offset = 0
local next_user = 0

function setup(thread)
    thread:set("start_offset", next_offset)
    next_offset = next_offset + 7919   -- a prime: threads start far apart in the key list
end

function init(args)
    next_user = (tonumber(start_offset) or 0) % users
end

function request()
    local key = string.format("tg-bench-user-%06d-0000000000", next_user)
    next_user = (next_user + 1) % users
    return wrk.format("POST", nil, {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. key}, body)
end
