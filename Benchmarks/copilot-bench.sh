#!/usr/bin/env bash
# copilot-bench.sh - the copilot benchmark: N simulated sales calls on one `earpiece serve` core.
#
# Each call is a Socket.IO connection (WebSocket, auth {"apiKey"}) that starts an auto-mode
# conversation and sends an acked TRANSCRIPT of ~20 words every 2 s; the server makes a tip every
# 3 s after a 3 s warm-up (30 s each at COACHING_TIME_SCALE 0.1), asking the fake LLM
# (loadgen/fake_llm, C + epoll), which answers every request after a fixed 300 ms.
# Measured over the window (after the ramp and the first tick):
#   ack latency       TRANSCRIPT send -> ack                                  target p99 <= 5 ms
#   tip overhead      AI_TIP arrival - its tick - the LLM delay               target p99 <= 10 ms
#   server CPU        utime+stime of the server over the window, % of a core  target <= 20 %
#   server RSS        VmRSS at the end of the window, and its growth per call
# The server runs with --loops 1 pinned to CPU 0; loadgen and the fake LLM share CPU 1.
# See Benchmarks/README.md ("Copilot benchmark") for the method and the figures.
#
# usage: Benchmarks/copilot-bench.sh [--calls 2000] [--seconds 60] [--llm-delay-ms 300]
#          [--llm-deadline-ms 2000] [--time-scale 0.1] [--call-warmup 30] [--call-interval 30]
#          [--segment-interval 2] [--ramp 5] [--scratch-path .build] [--no-build]
#          [--server-cpu 0] [--loadgen-cpu 1] [--wait-quiet 60] [--perf S]
#   --wait-quiet S: before the run, wait up to S seconds for both CPUs to be under 10% busy.
#   --perf S: profile the server with `perf record -g` for S seconds from the start of the window
#   (perf.data and perf-report.txt in the log directory).
# Exit status 0 when every target is met and the run was clean, 1 otherwise, 2 for bad usage.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH=$ROOT/Benchmarks
# shellcheck source=loadgen/lib.sh
source "$BENCH/loadgen/lib.sh"

CALLS=2000
SECONDS_MEASURED=60
LLM_DELAY_MS=300
LLM_DEADLINE_MS=2000
TIME_SCALE=0.1
CALL_WARMUP=30
CALL_INTERVAL=30
SEGMENT_INTERVAL=2
RAMP=5
SCRATCH=.build
BUILD=1
SERVER_CPU=0
LOADGEN_CPU=1
WAIT_QUIET=60
PERF_SECONDS=0
API_KEY=bench-key-0123456789abcdef0123456789abcdef
LLM_KEY=sk-bench

while (($#)); do
    case $1 in
    --calls) CALLS=$2; shift 2 ;;
    --seconds) SECONDS_MEASURED=$2; shift 2 ;;
    --llm-delay-ms) LLM_DELAY_MS=$2; shift 2 ;;
    --llm-deadline-ms) LLM_DEADLINE_MS=$2; shift 2 ;;
    --time-scale) TIME_SCALE=$2; shift 2 ;;
    --call-warmup) CALL_WARMUP=$2; shift 2 ;;
    --call-interval) CALL_INTERVAL=$2; shift 2 ;;
    --segment-interval) SEGMENT_INTERVAL=$2; shift 2 ;;
    --ramp) RAMP=$2; shift 2 ;;
    --scratch-path) SCRATCH=$2; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    --server-cpu) SERVER_CPU=$2; shift 2 ;;
    --loadgen-cpu) LOADGEN_CPU=$2; shift 2 ;;
    --wait-quiet) WAIT_QUIET=$2; shift 2 ;;
    --perf) PERF_SECONDS=$2; shift 2 ;;
    -h | --help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "copilot-bench.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done
if ((LLM_DEADLINE_MS <= LLM_DELAY_MS)); then
    echo "copilot-bench.sh: --llm-deadline-ms must be above --llm-delay-ms, or every tip falls back to the rules" >&2
    exit 2
fi

# --- Limits: the server holds a socket per call plus its LLM connections; loadgen one per call ---
raise_fd_limit $((CALLS * 2 + 4096)) copilot-bench.sh

WORK=$(mktemp -d /tmp/copilot-bench.XXXXXX)
SERVER_PID=
FAKE_PID=
LOADGEN_PID=
trap 'stop_pid "$LOADGEN_PID"; stop_pid "$SERVER_PID"; stop_pid "$FAKE_PID"' EXIT
echo "copilot-bench: logs in $WORK"

# --- Build ---------------------------------------------------------------------------------------
make -s -C "$BENCH/loadgen" build/loadgen build/fake_llm >/dev/null
LOADGEN=$BENCH/loadgen/build/loadgen
FAKE=$BENCH/loadgen/build/fake_llm
((BUILD)) && echo "copilot-bench: building earpiece (release, scratch path $SCRATCH)"
release_binary earpiece "$SCRATCH" "$BUILD" "$WORK/build.log"
if [[ -z $BINARY ]]; then
    echo "copilot-bench.sh: $BINARY_PROBLEM" >&2
    [[ -s $WORK/build.log ]] && tail -n 20 "$WORK/build.log" >&2
    exit 1
fi
EARPIECE=$BINARY

# --- Fake LLM and server ---------------------------------------------------------------------------
FAKE_PORT=$(free_port)
taskset -c "$LOADGEN_CPU" "$FAKE" --port "$FAKE_PORT" --delay-ms "$LLM_DELAY_MS" --api-key "$LLM_KEY" \
    --max-connections $((CALLS + 4096)) >"$WORK/fake.out" 2>"$WORK/fake.err" &
FAKE_PID=$!
wait_port "$FAKE_PORT" "$FAKE_PID" 10 || { echo "copilot-bench: the fake LLM did not start" >&2; cat "$WORK/fake.err" >&2; exit 1; }

SERVER_PORT=$(free_port)
# Rate limits and the per-key quota are raised so that 2,000 calls from one address and one key are
# not refused; everything else is the server's default.
env BACKEND_API_KEY="$API_KEY" OPENAI_API_KEY="$LLM_KEY" OPENAI_BASE_URL="http://127.0.0.1:$FAKE_PORT/v1" \
    COACHING_TIME_SCALE="$TIME_SCALE" LLM_DEADLINE_MS="$LLM_DEADLINE_MS" MAX_CONVERSATIONS_PER_KEY=100000 \
    RATE_LIMIT_START_PER_MINUTE=100000 RATE_LIMIT_CONNECTIONS_PER_MINUTE=100000 RATE_LIMIT_KEY_TIPS_PER_MINUTE=10000000 LOG_LEVEL=warning \
    taskset -c "$SERVER_CPU" "$EARPIECE" serve --host 127.0.0.1 --port "$SERVER_PORT" --loops 1 \
    >"$WORK/server.out" 2>"$WORK/server.err" &
SERVER_PID=$!
wait_port "$SERVER_PORT" "$SERVER_PID" 30 || { echo "copilot-bench: the server did not start" >&2; tail -n 20 "$WORK/server.err" >&2; exit 1; }
sleep 1
RSS0=$(rss_kib "$SERVER_PID")

((WAIT_QUIET > 0)) && wait_quiet "$WAIT_QUIET" "$SERVER_CPU" "$LOADGEN_CPU" || true

# --- Run -------------------------------------------------------------------------------------------
echo "copilot-bench: $CALLS calls, ${SECONDS_MEASURED} s measured, LLM delay ${LLM_DELAY_MS} ms, time scale $TIME_SCALE"
set +e
taskset -c "$LOADGEN_CPU" "$LOADGEN" copilot --port "$SERVER_PORT" --conns "$CALLS" --duration "$SECONDS_MEASURED" \
    --api-key "$API_KEY" --time-scale "$TIME_SCALE" --call-warmup "$CALL_WARMUP" --call-interval "$CALL_INTERVAL" \
    --segment-interval "$SEGMENT_INTERVAL" --ramp "$RAMP" --llm-delay-ms "$LLM_DELAY_MS" \
    --server-pid "$SERVER_PID" --server-cpu "$SERVER_CPU" >"$WORK/loadgen.out" 2>"$WORK/loadgen.err" &
LOADGEN_PID=$!
PERF_PID=
if ((PERF_SECONDS > 0)) && command -v perf >/dev/null; then
    # loadgen's warm-up (ramp + call warm-up + one interval + 1 s) starts after a connect phase of ~1 s.
    (sleep "$(awk -v r="$RAMP" -v w="$CALL_WARMUP" -v i="$CALL_INTERVAL" -v s="$TIME_SCALE" 'BEGIN { print r + (w + i) * s + 2 }')"
        exec perf record -F 499 -g -p "$SERVER_PID" -o "$WORK/perf.data" -- sleep "$PERF_SECONDS") >"$WORK/perf.log" 2>&1 &
    PERF_PID=$!
fi
wait "$LOADGEN_PID"
LOADGEN_STATUS=$?
LOADGEN_PID=
if [[ -n $PERF_PID ]]; then
    wait "$PERF_PID"
    perf report -i "$WORK/perf.data" --no-children --sort comm,dso,symbol --stdio -g none 2>/dev/null |
        grep '%' | head -n 60 >"$WORK/perf-report.txt" || true
    echo "copilot-bench: profile in $WORK/perf-report.txt"
fi
set -e
LINE=$(tail -n 1 "$WORK/loadgen.out")
python3 - "$SERVER_PORT" >"$WORK/metrics.txt" 2>/dev/null <<'EOF' || true
import sys, urllib.request
print(urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/metrics", timeout=5).read().decode())
EOF
stop_pid "$SERVER_PID"
SERVER_PID=
stop_pid "$FAKE_PID"
FAKE_PID=
FAKE_LINE=$(tail -n 1 "$WORK/fake.out")
echo "$LINE" >"$WORK/runs.log"
echo "$FAKE_LINE" >>"$WORK/runs.log"

if [[ $LINE != mode=copilot* ]]; then
    echo "copilot-bench: loadgen failed (status $LOADGEN_STATUS):" >&2
    tail -n 20 "$WORK/loadgen.err" >&2
    exit 1
fi

# --- Report ------------------------------------------------------------------------------------------
v() { kv "$1" "$LINE"; }
f() { kv "$1" "$FAKE_LINE"; }
ms() { awk -v us="$1" 'BEGIN { printf "%.2f", us / 1000 }'; }
RSS1=$(v server_rss_kib)
CPU=$(v server_cpu_util)
CPU_PERCENT=$(awk -v c="$CPU" 'BEGIN { printf "%.1f", c * 100 }')
RSS_PER_CALL=$(awk -v a="$RSS0" -v b="$RSS1" -v n="$(v calls_active)" 'BEGIN { if (n > 0 && b > 0) printf "%.1f", (b - a) / n; else print "na" }')
SERVER_WARNINGS=$(grep -c . "$WORK/server.err" || true)

echo
printf '%-34s %s\n' "calls started / active at the end" "$(v calls_started) / $(v calls_active) of $CALLS (connect $(v connect_seconds) s)"
printf '%-34s %s\n' "window" "$(v seconds) s after $(awk -v r="$RAMP" -v w="$CALL_WARMUP" -v i="$CALL_INTERVAL" -v s="$TIME_SCALE" 'BEGIN { printf "%g", r + (w + i) * s + 1 }') s of ramp and warm-up"
printf '%-34s %s\n' "TRANSCRIPT acks" "$(v msgs) ($(v msgs_per_sec)/s)"
printf '%-34s %s\n' "ack latency p50/p90/p99/max ms" "$(ms "$(v p50_us)") / $(ms "$(v ack_p90_us)") / $(ms "$(v p99_us)") / $(ms "$(v max_us)")"
printf '%-34s %s\n' "tips in window" "$(v tips) ($(v tips_per_sec)/s); all tips: llm $(v tips_llm), rules $(v tips_rules); partials $(v partials)"
printf '%-34s %s\n' "tip overhead p50/p90/p99/max ms" "$(ms "$(v tip_p50_us)") / $(ms "$(v tip_p90_us)") / $(ms "$(v tip_p99_us)") / $(ms "$(v tip_max_us)")  (client clock)"
printf '%-34s %s\n' "  server-reported (latencyMs)" "$(ms "$(v tip_server_p50_us)") / $(ms "$(v tip_server_p90_us)") / $(ms "$(v tip_server_p99_us)") / $(ms "$(v tip_server_max_us)")"
printf '%-34s %s\n' "  fake LLM lateness taken off" "$(ms "$(v fake_late_p50_us)") / $(ms "$(v fake_late_p90_us)") / $(ms "$(v fake_late_p99_us)") / $(ms "$(v fake_late_max_us)")  ($(v tip_negative) tips below 0 counted as 0)"
printf '%-34s %s\n' "ticks without a tip" "$(v ticks_without_tip) (tick drift up to $(v tick_drift_max_ms) ms)"
printf '%-34s %s\n' "server CPU" "$CPU_PERCENT % of one core ($(v server_cpu_seconds) s over the window; core $SERVER_CPU busy $(v server_core_busy))"
printf '%-34s %s\n' "  by thread" "loop $(v server_loop_cpu_util), other threads $(v server_other_cpu_util) ($(v server_threads) threads); $(v server_switches_per_sec) context switches/s"
printf '%-34s %s\n' "server RSS" "$((RSS1 / 1024)) MiB at the end of the window (${RSS0} KiB idle; ${RSS_PER_CALL} KiB per call)"
printf '%-34s %s\n' "loadgen CPU" "$(v client_cpu_util) of core $LOADGEN_CPU (core busy $(v core_busy), with the fake LLM)"
printf '%-34s %s\n' "fake LLM" "$(f requests) requests ($(f tips) tips, $(f summaries) summaries), $(f connections) connections, max $(f max_open) open, $(f abandoned) abandoned; late p50/p99/max $(f late_p50_us)/$(f late_p99_us)/$(f late_max_us) us; $(f cpu_us_per_request) us CPU per request"
printf '%-34s %s\n' "conversations ended" "$(v ended) of $(v ends_expected) (summaries llm $(v summaries_llm), rules $(v summaries_rules))"
printf '%-34s %s\n' "errors" "$(v errors) (refused acks $(v acks_refused), ERROR events $(v error_events), connect $(v connect_errors), handshake $(v handshake_errors), verify $(v verify_errors), io $(v io_errors), stall $(v stall_errors)); server log lines $SERVER_WARNINGS"
# Other work on either core (the machine may be shared) shows as busy time beyond our processes'.
CONTENDED=$(awk -v sb="$(v server_core_busy)" -v su="$CPU" -v lb="$(v core_busy)" -v lu="$(v client_cpu_util)" \
    -v fc="$(f cpu_seconds)" -v rs="$(v seconds)" -v ws="$(v drain_seconds)" 'BEGIN {
    fake = (rs + 0 > 0) ? fc / (rs + ws + 15) : 0   # the fake ran for the whole run, not only the window
    out = ""
    if (sb != "" && sb - su > 0.15) out = out sprintf("core %s %.0f%% busy with other work; ", "server", (sb - su) * 100)
    if (lb != "" && lb - lu - fake > 0.20) out = out sprintf("core %s %.0f%% busy with other work; ", "loadgen", (lb - lu - fake) * 100)
    print out }')
if [[ -n $CONTENDED ]]; then
    echo "WARNING: contended run (${CONTENDED%; }): latency figures include waiting for the CPU"
fi
echo

FAILED=0
verdict() { # verdict NAME OK(1/0) DETAIL
    if [[ $2 == 1 ]]; then echo "PASS $1: $3"; else echo "FAIL $1: $3"; FAILED=1; fi
}
le() { awk -v a="$1" -v b="$2" 'BEGIN { print (a != "" && a + 0 <= b + 0) ? 1 : 0 }'; }
verdict "ack p99 <= 5 ms" "$(le "$(v p99_us)" 5000)" "$(ms "$(v p99_us)") ms"
verdict "tip overhead p99 <= 10 ms" "$(le "$(v tip_p99_us)" 10000)" "$(ms "$(v tip_p99_us)") ms"
verdict "server CPU <= 20 % of one core" "$(le "$CPU" 0.20)" "$CPU_PERCENT %"
CLEAN=1
[[ $(v status) == ok && $(v tips_rules) == 0 && $(v ticks_without_tip) == 0 && $(v calls_active) == "$CALLS" &&
    $(v ended) == "$(v ends_expected)" && $(v summaries_rules) == 0 && $(v tips) != 0 ]] || CLEAN=0
verdict "clean run" "$CLEAN" "status $(v status), rule tips $(v tips_rules), ticks without a tip $(v ticks_without_tip), rule summaries $(v summaries_rules)"
exit "$FAILED"
