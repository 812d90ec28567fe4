/*
 * copilot_test.c - table tests for the copilot benchmark's pure readers (copilot.h): the app
 * protocol readers of workload_copilot.c and the fake LLM's HTTP request reader and body inspector
 * (fake_llm.c). Run by `make test` under ASan/UBSan. Inputs are copied into exact-size heap
 * buffers, so a read one byte past the given length is caught by ASan rather than hidden by a NUL.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "copilot.h"

/* ------------------------------------------------------------------------------------------ */
/* App protocol                                                                               */

/* What event_of and request_of found, copied out before the input is freed. */
static char name[128];
static char argument[1024];
static char target[256];
static char authorization[256];

/* Parses `text` from an exact-size copy; on success `name` and `argument` hold the event's spans. */
static copilot_result event_of(const char *text, copilot_event *event) {
    size_t length = strlen(text);
    uint8_t *copy = exact(text, length);
    copilot_result result = copilot_parse_event(copy, length, event);
    name[0] = argument[0] = '\0';
    if (result == COPILOT_OK) {
        memcpy(name, event->name, event->name_length);
        name[event->name_length] = '\0';
        memcpy(argument, event->argument, event->argument_length);
        argument[event->argument_length] = '\0';
    }
    free(copy);
    return result;
}

static void test_events(void) {
    copilot_event event;
    CHECK(event_of("[\"AI_TIP\",{\"a\":1}]", &event) == COPILOT_OK && strcmp(name, "AI_TIP") == 0 &&
              strcmp(argument, "{\"a\":1}") == 0,
          "event with an object argument");
    CHECK(event_of(" [ \"PONG\" , { } ] ", &event) == COPILOT_OK && strcmp(name, "PONG") == 0 &&
              strcmp(argument, "{ }") == 0,
          "event with whitespace between tokens");
    CHECK(event_of("[\"AI_TIP\"]", &event) == COPILOT_BAD_JSON, "event without an argument");
    CHECK(event_of("[\"AI_TIP\",{},{}]", &event) == COPILOT_BAD_JSON, "event with two arguments");
    CHECK(event_of("[\"AI_TIP\",[1]]", &event) == COPILOT_BAD_JSON, "event with an array argument");
    CHECK(event_of("[\"AI_TIP\",\"x\"]", &event) == COPILOT_BAD_JSON, "event with a string argument");
    CHECK(event_of("[1,{}]", &event) == COPILOT_BAD_NAME, "event with a number for a name");
    CHECK(event_of("[\"\",{}]", &event) == COPILOT_BAD_NAME, "event with an empty name");
    CHECK(event_of("[\"A\\u0042\",{}]", &event) == COPILOT_BAD_NAME, "event name with an escape");
    char long_name[100];
    snprintf(long_name, sizeof(long_name), "[\"%065d\",{}]", 0);
    CHECK(event_of(long_name, &event) == COPILOT_BAD_NAME, "event name of 65 bytes");
    snprintf(long_name, sizeof(long_name), "[\"%064d\",{}]", 0);
    CHECK(event_of(long_name, &event) == COPILOT_OK, "event name of 64 bytes");
    CHECK(event_of("[\"AI_TIP\",{\"a\":1}", &event) == COPILOT_BAD_JSON, "event cut before ]");
    CHECK(event_of("[\"AI_TIP\",{\"a\":1}]x", &event) == COPILOT_BAD_JSON, "event with trailing bytes");
    CHECK(event_of("{\"AI_TIP\":{}}", &event) == COPILOT_BAD_JSON, "event that is an object");
    CHECK(event_of("", &event) == COPILOT_BAD_JSON, "empty event");
    const char *deep = "[\"AI_TIP\",{\"a\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}]";
    CHECK(event_of(deep, &event) == COPILOT_BAD_JSON, "event nested deeper than the limit");
}

static void test_acks(void) {
    const char *text = "[{\"ok\":true,\"conversationId\":\"c_7Hq2:x.y-z\",\"resumed\":false,\"n\":42,\"s\":{\"source\":\"llm\"}}]";
    size_t length = strlen(text);
    uint8_t *copy = exact(text, length);
    const uint8_t *object = NULL;
    size_t object_length = 0;
    CHECK(copilot_parse_ack(copy, length, &object, &object_length) == COPILOT_OK && object[0] == '{' &&
              object_length == length - 2,
          "ack with one object");
    int flag = -1;
    CHECK(copilot_get_bool(object, object_length, "ok", &flag) == COPILOT_OK && flag == 1, "ok true");
    CHECK(copilot_get_bool(object, object_length, "resumed", &flag) == COPILOT_OK && flag == 0, "resumed false");
    CHECK(copilot_get_bool(object, object_length, "n", &flag) == COPILOT_BAD_VALUE, "a number is not a boolean");
    CHECK(copilot_get_bool(object, object_length, "missing", &flag) == COPILOT_MISSING, "missing boolean");
    char id[COPILOT_MAX_ID + 1];
    CHECK(copilot_get_string(object, object_length, "conversationId", id, sizeof(id)) == COPILOT_OK &&
              strcmp(id, "c_7Hq2:x.y-z") == 0 && copilot_is_id((const uint8_t *)id, strlen(id)),
          "conversation id");
    char small[5];
    CHECK(copilot_get_string(object, object_length, "conversationId", small, sizeof(small)) == COPILOT_BAD_VALUE,
          "a string that does not fit");
    CHECK(copilot_get_string(object, object_length, "ok", id, sizeof(id)) == COPILOT_BAD_VALUE,
          "a boolean is not a string");
    uint64_t number = 0;
    CHECK(copilot_get_uint(object, object_length, "n", &number) == COPILOT_OK && number == 42, "integer member");
    CHECK(copilot_get_uint(object, object_length, "ok", &number) == COPILOT_BAD_VALUE, "a boolean is not an integer");
    const uint8_t *inner = NULL;
    size_t inner_length = 0;
    CHECK(copilot_get_object(object, object_length, "s", &inner, &inner_length) == COPILOT_OK &&
              copilot_get_string(inner, inner_length, "source", id, sizeof(id)) == COPILOT_OK && strcmp(id, "llm") == 0,
          "nested object member");
    CHECK(copilot_get_object(object, object_length, "n", &inner, &inner_length) == COPILOT_BAD_VALUE,
          "a number is not an object");
    free(copy);

    const char *escaped = "{\"text\":\"a\\\"b\",\"neg\":-1,\"big\":9007199254740992,\"frac\":1.5}";
    copy = exact(escaped, strlen(escaped));
    CHECK(copilot_get_string(copy, strlen(escaped), "text", id, sizeof(id)) == COPILOT_BAD_VALUE,
          "a string with an escape is refused");
    CHECK(copilot_get_uint(copy, strlen(escaped), "neg", &number) == COPILOT_BAD_VALUE, "negative integer refused");
    CHECK(copilot_get_uint(copy, strlen(escaped), "big", &number) == COPILOT_BAD_VALUE, "integer 2^53 refused");
    CHECK(copilot_get_uint(copy, strlen(escaped), "frac", &number) == COPILOT_BAD_VALUE, "fraction refused");
    free(copy);

    const char *bad[] = {"[]", "[{}", "[{},{}]", "[1]", "{\"ok\":true}", "[{\"ok\":true}] x"};
    for (size_t index = 0; index < sizeof(bad) / sizeof(bad[0]); index++) {
        copy = exact(bad[index], strlen(bad[index]));
        CHECK(copilot_parse_ack(copy, strlen(bad[index]), &object, &object_length) == COPILOT_BAD_JSON, bad[index]);
        free(copy);
    }
    copy = exact("{\"ok\":tru}", 10);
    CHECK(copilot_get_bool(copy, 10, "ok", &flag) == COPILOT_BAD_JSON, "broken object");
    free(copy);
}

static void test_ids(void) {
    CHECK(copilot_is_id((const uint8_t *)"seg-0001", 8), "segment id");
    CHECK(!copilot_is_id((const uint8_t *)"", 0), "empty id");
    CHECK(!copilot_is_id((const uint8_t *)"a b", 3), "id with a space");
    CHECK(!copilot_is_id((const uint8_t *)"a/b", 3), "id with a slash");
    char id[COPILOT_MAX_ID + 2];
    memset(id, 'a', sizeof(id));
    CHECK(copilot_is_id((const uint8_t *)id, COPILOT_MAX_ID), "id of 128 characters");
    CHECK(!copilot_is_id((const uint8_t *)id, COPILOT_MAX_ID + 1), "id of 129 characters");
}

/* ------------------------------------------------------------------------------------------ */
/* Fake LLM: HTTP requests                                                                    */

/* Parses `text` from an exact-size copy; on success `target` and `authorization` hold its spans. */
static llm_parse_result request_of(const char *text, llm_request *request) {
    size_t length = strlen(text);
    uint8_t *copy = exact(text, length);
    llm_parse_result result = llm_parse_request(copy, length, request);
    target[0] = authorization[0] = '\0';
    if (result == LLM_REQUEST_OK) {
        memcpy(target, request->target, request->target_length);
        target[request->target_length] = '\0';
        if (request->authorization != NULL) {
            memcpy(authorization, request->authorization, request->authorization_length);
            authorization[request->authorization_length] = '\0';
        }
    }
    free(copy);
    return result;
}

static void test_requests(void) {
    llm_request request;
    const char *post = "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization:  Bearer sk-1 \r\n"
                       "content-length: 4\r\n\r\nbodyGET / HTTP/1.1\r\n\r\n";
    CHECK(request_of(post, &request) == LLM_REQUEST_OK && request.method == LLM_METHOD_POST &&
              strcmp(target, "/v1/chat/completions") == 0 && strcmp(authorization, "Bearer sk-1") == 0 &&
              request.body_length == 4 && request.keep_alive && request.total_length == strlen(post) - 18,
          "POST with a body, then a pipelined request");
    CHECK(request_of("GET /_health HTTP/1.1\r\n\r\n", &request) == LLM_REQUEST_OK &&
              request.method == LLM_METHOD_GET && request.body_length == 0 && request.authorization == NULL,
          "GET without headers");
    CHECK(request_of("GET / HTTP/1.1\r\nConnection: keep-alive, Close\r\n\r\n", &request) == LLM_REQUEST_OK &&
              !request.keep_alive,
          "Connection: close in a list");
    CHECK(request_of("GET / HTTP/1.0\r\n\r\n", &request) == LLM_REQUEST_OK && !request.keep_alive,
          "HTTP/1.0 closes by default");
    CHECK(request_of("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", &request) == LLM_REQUEST_OK &&
              request.keep_alive,
          "HTTP/1.0 with keep-alive");
    CHECK(request_of("PATCH / HTTP/1.1\r\n\r\n", &request) == LLM_REQUEST_OK && request.method == LLM_METHOD_OTHER,
          "another method");
    CHECK(request_of("POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nshort", &request) == LLM_REQUEST_INCOMPLETE,
          "body not all there");
    CHECK(request_of("POST / HTTP/1.1\r\nContent-Le", &request) == LLM_REQUEST_INCOMPLETE, "head not all there");
    CHECK(request_of("POST / HTTP/1.1\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nbodyx", &request) ==
              LLM_BAD_CONTENT_LENGTH,
          "two different Content-Lengths");
    CHECK(request_of("POST / HTTP/1.1\r\nContent-Length: 4\r\nContent-Length: 4\r\n\r\nbody", &request) ==
              LLM_REQUEST_OK,
          "the same Content-Length twice");
    CHECK(request_of("POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", &request) == LLM_BAD_CONTENT_LENGTH,
          "negative Content-Length");
    CHECK(request_of("POST / HTTP/1.1\r\nContent-Length: \r\n\r\n", &request) == LLM_BAD_CONTENT_LENGTH,
          "empty Content-Length");
    CHECK(request_of("POST / HTTP/1.1\r\nContent-Length: 4194305\r\n\r\n", &request) == LLM_BODY_TOO_LARGE,
          "Content-Length one over the limit");
    CHECK(request_of("POST / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n", &request) == LLM_BODY_TOO_LARGE,
          "Content-Length of 20 digits");
    CHECK(request_of("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", &request) == LLM_LENGTH_REQUIRED,
          "chunked body refused");
    CHECK(request_of("GET / HTTP/2.0\r\n\r\n", &request) == LLM_UNSUPPORTED_VERSION, "HTTP/2.0");
    CHECK(request_of("GET / HTTX/1.1\r\n\r\n", &request) == LLM_BAD_REQUEST_LINE, "not HTTP");
    CHECK(request_of("GET  / HTTP/1.1\r\n\r\n", &request) == LLM_BAD_REQUEST_LINE, "two spaces after the method");
    CHECK(request_of("GET /\x01 HTTP/1.1\r\n\r\n", &request) == LLM_BAD_REQUEST_LINE, "control byte in the target");
    CHECK(request_of("GET / HTTP/1.1 \r\n\r\n", &request) == LLM_BAD_REQUEST_LINE, "space after the version");
    CHECK(request_of("GET / HTTP/1.1\r\nNoColon\r\n\r\n", &request) == LLM_BAD_HEADER, "header without a colon");
    CHECK(request_of("GET / HTTP/1.1\r\nName : v\r\n\r\n", &request) == LLM_BAD_HEADER, "space before the colon");
    CHECK(request_of("GET / HTTP/1.1\r\nA: b\r\n folded\r\n\r\n", &request) == LLM_BAD_HEADER, "obsolete line folding");
    CHECK(request_of("GET / HTTP/1.1\r\nA: b\nC: d\r\n\r\n", &request) == LLM_BAD_HEADER, "bare LF in a header");
    CHECK(request_of("GET / HTTP/1.1\r\nA: b\rC: d\r\n\r\n", &request) == LLM_BAD_HEADER, "bare CR in a header");
    CHECK(request_of("GET / HTTP/1.1\r\n: v\r\n\r\n", &request) == LLM_BAD_HEADER, "empty header name");

    /* The head limit: an unterminated head at the limit is too large; one just under is incomplete. */
    size_t size = LLM_MAX_HEAD;
    char *big = malloc(size + 1);
    memset(big, 'a', size);
    memcpy(big, "GET / HTTP/1.1\r\nX: ", 19);
    big[size] = '\0';
    CHECK(request_of(big, &request) == LLM_HEAD_TOO_LARGE, "unterminated head at the limit");
    big[size - 1] = '\0';
    CHECK(request_of(big, &request) == LLM_REQUEST_INCOMPLETE, "unterminated head one under the limit");
    /* A head that ends exactly at the limit is accepted. */
    memcpy(big + size - 4, "\r\n\r\n", 4);
    big[size] = '\0';
    CHECK(request_of(big, &request) == LLM_REQUEST_OK && request.head_length == size,
          "head ending exactly at the limit");
    free(big);

    char many[LLM_MAX_HEADERS * 8 + 64];
    size_t used = (size_t)snprintf(many, sizeof(many), "GET / HTTP/1.1\r\n");
    for (unsigned index = 0; index <= LLM_MAX_HEADERS; index++) {
        used += (size_t)snprintf(many + used, sizeof(many) - used, "A: b\r\n");
    }
    snprintf(many + used, sizeof(many) - used, "\r\n");
    CHECK(request_of(many, &request) == LLM_HEAD_TOO_LARGE, "one header over the count limit");
}

static int inspect(const char *text, llm_body *info) {
    size_t length = strlen(text);
    uint8_t *copy = exact(text, length);
    int result = llm_inspect_body(copy, length, info);
    free(copy);
    return result;
}

static void test_bodies(void) {
    llm_body info;
    CHECK(inspect("{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"say \\\"stream\\\":true\"}],"
                  "\"stream\":true,\"stream_options\":{\"include_usage\":true},\"response_format\":{\"type\":"
                  "\"json_schema\",\"json_schema\":{\"name\":\"coaching_tip\",\"strict\":true,\"schema\":{}}}}",
                  &info) == 0 &&
              info.stream && info.include_usage && info.answer == LLM_ANSWER_TIP,
          "streamed tip with usage");
    CHECK(inspect(" { \"messages\" : [1] , \"model\" : \"m\" , \"response_format\" : { \"json_schema\" : { \"name\" : "
                  "\"call_summary\" } } } ",
                  &info) == 0 &&
              !info.stream && !info.include_usage && info.answer == LLM_ANSWER_SUMMARY,
          "summary with whitespace, not streamed");
    CHECK(inspect("{\"model\":\"m\",\"messages\":[{\"content\":\"\\\"name\\\":\\\"coaching_tip\\\"\"}],\"stream\":false}",
                  &info) == 0 &&
              info.answer == LLM_ANSWER_TEXT && !info.stream,
          "schema name inside a message is not the schema");
    CHECK(inspect("{\"model\":\"m\",\"messages\":[1],\"stream\":\"true\"}", &info) == 0 && !info.stream,
          "stream as a string is not true");
    CHECK(inspect("{\"model\":\"m\",\"messages\":[]}", &info) == -1, "empty messages");
    CHECK(inspect("{\"model\":\"m\",\"messages\":[ ]}", &info) == -1, "empty messages with a space");
    CHECK(inspect("{\"messages\":[1]}", &info) == -1, "no model");
    CHECK(inspect("{\"model\":1,\"messages\":[1]}", &info) == -1, "model not a string");
    CHECK(inspect("{\"model\":\"m\",\"messages\":{}}", &info) == -1, "messages not an array");
    CHECK(inspect("{\"model\":\"m\",\"messages\":[1]", &info) == -1, "cut short");
    CHECK(inspect("[]", &info) == -1, "an array");
    CHECK(inspect("", &info) == -1, "empty body");
    CHECK(inspect("{\"model\":\"m\",\"messages\":[1]} {}", &info) == -1, "two values");
}

int main(void) {
    test_events();
    test_acks();
    test_ids();
    test_requests();
    test_bodies();
    return check_report("copilot_test");
}
