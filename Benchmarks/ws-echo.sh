#!/usr/bin/env bash
# ws-echo.sh - WebSocket echo throughput, servers side by side in one run.
#
# Each server under test runs pinned to CPU 0 with one event loop; the load generator runs
# pinned to CPU 1 and keeps CONNS x INFLIGHT messages of SIZE bytes outstanding. Every
# (repetition, server) pair gets a fresh server process; the table shows medians over the
# repetitions. See Benchmarks/README.md for what each column means.
#
# usage: Benchmarks/ws-echo.sh [--duration S] [--warmup S] [--reps N] [--conns N] [--inflight N]
#                              [--size N] [--servers LIST] [--scratch-path DIR] [--no-build]
#                              [--server-cpu N] [--loadgen-cpu N] [--wait-quiet S]
#   --wait-quiet S: before each run, wait up to S seconds (default 120) for both CPUs to be
#   under 10% busy, for shared machines where other builds and tests come and go.
#   LIST is comma-separated, from: ours-plain ours-tls python python-tls c-echo c-echo-tls
#   (default ours-plain,ours-tls,python,c-echo). c-echo* are the calibration peer.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH=$ROOT/Benchmarks
# shellcheck source=loadgen/lib.sh
source "$BENCH/loadgen/lib.sh"

DURATION=10
WARMUP=2
REPS=3
CONNS=100
INFLIGHT=10
SIZE=200
SERVERS=ours-plain,ours-tls,python,c-echo
SCRATCH=.build
BUILD=1
SERVER_CPU=0
LOADGEN_CPU=1
WAIT_QUIET=120

while (($#)); do
    case $1 in
    --duration) DURATION=$2; shift 2 ;;
    --warmup) WARMUP=$2; shift 2 ;;
    --reps) REPS=$2; shift 2 ;;
    --conns) CONNS=$2; shift 2 ;;
    --inflight) INFLIGHT=$2; shift 2 ;;
    --size) SIZE=$2; shift 2 ;;
    --servers) SERVERS=$2; shift 2 ;;
    --scratch-path) SCRATCH=$2; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    --server-cpu) SERVER_CPU=$2; shift 2 ;;
    --loadgen-cpu) LOADGEN_CPU=$2; shift 2 ;;
    --wait-quiet) WAIT_QUIET=$2; shift 2 ;;
    -h | --help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "ws-echo.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done
IFS=, read -r -a SERVER_LIST <<<"$SERVERS"

WORK=$(mktemp -d /tmp/ws-echo.XXXXXX)
SERVER_PID=
trap 'stop_pid "$SERVER_PID"' EXIT
LOG=$WORK/runs.log
echo "ws-echo: logs in $WORK"

# --- Build -------------------------------------------------------------------------------------
make -s -C "$BENCH/loadgen" >/dev/null
make -s -C "$BENCH/peers" >/dev/null
LOADGEN=$BENCH/loadgen/build/loadgen
OURS=
OURS_PROBLEM=
if [[ ,$SERVERS, == *,ours-* ]]; then
    ((BUILD)) && echo "ws-echo: building bench-server (release, scratch path $SCRATCH)"
    release_binary bench-server "$SCRATCH" "$BUILD" "$WORK/build.log"
    OURS=$BINARY
    OURS_PROBLEM=$BINARY_PROBLEM
fi
if [[ ,$SERVERS, == *,python* ]] && ! python3 -c 'import websockets' 2>/dev/null; then
    echo "ws-echo: the python peer needs: python3 -m pip install websockets" >&2
    exit 1
fi
make_cert "$WORK/tls"


# --- One run -------------------------------------------------------------------------------------

# start_named NAME PORT: starts server NAME pinned to SERVER_CPU; sets SERVER_PID (empty if it
# cannot be started) and TLS_ARGS (the loadgen flags it needs).
start_named() {
    local name=$1 port=$2
    local cert=(--tls-cert "$WORK/tls/cert.pem" --tls-key "$WORK/tls/key.pem")
    local command=()
    TLS_ARGS=()
    case $name in
    ours-plain) [[ -n $OURS ]] && command=("$OURS" --port "$port" --loops 1) ;;
    ours-tls) [[ -n $OURS ]] && command=("$OURS" --port "$port" --loops 1 "${cert[@]}") ;;
    python) command=(python3 "$BENCH/peers/websockets_echo.py" --port "$port") ;;
    python-tls) command=(python3 "$BENCH/peers/websockets_echo.py" --port "$port" "${cert[@]}") ;;
    c-echo) command=("$BENCH/peers/build/c_echo" --port "$port") ;;
    c-echo-tls) command=("$BENCH/peers/build/c_echo" --port "$port" "${cert[@]}") ;;
    *) echo "ws-echo: unknown server $name" >&2; exit 2 ;;
    esac
    [[ $name == *-tls ]] && TLS_ARGS=(--tls --tls-ca "$WORK/tls/ca.pem")
    SERVER_PID=
    ((${#command[@]})) || return 1
    taskset -c "$SERVER_CPU" "${command[@]}" >>"$WORK/$name.server.log" 2>&1 &
    SERVER_PID=$!
    wait_port "$port" "$SERVER_PID" 20
}

RESULTS=$WORK/results.tsv
: >"$RESULTS"
declare -A PROBLEM
TIME_LIMIT=$(awk -v d="$DURATION" -v w="$WARMUP" 'BEGIN { printf "%d", d + w + 150 }')

for ((rep = 1; rep <= REPS; rep++)); do
    for name in "${SERVER_LIST[@]}"; do
        if [[ $name == ours-* && -z $OURS ]]; then
            PROBLEM[$name]=${OURS_PROBLEM:-unavailable}
            continue
        fi
        wait_quiet "$WAIT_QUIET" "$SERVER_CPU" "$LOADGEN_CPU" || true
        port=$(free_port)
        if ! start_named "$name" "$port"; then
            PROBLEM[$name]="did not listen on port $port within 20 s (see $WORK/$name.server.log)"
            stop_pid "$SERVER_PID"
            SERVER_PID=
            continue
        fi
        echo "ws-echo: rep $rep/$REPS $name (pid $SERVER_PID, port $port)"
        line=$(timeout "$TIME_LIMIT" taskset -c "$LOADGEN_CPU" "$LOADGEN" ws-echo --port "$port" --conns "$CONNS" \
            --inflight "$INFLIGHT" --size "$SIZE" --duration "$DURATION" --warmup "$WARMUP" \
            --server-pid "$SERVER_PID" --server-cpu "$SERVER_CPU" "${TLS_ARGS[@]}" 2>>"$WORK/$name.loadgen.log" | tail -n 1) || true
        alive=yes
        kill -0 "$SERVER_PID" 2>/dev/null || alive=no
        stop_pid "$SERVER_PID"
        SERVER_PID=
        echo "$name rep=$rep server_alive=$alive $line" >>"$LOG"
        if [[ -z $line ]]; then
            PROBLEM[$name]="loadgen printed nothing (see $WORK/$name.loadgen.log)"
            continue
        fi
        status=$(kv status "$line")
        [[ $alive == no ]] && status="server-died"
        # Columns: 1 name, 2 rep, 3 msgs/s, 4 server CPU-s, 5 msgs per server CPU-s, 6 loadgen CPU
        # utilisation, 7 loadgen core busy, 8 p50, 9 p99, 10 status, 11 server CPU utilisation,
        # 12 server core busy.
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$rep" "$(kv msgs_per_sec "$line")" \
            "$(kv server_cpu_seconds "$line")" "$(kv msgs_per_server_cpu_sec "$line")" \
            "$(kv client_cpu_util "$line")" "$(kv core_busy "$line")" "$(kv p50_us "$line")" \
            "$(kv p99_us "$line")" "$status" "$(kv server_cpu_util "$line")" "$(kv server_core_busy "$line")" >>"$RESULTS"
    done
done

# --- Table -----------------------------------------------------------------------------------------

# column NAME FIELD: the median of a results.tsv column for one server.
column() {
    awk -F'\t' -v n="$1" -v f="$2" '$1 == n && $f != "" && $f != "na" { print $f }' "$RESULTS" | median
}

declare -A RATE
BEST_PEER=0
BEST_PEER_NAME=
for name in "${SERVER_LIST[@]}"; do
    RATE[$name]=$(column "$name" 3)
    if [[ $name != ours-* && $name != c-echo* && -n ${RATE[$name]} ]]; then
        if awk -v a="${RATE[$name]}" -v b="$BEST_PEER" 'BEGIN { exit !(a > b) }'; then
            BEST_PEER=${RATE[$name]}
            BEST_PEER_NAME=$name
        fi
    fi
done

echo
echo "WebSocket echo: $CONNS connections x $INFLIGHT in flight, $SIZE-byte text messages, ${DURATION}s measured" \
    "after ${WARMUP}s warm-up, median of $REPS"
echo "server on CPU $SERVER_CPU (one loop), loadgen on CPU $LOADGEN_CPU; $(date -u '+%Y-%m-%d %H:%M UTC');" \
    "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); kernel $(uname -r)"
printf '%-12s %10s %9s %14s %7s %7s %7s %7s %8s %8s %8s  %s\n' server msgs/s srv-CPU-s msgs/srv-CPU-s srv-CPU \
    core$SERVER_CPU lg-CPU core$LOADGEN_CPU p50-us p99-us "x${BEST_PEER_NAME:-peer}" flags
for name in "${SERVER_LIST[@]}"; do
    if [[ -z ${RATE[$name]} ]]; then
        printf '%-12s %s\n' "$name" "not measured: ${PROBLEM[$name]:-no result}"
        continue
    fi
    flags=
    util=$(column "$name" 6)
    core=$(column "$name" 7)
    server_util=$(column "$name" 11)
    server_core=$(column "$name" 12)
    # loadgen's getrusage includes the loopback softirq work it triggers (no IRQ time accounting
    # on this kernel), so its own utilisation is the bottleneck test; a core much busier than the
    # process pinned to it means something else was running there.
    if awk -v u="${util:-0}" 'BEGIN { exit !(u > 0.90) }'; then
        flags="loadgen-bound"
    fi
    if awk -v u="${util:-0}" -v c="${core:-0}" -v su="${server_util:-0}" -v sc="${server_core:-0}" \
        'BEGIN { exit !((c != "" && c - u > 0.15) || (sc != "" && sc - su > 0.15)) }'; then
        flags="$flags contended"
    fi
    bad=$(awk -F'\t' -v n="$name" '$1 == n && $10 != "ok" { print $10 }' "$RESULTS" | sort -u | tr '\n' ' ')
    [[ -n $bad ]] && flags="$flags status:${bad% }"
    [[ $name == c-echo* ]] && flags="$flags calibration"
    ratio=-
    if awk -v b="$BEST_PEER" 'BEGIN { exit !(b > 0) }'; then
        ratio=$(awk -v a="${RATE[$name]}" -v b="$BEST_PEER" 'BEGIN { printf "%.2f", a / b }')
    fi
    printf '%-12s %10.0f %9.2f %14.0f %7.2f %7.2f %7.2f %7.2f %8.0f %8.0f %8s  %s\n' "$name" "${RATE[$name]}" \
        "$(column "$name" 4)" "$(column "$name" 5)" "${server_util:-0}" "${server_core:-0}" "${util:-0}" \
        "${core:-0}" "$(column "$name" 8)" "$(column "$name" 9)" "$ratio" "${flags# }"
done
echo
echo "per-run lines: $LOG"
