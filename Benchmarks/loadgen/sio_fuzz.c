/*
 * sio_fuzz.c - libFuzzer target for the parsers in sio.c: arbitrary bytes must never crash
 * them or make them read out of bounds, and whatever they accept must respect their limits.
 * Build and run: `make fuzz FUZZ_SECONDS=60` (runs ws_fuzz, then this).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sio.h"

/* A span returned by a parser must lie inside the input. */
static void check_span(const uint8_t *data, size_t size, const uint8_t *span, size_t length) {
    if (length > 0 && (span < data || span + length > data + size)) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    /* Copy into an exact-size buffer so ASan sees any read past `size`. */
    uint8_t *bytes = malloc(size ? size : 1);
    memcpy(bytes, data, size);

    sio_packet packet;
    if (sio_parse_text(bytes, size, &packet) == SIO_OK) {
        if (packet.engine_type < EIO_OPEN || packet.engine_type > EIO_NOOP) {
            abort();
        }
        check_span(bytes, size, packet.data, packet.data_length);
        if (packet.engine_type == EIO_MESSAGE) {
            if (packet.type > SIO_BINARY_ACK || packet.attachments > SIO_MAX_ATTACHMENTS ||
                packet.ack_id > SIO_MAX_ACK_ID || packet.name_space_length > SIO_MAX_NAMESPACE ||
                packet.name_space_length == 0) {
                abort();
            }
            /* A named namespace is a span of the input (the root one may be a static "/"). */
            if (!(packet.name_space_length == 1 && packet.name_space[0] == '/')) {
                check_span(bytes, size, packet.name_space, packet.name_space_length);
            }
        }
    }

    size_t consumed = 0;
    if (sio_json_skip_value(bytes, size, &consumed) == SIO_OK && (consumed == 0 || consumed > size)) {
        abort();
    }
    const uint8_t *value = NULL;
    size_t value_length = 0;
    if (sio_json_object_get(bytes, size, "sid", &value, &value_length) == SIO_OK) {
        check_span(bytes, size, value, value_length);
        size_t inner = 0;
        if (sio_json_skip_value(value, value_length, &inner) != SIO_OK || inner != value_length) {
            abort(); /* a member's value span must itself be exactly one JSON value */
        }
    }
    sio_open open;
    if (sio_parse_open(bytes, size, &open) == SIO_OK && (strlen(open.sid) == 0 || strlen(open.sid) > SIO_MAX_SID)) {
        abort();
    }
    char sid[SIO_MAX_SID + 1];
    if (sio_parse_connect_reply(bytes, size, sid) == SIO_OK && (strlen(sid) == 0 || strlen(sid) > SIO_MAX_SID)) {
        abort();
    }
    uint64_t number = 0;
    if (sio_json_parse_uint(bytes, size, &number) == 0 && number > SIO_MAX_ACK_ID) {
        abort();
    }
    /* The writer must refuse what the plain-string check refuses, and never overflow `out`. */
    uint8_t out[256];
    size_t argument_length = size < 200 ? size : 200;
    int written = sio_write_event(out, sizeof(out), 1, number, "echo", bytes, argument_length);
    if (written > (int)sizeof(out) || (written >= 0 && !sio_is_plain_json_string(bytes, argument_length))) {
        abort();
    }
    free(bytes);
    return 0;
}
