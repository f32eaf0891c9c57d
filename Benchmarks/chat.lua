-- wrk script for the proxy scenario: a non-streaming OpenAI chat completion, POSTed with the
-- bench user's key. The same request goes to Tollgate and to nginx's proxy_pass (which ignores
-- the key). BENCH_MODEL and BENCH_KEY override the defaults.
local model = os.getenv("BENCH_MODEL") or "bench-model"
local key = os.getenv("BENCH_KEY") or "tg-bench-key-000000000000"

wrk.method = "POST"
wrk.body = '{"model":"' .. model .. '","messages":[{"role":"user","content":"Say hello."}],"max_tokens":16}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. key
