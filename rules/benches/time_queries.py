"""Times the engine benchmark's queries through a Prometheus-compatible HTTP API.

Usage: time_queries.py PORT  (REPS=n sets the repetitions after one warm-up, default 7).
Instant queries run at the end of the data set, range queries over its last hour
at a 1 m step, against 127.0.0.1 only.
"""
import os, sys, time, urllib.request, urllib.parse, statistics, json
port = sys.argv[1]; T = 1700004500
Q = [
 ("sum_rate", "sum by (job) (rate(http_requests_total[5m]))"),
 ("error_ratio", 'rate(http_requests_total{status="500"}[5m]) / ignoring(status) group_left sum by (job, instance) (rate(http_requests_total[5m]))'),
 ("hist_quantile", "histogram_quantile(0.99, sum by (le) (rate(request_duration_seconds_bucket[5m])))"),
 ("predict_linear", "predict_linear(node_memory_free_bytes[1h], 4*3600) < 0"),
 ("avg_over_time", "avg_over_time(node_memory_free_bytes[10m])"),
 ("topk", "topk(10, node_memory_free_bytes)"),
 ("subquery", "max_over_time(rate(http_requests_total[1m])[30m:1m])"),
]
def run(path, params):
    url = f"http://127.0.0.1:{port}{path}?" + urllib.parse.urlencode(params)
    t0 = time.perf_counter()
    body = urllib.request.urlopen(url).read()
    dt = time.perf_counter() - t0
    d = json.loads(body)
    assert d["status"] == "success", d
    return dt, d
for name, q in Q:
    res = []
    for kind, path, params in [("instant", "/api/v1/query", {"query": q, "time": T}),
                               ("range_1h_1m", "/api/v1/query_range", {"query": q, "start": T-3600, "end": T, "step": 60})]:
        run(path, params)
        ts = [run(path, params)[0] for _ in range(int(os.environ.get("REPS", "7")))]
        print(f"{name:16} {kind:12} median {statistics.median(ts)*1000:8.2f} ms  min {min(ts)*1000:8.2f}")
