-- wrk request generator for bench/api.py (GET or PUT of a secret, Bearer token).
--
-- Environment (set by bench/api.py):
--   BENCH_METHOD  GET or PUT
--   BENCH_PATH    path prefix, e.g. /api/v1/secrets/bench
--   BENCH_NAMES   how many names to cycle through (SECRET_0 .. SECRET_<n-1>)
--   BENCH_TOKEN   bearer token (empty: no Authorization header)
--   BENCH_VALUE   the value a PUT writes
-- Each wrk thread cycles through the names from its own offset, so concurrent
-- PUTs rarely wait on the same row lock.

local method = os.getenv("BENCH_METHOD") or "GET"
local prefix = os.getenv("BENCH_PATH") or "/api/v1/secrets/bench"
local names = tonumber(os.getenv("BENCH_NAMES") or "256")
local token = os.getenv("BENCH_TOKEN") or ""
local value = os.getenv("BENCH_VALUE") or "v"

local headers = {}
if token ~= "" then headers["Authorization"] = "Bearer " .. token end
local body = nil
if method == "PUT" then
  headers["Content-Type"] = "application/json"
  body = '{"value": "' .. value .. '", "metadata": {"owner": "bench"}}'
end

local counter = 0
local threads = 0

function setup(thread)
  thread:set("offset", threads * 7919)
  threads = threads + 1
end

function request()
  counter = counter + 1
  local n = ((offset or 0) + counter) % names
  return wrk.format(method, prefix .. "/SECRET_" .. n, headers, body)
end
