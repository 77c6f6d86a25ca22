#!/bin/sh
# Runs the engine benchmark's queries on Prometheus (Debian's 2.42) over the
# same data, then warden's criterion bench, one after the other.
#   rules/benches/prometheus_side_by_side.sh 10000 [port]
# Needs `prometheus` and `promtool`; works in a temp dir, binds 127.0.0.1 only,
# and stops the Prometheus it started by its PID.
set -eu
n=${1:-10000}
port=${2:-19190}
here=$(cd "$(dirname "$0")" && pwd)
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
python3 "$here/gen_openmetrics.py" "$n" > "$dir/data.om"
promtool tsdb create-blocks-from openmetrics "$dir/data.om" "$dir/tsdb" > /dev/null
rm "$dir/data.om"
printf 'global:\n  scrape_interval: 1h\nscrape_configs: []\n' > "$dir/prometheus.yml"
prometheus --config.file="$dir/prometheus.yml" --storage.tsdb.path="$dir/tsdb" \
  --web.listen-address="127.0.0.1:$port" --storage.tsdb.retention.time=100y \
  --query.max-samples=500000000 --query.timeout=10m > "$dir/prometheus.log" 2>&1 &
pid=$!
sleep 8
REPS=${REPS:-7} python3 "$here/time_queries.py" "$port" || true
kill "$pid"
wait "$pid" 2>/dev/null || true
cd "$here/../.."
WARDEN_BENCH_SERIES=$n cargo bench -p warden-rules --bench engine -- --noplot
