-- wrk script shared by every benchmark run, so the load generator does the
-- same work whatever the target.
--
-- Arguments (after "--"): PATH TOKENFILE LIMIT
--   PATH       request path
--   TOKENFILE  "-" for no Authorization header, "fixed:VALUE" for one fixed
--              header value, else a file with one header value per line
--              (e.g. "Bearer eyJ..."): request i carries line i, so every
--              request carries a different token until the file wraps
--   LIMIT      stop after this many requests have been sent (0: run for the
--              full -d); used so that a token file is never reused. The
--              wall time from the first request to the stop is reported as
--              stopped_after_us (wrk's own duration is always the full -d)
--
-- done() prints one line "WRKJSON {...}" that the harness parses.

local reqs = {}
local n = 0
local i = 0
local limit = 0
wraps = 0
-- wall-clock span of a run that stopped early (LIMIT reached): wrk itself
-- always reports the full -d duration
local ffi = require("ffi")
ffi.cdef[[
  typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
  int clock_gettime(int clk_id, bench_timespec *tp);
  int getpid(void);
  int kill(int pid, int sig);
]]
local ts = ffi.new("bench_timespec")
local function now_us()
  ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) * 1000000 + tonumber(ts.tv_nsec) / 1000
end
first_us = 0
stop_us = 0

function setup(thread)
  threads = threads or {}
  table.insert(threads, thread)
end

function init(args)
  local path = args[1] or "/"
  local src = args[2] or "-"
  limit = tonumber(args[3] or "0")
  local host = wrk.host .. ":" .. tostring(wrk.port)
  local pre = "GET " .. path .. " HTTP/1.1\r\nHost: " .. host .. "\r\n"
  if src == "-" then
    reqs[1] = pre .. "\r\n"
    n = 1
  elseif string.sub(src, 1, 6) == "fixed:" then
    reqs[1] = pre .. "Authorization: " .. string.sub(src, 7) .. "\r\n\r\n"
    n = 1
  else
    for line in io.lines(src) do
      n = n + 1
      reqs[n] = pre .. "Authorization: " .. line .. "\r\n\r\n"
    end
  end
  if limit > 0 then
    request_plain = request
    request = limited_request
  end
end

function request()
  i = i + 1
  if i > n then
    i = 1
    wraps = wraps + 1
  end
  return reqs[i]
end

-- with a LIMIT, request() stops the thread once LIMIT requests have been
-- sent (responses still in flight are not counted), so a token file is
-- never reused
local sent = 0
function limited_request()
  sent = sent + 1
  if sent == 1 then
    first_us = now_us()
  end
  if sent >= limit then
    stop_us = now_us()
    wrk.thread:stop()
    -- SIGINT ends wrk's main sleep too, so the process exits now instead of
    -- after the full -d (wrk handles SIGINT by stopping and reporting)
    ffi.C.kill(ffi.C.getpid(), 2)
  end
  return request_plain()
end

function done(summary, latency, requests)
  local w = 0
  local active = 0
  for _, t in ipairs(threads or {}) do
    w = w + (t:get("wraps") or 0)
    local a, b = t:get("first_us") or 0, t:get("stop_us") or 0
    if b > 0 then
      active = math.max(active, b - a)
    end
  end
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"err_connect":%d,"err_read":%d,"err_write":%d,"err_status":%d,"err_timeout":%d,' ..
    '"lat_mean_us":%.1f,"lat_max_us":%d,"p50_us":%d,"p75_us":%d,"p90_us":%d,"p99_us":%d,"p999_us":%d,"token_wraps":%d,"stopped_after_us":%d}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency.max,
    latency:percentile(50), latency:percentile(75), latency:percentile(90),
    latency:percentile(99), latency:percentile(99.9), w, active))
end
