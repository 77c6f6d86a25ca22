"""Writes the engine benchmark's data set as OpenMetrics text for Prometheus.

Usage: gen_openmetrics.py N > data.om   (N series; same shape as benches/engine.rs:
half counters, a quarter gauges, a quarter classic histogram buckets, every 30 s for
75 minutes, starting at Unix time 1,700,000,000).
"""
import sys
n = int(sys.argv[1]); base = 1_700_000_000  # seconds
points = 75*60//30 + 1
counters, gauges = n//2, n//4
buckets = n - counters - gauges
les = ["0.005","0.01","0.05","0.1","0.5","1","2.5","5","10","+Inf"]
out = sys.stdout
w = out.write
for i in range(counters):
    st = "500" if i % 10 == 0 else "200"
    lbl = f'http_requests_total{{instance="i{i//2}",job="job{i%20}",status="{st}"}}'
    rate = 1 + i % 7
    for k in range(points):
        w(f"{lbl} {rate*k} {base + k*30}\n")
for i in range(gauges):
    lbl = f'node_memory_free_bytes{{instance="g{i}",job="job{i%20}"}}'
    slope = -1000 if i % 3 == 0 else 10
    for k in range(points):
        w(f"{lbl} {1e7 + slope*k + (k%5)} {base + k*30}\n")
for i in range(buckets):
    b = i % len(les)
    lbl = f'request_duration_seconds_bucket{{instance="h{i//len(les)}",job="job{(i//len(les))%20}",le="{les[b]}"}}'
    for k in range(points):
        w(f"{lbl} {(b+1)*k} {base + k*30}\n")
w("# EOF\n")
