#!/usr/bin/env bash
# ws-idle.sh - resident memory per idle WebSocket connection, servers side by side.
#
# For each server: start it pinned to CPU 0, open and close 10 warm-up connections, read VmRSS,
# open CONNS idle WebSocket connections with `loadgen ws-idle` pinned to CPU 1, wait for READY
# plus a settle time, read VmRSS again, and report (after - before) / connections. The server is a fresh process for every run.
#
# usage: Benchmarks/ws-idle.sh [--conns N] [--settle S] [--reps N] [--servers LIST]
#                              [--scratch-path DIR] [--no-build] [--server-cpu N] [--loadgen-cpu N]
#                              [--wait-quiet S]
#   --wait-quiet S: before each run, wait up to S seconds (default 120) for both CPUs to be quiet.
#   LIST is comma-separated, from: ours-plain ours-tls python python-tls
#   (default: all four). Targets: <= 2 KiB (plain) and <= 12 KiB (TLS) per connection for ours.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH=$ROOT/Benchmarks
# shellcheck source=loadgen/lib.sh
source "$BENCH/loadgen/lib.sh"

CONNS=10000
SETTLE=2
REPS=1
SERVERS=ours-plain,ours-tls,python,python-tls
SCRATCH=.build
BUILD=1
SERVER_CPU=0
LOADGEN_CPU=1
WAIT_QUIET=120

while (($#)); do
    case $1 in
    --conns) CONNS=$2; shift 2 ;;
    --settle) SETTLE=$2; shift 2 ;;
    --reps) REPS=$2; shift 2 ;;
    --servers) SERVERS=$2; shift 2 ;;
    --scratch-path) SCRATCH=$2; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    --server-cpu) SERVER_CPU=$2; shift 2 ;;
    --loadgen-cpu) LOADGEN_CPU=$2; shift 2 ;;
    --wait-quiet) WAIT_QUIET=$2; shift 2 ;;
    -h | --help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "ws-idle.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done
IFS=, read -r -a SERVER_LIST <<<"$SERVERS"

# --- Limits: both processes hold CONNS sockets, and each client socket needs a local port ----
raise_fd_limit $((CONNS + 256)) ws-idle.sh
read -r PORT_LOW PORT_HIGH </proc/sys/net/ipv4/ip_local_port_range
if ((PORT_HIGH - PORT_LOW + 1 < CONNS)); then
    echo "ws-idle.sh: ephemeral port range $PORT_LOW-$PORT_HIGH is smaller than $CONNS connections" \
        "(sysctl net.ipv4.ip_local_port_range)" >&2
    exit 1
fi

WORK=$(mktemp -d /tmp/ws-idle.XXXXXX)
SERVER_PID=
LOADGEN_PID=
trap 'stop_pid "$LOADGEN_PID"; stop_pid "$SERVER_PID"' EXIT
LOG=$WORK/runs.log
echo "ws-idle: logs in $WORK"

# --- Build -----------------------------------------------------------------------------------------
make -s -C "$BENCH/loadgen" >/dev/null
LOADGEN=$BENCH/loadgen/build/loadgen
OURS=
OURS_PROBLEM=
if [[ ,$SERVERS, == *,ours-* ]]; then
    ((BUILD)) && echo "ws-idle: building bench-server (release, scratch path $SCRATCH)"
    release_binary bench-server "$SCRATCH" "$BUILD" "$WORK/build.log"
    OURS=$BINARY
    OURS_PROBLEM=$BINARY_PROBLEM
fi
if [[ ,$SERVERS, == *,python* ]] && ! python3 -c 'import websockets' 2>/dev/null; then
    echo "ws-idle: the python peer needs: python3 -m pip install websockets" >&2
    exit 1
fi
make_cert "$WORK/tls"

# start_named NAME PORT: as in ws-echo.sh; sets SERVER_PID and TLS_ARGS.
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
    *) echo "ws-idle: unknown server $name" >&2; exit 2 ;;
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
        # A few short-lived connections first, so one-time lazy set-up (library state, first TLS
        # handshake, imports) lands in the baseline rather than in the per-connection figure.
        timeout 60 taskset -c "$LOADGEN_CPU" "$LOADGEN" ws-idle --port "$port" --conns 10 --hold 0 "${TLS_ARGS[@]}" \
            </dev/null >>"$WORK/$name.warmup.log" 2>&1 || true
        sleep 1
        rss_before=$(rss_kib "$SERVER_PID")
        echo "ws-idle: rep $rep/$REPS $name (pid $SERVER_PID, port $port): baseline VmRSS ${rss_before} KiB"

        # loadgen holds the connections until its stdin (this FIFO) closes, or 600 s at most.
        fifo=$WORK/hold.$name.$rep
        out=$WORK/$name.$rep.out
        mkfifo "$fifo"
        taskset -c "$LOADGEN_CPU" "$LOADGEN" ws-idle --port "$port" --conns "$CONNS" --hold 600 \
            "${TLS_ARGS[@]}" <"$fifo" >"$out" 2>>"$WORK/$name.loadgen.log" &
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
        echo "$name rep=$rep rss_before=$rss_before rss_after=$rss_after server_fds=$fds server_alive=$alive $summary" >>"$LOG"
        if [[ -z $ready || -z $rss_after || ${ready:-0} -eq 0 ]]; then
            PROBLEM[$name]="no measurement (READY=${ready:-none}, server alive=$alive; see $LOG)"
            continue
        fi
        per=$(awk -v a="$rss_after" -v b="$rss_before" -v n="$ready" 'BEGIN { printf "%.2f", (a - b) / n }')
        # Columns: 1 name, 2 rep, 3 ready, 4 rss before, 5 rss after, 6 KiB/conn, 7 server fds,
        # 8 loadgen status (connections still open at the end of the hold), 9 server alive.
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$rep" "$ready" "$rss_before" "$rss_after" "$per" \
            "$fds" "$(kv status "$summary")/open=$(kv open_at_end "$summary")" "$alive" >>"$RESULTS"
    done
done

column() {
    awk -F'\t' -v n="$1" -v f="$2" '$1 == n && $f != "" { print $f }' "$RESULTS" | median
}

echo
echo "Idle WebSocket connections: $CONNS per server, VmRSS after READY + ${SETTLE}s settle minus VmRSS at start," \
    "median of $REPS"
echo "server on CPU $SERVER_CPU, loadgen on CPU $LOADGEN_CPU; $(date -u '+%Y-%m-%d %H:%M UTC');" \
    "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); kernel $(uname -r)"
printf '%-12s %7s %11s %11s %9s %8s %8s  %s\n' server ready rss0-MiB rss1-MiB KiB/conn target srv-fds "loadgen end"
for name in "${SERVER_LIST[@]}"; do
    per=$(column "$name" 6)
    if [[ -z $per ]]; then
        printf '%-12s %s\n' "$name" "not measured: ${PROBLEM[$name]:-no result}"
        continue
    fi
    target=-
    verdict=
    if [[ $name == ours-* ]]; then
        target=$([[ $name == *-tls ]] && echo 12 || echo 2)
        verdict=$(awk -v p="$per" -v t="$target" 'BEGIN { print (p <= t ? "meets target" : "OVER target") }')
        target="<=$target"
    fi
    status=$(awk -F'\t' -v n="$name" '$1 == n { print $8 }' "$RESULTS" | sort -u | tr '\n' ' ')
    printf '%-12s %7s %11.1f %11.1f %9.2f %8s %8s  %s %s\n' "$name" "$(column "$name" 3)" \
        "$(awk -v k="$(column "$name" 4)" 'BEGIN { print k / 1024 }')" \
        "$(awk -v k="$(column "$name" 5)" 'BEGIN { print k / 1024 }')" "$per" "$target" "$(column "$name" 7)" \
        "${status% }" "$verdict"
done
echo
echo "per-run lines: $LOG"
