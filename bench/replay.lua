-- wrk script: replays pre-built raw HTTP requests, each exactly once, split between wrk's threads.
-- Usage: wrk -s replay.lua URL -- FILE_PREFIX   (FILE_PREFIX.<thread number> holds that thread's requests,
-- separated by a NUL byte). A thread that runs out keeps sending its last request (the gateway
-- then refuses it as a replay, which shows in the non-2xx count).
local threads = {}
local counter = 1
function setup(thread)
  thread:set("number", #threads)
  table.insert(threads, thread)
end

function init(args)
  local file = assert(io.open(args[1] .. "." .. number, "rb"))
  local data = file:read("*a")
  file:close()
  requests = {}
  for raw in string.gmatch(data, "([^%z]+)") do
    table.insert(requests, raw)
  end
  sent = 0
end

function request()
  local raw = requests[counter]
  if raw == nil then
    raw = requests[#requests]
  else
    counter = counter + 1
  end
  sent = sent + 1
  return raw
end

function done(summary, latency, requests)
  io.write(string.format(
    'WRK-JSON {"requests": %d, "seconds": %.6f, "p50_us": %d, "p99_us": %d, "mean_us": %.1f, "errors_status": %d, "errors_connect": %d, "errors_read": %d, "errors_write": %d, "errors_timeout": %d}\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50), latency:percentile(99), latency.mean,
    summary.errors.status, summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.timeout))
end
