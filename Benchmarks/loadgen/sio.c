/*
 * sio.c - Engine.IO / Socket.IO client codec (see sio.h).
 */
#include "sio.h"

#include <string.h>

static const uint8_t root_namespace[] = "/";

static inline int is_digit(uint8_t byte) {
    return byte >= '0' && byte <= '9';
}

sio_result sio_parse_text(const uint8_t *bytes, size_t length, sio_packet *packet) {
    memset(packet, 0, sizeof(*packet));
    packet->name_space = root_namespace;
    packet->name_space_length = 1;
    if (length == 0) {
        return SIO_EMPTY;
    }
    uint8_t engine_type = bytes[0];
    if (engine_type < EIO_OPEN || engine_type > EIO_NOOP) {
        return SIO_BAD_ENGINE_TYPE;
    }
    packet->engine_type = engine_type;
    if (engine_type != EIO_MESSAGE) {
        packet->data = bytes + 1;
        packet->data_length = length - 1;
        return SIO_OK;
    }
    /* A Socket.IO packet: the reference decoder's order (type, attachments, namespace, id, JSON). */
    size_t position = 1;
    if (position >= length || bytes[position] < '0' || bytes[position] > '6') {
        return SIO_BAD_PACKET_TYPE;
    }
    packet->type = (uint8_t)(bytes[position] - '0');
    position++;
    if (packet->type == SIO_BINARY_EVENT || packet->type == SIO_BINARY_ACK) {
        uint32_t count = 0;
        size_t start = position;
        while (position < length && is_digit(bytes[position])) {
            /* Two digits already exceed the limit of 10, so this cannot overflow. */
            count = count * 10u + (uint32_t)(bytes[position] - '0');
            if (count > SIO_MAX_ATTACHMENTS) {
                return SIO_BAD_ATTACHMENTS;
            }
            position++;
        }
        if (position == start || position >= length || bytes[position] != '-') {
            return SIO_BAD_ATTACHMENTS;
        }
        packet->attachments = count;
        position++;
    }
    if (position < length && bytes[position] == '/') {
        /* Up to the first ',' or the end of the message (so `40/chat` names `/chat`). */
        size_t start = position;
        while (position < length && bytes[position] != ',') {
            position++;
        }
        if (position - start > SIO_MAX_NAMESPACE) {
            return SIO_BAD_NAMESPACE;
        }
        packet->name_space = bytes + start;
        packet->name_space_length = position - start;
        if (position < length) {
            position++; /* the ',' */
        }
    }
    if (position < length && is_digit(bytes[position])) {
        uint64_t id = 0;
        unsigned digits = 0;
        while (position < length && is_digit(bytes[position])) {
            /* 16 digits hold 2^53 - 1; a 17th could overflow the check, so stop before it. */
            if (++digits > 16) {
                return SIO_BAD_ACK_ID;
            }
            id = id * 10u + (uint64_t)(bytes[position] - '0');
            position++;
        }
        if (id > SIO_MAX_ACK_ID) {
            return SIO_BAD_ACK_ID;
        }
        packet->has_ack_id = 1;
        packet->ack_id = id;
        packet->ack_id_digits = (uint8_t)digits;
    }
    packet->data = bytes + position;
    packet->data_length = length - position;
    return SIO_OK;
}

/* ---- JSON (bounded, allocation-free) --------------------------------------------------------- */

size_t sio_json_skip_whitespace(const uint8_t *bytes, size_t length, size_t position) {
    while (position < length &&
           (bytes[position] == ' ' || bytes[position] == '\t' || bytes[position] == '\n' || bytes[position] == '\r')) {
        position++;
    }
    return position;
}

static inline int is_hex(uint8_t byte) {
    return is_digit(byte) || (byte >= 'a' && byte <= 'f') || (byte >= 'A' && byte <= 'F');
}

/* A string starting at the quote at `position`; on success `*end` is just past the closing quote. */
static int skip_string(const uint8_t *bytes, size_t length, size_t position, size_t *end) {
    position++;
    while (position < length) {
        uint8_t byte = bytes[position];
        if (byte == '"') {
            *end = position + 1;
            return 0;
        }
        if (byte < 0x20) {
            return -1; /* control characters must be escaped */
        }
        if (byte == '\\') {
            if (position + 1 >= length) {
                return -1;
            }
            uint8_t escape = bytes[position + 1];
            if (escape == 'u') {
                if (position + 6 > length || !is_hex(bytes[position + 2]) || !is_hex(bytes[position + 3]) ||
                    !is_hex(bytes[position + 4]) || !is_hex(bytes[position + 5])) {
                    return -1;
                }
                position += 6;
                continue;
            }
            if (strchr("\"\\/bfnrt", escape) == NULL || escape == '\0') {
                return -1;
            }
            position += 2;
            continue;
        }
        position++; /* UTF-8 bytes pass through: a benchmark does not need to validate them */
    }
    return -1;
}

static int skip_number(const uint8_t *bytes, size_t length, size_t position, size_t *end) {
    if (position < length && bytes[position] == '-') {
        position++;
    }
    if (position >= length || !is_digit(bytes[position])) {
        return -1;
    }
    if (bytes[position] == '0') {
        position++;
    } else {
        while (position < length && is_digit(bytes[position])) {
            position++;
        }
    }
    if (position < length && bytes[position] == '.') {
        position++;
        size_t start = position;
        while (position < length && is_digit(bytes[position])) {
            position++;
        }
        if (position == start) {
            return -1;
        }
    }
    if (position < length && (bytes[position] == 'e' || bytes[position] == 'E')) {
        position++;
        if (position < length && (bytes[position] == '+' || bytes[position] == '-')) {
            position++;
        }
        size_t start = position;
        while (position < length && is_digit(bytes[position])) {
            position++;
        }
        if (position == start) {
            return -1;
        }
    }
    *end = position;
    return 0;
}

static int skip_literal(const uint8_t *bytes, size_t length, size_t position, const char *literal, size_t *end) {
    size_t literal_length = strlen(literal);
    if (length - position < literal_length || memcmp(bytes + position, literal, literal_length) != 0) {
        return -1;
    }
    *end = position + literal_length;
    return 0;
}

/*
 * One value at `position` (no leading whitespace). Containers are walked iteratively with an
 * explicit stack of their kinds, so hostile nesting cannot exhaust the C stack.
 */
static int skip_value(const uint8_t *bytes, size_t length, size_t position, size_t *end) {
    uint8_t stack[SIO_MAX_JSON_DEPTH];
    size_t depth = 0;
    for (;;) {
        /* Parse one value at `position`. */
        if (position >= length) {
            return -1;
        }
        uint8_t byte = bytes[position];
        size_t after = 0;
        if (byte == '{' || byte == '[') {
            if (depth == SIO_MAX_JSON_DEPTH) {
                return -1;
            }
            stack[depth++] = byte;
            position = sio_json_skip_whitespace(bytes, length, position + 1);
            if (position < length && bytes[position] == (byte == '{' ? '}' : ']')) {
                depth--;
                after = position + 1;
            } else if (byte == '{') {
                /* First member: a key, a colon, then the value parsed by the next iteration. */
                if (position >= length || bytes[position] != '"' || skip_string(bytes, length, position, &after) != 0) {
                    return -1;
                }
                position = sio_json_skip_whitespace(bytes, length, after);
                if (position >= length || bytes[position] != ':') {
                    return -1;
                }
                position = sio_json_skip_whitespace(bytes, length, position + 1);
                continue;
            } else {
                continue;
            }
        } else if (byte == '"') {
            if (skip_string(bytes, length, position, &after) != 0) {
                return -1;
            }
        } else if (byte == '-' || is_digit(byte)) {
            if (skip_number(bytes, length, position, &after) != 0) {
                return -1;
            }
        } else if (byte == 't') {
            if (skip_literal(bytes, length, position, "true", &after) != 0) {
                return -1;
            }
        } else if (byte == 'f') {
            if (skip_literal(bytes, length, position, "false", &after) != 0) {
                return -1;
            }
        } else if (byte == 'n') {
            if (skip_literal(bytes, length, position, "null", &after) != 0) {
                return -1;
            }
        } else {
            return -1;
        }
        /* A value ended at `after`: close containers or move to the next element / member. */
        for (;;) {
            if (depth == 0) {
                *end = after;
                return 0;
            }
            position = sio_json_skip_whitespace(bytes, length, after);
            if (position >= length) {
                return -1;
            }
            uint8_t container = stack[depth - 1];
            if (bytes[position] == (container == '{' ? '}' : ']')) {
                depth--;
                after = position + 1;
                continue;
            }
            if (bytes[position] != ',') {
                return -1;
            }
            position = sio_json_skip_whitespace(bytes, length, position + 1);
            if (container == '{') {
                if (position >= length || bytes[position] != '"' ||
                    skip_string(bytes, length, position, &after) != 0) {
                    return -1;
                }
                position = sio_json_skip_whitespace(bytes, length, after);
                if (position >= length || bytes[position] != ':') {
                    return -1;
                }
                position = sio_json_skip_whitespace(bytes, length, position + 1);
            }
            break;
        }
    }
}

sio_result sio_json_skip_value(const uint8_t *bytes, size_t length, size_t *consumed) {
    size_t end = 0;
    if (skip_value(bytes, length, 0, &end) != 0) {
        return SIO_BAD_JSON;
    }
    *consumed = end;
    return SIO_OK;
}

sio_result sio_json_object_get(const uint8_t *bytes, size_t length, const char *key, const uint8_t **value,
                               size_t *value_length) {
    size_t whole = 0;
    size_t start = sio_json_skip_whitespace(bytes, length, 0);
    if (start >= length || bytes[start] != '{' || skip_value(bytes, length, start, &whole) != 0 ||
        sio_json_skip_whitespace(bytes, length, whole) != length) {
        return SIO_BAD_JSON;
    }
    /* The object is valid, so the walk below only has to find member boundaries. */
    size_t key_length = strlen(key);
    size_t position = sio_json_skip_whitespace(bytes, length, start + 1);
    while (position < length && bytes[position] == '"') {
        size_t after_key = 0;
        (void)skip_string(bytes, length, position, &after_key);
        int matches = after_key - position - 2 == key_length && memcmp(bytes + position + 1, key, key_length) == 0;
        position = sio_json_skip_whitespace(bytes, length, after_key);
        position = sio_json_skip_whitespace(bytes, length, position + 1); /* past ':' */
        size_t after_value = 0;
        (void)skip_value(bytes, length, position, &after_value);
        if (matches) {
            *value = bytes + position;
            *value_length = after_value - position;
            return SIO_OK;
        }
        position = sio_json_skip_whitespace(bytes, length, after_value);
        if (position < length && bytes[position] == ',') {
            position = sio_json_skip_whitespace(bytes, length, position + 1);
        }
    }
    return SIO_EMPTY;
}

int sio_json_parse_uint(const uint8_t *bytes, size_t length, uint64_t *value) {
    if (length == 0 || length > 16 || (length > 1 && bytes[0] == '0')) {
        return -1;
    }
    uint64_t result = 0;
    for (size_t index = 0; index < length; index++) {
        if (!is_digit(bytes[index])) {
            return -1;
        }
        result = result * 10u + (uint64_t)(bytes[index] - '0');
    }
    if (result > SIO_MAX_ACK_ID) {
        return -1;
    }
    *value = result;
    return 0;
}

/* Copies a JSON string value without escapes (sids are URL-safe base64) into `out`. */
static int copy_plain_string(const uint8_t *value, size_t value_length, char *out) {
    if (value_length < 3 || value[0] != '"' || value[value_length - 1] != '"' || value_length - 2 > SIO_MAX_SID) {
        return -1;
    }
    for (size_t index = 1; index + 1 < value_length; index++) {
        if (value[index] == '\\' || value[index] < 0x20) {
            return -1;
        }
    }
    if (out != NULL) {
        memcpy(out, value + 1, value_length - 2);
        out[value_length - 2] = '\0';
    }
    return 0;
}

sio_result sio_parse_open(const uint8_t *data, size_t length, sio_open *open) {
    memset(open, 0, sizeof(*open));
    const uint8_t *value = NULL;
    size_t value_length = 0;
    sio_result result = sio_json_object_get(data, length, "sid", &value, &value_length);
    if (result == SIO_BAD_JSON) {
        return SIO_BAD_JSON;
    }
    if (result != SIO_OK || copy_plain_string(value, value_length, open->sid) != 0) {
        return SIO_BAD_OPEN;
    }
    if (sio_json_object_get(data, length, "pingInterval", &value, &value_length) != SIO_OK ||
        sio_json_parse_uint(value, value_length, &open->ping_interval_ms) != 0) {
        return SIO_BAD_OPEN;
    }
    if (sio_json_object_get(data, length, "pingTimeout", &value, &value_length) != SIO_OK ||
        sio_json_parse_uint(value, value_length, &open->ping_timeout_ms) != 0) {
        return SIO_BAD_OPEN;
    }
    if (sio_json_object_get(data, length, "maxPayload", &value, &value_length) == SIO_OK &&
        sio_json_parse_uint(value, value_length, &open->max_payload) != 0) {
        return SIO_BAD_OPEN;
    }
    return SIO_OK;
}

sio_result sio_parse_connect_reply(const uint8_t *data, size_t length, char *sid) {
    const uint8_t *value = NULL;
    size_t value_length = 0;
    sio_result result = sio_json_object_get(data, length, "sid", &value, &value_length);
    if (result == SIO_BAD_JSON) {
        return SIO_BAD_JSON;
    }
    if (result != SIO_OK || copy_plain_string(value, value_length, sid) != 0) {
        return SIO_BAD_CONNECT_REPLY;
    }
    return SIO_OK;
}

int sio_is_plain_json_string(const uint8_t *bytes, size_t length) {
    for (size_t index = 0; index < length; index++) {
        uint8_t byte = bytes[index];
        if (byte < 0x20 || byte > 0x7E || byte == '"' || byte == '\\' || byte == '<' || byte == '>' ||
            byte == '&' || byte == '\'' || byte == '/') {
            return 0;
        }
    }
    return 1;
}

void sio_write_decimal(uint8_t *out, uint64_t value, unsigned digits) {
    for (unsigned index = digits; index-- > 0;) {
        out[index] = (uint8_t)('0' + value % 10u);
        value /= 10u;
    }
}

int sio_read_decimal(const uint8_t *bytes, unsigned digits, uint64_t *value) {
    uint64_t result = 0;
    for (unsigned index = 0; index < digits; index++) {
        if (!is_digit(bytes[index])) {
            return -1;
        }
        result = result * 10u + (uint64_t)(bytes[index] - '0');
    }
    *value = result;
    return 0;
}

/* Appends `length` bytes at `*position` if they fit. */
static int append(uint8_t *out, size_t capacity, size_t *position, const void *bytes, size_t length) {
    if (capacity - *position < length) {
        return -1;
    }
    memcpy(out + *position, bytes, length);
    *position += length;
    return 0;
}

int sio_write_event(uint8_t *out, size_t capacity, int has_ack_id, uint64_t ack_id, const char *event,
                    const uint8_t *argument, size_t argument_length) {
    size_t event_length = strlen(event);
    if (!sio_is_plain_json_string((const uint8_t *)event, event_length) ||
        !sio_is_plain_json_string(argument, argument_length) || (has_ack_id && ack_id > SIO_MAX_ACK_ID)) {
        return -1;
    }
    size_t position = 0;
    if (append(out, capacity, &position, "42", 2) != 0) {
        return -1;
    }
    if (has_ack_id) {
        uint8_t digits[20];
        unsigned count = 0;
        uint64_t rest = ack_id;
        do {
            count++;
            rest /= 10u;
        } while (rest != 0);
        sio_write_decimal(digits, ack_id, count);
        if (append(out, capacity, &position, digits, count) != 0) {
            return -1;
        }
    }
    if (append(out, capacity, &position, "[\"", 2) != 0 || append(out, capacity, &position, event, event_length) != 0 ||
        append(out, capacity, &position, "\",\"", 3) != 0 ||
        append(out, capacity, &position, argument, argument_length) != 0 ||
        append(out, capacity, &position, "\"]", 2) != 0) {
        return -1;
    }
    if (position > (size_t)INT32_MAX) {
        return -1;
    }
    return (int)position;
}

const char *sio_result_name(sio_result result) {
    switch (result) {
    case SIO_OK: return "ok";
    case SIO_EMPTY: return "empty";
    case SIO_BAD_ENGINE_TYPE: return "bad_engine_type";
    case SIO_BAD_PACKET_TYPE: return "bad_packet_type";
    case SIO_BAD_ATTACHMENTS: return "bad_attachments";
    case SIO_BAD_NAMESPACE: return "bad_namespace";
    case SIO_BAD_ACK_ID: return "bad_ack_id";
    case SIO_BAD_JSON: return "bad_json";
    case SIO_BAD_OPEN: return "bad_open_packet";
    case SIO_BAD_CONNECT_REPLY: return "bad_connect_reply";
    }
    return "unknown";
}
