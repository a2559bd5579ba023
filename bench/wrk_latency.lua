-- SPDX-License-Identifier: BSD-3-Clause
-- wrk_latency.lua - bench C: wrk's results as one machine-readable line.
-- wrk --latency prints the 50/75/90/99th percentiles only; this adds the
-- 99.9th. Latencies are wrk's, in microseconds: from writing a request to
-- reading its whole response, on a keep-alive connection.
--
--   [WRK_THINK_MS=N] wrk -t2 -c32 -d8s -s bench/wrk_latency.lua http://127.0.0.1:PORT/
--
-- WRK_THINK_MS=N (N > 0): every connection waits N ms after a response
-- before it sends its next request (wrk's delay(); not counted in the
-- latency), so the server runs below saturation. Unset: back to back.
-- After wrk's own report it prints
--   wrk_latency requests=N duration_us=D p50_us=.. p90_us=.. p99_us=..
--               p999_us=.. max_us=.. errors=E
-- errors: connect + read + write + status (non-2xx/3xx) + timeouts.
local think = tonumber(os.getenv("WRK_THINK_MS") or "")
if think and think > 0 then
   delay = function() return think end
end

done = function(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      "wrk_latency requests=%d duration_us=%d p50_us=%d p90_us=%d p99_us=%d p999_us=%d max_us=%d errors=%d\n",
      summary.requests, summary.duration,
      latency:percentile(50), latency:percentile(90), latency:percentile(99),
      latency:percentile(99.9), latency.max,
      e.connect + e.read + e.write + e.status + e.timeout))
end
