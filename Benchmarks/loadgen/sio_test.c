/*
 * sio_test.c - table tests for the Engine.IO / Socket.IO codec in sio.c (run by `make test`,
 * under ASan/UBSan). Inputs are copied into exact-size heap buffers, so a read one byte past the
 * given length is caught by ASan rather than hidden by a string's NUL.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "sio.h"

static sio_result parse(const char *text, sio_packet *packet) {
    size_t length = strlen(text);
    uint8_t *copy = exact(text, length);
    sio_result result = sio_parse_text(copy, length, packet);
    /* Spans must not outlive the copy in the checks, so turn them into offsets-as-strings here. */
    static char data[4096];
    static char name_space[512];
    if (result == SIO_OK) {
        memcpy(data, packet->data, packet->data_length);
        data[packet->data_length] = '\0';
        memcpy(name_space, packet->name_space, packet->name_space_length);
        name_space[packet->name_space_length] = '\0';
        packet->data = (const uint8_t *)data;
        packet->name_space = (const uint8_t *)name_space;
    }
    free(copy);
    return result;
}

static int data_is(const sio_packet *packet, const char *text) {
    return packet->data_length == strlen(text) && memcmp(packet->data, text, packet->data_length) == 0;
}

static int namespace_is(const sio_packet *packet, const char *text) {
    return packet->name_space_length == strlen(text) && memcmp(packet->name_space, text, packet->name_space_length) == 0;
}

static void test_engine_packets(void) {
    sio_packet packet;
    CHECK(parse("0{\"sid\":\"a\"}", &packet) == SIO_OK && packet.engine_type == EIO_OPEN &&
              data_is(&packet, "{\"sid\":\"a\"}"),
          "engine_open_keeps_its_json");
    CHECK(parse("2", &packet) == SIO_OK && packet.engine_type == EIO_PING && packet.data_length == 0, "engine_ping");
    CHECK(parse("3probe", &packet) == SIO_OK && packet.engine_type == EIO_PONG && data_is(&packet, "probe"),
          "engine_pong_with_data");
    CHECK(parse("1", &packet) == SIO_OK && packet.engine_type == EIO_CLOSE, "engine_close");
    CHECK(parse("6", &packet) == SIO_OK && packet.engine_type == EIO_NOOP, "engine_noop");
    CHECK(parse("", &packet) == SIO_EMPTY, "empty_message_is_not_a_packet");
    CHECK(parse("7", &packet) == SIO_BAD_ENGINE_TYPE, "engine_type_7_is_rejected");
    CHECK(parse("b4AQID", &packet) == SIO_BAD_ENGINE_TYPE, "polling_base64_binary_is_not_valid_on_websocket_text");
}

static void test_socket_io_packets(void) {
    sio_packet packet;
    CHECK(parse("40{\"sid\":\"oSO0OpakMV_3jnilAAAA\"}", &packet) == SIO_OK && packet.type == SIO_CONNECT &&
              namespace_is(&packet, "/") && !packet.has_ack_id && data_is(&packet, "{\"sid\":\"oSO0OpakMV_3jnilAAAA\"}"),
          "connect_reply_in_root_namespace");
    CHECK(parse("40/admin,{\"sid\":\"x\"}", &packet) == SIO_OK && namespace_is(&packet, "/admin") &&
              data_is(&packet, "{\"sid\":\"x\"}"),
          "connect_reply_in_named_namespace");
    CHECK(parse("41/custom", &packet) == SIO_OK && packet.type == SIO_DISCONNECT && namespace_is(&packet, "/custom") &&
              packet.data_length == 0,
          "namespace_runs_to_end_of_message_without_comma");
    CHECK(parse("43123[\"a\"]", &packet) == SIO_OK && packet.type == SIO_ACK && packet.has_ack_id &&
              packet.ack_id == 123 && packet.ack_id_digits == 3 && data_is(&packet, "[\"a\"]"),
          "ack_with_id");
    CHECK(parse("43/admin,13[\"bar\"]", &packet) == SIO_OK && packet.ack_id == 13 && namespace_is(&packet, "/admin") &&
              data_is(&packet, "[\"bar\"]"),
          "ack_in_namespace_with_id");
    CHECK(parse("42[\"bcast\",\"x\"]", &packet) == SIO_OK && packet.type == SIO_EVENT && !packet.has_ack_id &&
              data_is(&packet, "[\"bcast\",\"x\"]"),
          "event_without_id");
    CHECK(parse("451-[\"baz\",{\"_placeholder\":true,\"num\":0}]", &packet) == SIO_OK &&
              packet.type == SIO_BINARY_EVENT && packet.attachments == 1,
          "binary_event_attachment_count");
    CHECK(parse("4610-15[1]", &packet) == SIO_OK && packet.attachments == 10 && packet.ack_id == 15,
          "binary_ack_with_ten_attachments_and_id");
    CHECK(parse("4611-[1]", &packet) == SIO_BAD_ATTACHMENTS, "eleven_attachments_are_refused");
    CHECK(parse("45-[1]", &packet) == SIO_BAD_ATTACHMENTS, "attachment_count_missing");
    CHECK(parse("451[1]", &packet) == SIO_BAD_ATTACHMENTS, "attachment_count_without_dash");
    CHECK(parse("45", &packet) == SIO_BAD_ATTACHMENTS, "binary_type_at_end_of_message");
    CHECK(parse("4", &packet) == SIO_BAD_PACKET_TYPE, "message_without_socket_io_type");
    CHECK(parse("47[]", &packet) == SIO_BAD_PACKET_TYPE, "socket_io_type_7_is_rejected");
    CHECK(parse("4abc", &packet) == SIO_BAD_PACKET_TYPE, "socket_io_type_letter_is_rejected");
    CHECK(parse("439007199254740991[]", &packet) == SIO_OK && packet.ack_id == 9007199254740991ull,
          "ack_id_2_pow_53_minus_1_is_accepted");
    CHECK(parse("439007199254740992[]", &packet) == SIO_BAD_ACK_ID, "ack_id_2_pow_53_is_refused");
    CHECK(parse("4399999999999999999[]", &packet) == SIO_BAD_ACK_ID, "ack_id_with_17_digits_is_refused");
    CHECK(parse("430000000000000000000001[]", &packet) == SIO_BAD_ACK_ID, "ack_id_with_many_leading_zeros_is_refused");

    char long_namespace[300] = "40/";
    memset(long_namespace + 3, 'n', 256);
    long_namespace[259] = ',';
    long_namespace[260] = '\0';
    CHECK(parse(long_namespace, &packet) == SIO_BAD_NAMESPACE, "namespace_over_256_bytes_is_refused");
    long_namespace[258] = ',';
    long_namespace[259] = '\0';
    CHECK(parse(long_namespace, &packet) == SIO_OK && packet.name_space_length == 256, "namespace_of_256_bytes_is_accepted");
}

static sio_result skip(const char *text, size_t *consumed) {
    size_t length = strlen(text);
    uint8_t *copy = exact(text, length);
    sio_result result = sio_json_skip_value(copy, length, consumed);
    free(copy);
    return result;
}

static void test_json_values(void) {
    static const char *const valid[] = {
        "0", "-0", "12", "-3.25", "1e9", "2E-3", "1.5e+2", "\"\"", "\"a\\\"b\\\\c\\/\\b\\f\\n\\r\\t\"", "\"\\u00e9\"",
        "\"caf\xc3\xa9\"", "true", "false", "null", "[]", "{}", "[ 1 , [2,[3]] , {\"a\" : {\"b\":[]}} ]",
        "{\"sid\":\"x\",\"upgrades\":[],\"pingInterval\":25000}", "[\"bcast\",\"payload\"]",
    };
    for (size_t index = 0; index < sizeof(valid) / sizeof(valid[0]); index++) {
        size_t consumed = 0;
        int ok = skip(valid[index], &consumed) == SIO_OK && consumed == strlen(valid[index]);
        CHECK(ok, "json_valid_value_is_skipped_whole");
        if (!ok) {
            fprintf(stderr, "  value: %s\n", valid[index]);
        }
    }
    static const char *const invalid[] = {
        "", " 1", "01", "1.", ".5", "-", "1e", "+1", "[1,]", "[,1]", "[1 2]", "{\"a\"}", "{\"a\":1,}", "{a:1}",
        "{\"a\":1", "[", "\"abc", "\"a\\x\"", "\"\\u12\"", "\"\\u12G4\"", "\"tab\there\"", "tru", "nul", "falsy",
        "]", "}", "{1:2}", "[\"a\":1]",
    };
    for (size_t index = 0; index < sizeof(invalid) / sizeof(invalid[0]); index++) {
        size_t consumed = 0;
        sio_result result = skip(invalid[index], &consumed);
        /* "01" and "falsy" start with a valid value ("0", "false") followed by junk: the caller
         * sees that through `consumed`, so a whole-span check rejects them too. */
        int ok = result == SIO_BAD_JSON || consumed < strlen(invalid[index]);
        CHECK(ok, "json_invalid_value_is_rejected");
        if (!ok) {
            fprintf(stderr, "  value: %s\n", invalid[index]);
        }
    }
    size_t consumed = 0;
    CHECK(skip("[1]xyz", &consumed) == SIO_OK && consumed == 3, "json_skip_stops_after_the_value");

    char nested[80];
    memset(nested, '[', SIO_MAX_JSON_DEPTH);
    memset(nested + SIO_MAX_JSON_DEPTH, ']', SIO_MAX_JSON_DEPTH);
    nested[2 * SIO_MAX_JSON_DEPTH] = '\0';
    CHECK(skip(nested, &consumed) == SIO_OK, "json_nesting_at_the_limit_is_accepted");
    memset(nested, '[', SIO_MAX_JSON_DEPTH + 1);
    memset(nested + SIO_MAX_JSON_DEPTH + 1, ']', SIO_MAX_JSON_DEPTH + 1);
    nested[2 * SIO_MAX_JSON_DEPTH + 2] = '\0';
    CHECK(skip(nested, &consumed) == SIO_BAD_JSON, "json_nesting_over_the_limit_is_refused");
}

static sio_result get(const char *object, const char *key, char *value_out) {
    size_t length = strlen(object);
    uint8_t *copy = exact(object, length);
    const uint8_t *value = NULL;
    size_t value_length = 0;
    sio_result result = sio_json_object_get(copy, length, key, &value, &value_length);
    if (result == SIO_OK) {
        memcpy(value_out, value, value_length);
        value_out[value_length] = '\0';
    }
    free(copy);
    return result;
}

static void test_json_object_get(void) {
    char value[256];
    CHECK(get("{\"a\":1,\"b\":[1,{\"c\":2}],\"d\":\"x\"}", "b", value) == SIO_OK && strcmp(value, "[1,{\"c\":2}]") == 0,
          "object_get_returns_nested_value_span");
    CHECK(get(" { \"a\" : true , \"sid\" :\"q\" } ", "sid", value) == SIO_OK && strcmp(value, "\"q\"") == 0,
          "object_get_skips_whitespace");
    CHECK(get("{\"a\":{\"sid\":\"inner\"}}", "sid", value) == SIO_EMPTY, "object_get_ignores_nested_keys");
    CHECK(get("{}", "sid", value) == SIO_EMPTY, "object_get_on_empty_object");
    CHECK(get("[\"sid\"]", "sid", value) == SIO_BAD_JSON, "object_get_on_array_is_bad_json");
    CHECK(get("{\"sid\":\"x\"} junk", "sid", value) == SIO_BAD_JSON, "object_get_refuses_trailing_bytes");
    CHECK(get("{\"sid\":\"x\",}", "sid", value) == SIO_BAD_JSON, "object_get_refuses_invalid_object");
}

static sio_result open_packet(const char *json, sio_open *open) {
    size_t length = strlen(json);
    uint8_t *copy = exact(json, length);
    sio_result result = sio_parse_open(copy, length, open);
    free(copy);
    return result;
}

static void test_open_packet(void) {
    sio_open open;
    CHECK(open_packet("{\"sid\":\"lv_VI97HAXpY6yYWAAAC\",\"upgrades\":[\"websocket\"],\"pingInterval\":300,"
                      "\"pingTimeout\":200,\"maxPayload\":1000000}",
                      &open) == SIO_OK &&
              strcmp(open.sid, "lv_VI97HAXpY6yYWAAAC") == 0 && open.ping_interval_ms == 300 &&
              open.ping_timeout_ms == 200 && open.max_payload == 1000000,
          "open_packet_reference_example");
    CHECK(open_packet("{\"sid\":\"a\",\"upgrades\":[],\"pingTimeout\":20000,\"pingInterval\":25000,"
                      "\"maxPayload\":1000000}",
                      &open) == SIO_OK &&
              open.ping_interval_ms == 25000,
          "open_packet_in_python_socketio_key_order");
    CHECK(open_packet("{\"sid\":\"a\",\"pingInterval\":1,\"pingTimeout\":2}", &open) == SIO_OK && open.max_payload == 0,
          "open_packet_without_max_payload");
    CHECK(open_packet("{\"upgrades\":[],\"pingInterval\":1,\"pingTimeout\":2}", &open) == SIO_BAD_OPEN,
          "open_packet_without_sid");
    CHECK(open_packet("{\"sid\":7,\"pingInterval\":1,\"pingTimeout\":2}", &open) == SIO_BAD_OPEN,
          "open_packet_with_numeric_sid");
    CHECK(open_packet("{\"sid\":\"\",\"pingInterval\":1,\"pingTimeout\":2}", &open) == SIO_BAD_OPEN,
          "open_packet_with_empty_sid");
    CHECK(open_packet("{\"sid\":\"a\\\"b\",\"pingInterval\":1,\"pingTimeout\":2}", &open) == SIO_BAD_OPEN,
          "open_packet_with_escaped_sid");
    CHECK(open_packet("{\"sid\":\"a\",\"pingInterval\":-1,\"pingTimeout\":2}", &open) == SIO_BAD_OPEN,
          "open_packet_with_negative_interval");
    CHECK(open_packet("{\"sid\":\"a\",\"pingInterval\":1.5,\"pingTimeout\":2}", &open) == SIO_BAD_OPEN,
          "open_packet_with_fractional_interval");
    CHECK(open_packet("{\"sid\":\"a\",\"pingTimeout\":2}", &open) == SIO_BAD_OPEN, "open_packet_without_interval");
    CHECK(open_packet("{\"sid\":\"a\"", &open) == SIO_BAD_JSON, "open_packet_truncated");
    char long_sid[300] = "{\"sid\":\"";
    memset(long_sid + 8, 's', SIO_MAX_SID + 1);
    strcpy(long_sid + 8 + SIO_MAX_SID + 1, "\",\"pingInterval\":1,\"pingTimeout\":2}");
    CHECK(open_packet(long_sid, &open) == SIO_BAD_OPEN, "open_packet_with_overlong_sid");
}

static void test_connect_reply(void) {
    char sid[SIO_MAX_SID + 1];
    uint8_t *copy = exact("{\"sid\":\"I_a2h1W9F6nMyKSc_vbL\"}", 30);
    CHECK(sio_parse_connect_reply(copy, 30, sid) == SIO_OK && strcmp(sid, "I_a2h1W9F6nMyKSc_vbL") == 0,
          "connect_reply_copies_sid");
    free(copy);
    copy = exact("{\"sid\":1}", 9);
    CHECK(sio_parse_connect_reply(copy, 9, NULL) == SIO_BAD_CONNECT_REPLY, "connect_reply_numeric_sid");
    free(copy);
    copy = exact("{}", 2);
    CHECK(sio_parse_connect_reply(copy, 2, NULL) == SIO_BAD_CONNECT_REPLY, "connect_reply_without_sid");
    free(copy);
    copy = exact("[1]", 3);
    CHECK(sio_parse_connect_reply(copy, 3, NULL) == SIO_BAD_JSON, "connect_reply_array_is_bad_json");
    free(copy);
    CHECK(sio_parse_connect_reply((const uint8_t *)"", 0, NULL) == SIO_BAD_JSON, "connect_reply_empty_is_bad_json");
}

static void test_write_event(void) {
    uint8_t out[128];
    int length = sio_write_event(out, sizeof(out), 0, 0, "echo", (const uint8_t *)"abc", 3);
    CHECK(length == 16 && memcmp(out, "42[\"echo\",\"abc\"]", 16) == 0, "write_event_without_id");
    length = sio_write_event(out, sizeof(out), 1, 7, "echo", (const uint8_t *)"abc", 3);
    CHECK(length == 17 && memcmp(out, "427[\"echo\",\"abc\"]", 17) == 0, "write_event_with_id");
    length = sio_write_event(out, sizeof(out), 1, 0, "e", (const uint8_t *)"", 0);
    CHECK(length == 11 && memcmp(out, "420[\"e\",\"\"]", 11) == 0, "write_event_with_id_zero_and_empty_argument");
    length = sio_write_event(out, sizeof(out), 1, 100000000000ull, "echo", (const uint8_t *)"x", 1);
    CHECK(length == 26 && memcmp(out, "42100000000000[\"echo\",\"x\"]", 26) == 0, "write_event_with_12_digit_id");
    CHECK(sio_write_event(out, sizeof(out), 0, 0, "echo", (const uint8_t *)"a\"b", 3) == -1,
          "write_event_refuses_quote_in_argument");
    CHECK(sio_write_event(out, sizeof(out), 0, 0, "ec\\ho", (const uint8_t *)"a", 1) == -1,
          "write_event_refuses_backslash_in_event");
    CHECK(sio_write_event(out, sizeof(out), 1, SIO_MAX_ACK_ID + 1, "e", (const uint8_t *)"a", 1) == -1,
          "write_event_refuses_ack_id_above_2_pow_53");
    CHECK(sio_write_event(out, 15, 0, 0, "echo", (const uint8_t *)"abc", 3) == -1, "write_event_refuses_small_buffer");
    CHECK(sio_write_event(out, 16, 0, 0, "echo", (const uint8_t *)"abc", 3) == 16, "write_event_fits_exactly");

    /* Round trip through the parser. */
    length = sio_write_event(out, sizeof(out), 1, 4242, "bcast", (const uint8_t *)"hello", 5);
    sio_packet packet;
    CHECK(length > 0 && sio_parse_text(out, (size_t)length, &packet) == SIO_OK && packet.type == SIO_EVENT &&
              packet.ack_id == 4242 && packet.data_length == 17 && memcmp(packet.data, "[\"bcast\",\"hello\"]", 17) == 0,
          "write_event_round_trips_through_parse");
}

static void test_decimal_and_plain_strings(void) {
    uint8_t digits[12];
    uint64_t value = 0;
    sio_write_decimal(digits, 123456789012ull, 12);
    CHECK(memcmp(digits, "123456789012", 12) == 0, "write_decimal_12_digits");
    sio_write_decimal(digits, 42, 6);
    CHECK(memcmp(digits, "000042", 6) == 0, "write_decimal_pads_with_zeros");
    CHECK(sio_read_decimal((const uint8_t *)"000042", 6, &value) == 0 && value == 42, "read_decimal_padded");
    CHECK(sio_read_decimal((const uint8_t *)"00a042", 6, &value) == -1, "read_decimal_refuses_letter");
    CHECK(sio_is_plain_json_string((const uint8_t *)"abcXYZ019-_.~ ", 14), "plain_string_accepts_safe_ascii");
    CHECK(!sio_is_plain_json_string((const uint8_t *)"a<b", 3), "plain_string_refuses_html_escaped_bytes");
    CHECK(!sio_is_plain_json_string((const uint8_t *)"a/b", 3), "plain_string_refuses_slash");
    CHECK(!sio_is_plain_json_string((const uint8_t *)"caf\xc3\xa9", 5), "plain_string_refuses_non_ascii");
    CHECK(!sio_is_plain_json_string((const uint8_t *)"a\nb", 3), "plain_string_refuses_control");
    uint64_t parsed = 0;
    CHECK(sio_json_parse_uint((const uint8_t *)"25000", 5, &parsed) == 0 && parsed == 25000, "parse_uint_plain");
    CHECK(sio_json_parse_uint((const uint8_t *)"025", 3, &parsed) == -1, "parse_uint_refuses_leading_zero");
    CHECK(sio_json_parse_uint((const uint8_t *)"0", 1, &parsed) == 0 && parsed == 0, "parse_uint_zero");
    CHECK(sio_json_parse_uint((const uint8_t *)"", 0, &parsed) == -1, "parse_uint_refuses_empty");
}

int main(void) {
    test_engine_packets();
    test_socket_io_packets();
    test_json_values();
    test_json_object_get();
    test_open_packet();
    test_connect_reply();
    test_write_event();
    test_decimal_and_plain_strings();
    return check_report("sio_test");
}
