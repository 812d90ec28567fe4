#!/usr/bin/env bash
# openai-bench.sh - the OpenAI client's own cost per request, ours next to the official Python SDK.
#
# Each client sends the same chat completion request N times, one after the other, on a keep-alive
# connection to the fake LLM (loadgen/fake_llm, C + epoll, pinned to CPU 1), the client pinned to CPU 0:
#   earpiece          `earpiece ask --repeat N` (the client called from the command's own task)
#   earpiece-loop     the same with --from-loop (called from the event loop thread, as the server does)
#   python            peers/openai_sdk_client.py: the `openai` SDK's OpenAI client (max_retries=0)
#   python-async      the same with AsyncOpenAI on asyncio
# in three modes: json (non-streamed, delay 0: requests/s), stream (delay 0: requests/s) and
# stream-delay (streamed, the fake answers after --delay-ms: time to the first answer text minus the
# delay). Each row: requests/s, client CPU µs per request (getrusage, all threads), ttfd − delay
# p50/p99, total − delay p50, the connections the fake saw, and ratios to `python` in the same mode.
# The machine may be shared: absolute figures drift between runs, ratios within one run are what count.
# See Benchmarks/README.md ("OpenAI client benchmark").
#
# usage: Benchmarks/openai-bench.sh [--requests 1000] [--delayed-requests 100] [--delay-ms 20]
#          [--warmup 20] [--rounds 3] [--clients earpiece,earpiece-loop,python,python-async]
#          [--modes json,stream,stream-delay] [--scratch-path .build] [--no-build]
#          [--client-cpu 0] [--server-cpu 1] [--wait-quiet 20]
#   --rounds R: run every client R times per mode (round-robin) and report the median of each figure.
#   --wait-quiet S: before the runs, wait up to S seconds for both CPUs to be under 10% busy.
# Needs the openai package: python3 -m pip install openai. Exit status 0 when every run was clean.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH=$ROOT/Benchmarks
# shellcheck source=loadgen/lib.sh
source "$BENCH/loadgen/lib.sh"

REQUESTS=1000
DELAYED_REQUESTS=100
DELAY_MS=20
WARMUP=20
ROUNDS=3
CLIENTS=earpiece,earpiece-loop,python,python-async
MODES=json,stream,stream-delay
SCRATCH=.build
BUILD=1
CLIENT_CPU=0
SERVER_CPU=1
WAIT_QUIET=20
API_KEY=sk-bench
PROMPT="Say ok."

while (($#)); do
    case $1 in
    --requests) REQUESTS=$2; shift 2 ;;
    --delayed-requests) DELAYED_REQUESTS=$2; shift 2 ;;
    --delay-ms) DELAY_MS=$2; shift 2 ;;
    --warmup) WARMUP=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --clients) CLIENTS=$2; shift 2 ;;
    --modes) MODES=$2; shift 2 ;;
    --scratch-path) SCRATCH=$2; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    --client-cpu) CLIENT_CPU=$2; shift 2 ;;
    --server-cpu) SERVER_CPU=$2; shift 2 ;;
    --wait-quiet) WAIT_QUIET=$2; shift 2 ;;
    -h | --help) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "openai-bench.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done
for number in "$REQUESTS" "$DELAYED_REQUESTS" "$ROUNDS"; do
    [[ $number =~ ^[1-9][0-9]*$ ]] || { echo "openai-bench.sh: counts must be positive integers" >&2; exit 2; }
done
# `earpiece ask --repeat` measures only from 2 requests on (1 is a plain `ask`).
((REQUESTS >= 2 && DELAYED_REQUESTS >= 2)) || { echo "openai-bench.sh: --requests and --delayed-requests must be at least 2" >&2; exit 2; }
[[ $DELAY_MS =~ ^[0-9]+$ && $WARMUP =~ ^[0-9]+$ ]] || { echo "openai-bench.sh: --delay-ms and --warmup must be integers" >&2; exit 2; }
IFS=, read -r -a CLIENT_LIST <<<"$CLIENTS"
IFS=, read -r -a MODE_LIST <<<"$MODES"
for client in "${CLIENT_LIST[@]}"; do
    case $client in earpiece | earpiece-loop | python | python-async) ;; *) echo "openai-bench.sh: unknown client $client" >&2; exit 2 ;; esac
done
for mode in "${MODE_LIST[@]}"; do
    case $mode in json | stream | stream-delay) ;; *) echo "openai-bench.sh: unknown mode $mode" >&2; exit 2 ;; esac
done
if [[ ,$CLIENTS, == *,python* ]] && ! python3 -c 'import openai' 2>/dev/null; then
    echo "openai-bench.sh: the Python peer needs the openai package: python3 -m pip install openai" >&2
    exit 1
fi

WORK=$(mktemp -d /tmp/openai-bench.XXXXXX)
FAKE_PID=
CLIENT_PID=
trap 'stop_pid "$CLIENT_PID"; stop_pid "$FAKE_PID"' EXIT
echo "openai-bench: logs in $WORK"

# --- Build ---------------------------------------------------------------------------------------
make -s -C "$BENCH/loadgen" build/fake_llm >/dev/null
FAKE=$BENCH/loadgen/build/fake_llm
((BUILD)) && echo "openai-bench: building earpiece (release, scratch path $SCRATCH)"
release_binary earpiece "$SCRATCH" "$BUILD" "$WORK/build.log"
if [[ -z $BINARY ]]; then
    echo "openai-bench.sh: $BINARY_PROBLEM" >&2
    [[ -s $WORK/build.log ]] && tail -n 20 "$WORK/build.log" >&2
    exit 1
fi
EARPIECE=$BINARY
PYTHON_VERSION=$(python3 -c 'import platform; print(platform.python_version())')
OPENAI_VERSION=$(python3 -c 'import openai; print(openai.__version__)' 2>/dev/null || echo none)

((WAIT_QUIET > 0)) && wait_quiet "$WAIT_QUIET" "$CLIENT_CPU" "$SERVER_CPU" || true

# --- One run -------------------------------------------------------------------------------------
# run_one MODE CLIENT ROUND: a fresh fake (so its counters are this run's), the client, the fake's
# exit line. Appends "<client line> fake_connections=… fake_late_p50_us=… fake_late_p99_us=…" to
# $WORK/MODE.CLIENT.lines, or a line with status=failed.
run_one() {
    local mode=$1 client=$2 round=$3 delay=0 count=$REQUESTS port stream_flag=--stream line fake_line status
    local tag="$mode.$client.$round"
    [[ $mode == json ]] && stream_flag=--no-stream
    if [[ $mode == stream-delay ]]; then
        delay=$DELAY_MS
        count=$DELAYED_REQUESTS
    fi
    port=$(free_port)
    taskset -c "$SERVER_CPU" "$FAKE" --port "$port" --delay-ms "$delay" --api-key "$API_KEY" \
        >"$WORK/$tag.fake.out" 2>"$WORK/$tag.fake.err" &
    FAKE_PID=$!
    wait_port "$port" "$FAKE_PID" 10 || { echo "openai-bench: the fake LLM did not start" >&2; cat "$WORK/$tag.fake.err" >&2; exit 1; }
    local -a command
    case $client in
    earpiece) command=("$EARPIECE" ask --repeat "$count" --warmup "$WARMUP" "$stream_flag") ;;
    earpiece-loop) command=("$EARPIECE" ask --repeat "$count" --warmup "$WARMUP" "$stream_flag" --from-loop) ;;
    python) command=(python3 "$BENCH/peers/openai_sdk_client.py" --repeat "$count" --warmup "$WARMUP" "$stream_flag") ;;
    python-async) command=(python3 "$BENCH/peers/openai_sdk_client.py" --client async --repeat "$count" --warmup "$WARMUP" "$stream_flag") ;;
    esac
    set +e
    env OPENAI_API_KEY="$API_KEY" OPENAI_BASE_URL="http://127.0.0.1:$port/v1" OPENAI_MODEL=gpt-4o-mini LOG_LEVEL=error \
        taskset -c "$CLIENT_CPU" "${command[@]}" -- "$PROMPT" >"$WORK/$tag.out" 2>"$WORK/$tag.err" &
    CLIENT_PID=$!
    wait "$CLIENT_PID"
    status=$?
    CLIENT_PID=
    set -e
    stop_pid "$FAKE_PID"
    FAKE_PID=
    line=$(grep '^requests=' "$WORK/$tag.out" | tail -n 1 || true)
    fake_line=$(tail -n 1 "$WORK/$tag.fake.out")
    if [[ -z $line || $status != 0 ]]; then
        echo "openai-bench: $client in mode $mode failed (status $status):" >&2
        tail -n 5 "$WORK/$tag.err" >&2
        line="status=failed ${line#status=failed }"
    fi
    # The fake counts wait_port's probe as a connection: one less is the client's.
    echo "$line fake_connections=$(($(kv connections "$fake_line") - 1)) fake_late_p50_us=$(kv late_p50_us "$fake_line") fake_late_p99_us=$(kv late_p99_us "$fake_line") fake_cpu_us_per_request=$(kv cpu_us_per_request "$fake_line")" \
        >>"$WORK/$mode.$client.lines"
    printf 'openai-bench: %-12s %-13s round %d: %s\n' "$mode" "$client" "$round" "$(cut -d' ' -f3,5,6,7 <<<"$line")"
}

START=$(date +%s)
for mode in "${MODE_LIST[@]}"; do
    for ((round = 1; round <= ROUNDS; round++)); do
        for client in "${CLIENT_LIST[@]}"; do
            run_one "$mode" "$client" "$round"
        done
    done
done

# --- Report ------------------------------------------------------------------------------------------
# figure MODE CLIENT KEY: the median of KEY over the rounds (empty when a round failed).
figure() {
    local file=$WORK/$1.$2.lines
    grep -q '^status=failed' "$file" && return 0
    while read -r line; do kv "$3" "$line"; done <"$file" | median
}
# ratio A B: A ÷ B with two decimals ("–" when either is missing or B is 0).
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b + 0 == 0) print "-"; else printf "%.2f\n", a / b }'; }
minus() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "") print ""; else printf "%.1f\n", a - b }'; }

FAILED=0
echo
echo "OpenAI client benchmark: $REQUESTS requests per run at delay 0, $DELAYED_REQUESTS at delay $DELAY_MS ms (after $WARMUP warm-up), $ROUNDS round(s), medians;"
echo "clients on CPU $CLIENT_CPU, fake LLM on CPU $SERVER_CPU; Python $PYTHON_VERSION, openai $OPENAI_VERSION; $(($(date +%s) - START)) s of runs"
echo
printf '%-12s %-13s %9s %10s %22s %11s %6s   %s\n' mode client "req/s" "CPU us/req" "ttfd-delay p50/p99 us" "total-d p50" conns "/ python: req/s, CPU, ttfd p50"
for mode in "${MODE_LIST[@]}"; do
    delay_us=0
    [[ $mode == stream-delay ]] && delay_us=$((DELAY_MS * 1000))
    base_rate=$(figure "$mode" python requests_per_sec 2>/dev/null || true)
    base_cpu=$(figure "$mode" python cpu_us_per_request 2>/dev/null || true)
    base_ttfd=$(minus "$(figure "$mode" python ttfd_p50_us 2>/dev/null || true)" "$delay_us")
    for client in "${CLIENT_LIST[@]}"; do
        rate=$(figure "$mode" "$client" requests_per_sec)
        if [[ -z $rate ]]; then
            printf '%-12s %-13s %9s\n' "$mode" "$client" failed
            FAILED=1
            continue
        fi
        grep -q -v ' errors=0 ' "$WORK/$mode.$client.lines" && FAILED=1
        cpu=$(figure "$mode" "$client" cpu_us_per_request)
        ttfd50=$(minus "$(figure "$mode" "$client" ttfd_p50_us)" "$delay_us")
        ttfd99=$(minus "$(figure "$mode" "$client" ttfd_p99_us)" "$delay_us")
        total50=$(minus "$(figure "$mode" "$client" total_p50_us)" "$delay_us")
        connections=$(figure "$mode" "$client" fake_connections)
        printf '%-12s %-13s %9s %10s %22s %11s %6s   %s, %s, %s\n' "$mode" "$client" "$rate" "$cpu" "$ttfd50 / $ttfd99" "$total50" \
            "$connections" "$(ratio "$rate" "$base_rate")" "$(ratio "$cpu" "$base_cpu")" "$(ratio "$ttfd50" "$base_ttfd")"
    done
    if [[ $mode == stream-delay ]]; then
        late=
        for client in "${CLIENT_LIST[@]}"; do
            late+=", $client $(figure "$mode" "$client" fake_late_p50_us)/$(figure "$mode" "$client" fake_late_p99_us)"
        done
        echo "             the fake's own lateness p50/p99 us, inside ttfd-delay: ${late#, }"
    fi
done
echo
echo "req/s and CPU count every measured request; ttfd = request handed to the client -> first answer text in the caller's"
echo "hands (json: the whole answer, so ttfd = total); conns = TCP connections the client opened (warm-up included): the"
echo "openai SDK's sync client opens one per streamed request (its Stream closes the response at [DONE], unread to the end)."
echo "/ python: this client's figure over the python (openai SDK, sync client) figure in the same mode: req/s above 1 is"
echo "faster, CPU and ttfd below 1 are cheaper. Per-run lines: $WORK/*.lines"
exit "$FAILED"
