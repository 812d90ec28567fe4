/*
 * workload_copilot.c - the `copilot` workload: N simulated sales calls against `earpiece serve`,
 * speaking the Earpiece app protocol (protocol/README.md) over Socket.IO on the WebSocket transport.
 *
 * Every connection is one call:
 *   1. Session handshake with auth: wait for the Engine.IO open packet, send `40{"apiKey":"..."}`,
 *      wait for `40{"sid":...}` (a `44{...}` CONNECT_ERROR is a handshake error naming its code).
 *   2. Once every call has joined, the START_CONVERSATIONs are spread evenly over --ramp seconds:
 *      `42<id>["START_CONVERSATION",{"mode":"auto","warmupSeconds":W,"intervalSeconds":I,...}]`.
 *      The ack gives the conversationId; CONVERSATION_STARTED follows.
 *   3. Then one acked TRANSCRIPT every --segment-interval seconds (real time), about 20 words each,
 *      agent and customer in turn. Each call sends in its own slot of the period, the slots spread
 *      evenly over the period (golden-ratio sequence), so the server sees a steady rate rather than
 *      bursts. Ack latency = ack arrival - send, for every TRANSCRIPT acked in the measured window.
 *   4. The server makes an auto tip every I x time-scale seconds after a warm-up of W x time-scale
 *      (the server's COACHING_TIME_SCALE; the client is told the same scale with --time-scale), each
 *      answered by the fake LLM after --llm-delay-ms. For every AI_TIP:
 *        tip overhead = arrival - (the tick it answers) - LLM time
 *      where the LLM time is --llm-delay-ms plus how late the fake answered, which the fake writes
 *      into the tip's headline (copilot.h): on a busy machine the fake's own wake-up delay is not
 *      the server's overhead. (`fake_late_*` shows it; without the field only the delay is taken.)
 *      The tick is due where the protocol puts it: the first at CONVERSATION_STARTED + W x scale,
 *      each later one I x scale after the previous tip's trigger, which the client sees as that
 *      tip's arrival minus its `latencyMs` (minus 0.5 ms, the middle of the whole-millisecond
 *      truncation). Re-anchoring on each trigger matters: the server schedules the next tick when
 *      the previous one fires, so timer lateness accumulates over a call (`tick_drift_max_ms` shows
 *      how much), and a fixed schedule would count that drift as overhead. The estimate errs low by
 *      the previous tip's server-to-client transport time (tens of microseconds on loopback) and
 *      has +-0.5 ms of truncation noise; a negative overhead is recorded as 0 and counted
 *      (`tip_negative`). The server-reported figure, `latencyMs - LLM delay`, is reported alongside
 *      (`tip_server_*`, `latencyMs - LLM time`): it leaves out timer lateness and the final write,
 *      so it is a lower bound.
 *   5. After the window each call sends END_CONVERSATION (spread over --ramp again, unless
 *      --no-end) and waits up to --drain seconds for CONVERSATION_ENDED; its summary's `source` is
 *      counted (llm or rules).
 *
 * The Socket.IO session (handshake, Engine.IO pings, close, DISCONNECT) is the one every Socket.IO
 * workload shares (sio_session_on_message, workload_sio.c). Acks on one connection arrive in order
 * (protocol, "Order"), so a small ring of pending acks per call matches each ack to its event; any
 * mismatch, refusal (`{"ok":false,...}`), ERROR event or unexpected event is a verify error.
 * AI_TIP_PARTIAL events are counted. Tips from the rule coach (`source: "rules"`: the LLM failed or
 * missed its deadline) are counted and the first few printed; the benchmark script treats any as a
 * failure of the LLM path.
 *
 * Built with -DCOPILOT_CODEC_ONLY, only the pure protocol readers (copilot.h) are compiled, for the
 * table tests and the fuzzer.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "copilot.h"
#include "sio.h"

/* ------------------------------------------------------------------------------------------ */
/* Protocol readers (pure)                                                                    */

/* Whether a JSON string token (with quotes) holds no escape and no control byte. */
static int is_plain_string_token(const uint8_t *token, size_t length) {
    if (length < 2 || token[0] != '"' || token[length - 1] != '"') {
        return 0;
    }
    for (size_t index = 1; index + 1 < length; index++) {
        if (token[index] == '\\' || token[index] < 0x20) {
            return 0;
        }
    }
    return 1;
}

/* Reads `[` value-1 [`,` value-2] `]` as spans; `second` NULL means exactly one element expected. */
static copilot_result split_array(const uint8_t *json, size_t length, const uint8_t **first, size_t *first_length,
                                  const uint8_t **second, size_t *second_length) {
    size_t position = sio_json_skip_whitespace(json, length, 0);
    if (position >= length || json[position] != '[') {
        return COPILOT_BAD_JSON;
    }
    position = sio_json_skip_whitespace(json, length, position + 1);
    size_t consumed = 0;
    if (position >= length || sio_json_skip_value(json + position, length - position, &consumed) != SIO_OK) {
        return COPILOT_BAD_JSON;
    }
    *first = json + position;
    *first_length = consumed;
    position = sio_json_skip_whitespace(json, length, position + consumed);
    if (second != NULL) {
        if (position >= length || json[position] != ',') {
            return COPILOT_BAD_JSON;
        }
        position = sio_json_skip_whitespace(json, length, position + 1);
        if (position >= length || sio_json_skip_value(json + position, length - position, &consumed) != SIO_OK) {
            return COPILOT_BAD_JSON;
        }
        *second = json + position;
        *second_length = consumed;
        position = sio_json_skip_whitespace(json, length, position + consumed);
    }
    if (position >= length || json[position] != ']' ||
        sio_json_skip_whitespace(json, length, position + 1) != length) {
        return COPILOT_BAD_JSON;
    }
    return COPILOT_OK;
}

copilot_result copilot_parse_event(const uint8_t *json, size_t length, copilot_event *event) {
    memset(event, 0, sizeof(*event));
    const uint8_t *name = NULL;
    const uint8_t *argument = NULL;
    size_t name_length = 0;
    size_t argument_length = 0;
    copilot_result result = split_array(json, length, &name, &name_length, &argument, &argument_length);
    if (result != COPILOT_OK) {
        return result;
    }
    if (name[0] != '"') {
        return COPILOT_BAD_NAME;
    }
    if (!is_plain_string_token(name, name_length) || name_length < 3 || name_length > 66) {
        return COPILOT_BAD_NAME;
    }
    if (argument[0] != '{') {
        return COPILOT_BAD_JSON;
    }
    event->name = name + 1;
    event->name_length = name_length - 2;
    event->argument = argument;
    event->argument_length = argument_length;
    return COPILOT_OK;
}

copilot_result copilot_parse_ack(const uint8_t *json, size_t length, const uint8_t **object, size_t *object_length) {
    copilot_result result = split_array(json, length, object, object_length, NULL, NULL);
    if (result != COPILOT_OK) {
        return result;
    }
    return (*object)[0] == '{' ? COPILOT_OK : COPILOT_BAD_JSON;
}

/* The member's span, or a typed miss. */
static copilot_result member(const uint8_t *object, size_t length, const char *key, const uint8_t **value,
                             size_t *value_length) {
    sio_result result = sio_json_object_get(object, length, key, value, value_length);
    if (result == SIO_OK) {
        return COPILOT_OK;
    }
    return result == SIO_EMPTY ? COPILOT_MISSING : COPILOT_BAD_JSON;
}

copilot_result copilot_get_string(const uint8_t *object, size_t length, const char *key, char *out, size_t capacity) {
    const uint8_t *value = NULL;
    size_t value_length = 0;
    copilot_result result = member(object, length, key, &value, &value_length);
    if (result != COPILOT_OK) {
        return result;
    }
    if (!is_plain_string_token(value, value_length) || value_length - 2 >= capacity) {
        return COPILOT_BAD_VALUE;
    }
    memcpy(out, value + 1, value_length - 2);
    out[value_length - 2] = '\0';
    return COPILOT_OK;
}

copilot_result copilot_get_bool(const uint8_t *object, size_t length, const char *key, int *value) {
    const uint8_t *token = NULL;
    size_t token_length = 0;
    copilot_result result = member(object, length, key, &token, &token_length);
    if (result != COPILOT_OK) {
        return result;
    }
    if (token_length == 4 && memcmp(token, "true", 4) == 0) {
        *value = 1;
        return COPILOT_OK;
    }
    if (token_length == 5 && memcmp(token, "false", 5) == 0) {
        *value = 0;
        return COPILOT_OK;
    }
    return COPILOT_BAD_VALUE;
}

copilot_result copilot_get_uint(const uint8_t *object, size_t length, const char *key, uint64_t *value) {
    const uint8_t *token = NULL;
    size_t token_length = 0;
    copilot_result result = member(object, length, key, &token, &token_length);
    if (result != COPILOT_OK) {
        return result;
    }
    return sio_json_parse_uint(token, token_length, value) == 0 ? COPILOT_OK : COPILOT_BAD_VALUE;
}

copilot_result copilot_get_object(const uint8_t *object, size_t length, const char *key, const uint8_t **value,
                                  size_t *value_length) {
    copilot_result result = member(object, length, key, value, value_length);
    if (result != COPILOT_OK) {
        return result;
    }
    return (*value)[0] == '{' ? COPILOT_OK : COPILOT_BAD_VALUE;
}

int copilot_is_id(const uint8_t *bytes, size_t length) {
    if (length == 0 || length > COPILOT_MAX_ID) {
        return 0;
    }
    for (size_t index = 0; index < length; index++) {
        uint8_t byte = bytes[index];
        int allowed = (byte >= 'a' && byte <= 'z') || (byte >= 'A' && byte <= 'Z') || (byte >= '0' && byte <= '9') ||
                      byte == '_' || byte == '.' || byte == ':' || byte == '-';
        if (!allowed) {
            return 0;
        }
    }
    return 1;
}

int copilot_span_equals(const uint8_t *bytes, size_t length, const char *text) {
    return length == strlen(text) && memcmp(bytes, text, length) == 0;
}

const char *copilot_result_name(copilot_result result) {
    switch (result) {
    case COPILOT_OK: return "ok";
    case COPILOT_MISSING: return "missing";
    case COPILOT_BAD_JSON: return "bad_json";
    case COPILOT_BAD_NAME: return "bad_name";
    case COPILOT_BAD_VALUE: return "bad_value";
    }
    return "unknown";
}

#ifndef COPILOT_CODEC_ONLY

/* ------------------------------------------------------------------------------------------ */
/* The workload                                                                               */

#include <unistd.h>

#include "loadgen.h"
#include "ws.h"

/* Where a call is in its conversation. */
enum {
    CALL_JOINING = 0, /* the Socket.IO session is being set up */
    CALL_READY,       /* joined; START_CONVERSATION not sent yet */
    CALL_STARTING,    /* START_CONVERSATION sent, its ack not back */
    CALL_ACTIVE,      /* conversation id known: transcripts flow */
    CALL_ENDING,      /* END_CONVERSATION sent */
    CALL_ENDED,       /* CONVERSATION_ENDED received */
};

/* What a call does next at its due time. */
enum { ACTION_NONE = 0, ACTION_START, ACTION_TRANSCRIPT, ACTION_END };

/* Which event an ack answers. */
enum { ACK_START = 0, ACK_TRANSCRIPT, ACK_END, ACK_KIND_COUNT };
static const char *const ack_event_names[ACK_KIND_COUNT] = {"START_CONVERSATION", "TRANSCRIPT", "END_CONVERSATION"};

/* Acks outstanding per call; one TRANSCRIPT every 2 s answered in milliseconds needs one or two. */
#define ACK_RING 16u
#define NOT_IN_HEAP UINT32_MAX
/* The first TRANSCRIPT goes out no sooner than this after the conversation starts. */
#define FIRST_SEGMENT_GAP_NS 100000000ull
/* Rule-coach tips printed as notes before they are only counted. */
#define RULE_TIP_NOTES 5

/* One event waiting for its ack. */
typedef struct {
    uint64_t id;
    uint64_t sent_at;
    uint8_t kind;
} pending_ack;

/* One simulated call (indexed like the connections). Loop thread only. */
typedef struct {
    uint64_t due;      /* when next_action is due (the heap's key) */
    uint32_t heap_slot;
    uint8_t next_action;
    uint8_t phase;
    uint8_t id_length;
    char conversation_id[COPILOT_MAX_ID + 1];
    uint64_t next_ack_id;
    pending_ack acks[ACK_RING];
    uint32_t ack_head;
    uint32_t ack_count;
    uint64_t segments_sent;
    uint64_t slot_offset; /* this call's place in the transcript period, in ns */
    uint64_t started_at;  /* CONVERSATION_STARTED arrival; 0 before */
    int64_t tick_due;     /* the next tick per the protocol, on our clock; 0 before CONVERSATION_STARTED */
    uint64_t ticks;       /* ticks accounted for since the start (each tip, plus ticks without one) */
} copilot_call;

/*
 * Where the server's CPU goes, by thread: its event loop threads (named `loop-N`) against the rest
 * (the Swift concurrency pool and anything else), and how often its threads switch. Read from
 * /proc/PID/task at both ends of the window.
 */
typedef struct {
    double loop_seconds;
    double other_seconds;
    uint64_t context_switches;
    uint32_t threads;
    int valid;
} thread_snapshot;

/* Whole-run state of the copilot workload. Loop thread only. */
typedef struct {
    copilot_call *calls;
    uint32_t *heap; /* call indices, a binary min-heap on calls[].due */
    uint32_t heap_count;
    uint64_t ramp_begin;
    int ramp_started;
    int window_closed;
    uint64_t period_ns;   /* between a call's TRANSCRIPTs */
    int64_t warmup_ns;    /* the call warm-up, scaled */
    int64_t interval_ns;  /* the tick interval, scaled */
    int64_t llm_delay_ns;
    char connect_packet[512];
    /* Tallies. */
    uint64_t calls_started;   /* START acked */
    uint64_t conversations;   /* CONVERSATION_STARTED seen */
    uint64_t tips_total, tips_window, tips_llm, tips_rules, tips_requested, partials;
    uint64_t tip_negative, ticks_without_tip, tips_without_lateness;
    int64_t tick_drift_max;
    uint64_t acks_refused, error_events, sends_skipped;
    uint64_t ends_expected, ended, summaries_llm, summaries_rules;
    uint64_t calls_active_at_window_end;
    long long server_rss_kib;
    int window_opened;
    thread_snapshot threads_at_start;
    thread_snapshot threads_at_end;
    histogram start_ack_latency;
    histogram tip_overhead;
    histogram tip_server_overhead;
    histogram fake_lateness;
} copilot_state;

static copilot_state *state_of(loadgen *generator) {
    return (copilot_state *)generator->workload_state;
}

/* About twenty words each, agent and customer in turn: a discovery call with price and a competitor,
 * so the prompt the server builds looks like a real one. Plain ASCII without quotes or backslashes. */
static const char *const agent_lines[] = {
    "Thanks for taking the time today. Could you walk me through how your team handles incoming support tickets right now?",
    "That makes sense. How many hours a week do your leads spend sorting tickets and building the monthly report by hand?",
    "With our routing every email and chat lands in one queue, and rules send it to the right agent within seconds.",
    "For twenty five seats on the growth plan you would be at ninety five dollars per seat per month, billed annually.",
    "I hear you on the budget. What would it be worth to get back the hours your leads lose to double handling?",
    "Would it help if I put together a one page cost comparison with your own numbers before we talk to finance?",
    "Great. Could we book thirty minutes next week with you and your finance lead to go through the comparison together?",
};
static const char *const customer_lines[] = {
    "Honestly it is a shared inbox and a spreadsheet. Agents grab emails and sometimes two people answer the same customer.",
    "Probably a full day every month for the report, plus a few hours a week each just keeping the queue under control.",
    "Okay, that sounds useful. Can it tell shipment tracking questions apart from billing questions without us tagging them by hand?",
    "Hmm, ninety five per seat is a lot more than we expected. We pay about forty for the inbox tool today.",
    "To be honest we are also looking at Supportly, and their quote came in quite a bit lower than yours did.",
    "I still need to justify the price difference to finance, so anything with real numbers would help me a lot there.",
    "Let me check her calendar first. Tuesday afternoon might work, otherwise early Thursday morning is usually open for us.",
};
#define LINE_COUNT (sizeof(agent_lines) / sizeof(agent_lines[0]))

/* ------------------------------------------------------------------------------------------ */
/* The schedule: a binary min-heap of calls by due time                                       */

static int earlier(const copilot_state *state, uint32_t left, uint32_t right) {
    return state->calls[state->heap[left]].due < state->calls[state->heap[right]].due;
}

static void heap_swap(copilot_state *state, uint32_t left, uint32_t right) {
    uint32_t call = state->heap[left];
    state->heap[left] = state->heap[right];
    state->heap[right] = call;
    state->calls[state->heap[left]].heap_slot = left;
    state->calls[state->heap[right]].heap_slot = right;
}

static void sift_up(copilot_state *state, uint32_t slot) {
    while (slot > 0) {
        uint32_t parent = (slot - 1) / 2;
        if (!earlier(state, slot, parent)) {
            return;
        }
        heap_swap(state, slot, parent);
        slot = parent;
    }
}

static void sift_down(copilot_state *state, uint32_t slot) {
    for (;;) {
        uint32_t smallest = slot;
        uint32_t left = 2 * slot + 1;
        uint32_t right = left + 1;
        if (left < state->heap_count && earlier(state, left, smallest)) {
            smallest = left;
        }
        if (right < state->heap_count && earlier(state, right, smallest)) {
            smallest = right;
        }
        if (smallest == slot) {
            return;
        }
        heap_swap(state, slot, smallest);
        slot = smallest;
    }
}

/* Schedules `action` for call `index` at `due` (a call has at most one scheduled action). */
static void schedule(copilot_state *state, uint32_t index, uint8_t action, uint64_t due) {
    copilot_call *call = &state->calls[index];
    call->next_action = action;
    call->due = due;
    if (call->heap_slot == NOT_IN_HEAP) {
        call->heap_slot = state->heap_count;
        state->heap[state->heap_count++] = index;
        sift_up(state, call->heap_slot);
    } else {
        sift_up(state, call->heap_slot);
        sift_down(state, call->heap_slot);
    }
}

static uint32_t pop_earliest(copilot_state *state) {
    uint32_t index = state->heap[0];
    state->calls[index].heap_slot = NOT_IN_HEAP;
    state->heap_count--;
    if (state->heap_count > 0) {
        state->heap[0] = state->heap[state->heap_count];
        state->calls[state->heap[0]].heap_slot = 0;
        sift_down(state, 0);
    }
    return index;
}

static void clear_schedule(copilot_state *state) {
    for (uint32_t slot = 0; slot < state->heap_count; slot++) {
        state->calls[state->heap[slot]].heap_slot = NOT_IN_HEAP;
        state->calls[state->heap[slot]].next_action = ACTION_NONE;
    }
    state->heap_count = 0;
}

/* ------------------------------------------------------------------------------------------ */
/* The server process, from /proc                                                             */

/* Adds up the server's threads (see thread_snapshot); `valid` stays 0 if /proc cannot be read. */
static void read_threads(int pid, thread_snapshot *into) {
    memset(into, 0, sizeof(*into));
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/task", pid);
    DIR *tasks = opendir(path);
    if (tasks == NULL) {
        return;
    }
    double ticks_per_second = (double)sysconf(_SC_CLK_TCK);
    struct dirent *entry;
    while ((entry = readdir(tasks)) != NULL) {
        if (entry->d_name[0] < '0' || entry->d_name[0] > '9') {
            continue;
        }
        char file_path[320]; /* /proc/PID/task/ + a name of up to 255 bytes */
        char text[2048];
        snprintf(file_path, sizeof(file_path), "/proc/%d/task/%s/stat", pid, entry->d_name);
        FILE *file = fopen(file_path, "r");
        if (file == NULL) {
            continue; /* the thread just ended */
        }
        size_t length = fread(text, 1, sizeof(text) - 1, file);
        fclose(file);
        text[length] = '\0';
        char *open = strchr(text, '(');
        char *close = strrchr(text, ')');
        unsigned long long user = 0;
        unsigned long long system = 0;
        if (open == NULL || close == NULL || close < open ||
            sscanf(close + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &user, &system) != 2) {
            continue;
        }
        double seconds = (double)(user + system) / ticks_per_second;
        if (close - open > 5 && strncmp(open + 1, "loop-", 5) == 0) {
            into->loop_seconds += seconds;
        } else {
            into->other_seconds += seconds;
        }
        into->threads++;
        snprintf(file_path, sizeof(file_path), "/proc/%d/task/%s/status", pid, entry->d_name);
        file = fopen(file_path, "r");
        if (file != NULL) {
            char line[256];
            unsigned long long switches = 0;
            while (fgets(line, sizeof(line), file) != NULL) {
                if (sscanf(line, "voluntary_ctxt_switches: %llu", &switches) == 1 ||
                    sscanf(line, "nonvoluntary_ctxt_switches: %llu", &switches) == 1) {
                    into->context_switches += switches;
                }
            }
            fclose(file);
        }
    }
    closedir(tasks);
    into->valid = into->threads > 0;
}

/* Reads VmRSS of the server process (KiB), or -1. */
static long long read_rss_kib(int pid) {
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/status", pid);
    FILE *file = fopen(path, "r");
    if (file == NULL) {
        return -1;
    }
    char line[256];
    long long kib = -1;
    while (fgets(line, sizeof(line), file) != NULL) {
        if (sscanf(line, "VmRSS: %lld kB", &kib) == 1) {
            break;
        }
    }
    fclose(file);
    return kib;
}

/* ------------------------------------------------------------------------------------------ */
/* Set-up                                                                                     */

void copilot_set_up(loadgen *generator) {
    const run_options *options = &generator->options;
    copilot_state *state = calloc(1, sizeof(copilot_state));
    if (state == NULL || (state->calls = calloc(options->connections, sizeof(copilot_call))) == NULL ||
        (state->heap = calloc(options->connections, sizeof(uint32_t))) == NULL) {
        die("out of memory for %u calls", options->connections);
    }
    generator->workload_state = state;
    state->period_ns = seconds_to_ns(options->segment_interval);
    state->warmup_ns = (int64_t)seconds_to_ns(options->call_warmup * options->time_scale);
    state->interval_ns = (int64_t)seconds_to_ns(options->call_interval * options->time_scale);
    state->llm_delay_ns = (int64_t)(options->llm_delay_ms * 1e6);
    state->server_rss_kib = -1;
    for (uint32_t index = 0; index < options->connections; index++) {
        state->calls[index].heap_slot = NOT_IN_HEAP;
        /* Golden-ratio sequence: consecutive calls land far apart and all slots stay evenly spread. */
        double fraction = (double)index * 0.6180339887498949;
        fraction -= (double)(uint64_t)fraction;
        state->calls[index].slot_offset = (uint64_t)(fraction * (double)state->period_ns);
    }
    if (options->api_key != NULL) {
        if (!sio_is_plain_json_string((const uint8_t *)options->api_key, strlen(options->api_key)) ||
            strlen(options->api_key) > 400) {
            die("--api-key must be printable ASCII without quotes, backslashes or <>&'/ (at most 400 bytes)");
        }
        snprintf(state->connect_packet, sizeof(state->connect_packet), "40{\"apiKey\":\"%s\"}", options->api_key);
    } else {
        snprintf(state->connect_packet, sizeof(state->connect_packet), "40");
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Sending                                                                                    */

/* Queues `42<id>["<name>",<argument>]` with a fresh ack id and remembers it; then writes. */
static int send_acked_event(loadgen *generator, connection *conn, copilot_call *call, uint8_t kind, const char *name,
                            const char *argument, uint64_t now) {
    if (call->ack_count == ACK_RING) {
        copilot_state *state = state_of(generator);
        state->sends_skipped++;
        record_error(generator, conn, ERROR_STALL, "%u acks outstanding, oldest %.1f s; %s not sent", ACK_RING,
                     (double)(now - call->acks[call->ack_head].sent_at) / 1e9, name);
        return 0;
    }
    char packet[4096];
    uint64_t id = call->next_ack_id++;
    int length = snprintf(packet, sizeof(packet), "42%" PRIu64 "[\"%s\",%s]", id, name, argument);
    if (length < 0 || (size_t)length >= sizeof(packet)) {
        die("a %s event does not fit in %zu bytes", name, sizeof(packet));
    }
    if (queue_frame(generator, conn, WS_OPCODE_TEXT, (const uint8_t *)packet, (size_t)length) != 0) {
        return -1;
    }
    pending_ack *slot = &call->acks[(call->ack_head + call->ack_count) % ACK_RING];
    slot->id = id;
    slot->sent_at = now;
    slot->kind = kind;
    call->ack_count++;
    generator->sent++;
    return flush_output(generator, conn);
}

static int send_start(loadgen *generator, connection *conn, copilot_call *call, uint64_t now) {
    const run_options *options = &generator->options;
    char argument[512];
    snprintf(argument, sizeof(argument),
             "{\"mode\":\"auto\",\"warmupSeconds\":%u,\"intervalSeconds\":%u,\"metadata\":{\"agentName\":\"Bench "
             "Agent\",\"accountName\":\"Call %u\",\"product\":\"Earpiece\",\"dealStage\":\"discovery\","
             "\"competitors\":[\"Supportly\"]}}",
             options->call_warmup, options->call_interval, conn->index);
    call->phase = CALL_STARTING;
    return send_acked_event(generator, conn, call, ACK_START, "START_CONVERSATION", argument, now);
}

static int send_transcript(loadgen *generator, connection *conn, copilot_call *call, uint64_t now) {
    const run_options *options = &generator->options;
    uint64_t number = call->segments_sent++;
    int agent = number % 2 == 0;
    const char *text = (agent ? agent_lines : customer_lines)[(number / 2 + conn->index) % LINE_COUNT];
    /* Call time runs 1/scale faster than ours; a 20-word segment takes about 8 s at 150 words a minute. */
    uint64_t call_ms_per_segment = (uint64_t)(options->segment_interval * 1000.0 / options->time_scale);
    uint64_t start_ms = number * call_ms_per_segment + 500u;
    uint64_t end_ms = start_ms + (call_ms_per_segment * 2u) / 5u;
    char times[64] = "";
    if (end_ms <= 86400000u) { /* the protocol's largest time; past it the segment goes without times */
        snprintf(times, sizeof(times), ",\"startMs\":%" PRIu64 ",\"endMs\":%" PRIu64, start_ms, end_ms);
    }
    char argument[1024];
    snprintf(argument, sizeof(argument),
             "{\"conversationId\":\"%s\",\"segmentId\":\"seg-%06" PRIu64 "\",\"speaker\":\"%s\",\"text\":\"%s\"%s}",
             call->conversation_id, number + 1, agent ? "agent" : "customer", text, times);
    return send_acked_event(generator, conn, call, ACK_TRANSCRIPT, "TRANSCRIPT", argument, now);
}

static int send_end(loadgen *generator, connection *conn, copilot_call *call, uint64_t now) {
    char argument[256];
    snprintf(argument, sizeof(argument), "{\"conversationId\":\"%s\"}", call->conversation_id);
    call->phase = CALL_ENDING;
    return send_acked_event(generator, conn, call, ACK_END, "END_CONVERSATION", argument, now);
}

/* The first time >= `earliest` that falls on this call's slot of the transcript period. */
static uint64_t next_slot(const copilot_state *state, const copilot_call *call, uint64_t earliest) {
    uint64_t base = state->ramp_begin + call->slot_offset;
    if (earliest <= base) {
        return base;
    }
    uint64_t periods = (earliest - base + state->period_ns - 1) / state->period_ns;
    return base + periods * state->period_ns;
}

/* Spreads `action` over the ramp for every call in `phase`, in index order. Returns how many. */
static uint64_t schedule_ramp(loadgen *generator, uint8_t phase, uint8_t action, uint64_t now) {
    copilot_state *state = state_of(generator);
    uint32_t count = 0;
    for (uint32_t index = 0; index < generator->options.connections; index++) {
        count += state->calls[index].phase == phase && generator->connections[index].state == CONN_OPEN;
    }
    uint64_t ramp = seconds_to_ns(generator->options.ramp);
    uint32_t rank = 0;
    for (uint32_t index = 0; index < generator->options.connections; index++) {
        if (state->calls[index].phase == phase && generator->connections[index].state == CONN_OPEN) {
            schedule(state, index, action, now + (uint64_t)((double)ramp * ((double)rank + 0.5) / (double)count));
            rank++;
        }
    }
    return count;
}

/* Once per loop iteration: start the ramp when the connect phase is over, then run due actions. */
static void copilot_tick(loadgen *generator) {
    copilot_state *state = state_of(generator);
    if (generator->phase == PHASE_CONNECT || generator->phase == PHASE_DONE) {
        return;
    }
    uint64_t now = monotonic_ns();
    if (generator->measuring && !state->window_opened) {
        state->window_opened = 1;
        if (generator->options.server_pid > 0) {
            read_threads(generator->options.server_pid, &state->threads_at_start);
        }
    }
    if (!state->ramp_started) {
        state->ramp_started = 1;
        state->ramp_begin = now;
        (void)schedule_ramp(generator, CALL_READY, ACTION_START, now);
    }
    int sending_transcripts = generator->phase == PHASE_WARMUP || generator->phase == PHASE_MEASURE;
    while (state->heap_count > 0 && state->calls[state->heap[0]].due <= now) {
        uint32_t index = pop_earliest(state);
        copilot_call *call = &state->calls[index];
        connection *conn = &generator->connections[index];
        uint8_t action = call->next_action;
        uint64_t due = call->due;
        call->next_action = ACTION_NONE;
        if (conn->state != CONN_OPEN) {
            continue;
        }
        switch (action) {
        case ACTION_START:
            (void)send_start(generator, conn, call, now);
            break;
        case ACTION_TRANSCRIPT:
            if (sending_transcripts && call->phase == CALL_ACTIVE) {
                /* Keep the slot even if this send ran late, so the load stays even. */
                schedule(state, index, ACTION_TRANSCRIPT, next_slot(state, call, due + 1));
                (void)send_transcript(generator, conn, call, now);
            }
            break;
        case ACTION_END:
            if (call->phase == CALL_ACTIVE) {
                (void)send_end(generator, conn, call, now);
            }
            break;
        default:
            break;
        }
    }
}

static uint64_t copilot_next_wakeup(const loadgen *generator) {
    const copilot_state *state = generator->workload_state;
    return state->heap_count > 0 ? state->calls[state->heap[0]].due : 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Receiving                                                                                  */

#define QUOTE(length, bytes) (int)((length) < 160 ? (length) : 160), (const char *)(bytes)

static int handle_ack(loadgen *generator, connection *conn, copilot_call *call, const sio_packet *packet) {
    copilot_state *state = state_of(generator);
    if (!packet->has_ack_id || call->ack_count == 0 || call->acks[call->ack_head].id != packet->ack_id) {
        record_error(generator, conn, ERROR_VERIFY, "ack %" PRIu64 " answers no event in flight (expected %s)",
                     packet->ack_id, call->ack_count ? "the oldest first" : "none");
        return 0;
    }
    pending_ack ack = call->acks[call->ack_head];
    call->ack_head = (call->ack_head + 1) % ACK_RING;
    call->ack_count--;
    const uint8_t *object = NULL;
    size_t object_length = 0;
    int ok = 0;
    if (copilot_parse_ack(packet->data, packet->data_length, &object, &object_length) != COPILOT_OK ||
        copilot_get_bool(object, object_length, "ok", &ok) != COPILOT_OK) {
        record_error(generator, conn, ERROR_PROTOCOL, "%s ack is not [{\"ok\":...}]: \"%.*s\"",
                     ack_event_names[ack.kind], QUOTE(packet->data_length, packet->data));
        return 0;
    }
    if (!ok) {
        state->acks_refused++;
        record_error(generator, conn, ERROR_VERIFY, "%s refused: %.*s", ack_event_names[ack.kind],
                     QUOTE(object_length, object));
        return 0;
    }
    uint64_t latency = generator->now > ack.sent_at ? generator->now - ack.sent_at : 0;
    switch (ack.kind) {
    case ACK_START: {
        char id[COPILOT_MAX_ID + 1];
        if (copilot_get_string(object, object_length, "conversationId", id, sizeof(id)) != COPILOT_OK ||
            !copilot_is_id((const uint8_t *)id, strlen(id))) {
            record_error(generator, conn, ERROR_VERIFY, "START_CONVERSATION ack without a valid conversationId: %.*s",
                         QUOTE(object_length, object));
            return 0;
        }
        memcpy(call->conversation_id, id, strlen(id) + 1);
        call->id_length = (uint8_t)strlen(id);
        call->phase = CALL_ACTIVE;
        state->calls_started++;
        histogram_record(&state->start_ack_latency, latency);
        if (generator->phase == PHASE_WARMUP || generator->phase == PHASE_MEASURE) {
            schedule(state, conn->index, ACTION_TRANSCRIPT,
                     next_slot(state, call, generator->now + FIRST_SEGMENT_GAP_NS));
        }
        return 0;
    }
    case ACK_TRANSCRIPT:
        generator->received++;
        if (generator->measuring) {
            histogram_record(&generator->latency, latency);
        }
        return 0;
    default:
        return 0;
    }
}

/*
 * How late the fake LLM answered this tip, from its headline (copilot.h), in ns; -1 when the headline
 * does not carry it (another LLM, or the server rewrote the headline).
 */
static int64_t fake_lateness(const copilot_event *event) {
    char headline[256];
    if (copilot_get_string(event->argument, event->argument_length, "headline", headline, sizeof(headline)) !=
        COPILOT_OK) {
        return -1;
    }
    size_t length = strlen(headline);
    size_t prefix = strlen(COPILOT_FAKE_LATE_PREFIX);
    size_t suffix = strlen(COPILOT_FAKE_LATE_SUFFIX);
    if (length < prefix + COPILOT_FAKE_LATE_DIGITS + suffix ||
        strcmp(headline + length - suffix, COPILOT_FAKE_LATE_SUFFIX) != 0) {
        return -1;
    }
    const char *digits = headline + length - suffix - COPILOT_FAKE_LATE_DIGITS;
    if (memcmp(digits - prefix, COPILOT_FAKE_LATE_PREFIX, prefix) != 0) {
        return -1;
    }
    uint64_t microseconds = 0;
    if (sio_read_decimal((const uint8_t *)digits, COPILOT_FAKE_LATE_DIGITS, &microseconds) != 0) {
        return -1;
    }
    return (int64_t)microseconds * 1000;
}

/* An AI_TIP: count it, and time it against the tick it answers (see the file comment). */
static void handle_tip(loadgen *generator, connection *conn, copilot_call *call, const copilot_event *event) {
    copilot_state *state = state_of(generator);
    char source[16];
    char trigger[16];
    uint64_t latency_ms = 0;
    if (copilot_get_string(event->argument, event->argument_length, "source", source, sizeof(source)) != COPILOT_OK ||
        copilot_get_string(event->argument, event->argument_length, "trigger", trigger, sizeof(trigger)) !=
            COPILOT_OK ||
        copilot_get_uint(event->argument, event->argument_length, "latencyMs", &latency_ms) != COPILOT_OK) {
        record_error(generator, conn, ERROR_PROTOCOL, "AI_TIP without source, trigger or latencyMs: %.*s",
                     QUOTE(event->argument_length, event->argument));
        return;
    }
    state->tips_total++;
    if (strcmp(source, "llm") == 0) {
        state->tips_llm++;
    } else if (strcmp(source, "rules") == 0) {
        if (state->tips_rules++ < RULE_TIP_NOTES) {
            fprintf(stderr, "loadgen: conn %u: note: tip from the rule coach (the LLM failed or missed its deadline), "
                            "latencyMs %" PRIu64 "\n",
                    conn->index, latency_ms);
        }
    } else {
        record_error(generator, conn, ERROR_VERIFY, "AI_TIP with source \"%s\"", source);
    }
    if (strcmp(trigger, "auto") != 0) {
        state->tips_requested++; /* we never ask; a requested tip means the server mixed calls up */
        record_error(generator, conn, ERROR_VERIFY, "AI_TIP with trigger \"%s\"; this benchmark asks for none", trigger);
        return;
    }
    if (call->tick_due == 0) {
        record_error(generator, conn, ERROR_VERIFY, "AI_TIP before CONVERSATION_STARTED");
        return;
    }
    int64_t now = (int64_t)generator->now;
    int64_t due = call->tick_due;
    /* A tick skipped (nothing new said, or the coach had nothing to add) moves the next one on an interval. */
    if (now - due >= state->interval_ns) {
        int64_t skipped = (now - due) / state->interval_ns;
        due += skipped * state->interval_ns;
        state->ticks_without_tip += (uint64_t)skipped;
        call->ticks += (uint64_t)skipped;
    }
    /* How far the protocol's schedule has moved from a fixed one (accumulated timer lateness). */
    int64_t fixed = (int64_t)call->started_at + state->warmup_ns + (int64_t)call->ticks * state->interval_ns;
    if (due - fixed > state->tick_drift_max) {
        state->tick_drift_max = due - fixed;
    }
    call->ticks++;
    /* The LLM's time is the fixed delay plus however late the fake itself woke up to answer. */
    int64_t llm_time = state->llm_delay_ns;
    int64_t late = fake_lateness(event);
    if (late >= 0) {
        llm_time += late;
    } else {
        state->tips_without_lateness++;
    }
    int64_t overhead = now - due - llm_time;
    int64_t server_overhead = (int64_t)latency_ms * 1000000 - llm_time;
    if (generator->measuring) {
        state->tips_window++;
        histogram_record(&state->fake_lateness, late > 0 ? (uint64_t)late : 0);
        if (overhead < 0) {
            state->tip_negative++;
        }
        histogram_record(&state->tip_overhead, overhead > 0 ? (uint64_t)overhead : 0);
        histogram_record(&state->tip_server_overhead, server_overhead > 0 ? (uint64_t)server_overhead : 0);
    }
    /* The next tick: an interval after this tip's trigger, which the server timed as latencyMs before it sent. */
    int64_t trigger_at = now - (int64_t)latency_ms * 1000000 - 500000;
    if (trigger_at < due - 1000000) {
        trigger_at = due - 1000000; /* a tick never fires early; more than the truncation means a bad latencyMs */
    }
    call->tick_due = trigger_at + state->interval_ns;
}

static void handle_event(loadgen *generator, connection *conn, copilot_call *call, const sio_packet *packet) {
    copilot_state *state = state_of(generator);
    copilot_event event;
    copilot_result result = copilot_parse_event(packet->data, packet->data_length, &event);
    if (result != COPILOT_OK) {
        record_error(generator, conn, ERROR_PROTOCOL, "event is not [\"NAME\",{...}] (%s): \"%.*s\"",
                     copilot_result_name(result), QUOTE(packet->data_length, packet->data));
        return;
    }
    if (copilot_span_equals(event.name, event.name_length, "AI_TIP_PARTIAL")) {
        state->partials++;
        return;
    }
    if (copilot_span_equals(event.name, event.name_length, "ERROR")) {
        state->error_events++;
        record_error(generator, conn, ERROR_VERIFY, "ERROR event: %.*s", QUOTE(event.argument_length, event.argument));
        return;
    }
    char id[COPILOT_MAX_ID + 1];
    if (copilot_get_string(event.argument, event.argument_length, "conversationId", id, sizeof(id)) != COPILOT_OK) {
        record_error(generator, conn, ERROR_PROTOCOL, "%.*s without a conversationId", (int)event.name_length,
                     (const char *)event.name);
        return;
    }
    if (call->id_length == 0 || strcmp(id, call->conversation_id) != 0) {
        record_error(generator, conn, ERROR_VERIFY, "%.*s for conversation %s, ours is %s", (int)event.name_length,
                     (const char *)event.name, id, call->id_length ? call->conversation_id : "not started");
        return;
    }
    if (copilot_span_equals(event.name, event.name_length, "AI_TIP")) {
        handle_tip(generator, conn, call, &event);
    } else if (copilot_span_equals(event.name, event.name_length, "CONVERSATION_STARTED")) {
        if (call->started_at != 0) {
            record_error(generator, conn, ERROR_VERIFY, "a second CONVERSATION_STARTED");
            return;
        }
        state->conversations++;
        call->started_at = generator->now;
        call->tick_due = (int64_t)generator->now + state->warmup_ns;
    } else if (copilot_span_equals(event.name, event.name_length, "CONVERSATION_ENDED")) {
        const uint8_t *summary = NULL;
        size_t summary_length = 0;
        char source[16] = "";
        if (copilot_get_object(event.argument, event.argument_length, "summary", &summary, &summary_length) !=
                COPILOT_OK ||
            copilot_get_string(summary, summary_length, "source", source, sizeof(source)) != COPILOT_OK) {
            record_error(generator, conn, ERROR_PROTOCOL, "CONVERSATION_ENDED without summary.source");
        } else if (strcmp(source, "llm") == 0) {
            state->summaries_llm++;
        } else {
            state->summaries_rules++;
        }
        if (call->phase == CALL_ENDING) {
            state->ended++;
        } else {
            record_error(generator, conn, ERROR_VERIFY, "CONVERSATION_ENDED that we did not ask for");
        }
        call->phase = CALL_ENDED;
    } else if (!copilot_span_equals(event.name, event.name_length, "PONG")) {
        record_error(generator, conn, ERROR_VERIFY, "unexpected event %.*s", (int)event.name_length,
                     (const char *)event.name);
    }
}

static int copilot_on_open(loadgen *generator, connection *conn) {
    state_of(generator)->calls[conn->index].phase = CALL_JOINING;
    return sio_session_on_open(generator, conn);
}

static int copilot_on_message(loadgen *generator, connection *conn, int opcode, const uint8_t *payload,
                              size_t length) {
    copilot_state *state = state_of(generator);
    copilot_call *call = &state->calls[conn->index];
    sio_packet packet;
    switch (sio_session_on_message(generator, conn, opcode, payload, length, state->connect_packet, &packet)) {
    case SIO_SESSION_JOINED: call->phase = CALL_READY; return 0;
    case SIO_SESSION_FAILED: return -1;
    case SIO_SESSION_HANDLED: return 0;
    case SIO_SESSION_PACKET: break;
    }
    switch (packet.type) {
    case SIO_ACK: return handle_ack(generator, conn, call, &packet);
    case SIO_EVENT: handle_event(generator, conn, call, &packet); return 0;
    default:
        record_error(generator, conn, ERROR_PROTOCOL, "unexpected Socket.IO packet type %u", packet.type);
        return 0;
    }
}

/*
 * First call at the end of the window: the server's memory, the ticks that went without a tip, and
 * the END_CONVERSATIONs. Then: whether CONVERSATION_ENDEDs are still expected.
 */
static int copilot_still_draining(loadgen *generator) {
    copilot_state *state = state_of(generator);
    uint32_t calls = generator->options.connections;
    if (!state->window_closed) {
        state->window_closed = 1;
        if (generator->options.server_pid > 0) {
            state->server_rss_kib = read_rss_kib(generator->options.server_pid);
            read_threads(generator->options.server_pid, &state->threads_at_end);
        }
        int64_t now = (int64_t)generator->now;
        for (uint32_t index = 0; index < calls; index++) {
            copilot_call *call = &state->calls[index];
            if (call->phase != CALL_ACTIVE || generator->connections[index].state != CONN_OPEN) {
                continue;
            }
            state->calls_active_at_window_end++;
            /* A tick due a whole interval ago has had ten times the LLM delay to produce its tip. */
            if (call->tick_due != 0 && now - call->tick_due >= state->interval_ns) {
                state->ticks_without_tip += (uint64_t)((now - call->tick_due) / state->interval_ns);
            }
        }
        clear_schedule(state);
        if (generator->options.end_calls) {
            state->ends_expected = schedule_ramp(generator, CALL_ACTIVE, ACTION_END, generator->now);
        }
    }
    if (!generator->options.end_calls) {
        return 0;
    }
    for (uint32_t index = 0; index < calls; index++) {
        const copilot_call *call = &state->calls[index];
        int waiting = (call->phase == CALL_ACTIVE && call->next_action == ACTION_END) || call->phase == CALL_ENDING;
        if (waiting && generator->connections[index].state == CONN_OPEN) {
            return 1; /* its END_CONVERSATION is still to be sent, or its CONVERSATION_ENDED to arrive */
        }
    }
    return 0;
}

/* At the end: acks outstanding for more than STALL_LIMIT_NS mean the server lost or stalled them. */
static void copilot_on_finish(loadgen *generator, connection *conn) {
    copilot_call *call = &state_of(generator)->calls[conn->index];
    if (call->ack_count == 0) {
        return;
    }
    pending_ack *oldest = &call->acks[call->ack_head];
    /* Sends are stamped with a fresh clock in copilot_tick, so generator->now may be older than them. */
    uint64_t now = monotonic_ns();
    uint64_t age = now > oldest->sent_at ? now - oldest->sent_at : 0;
    if (age > generator->oldest_unanswered) {
        generator->oldest_unanswered = age;
    }
    if (age > STALL_LIMIT_NS) {
        record_error(generator, conn, ERROR_STALL, "%u acks outstanding, %s #%" PRIu64 " for %.1f s", call->ack_count,
                     ack_event_names[oldest->kind], oldest->id, (double)age / 1e9);
    }
}

static void print_histogram(const char *prefix, const histogram *h) {
    printf(" %s_p50_us=%.1f %s_p90_us=%.1f %s_p99_us=%.1f %s_max_us=%.1f", prefix,
           (double)histogram_percentile(h, 0.5) / 1e3, prefix, (double)histogram_percentile(h, 0.9) / 1e3, prefix,
           (double)histogram_percentile(h, 0.99) / 1e3, prefix, (double)h->maximum / 1e3);
}

static int copilot_report(loadgen *generator) {
    const run_options *options = &generator->options;
    copilot_state *state = state_of(generator);
    int complete = run_completed(generator);
    printf("mode=copilot tls=%d conns=%u established=%u open_at_end=%u calls_started=%" PRIu64
           " conversations=%" PRIu64 " calls_active=%" PRIu64,
           options->tls, options->connections, generator->established, generator->open_at_finish,
           state->calls_started, state->conversations, state->calls_active_at_window_end);
    printf(" time_scale=%g call_warmup=%u call_interval=%u segment_interval=%g ramp=%g llm_delay_ms=%g",
           options->time_scale, options->call_warmup, options->call_interval, options->segment_interval,
           options->ramp, options->llm_delay_ms);
    print_window_figures(generator);
    printf(" ack_p90_us=%.1f", (double)histogram_percentile(&generator->latency, 0.9) / 1e3);
    print_histogram("start_ack", &state->start_ack_latency);
    const snapshot *start = &generator->window_start;
    const snapshot *end = &generator->window_end;
    double seconds = end->time > start->time ? (double)(end->time - start->time) / 1e9 : 0;
    printf(" tips=%" PRIu64 " tips_per_sec=%.1f tips_total=%" PRIu64 " tips_llm=%" PRIu64 " tips_rules=%" PRIu64
           " tips_requested=%" PRIu64 " partials=%" PRIu64,
           state->tips_window, seconds > 0 ? (double)state->tips_window / seconds : 0.0, state->tips_total,
           state->tips_llm, state->tips_rules, state->tips_requested, state->partials);
    print_histogram("tip", &state->tip_overhead);
    print_histogram("tip_server", &state->tip_server_overhead);
    print_histogram("fake_late", &state->fake_lateness);
    printf(" tips_without_lateness=%" PRIu64 " tip_negative=%" PRIu64 " ticks_without_tip=%" PRIu64
           " tick_drift_max_ms=%.1f",
           state->tips_without_lateness, state->tip_negative, state->ticks_without_tip,
           (double)state->tick_drift_max / 1e6);
    printf(" acks_refused=%" PRIu64 " error_events=%" PRIu64 " sends_skipped=%" PRIu64, state->acks_refused,
           state->error_events, state->sends_skipped);
    printf(" ends_expected=%" PRIu64 " ended=%" PRIu64 " summaries_llm=%" PRIu64 " summaries_rules=%" PRIu64
           " drain_seconds=%.3f",
           state->ends_expected, state->ended, state->summaries_llm, state->summaries_rules,
           generator->window_ended_at > 0 ? (double)(generator->now - generator->window_ended_at) / 1e9 : 0.0);
    printf(" server_rss_kib=%lld engine_pings=%llu", state->server_rss_kib, (unsigned long long)generator->engine_pings);
    const thread_snapshot *before = &state->threads_at_start;
    const thread_snapshot *after = &state->threads_at_end;
    if (before->valid && after->valid && seconds > 0) {
        /* Thread CPU comes in clock ticks (10 ms): good to a percent over a window of seconds. */
        printf(" server_threads=%u server_loop_cpu_util=%.3f server_other_cpu_util=%.3f server_switches_per_sec=%.0f",
               after->threads, (after->loop_seconds - before->loop_seconds) / seconds,
               (after->other_seconds - before->other_seconds) / seconds,
               (double)(after->context_switches - before->context_switches) / seconds);
    }
    print_errors(generator);
    printf(" stop=%s status=%s\n", generator->stop_reason ? generator->stop_reason : "none",
           run_status(generator, complete));
    fflush(stdout);
    return complete && total_errors(generator) == 0 ? 0 : 1;
}

const workload copilot_workload = {
    .name = "copilot",
    .session_handshake = 1,
    .on_open = copilot_on_open,
    .on_message = copilot_on_message,
    .on_tick = copilot_tick,
    .next_wakeup = copilot_next_wakeup,
    .still_draining = copilot_still_draining,
    .on_finish = copilot_on_finish,
    .report = copilot_report,
};

#endif
