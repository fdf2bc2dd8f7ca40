-- Appended to every wrk script the bench writes. It only defines done(), so a plain request keeps
-- wrk's static fast path (no Lua per request), and prints one machine-readable line at the end.
-- Latencies are in microseconds; "status" counts responses with a status >= 400 (wrk's rule).
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%.0f,"duration_us":%.0f,"bytes":%.0f,"connect":%.0f,"read":%.0f,"write":%.0f,' ..
    '"status":%.0f,"timeout":%.0f,"lat_p50_us":%.0f,"lat_p97_5_us":%.0f,"lat_p99_us":%.0f,"lat_max_us":%.0f}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(97.5), latency:percentile(99), latency.max))
end
