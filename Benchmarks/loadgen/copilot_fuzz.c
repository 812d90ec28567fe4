/*
 * copilot_fuzz.c - libFuzzer target for the copilot benchmark's readers (copilot.h): the app
 * protocol readers of workload_copilot.c and the fake LLM's request reader and body inspector.
 * Arbitrary bytes must never crash them or make them read out of bounds, and whatever they accept
 * must respect their limits. Build and run: `make fuzz FUZZ_SECONDS=60` (runs after sio_fuzz).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "copilot.h"

/* A span returned by a reader must lie inside the input. */
static void check_span(const uint8_t *data, size_t size, const uint8_t *span, size_t length) {
    if (length > 0 && (span < data || span + length > data + size)) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    /* Copy into an exact-size buffer so ASan sees any read past `size`. */
    uint8_t *bytes = malloc(size ? size : 1);
    memcpy(bytes, data, size);

    copilot_event event;
    if (copilot_parse_event(bytes, size, &event) == COPILOT_OK) {
        check_span(bytes, size, event.name, event.name_length);
        check_span(bytes, size, event.argument, event.argument_length);
        if (event.name_length == 0 || event.name_length > 64 || event.argument[0] != '{') {
            abort();
        }
        char text[COPILOT_MAX_ID + 1];
        if (copilot_get_string(event.argument, event.argument_length, "conversationId", text, sizeof(text)) ==
                COPILOT_OK &&
            strlen(text) > COPILOT_MAX_ID) {
            abort();
        }
        uint64_t number = 0;
        if (copilot_get_uint(event.argument, event.argument_length, "latencyMs", &number) == COPILOT_OK &&
            number >= (1ull << 53)) {
            abort();
        }
        const uint8_t *inner = NULL;
        size_t inner_length = 0;
        if (copilot_get_object(event.argument, event.argument_length, "summary", &inner, &inner_length) ==
            COPILOT_OK) {
            check_span(bytes, size, inner, inner_length);
            char source[16];
            (void)copilot_get_string(inner, inner_length, "source", source, sizeof(source));
        }
    }
    const uint8_t *object = NULL;
    size_t object_length = 0;
    if (copilot_parse_ack(bytes, size, &object, &object_length) == COPILOT_OK) {
        check_span(bytes, size, object, object_length);
        int flag = -1;
        if (copilot_get_bool(object, object_length, "ok", &flag) == COPILOT_OK && flag != 0 && flag != 1) {
            abort();
        }
    }
    /* Small capacities exercise the does-not-fit path. */
    char small[4];
    if (copilot_get_string(bytes, size, "a", small, sizeof(small)) == COPILOT_OK && strlen(small) >= sizeof(small)) {
        abort();
    }
    if (copilot_is_id(bytes, size) && (size == 0 || size > COPILOT_MAX_ID)) {
        abort();
    }

    llm_request request;
    llm_parse_result result = llm_parse_request(bytes, size, &request);
    if (result == LLM_REQUEST_OK) {
        if (request.head_length > LLM_MAX_HEAD || request.body_length > LLM_MAX_BODY ||
            request.total_length != request.head_length + request.body_length || request.total_length > size ||
            request.target_length == 0) {
            abort();
        }
        check_span(bytes, size, request.target, request.target_length);
        if (request.authorization != NULL) {
            check_span(bytes, size, request.authorization, request.authorization_length);
        }
        llm_body info;
        if (llm_inspect_body(bytes + request.head_length, request.body_length, &info) == 0 &&
            (info.answer > LLM_ANSWER_SUMMARY || (info.stream != 0 && info.stream != 1))) {
            abort();
        }
    } else if (result < LLM_UNSUPPORTED_VERSION || result > LLM_REQUEST_OK) {
        abort();
    }
    llm_body info;
    (void)llm_inspect_body(bytes, size, &info);
    free(bytes);
    return 0;
}
