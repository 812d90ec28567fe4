#!/usr/bin/env bash
# test.sh - live tests of the load generator against the Python `websockets` peer and the C
# calibration peer: plain and TLS echo, certificate checks, broken echoes, servers that die,
# stall or refuse, idle connections with server pings, and stop requests.
#
# Every run is wrapped in `timeout`, and each test also checks how long loadgen took, so a hang
# is a failure rather than a stuck script. Ends with "N passed, N failed".
# Needs: gcc, libssl-dev, openssl, python3 with `websockets` (pip install websockets).
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
PEERS=$HERE/../peers
# shellcheck source=lib.sh
source "$HERE/lib.sh"

make -s -C "$HERE" >/dev/null || { echo "cannot build loadgen"; exit 1; }
make -s -C "$PEERS" >/dev/null || { echo "cannot build c_echo"; exit 1; }
python3 -c 'import websockets' 2>/dev/null || { echo "python3 -m pip install websockets"; exit 1; }

LOADGEN=$HERE/build/loadgen
WORK=$(mktemp -d /tmp/loadgen-test.XXXXXX)
SERVER_PID=
trap 'stop_pid "$SERVER_PID"; rm -rf "$WORK"' EXIT
make_cert "$WORK/tls" || { echo "cannot make a certificate"; exit 1; }

PASSED=0
FAILED=0
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
    fi
}

# start_server NAME ARGS...: starts a peer on a fresh port, sets PORT and SERVER_PID.
start_server() {
    local kind=$1
    shift
    PORT=$(free_port)
    case $kind in
    python) python3 "$PEERS/websockets_echo.py" --port "$PORT" "$@" 2>"$WORK/server.err" & ;;
    c) "$PEERS/build/c_echo" --port "$PORT" "$@" 2>"$WORK/server.err" & ;;
    silent) python3 -c 'import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(4096); time.sleep(600)' "$PORT" & ;;
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
    OUT=$(timeout "$limit" "$LOADGEN" "$@" 2>"$WORK/loadgen.err" | tail -n 1)
    RC=${PIPESTATUS[0]}
    ELAPSED=$(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN { printf "%d", b - a + 0.5 }')
}

is() { [[ $1 == "$2" ]] && echo 0 || echo 1; }
positive() { awk -v v="${1:-0}" 'BEGIN { exit !(v > 0) }' && echo 0 || echo 1; }

CA=(--tls-ca "$WORK/tls/ca.pem")
TLS_SERVER=(--tls-cert "$WORK/tls/cert.pem" --tls-key "$WORK/tls/key.pem")

# --- Echo against the Python peer ------------------------------------------------------------
start_server python --ping-interval 0
run_loadgen 30 ws-echo --port "$PORT" --conns 20 --inflight 5 --duration 2 --warmup 0.5 --verify-every 1 \
    --server-pid "$SERVER_PID"
check "echo_python_plain_completes_without_errors" \
    "$([[ $RC == 0 && $(kv status "$OUT") == ok && $(kv established "$OUT") == 20 ]] && echo 0 || echo 1)" "$OUT"
check "echo_python_plain_counts_messages" "$(positive "$(kv msgs_per_sec "$OUT")")" "$OUT"
check "echo_python_plain_reports_server_cpu" "$(positive "$(kv server_cpu_seconds "$OUT")")" "$OUT"
run_loadgen 30 ws-echo --port "$PORT" --conns 10 --duration 1 --warmup 0 --binary --zero-mask --size 3000
check "echo_python_binary_zero_mask_large_message" "$(is "$(kv status "$OUT")" ok)" "$OUT"
run_loadgen 30 ws-echo --port "$PORT" --conns 5 --duration 1 --warmup 0 --size 0
check "echo_python_empty_message" "$(is "$(kv status "$OUT")" ok)" "$OUT"
run_loadgen 30 ws-echo --port "$PORT" --path /nope --conns 3 --duration 1
check "echo_wrong_path_is_handshake_error" \
    "$([[ $RC != 0 && $(kv handshake_errors "$OUT") == 3 && $ELAPSED -le 5 ]] && echo 0 || echo 1)" "$OUT"
grep -q 'status line "HTTP/1.1 404' "$WORK/loadgen.err"
check "echo_wrong_path_reports_status_line" "$?" "$(head -n 2 "$WORK/loadgen.err")"
stop_server

start_server python --ping-interval 0 "${TLS_SERVER[@]}"
run_loadgen 30 ws-echo --port "$PORT" --conns 20 --inflight 5 --duration 2 --warmup 0.5 --tls "${CA[@]}" --verify-every 1
check "echo_python_tls_verified_completes_without_errors" \
    "$([[ $RC == 0 && $(kv status "$OUT") == ok && $(kv tls "$OUT") == 1 ]] && echo 0 || echo 1)" "$OUT"
run_loadgen 30 ws-echo --port "$PORT" --conns 4 --duration 1 --tls "${CA[@]}" --tls-name wrong.example
check "echo_tls_wrong_name_fails_verification" \
    "$([[ $RC != 0 && $(kv tls_errors "$OUT") == 4 && $ELAPSED -le 5 ]] && echo 0 || echo 1)" "$OUT"
run_loadgen 30 ws-echo --port "$PORT" --conns 4 --duration 1 --tls --tls-ca "$WORK/tls/leaf.pem"
check "echo_tls_untrusted_ca_fails_verification" "$([[ $(kv tls_errors "$OUT") == 4 ]] && echo 0 || echo 1)" "$OUT"
run_loadgen 30 ws-echo --port "$PORT" --conns 4 --duration 1 --warmup 0
check "echo_plain_client_to_tls_server_fails" "$([[ $RC != 0 && $ELAPSED -le 20 ]] && echo 0 || echo 1)" "$OUT"
stop_server

# --- Broken echoes are detected --------------------------------------------------------------
start_server python --ping-interval 0 --corrupt-every 50
run_loadgen 30 ws-echo --port "$PORT" --conns 10 --inflight 5 --duration 2 --warmup 0
check "echo_corrupted_content_detected_with_default_sampling" \
    "$([[ $RC != 0 && $(kv status "$OUT") == errors && $(positive "$(kv verify_errors "$OUT")") == 0 ]] && echo 0 || echo 1)" \
    "$OUT"
stop_server

start_server c --corrupt-every 1000
run_loadgen 30 ws-echo --port "$PORT" --conns 10 --duration 1 --warmup 0 --verify-every 1
VERIFY=$(kv verify_errors "$OUT")
MSGS=$(kv received "$OUT")
check "echo_every_corruption_detected_with_full_verification" \
    "$(awk -v v="${VERIFY:-0}" -v m="${MSGS:-0}" 'BEGIN { e = m / 1000; exit !(v > 0 && v >= e - 2 && v <= e + 2) }' && echo 0 || echo 1)" \
    "verify_errors=$VERIFY received=$MSGS"
stop_server

start_server c --bad-accept
run_loadgen 30 ws-echo --port "$PORT" --conns 5 --duration 1
check "echo_bad_accept_is_handshake_error" \
    "$([[ $RC != 0 && $(kv handshake_errors "$OUT") == 5 && $(kv established "$OUT") == 0 && $ELAPSED -le 5 ]] && echo 0 || echo 1)" "$OUT"
stop_server

# --- Servers that die, stall or never answer: loadgen ends on time -------------------------
start_server python --ping-interval 0 --exit-after 20000
run_loadgen 60 ws-echo --port "$PORT" --conns 10 --duration 20 --warmup 0
check "echo_python_crash_mid_run_ends_early_with_errors" \
    "$([[ $RC == 1 && $(kv stop "$OUT") == all_connections_lost && $(kv io_errors "$OUT") == 10 && $ELAPSED -le 10 ]] && echo 0 || echo 1)" \
    "elapsed=${ELAPSED}s $OUT"
stop_server

start_server c
(sleep 1.5 && kill -9 "$SERVER_PID") &
KILLER=$!
run_loadgen 60 ws-echo --port "$PORT" --conns 50 --duration 20 --warmup 0.5
check "echo_server_sigkill_mid_run_ends_early" \
    "$([[ $RC == 1 && $(kv status "$OUT") == aborted && $ELAPSED -le 6 ]] && echo 0 || echo 1)" "elapsed=${ELAPSED}s $OUT"
wait "$KILLER"
stop_server

start_server c
(sleep 1 && kill -STOP "$SERVER_PID") &
KILLER=$!
run_loadgen 60 ws-echo --port "$PORT" --conns 10 --duration 3 --warmup 0.5
check "echo_server_stalled_ends_at_duration_with_stall_errors" \
    "$([[ $(kv stop "$OUT") == complete && $RC == 1 && $(kv stall_errors "$OUT") == 10 && $ELAPSED -le 6 ]] && echo 0 || echo 1)" \
    "elapsed=${ELAPSED}s $OUT"
wait "$KILLER"
kill -CONT "$SERVER_PID" 2>/dev/null
stop_server

start_server silent
run_loadgen 60 ws-echo --port "$PORT" --conns 5 --duration 1 --connect-timeout 1
check "echo_silent_server_times_out_handshakes" \
    "$([[ $RC != 0 && $(kv timeout_errors "$OUT") == 5 && $ELAPSED -le 5 ]] && echo 0 || echo 1)" "elapsed=${ELAPSED}s $OUT"
stop_server

PORT=$(free_port)
run_loadgen 30 ws-echo --port "$PORT" --conns 5 --duration 1
check "echo_nothing_listening_is_connect_error" \
    "$([[ $RC != 0 && $(kv connect_errors "$OUT") == 5 && $ELAPSED -le 3 ]] && echo 0 || echo 1)" "$OUT"

# --- Stop requests -----------------------------------------------------------------------------
start_server c
# `timeout` passes the SIGTERM it receives on to loadgen.
timeout 60 "$LOADGEN" ws-echo --port "$PORT" --conns 10 --duration 30 --warmup 0.5 >"$WORK/term.out" 2>"$WORK/loadgen.err" &
LOADGEN_PID=$!
sleep 1.5
STARTED=$(date +%s)
kill -TERM "$LOADGEN_PID"
wait "$LOADGEN_PID"
ELAPSED=$(($(date +%s) - STARTED))
OUT=$(tail -n 1 "$WORK/term.out")
check "echo_sigterm_prints_result_and_stops" \
    "$([[ $(kv stop "$OUT") == signal && $ELAPSED -le 2 && $(positive "$(kv msgs "$OUT")") == 0 ]] && echo 0 || echo 1)" \
    "elapsed=${ELAPSED}s $OUT"
stop_server

# --- Calibration peer, plain and TLS ----------------------------------------------------------
start_server c "${TLS_SERVER[@]}"
run_loadgen 30 ws-echo --port "$PORT" --conns 20 --duration 1 --warmup 0.5 --tls "${CA[@]}" --verify-every 1
check "echo_c_tls_completes_without_errors" "$(is "$(kv status "$OUT")" ok)" "$OUT"
stop_server

# --- Idle connections -------------------------------------------------------------------------
start_server python --ping-interval 1 --ping-timeout 1
run_loadgen 60 ws-idle --port "$PORT" --conns 500 --hold 3.5
check "idle_python_holds_and_answers_pings" \
    "$([[ $RC == 0 && $(kv established "$OUT") == 500 && $(kv open_at_end "$OUT") == 500 && $(kv stop "$OUT") == hold_over ]] &&
        [[ $(positive "$(kv pings "$OUT")") == 0 ]] && echo 0 || echo 1)" "$OUT"

# READY on stdout before the hold, and stdin EOF ends it.
mkfifo "$WORK/hold"
timeout 60 "$LOADGEN" ws-idle --port "$PORT" --conns 200 --hold 60 <"$WORK/hold" >"$WORK/idle.out" 2>"$WORK/loadgen.err" &
IDLE_PID=$!
exec {HOLD_FD}>"$WORK/hold"
for _ in $(seq 100); do grep -q '^READY' "$WORK/idle.out" && break; sleep 0.1; done
READY=$(grep '^READY' "$WORK/idle.out")
STARTED=$(date +%s)
exec {HOLD_FD}>&-
wait "$IDLE_PID"
RC=$?
ELAPSED=$(($(date +%s) - STARTED))
OUT=$(tail -n 1 "$WORK/idle.out")
check "idle_prints_ready_with_count" "$(is "$READY" "READY 200")" "$READY"
check "idle_stdin_eof_ends_hold" \
    "$([[ $RC == 0 && $(kv stop "$OUT") == stdin_closed && $ELAPSED -le 2 ]] && echo 0 || echo 1)" "elapsed=${ELAPSED}s $OUT"
stop_server

start_server python "${TLS_SERVER[@]}"
run_loadgen 60 ws-idle --port "$PORT" --conns 300 --hold 1 --tls "${CA[@]}"
check "idle_python_tls_holds" \
    "$([[ $RC == 0 && $(kv established "$OUT") == 300 && $(kv open_at_end "$OUT") == 300 ]] && echo 0 || echo 1)" "$OUT"
stop_server

start_server python
(sleep 2.5 && kill -9 "$SERVER_PID") &
KILLER=$!
run_loadgen 60 ws-idle --port "$PORT" --conns 300 --hold 30
check "idle_server_death_ends_hold_with_errors" \
    "$([[ $RC == 1 && $(kv stop "$OUT") == all_connections_lost && $(kv io_errors "$OUT") == 300 && $ELAPSED -le 6 ]] && echo 0 || echo 1)" \
    "elapsed=${ELAPSED}s $OUT"
wait "$KILLER"
stop_server

echo "loadgen: $PASSED passed, $FAILED failed"
[[ $FAILED == 0 ]]
