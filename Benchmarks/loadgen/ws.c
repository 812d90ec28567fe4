/*
 * ws.c - WebSocket handshake and frame codec (see ws.h).
 */
#include "ws.h"

#include <string.h>

#include <openssl/evp.h>

static const char websocket_guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

size_t ws_base64_encode(char *out, const uint8_t *bytes, size_t length) {
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t written = 0;
    size_t index = 0;
    for (; index + 3 <= length; index += 3) {
        uint32_t group = ((uint32_t)bytes[index] << 16) | ((uint32_t)bytes[index + 1] << 8) | bytes[index + 2];
        out[written++] = alphabet[(group >> 18) & 63];
        out[written++] = alphabet[(group >> 12) & 63];
        out[written++] = alphabet[(group >> 6) & 63];
        out[written++] = alphabet[group & 63];
    }
    size_t remaining = length - index;
    if (remaining > 0) {
        uint32_t group = (uint32_t)bytes[index] << 16;
        if (remaining == 2) {
            group |= (uint32_t)bytes[index + 1] << 8;
        }
        out[written++] = alphabet[(group >> 18) & 63];
        out[written++] = alphabet[(group >> 12) & 63];
        out[written++] = remaining == 2 ? alphabet[(group >> 6) & 63] : '=';
        out[written++] = '=';
    }
    out[written] = '\0';
    return written;
}

int ws_compute_accept(char out[WS_ACCEPT_SIZE], const char *key, size_t key_length) {
    /* Keys are 24 characters in practice; a longer one is the caller's bug or a hostile client. */
    char concatenated[128];
    if (key_length + sizeof(websocket_guid) > sizeof(concatenated)) {
        return -1;
    }
    memcpy(concatenated, key, key_length);
    memcpy(concatenated + key_length, websocket_guid, sizeof(websocket_guid) - 1);
    uint8_t digest[EVP_MAX_MD_SIZE];
    unsigned int digest_length = 0;
    /* EVP rather than SHA1(): the latter is deprecated in OpenSSL 3 and would warn. */
    if (EVP_Digest(concatenated, key_length + sizeof(websocket_guid) - 1, digest, &digest_length, EVP_sha1(), NULL) !=
            1 ||
        digest_length != 20) {
        return -1;
    }
    ws_base64_encode(out, digest, 20);
    return 0;
}

int ws_handshake_init(ws_handshake *handshake, const uint8_t nonce[16]) {
    ws_base64_encode(handshake->key, nonce, 16);
    return ws_compute_accept(handshake->expected_accept, handshake->key, strlen(handshake->key));
}

int ws_build_request(char *out, size_t capacity, const char *host_header, const char *path,
                     const ws_handshake *handshake) {
    static const char part1[] = "GET ";
    static const char part2[] = " HTTP/1.1\r\nHost: ";
    static const char part3[] = "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ";
    static const char part4[] = "\r\nSec-WebSocket-Version: 13\r\n\r\n";
    const char *pieces[] = {part1, path, part2, host_header, part3, handshake->key, part4};
    size_t written = 0;
    for (size_t index = 0; index < sizeof(pieces) / sizeof(pieces[0]); index++) {
        size_t piece_length = strlen(pieces[index]);
        if (written + piece_length >= capacity) {
            return -1;
        }
        memcpy(out + written, pieces[index], piece_length);
        written += piece_length;
    }
    out[written] = '\0';
    return (int)written;
}

static int ascii_lower(int character) {
    return (character >= 'A' && character <= 'Z') ? character + 32 : character;
}

static int equals_ignoring_case(const uint8_t *bytes, size_t length, const char *literal) {
    size_t literal_length = strlen(literal);
    if (length != literal_length) {
        return 0;
    }
    for (size_t index = 0; index < length; index++) {
        if (ascii_lower(bytes[index]) != ascii_lower((unsigned char)literal[index])) {
            return 0;
        }
    }
    return 1;
}

/* True if the comma-separated list `bytes` holds `token` (case-insensitive), e.g. "keep-alive, Upgrade". */
static int list_contains_token(const uint8_t *bytes, size_t length, const char *token) {
    size_t start = 0;
    while (start < length) {
        size_t end = start;
        while (end < length && bytes[end] != ',') {
            end++;
        }
        size_t token_start = start;
        size_t token_end = end;
        while (token_start < token_end && (bytes[token_start] == ' ' || bytes[token_start] == '\t')) {
            token_start++;
        }
        while (token_end > token_start && (bytes[token_end - 1] == ' ' || bytes[token_end - 1] == '\t')) {
            token_end--;
        }
        if (equals_ignoring_case(bytes + token_start, token_end - token_start, token)) {
            return 1;
        }
        start = end + 1;
    }
    return 0;
}

ws_handshake_result ws_parse_response(const uint8_t *bytes, size_t length, const ws_handshake *handshake,
                                      size_t *consumed) {
    size_t limit = length < WS_MAX_HANDSHAKE_RESPONSE ? length : WS_MAX_HANDSHAKE_RESPONSE;
    size_t head_end = 0;
    for (size_t index = 3; index < limit; index++) {
        if (bytes[index] == '\n' && bytes[index - 1] == '\r' && bytes[index - 2] == '\n' && bytes[index - 3] == '\r') {
            head_end = index + 1;
            break;
        }
    }
    if (head_end == 0) {
        return length >= WS_MAX_HANDSHAKE_RESPONSE ? WS_HANDSHAKE_TOO_LONG : WS_HANDSHAKE_INCOMPLETE;
    }
    if (memchr(bytes, '\0', head_end) != NULL) {
        return WS_HANDSHAKE_MALFORMED;
    }
    /* Status line: "HTTP/1.1 101" then a space (reason phrase) or the end of the line. */
    static const char status_prefix[] = "HTTP/1.1 101";
    size_t prefix_length = sizeof(status_prefix) - 1;
    if (head_end < prefix_length + 2 || memcmp(bytes, status_prefix, prefix_length) != 0 ||
        (bytes[prefix_length] != ' ' && bytes[prefix_length] != '\r')) {
        return WS_HANDSHAKE_BAD_STATUS;
    }
    int saw_upgrade = 0;
    int saw_connection = 0;
    int saw_accept = 0;
    size_t line_start = 0;
    while (line_start < head_end && bytes[line_start] != '\r') {
        line_start++;
    }
    line_start += 2; /* skip the status line's CRLF */
    while (line_start + 2 <= head_end) {
        size_t line_end = line_start;
        while (line_end < head_end && bytes[line_end] != '\r') {
            line_end++;
        }
        if (line_end == line_start) {
            break; /* the empty line that ends the head */
        }
        const uint8_t *colon = memchr(bytes + line_start, ':', line_end - line_start);
        if (colon == NULL) {
            return WS_HANDSHAKE_MALFORMED;
        }
        size_t name_length = (size_t)(colon - (bytes + line_start));
        size_t value_start = (size_t)(colon - bytes) + 1;
        size_t value_end = line_end;
        while (value_start < value_end && (bytes[value_start] == ' ' || bytes[value_start] == '\t')) {
            value_start++;
        }
        while (value_end > value_start && (bytes[value_end - 1] == ' ' || bytes[value_end - 1] == '\t')) {
            value_end--;
        }
        const uint8_t *name = bytes + line_start;
        const uint8_t *value = bytes + value_start;
        size_t value_length = value_end - value_start;
        if (equals_ignoring_case(name, name_length, "upgrade")) {
            saw_upgrade = equals_ignoring_case(value, value_length, "websocket");
        } else if (equals_ignoring_case(name, name_length, "connection")) {
            saw_connection = list_contains_token(value, value_length, "upgrade");
        } else if (equals_ignoring_case(name, name_length, "sec-websocket-accept")) {
            size_t expected_length = strlen(handshake->expected_accept);
            if (value_length != expected_length || memcmp(value, handshake->expected_accept, expected_length) != 0) {
                return WS_HANDSHAKE_BAD_ACCEPT;
            }
            saw_accept = 1;
        } else if (equals_ignoring_case(name, name_length, "sec-websocket-extensions")) {
            return WS_HANDSHAKE_UNEXPECTED_EXTENSION;
        }
        line_start = line_end + 2;
    }
    if (!saw_upgrade || !saw_connection) {
        return WS_HANDSHAKE_BAD_UPGRADE;
    }
    if (!saw_accept) {
        return WS_HANDSHAKE_BAD_ACCEPT;
    }
    *consumed = head_end;
    return WS_HANDSHAKE_OK;
}

ws_frame_result ws_parse_frame_header(const uint8_t *bytes, size_t length, uint64_t max_payload,
                                      int expect_masked, ws_frame_header *header) {
    if (length < 2) {
        return WS_FRAME_INCOMPLETE;
    }
    uint8_t first = bytes[0];
    uint8_t second = bytes[1];
    if (first & 0x70) {
        return WS_FRAME_RESERVED_BITS;
    }
    uint8_t opcode = first & 0x0F;
    int is_control = opcode >= 0x8;
    if (!(opcode <= WS_OPCODE_BINARY || opcode == WS_OPCODE_CLOSE || opcode == WS_OPCODE_PING ||
          opcode == WS_OPCODE_PONG)) {
        return WS_FRAME_UNKNOWN_OPCODE;
    }
    uint8_t masked = (second & 0x80) ? 1 : 0;
    if (masked != (expect_masked ? 1 : 0)) {
        return WS_FRAME_MASKED;
    }
    uint64_t payload_length = second & 0x7F;
    uint32_t header_length = 2;
    if (payload_length == 126) {
        if (length < 4) {
            return WS_FRAME_INCOMPLETE;
        }
        payload_length = ((uint64_t)bytes[2] << 8) | bytes[3];
        if (payload_length < 126) {
            return WS_FRAME_NON_MINIMAL_LENGTH;
        }
        header_length = 4;
    } else if (payload_length == 127) {
        if (length < 10) {
            return WS_FRAME_INCOMPLETE;
        }
        payload_length = 0;
        for (int index = 0; index < 8; index++) {
            payload_length = (payload_length << 8) | bytes[2 + index];
        }
        if (payload_length <= 0xFFFF || (payload_length >> 63) != 0) {
            return WS_FRAME_NON_MINIMAL_LENGTH;
        }
        header_length = 10;
    }
    if (is_control && (payload_length > WS_MAX_CONTROL_PAYLOAD || !(first & 0x80))) {
        return WS_FRAME_BAD_CONTROL;
    }
    if (payload_length > max_payload) {
        return WS_FRAME_TOO_LARGE;
    }
    if (masked) {
        if (length < header_length + 4) {
            return WS_FRAME_INCOMPLETE;
        }
        memcpy(header->mask, bytes + header_length, 4);
        header_length += 4;
    } else {
        memset(header->mask, 0, 4);
    }
    header->payload_length = payload_length;
    header->header_length = header_length;
    header->fin = (first & 0x80) ? 1 : 0;
    header->opcode = opcode;
    header->masked = masked;
    return WS_FRAME_OK;
}

size_t ws_write_frame_header(uint8_t *out, int fin, int opcode, uint64_t payload_length, const uint8_t *mask) {
    size_t length = 0;
    out[length++] = (uint8_t)((fin ? 0x80 : 0) | (opcode & 0x0F));
    uint8_t mask_bit = mask ? 0x80 : 0;
    if (payload_length < 126) {
        out[length++] = (uint8_t)(mask_bit | payload_length);
    } else if (payload_length <= 0xFFFF) {
        out[length++] = (uint8_t)(mask_bit | 126);
        out[length++] = (uint8_t)(payload_length >> 8);
        out[length++] = (uint8_t)payload_length;
    } else {
        out[length++] = (uint8_t)(mask_bit | 127);
        for (int shift = 56; shift >= 0; shift -= 8) {
            out[length++] = (uint8_t)(payload_length >> shift);
        }
    }
    if (mask) {
        memcpy(out + length, mask, 4);
        length += 4;
    }
    return length;
}

/* The 4-byte key rotated by `phase` and repeated to 8 bytes, so whole words can be XORed. */
static uint64_t mask_word(const uint8_t mask[4], size_t phase) {
    uint8_t repeated[8];
    for (int index = 0; index < 8; index++) {
        repeated[index] = mask[(phase + (size_t)index) & 3];
    }
    uint64_t word;
    memcpy(&word, repeated, 8);
    return word;
}

void ws_apply_mask(uint8_t *data, size_t length, const uint8_t mask[4], size_t phase) {
    ws_copy_masked(data, data, length, mask, phase);
}

void ws_copy_masked(uint8_t *destination, const uint8_t *source, size_t length, const uint8_t mask[4],
                    size_t phase) {
    uint64_t word_mask = mask_word(mask, phase);
    size_t index = 0;
    /* memcpy in and out of a word keeps this legal for unaligned buffers; gcc emits plain loads. */
    for (; index + 8 <= length; index += 8) {
        uint64_t word;
        memcpy(&word, source + index, 8);
        word ^= word_mask;
        memcpy(destination + index, &word, 8);
    }
    for (; index < length; index++) {
        destination[index] = source[index] ^ mask[(phase + index) & 3];
    }
}

const char *ws_handshake_result_name(ws_handshake_result result) {
    switch (result) {
    case WS_HANDSHAKE_INCOMPLETE: return "incomplete";
    case WS_HANDSHAKE_OK: return "ok";
    case WS_HANDSHAKE_TOO_LONG: return "response_too_long";
    case WS_HANDSHAKE_BAD_STATUS: return "bad_status";
    case WS_HANDSHAKE_BAD_UPGRADE: return "bad_upgrade_headers";
    case WS_HANDSHAKE_BAD_ACCEPT: return "bad_accept";
    case WS_HANDSHAKE_MALFORMED: return "malformed_response";
    case WS_HANDSHAKE_UNEXPECTED_EXTENSION: return "unexpected_extension";
    }
    return "unknown";
}

const char *ws_frame_result_name(ws_frame_result result) {
    switch (result) {
    case WS_FRAME_INCOMPLETE: return "incomplete";
    case WS_FRAME_OK: return "ok";
    case WS_FRAME_RESERVED_BITS: return "reserved_bits";
    case WS_FRAME_UNKNOWN_OPCODE: return "unknown_opcode";
    case WS_FRAME_BAD_CONTROL: return "bad_control_frame";
    case WS_FRAME_TOO_LARGE: return "frame_too_large";
    case WS_FRAME_MASKED: return "mask_bit_wrong";
    case WS_FRAME_NON_MINIMAL_LENGTH: return "non_minimal_length";
    }
    return "unknown";
}
