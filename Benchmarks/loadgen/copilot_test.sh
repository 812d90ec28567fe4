#!/usr/bin/env bash
# copilot_test.sh - live tests of the copilot benchmark's parts: the fake LLM (fake_llm) on its own,
# then loadgen's `copilot` mode against `earpiece serve` with the fake behind it, healthy and broken
# (wrong API key, an LLM slower than the server's deadline, no LLM at all, a server that dies,
# nothing listening).
#
# Every run is wrapped in `timeout`, and time-sensitive tests check how long it took. Ends with
# "copilot: N passed, N failed, N skipped".
#
# usage: copilot_test.sh [--earpiece PATH]
#   The server tests need the earpiece binary: --earpiece PATH, or $EARPIECE, or the newest
#   .build*/release/earpiece in the repository. Without one they are skipped (and said so).
# Needs: gcc, python3.
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
# shellcheck source=lib.sh
source "$HERE/lib.sh"

EARPIECE=${EARPIECE:-}
while (($#)); do
    case $1 in
    --earpiece) EARPIECE=$2; shift 2 ;;
    -h | --help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "copilot_test.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
if [[ -z $EARPIECE ]]; then
    EARPIECE=$(ls -t "$ROOT"/.build*/release/earpiece 2>/dev/null | head -n 1)
fi

make -s -C "$HERE" build/loadgen build/fake_llm >/dev/null || { echo "cannot build loadgen and fake_llm"; exit 1; }
LOADGEN=$HERE/build/loadgen
FAKE=$HERE/build/fake_llm
WORK=$(mktemp -d /tmp/copilot-test.XXXXXX)
SERVER_PID=
FAKE_PID=
trap 'stop_pid "$SERVER_PID"; stop_pid "$FAKE_PID"; rm -rf "$WORK"' EXIT

PASSED=0
FAILED=0
SKIPPED=0
OUT=
RC=0
ELAPSED=0
API_KEY=copilot-test-key-0123456789abcdef

check() { # check NAME CONDITION-RESULT(0/1) DETAIL
    if [[ $2 == 0 ]]; then
        PASSED=$((PASSED + 1))
        echo "ok   $1"
    else
        FAILED=$((FAILED + 1))
        echo "FAIL $1: $3"
        [[ -f $WORK/loadgen.err ]] && sed 's/^/     stderr: /' "$WORK/loadgen.err" | head -n 5
    fi
}

skip() { # skip NAME REASON
    SKIPPED=$((SKIPPED + 1))
    echo "skip $1: $2"
}

# start_fake DELAY_MS: the fake LLM on a fresh port; sets FAKE_PORT and FAKE_PID.
start_fake() {
    FAKE_PORT=$(free_port)
    "$FAKE" --port "$FAKE_PORT" --delay-ms "$1" --api-key sk-test >"$WORK/fake.out" 2>"$WORK/fake.err" &
    FAKE_PID=$!
    wait_port "$FAKE_PORT" "$FAKE_PID" 10 || { echo "fake_llm did not start"; cat "$WORK/fake.err"; }
}

# stop_fake: SIGTERM; its summary line is then in FAKE_LINE.
stop_fake() {
    stop_pid "$FAKE_PID"
    FAKE_PID=
    FAKE_LINE=$(tail -n 1 "$WORK/fake.out")
}

# start_earpiece LLM_URL DEADLINE_MS: the server on a fresh port, fast call timings; sets PORT, SERVER_PID.
start_earpiece() {
    PORT=$(free_port)
    env BACKEND_API_KEY="$API_KEY" OPENAI_API_KEY=sk-test OPENAI_BASE_URL="$1" COACHING_TIME_SCALE=0.05 \
        LLM_DEADLINE_MS="$2" MAX_CONVERSATIONS_PER_KEY=10000 RATE_LIMIT_START_PER_MINUTE=100000 \
        RATE_LIMIT_CONNECTIONS_PER_MINUTE=100000 LOG_LEVEL=error \
        "$EARPIECE" serve --host 127.0.0.1 --port "$PORT" --loops 1 >/dev/null 2>"$WORK/server.err" &
    SERVER_PID=$!
    disown "$SERVER_PID" # no "Killed" job notices when a test kills it on purpose
    wait_port "$PORT" "$SERVER_PID" 30 || { echo "earpiece did not start"; tail -n 5 "$WORK/server.err"; }
}

stop_server() {
    stop_pid "$SERVER_PID"
    SERVER_PID=
}

# run_copilot LIMIT ARGS...: a short copilot run (20 calls, 1.5 s warm-up and interval at scale 0.05)
# under `timeout LIMIT`; sets OUT, RC and ELAPSED.
run_copilot() {
    local limit=$1 started
    shift
    started=$(date +%s.%N)
    OUT=$(timeout "$limit" "$LOADGEN" copilot --port "$PORT" --time-scale 0.05 --segment-interval 0.5 --ramp 0.5 \
        --llm-delay-ms 100 "$@" 2>"$WORK/loadgen.err" </dev/null | tail -n 1)
    RC=${PIPESTATUS[0]}
    ELAPSED=$(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN { printf "%d", b - a + 0.5 }')
}

is() { [[ $1 == "$2" ]] && echo 0 || echo 1; }
positive() { awk -v v="${1:-0}" 'BEGIN { exit !(v > 0) }' && echo 0 || echo 1; }

# --- The fake LLM on its own ---------------------------------------------------------------------
start_fake 200
python3 - "$FAKE_PORT" >"$WORK/fake-checks.txt" 2>&1 <<'EOF'
import http.client, json, socket, sys, time
port = int(sys.argv[1])

def post(body, key="sk-test", connection=None, raw=None):
    conn = connection or http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    headers = {"Content-Type": "application/json"}
    if key is not None:
        headers["Authorization"] = f"Bearer {key}"
    started = time.monotonic()
    conn.request("POST", "/v1/chat/completions", body=raw if raw is not None else json.dumps(body), headers=headers)
    response = conn.getresponse()
    data = response.read().decode()
    return response, data, time.monotonic() - started, conn

def request(schema, stream=False, usage=False):
    body = {"model": "gpt-4o-mini", "messages": [{"role": "system", "content": "x"}, {"role": "user", "content": "y"}],
            "response_format": {"type": "json_schema", "json_schema": {"name": schema, "strict": True, "schema": {}}}}
    if stream:
        body["stream"] = True
        if usage:
            body["stream_options"] = {"include_usage": True}
    return body

def streamed_content(data):
    text, usage, done = "", None, False
    for line in data.split("\n"):
        if line == "data: [DONE]":
            done = True
        elif line.startswith("data: "):
            event = json.loads(line[6:])
            if event.get("usage"):
                usage = event["usage"]
            for choice in event["choices"]:
                text += choice["delta"].get("content") or ""
    return text, usage, done

def report(name, ok, detail=""):
    detail = str(detail).replace("\r", " ").replace("\n", " ")
    print(f"{'ok' if ok else 'FAIL'} {name} {detail}".rstrip())

def stats():
    probe = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    probe.request("GET", "/_stats")
    value = json.loads(probe.getresponse().read())
    probe.close()
    return value

# Connections so far (the script's port probe, and this one).
connections_before = stats()["connections"]
response, data, elapsed, conn = post(request("coaching_tip"))
tip = json.loads(json.loads(data)["choices"][0]["message"]["content"])
report("fake_json_tip_follows_the_coaching_tip_contract", response.status == 200 and tip["kind"] == "objection"
       and len(tip["options"]) == 2 and tip["headline"].startswith("LLM: "), data[:200])
report("fake_tip_headline_carries_its_lateness", tip["headline"].endswith(" us]") and "[fake LLM late " in tip["headline"],
       tip["headline"])
report("fake_answers_after_the_delay", 0.2 <= elapsed < 0.35, f"{elapsed:.3f}s")
response, data, elapsed, conn = post(request("coaching_tip", stream=True, usage=True), connection=conn)
text, usage, done = streamed_content(data)
report("fake_stream_is_sse_with_usage_and_done", response.status == 200
       and response.getheader("Content-Type").startswith("text/event-stream") and done and usage is not None
       and json.loads(text)["kind"] == "objection", data[:200])
response, data, elapsed, conn = post(request("call_summary", stream=True), connection=conn)
text, usage, done = streamed_content(data)
summary = json.loads(text)
report("fake_stream_without_usage_request_has_no_usage", usage is None and done, data[:120])
report("fake_summary_follows_the_call_summary_contract", summary["notes"].startswith("LLM: ")
       and len(summary["actionItems"]) == 2, text)
response, data, elapsed, conn = post(request("other"), connection=conn)
report("fake_other_schema_gets_plain_text", json.loads(data)["choices"][0]["message"]["content"] == "LLM: ok", data[:120])
response, data, elapsed, conn = post(request("coaching_tip"), key="sk-wrong", connection=conn)
report("fake_wrong_key_is_401_at_once", response.status == 401 and elapsed < 0.1
       and json.loads(data)["error"]["code"] == "invalid_api_key", data)
response, data, elapsed, conn = post(None, raw='{"model":"m","messages":[]}', connection=conn)
report("fake_empty_messages_is_400", response.status == 400, data)
response, data, elapsed, conn = post(None, raw='{"model":', connection=conn)
report("fake_broken_json_is_400", response.status == 400, data)

# Everything above went over one keep-alive connection.
conn.request("GET", "/_stats")
counters = json.loads(conn.getresponse().read())
report("fake_keeps_the_connection_alive", counters["connections"] == connections_before + 1, json.dumps(counters))
report("fake_answers_on_time", counters["lateMaxUs"] < 5000, json.dumps(counters))

# Two requests pipelined in one write are both answered, in order.
body = json.dumps(request("coaching_tip")).encode()
one = b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer sk-test\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
sock = socket.create_connection(("127.0.0.1", port), timeout=5)
sock.sendall(one + one)
received = b""
deadline = time.monotonic() + 3
while received.count(b"HTTP/1.1 200 OK") < 2 and time.monotonic() < deadline:
    received += sock.recv(65536)
report("fake_answers_pipelined_requests", received.count(b"HTTP/1.1 200 OK") == 2, str(len(received)))
sock.close()

# A chunked request body is refused with 411 and the connection is closed.
sock = socket.create_connection(("127.0.0.1", port), timeout=5)
sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
answer = b""
while True:
    piece = sock.recv(65536)
    if not piece:
        break
    answer += piece
report("fake_chunked_request_is_411_and_closed", answer.startswith(b"HTTP/1.1 411"), answer[:40].decode())
sock.close()

# A head over 16 KiB is refused.
sock = socket.create_connection(("127.0.0.1", port), timeout=5)
sock.sendall(b"GET /_health HTTP/1.1\r\nX: " + b"a" * 20000)
answer = sock.recv(65536)
report("fake_oversized_head_is_431", answer.startswith(b"HTTP/1.1 431"), answer[:40].decode())
sock.close()

# A client that leaves while its answer is pending is counted as abandoned.
sock = socket.create_connection(("127.0.0.1", port), timeout=5)
sock.sendall(one)
time.sleep(0.05)
sock.close()
time.sleep(0.1)
counters = stats()
report("fake_counts_a_client_that_leaves_as_abandoned", counters["abandoned"] == 1, json.dumps(counters))
EOF
while read -r verdict name detail; do
    check "$name" "$([[ $verdict == ok ]] && echo 0 || echo 1)" "$detail"
done <"$WORK/fake-checks.txt"
[[ -s $WORK/fake-checks.txt ]] || check "fake_checks_ran" 1 "the Python checks printed nothing"
grep -q Traceback "$WORK/fake-checks.txt" && check "fake_checks_ran_without_exceptions" 1 "$(tail -n 3 "$WORK/fake-checks.txt")"
stop_fake
check "fake_prints_its_counters_on_sigterm" \
    "$([[ $FAKE_LINE == "fake_llm requests="* && $(positive "$(kv tips "$FAKE_LINE")") == 0 ]] && echo 0 || echo 1)" "$FAKE_LINE"

# --- loadgen copilot against earpiece --------------------------------------------------------------
if [[ -z $EARPIECE || ! -x $EARPIECE ]]; then
    skip "earpiece" "no earpiece binary (pass --earpiece PATH or build it: swift build -c release --product earpiece)"
    echo "copilot: $PASSED passed, $FAILED failed, $SKIPPED skipped"
    [[ $FAILED == 0 ]]
    exit
fi

start_fake 100
start_earpiece "http://127.0.0.1:$FAKE_PORT/v1" 1000
run_copilot 60 --conns 20 --duration 3 --api-key "$API_KEY" --server-pid "$SERVER_PID"
check "copilot_healthy_run_is_clean" "$([[ $RC == 0 && $(kv status "$OUT") == ok ]] && echo 0 || echo 1)" "$OUT"
check "copilot_every_call_starts_and_ends" \
    "$([[ $(kv calls_started "$OUT") == 20 && $(kv conversations "$OUT") == 20 && $(kv ended "$OUT") == 20 &&
        $(kv summaries_llm "$OUT") == 20 ]] && echo 0 || echo 1)" "$OUT"
# Timed (auto-mode) tips come whole: AI_TIP_PARTIAL is only for tips a rep asks for (protocol/README.md).
check "copilot_tips_come_from_the_llm_on_every_tick" \
    "$([[ $(positive "$(kv tips "$OUT")") == 0 && $(kv tips_rules "$OUT") == 0 && $(kv ticks_without_tip "$OUT") == 0 &&
        $(kv tips_without_lateness "$OUT") == 0 && $(kv partials "$OUT") == 0 ]] && echo 0 || echo 1)" "$OUT"
# 20 calls x one tick every 1.5 s over a 3 s window: about 40 tips.
check "copilot_tip_count_matches_the_interval" \
    "$(awk -v t="$(kv tips "$OUT")" 'BEGIN { exit !(t >= 30 && t <= 50) }' && echo 0 || echo 1)" "$OUT"
# 20 calls x one TRANSCRIPT every 0.5 s over 3 s: about 120 acks.
check "copilot_ack_count_matches_the_segment_interval" \
    "$(awk -v n="$(kv msgs "$OUT")" 'BEGIN { exit !(n >= 110 && n <= 130) }' && echo 0 || echo 1)" "$OUT"
check "copilot_reports_latency_cpu_memory_and_threads" \
    "$([[ $(positive "$(kv p99_us "$OUT")") == 0 && $(positive "$(kv tip_p99_us "$OUT")") == 0 &&
        $(positive "$(kv server_cpu_seconds "$OUT")") == 0 && $(positive "$(kv server_rss_kib "$OUT")") == 0 &&
        $(positive "$(kv server_threads "$OUT")") == 0 ]] && echo 0 || echo 1)" "$OUT"
# With a 100 ms LLM delay, a tip's overhead is far below the delay itself: the anchor is right.
check "copilot_tip_overhead_is_small_against_the_llm_delay" \
    "$(awk -v p="$(kv tip_p50_us "$OUT")" 'BEGIN { exit !(p < 50000) }' && echo 0 || echo 1)" "$OUT"
run_copilot 30 --conns 5 --duration 1 --api-key wrong-key
check "copilot_wrong_api_key_is_a_handshake_error" \
    "$([[ $RC == 1 && $(kv handshake_errors "$OUT") == 5 && $(kv established "$OUT") == 0 && $ELAPSED -le 5 ]] &&
        grep -q AUTH_INVALID "$WORK/loadgen.err" && echo 0 || echo 1)" "elapsed=${ELAPSED}s $OUT"
run_copilot 30 --conns 5 --duration 1
check "copilot_missing_api_key_is_a_handshake_error" \
    "$([[ $RC == 1 && $(kv handshake_errors "$OUT") == 5 ]] && grep -q AUTH_MISSING "$WORK/loadgen.err" && echo 0 || echo 1)" "$OUT"
stop_server
stop_fake

# The LLM answers after the server's deadline: every tip comes from the rule coach, and says so.
start_fake 600
start_earpiece "http://127.0.0.1:$FAKE_PORT/v1" 200
run_copilot 60 --conns 10 --duration 2 --api-key "$API_KEY"
check "copilot_llm_past_the_deadline_shows_as_rule_tips" \
    "$([[ $(positive "$(kv tips_rules "$OUT")") == 0 && $(kv tips_llm "$OUT") == 0 ]] && echo 0 || echo 1)" "$OUT"
grep -q 'tip from the rule coach' "$WORK/loadgen.err"
check "copilot_rule_tips_are_explained" "$?" "$(head -n 2 "$WORK/loadgen.err")"
stop_server
stop_fake

# No LLM listening at all: rule tips again, and the run still ends cleanly otherwise.
start_earpiece "http://127.0.0.1:$(free_port)/v1" 1000
run_copilot 60 --conns 10 --duration 2 --api-key "$API_KEY"
check "copilot_llm_down_shows_as_rule_tips" \
    "$([[ $(positive "$(kv tips_rules "$OUT")") == 0 && $(kv tips_llm "$OUT") == 0 && $(kv ended "$OUT") == 10 ]] &&
        echo 0 || echo 1)" "$OUT"

# The server dies in the middle of the window: the run ends early, with the connections lost.
( sleep 3; kill -9 "$SERVER_PID" 2>/dev/null ) &
run_copilot 60 --conns 10 --duration 20 --api-key "$API_KEY"
check "copilot_server_crash_ends_the_run_early_with_errors" \
    "$([[ $RC == 1 && $(kv stop "$OUT") == all_connections_lost && $(kv io_errors "$OUT") == 10 && $ELAPSED -le 8 ]] &&
        echo 0 || echo 1)" "elapsed=${ELAPSED}s $OUT"
SERVER_PID=

PORT=$(free_port)
run_copilot 30 --conns 5 --duration 1
check "copilot_nothing_listening_counts_connect_errors_and_ends_on_time" \
    "$([[ $RC == 1 && $(positive "$(kv connect_errors "$OUT")") == 0 && $ELAPSED -le 3 ]] && echo 0 || echo 1)" \
    "elapsed=${ELAPSED}s $OUT"

echo "copilot: $PASSED passed, $FAILED failed, $SKIPPED skipped"
[[ $FAILED == 0 ]]
