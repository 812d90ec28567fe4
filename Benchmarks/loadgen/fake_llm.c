/*
 * fake_llm.c - a fake OpenAI chat completions server for the copilot benchmark: one thread, epoll,
 * HTTP/1.1 keep-alive, and every answer after the same fixed delay.
 *
 *   POST /v1/chat/completions   answers after --delay-ms, in OpenAI's wire format: a JSON
 *                               `chat.completion`, or with "stream": true a text/event-stream of
 *                               `chat.completion.chunk`s (the answer cut into 8 to 16 character
 *                               pieces, the usage chunk when stream_options.include_usage, then
 *                               `data: [DONE]`), the whole stream in one write once the delay is over.
 *                               The content follows response_format.json_schema.name: `coaching_tip`
 *                               gets an objection tip, `call_summary` notes and action items, anything
 *                               else "LLM: ok". `Authorization: Bearer <--api-key>` is checked.
 *                               The tip's headline ends in " [fake LLM late NNNNNN us]": how late
 *                               this answer left (copilot.h), so the benchmark can take the fake's
 *                               own wake-up delay off the tip's overhead.
 *   GET /_health                {"status":"ok"}
 *   GET /_stats                 the counters below, as JSON
 *
 * Tests/Interop/fake_openai.py is the reference for the wire format (same tip, same summary, same
 * piece sizes, same headers). This one exists because the benchmark needs about 700 answers a second
 * with ~200 in flight, exactly on time, for little CPU: the delay is subtracted from the measured tip
 * latency, so a fake that answers late would be counted against the server. Every answer's lateness
 * (send time minus due time) is kept in a histogram and printed at the end.
 *
 * Because every answer has the same delay, answers fall due in the order their requests arrived:
 * the pending answers are a FIFO ring, and a timerfd is armed (absolute, nanoseconds) for the oldest
 * one. Not an epoll timeout: the kernel lets a poll timeout slip by 0.1% of its length (300 us on a
 * 300 ms wait, `select_estimate_accuracy`), whatever the timer slack.
 *
 * On SIGTERM or SIGINT it prints one key=value line to stdout and exits 0:
 *   requests tips summaries texts streamed unauthorized bad_requests not_found abandoned
 *   connections refused_connections max_open late_p50_us late_p99_us late_max_us cpu_seconds
 *   cpu_us_per_request
 * `abandoned` counts requests whose client closed the connection before the answer was due (the
 * server gave up, for example at its LLM deadline).
 *
 * usage: fake_llm --port N [--host 127.0.0.1] [--delay-ms 300] [--api-key sk-bench]
 *                 [--max-connections 8192] [--piece-size 0]
 *   --api-key "" accepts any Authorization.
 *   --piece-size N streams the content in pieces of N bytes (0, the default: 8 to 16 like OpenAI;
 *   a large N sends it in one piece, to see what each streamed chunk costs the server).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "copilot.h"
#include "hist.h"
#include "sio.h"

/* ------------------------------------------------------------------------------------------ */
/* Request reader (pure)                                                                      */

/* RFC 9110 tchar. */
static int is_token_byte(uint8_t byte) {
    if ((byte >= '0' && byte <= '9') || (byte >= 'a' && byte <= 'z') || (byte >= 'A' && byte <= 'Z')) {
        return 1;
    }
    return byte != 0 && strchr("!#$%&'*+-.^_`|~", byte) != NULL;
}

static uint8_t lower(uint8_t byte) {
    return byte >= 'A' && byte <= 'Z' ? (uint8_t)(byte + 32) : byte;
}

/* Case-insensitive comparison of a span with a lower-case literal. */
static int span_equals_lower(const uint8_t *bytes, size_t length, const char *literal) {
    size_t literal_length = strlen(literal);
    if (length != literal_length) {
        return 0;
    }
    for (size_t index = 0; index < length; index++) {
        if (lower(bytes[index]) != (uint8_t)literal[index]) {
            return 0;
        }
    }
    return 1;
}

/* Whether the comma-separated token list `value` holds `token` (case-insensitive). */
static int list_contains(const uint8_t *value, size_t length, const char *token) {
    size_t position = 0;
    while (position < length) {
        while (position < length && (value[position] == ' ' || value[position] == '\t' || value[position] == ',')) {
            position++;
        }
        size_t start = position;
        while (position < length && value[position] != ',') {
            position++;
        }
        size_t end = position;
        while (end > start && (value[end - 1] == ' ' || value[end - 1] == '\t')) {
            end--;
        }
        if (end > start && span_equals_lower(value + start, end - start, token)) {
            return 1;
        }
    }
    return 0;
}

static llm_method method_of(const uint8_t *bytes, size_t length) {
    if (length == 3 && memcmp(bytes, "GET", 3) == 0) {
        return LLM_METHOD_GET;
    }
    if (length == 4 && memcmp(bytes, "POST", 4) == 0) {
        return LLM_METHOD_POST;
    }
    if (length == 6 && memcmp(bytes, "DELETE", 6) == 0) {
        return LLM_METHOD_DELETE;
    }
    return LLM_METHOD_OTHER;
}

/* Parses `METHOD SP target SP HTTP/1.x` ending at `line_end` (the CR). */
static llm_parse_result parse_request_line(const uint8_t *bytes, size_t line_end, llm_request *request,
                                           int *minor_version) {
    size_t position = 0;
    while (position < line_end && position < 16 && is_token_byte(bytes[position])) {
        position++;
    }
    if (position == 0 || position >= line_end || bytes[position] != ' ') {
        return LLM_BAD_REQUEST_LINE;
    }
    request->method = method_of(bytes, position);
    size_t target_start = ++position;
    while (position < line_end && bytes[position] > 0x20 && bytes[position] < 0x7F) {
        position++;
    }
    if (position == target_start || position >= line_end || bytes[position] != ' ') {
        return LLM_BAD_REQUEST_LINE;
    }
    request->target = bytes + target_start;
    request->target_length = position - target_start;
    position++;
    if (line_end - position != 8 || memcmp(bytes + position, "HTTP/", 5) != 0 || bytes[position + 6] != '.' ||
        bytes[position + 5] < '0' || bytes[position + 5] > '9' || bytes[position + 7] < '0' || bytes[position + 7] > '9') {
        return LLM_BAD_REQUEST_LINE;
    }
    if (bytes[position + 5] != '1' || bytes[position + 7] > '1') {
        return LLM_UNSUPPORTED_VERSION;
    }
    *minor_version = bytes[position + 7] - '0';
    return LLM_REQUEST_OK;
}

/* Content-Length: 1 to 10 digits, at most LLM_MAX_BODY. */
static llm_parse_result parse_content_length(const uint8_t *value, size_t length, size_t *result) {
    if (length == 0 || length > 10) {
        return length > 10 && length <= 20 ? LLM_BODY_TOO_LARGE : LLM_BAD_CONTENT_LENGTH;
    }
    uint64_t number = 0;
    for (size_t index = 0; index < length; index++) {
        if (value[index] < '0' || value[index] > '9') {
            return LLM_BAD_CONTENT_LENGTH;
        }
        number = number * 10u + (uint64_t)(value[index] - '0');
    }
    if (number > LLM_MAX_BODY) {
        return LLM_BODY_TOO_LARGE;
    }
    *result = (size_t)number;
    return LLM_REQUEST_OK;
}

llm_parse_result llm_parse_request(const uint8_t *bytes, size_t length, llm_request *request) {
    memset(request, 0, sizeof(*request));
    size_t window = length < LLM_MAX_HEAD ? length : LLM_MAX_HEAD;
    const uint8_t *blank = memmem(bytes, window, "\r\n\r\n", 4);
    if (blank == NULL) {
        return length >= LLM_MAX_HEAD ? LLM_HEAD_TOO_LARGE : LLM_REQUEST_INCOMPLETE;
    }
    size_t head_length = (size_t)(blank - bytes) + 4;
    /* The request line. */
    const uint8_t *first_break = memchr(bytes, '\r', head_length);
    size_t line_end = (size_t)(first_break - bytes); /* found: the head holds at least one CR */
    int minor_version = 1;
    llm_parse_result result = parse_request_line(bytes, line_end, request, &minor_version);
    if (result != LLM_REQUEST_OK) {
        return result;
    }
    if (memchr(bytes, '\n', line_end) != NULL) {
        return LLM_BAD_REQUEST_LINE;
    }
    /* Header lines, each ending in CRLF, up to the blank line. */
    int has_length = 0;
    int close_requested = 0;
    int keep_alive_requested = 0;
    size_t body_length = 0;
    unsigned header_count = 0;
    size_t position = line_end + 2;
    while (position < head_length - 2) {
        if (++header_count > LLM_MAX_HEADERS) {
            return LLM_HEAD_TOO_LARGE;
        }
        size_t name_start = position;
        while (position < head_length && is_token_byte(bytes[position])) {
            position++;
        }
        if (position == name_start || bytes[position] != ':') {
            return LLM_BAD_HEADER; /* also catches obsolete line folding (a line starting with SP/HT) */
        }
        size_t name_length = position - name_start;
        position++;
        while (bytes[position] == ' ' || bytes[position] == '\t') {
            position++;
        }
        size_t value_start = position;
        while (bytes[position] != '\r') {
            uint8_t byte = bytes[position];
            if ((byte < 0x20 && byte != '\t') || byte == 0x7F) {
                return LLM_BAD_HEADER; /* a bare LF, NUL or other control byte */
            }
            position++;
        }
        if (bytes[position + 1] != '\n') {
            return LLM_BAD_HEADER; /* a bare CR */
        }
        size_t value_end = position;
        while (value_end > value_start && (bytes[value_end - 1] == ' ' || bytes[value_end - 1] == '\t')) {
            value_end--;
        }
        const uint8_t *name = bytes + name_start;
        const uint8_t *value = bytes + value_start;
        size_t value_length = value_end - value_start;
        if (span_equals_lower(name, name_length, "content-length")) {
            size_t parsed = 0;
            llm_parse_result length_result = parse_content_length(value, value_length, &parsed);
            if (length_result != LLM_REQUEST_OK) {
                return length_result;
            }
            if (has_length && parsed != body_length) {
                return LLM_BAD_CONTENT_LENGTH;
            }
            has_length = 1;
            body_length = parsed;
        } else if (span_equals_lower(name, name_length, "transfer-encoding")) {
            return LLM_LENGTH_REQUIRED;
        } else if (span_equals_lower(name, name_length, "connection")) {
            close_requested |= list_contains(value, value_length, "close");
            keep_alive_requested |= list_contains(value, value_length, "keep-alive");
        } else if (span_equals_lower(name, name_length, "authorization")) {
            request->authorization = value;
            request->authorization_length = value_length;
        }
        position += 2;
    }
    request->keep_alive = minor_version == 1 ? !close_requested : (keep_alive_requested && !close_requested);
    request->head_length = head_length;
    request->body_length = body_length;
    request->total_length = head_length + body_length;
    if (length < request->total_length) {
        return LLM_REQUEST_INCOMPLETE;
    }
    return LLM_REQUEST_OK;
}

/*
 * The top-level members of a request body the fake looks at, as spans (NULL when absent). Keys are
 * compared raw (an escaped key does not match), like sio_json_object_get.
 */
typedef struct {
    const uint8_t *model;
    size_t model_length;
    const uint8_t *messages;
    size_t messages_length;
    const uint8_t *stream;
    size_t stream_length;
    const uint8_t *stream_options;
    size_t stream_options_length;
    const uint8_t *response_format;
    size_t response_format_length;
} body_members;

static int key_is(const uint8_t *key, size_t key_length, const char *name) {
    size_t name_length = strlen(name);
    return key_length == name_length + 2 && memcmp(key + 1, name, name_length) == 0;
}

/* One pass over the top-level members, keeping the five the fake looks at. Returns 0, or -1. */
static int collect_members(const uint8_t *bytes, size_t length, body_members *members) {
    memset(members, 0, sizeof(*members));
    size_t start = sio_json_skip_whitespace(bytes, length, 0);
    size_t consumed = 0;
    if (start >= length || bytes[start] != '{' ||
        sio_json_skip_value(bytes + start, length - start, &consumed) != SIO_OK ||
        sio_json_skip_whitespace(bytes, length, start + consumed) != length) {
        return -1;
    }
    size_t position = sio_json_skip_whitespace(bytes, length, start + 1);
    while (position < length && bytes[position] == '"') {
        size_t key_length = 0;
        if (sio_json_skip_value(bytes + position, length - position, &key_length) != SIO_OK) {
            return -1;
        }
        const uint8_t *key = bytes + position;
        position = sio_json_skip_whitespace(bytes, length, position + key_length);
        if (position >= length || bytes[position] != ':') {
            return -1;
        }
        position = sio_json_skip_whitespace(bytes, length, position + 1);
        size_t value_length = 0;
        if (position >= length || sio_json_skip_value(bytes + position, length - position, &value_length) != SIO_OK) {
            return -1;
        }
        const uint8_t *value = bytes + position;
        if (key_is(key, key_length, "model")) {
            members->model = value;
            members->model_length = value_length;
        } else if (key_is(key, key_length, "messages")) {
            members->messages = value;
            members->messages_length = value_length;
        } else if (key_is(key, key_length, "stream")) {
            members->stream = value;
            members->stream_length = value_length;
        } else if (key_is(key, key_length, "stream_options")) {
            members->stream_options = value;
            members->stream_options_length = value_length;
        } else if (key_is(key, key_length, "response_format")) {
            members->response_format = value;
            members->response_format_length = value_length;
        }
        position = sio_json_skip_whitespace(bytes, length, position + value_length);
        if (position < length && bytes[position] == ',') {
            position = sio_json_skip_whitespace(bytes, length, position + 1);
        }
    }
    return 0;
}

static int is_literal(const uint8_t *value, size_t length, const char *literal) {
    return value != NULL && length == strlen(literal) && memcmp(value, literal, length) == 0;
}

int llm_inspect_body(const uint8_t *body, size_t length, llm_body *info) {
    memset(info, 0, sizeof(*info));
    body_members members;
    if (collect_members(body, length, &members) != 0) {
        return -1;
    }
    /* `model` must be a string and `messages` a non-empty array, as OpenAI requires. */
    if (members.model == NULL || members.model[0] != '"' || members.messages == NULL || members.messages[0] != '[' ||
        sio_json_skip_whitespace(members.messages, members.messages_length, 1) == members.messages_length - 1) {
        return -1;
    }
    info->stream = is_literal(members.stream, members.stream_length, "true");
    const uint8_t *value = NULL;
    size_t value_length = 0;
    if (members.stream_options != NULL && members.stream_options[0] == '{' &&
        sio_json_object_get(members.stream_options, members.stream_options_length, "include_usage", &value,
                            &value_length) == SIO_OK) {
        info->include_usage = is_literal(value, value_length, "true");
    }
    const uint8_t *schema = NULL;
    size_t schema_length = 0;
    if (members.response_format != NULL && members.response_format[0] == '{' &&
        sio_json_object_get(members.response_format, members.response_format_length, "json_schema", &schema,
                            &schema_length) == SIO_OK &&
        schema[0] == '{' && sio_json_object_get(schema, schema_length, "name", &value, &value_length) == SIO_OK) {
        if (is_literal(value, value_length, "\"coaching_tip\"")) {
            info->answer = LLM_ANSWER_TIP;
        } else if (is_literal(value, value_length, "\"call_summary\"")) {
            info->answer = LLM_ANSWER_SUMMARY;
        }
    }
    return 0;
}

const char *llm_parse_result_name(llm_parse_result result) {
    switch (result) {
    case LLM_REQUEST_OK: return "ok";
    case LLM_REQUEST_INCOMPLETE: return "incomplete";
    case LLM_BAD_REQUEST_LINE: return "bad_request_line";
    case LLM_BAD_HEADER: return "bad_header";
    case LLM_HEAD_TOO_LARGE: return "head_too_large";
    case LLM_BODY_TOO_LARGE: return "body_too_large";
    case LLM_LENGTH_REQUIRED: return "length_required";
    case LLM_BAD_CONTENT_LENGTH: return "bad_content_length";
    case LLM_UNSUPPORTED_VERSION: return "unsupported_version";
    }
    return "unknown";
}

#ifndef FAKE_LLM_NO_MAIN

/* ------------------------------------------------------------------------------------------ */
/* Canned answers, built once                                                                 */

/* The same tip and summary as Tests/Interop/fake_openai.py (its `objection` tip), with how late this
 * answer is written into the headline (copilot.h; the zeros are patched in every answer). */
static const char tip_content[] =
    "{\"kind\":\"objection\",\"headline\":\"LLM: Price pushback, anchor on the cost of doing nothing"
    COPILOT_FAKE_LATE_PREFIX "000000" COPILOT_FAKE_LATE_SUFFIX "\","
    "\"suggestion\":\"Acknowledge the budget concern, then ask what the current manual work costs each month.\","
    "\"options\":[{\"label\":\"Quantify the pain\",\"script\":\"How many hours a week does your team spend on that "
    "today?\"},{\"label\":\"Offer a comparison\",\"script\":\"Could I put our numbers next to what you spend "
    "now?\"}],\"confidence\":0.8}";
static const char summary_content[] =
    "{\"notes\":\"LLM: The customer raised price and compared a competitor; a follow-up with finance was "
    "discussed.\",\"actionItems\":[\"LLM: Send the cost comparison\",\"LLM: Book the follow-up with finance\"]}";
static const char text_content[] = "LLM: ok";

/* A growable byte string for building the canned bodies at start-up, with where the lateness
 * digits of the tip's headline ended up in it (escaping and chunk framing move them). */
typedef struct {
    char *bytes;
    size_t length;
    size_t capacity;
    size_t late_offsets[COPILOT_FAKE_LATE_DIGITS];
    unsigned late_count;
} text_buffer;

static void append(text_buffer *buffer, const char *bytes, size_t length) {
    if (buffer->length + length + 1 > buffer->capacity) {
        size_t capacity = buffer->capacity ? buffer->capacity : 1024;
        while (capacity < buffer->length + length + 1) {
            capacity *= 2;
        }
        buffer->bytes = realloc(buffer->bytes, capacity);
        if (buffer->bytes == NULL) {
            fputs("fake_llm: out of memory\n", stderr);
            exit(2);
        }
        buffer->capacity = capacity;
    }
    memcpy(buffer->bytes + buffer->length, bytes, length);
    buffer->length += length;
    buffer->bytes[buffer->length] = '\0';
}

static void append_text(text_buffer *buffer, const char *text) {
    append(buffer, text, strlen(text));
}

static void appendf(text_buffer *buffer, const char *format, ...) __attribute__((format(printf, 2, 3)));
static void appendf(text_buffer *buffer, const char *format, ...) {
    char scratch[512];
    va_list arguments;
    va_start(arguments, format);
    int length = vsnprintf(scratch, sizeof(scratch), format, arguments);
    va_end(arguments);
    append(buffer, scratch, (size_t)length < sizeof(scratch) ? (size_t)length : sizeof(scratch) - 1);
}

/* Where the lateness digits start in `content`, or SIZE_MAX. */
static size_t late_index(const char *content) {
    const char *prefix = strstr(content, COPILOT_FAKE_LATE_PREFIX);
    return prefix == NULL ? SIZE_MAX : (size_t)(prefix - content) + strlen(COPILOT_FAKE_LATE_PREFIX);
}

/* Appends content[start, start + length) as the inside of a JSON string (the canned texts are
 * ASCII), noting where the lateness digits (from `late`) land. */
static void append_escaped(text_buffer *buffer, const char *content, size_t start, size_t length, size_t late) {
    for (size_t index = start; index < start + length; index++) {
        if (content[index] == '"' || content[index] == '\\') {
            append(buffer, "\\", 1);
        }
        if (late != SIZE_MAX && index >= late && index < late + COPILOT_FAKE_LATE_DIGITS) {
            buffer->late_offsets[buffer->late_count++] = buffer->length;
        }
        append(buffer, content + index, 1);
    }
}

/* Fixed token counts: the fake does not tokenise, and the figures only feed the server's cost metric. */
#define PROMPT_TOKENS 1500
#define CACHED_TOKENS 1024

static void append_usage(text_buffer *buffer, size_t content_length) {
    unsigned completion = (unsigned)(content_length / 4 ? content_length / 4 : 1);
    appendf(buffer,
            "{\"prompt_tokens\":%u,\"completion_tokens\":%u,\"total_tokens\":%u,"
            "\"prompt_tokens_details\":{\"cached_tokens\":%u,\"audio_tokens\":0},"
            "\"completion_tokens_details\":{\"reasoning_tokens\":0,\"audio_tokens\":0,"
            "\"accepted_prediction_tokens\":0,\"rejected_prediction_tokens\":0}}",
            PROMPT_TOKENS, completion, PROMPT_TOKENS + completion, CACHED_TOKENS);
}

static long long started_epoch;
/* --piece-size: streamed content pieces of this many bytes; 0 for OpenAI-like 8 to 16. */
static size_t piece_size;

/* A `chat.completion` body. */
static void build_json_body(text_buffer *buffer, const char *content) {
    appendf(buffer,
            "{\"id\":\"chatcmpl-fake\",\"object\":\"chat.completion\",\"created\":%lld,\"model\":\"gpt-4o-mini\","
            "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"",
            started_epoch);
    append_escaped(buffer, content, 0, strlen(content), late_index(content));
    append_text(buffer, "\",\"refusal\":null},\"logprobs\":null,\"finish_reason\":\"stop\"}],\"usage\":");
    append_usage(buffer, strlen(content));
    append_text(buffer, ",\"system_fingerprint\":\"fp_fake\"}");
}

/* One SSE event `data: <json>\n\n` as one HTTP chunk. */
static void append_sse_chunk(text_buffer *buffer, const text_buffer *event) {
    appendf(buffer, "%zx\r\n", event->length + 8);
    append_text(buffer, "data: ");
    for (unsigned digit = 0; digit < event->late_count; digit++) {
        buffer->late_offsets[buffer->late_count++] = buffer->length + event->late_offsets[digit];
    }
    append(buffer, event->bytes, event->length);
    append_text(buffer, "\n\n\r\n");
}

/* The start of every chunk object; `usage_null` adds "usage":null as OpenAI does with include_usage. */
static void chunk_prefix(text_buffer *event, int usage_null) {
    event->length = 0;
    event->late_count = 0;
    appendf(event,
            "{\"id\":\"chatcmpl-fake\",\"object\":\"chat.completion.chunk\",\"created\":%lld,"
            "\"model\":\"gpt-4o-mini\",\"system_fingerprint\":\"fp_fake\",%s\"choices\":",
            started_epoch, usage_null ? "\"usage\":null," : "");
}

/* A whole chunked event stream: role chunk, content pieces, finish chunk, [usage chunk], [DONE]. */
static void build_stream_body(text_buffer *buffer, const char *content, int include_usage) {
    static const size_t piece_sizes[] = {8, 11, 16, 9, 13, 12, 10, 15, 14};
    text_buffer event = {0};
    chunk_prefix(&event, include_usage);
    append_text(&event, "[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\",\"refusal\":null},"
                        "\"logprobs\":null,\"finish_reason\":null}]}");
    append_sse_chunk(buffer, &event);
    size_t length = strlen(content);
    size_t start = 0;
    for (size_t piece = 0; start < length; piece++) {
        size_t size = piece_size > 0 ? piece_size : piece_sizes[piece % (sizeof(piece_sizes) / sizeof(piece_sizes[0]))];
        if (size > length - start) {
            size = length - start;
        }
        chunk_prefix(&event, include_usage);
        append_text(&event, "[{\"index\":0,\"delta\":{\"content\":\"");
        append_escaped(&event, content, start, size, late_index(content));
        append_text(&event, "\"},\"logprobs\":null,\"finish_reason\":null}]}");
        append_sse_chunk(buffer, &event);
        start += size;
    }
    chunk_prefix(&event, include_usage);
    append_text(&event, "[{\"index\":0,\"delta\":{},\"logprobs\":null,\"finish_reason\":\"stop\"}]}");
    append_sse_chunk(buffer, &event);
    if (include_usage) {
        event.length = 0;
        appendf(&event,
                "{\"id\":\"chatcmpl-fake\",\"object\":\"chat.completion.chunk\",\"created\":%lld,"
                "\"model\":\"gpt-4o-mini\",\"system_fingerprint\":\"fp_fake\",\"choices\":[],\"usage\":",
                started_epoch);
        append_usage(&event, length);
        append_text(&event, "}");
        append_sse_chunk(buffer, &event);
    }
    append_text(buffer, "e\r\ndata: [DONE]\n\n\r\n0\r\n\r\n");
    free(event.bytes);
}

/* Writes `value` (clamped to 6 digits) over the lateness digits of a copy of a canned body. */
static void patch_late(uint8_t *body, const text_buffer *canned_body, uint64_t value) {
    if (value > 999999u) {
        value = 999999u;
    }
    for (unsigned digit = canned_body->late_count; digit-- > 0;) {
        body[canned_body->late_offsets[digit]] = (uint8_t)('0' + value % 10u);
        value /= 10u;
    }
}

/* [answer][0 json, 1 stream, 2 stream with usage] */
static text_buffer canned[3][3];

static void build_canned(void) {
    static const char *const contents[3] = {text_content, tip_content, summary_content};
    for (int answer = 0; answer < 3; answer++) {
        build_json_body(&canned[answer][0], contents[answer]);
        build_stream_body(&canned[answer][1], contents[answer], 0);
        build_stream_body(&canned[answer][2], contents[answer], 1);
        for (int variant = 0; variant < 3; variant++) {
            unsigned expected = answer == LLM_ANSWER_TIP ? COPILOT_FAKE_LATE_DIGITS : 0;
            if (canned[answer][variant].late_count != expected) {
                fputs("fake_llm: the lateness field of the canned tip was not found\n", stderr);
                exit(2);
            }
        }
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Server                                                                                     */

enum { STATE_READING = 0, STATE_WAITING, STATE_WRITING };

/* One client connection; owned by the single loop thread. A slot is reused with a new generation. */
typedef struct {
    int fd;
    uint32_t generation;
    uint8_t state;
    uint8_t close_after;
    uint8_t keep_alive;
    uint8_t in_use;
    uint32_t interest;
    llm_body body;
    uint8_t *in;
    size_t in_length;
    size_t in_capacity;
    uint8_t *out;
    size_t out_length;
    size_t out_offset;
    size_t out_capacity;
} client;

/* An answer waiting for its due time; stale when the slot's generation moved on (client gone). */
typedef struct {
    uint32_t slot;
    uint32_t generation;
    uint64_t due;
} pending;

/* Everything the loop owns. */
typedef struct {
    int epoll_fd;
    int listen_fd;
    int signal_fd;
    int timer_fd;
    uint64_t armed_due; /* what timer_fd is set to (0: disarmed) */
    uint64_t delay_ns;
    const char *api_key;
    uint32_t max_connections;
    client *clients;
    uint32_t *free_slots;
    uint32_t free_count;
    pending *queue;
    uint32_t queue_head;
    uint32_t queue_count;
    uint64_t request_sequence;
    uint32_t open;
    /* Counters for the final line. */
    uint64_t requests, tips, summaries, texts, streamed, unauthorized, bad_requests, not_found, abandoned;
    uint64_t connections, refused_connections, max_open;
    histogram lateness;
} server;

#define TAG_LISTEN UINT64_MAX
#define TAG_SIGNAL (UINT64_MAX - 1)
#define TAG_TIMER (UINT64_MAX - 2)
#define IN_LIMIT (LLM_MAX_HEAD + LLM_MAX_BODY)

static uint64_t now_ns(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)now.tv_sec * 1000000000ull + (uint64_t)now.tv_nsec;
}

static void fatal(const char *what) {
    fprintf(stderr, "fake_llm: %s: %s\n", what, strerror(errno));
    exit(2);
}

static uint64_t tag_of(const server *srv, const client *conn) {
    return (uint64_t)(conn - srv->clients) | ((uint64_t)conn->generation << 32);
}

static void set_interest(server *srv, client *conn, uint32_t interest) {
    if (conn->interest == interest) {
        return;
    }
    struct epoll_event event = {.events = interest, .data.u64 = tag_of(srv, conn)};
    if (epoll_ctl(srv->epoll_fd, EPOLL_CTL_MOD, conn->fd, &event) == 0) {
        conn->interest = interest;
    }
}

static void close_client(server *srv, client *conn) {
    if (!conn->in_use) {
        return;
    }
    close(conn->fd); /* also leaves the epoll set */
    conn->fd = -1;
    conn->in_use = 0;
    conn->generation++; /* a queued answer for this connection is now stale */
    conn->in_length = 0;
    conn->out_length = conn->out_offset = 0;
    srv->free_slots[srv->free_count++] = (uint32_t)(conn - srv->clients);
    srv->open--;
}

static uint8_t *reserve(uint8_t **buffer, size_t *capacity, size_t used, size_t extra) {
    if (*capacity - used >= extra) {
        return *buffer + used;
    }
    size_t wanted = *capacity ? *capacity : 4096;
    while (wanted - used < extra) {
        wanted *= 2;
    }
    uint8_t *grown = realloc(*buffer, wanted);
    if (grown == NULL) {
        return NULL;
    }
    *buffer = grown;
    *capacity = wanted;
    return grown + used;
}

/* Sends what is queued; on completion either closes or goes back to reading. Returns 0, or -1 if closed. */
static int flush_client(server *srv, client *conn);

static int queue_response(server *srv, client *conn, const char *status, const char *content_type, int chunked,
                          const char *body, size_t body_length, const text_buffer *late_body, uint64_t late_us) {
    char framing[80];
    if (chunked) {
        snprintf(framing, sizeof(framing), "Cache-Control: no-cache\r\nTransfer-Encoding: chunked\r\n");
    } else {
        snprintf(framing, sizeof(framing), "Content-Length: %zu\r\n", body_length);
    }
    char head[768];
    srv->request_sequence++;
    int head_length = snprintf(
        head, sizeof(head),
        "HTTP/1.1 %s\r\nContent-Type: %s\r\n%s"
        "x-request-id: req_%016llxfake\r\nopenai-processing-ms: %llu\r\n"
        "x-ratelimit-limit-requests: 10000\r\nx-ratelimit-remaining-requests: 9999\r\n"
        "x-ratelimit-reset-requests: 6ms\r\nx-ratelimit-limit-tokens: 2000000\r\n"
        "x-ratelimit-remaining-tokens: 1999000\r\nx-ratelimit-reset-tokens: 30ms\r\n%s\r\n",
        status, content_type, framing, (unsigned long long)srv->request_sequence,
        (unsigned long long)(srv->delay_ns / 1000000u), conn->close_after ? "Connection: close\r\n" : "");
    if (head_length < 0 || (size_t)head_length >= sizeof(head)) {
        close_client(srv, conn);
        return -1;
    }
    uint8_t *destination = reserve(&conn->out, &conn->out_capacity, conn->out_length, (size_t)head_length + body_length);
    if (destination == NULL) {
        close_client(srv, conn);
        return -1;
    }
    memcpy(destination, head, (size_t)head_length);
    memcpy(destination + head_length, body, body_length);
    if (late_body != NULL) {
        patch_late(destination + head_length, late_body, late_us);
    }
    conn->out_length += (size_t)head_length + body_length;
    conn->state = STATE_WRITING;
    return flush_client(srv, conn);
}

/* An OpenAI-shaped error, sent at once. */
static int queue_error(server *srv, client *conn, const char *status, const char *message, const char *type,
                       const char *code) {
    char body[512];
    int length = snprintf(body, sizeof(body),
                          "{\"error\":{\"message\":\"%s\",\"type\":\"%s\",\"param\":null,\"code\":%s%s%s}}", message,
                          type, code ? "\"" : "", code ? code : "null", code ? "\"" : "");
    return queue_response(srv, conn, status, "application/json", 0, body, (size_t)length, NULL, 0);
}

/* The answer is due: send the canned body for what the request asked. */
static int send_answer(server *srv, client *conn, uint64_t due, uint64_t now) {
    uint64_t late = now > due ? now - due : 0;
    histogram_record(&srv->lateness, late);
    const llm_body *body = &conn->body;
    int variant = body->stream ? (body->include_usage ? 2 : 1) : 0;
    const text_buffer *canned_body = &canned[body->answer][variant];
    conn->close_after = !conn->keep_alive;
    srv->streamed += body->stream ? 1 : 0;
    const char *content_type = body->stream ? "text/event-stream; charset=utf-8" : "application/json";
    return queue_response(srv, conn, "200 OK", content_type, body->stream, canned_body->bytes, canned_body->length,
                          canned_body, late / 1000u);
}

static void enqueue(server *srv, client *conn, uint64_t due) {
    /* Each connection has at most one answer pending, so max_connections entries always fit. */
    uint32_t tail = (srv->queue_head + srv->queue_count) % srv->max_connections;
    srv->queue[tail] = (pending){.slot = (uint32_t)(conn - srv->clients), .generation = conn->generation, .due = due};
    srv->queue_count++;
}

static int bearer_matches(const server *srv, const llm_request *request) {
    if (srv->api_key[0] == '\0') {
        return 1;
    }
    size_t key_length = strlen(srv->api_key);
    return request->authorization != NULL && request->authorization_length == key_length + 7 &&
           memcmp(request->authorization, "Bearer ", 7) == 0 &&
           memcmp(request->authorization + 7, srv->api_key, key_length) == 0;
}

static int target_is(const llm_request *request, const char *path) {
    size_t length = request->target_length;
    const uint8_t *query = memchr(request->target, '?', length);
    if (query != NULL) {
        length = (size_t)(query - request->target);
    }
    return length == strlen(path) && memcmp(request->target, path, length) == 0;
}

static int send_stats(server *srv, client *conn) {
    char body[768];
    int length = snprintf(
        body, sizeof(body),
        "{\"requests\":%llu,\"tips\":%llu,\"summaries\":%llu,\"texts\":%llu,\"streamed\":%llu,\"unauthorized\":%llu,"
        "\"badRequests\":%llu,\"notFound\":%llu,\"abandoned\":%llu,\"connections\":%llu,\"refusedConnections\":%llu,"
        "\"open\":%u,\"maxOpen\":%llu,\"pending\":%u,\"lateP50Us\":%.1f,\"lateP99Us\":%.1f,\"lateMaxUs\":%.1f}",
        (unsigned long long)srv->requests, (unsigned long long)srv->tips, (unsigned long long)srv->summaries,
        (unsigned long long)srv->texts, (unsigned long long)srv->streamed, (unsigned long long)srv->unauthorized,
        (unsigned long long)srv->bad_requests, (unsigned long long)srv->not_found, (unsigned long long)srv->abandoned,
        (unsigned long long)srv->connections, (unsigned long long)srv->refused_connections, srv->open,
        (unsigned long long)srv->max_open, srv->queue_count, (double)histogram_percentile(&srv->lateness, 0.5) / 1e3,
        (double)histogram_percentile(&srv->lateness, 0.99) / 1e3, (double)srv->lateness.maximum / 1e3);
    return queue_response(srv, conn, "200 OK", "application/json", 0, body, (size_t)length, NULL, 0);
}

/* What to answer to one request; decided while its bytes are still in the input buffer. */
typedef enum {
    ACTION_ANSWER,      /* a chat completion: after the delay */
    ACTION_HEALTH,
    ACTION_STATS,
    ACTION_UNAUTHORIZED,
    ACTION_BAD_BODY,
    ACTION_NOT_ALLOWED,
    ACTION_NOT_FOUND,
} request_action;

/* Classifies the one complete request at the start of the input buffer (fills conn->body). */
static request_action classify_request(server *srv, client *conn, const llm_request *request) {
    if (target_is(request, "/v1/chat/completions")) {
        if (request->method != LLM_METHOD_POST) {
            srv->not_found++;
            return ACTION_NOT_ALLOWED;
        }
        srv->requests++;
        if (!bearer_matches(srv, request)) {
            srv->unauthorized++;
            return ACTION_UNAUTHORIZED;
        }
        if (llm_inspect_body(conn->in + request->head_length, request->body_length, &conn->body) != 0) {
            srv->bad_requests++;
            return ACTION_BAD_BODY;
        }
        switch (conn->body.answer) {
        case LLM_ANSWER_TIP: srv->tips++; break;
        case LLM_ANSWER_SUMMARY: srv->summaries++; break;
        case LLM_ANSWER_TEXT: srv->texts++; break;
        }
        return ACTION_ANSWER;
    }
    if (request->method == LLM_METHOD_GET && target_is(request, "/_health")) {
        return ACTION_HEALTH;
    }
    if (request->method == LLM_METHOD_GET && target_is(request, "/_stats")) {
        return ACTION_STATS;
    }
    srv->not_found++;
    return ACTION_NOT_FOUND;
}

/* Carries out a request's action once its bytes are consumed. Returns 0, or -1 if closed. */
static int perform(server *srv, client *conn, request_action action) {
    switch (action) {
    case ACTION_ANSWER: {
        uint64_t now = now_ns();
        if (srv->delay_ns == 0) {
            return send_answer(srv, conn, now, now);
        }
        conn->state = STATE_WAITING;
        enqueue(srv, conn, now + srv->delay_ns);
        /* Stop reading until the answer is out (no pipelining), but still hear a close. */
        set_interest(srv, conn, EPOLLRDHUP);
        return 0;
    }
    case ACTION_HEALTH: {
        static const char health[] = "{\"status\":\"ok\"}";
        return queue_response(srv, conn, "200 OK", "application/json", 0, health, sizeof(health) - 1, NULL, 0);
    }
    case ACTION_STATS: return send_stats(srv, conn);
    case ACTION_UNAUTHORIZED:
        return queue_error(srv, conn, "401 Unauthorized", "Incorrect API key provided.", "invalid_request_error",
                           "invalid_api_key");
    case ACTION_BAD_BODY:
        return queue_error(srv, conn, "400 Bad Request",
                           "We could not parse the JSON body of your request, or model or messages is missing.",
                           "invalid_request_error", NULL);
    case ACTION_NOT_ALLOWED:
        return queue_error(srv, conn, "405 Method Not Allowed", "Method not allowed.", "invalid_request_error", NULL);
    case ACTION_NOT_FOUND: break;
    }
    return queue_error(srv, conn, "404 Not Found", "Unknown path.", "invalid_request_error", "unknown_url");
}

/* Parses and handles buffered requests while the connection is reading. Returns 0, or -1 if closed. */
static int process_input(server *srv, client *conn) {
    while (conn->state == STATE_READING && conn->in_length > 0) {
        llm_request request;
        llm_parse_result result = llm_parse_request(conn->in, conn->in_length, &request);
        if (result == LLM_REQUEST_INCOMPLETE) {
            return 0;
        }
        if (result != LLM_REQUEST_OK) {
            srv->bad_requests++;
            conn->keep_alive = 0;
            conn->close_after = 1;
            conn->in_length = 0;
            const char *status = "400 Bad Request";
            switch (result) {
            case LLM_HEAD_TOO_LARGE: status = "431 Request Header Fields Too Large"; break;
            case LLM_BODY_TOO_LARGE: status = "413 Payload Too Large"; break;
            case LLM_LENGTH_REQUIRED: status = "411 Length Required"; break;
            case LLM_UNSUPPORTED_VERSION: status = "505 HTTP Version Not Supported"; break;
            default: break;
            }
            return queue_error(srv, conn, status, llm_parse_result_name(result), "invalid_request_error", NULL);
        }
        conn->keep_alive = (uint8_t)request.keep_alive;
        conn->close_after = !request.keep_alive;
        request_action action = classify_request(srv, conn, &request);
        /* Consume the request before answering: a finished answer goes straight back to reading
         * whatever follows it in the buffer. */
        memmove(conn->in, conn->in + request.total_length, conn->in_length - request.total_length);
        conn->in_length -= request.total_length;
        if (perform(srv, conn, action) != 0) {
            return -1;
        }
    }
    return 0;
}

static int flush_client(server *srv, client *conn) {
    while (conn->out_offset < conn->out_length) {
        ssize_t written = send(conn->fd, conn->out + conn->out_offset, conn->out_length - conn->out_offset, MSG_NOSIGNAL);
        if (written > 0) {
            conn->out_offset += (size_t)written;
            continue;
        }
        if (written < 0 && errno == EINTR) {
            continue;
        }
        if (written < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            set_interest(srv, conn, EPOLLOUT | EPOLLRDHUP);
            return 0;
        }
        close_client(srv, conn);
        return -1;
    }
    conn->out_offset = conn->out_length = 0;
    if (conn->close_after) {
        close_client(srv, conn);
        return -1;
    }
    conn->state = STATE_READING;
    set_interest(srv, conn, EPOLLIN | EPOLLRDHUP);
    return process_input(srv, conn); /* a request that arrived while we were busy */
}

static void read_client(server *srv, client *conn) {
    for (;;) {
        if (conn->in_length == conn->in_capacity) {
            if (conn->in_capacity >= IN_LIMIT) {
                close_client(srv, conn); /* cannot happen: the parser refuses before this */
                return;
            }
            size_t extra = conn->in_capacity ? conn->in_capacity : 16384;
            if (conn->in_capacity + extra > IN_LIMIT) {
                extra = IN_LIMIT - conn->in_capacity;
            }
            if (reserve(&conn->in, &conn->in_capacity, conn->in_length, extra) == NULL) {
                close_client(srv, conn);
                return;
            }
        }
        size_t space = conn->in_capacity - conn->in_length;
        ssize_t count = recv(conn->fd, conn->in + conn->in_length, space, 0);
        if (count > 0) {
            conn->in_length += (size_t)count;
            if (process_input(srv, conn) != 0 || conn->state != STATE_READING) {
                return;
            }
            if ((size_t)count < space) {
                return; /* drained; level-triggered epoll reports what comes later */
            }
            continue;
        }
        if (count < 0 && errno == EINTR) {
            continue;
        }
        if (count < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return;
        }
        close_client(srv, conn); /* EOF or error: a pooled connection being closed is normal */
        return;
    }
}

static void accept_clients(server *srv) {
    for (;;) {
        int fd = accept4(srv->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) {
                continue;
            }
            return; /* EAGAIN, or EMFILE and friends: try again on the next event */
        }
        if (srv->free_count == 0) {
            srv->refused_connections++;
            close(fd);
            continue;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        client *conn = &srv->clients[srv->free_slots[--srv->free_count]];
        conn->fd = fd;
        conn->in_use = 1;
        conn->state = STATE_READING;
        conn->close_after = 0;
        conn->interest = EPOLLIN | EPOLLRDHUP;
        struct epoll_event event = {.events = conn->interest, .data.u64 = tag_of(srv, conn)};
        if (epoll_ctl(srv->epoll_fd, EPOLL_CTL_ADD, fd, &event) != 0) {
            srv->open++;
            close_client(srv, conn);
            continue;
        }
        srv->connections++;
        srv->open++;
        if (srv->open > srv->max_open) {
            srv->max_open = srv->open;
        }
    }
}

/* Sends every answer that is due, oldest first. */
static void send_due_answers(server *srv) {
    uint64_t now = now_ns();
    while (srv->queue_count > 0) {
        pending *head = &srv->queue[srv->queue_head];
        client *conn = &srv->clients[head->slot];
        int stale = !conn->in_use || conn->generation != head->generation || conn->state != STATE_WAITING;
        if (!stale && head->due > now) {
            return;
        }
        pending due = *head;
        srv->queue_head = (srv->queue_head + 1) % srv->max_connections;
        srv->queue_count--;
        if (!stale) {
            (void)send_answer(srv, conn, due.due, now);
        }
    }
}

/* Points the timer at the oldest pending answer (a stale one just fires early and is skipped). */
static void arm_timer(server *srv) {
    uint64_t due = srv->queue_count > 0 ? srv->queue[srv->queue_head].due : 0;
    if (due == srv->armed_due) {
        return;
    }
    struct itimerspec spec;
    memset(&spec, 0, sizeof(spec));
    spec.it_value.tv_sec = (time_t)(due / 1000000000ull);
    spec.it_value.tv_nsec = (long)(due % 1000000000ull); /* all zero disarms */
    if (timerfd_settime(srv->timer_fd, TFD_TIMER_ABSTIME, &spec, NULL) == 0) {
        srv->armed_due = due;
    }
}

static void handle_client_event(server *srv, uint64_t tag, uint32_t events) {
    uint32_t slot = (uint32_t)tag;
    if (slot >= srv->max_connections) {
        return;
    }
    client *conn = &srv->clients[slot];
    if (!conn->in_use || conn->generation != (uint32_t)(tag >> 32)) {
        return; /* an event for a connection already closed in this batch */
    }
    if (conn->state == STATE_WAITING) {
        /* Only EPOLLRDHUP/HUP/ERR are watched while waiting: the client went away (gave up). */
        srv->abandoned++;
        close_client(srv, conn);
        return;
    }
    if (conn->state == STATE_WRITING) {
        /* A peer that shut its side while we still write: RDHUP would stay raised (level-triggered)
         * and spin the loop while its window is full, so it is treated as gone. */
        if (events & (EPOLLERR | EPOLLHUP | EPOLLRDHUP)) {
            close_client(srv, conn);
            return;
        }
        (void)flush_client(srv, conn);
        return;
    }
    read_client(srv, conn);
}

static void print_summary(server *srv) {
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    double cpu = (double)usage.ru_utime.tv_sec + (double)usage.ru_utime.tv_usec / 1e6 + (double)usage.ru_stime.tv_sec +
                 (double)usage.ru_stime.tv_usec / 1e6;
    printf("fake_llm requests=%llu tips=%llu summaries=%llu texts=%llu streamed=%llu unauthorized=%llu"
           " bad_requests=%llu not_found=%llu abandoned=%llu connections=%llu refused_connections=%llu max_open=%llu"
           " late_p50_us=%.1f late_p99_us=%.1f late_max_us=%.1f cpu_seconds=%.3f cpu_us_per_request=%.1f\n",
           (unsigned long long)srv->requests, (unsigned long long)srv->tips, (unsigned long long)srv->summaries,
           (unsigned long long)srv->texts, (unsigned long long)srv->streamed, (unsigned long long)srv->unauthorized,
           (unsigned long long)srv->bad_requests, (unsigned long long)srv->not_found,
           (unsigned long long)srv->abandoned, (unsigned long long)srv->connections,
           (unsigned long long)srv->refused_connections, (unsigned long long)srv->max_open,
           (double)histogram_percentile(&srv->lateness, 0.5) / 1e3,
           (double)histogram_percentile(&srv->lateness, 0.99) / 1e3, (double)srv->lateness.maximum / 1e3, cpu,
           srv->requests > 0 ? cpu * 1e6 / (double)srv->requests : 0.0);
    fflush(stdout);
}

static void usage(FILE *out) {
    fputs("usage: fake_llm --port N [--host 127.0.0.1] [--delay-ms 300] [--api-key sk-bench] [--max-connections 8192]\n"
          "                [--piece-size 0]\n"
          "  Answers POST /v1/chat/completions after the delay (OpenAI wire format, JSON or SSE); GET /_health,\n"
          "  GET /_stats. Prints its counters as one key=value line on SIGTERM/SIGINT.\n",
          out);
}

static long parse_long(const char *text, const char *name, long minimum, long maximum) {
    char *end = NULL;
    errno = 0;
    long value = strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || value < minimum || value > maximum) {
        fprintf(stderr, "fake_llm: --%s: expected a whole number in [%ld, %ld], got \"%s\"\n", name, minimum, maximum,
                text);
        exit(2);
    }
    return value;
}

int main(int argc, char **argv) {
    static server srv;
    const char *host = "127.0.0.1";
    long port = -1;
    long delay_ms = 300;
    srv.api_key = "sk-bench";
    srv.max_connections = 8192;
    static const struct option options[] = {
        {"host", required_argument, NULL, 'h'},      {"port", required_argument, NULL, 'p'},
        {"delay-ms", required_argument, NULL, 'd'},  {"api-key", required_argument, NULL, 'k'},
        {"max-connections", required_argument, NULL, 'm'}, {"piece-size", required_argument, NULL, 's'},
        {"help", no_argument, NULL, 'H'},
        {NULL, 0, NULL, 0},
    };
    int option;
    while ((option = getopt_long(argc, argv, "", options, NULL)) != -1) {
        switch (option) {
        case 'h': host = optarg; break;
        case 'p': port = parse_long(optarg, "port", 0, 65535); break;
        case 'd': delay_ms = parse_long(optarg, "delay-ms", 0, 600000); break;
        case 'k': srv.api_key = optarg; break;
        case 'm': srv.max_connections = (uint32_t)parse_long(optarg, "max-connections", 1, 1000000); break;
        case 's': piece_size = (size_t)parse_long(optarg, "piece-size", 0, 1000000); break;
        case 'H': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (port < 0 || optind < argc) {
        usage(stderr);
        return 2;
    }
    srv.delay_ns = (uint64_t)delay_ms * 1000000ull;
    started_epoch = (long long)time(NULL);
    build_canned();
    signal(SIGPIPE, SIG_IGN);
    /* Wake as close to the due time as the kernel allows (the default slack is 50 us). */
    prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);

    struct rlimit limit;
    if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < srv.max_connections + 64u) {
        limit.rlim_cur = srv.max_connections + 64u;
        if (limit.rlim_max < limit.rlim_cur) {
            limit.rlim_max = limit.rlim_cur; /* works as root; otherwise accept() refuses beyond the limit */
        }
        (void)setrlimit(RLIMIT_NOFILE, &limit);
    }

    srv.clients = calloc(srv.max_connections, sizeof(client));
    srv.free_slots = calloc(srv.max_connections, sizeof(uint32_t));
    srv.queue = calloc(srv.max_connections, sizeof(pending));
    if (srv.clients == NULL || srv.free_slots == NULL || srv.queue == NULL) {
        fputs("fake_llm: out of memory\n", stderr);
        return 2;
    }
    for (uint32_t slot = srv.max_connections; slot-- > 0;) {
        srv.free_slots[srv.free_count++] = slot;
        srv.clients[slot].fd = -1;
    }

    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, host, &address.sin_addr) != 1) {
        fprintf(stderr, "fake_llm: --host must be an IPv4 address, got \"%s\"\n", host);
        return 2;
    }
    srv.listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(srv.listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (srv.listen_fd < 0 || bind(srv.listen_fd, (struct sockaddr *)&address, sizeof(address)) != 0 ||
        listen(srv.listen_fd, 4096) != 0) {
        fatal("listen");
    }
    socklen_t address_length = sizeof(address);
    getsockname(srv.listen_fd, (struct sockaddr *)&address, &address_length);

    srv.epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGINT);
    sigprocmask(SIG_BLOCK, &signals, NULL);
    srv.signal_fd = signalfd(-1, &signals, SFD_NONBLOCK | SFD_CLOEXEC);
    srv.timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (srv.epoll_fd < 0 || srv.signal_fd < 0 || srv.timer_fd < 0) {
        fatal("epoll/signalfd/timerfd");
    }
    struct epoll_event event = {.events = EPOLLIN, .data.u64 = TAG_LISTEN};
    epoll_ctl(srv.epoll_fd, EPOLL_CTL_ADD, srv.listen_fd, &event);
    event.data.u64 = TAG_SIGNAL;
    epoll_ctl(srv.epoll_fd, EPOLL_CTL_ADD, srv.signal_fd, &event);
    event.data.u64 = TAG_TIMER;
    epoll_ctl(srv.epoll_fd, EPOLL_CTL_ADD, srv.timer_fd, &event);
    fprintf(stderr, "fake_llm: listening on %s:%u, delay %ld ms\n", host, ntohs(address.sin_port), delay_ms);

    struct epoll_event events[256];
    for (;;) {
        int count = epoll_wait(srv.epoll_fd, events, (int)(sizeof(events) / sizeof(events[0])), -1);
        if (count < 0) {
            if (errno == EINTR) {
                continue;
            }
            fatal("epoll_wait");
        }
        /* Answers first: they are what the benchmark times. */
        send_due_answers(&srv);
        for (int index = 0; index < count; index++) {
            uint64_t tag = events[index].data.u64;
            if (tag == TAG_LISTEN) {
                accept_clients(&srv);
            } else if (tag == TAG_SIGNAL) {
                print_summary(&srv);
                return 0;
            } else if (tag == TAG_TIMER) {
                uint64_t expirations = 0;
                ssize_t ignored = read(srv.timer_fd, &expirations, sizeof(expirations));
                (void)ignored;
                srv.armed_due = 0; /* fired: a one-shot timer is now disarmed */
            } else {
                handle_client_event(&srv, tag, events[index].events);
            }
        }
        send_due_answers(&srv);
        arm_timer(&srv);
    }
}

#endif
