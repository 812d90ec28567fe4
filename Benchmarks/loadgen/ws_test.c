/*
 * ws_test.c - table tests for the WebSocket codec in ws.c (run by `make test`).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "ws.h"

static void test_accept_matches_rfc_example(void) {
    /* RFC 6455 section 1.3. */
    char accept[WS_ACCEPT_SIZE];
    int result = ws_compute_accept(accept, "dGhlIHNhbXBsZSBub25jZQ==", 24);
    CHECK(result == 0 && strcmp(accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=") == 0, "accept_matches_rfc_example");
}

static void test_base64_pads_short_groups(void) {
    char out[16];
    ws_base64_encode(out, (const uint8_t *)"f", 1);
    CHECK(strcmp(out, "Zg==") == 0, "base64_one_byte");
    ws_base64_encode(out, (const uint8_t *)"fo", 2);
    CHECK(strcmp(out, "Zm8=") == 0, "base64_two_bytes");
    ws_base64_encode(out, (const uint8_t *)"foo", 3);
    CHECK(strcmp(out, "Zm9v") == 0, "base64_three_bytes");
}

static ws_handshake rfc_handshake(void) {
    ws_handshake handshake;
    strcpy(handshake.key, "dGhlIHNhbXBsZSBub25jZQ==");
    strcpy(handshake.expected_accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    return handshake;
}

static ws_handshake_result parse(const char *response, size_t *consumed) {
    ws_handshake handshake = rfc_handshake();
    return ws_parse_response((const uint8_t *)response, strlen(response), &handshake, consumed);
}

static void test_response_variants(void) {
    size_t consumed = 0;
    const char *good = "HTTP/1.1 101 Switching Protocols\r\nupgrade: WebSocket\r\nConnection: keep-alive, Upgrade\r\n"
                       "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n\x81\x02hi";
    CHECK(parse(good, &consumed) == WS_HANDSHAKE_OK && consumed == strlen(good) - 4,
          "response_ok_leaves_following_frame_bytes");
    CHECK(parse("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n", &consumed) == WS_HANDSHAKE_INCOMPLETE,
          "response_without_blank_line_is_incomplete");
    CHECK(parse("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", &consumed) == WS_HANDSHAKE_BAD_STATUS,
          "response_404_is_bad_status");
    CHECK(parse("HTTP/1.1 1010\r\n\r\n", &consumed) == WS_HANDSHAKE_BAD_STATUS, "response_status_1010_is_bad_status");
    CHECK(parse("HTTP/1.1 101 OK\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                "Sec-WebSocket-Accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n\r\n",
                &consumed) == WS_HANDSHAKE_BAD_ACCEPT,
          "response_wrong_accept_is_rejected");
    CHECK(parse("HTTP/1.1 101 OK\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n", &consumed) ==
              WS_HANDSHAKE_BAD_ACCEPT,
          "response_missing_accept_is_rejected");
    CHECK(parse("HTTP/1.1 101 OK\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n",
                &consumed) == WS_HANDSHAKE_BAD_UPGRADE,
          "response_missing_upgrade_is_rejected");
    CHECK(parse("HTTP/1.1 101 OK\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nBroken line\r\n\r\n", &consumed) ==
              WS_HANDSHAKE_MALFORMED,
          "response_header_without_colon_is_malformed");
    CHECK(parse("HTTP/1.1 101 OK\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n",
                &consumed) == WS_HANDSHAKE_UNEXPECTED_EXTENSION,
          "response_with_unoffered_extension_is_rejected");
    char *huge = malloc(WS_MAX_HANDSHAKE_RESPONSE + 64);
    memset(huge, 'x', WS_MAX_HANDSHAKE_RESPONSE + 63);
    memcpy(huge, "HTTP/1.1 101 OK\r\nX: ", 20);
    huge[WS_MAX_HANDSHAKE_RESPONSE + 63] = '\0';
    CHECK(parse(huge, &consumed) == WS_HANDSHAKE_TOO_LONG, "response_over_limit_is_too_long");
    free(huge);
}

static void test_frame_headers(void) {
    ws_frame_header header;
    const uint8_t small[] = {0x81, 0x05};
    CHECK(ws_parse_frame_header(small, 2, 1000, 0, &header) == WS_FRAME_OK && header.payload_length == 5 &&
              header.header_length == 2 && header.fin && header.opcode == WS_OPCODE_TEXT,
          "frame_small_text");
    const uint8_t medium[] = {0x82, 126, 0x00, 0xC8};
    CHECK(ws_parse_frame_header(medium, 4, 1000, 0, &header) == WS_FRAME_OK && header.payload_length == 200 &&
              header.header_length == 4,
          "frame_16_bit_length");
    CHECK(ws_parse_frame_header(medium, 3, 1000, 0, &header) == WS_FRAME_INCOMPLETE, "frame_truncated_length");
    const uint8_t non_minimal[] = {0x82, 126, 0x00, 0x05};
    CHECK(ws_parse_frame_header(non_minimal, 4, 1000, 0, &header) == WS_FRAME_NON_MINIMAL_LENGTH,
          "frame_non_minimal_16_bit_length");
    const uint8_t huge[] = {0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 0};
    CHECK(ws_parse_frame_header(huge, 10, UINT64_MAX, 0, &header) == WS_FRAME_NON_MINIMAL_LENGTH,
          "frame_64_bit_length_with_top_bit");
    const uint8_t big[] = {0x82, 127, 0, 0, 0, 0, 0, 0x10, 0, 0};
    CHECK(ws_parse_frame_header(big, 10, 1000, 0, &header) == WS_FRAME_TOO_LARGE, "frame_over_limit");
    const uint8_t reserved[] = {0xC1, 0x00};
    CHECK(ws_parse_frame_header(reserved, 2, 1000, 0, &header) == WS_FRAME_RESERVED_BITS, "frame_rsv1");
    const uint8_t opcode[] = {0x83, 0x00};
    CHECK(ws_parse_frame_header(opcode, 2, 1000, 0, &header) == WS_FRAME_UNKNOWN_OPCODE, "frame_opcode_3");
    const uint8_t fragmented_ping[] = {0x09, 0x00};
    CHECK(ws_parse_frame_header(fragmented_ping, 2, 1000, 0, &header) == WS_FRAME_BAD_CONTROL,
          "frame_fragmented_ping");
    const uint8_t long_ping[] = {0x89, 126, 0x00, 0x80};
    CHECK(ws_parse_frame_header(long_ping, 4, 1000, 0, &header) == WS_FRAME_BAD_CONTROL, "frame_ping_over_125");
    const uint8_t masked[] = {0x81, 0x81, 1, 2, 3, 4, 'x'};
    CHECK(ws_parse_frame_header(masked, 7, 1000, 0, &header) == WS_FRAME_MASKED, "frame_masked_from_server");
    CHECK(ws_parse_frame_header(masked, 7, 1000, 1, &header) == WS_FRAME_OK && header.header_length == 6 &&
              header.mask[3] == 4,
          "frame_masked_from_client");
    CHECK(ws_parse_frame_header(masked, 5, 1000, 1, &header) == WS_FRAME_INCOMPLETE, "frame_truncated_mask");
}

static void test_header_round_trip(void) {
    const uint64_t lengths[] = {0, 125, 126, 65535, 65536, 1u << 30};
    const uint8_t mask[4] = {9, 8, 7, 6};
    for (size_t index = 0; index < sizeof(lengths) / sizeof(lengths[0]); index++) {
        uint8_t buffer[WS_MAX_HEADER_LENGTH];
        for (int masked = 0; masked <= 1; masked++) {
            size_t length = ws_write_frame_header(buffer, 1, WS_OPCODE_BINARY, lengths[index], masked ? mask : NULL);
            ws_frame_header header;
            ws_frame_result result = ws_parse_frame_header(buffer, length, UINT64_MAX >> 1, masked, &header);
            CHECK(result == WS_FRAME_OK && header.payload_length == lengths[index] && header.header_length == length,
                  "header_round_trip");
        }
    }
}

static void test_mask_matches_bytewise_definition(void) {
    const uint8_t mask[4] = {0x12, 0x34, 0x56, 0x78};
    uint8_t data[37];
    uint8_t expected[37];
    for (size_t phase = 0; phase < 4; phase++) {
        for (size_t index = 0; index < sizeof(data); index++) {
            data[index] = (uint8_t)(index * 31 + 7);
            expected[index] = data[index] ^ mask[(phase + index) & 3];
        }
        ws_apply_mask(data, sizeof(data), mask, phase);
        CHECK(memcmp(data, expected, sizeof(data)) == 0, "mask_matches_bytewise_definition");
    }
}

static void test_request_fits_and_refuses_overflow(void) {
    ws_handshake handshake = rfc_handshake();
    char out[512];
    int length = ws_build_request(out, sizeof(out), "127.0.0.1:80", "/echo", &handshake);
    CHECK(length > 0 && strstr(out, "GET /echo HTTP/1.1\r\n") == out &&
              strstr(out, "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n") != NULL &&
              strcmp(out + length - 4, "\r\n\r\n") == 0,
          "request_has_key_and_blank_line");
    CHECK(ws_build_request(out, 40, "127.0.0.1:80", "/echo", &handshake) == -1, "request_refuses_small_buffer");
}

int main(void) {
    test_accept_matches_rfc_example();
    test_base64_pads_short_groups();
    test_response_variants();
    test_frame_headers();
    test_header_round_trip();
    test_mask_matches_bytewise_definition();
    test_request_fits_and_refuses_overflow();
    return check_report("ws_test");
}
