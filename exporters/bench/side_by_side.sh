#!/usr/bin/env bash
# CPU per collection, warden's host collector next to node_exporter 1.5, in
# the same run on the same machine.
#
# node_exporter (default collectors) is started on a free loopback port and
# scraped N times with curl; its CPU is the utime+stime delta of its PID.
# warden's figure comes from the collect_cost example (release build).
#
# Usage: bash exporters/bench/side_by_side.sh [N]   (default N=500)
set -euo pipefail
N=${1:-500}
NE=/usr/bin/prometheus-node-exporter
[ -x "$NE" ] || { echo "install prometheus-node-exporter first" >&2; exit 1; }
cd "$(dirname "$0")/../.."
CLK_TCK=$(getconf CLK_TCK)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
TMP=$(mktemp -d)
"$NE" --web.listen-address=127.0.0.1:$PORT --collector.textfile.directory="$TMP" >"$TMP/ne.log" 2>&1 &
NE_PID=$!
trap 'kill $NE_PID 2>/dev/null || true; wait $NE_PID 2>/dev/null || true; rm -rf "$TMP"' EXIT
for _ in $(seq 100); do curl -fsS -o /dev/null "http://127.0.0.1:$PORT/metrics" 2>/dev/null && break; sleep 0.1; done
ticks() { awk '{print $14+$15}' /proc/"$1"/stat; }
series=$(curl -fsS "http://127.0.0.1:$PORT/metrics" | grep -vc '^#')
c0=$(ticks $NE_PID)
for _ in $(seq "$N"); do curl -fsS -o /dev/null "http://127.0.0.1:$PORT/metrics"; done
c1=$(ticks $NE_PID)
ne_ms=$(awk -v a="$c0" -v b="$c1" -v n="$N" -v hz="$CLK_TCK" 'BEGIN{printf "%.3f",(b-a)/hz/n*1000}')
echo "node_exporter: scrapes $N series_per_scrape $series cpu_ms_per_scrape $ne_ms"
cargo build -q --release -p warden-exporters --example collect_cost
out=$(./target/release/examples/collect_cost "$N")
echo "warden:        $out"
echo "warden:        $(./target/release/examples/collect_cost "$N" --encode)"
w_ms=$(echo "$out" | sed -n 's/.*cpu_ms_per_collection \([0-9.]*\).*/\1/p')
awk -v a="$w_ms" -v b="$ne_ms" 'BEGIN{ if (a > 0) printf "ratio node_exporter/warden: %.1f\n", b/a; else print "warden below clock-tick resolution; raise N" }'
