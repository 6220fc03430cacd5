-- POSTs the JSON documents of a file, one a line, in turn: every request carries another
-- client, so no single cached body is what gets measured. A line `GET /path` is a GET of
-- that path instead (the by-id reads, each of another client).
--
--   wrk -c16 -d20s -s bench/wrk/post_bodies.lua URL -- BODIES_FILE [AUTHORIZATION [COOKIE]]
--
-- done() prints one line, `wrk-result {...}` (JSON), that bench/wrk/runner.py reads.

local bodies = {}
local position = 1
local threads = {}

function setup(thread)
  -- Threads start at different bodies, so two threads do not send the same client together.
  thread:set("start", #threads * 7919)
  threads[#threads + 1] = thread
end

function init(args)
  local file = assert(io.open(args[1], "r"), "cannot open the bodies file " .. tostring(args[1]))
  for line in file:lines() do
    if #line > 0 then
      bodies[#bodies + 1] = line
    end
  end
  file:close()
  assert(#bodies > 0, "the bodies file is empty")
  position = (start or 0) % #bodies + 1
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  if args[2] and #args[2] > 0 then
    wrk.headers["Authorization"] = args[2]
  end
  if args[3] and #args[3] > 0 then
    wrk.headers["Cookie"] = args[3]
  end
end

function request()
  local body = bodies[position]
  position = position % #bodies + 1
  if body:sub(1, 4) == "GET " then
    return wrk.format("GET", body:sub(5), nil, nil)
  end
  return wrk.format(nil, nil, nil, body)
end

-- wrk counts responses with status >= 400 in errors.status (these endpoints never redirect),
-- socket errors (connect, read, write, timeout) apart.
function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    'wrk-result {"requests": %d, "duration_us": %d, "p50_us": %.0f, "p99_us": %.0f, '
      .. '"mean_us": %.1f, "max_us": %.0f, "http_errors": %d, "connect": %d, "read": %d, '
      .. '"write": %d, "timeout": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    latency.mean, latency.max, errors.status, errors.connect, errors.read, errors.write,
    errors.timeout))
end
