/*
 * ws_fuzz.c - libFuzzer target for the parsers in ws.c: arbitrary bytes must never crash
 * them, and whatever they accept must respect their documented limits.
 * Build and run: `make fuzz FUZZ_SECONDS=60`.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ws.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const ws_handshake handshake = {"dGhlIHNhbXBsZSBub25jZQ==", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="};
    size_t consumed = 0;
    if (ws_parse_response(data, size, &handshake, &consumed) == WS_HANDSHAKE_OK) {
        if (consumed > size || consumed > WS_MAX_HANDSHAKE_RESPONSE) {
            abort();
        }
    }
    for (int expect_masked = 0; expect_masked <= 1; expect_masked++) {
        ws_frame_header header;
        const uint64_t limit = 1u << 20;
        if (ws_parse_frame_header(data, size, limit, expect_masked, &header) == WS_FRAME_OK) {
            if (header.header_length > WS_MAX_HEADER_LENGTH || header.header_length > size ||
                header.payload_length > limit || (header.opcode >= 8 && header.payload_length > 125)) {
                abort();
            }
            size_t available = size - header.header_length;
            size_t length = header.payload_length < available ? (size_t)header.payload_length : available;
            uint8_t *copy = malloc(length + 1);
            ws_copy_masked(copy, data + header.header_length, length, header.mask, 0);
            free(copy);
        }
    }
    return 0;
}
