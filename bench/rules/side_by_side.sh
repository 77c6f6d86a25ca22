#!/usr/bin/env bash
# Rule evaluation: warden next to Debian's Prometheus 2.42, same data, same
# rules, same durations, one after the other in one run.
#
#   bench/rules/side_by_side.sh            (from the repository root)
#
# Environment: PAIRS ("SERIES RULES" pairs, default "10000 1000,100000 100"),
# DURATION (seconds per run, default 180), WARMUP (evaluations counted from
# this second on, default 60), RSS_WINDOW (RSS sampled over the last seconds,
# default 60). Shorten for a quick check: DURATION=70 WARMUP=30 RSS_WINDOW=30.
#
# For each pair, a fresh synth_target.py serves SERIES series and
# gen_rules.py writes one group of RULES alerting rules (interval 10 s).
# Prometheus scrapes the target every 5 s (honor_labels) and evaluates the
# group; prometheus_rule_group_last_duration_seconds is read every 5 s from
# WARMUP on and VmRSS every 5 s over the last RSS_WINDOW seconds. Then a new
# target (same data from t=0) and agent/examples/rule_bench.rs do the same
# for warden. Everything started here is stopped by its PID. Prints a
# markdown table, also written to target/bench-rules/results.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
HERE=bench/rules
DURATION=${DURATION:-180}; WARMUP=${WARMUP:-60}; RSS_WINDOW=${RSS_WINDOW:-60}
PAIRS=${PAIRS:-"10000 1000,100000 100"}
STEP=5
# Enough bodies for the run, so the target never wraps its counters.
BODIES=$(( DURATION / STEP + 12 ))

[ -x /usr/bin/prometheus ] || { echo "missing /usr/bin/prometheus: apt-get install -y prometheus" >&2; exit 1; }
BENCH=target/release/examples/rule_bench
OUT=target/bench-rules; mkdir -p "$OUT"
WORK=$(mktemp -d); STARTED=()
cleanup() {
    local p
    for p in "${STARTED[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
    for p in "${STARTED[@]:-}"; do [ -n "$p" ] && wait "$p" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
rss_kb() { awk '/^VmRSS:/{print $2}' /proc/"$1"/status; }
# "min median max n" of the numbers on stdin
stats() { sort -g | awk '{a[NR]=$1} END{ if(NR==0){print "NA NA NA 0"; exit}
  m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%g %g %g %d\n",a[1],m,a[NR],NR}'; }
median() { awk '{print $2}'; }
stop() { # pid: stop one process started here and forget it
    local p keep=()
    kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true
    for p in "${STARTED[@]:-}"; do [ -n "$p" ] && [ "$p" != "$1" ] && keep+=("$p"); done
    STARTED=("${keep[@]:-}")
}
wait_http() { # url timeout_s
    local i=0
    until curl -fsS -o /dev/null "$1" 2>/dev/null; do
        i=$((i + 1)); [ $i -gt $(( $2 * 10 )) ] && { echo "timeout waiting for $1" >&2; return 1; }
        sleep 0.1
    done
}
# Starts a fresh target for SERIES; sets TARGET_PID and TARGET_PORT.
start_target() {
    TARGET_PORT=$(free_port)
    python3 "$HERE/synth_target.py" --series "$1" --port "$TARGET_PORT" --step "$STEP" \
        --bodies "$BODIES" > "$WORK/target.log" 2>&1 &
    TARGET_PID=$!; STARTED+=("$TARGET_PID")
    until grep -q serving "$WORK/target.log"; do sleep 1; kill -0 "$TARGET_PID"; done
}

rows=()
IFS=, read -ra pairs <<< "$PAIRS"
for pair in "${pairs[@]}"; do
    read -r S R <<< "$pair"
    D=$WORK/${S}_${R}; mkdir -p "$D"
    python3 "$HERE/gen_rules.py" synth --n "$R" --interval 10s > "$D/rules.yml"

    # Prometheus, as the baseline was measured.
    start_target "$S"
    PORT=$(free_port)
    cat > "$D/prometheus.yml" <<YML
global: {scrape_interval: ${STEP}s, evaluation_interval: 10s}
rule_files: ["rules.yml"]
scrape_configs:
- job_name: synth
  honor_labels: true
  scrape_timeout: ${STEP}s
  static_configs: [{targets: ["127.0.0.1:$TARGET_PORT"]}]
YML
    /usr/bin/prometheus --config.file="$D/prometheus.yml" --storage.tsdb.path="$D/data" \
        --web.listen-address="127.0.0.1:$PORT" > "$D/prom.log" 2>&1 &
    P=$!; STARTED+=("$P")
    wait_http "http://127.0.0.1:$PORT/-/ready" 60
    t0=$(date +%s); : > "$D/dur.txt"; : > "$D/rss.txt"
    while [ $(( $(date +%s) - t0 )) -lt "$DURATION" ]; do
        el=$(( $(date +%s) - t0 ))
        [ "$el" -ge "$WARMUP" ] && curl -fsS "http://127.0.0.1:$PORT/metrics" |
            awk '/^prometheus_rule_group_last_duration_seconds\{/{print $2 * 1000}' >> "$D/dur.txt"
        [ "$el" -ge $(( DURATION - RSS_WINDOW )) ] && rss_kb "$P" >> "$D/rss.txt"
        sleep "$STEP"
    done
    prom_eval=$(stats < "$D/dur.txt"); prom_rss=$(stats < "$D/rss.txt")
    stop "$P"; stop "$TARGET_PID"
    echo "prometheus series=$S rules=$R eval_ms(min med max n)=$prom_eval rss_kb(min med max n)=$prom_rss" >&2

    # warden, on a fresh target with the same data.
    cargo build --release -q -p warden --example rule_bench
    start_target "$S"
    "$BENCH" --target "http://127.0.0.1:$TARGET_PORT/metrics" --rules "$D/rules.yml" \
        --scrape-interval "$STEP" --duration "$DURATION" --warmup "$WARMUP" \
        --rss-window "$RSS_WINDOW" > "$D/warden.txt" 2> "$D/warden.err" &
    W=$!; STARTED+=("$W")
    wait "$W" || { cat "$D/warden.err" >&2; exit 1; }
    stop "$W"; stop "$TARGET_PID"
    cat "$D/warden.txt" >&2
    [ -s "$D/warden.err" ] && head -5 "$D/warden.err" >&2
    warden_eval=$(awk -F': ' '/^SUMMARY rule_group_eval_ms/{print $2}' "$D/warden.txt")
    warden_rss=$(awk -F': ' '/^SUMMARY rss_kb/{print $2}' "$D/warden.txt")

    rows+=("$(awk -v s="$S" -v r="$R" -v pe="$(echo "$prom_eval" | median)" \
        -v we="$(echo "$warden_eval" | median)" -v pr="$(echo "$prom_rss" | median)" \
        -v wr="$(echo "$warden_rss" | median)" 'BEGIN{
        printf "| %d | %d | %.0f ms | %.0f ms | %.3f | %.0f MiB | %.0f MiB | %.2f |", s, r, pe, we, we/pe, pr/1024, wr/1024, wr/pr }')")
done

{
    echo "## Rule evaluation, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, ${DURATION} s per run"
    echo
    echo "| series | rules | eval median Prometheus | eval median warden | ratio | RSS median Prometheus | RSS median warden | ratio |"
    echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
    printf '%s\n' "${rows[@]}"
} | tee "$OUT/results.md"
