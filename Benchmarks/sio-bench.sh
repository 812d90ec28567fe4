#!/usr/bin/env bash
# sio-bench.sh - Socket.IO benchmarks, our bench-server and python-socketio side by side in one run.
#
# Benchmarks (all over the WebSocket transport, the same C load generator for both servers):
#   echo100x10  acked `echo` events/s, 100 connections x 10 in flight      target >= 500,000/s
#   echo1000x1  acked `echo` events/s, 1,000 connections x 1 in flight     target >= 150,000/s
#   bcast       `bcast` deliveries/s to 1,000 clients in room r            target >= 400,000/s
#   handshake   WebSocket + Engine.IO open + Socket.IO connect/s, each     target >= 20,000/s
#               connection then reset (no TIME_WAIT, no closing handshake)
#   handshake-graceful  the same, closed with the WebSocket closing handshake (not in the default list)
#   idle        VmRSS growth per idle joined connection at 10,000           target <= 3 KiB
# Each (repetition, benchmark, server) gets a fresh server process pinned to CPU 0 (ours with
# --loops 1), with loadgen pinned to CPU 1; the tables show medians over the repetitions and the
# ratio ours / python-socketio. See Benchmarks/README.md for the columns and flags.
#
# usage: Benchmarks/sio-bench.sh [--duration S] [--warmup S] [--reps N] [--size N] [--servers LIST]
#                                [--benchmarks LIST] [--idle-conns N] [--bcast-senders K]
#                                [--bcast-window W] [--handshake-concurrency C] [--scratch-path DIR]
#                                [--no-build] [--server-cpu N] [--loadgen-cpu N] [--wait-quiet S]
#   --servers LIST: comma-separated from ours,python (default both)
#   --benchmarks LIST: comma-separated from echo100x10,echo1000x1,bcast,handshake,handshake-graceful,idle
#   (default all but handshake-graceful)
#   --wait-quiet S: before each run, wait up to S seconds (default 120) for both CPUs to be under
#   10% busy, for shared machines where other builds and tests come and go.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH=$ROOT/Benchmarks
# shellcheck source=loadgen/lib.sh
source "$BENCH/loadgen/lib.sh"

DURATION=10
WARMUP=2
REPS=3
SIZE=200
SERVERS=ours,python
BENCHMARKS=echo100x10,echo1000x1,bcast,handshake,idle
IDLE_CONNS=10000
BCAST_SENDERS=4
BCAST_WINDOW=8
HANDSHAKE_CONCURRENCY=32
SCRATCH=.build
BUILD=1
SERVER_CPU=0
LOADGEN_CPU=1
WAIT_QUIET=120
SETTLE=2

while (($#)); do
    case $1 in
    --duration) DURATION=$2; shift 2 ;;
    --warmup) WARMUP=$2; shift 2 ;;
    --reps) REPS=$2; shift 2 ;;
    --size) SIZE=$2; shift 2 ;;
    --servers) SERVERS=$2; shift 2 ;;
    --benchmarks) BENCHMARKS=$2; shift 2 ;;
    --idle-conns) IDLE_CONNS=$2; shift 2 ;;
    --bcast-senders) BCAST_SENDERS=$2; shift 2 ;;
    --bcast-window) BCAST_WINDOW=$2; shift 2 ;;
    --handshake-concurrency) HANDSHAKE_CONCURRENCY=$2; shift 2 ;;
    --scratch-path) SCRATCH=$2; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    --server-cpu) SERVER_CPU=$2; shift 2 ;;
    --loadgen-cpu) LOADGEN_CPU=$2; shift 2 ;;
    --wait-quiet) WAIT_QUIET=$2; shift 2 ;;
    -h | --help) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "sio-bench.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done
IFS=, read -r -a SERVER_LIST <<<"$SERVERS"
IFS=, read -r -a BENCHMARK_LIST <<<"$BENCHMARKS"
for name in "${SERVER_LIST[@]}"; do
    [[ $name == ours || $name == python ]] || { echo "sio-bench.sh: unknown server $name" >&2; exit 2; }
done
for name in "${BENCHMARK_LIST[@]}"; do
    [[ $name =~ ^(echo100x10|echo1000x1|bcast|handshake|handshake-graceful|idle)$ ]] ||
        { echo "sio-bench.sh: unknown benchmark $name" >&2; exit 2; }
done

# --- Limits: the idle benchmark holds IDLE_CONNS sockets in each process ---------------------
raise_fd_limit $((IDLE_CONNS + 1256)) sio-bench.sh

WORK=$(mktemp -d /tmp/sio-bench.XXXXXX)
SERVER_PID=
LOADGEN_PID=
trap 'stop_pid "$LOADGEN_PID"; stop_pid "$SERVER_PID"' EXIT
LOG=$WORK/runs.log
echo "sio-bench: logs in $WORK"

# --- Build -------------------------------------------------------------------------------------
make -s -C "$BENCH/loadgen" >/dev/null
LOADGEN=$BENCH/loadgen/build/loadgen
OURS=
OURS_PROBLEM=
if [[ ,$SERVERS, == *,ours,* ]]; then
    ((BUILD)) && echo "sio-bench: building bench-server (release, scratch path $SCRATCH)"
    release_binary bench-server "$SCRATCH" "$BUILD" "$WORK/build.log"
    OURS=$BINARY
    OURS_PROBLEM=$BINARY_PROBLEM
fi
if [[ ,$SERVERS, == *,python,* ]] && ! python3 -c 'import socketio, uvicorn' 2>/dev/null; then
    echo "sio-bench: the python peer needs: python3 -m pip install python-socketio uvicorn" >&2
    exit 1
fi
PYTHON_VERSIONS=$(python3 -c 'import importlib.metadata as m, platform; print("python %s, python-socketio %s, python-engineio %s, uvicorn %s" % (platform.python_version(), m.version("python-socketio"), m.version("python-engineio"), m.version("uvicorn")))' 2>/dev/null || echo "python versions unknown")

# start_named NAME PORT: starts server NAME pinned to SERVER_CPU; sets SERVER_PID (empty if it
# cannot be started) and waits until it accepts connections.
start_named() {
    local name=$1 port=$2
    local command=()
    case $name in
    ours) [[ -n $OURS ]] && command=("$OURS" --port "$port" --loops 1) ;;
    python) command=(python3 "$BENCH/peers/socketio_app.py" --port "$port") ;;
    esac
    SERVER_PID=
    ((${#command[@]})) || return 1
    taskset -c "$SERVER_CPU" "${command[@]}" >>"$WORK/$name.server.log" 2>&1 &
    SERVER_PID=$!
    wait_port "$port" "$SERVER_PID" 20
}

# loadgen_arguments BENCHMARK: the loadgen mode and flags for one throughput benchmark.
loadgen_arguments() {
    case $1 in
    echo100x10) echo sio-echo --conns 100 --inflight 10 --size "$SIZE" ;;
    echo1000x1) echo sio-echo --conns 1000 --inflight 1 --size "$SIZE" ;;
    bcast) echo sio-bcast --conns 1000 --senders "$BCAST_SENDERS" --inflight "$BCAST_WINDOW" --size "$SIZE" ;;
    handshake) echo sio-handshake --concurrency "$HANDSHAKE_CONCURRENCY" --close reset ;;
    handshake-graceful) echo sio-handshake --concurrency "$HANDSHAKE_CONCURRENCY" --close graceful ;;
    esac
}

RESULTS=$WORK/results.tsv
IDLE_RESULTS=$WORK/idle.tsv
: >"$RESULTS"
: >"$IDLE_RESULTS"
declare -A PROBLEM
QUIET_WAITS=0
NOISY_STARTS=0
TIME_LIMIT=$(awk -v d="$DURATION" -v w="$WARMUP" 'BEGIN { printf "%d", d + w + 180 }')

# run_throughput BENCHMARK NAME REP: one measured run; appends a row to results.tsv.
run_throughput() {
    local benchmark=$1 name=$2 rep=$3 port line alive status
    port=$(free_port)
    if ! start_named "$name" "$port"; then
        PROBLEM[$benchmark.$name]="did not listen on port $port within 20 s (see $WORK/$name.server.log)"
        stop_pid "$SERVER_PID"
        SERVER_PID=
        return
    fi
    echo "sio-bench: rep $rep/$REPS $benchmark $name (pid $SERVER_PID, port $port)"
    # shellcheck disable=SC2046 # word splitting of the argument list is intended
    line=$(timeout "$TIME_LIMIT" taskset -c "$LOADGEN_CPU" "$LOADGEN" $(loadgen_arguments "$benchmark") --port "$port" \
        --duration "$DURATION" --warmup "$WARMUP" --server-pid "$SERVER_PID" --server-cpu "$SERVER_CPU" \
        </dev/null 2>>"$WORK/$benchmark.$name.loadgen.log" | tail -n 1) || true
    alive=yes
    kill -0 "$SERVER_PID" 2>/dev/null || alive=no
    stop_pid "$SERVER_PID"
    SERVER_PID=
    echo "$benchmark $name rep=$rep server_alive=$alive $line" >>"$LOG"
    if [[ -z $line ]]; then
        PROBLEM[$benchmark.$name]="loadgen printed nothing (see $WORK/$benchmark.$name.loadgen.log)"
        return
    fi
    status=$(kv status "$line")
    [[ $alive == no ]] && status="server-died"
    # Columns: 1 benchmark, 2 server, 3 rep, 4 rate, 5 server CPU-s, 6 rate per server CPU-s,
    # 7 loadgen CPU utilisation, 8 loadgen core busy, 9 p50, 10 p99, 11 status, 12 server CPU
    # utilisation, 13 server core busy.
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$benchmark" "$name" "$rep" \
        "$(kv msgs_per_sec "$line")" "$(kv server_cpu_seconds "$line")" "$(kv msgs_per_server_cpu_sec "$line")" \
        "$(kv client_cpu_util "$line")" "$(kv core_busy "$line")" "$(kv p50_us "$line")" "$(kv p99_us "$line")" \
        "$status" "$(kv server_cpu_util "$line")" "$(kv server_core_busy "$line")" >>"$RESULTS"
}

# run_idle NAME REP: VmRSS before and after IDLE_CONNS joined idle connections; appends to idle.tsv.
run_idle() {
    local name=$1 rep=$2 port rss_before rss_after fds ready fifo out waited hold summary alive per
    port=$(free_port)
    if ! start_named "$name" "$port"; then
        PROBLEM[idle.$name]="did not listen on port $port within 20 s (see $WORK/$name.server.log)"
        stop_pid "$SERVER_PID"
        SERVER_PID=
        return
    fi
    # A few short-lived sessions first, so one-time lazy set-up (imports, first namespace join)
    # lands in the baseline rather than in the per-connection figure.
    timeout 60 taskset -c "$LOADGEN_CPU" "$LOADGEN" sio-idle --port "$port" --conns 10 --hold 0 \
        </dev/null >>"$WORK/idle.$name.warmup.log" 2>&1 || true
    sleep 1
    rss_before=$(rss_kib "$SERVER_PID")
    echo "sio-bench: rep $rep/$REPS idle $name (pid $SERVER_PID, port $port): baseline VmRSS ${rss_before} KiB"
    # loadgen holds the connections until its stdin (this FIFO) closes, or 600 s at most.
    fifo=$WORK/hold.$name.$rep
    out=$WORK/idle.$name.$rep.out
    mkfifo "$fifo"
    taskset -c "$LOADGEN_CPU" "$LOADGEN" sio-idle --port "$port" --conns "$IDLE_CONNS" --hold 600 \
        <"$fifo" >"$out" 2>>"$WORK/idle.$name.loadgen.log" &
    LOADGEN_PID=$!
    exec {hold}>"$fifo"
    waited=0
    while ! grep -q '^READY' "$out" && kill -0 "$LOADGEN_PID" 2>/dev/null && ((waited < 1800)); do
        sleep 0.1
        waited=$((waited + 1))
    done
    ready=$(sed -n 's/^READY //p' "$out")
    rss_after=
    fds=
    if [[ -n $ready ]]; then
        sleep "$SETTLE"
        rss_after=$(rss_kib "$SERVER_PID")
        fds=$(ls "/proc/$SERVER_PID/fd" 2>/dev/null | wc -l)
    fi
    exec {hold}>&-
    wait "$LOADGEN_PID" || true
    LOADGEN_PID=
    summary=$(tail -n 1 "$out")
    alive=yes
    kill -0 "$SERVER_PID" 2>/dev/null || alive=no
    stop_pid "$SERVER_PID"
    SERVER_PID=
    echo "idle $name rep=$rep rss_before=$rss_before rss_after=$rss_after server_fds=$fds server_alive=$alive $summary" >>"$LOG"
    if [[ -z $ready || -z $rss_after || ${ready:-0} -eq 0 ]]; then
        PROBLEM[idle.$name]="no measurement (READY=${ready:-none}, server alive=$alive; see $LOG)"
        return
    fi
    per=$(awk -v a="$rss_after" -v b="$rss_before" -v n="$ready" 'BEGIN { printf "%.2f", (a - b) / n }')
    # Columns: 1 server, 2 rep, 3 ready, 4 rss before, 5 rss after, 6 KiB/conn, 7 server fds,
    # 8 loadgen status/open at end, 9 connect seconds.
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$rep" "$ready" "$rss_before" "$rss_after" "$per" "$fds" \
        "$(kv status "$summary")/open=$(kv open_at_end "$summary")" "$(kv connect_seconds "$summary")" >>"$IDLE_RESULTS"
}

for ((rep = 1; rep <= REPS; rep++)); do
    for benchmark in "${BENCHMARK_LIST[@]}"; do
        for name in "${SERVER_LIST[@]}"; do
            if [[ $name == ours && -z $OURS ]]; then
                PROBLEM[$benchmark.$name]=${OURS_PROBLEM:-unavailable}
                continue
            fi
            QUIET_WAITS=$((QUIET_WAITS + 1))
            wait_quiet "$WAIT_QUIET" "$SERVER_CPU" "$LOADGEN_CPU" || NOISY_STARTS=$((NOISY_STARTS + 1))
            if [[ $benchmark == idle ]]; then
                run_idle "$name" "$rep"
            else
                run_throughput "$benchmark" "$name" "$rep"
            fi
        done
    done
done

# --- Tables ----------------------------------------------------------------------------------------

# column BENCHMARK NAME FIELD: the median of a results.tsv column for one benchmark and server.
column() {
    awk -F'\t' -v b="$1" -v n="$2" -v f="$3" '$1 == b && $2 == n && $f != "" && $f != "na" { print $f }' "$RESULTS" | median
}
idle_column() {
    awk -F'\t' -v n="$1" -v f="$2" '$1 == n && $f != "" { print $f }' "$IDLE_RESULTS" | median
}

declare -A TARGET=([echo100x10]=500000 [echo1000x1]=150000 [bcast]=400000 [handshake]=20000
    [handshake-graceful]=20000)
declare -A UNIT=([echo100x10]="acked events/s" [echo1000x1]="acked events/s" [bcast]="deliveries/s"
    [handshake]="handshakes/s" [handshake-graceful]="handshakes/s")
declare -A SUMMARY_OURS SUMMARY_PYTHON SUMMARY_FLAGS

echo
echo "Socket.IO benchmarks, ${DURATION}s measured after ${WARMUP}s warm-up, $SIZE-byte payloads, median of $REPS;" \
    "server on CPU $SERVER_CPU (ours: one loop), loadgen on CPU $LOADGEN_CPU"
echo "$(date -u '+%Y-%m-%d %H:%M UTC'); $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //');" \
    "kernel $(uname -r); $PYTHON_VERSIONS"
echo "quiet-machine waits: $((QUIET_WAITS - NOISY_STARTS)) of $QUIET_WAITS runs started with both CPUs under 10% busy"
printf '%-18s %-7s %10s %9s %13s %7s %7s %7s %7s %9s %9s %8s  %s\n' benchmark server rate srv-CPU-s rate/srv-CPU-s \
    srv-CPU core$SERVER_CPU lg-CPU core$LOADGEN_CPU p50-us p99-us xpython flags
for benchmark in "${BENCHMARK_LIST[@]}"; do
    [[ $benchmark == idle ]] && continue
    python_rate=$(column "$benchmark" python 4)
    for name in "${SERVER_LIST[@]}"; do
        rate=$(column "$benchmark" "$name" 4)
        if [[ -z $rate ]]; then
            printf '%-18s %-7s %s\n' "$benchmark" "$name" "not measured: ${PROBLEM[$benchmark.$name]:-no result}"
            continue
        fi
        flags=
        util=$(column "$benchmark" "$name" 7)
        core=$(column "$benchmark" "$name" 8)
        server_util=$(column "$benchmark" "$name" 12)
        server_core=$(column "$benchmark" "$name" 13)
        # Per run, then counted: loadgen's getrusage includes the loopback softirq work it
        # triggers (no IRQ time accounting on this kernel), so its own utilisation is the
        # bottleneck test; a core much busier than the process pinned to it means something else
        # was running there.
        read -r runs bound contended < <(awk -F'\t' -v b="$benchmark" -v n="$name" '
            $1 == b && $2 == n { runs++
                if ($7 + 0 > 0.90) bound++
                if (($8 != "na" && $8 - $7 > 0.15) || ($13 != "" && $13 - $12 > 0.15)) contended++ }
            END { printf "%d %d %d\n", runs, bound, contended }' "$RESULTS")
        ((bound > 0)) && flags="loadgen-bound($bound/$runs)"
        ((contended > 0)) && flags="$flags contended($contended/$runs)"
        bad=$(awk -F'\t' -v b="$benchmark" -v n="$name" '$1 == b && $2 == n && $11 != "ok" { print $11 }' "$RESULTS" |
            sort -u | tr '\n' ' ')
        [[ -n $bad ]] && flags="$flags status:${bad% }"
        ratio=-
        if [[ -n $python_rate ]] && awk -v b="$python_rate" 'BEGIN { exit !(b > 0) }'; then
            ratio=$(awk -v a="$rate" -v b="$python_rate" 'BEGIN { printf "%.1f", a / b }')
        fi
        printf '%-18s %-7s %10.0f %9.2f %13.0f %7.2f %7.2f %7.2f %7.2f %9.0f %9.0f %8s  %s\n' "$benchmark" "$name" \
            "$rate" "$(column "$benchmark" "$name" 5)" "$(column "$benchmark" "$name" 6)" "${server_util:-0}" \
            "${server_core:-0}" "${util:-0}" "${core:-0}" "$(column "$benchmark" "$name" 9)" \
            "$(column "$benchmark" "$name" 10)" "$ratio" "${flags# }"
        [[ $name == ours ]] && SUMMARY_OURS[$benchmark]=$rate
        [[ $name == python ]] && SUMMARY_PYTHON[$benchmark]=$rate
        if [[ -n ${flags# } ]]; then
            flags=${flags# }
            SUMMARY_FLAGS[$benchmark]="${SUMMARY_FLAGS[$benchmark]:-}${SUMMARY_FLAGS[$benchmark]:+ }$name:${flags// /,}"
        fi
    done
done

if [[ ,$BENCHMARKS, == *,idle,* ]]; then
    echo
    echo "Idle joined Socket.IO connections: $IDLE_CONNS per server, VmRSS after READY + ${SETTLE}s settle minus" \
        "VmRSS after 10 warm-up sessions, median of $REPS"
    printf '%-7s %7s %11s %11s %9s %8s %9s  %s\n' server ready rss0-MiB rss1-MiB KiB/conn srv-fds connect-s "loadgen end"
    for name in "${SERVER_LIST[@]}"; do
        per=$(idle_column "$name" 6)
        if [[ -z $per ]]; then
            printf '%-7s %s\n' "$name" "not measured: ${PROBLEM[idle.$name]:-no result}"
            continue
        fi
        status=$(awk -F'\t' -v n="$name" '$1 == n { print $8 }' "$IDLE_RESULTS" | sort -u | tr '\n' ' ')
        printf '%-7s %7s %11.1f %11.1f %9.2f %8s %9.2f  %s\n' "$name" "$(idle_column "$name" 3)" \
            "$(awk -v k="$(idle_column "$name" 4)" 'BEGIN { print k / 1024 }')" \
            "$(awk -v k="$(idle_column "$name" 5)" 'BEGIN { print k / 1024 }')" "$per" "$(idle_column "$name" 7)" \
            "$(idle_column "$name" 9)" "${status% }"
        [[ $name == ours ]] && SUMMARY_OURS[idle]=$per
        [[ $name == python ]] && SUMMARY_PYTHON[idle]=$per
    done
fi

# The issue's figures in one place: ours, python-socketio, the ratio, and the target.
echo
echo "Summary (ratio = ours / python-socketio; for idle memory, python-socketio / ours, so higher is better for ours too)"
printf '%-18s %-15s %12s %12s %8s %12s %-6s  %s\n' benchmark unit ours python ratio target met flags
for benchmark in "${BENCHMARK_LIST[@]}"; do
    ours=${SUMMARY_OURS[$benchmark]:-}
    python=${SUMMARY_PYTHON[$benchmark]:-}
    ratio=-
    met=-
    if [[ $benchmark == idle ]]; then
        unit="KiB/conn"
        target="<= 3"
        [[ -n $ours && -n $python ]] && ratio=$(awk -v a="$python" -v b="$ours" 'BEGIN { if (b > 0) printf "%.1f", a / b; else print "-" }')
        [[ -n $ours ]] && met=$(awk -v a="$ours" 'BEGIN { print (a <= 3 ? "yes" : "NO") }')
    else
        unit=${UNIT[$benchmark]}
        target=">= ${TARGET[$benchmark]}"
        [[ -n $ours && -n $python ]] && ratio=$(awk -v a="$ours" -v b="$python" 'BEGIN { if (b > 0) printf "%.1f", a / b; else print "-" }')
        [[ -n $ours ]] && met=$(awk -v a="$ours" -v t="${TARGET[$benchmark]}" 'BEGIN { print (a >= t ? "yes" : "NO") }')
    fi
    format='%.0f'
    [[ $benchmark == idle ]] && format='%.2f'
    [[ -n $ours ]] && ours=$(awk -v v="$ours" -v f="$format" 'BEGIN { printf f, v }')
    [[ -n $python ]] && python=$(awk -v v="$python" -v f="$format" 'BEGIN { printf f, v }')
    printf '%-18s %-15s %12s %12s %8s %12s %-6s  %s\n' "$benchmark" "$unit" "${ours:--}" "${python:--}" "$ratio" \
        "$target" "$met" "${SUMMARY_FLAGS[$benchmark]:-}"
done
for benchmark in echo100x10 echo1000x1; do
    if [[ ,$BENCHMARKS, == *,$benchmark,* && -n ${SUMMARY_OURS[$benchmark]:-} ]]; then
        echo "ours, $benchmark: $(awk -v v="$(column "$benchmark" ours 6)" 'BEGIN { printf "%.0f", v }') acked events" \
            "per server CPU-second (project goal >= 1,000,000)"
    fi
done
echo
echo "per-run lines: $LOG"
