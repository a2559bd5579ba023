-- wrk_latency.lua - bench C: wrk's summary as one machine-readable line.
-- wrk --latency prints the 50/75/90/99th percentiles only; this adds the
-- 99.9th. Latencies are wrk's, in microseconds (time from writing a request
-- to reading its whole response, per connection; keep-alive GET).
--   wrk -t2 -c32 -d8s -s bench/wrk_latency.lua http://127.0.0.1:PORT/
-- prints, after wrk's own report:
--   wrk_latency requests=N duration_us=D p50_us=.. p99_us=.. p999_us=.. max_us=..
--               errors=E (connect + read + write + status + timeout)
done = function(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      "wrk_latency requests=%d duration_us=%d p50_us=%d p90_us=%d p99_us=%d p999_us=%d max_us=%d errors=%d\n",
      summary.requests, summary.duration,
      latency:percentile(50), latency:percentile(90), latency:percentile(99),
      latency:percentile(99.9), latency.max,
      e.connect + e.read + e.write + e.status + e.timeout))
end
