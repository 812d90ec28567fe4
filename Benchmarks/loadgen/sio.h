/*
 * sio.h - the Engine.IO v4 / Socket.IO v5 client protocol layer of the load generator, over the
 * WebSocket transport (one Engine.IO packet per WebSocket text message).
 *
 * Pure code like ws.h: no syscalls, no allocation, no global state. Parsers take a length, have
 * hard limits, never read past it, and return typed results. Packets a benchmark server sends are
 * small and regular, so the hot-path parser only splits the header (types, namespace, ack id) and
 * hands back the JSON payload as a span for the caller to compare byte for byte; full JSON
 * validation is a separate, bounded function for the cold paths (open packet, CONNECT reply).
 *
 * Wire format (docs/socketio-conformance.md sections 1-2):
 *   Engine.IO:  <type digit><data>       0 open, 1 close, 2 ping, 3 pong, 4 message, 5 upgrade, 6 noop
 *   Socket.IO:  4<type>[<attachments>-][<namespace>,][<ack id>][<JSON>]
 *               0 CONNECT, 1 DISCONNECT, 2 EVENT, 3 ACK, 4 CONNECT_ERROR, 5 BINARY_EVENT, 6 BINARY_ACK
 */
#ifndef LOADGEN_SIO_H
#define LOADGEN_SIO_H

#include <stddef.h>
#include <stdint.h>

/* Engine.IO packet types, as the ASCII digit that starts every text message. */
enum {
    EIO_OPEN = '0',
    EIO_CLOSE = '1',
    EIO_PING = '2',
    EIO_PONG = '3',
    EIO_MESSAGE = '4',
    EIO_UPGRADE = '5',
    EIO_NOOP = '6',
};

/* Socket.IO packet types (the digit after the Engine.IO `4`), as numbers. */
enum {
    SIO_CONNECT = 0,
    SIO_DISCONNECT = 1,
    SIO_EVENT = 2,
    SIO_ACK = 3,
    SIO_CONNECT_ERROR = 4,
    SIO_BINARY_EVENT = 5,
    SIO_BINARY_ACK = 6,
};

/* Limits: anything beyond them is refused rather than trusted. */
#define SIO_MAX_NAMESPACE 256        /* bytes of a namespace name */
#define SIO_MAX_ATTACHMENTS 10       /* the reference parser's maxAttachments */
#define SIO_MAX_ACK_ID 9007199254740991ull /* 2^53 - 1: what a JavaScript peer can represent */
#define SIO_MAX_JSON_DEPTH 32        /* nesting accepted by sio_json_skip_value */
#define SIO_MAX_SID 128              /* bytes of an Engine.IO or Socket.IO session id */

typedef enum {
    SIO_OK = 1,
    SIO_EMPTY = -1,             /* a zero-length message: not a packet */
    SIO_BAD_ENGINE_TYPE = -2,   /* first byte not '0'..'6' */
    SIO_BAD_PACKET_TYPE = -3,   /* Socket.IO type not '0'..'6', or missing after `4` */
    SIO_BAD_ATTACHMENTS = -4,   /* binary packet without `<n>-`, or n above SIO_MAX_ATTACHMENTS */
    SIO_BAD_NAMESPACE = -5,     /* namespace longer than SIO_MAX_NAMESPACE */
    SIO_BAD_ACK_ID = -6,        /* ack id above SIO_MAX_ACK_ID */
    SIO_BAD_JSON = -7,          /* payload is not one JSON value (or nested too deep) */
    SIO_BAD_OPEN = -8,          /* open packet without a usable sid / ping settings */
    SIO_BAD_CONNECT_REPLY = -9, /* CONNECT reply without a sid object */
} sio_result;

/*
 * One decoded text message. `engine_type` is always set; the Socket.IO fields only when it is
 * EIO_MESSAGE. Spans point into the caller's buffer.
 */
typedef struct {
    uint8_t engine_type;
    uint8_t type;              /* SIO_CONNECT..SIO_BINARY_ACK */
    uint8_t has_ack_id;
    uint8_t ack_id_digits;     /* how many digits the ack id had on the wire */
    uint32_t attachments;
    uint64_t ack_id;
    const uint8_t *name_space; /* "/" (a static string) when the packet names none */
    size_t name_space_length;
    const uint8_t *data;       /* Engine.IO: everything after the type; Socket.IO: the JSON text */
    size_t data_length;
} sio_packet;

/* The fields of an Engine.IO open packet the load generator uses. */
typedef struct {
    char sid[SIO_MAX_SID + 1];
    uint64_t ping_interval_ms;
    uint64_t ping_timeout_ms;
    uint64_t max_payload;
} sio_open;

/*
 * Splits one WebSocket text message into an Engine.IO packet and, for messages, the Socket.IO
 * header. Does not validate the JSON payload (see sio_json_skip_value): callers on the hot path
 * compare it with what they expect.
 */
sio_result sio_parse_text(const uint8_t *bytes, size_t length, sio_packet *packet);

/*
 * Parses the data of an Engine.IO open packet (after the `0`): a JSON object with a string `sid`
 * of 1..SIO_MAX_SID plain bytes and integer `pingInterval` and `pingTimeout`; `maxPayload` is
 * optional (0 if absent). Other keys are ignored.
 */
sio_result sio_parse_open(const uint8_t *data, size_t length, sio_open *open);

/*
 * Checks a Socket.IO CONNECT reply's JSON: an object with a string `sid` of 1..SIO_MAX_SID bytes.
 * Copies the sid (NUL-terminated) into `sid` when it is not NULL (SIO_MAX_SID + 1 bytes).
 */
sio_result sio_parse_connect_reply(const uint8_t *data, size_t length, char *sid);

/*
 * The length of the one JSON value at the start of `bytes` (RFC 8259, no surrounding whitespace
 * skipped at the start; whitespace inside is allowed), nested at most SIO_MAX_JSON_DEPTH deep.
 * Returns SIO_OK with `*consumed`, or SIO_BAD_JSON.
 */
sio_result sio_json_skip_value(const uint8_t *bytes, size_t length, size_t *consumed);

/* The first position at or after `position` that is not JSON whitespace (space, tab, LF, CR), or `length`. */
size_t sio_json_skip_whitespace(const uint8_t *bytes, size_t length, size_t position);

/*
 * Finds `key` among the members of the JSON object `bytes` (the whole span must be one object).
 * Keys are compared as raw bytes between the quotes, so a key written with escapes does not
 * match. Returns SIO_OK with the value's span, SIO_EMPTY if the object has no such key, or
 * SIO_BAD_JSON.
 */
sio_result sio_json_object_get(const uint8_t *bytes, size_t length, const char *key, const uint8_t **value,
                               size_t *value_length);

/* Parses a JSON integer in [0, 2^53) from the whole span. Returns 0, or -1. */
int sio_json_parse_uint(const uint8_t *bytes, size_t length, uint64_t *value);

/*
 * Whether `length` bytes can sit between JSON string quotes as they are and come back unchanged
 * from any server's JSON encoder: printable ASCII without `"`, `\`, `<`, `>`, `&`, `'` (some
 * encoders escape those as \u003c...). Benchmark payloads must pass this so exact comparison works.
 */
int sio_is_plain_json_string(const uint8_t *bytes, size_t length);

/*
 * Writes `4 2 [ack id] ["<event>","<argument>"]` (no namespace: `/`) into `out`. The ack id is
 * written when `has_ack_id`, in decimal without leading zeros. `event` and `argument` must pass
 * sio_is_plain_json_string. Returns the length, or -1 if it does not fit or a string is unsafe.
 */
int sio_write_event(uint8_t *out, size_t capacity, int has_ack_id, uint64_t ack_id, const char *event,
                    const uint8_t *argument, size_t argument_length);

/* Writes `value` as exactly `digits` decimal digits (zero-padded on the left, high digits dropped). */
void sio_write_decimal(uint8_t *out, uint64_t value, unsigned digits);

/* Reads exactly `digits` decimal digits. Returns 0, or -1 if any byte is not a digit. */
int sio_read_decimal(const uint8_t *bytes, unsigned digits, uint64_t *value);

/* Short static names for results, safe for log lines and key=value output. */
const char *sio_result_name(sio_result result);

#endif
