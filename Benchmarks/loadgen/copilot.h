/*
 * copilot.h - the pure parts of the copilot benchmark: the Earpiece app-protocol readers used by
 * the `copilot` workload (workload_copilot.c) and the HTTP request reader and request inspector of
 * the fake OpenAI server (fake_llm.c).
 *
 * Like sio.h: no syscalls, no allocation, no global state. Every reader takes a length, never reads
 * past it, has hard limits and returns a typed result. They are table-tested in copilot_test.c and
 * fuzzed in copilot_fuzz.c, which build workload_copilot.c with COPILOT_CODEC_ONLY and fake_llm.c
 * with FAKE_LLM_NO_MAIN so that only these functions are compiled.
 */
#ifndef LOADGEN_COPILOT_H
#define LOADGEN_COPILOT_H

#include <stddef.h>
#include <stdint.h>

/* ------------------------------------------------------------------------------------------ */
/* The app protocol, client side (workload_copilot.c)                                         */

/* The protocol's ids: 1 to 128 characters of [A-Za-z0-9_.:-] (protocol/README.md, Conventions). */
#define COPILOT_MAX_ID 128

/* A Socket.IO event's payload `["NAME",{...}]`, split into spans of the caller's buffer. */
typedef struct {
    const uint8_t *name; /* without quotes; plain (no escapes) */
    size_t name_length;
    const uint8_t *argument; /* the one argument: a JSON object, whole */
    size_t argument_length;
} copilot_event;

typedef enum {
    COPILOT_OK = 1,
    COPILOT_MISSING = 0,     /* the member is not there */
    COPILOT_BAD_JSON = -1,   /* not one JSON value of the expected shape */
    COPILOT_BAD_NAME = -2,   /* the event name is not a plain string of 1..64 bytes */
    COPILOT_BAD_VALUE = -3,  /* the member has the wrong type, or does not fit */
} copilot_result;

/* Splits `["NAME",{...}]` (whitespace allowed between tokens). Exactly one object argument. */
copilot_result copilot_parse_event(const uint8_t *json, size_t length, copilot_event *event);

/* An ack's payload `[{...}]`: the span of the one object argument. */
copilot_result copilot_parse_ack(const uint8_t *json, size_t length, const uint8_t **object, size_t *object_length);

/*
 * Copies the string member `key` of `object` (a whole JSON object) into `out` (NUL-terminated,
 * `capacity` bytes including the NUL). Only plain strings: an escape or a control byte is
 * COPILOT_BAD_VALUE, as is a string that does not fit.
 */
copilot_result copilot_get_string(const uint8_t *object, size_t length, const char *key, char *out, size_t capacity);

/* The boolean member `key`: COPILOT_OK with *value 0 or 1. */
copilot_result copilot_get_bool(const uint8_t *object, size_t length, const char *key, int *value);

/* The integer member `key`, in [0, 2^53): COPILOT_OK with *value. */
copilot_result copilot_get_uint(const uint8_t *object, size_t length, const char *key, uint64_t *value);

/* The object member `key`: its span. */
copilot_result copilot_get_object(const uint8_t *object, size_t length, const char *key, const uint8_t **value,
                                  size_t *value_length);

/* Whether `length` bytes are a protocol id (1..128 of [A-Za-z0-9_.:-]). */
int copilot_is_id(const uint8_t *bytes, size_t length);

/* Whether the span equals the NUL-terminated `text`. */
int copilot_span_equals(const uint8_t *bytes, size_t length, const char *text);

/* Short static names for results. */
const char *copilot_result_name(copilot_result result);

/*
 * The fake LLM writes into every tip's headline how late it answered, so the workload can take it
 * off the tip's overhead: on a busy machine the fake's own wake-up delay is not the server's. The
 * headline ends in `COPILOT_FAKE_LATE_PREFIX` + 6 decimal digits (microseconds, at most 999999) +
 * `COPILOT_FAKE_LATE_SUFFIX`.
 */
#define COPILOT_FAKE_LATE_PREFIX " [fake LLM late "
#define COPILOT_FAKE_LATE_DIGITS 6
#define COPILOT_FAKE_LATE_SUFFIX " us]"

/* ------------------------------------------------------------------------------------------ */
/* The fake OpenAI server's request reader (fake_llm.c)                                       */

#define LLM_MAX_HEAD 16384u              /* request line and headers */
#define LLM_MAX_BODY (4u * 1024u * 1024u) /* the Python fake's limit; a real prompt is ~10 KB */
#define LLM_MAX_HEADERS 64u

typedef enum {
    LLM_REQUEST_OK = 1,
    LLM_REQUEST_INCOMPLETE = 0,    /* need more bytes */
    LLM_BAD_REQUEST_LINE = -1,     /* not `METHOD SP target SP HTTP/1.x` */
    LLM_BAD_HEADER = -2,           /* a header line without a colon, a bad name, folding, a bare CR or LF */
    LLM_HEAD_TOO_LARGE = -3,       /* no end of head within LLM_MAX_HEAD, or over LLM_MAX_HEADERS lines */
    LLM_BODY_TOO_LARGE = -4,       /* Content-Length above the limit */
    LLM_LENGTH_REQUIRED = -5,      /* Transfer-Encoding (not supported) */
    LLM_BAD_CONTENT_LENGTH = -6,   /* not digits, or two different values */
    LLM_UNSUPPORTED_VERSION = -7,  /* not HTTP/1.0 or HTTP/1.1 */
} llm_parse_result;

typedef enum { LLM_METHOD_OTHER = 0, LLM_METHOD_GET, LLM_METHOD_POST, LLM_METHOD_DELETE } llm_method;

/* One parsed request; spans point into the caller's buffer. */
typedef struct {
    llm_method method;
    const uint8_t *target;
    size_t target_length;
    const uint8_t *authorization; /* the header's value, trimmed; NULL if absent */
    size_t authorization_length;
    int keep_alive;               /* HTTP/1.1 unless `Connection: close`; HTTP/1.0 only with keep-alive */
    size_t head_length;           /* through the blank line */
    size_t body_length;
    size_t total_length;          /* head + body: where the next request starts */
} llm_request;

/* Reads one request from the start of `bytes`. LLM_REQUEST_OK only when the whole body is there. */
llm_parse_result llm_parse_request(const uint8_t *bytes, size_t length, llm_request *request);

/* What a chat completions body asks for: the answer depends on the structured-output schema name. */
typedef enum { LLM_ANSWER_TEXT = 0, LLM_ANSWER_TIP, LLM_ANSWER_SUMMARY } llm_answer;

typedef struct {
    llm_answer answer;
    int stream;        /* "stream": true */
    int include_usage; /* "stream_options": {"include_usage": true} */
} llm_body;

/*
 * Inspects a chat completions request body: a JSON object with `model` and a non-empty `messages`
 * array; `response_format.json_schema.name` picks the answer. Returns 0, or -1 if the body is not
 * such an object (the fake answers 400).
 */
int llm_inspect_body(const uint8_t *body, size_t length, llm_body *info);

const char *llm_parse_result_name(llm_parse_result result);

#endif
