/*
 * ws.h - the WebSocket (RFC 6455) client protocol layer of the load generator.
 *
 * Pure code: no syscalls, no allocation, no global state, so a peer server
 * (Benchmarks/peers/c_echo.c) and future Engine.IO / Socket.IO modes can reuse it.
 * Every parser takes a length, has hard limits, and returns a typed result
 * rather than trusting what the network sent.
 */
#ifndef LOADGEN_WS_H
#define LOADGEN_WS_H

#include <stddef.h>
#include <stdint.h>

enum {
    WS_OPCODE_CONTINUATION = 0x0,
    WS_OPCODE_TEXT = 0x1,
    WS_OPCODE_BINARY = 0x2,
    WS_OPCODE_CLOSE = 0x8,
    WS_OPCODE_PING = 0x9,
    WS_OPCODE_PONG = 0xA,
};

/* Longest frame header: 2 bytes + 8-byte extended length + 4-byte mask key. */
#define WS_MAX_HEADER_LENGTH 14
/* Control frames carry at most 125 bytes of payload (RFC 6455 section 5.5). */
#define WS_MAX_CONTROL_PAYLOAD 125
/* A 101 response longer than this is treated as hostile rather than buffered forever. */
#define WS_MAX_HANDSHAKE_RESPONSE 8192
/* base64 of the 16-byte nonce, and base64 of a 20-byte SHA-1, plus a NUL each. */
#define WS_KEY_SIZE 25
#define WS_ACCEPT_SIZE 29

/* One client handshake: the key we send and the accept value the server must return. */
typedef struct {
    char key[WS_KEY_SIZE];
    char expected_accept[WS_ACCEPT_SIZE];
} ws_handshake;

typedef enum {
    WS_HANDSHAKE_INCOMPLETE = 0, /* need more bytes */
    WS_HANDSHAKE_OK = 1,
    WS_HANDSHAKE_TOO_LONG = -1,        /* no end of headers within WS_MAX_HANDSHAKE_RESPONSE */
    WS_HANDSHAKE_BAD_STATUS = -2,      /* status line is not "HTTP/1.1 101" */
    WS_HANDSHAKE_BAD_UPGRADE = -3,     /* Upgrade / Connection headers missing or wrong */
    WS_HANDSHAKE_BAD_ACCEPT = -4,      /* Sec-WebSocket-Accept missing or wrong */
    WS_HANDSHAKE_MALFORMED = -5,       /* a header line without a colon, or a NUL byte */
    WS_HANDSHAKE_UNEXPECTED_EXTENSION = -6, /* we offered none, so the server must not pick one */
} ws_handshake_result;

typedef enum {
    WS_FRAME_INCOMPLETE = 0,
    WS_FRAME_OK = 1,
    WS_FRAME_RESERVED_BITS = -1,  /* RSV1-3 set without a negotiated extension */
    WS_FRAME_UNKNOWN_OPCODE = -2,
    WS_FRAME_BAD_CONTROL = -3,    /* fragmented control frame or payload > 125 */
    WS_FRAME_TOO_LARGE = -4,      /* payload above the caller's limit */
    WS_FRAME_MASKED = -5,         /* a server must not mask (RFC 6455 section 5.1) */
    WS_FRAME_NON_MINIMAL_LENGTH = -6,
} ws_frame_result;

/* A decoded frame header; the payload follows at `header_length`. */
typedef struct {
    uint64_t payload_length;
    uint32_t header_length;
    uint8_t fin;
    uint8_t opcode;
    uint8_t masked;
    uint8_t mask[4];
} ws_frame_header;

/* Fills `handshake` from a 16-byte random nonce. Returns 0, or -1 if SHA-1 is unavailable. */
int ws_handshake_init(ws_handshake *handshake, const uint8_t nonce[16]);

/*
 * Writes the HTTP/1.1 Upgrade request into `out`. `host_header` is the Host value
 * (e.g. "127.0.0.1:8080"). Returns its length, or -1 if it does not fit in `capacity`.
 */
int ws_build_request(char *out, size_t capacity, const char *host_header, const char *path,
                     const ws_handshake *handshake);

/*
 * Parses the server's response to the Upgrade request. On WS_HANDSHAKE_OK, `*consumed`
 * is the length of the response head; bytes after it are already WebSocket frames.
 */
ws_handshake_result ws_parse_response(const uint8_t *bytes, size_t length, const ws_handshake *handshake,
                                      size_t *consumed);

/*
 * Decodes the frame header at `bytes`. `expect_masked` is 0 on a client (server frames
 * must be unmasked) and 1 on a server. Payloads longer than `max_payload` are refused.
 */
ws_frame_result ws_parse_frame_header(const uint8_t *bytes, size_t length, uint64_t max_payload,
                                      int expect_masked, ws_frame_header *header);

/*
 * Writes a frame header with the minimal length encoding. `mask` is NULL for an unmasked
 * (server) frame. Returns the header length (2..14); `out` needs WS_MAX_HEADER_LENGTH bytes.
 */
size_t ws_write_frame_header(uint8_t *out, int fin, int opcode, uint64_t payload_length, const uint8_t *mask);

/*
 * XORs `length` bytes with the mask key, starting at byte `phase` of the key (the offset of
 * `data` within the payload, modulo 4). Works a machine word at a time.
 */
void ws_apply_mask(uint8_t *data, size_t length, const uint8_t mask[4], size_t phase);

/* Like ws_apply_mask, but reads `source` and writes `destination` (they may not overlap). */
void ws_copy_masked(uint8_t *destination, const uint8_t *source, size_t length, const uint8_t mask[4],
                    size_t phase);

/* Standard base64 of `length` bytes into `out` (NUL-terminated); returns the encoded length. */
size_t ws_base64_encode(char *out, const uint8_t *bytes, size_t length);

/* The accept value for `key` (RFC 6455 section 4.2.2): base64(SHA-1(key + GUID)). Returns 0 or -1. */
int ws_compute_accept(char out[WS_ACCEPT_SIZE], const char *key, size_t key_length);

/* Short static names for results, safe for log lines and key=value output. */
const char *ws_handshake_result_name(ws_handshake_result result);
const char *ws_frame_result_name(ws_frame_result result);

#endif
