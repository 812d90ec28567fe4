#!/usr/bin/env bash
# sio_test.sh - live tests of the load generator's Socket.IO modes (sio-echo, sio-bcast,
# sio-handshake, sio-idle) against our bench-server, the python-socketio peer, and a fault-injecting
# server (sio_fault_server.py) that acks with wrong ids, drops or reorders messages, refuses or
# ignores the namespace connect, pings, or crashes.
#
# Every run is wrapped in `timeout`, and time-sensitive tests check how long loadgen took, so a
# hang is a failure rather than a stuck script. Ends with "N passed, N failed".
#
# usage: sio_test.sh [--bench-server PATH]
#   Our server's tests need the bench-server binary: --bench-server PATH, or $BENCH_SERVER, or the
#   newest .build*/release/bench-server in the repository. Without one they are skipped (and said so).
# Needs: gcc, libssl-dev, openssl, python3 with `websockets`, `python-socketio` and `uvicorn`.
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
PEERS=$HERE/../peers
# shellcheck source=lib.sh
source "$HERE/lib.sh"

BENCH_SERVER=${BENCH_SERVER:-}
while (($#)); do
    case $1 in
    --bench-server) BENCH_SERVER=$2; shift 2 ;;
    -h | --help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "sio_test.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
if [[ -z $BENCH_SERVER ]]; then
    BENCH_SERVER=$(ls -t "$ROOT"/.build*/release/bench-server 2>/dev/null | head -n 1)
fi

make -s -C "$HERE" >/dev/null || { echo "cannot build loadgen"; exit 1; }
python3 -c 'import websockets' 2>/dev/null || { echo "python3 -m pip install websockets"; exit 1; }
python3 -c 'import socketio, uvicorn' 2>/dev/null || { echo "python3 -m pip install python-socketio uvicorn"; exit 1; }

LOADGEN=$HERE/build/loadgen
WORK=$(mktemp -d /tmp/sio-test.XXXXXX)
SERVER_PID=
trap 'stop_pid "$SERVER_PID"; rm -rf "$WORK"' EXIT
make_cert "$WORK/tls" || { echo "cannot make a certificate"; exit 1; }

PASSED=0
FAILED=0
SKIPPED=0
OUT=
RC=0
ELAPSED=0

check() { # check NAME CONDITION-RESULT(0/1) DETAIL
    if [[ $2 == 0 ]]; then
        PASSED=$((PASSED + 1))
        echo "ok   $1"
    else
        FAILED=$((FAILED + 1))
        echo "FAIL $1: $3"
        sed 's/^/     stderr: /' "$WORK/loadgen.err" | head -n 5
    fi
}

skip() { # skip NAME REASON
    SKIPPED=$((SKIPPED + 1))
    echo "skip $1: $2"
}

# start_server KIND ARGS...: starts a server on a fresh port, sets PORT and SERVER_PID.
#   KIND: ours (bench-server), python (python-socketio peer), fault (sio_fault_server.py).
start_server() {
    local kind=$1
    shift
    PORT=$(free_port)
    case $kind in
    ours) "$BENCH_SERVER" --port "$PORT" --loops 1 "$@" >/dev/null 2>"$WORK/server.err" & ;;
    python) python3 "$PEERS/socketio_app.py" --port "$PORT" "$@" 2>"$WORK/server.err" & ;;
    fault) python3 "$HERE/sio_fault_server.py" --port "$PORT" "$@" 2>"$WORK/server.err" & ;;
    esac
    SERVER_PID=$!
    disown "$SERVER_PID" # no "Killed" job notices when a test kills it on purpose
    wait_port "$PORT" "$SERVER_PID" 20 || { echo "server $kind did not start"; cat "$WORK/server.err"; }
}

stop_server() {
    stop_pid "$SERVER_PID"
    SERVER_PID=
}

# run_loadgen LIMIT ARGS...: runs loadgen under `timeout LIMIT`; sets OUT (its key=value line),
# RC and ELAPSED (whole seconds).
run_loadgen() {
    local limit=$1 started
    shift
    started=$(date +%s.%N)
    OUT=$(timeout "$limit" "$LOADGEN" "$@" 2>"$WORK/loadgen.err" </dev/null | tail -n 1)
    RC=${PIPESTATUS[0]}
    ELAPSED=$(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN { printf "%d", b - a + 0.5 }')
}

is() { [[ $1 == "$2" ]] && echo 0 || echo 1; }
positive() { awk -v v="${1:-0}" 'BEGIN { exit !(v > 0) }' && echo 0 || echo 1; }
ok_run() { [[ $RC == 0 && $(kv status "$OUT") == ok ]] && echo 0 || echo 1; }
errors_run() { [[ $RC == 1 && $(kv status "$OUT") == errors ]]; }

# healthy_suite NAME: the four modes against a correct server (PORT, SERVER_PID set).
healthy_suite() {
    local name=$1
    run_loadgen 60 sio-echo --port "$PORT" --conns 20 --inflight 5 --duration 2 --warmup 0.5 --server-pid "$SERVER_PID"
    check "echo_${name}_completes_without_errors" \
        "$([[ $(ok_run) == 0 && $(kv established "$OUT") == 20 && $(positive "$(kv msgs_per_sec "$OUT")") == 0 ]] && echo 0 || echo 1)" "$OUT"
    check "echo_${name}_reports_server_cpu" "$(positive "$(kv server_cpu_seconds "$OUT")")" "$OUT"
    run_loadgen 60 sio-bcast --port "$PORT" --conns 200 --senders 4 --inflight 2 --duration 2 --warmup 0.5
    # No delivery lost is the proof; fanout (deliveries / broadcasts counted in the window) drifts a little above
    # 200 on a slow server, whose deliveries of broadcasts sent just before the window still land inside it.
    check "bcast_${name}_delivers_every_broadcast_to_every_client" \
        "$([[ $(ok_run) == 0 && $(kv deliveries_lost "$OUT") == 0 ]] &&
            awk -v f="$(kv fanout "$OUT")" 'BEGIN { exit !(f >= 199.0 && f <= 204.0) }' && echo 0 || echo 1)" "$OUT"
    run_loadgen 60 sio-handshake --port "$PORT" --concurrency 20 --duration 2 --warmup 0.5
    check "handshake_${name}_completes_and_server_closes_first" \
        "$([[ $(ok_run) == 0 && $(positive "$(kv msgs_per_sec "$OUT")") == 0 && $(kv close_timeouts "$OUT") == 0 ]] && echo 0 || echo 1)" "$OUT"
    run_loadgen 60 sio-idle --port "$PORT" --conns 500 --hold 1
    check "idle_${name}_holds_joined_connections" \
        "$([[ $(ok_run) == 0 && $(kv established "$OUT") == 500 && $(kv open_at_end "$OUT") == 500 ]] && echo 0 || echo 1)" "$OUT"
}

# --- Correct servers: ours and python-socketio ------------------------------------------------
if [[ -n $BENCH_SERVER && -x $BENCH_SERVER ]]; then
    start_server ours
    healthy_suite ours
    run_loadgen 30 sio-echo --port "$PORT" --path "/nope/?EIO=4&transport=websocket" --conns 3 --duration 1
    check "echo_wrong_path_is_handshake_error" \
        "$([[ $RC != 0 && $(kv handshake_errors "$OUT") == 3 && $ELAPSED -le 5 ]] && echo 0 || echo 1)" "$OUT"
    stop_server

    start_server ours --tls-cert "$WORK/tls/cert.pem" --tls-key "$WORK/tls/key.pem"
    run_loadgen 60 sio-echo --port "$PORT" --conns 10 --inflight 5 --duration 1 --warmup 0.5 --tls --tls-ca "$WORK/tls/ca.pem"
    check "echo_ours_tls_verified_completes_without_errors" "$([[ $(ok_run) == 0 && $(kv tls "$OUT") == 1 ]] && echo 0 || echo 1)" "$OUT"
    run_loadgen 60 sio-handshake --port "$PORT" --concurrency 10 --duration 1 --warmup 0 --tls --tls-ca "$WORK/tls/ca.pem"
    check "handshake_ours_tls_completes" "$([[ $(ok_run) == 0 && $(positive "$(kv msgs "$OUT")") == 0 ]] && echo 0 || echo 1)" "$OUT"
    stop_server
else
    skip "ours" "no bench-server binary (pass --bench-server PATH or build it: swift build -c release --product bench-server)"
fi

start_server python
healthy_suite python
run_loadgen 60 sio-bcast --port "$PORT" --conns 20 --senders 2 --rate 50 --duration 2 --warmup 0.5
check "bcast_rate_cap_is_respected" \
    "$([[ $(ok_run) == 0 ]] && awk -v b="$(kv broadcasts "$OUT")" 'BEGIN { exit !(b >= 90 && b <= 110) }' && echo 0 || echo 1)" "$OUT"
stop_server

# python-socketio itself, with its test knobs: a corrupted ack and a dropped broadcast.
start_server python --corrupt-every 50
run_loadgen 60 sio-echo --port "$PORT" --conns 10 --inflight 5 --duration 2 --warmup 0
check "echo_python_corrupted_ack_detected" \
    "$(errors_run && [[ $(positive "$(kv verify_errors "$OUT")") == 0 ]] && echo 0 || echo 1)" "$OUT"
stop_server

start_server python --drop-every 10
run_loadgen 60 sio-bcast --port "$PORT" --conns 50 --senders 2 --duration 2 --warmup 0 --drain 1
check "bcast_python_dropped_broadcast_detected" \
    "$(errors_run && [[ $(positive "$(kv deliveries_lost "$OUT")") == 0 ]] && echo 0 || echo 1)" "$OUT"
stop_server

# --- Broken servers: every fault is reported ---------------------------------------------------
start_server fault --wrong-ack-every 100
run_loadgen 60 sio-echo --port "$PORT" --conns 5 --inflight 4 --duration 2.5 --warmup 0
check "echo_wrong_ack_id_detected" \
    "$(errors_run && [[ $(positive "$(kv verify_errors "$OUT")") == 0 && $(positive "$(kv stall_errors "$OUT")") == 0 ]] && echo 0 || echo 1)" "$OUT"
grep -q 'answers no event in flight' "$WORK/loadgen.err"
check "echo_wrong_ack_id_is_explained" "$?" "$(head -n 2 "$WORK/loadgen.err")"
stop_server

start_server fault --drop-ack-every 100
run_loadgen 60 sio-echo --port "$PORT" --conns 5 --inflight 4 --duration 2.5 --warmup 0
check "echo_dropped_ack_detected_as_stall" \
    "$(errors_run && [[ $(positive "$(kv stall_errors "$OUT")") == 0 && $ELAPSED -le 6 ]] && echo 0 || echo 1)" \
    "elapsed=${ELAPSED}s $OUT"
stop_server

start_server fault --corrupt-every 100
run_loadgen 60 sio-echo --port "$PORT" --conns 5 --inflight 4 --duration 2 --warmup 0
check "echo_corrupted_ack_payload_detected" \
    "$(errors_run && [[ $(positive "$(kv verify_errors "$OUT")") == 0 ]] && echo 0 || echo 1)" "$OUT"
stop_server

start_server fault --drop-bcast-every 7
run_loadgen 60 sio-bcast --port "$PORT" --conns 50 --senders 2 --duration 2 --warmup 0 --drain 1
check "bcast_dropped_delivery_detected" \
    "$(errors_run && [[ $(positive "$(kv deliveries_lost "$OUT")") == 0 ]] && echo 0 || echo 1)" "$OUT"
stop_server

start_server fault --reorder-bcast-every 5
run_loadgen 60 sio-bcast --port "$PORT" --conns 50 --senders 2 --duration 2 --warmup 0 --drain 1
check "bcast_reordered_delivery_detected" \
    "$(errors_run && [[ $(positive "$(kv deliveries_out_of_order "$OUT")") == 0 ]] && echo 0 || echo 1)" "$OUT"
stop_server

start_server fault --bad-open
run_loadgen 60 sio-handshake --port "$PORT" --concurrency 5 --duration 1 --warmup 0
check "handshake_open_packet_without_sid_is_handshake_error" \
    "$([[ $RC == 1 && $(positive "$(kv handshake_errors "$OUT")") == 0 && $(kv msgs "$OUT") == 0 && $ELAPSED -le 5 ]] && echo 0 || echo 1)" \
    "elapsed=${ELAPSED}s $OUT"
grep -q 'bad open packet (bad_open_packet)' "$WORK/loadgen.err"
check "handshake_bad_open_is_explained" "$?" "$(head -n 2 "$WORK/loadgen.err")"
stop_server

start_server fault --refuse-connect
run_loadgen 60 sio-echo --port "$PORT" --conns 3 --duration 1
check "echo_refused_namespace_is_handshake_error" \
    "$([[ $RC == 1 && $(kv handshake_errors "$OUT") == 3 && $(kv established "$OUT") == 0 && $ELAPSED -le 5 ]] && echo 0 || echo 1)" \
    "elapsed=${ELAPSED}s $OUT"
stop_server

start_server fault --no-connect-reply
run_loadgen 60 sio-echo --port "$PORT" --conns 3 --duration 1 --connect-timeout 1
check "echo_missing_connect_reply_times_out" \
    "$([[ $RC == 1 && $(kv timeout_errors "$OUT") == 3 && $ELAPSED -le 5 ]] && echo 0 || echo 1)" "elapsed=${ELAPSED}s $OUT"
grep -q 'Engine.IO / Socket.IO handshake not done' "$WORK/loadgen.err"
check "echo_missing_connect_reply_names_the_stage" "$?" "$(head -n 2 "$WORK/loadgen.err")"
stop_server

start_server fault --ping-interval 0.3
run_loadgen 60 sio-idle --port "$PORT" --conns 50 --hold 2
check "idle_answers_engine_io_pings" \
    "$([[ $(ok_run) == 0 && $(kv open_at_end "$OUT") == 50 && $(positive "$(kv engine_pings "$OUT")") == 0 ]] && echo 0 || echo 1)" "$OUT"
run_loadgen 60 sio-echo --port "$PORT" --conns 5 --inflight 2 --duration 1.5 --warmup 0
check "echo_answers_engine_io_pings" \
    "$([[ $(ok_run) == 0 && $(positive "$(kv engine_pings "$OUT")") == 0 ]] && echo 0 || echo 1)" "$OUT"
stop_server

start_server fault --exit-after 3000
run_loadgen 60 sio-echo --port "$PORT" --conns 10 --inflight 4 --duration 20 --warmup 0
check "echo_server_crash_ends_run_early_with_errors" \
    "$([[ $RC == 1 && $(kv stop "$OUT") == all_connections_lost && $(kv io_errors "$OUT") == 10 && $ELAPSED -le 10 ]] && echo 0 || echo 1)" \
    "elapsed=${ELAPSED}s $OUT"
stop_server

PORT=$(free_port)
run_loadgen 30 sio-handshake --port "$PORT" --concurrency 5 --duration 1 --warmup 0
check "handshake_nothing_listening_counts_connect_errors_and_ends_on_time" \
    "$([[ $RC == 1 && $(positive "$(kv connect_errors "$OUT")") == 0 && $(kv msgs "$OUT") == 0 && $ELAPSED -le 3 ]] && echo 0 || echo 1)" \
    "elapsed=${ELAPSED}s $OUT"

echo "sio: $PASSED passed, $FAILED failed, $SKIPPED skipped"
[[ $FAILED == 0 ]]
