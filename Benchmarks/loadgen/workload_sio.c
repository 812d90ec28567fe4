/*
 * workload_sio.c - the Socket.IO workloads of the load generator, over WebSocket transport
 * (`GET /socket.io/?EIO=4&transport=websocket`), using the codec in sio.c:
 *
 *   sio-echo       every connection keeps --inflight acked `echo` events outstanding and checks
 *                  each ack's id and payload; counts acked events/s and their latency.
 *   sio-bcast      --conns clients in room `r`; --senders of them emit `bcast`, each within a window
 *                  of --inflight whole fan-outs; counts deliveries/s and checks, per client and
 *                  sender, that nothing is lost, duplicated or reordered.
 *   sio-handshake  --concurrency slots, each repeatedly: TCP connect, WebSocket upgrade, Engine.IO
 *                  open, Socket.IO connect, close; counts completed handshakes/s.
 *   sio-idle       --conns connections joined to the namespace, held (answering pings) for --hold.
 *
 * Every connection goes through the same session handshake after the 101: wait for the Engine.IO
 * open packet, send `40`, wait for `40{"sid":...}`. Until then it counts as a pending handshake
 * (timeouts and the concurrency limit apply). Engine.IO pings (`2`) are answered with `3` at any time.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loadgen.h"
#include "sio.h"
#include "ws.h"

/* Session states, kept in connection.session_state (0 after every (re)start). */
enum {
    SESSION_WAIT_OPEN = 0,    /* WebSocket open, waiting for `0{...}` */
    SESSION_WAIT_CONNECT = 1, /* `40` sent, waiting for `40{"sid":...}` */
    SESSION_READY = 2,
};

/* sio-echo ack ids have exactly 12 digits (no leading zero: servers parse them as numbers), so
 * every frame has the same length and can be patched in place. The id also says which of the
 * connection's in-flight slots it answers: id - ECHO_ID_BASE = order x inflight + slot. */
#define ECHO_ID_DIGITS 12
#define ECHO_ID_BASE 100000000000ull
#define ECHO_ID_SPAN 900000000000ull

/* sio-bcast payloads start with the sender number and the sender's sequence number. */
#define BCAST_SENDER_DIGITS 6
#define BCAST_SEQUENCE_DIGITS 12
#define BCAST_HEADER_DIGITS (BCAST_SENDER_DIGITS + BCAST_SEQUENCE_DIGITS)
/* Send times per sender, for delivery latency; the window is capped well below this. */
#define BCAST_RING 1024u
#define BCAST_MAX_WINDOW 512u

static const char bcast_prefix[] = "[\"bcast\",\""; /* what a delivery's JSON starts with */
#define BCAST_PREFIX_LENGTH (sizeof(bcast_prefix) - 1)

/* One sio-echo event in flight. `id` 0 means the slot is free. */
typedef struct {
    uint64_t id;
    uint64_t sent_at;
    uint64_t order;
} echo_slot;

/* sio-echo per-connection state: the in-flight slots and a stack of free ones. */
typedef struct {
    uint64_t next_order;
    uint64_t highest_acked_order;
    uint32_t free_count;
    uint32_t *free_slots;
    echo_slot *slots;
} echo_connection;

/* One sio-bcast sender: what it sent, what has been delivered (or written off as lost) of it. */
typedef struct {
    uint32_t connection;
    uint64_t sent;
    /* Deliveries of this sender's broadcasts, summed over all clients, plus deliveries found
     * missing (a gap): the flow-control window compares it with sent x receivers. */
    uint64_t accounted;
    double tokens;
    uint64_t ring_sequence[BCAST_RING];
    uint64_t ring_time[BCAST_RING];
} bcast_sender;

/* Whole-run state of the Socket.IO workloads. */
typedef struct {
    /* The payload every message carries, before per-message digits are patched in. */
    uint8_t *payload_plain;
    /* sio-echo / sio-bcast frame template: header + pre-masked packet. */
    uint8_t *frame_template;
    uint32_t frame_length;
    uint32_t header_length;
    /* Offsets inside the WebSocket payload: echo's ack id and the payload string. */
    uint32_t id_offset;
    uint32_t payload_offset;

    /* sio-echo */
    uint64_t acks_out_of_order;
    uint64_t id_span;

    /* sio-bcast */
    uint32_t sender_count;
    bcast_sender *senders;
    uint64_t *next_expected; /* [connection x sender]: the next sequence number that client should get */
    uint64_t lost;
    uint64_t out_of_order;
    uint64_t broadcasts_in_window;
    uint64_t last_tick;
} sio_state;

static sio_state *state_of(loadgen *generator) {
    return (sio_state *)generator->workload_state;
}

/* ------------------------------------------------------------------------------------------ */
/* Set-up                                                                                     */

/* Printable letters in a varied pattern, so a shifted or truncated payload cannot compare equal. */
static void fill_payload(uint8_t *payload, uint32_t size) {
    for (uint32_t index = 0; index < size; index++) {
        payload[index] = (uint8_t)('a' + (index * 7u + index / 26u) % 26u);
    }
}

/* Masks the WebSocket payload of a text frame holding `packet` into the run's template. */
static void build_template(loadgen *generator, sio_state *state, const uint8_t *packet, size_t length) {
    state->frame_template = malloc(WS_MAX_HEADER_LENGTH + length);
    if (state->frame_template == NULL) {
        die("out of memory");
    }
    size_t header_length = ws_write_frame_header(state->frame_template, 1, WS_OPCODE_TEXT, length, generator->mask);
    ws_copy_masked(state->frame_template + header_length, packet, length, generator->mask, 0);
    state->header_length = (uint32_t)header_length;
    state->frame_length = (uint32_t)(header_length + length);
}

void sio_set_up(loadgen *generator) {
    const run_options *options = &generator->options;
    sio_state *state = calloc(1, sizeof(sio_state));
    uint32_t size = options->size;
    if (state == NULL || (state->payload_plain = malloc(size ? size : 1)) == NULL) {
        die("out of memory");
    }
    generator->workload_state = state;
    fill_payload(state->payload_plain, size);

    if (options->mode == MODE_SIO_ECHO) {
        size_t capacity = (size_t)size + 64;
        uint8_t *packet = malloc(capacity);
        if (packet == NULL) {
            die("out of memory");
        }
        int length = sio_write_event(packet, capacity, 1, ECHO_ID_BASE, "echo", state->payload_plain, size);
        if (length < 0) {
            die("cannot build the echo event");
        }
        build_template(generator, state, packet, (size_t)length);
        free(packet);
        state->id_offset = 2; /* after "42" */
        state->payload_offset = (uint32_t)length - 2 - size; /* before the closing `"]` */
        /* Keep order x inflight + slot below the span, and the span a multiple of inflight so
         * that a wrapped id still names its slot. */
        state->id_span = ECHO_ID_SPAN - ECHO_ID_SPAN % options->inflight;
    } else if (options->mode == MODE_SIO_BCAST) {
        if (size < BCAST_HEADER_DIGITS) {
            die("sio-bcast needs --size >= %d (the payload carries the sender and sequence numbers)",
                BCAST_HEADER_DIGITS);
        }
        if (options->inflight > BCAST_MAX_WINDOW) {
            die("sio-bcast: --inflight is at most %u", BCAST_MAX_WINDOW);
        }
        size_t capacity = (size_t)size + 64;
        uint8_t *packet = malloc(capacity);
        if (packet == NULL) {
            die("out of memory");
        }
        int length = sio_write_event(packet, capacity, 0, 0, "bcast", state->payload_plain, size);
        if (length < 0) {
            die("cannot build the bcast event");
        }
        build_template(generator, state, packet, (size_t)length);
        free(packet);
        state->payload_offset = (uint32_t)length - 2 - size;
        state->sender_count = options->senders;
        state->senders = calloc(options->senders, sizeof(bcast_sender));
        state->next_expected = calloc((size_t)options->connections * options->senders, sizeof(uint64_t));
        if (state->senders == NULL || state->next_expected == NULL) {
            die("out of memory for %u x %u delivery counters", options->connections, options->senders);
        }
        /* Spread the senders over the connections (they were opened in index order). */
        for (uint32_t sender = 0; sender < options->senders; sender++) {
            state->senders[sender].connection = (uint32_t)((uint64_t)sender * options->connections / options->senders);
            for (uint32_t slot = 0; slot < BCAST_RING; slot++) {
                state->senders[sender].ring_sequence[slot] = UINT64_MAX;
            }
        }
    }
}

/* ------------------------------------------------------------------------------------------ */
/* The session handshake, shared by every mode (and by the copilot workload)                  */

static int queue_text(loadgen *generator, connection *conn, const char *text) {
    return queue_frame(generator, conn, WS_OPCODE_TEXT, (const uint8_t *)text, strlen(text));
}

static int is_root_namespace(const sio_packet *packet) {
    return packet->name_space_length == 1 && packet->name_space[0] == '/';
}

int sio_session_on_open(loadgen *generator, connection *conn) {
    (void)generator;
    conn->session_state = SESSION_WAIT_OPEN;
    return 0;
}

sio_session_result sio_session_on_message(loadgen *generator, connection *conn, int opcode, const uint8_t *payload,
                                          size_t length, const char *connect_packet, sio_packet *packet) {
    if (opcode != WS_OPCODE_TEXT) {
        /* Binary messages only carry Socket.IO attachments, which no benchmark event has. */
        return fail(generator, conn, ERROR_PROTOCOL, "unexpected binary message (%zu bytes)", length);
    }
    sio_result result = sio_parse_text(payload, length, packet);
    if (result != SIO_OK) {
        return fail(generator, conn, ERROR_PROTOCOL, "bad packet (%s): \"%.*s\"", sio_result_name(result),
                    (int)(length < 60 ? length : 60), (const char *)payload);
    }
    if (packet->engine_type == EIO_PING) {
        /* The server's heartbeat (Engine.IO v4: only the server pings); answer at once. */
        generator->engine_pings++;
        return queue_text(generator, conn, "3") == 0 ? SIO_SESSION_HANDLED : SIO_SESSION_FAILED;
    }
    switch (conn->session_state) {
    case SESSION_WAIT_OPEN: {
        if (packet->engine_type != EIO_OPEN) {
            return fail(generator, conn, ERROR_HANDSHAKE, "expected the Engine.IO open packet, got \"%.*s\"",
                        (int)(length < 60 ? length : 60), (const char *)payload);
        }
        sio_open open;
        result = sio_parse_open(packet->data, packet->data_length, &open);
        if (result != SIO_OK) {
            return fail(generator, conn, ERROR_HANDSHAKE, "bad open packet (%s): \"%.*s\"", sio_result_name(result),
                        (int)(length < 120 ? length : 120), (const char *)payload);
        }
        conn->session_state = SESSION_WAIT_CONNECT;
        return queue_text(generator, conn, connect_packet) == 0 ? SIO_SESSION_HANDLED : SIO_SESSION_FAILED;
    }
    case SESSION_WAIT_CONNECT: {
        if (packet->engine_type == EIO_MESSAGE && packet->type == SIO_CONNECT && is_root_namespace(packet)) {
            result = sio_parse_connect_reply(packet->data, packet->data_length, NULL);
            if (result != SIO_OK) {
                return fail(generator, conn, ERROR_HANDSHAKE, "bad CONNECT reply (%s): \"%.*s\"",
                            sio_result_name(result), (int)(length < 120 ? length : 120), (const char *)payload);
            }
            conn->session_state = SESSION_READY;
            connection_established(generator, conn);
            return SIO_SESSION_JOINED;
        }
        if (packet->engine_type == EIO_MESSAGE && packet->type == SIO_CONNECT_ERROR) {
            return fail(generator, conn, ERROR_HANDSHAKE, "namespace refused: \"%.*s\"",
                        (int)(length < 120 ? length : 120), (const char *)payload);
        }
        return fail(generator, conn, ERROR_HANDSHAKE, "expected the CONNECT reply, got \"%.*s\"",
                    (int)(length < 60 ? length : 60), (const char *)payload);
    }
    default:
        break;
    }
    switch (packet->engine_type) {
    case EIO_MESSAGE:
        if (packet->type == SIO_DISCONNECT) {
            return fail(generator, conn, ERROR_IO, "server disconnected the namespace");
        }
        if (!is_root_namespace(packet)) {
            return fail(generator, conn, ERROR_PROTOCOL, "packet for namespace \"%.*s\"",
                        (int)packet->name_space_length, (const char *)packet->name_space);
        }
        return SIO_SESSION_PACKET;
    case EIO_NOOP:
        return SIO_SESSION_HANDLED;
    case EIO_CLOSE:
        generator->server_closes++;
        return fail(generator, conn, ERROR_IO, "server sent an Engine.IO close packet");
    default:
        return fail(generator, conn, ERROR_PROTOCOL, "unexpected Engine.IO packet type '%c'", packet->engine_type);
    }
}

static int on_ready(loadgen *generator, connection *conn);
static int on_event_or_ack(loadgen *generator, connection *conn, const sio_packet *packet);

static int sio_on_message(loadgen *generator, connection *conn, int opcode, const uint8_t *payload, size_t length) {
    sio_packet packet;
    switch (sio_session_on_message(generator, conn, opcode, payload, length, "40", &packet)) {
    case SIO_SESSION_JOINED: return on_ready(generator, conn);
    case SIO_SESSION_PACKET: return on_event_or_ack(generator, conn, &packet);
    case SIO_SESSION_FAILED: return -1;
    case SIO_SESSION_HANDLED: break;
    }
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* sio-echo                                                                                   */

static int echo_ready(loadgen *generator, connection *conn) {
    uint32_t inflight = generator->options.inflight;
    echo_connection *echo = calloc(1, sizeof(echo_connection) + inflight * (sizeof(echo_slot) + sizeof(uint32_t)));
    if (echo == NULL) {
        return fail(generator, conn, ERROR_IO, "out of memory");
    }
    echo->slots = (echo_slot *)(echo + 1);
    echo->free_slots = (uint32_t *)(echo->slots + inflight);
    for (uint32_t slot = 0; slot < inflight; slot++) {
        echo->free_slots[slot] = inflight - 1 - slot;
    }
    echo->free_count = inflight;
    conn->workload_data = echo;
    conn->to_send = inflight;
    return 0;
}

static int echo_on_ack(loadgen *generator, connection *conn, const sio_packet *packet) {
    sio_state *state = state_of(generator);
    echo_connection *echo = conn->workload_data;
    const run_options *options = &generator->options;
    if (packet->type != SIO_ACK || !packet->has_ack_id) {
        record_error(generator, conn, ERROR_VERIFY, "expected an ACK, got a packet of type %u", packet->type);
        return 0;
    }
    uint64_t id = packet->ack_id;
    echo_slot *slot = NULL;
    if (id >= ECHO_ID_BASE && id - ECHO_ID_BASE < state->id_span) {
        slot = &echo->slots[(id - ECHO_ID_BASE) % options->inflight];
    }
    if (slot == NULL || slot->id != id) {
        /* A wrong, repeated or invented id: the event it should have answered stays in flight and
         * is reported as stalled at the end as well. */
        record_error(generator, conn, ERROR_VERIFY, "ack id %llu answers no event in flight",
                     (unsigned long long)id);
        return 0;
    }
    generator->received++;
    if (generator->measuring) {
        histogram_record(&generator->latency, generator->now - slot->sent_at);
    }
    if (slot->order < echo->highest_acked_order) {
        state->acks_out_of_order++; /* allowed (a server may run handlers concurrently), but counted */
    } else {
        echo->highest_acked_order = slot->order;
    }
    /* The ack must carry exactly the event's argument: ["<payload>"], with this id's digits first. */
    uint32_t size = options->size;
    const uint8_t *data = packet->data;
    int good = packet->data_length == (size_t)size + 4 && data[0] == '[' && data[1] == '"' &&
               data[size + 2] == '"' && data[size + 3] == ']';
    if (good && size >= ECHO_ID_DIGITS) {
        uint8_t digits[ECHO_ID_DIGITS];
        sio_write_decimal(digits, id, ECHO_ID_DIGITS);
        good = memcmp(data + 2, digits, ECHO_ID_DIGITS) == 0;
    }
    if (good && options->verify_every > 0 && generator->received % options->verify_every == 0) {
        uint32_t skip = size >= ECHO_ID_DIGITS ? ECHO_ID_DIGITS : 0;
        good = memcmp(data + 2 + skip, state->payload_plain + skip, size - skip) == 0;
    }
    if (!good) {
        record_error(generator, conn, ERROR_VERIFY, "ack %llu carries \"%.*s\", not the event's argument",
                     (unsigned long long)id, (int)(packet->data_length < 60 ? packet->data_length : 60),
                     (const char *)data);
    }
    slot->id = 0;
    echo->free_slots[echo->free_count++] = (uint32_t)(slot - echo->slots);
    conn->inflight--;
    if (generator->phase != PHASE_DONE && generator->phase != PHASE_DRAIN) {
        conn->to_send++;
    }
    return 0;
}

/* Queues one event per ack received in this wake-up, so they leave in a single write. */
static int echo_before_flush(loadgen *generator, connection *conn) {
    uint32_t count = conn->to_send;
    echo_connection *echo = conn->workload_data;
    if (count == 0 || echo == NULL) {
        return 0;
    }
    conn->to_send = 0;
    if (count > echo->free_count) {
        count = echo->free_count; /* cannot happen: every send follows a freed slot */
    }
    sio_state *state = state_of(generator);
    uint32_t frame_length = state->frame_length;
    uint8_t *destination = reserve_output(conn, count * frame_length);
    if (destination == NULL) {
        return fail(generator, conn, ERROR_IO, "output backlog over %u bytes", MAX_OUTPUT_BUFFER);
    }
    uint32_t inflight = generator->options.inflight;
    uint32_t size = generator->options.size;
    uint32_t id_offset = state->id_offset;
    uint32_t payload_offset = state->payload_offset;
    uint8_t *frame_payload = destination + state->header_length;
    for (uint32_t index = 0; index < count; index++) {
        uint32_t slot_index = echo->free_slots[--echo->free_count];
        echo_slot *slot = &echo->slots[slot_index];
        slot->order = echo->next_order++;
        slot->id = ECHO_ID_BASE + (slot->order * inflight + slot_index) % state->id_span;
        slot->sent_at = generator->now;
        memcpy(destination, state->frame_template, frame_length);
        uint8_t digits[ECHO_ID_DIGITS];
        sio_write_decimal(digits, slot->id, ECHO_ID_DIGITS);
        /* The template is masked with the run's key; patch the digits in masked form, at the
         * key phase of their offset in the WebSocket payload. */
        ws_copy_masked(frame_payload + id_offset, digits, ECHO_ID_DIGITS, generator->mask, id_offset & 3u);
        if (size >= ECHO_ID_DIGITS) {
            ws_copy_masked(frame_payload + payload_offset, digits, ECHO_ID_DIGITS, generator->mask,
                           payload_offset & 3u);
        }
        destination += frame_length;
        frame_payload += frame_length;
    }
    conn->inflight += count;
    conn->out_length += count * frame_length;
    generator->sent += count;
    return 0;
}

/* At the end: an event unanswered for more than STALL_LIMIT_NS means the server lost or stalled it. */
static void echo_on_finish(loadgen *generator, connection *conn) {
    echo_connection *echo = conn->workload_data;
    if (echo == NULL || conn->inflight == 0) {
        return;
    }
    uint64_t oldest = UINT64_MAX;
    uint64_t oldest_id = 0;
    uint32_t stalled = 0;
    for (uint32_t slot = 0; slot < generator->options.inflight; slot++) {
        if (echo->slots[slot].id == 0) {
            continue;
        }
        if (echo->slots[slot].sent_at < oldest) {
            oldest = echo->slots[slot].sent_at;
            oldest_id = echo->slots[slot].id;
        }
        if (generator->now - echo->slots[slot].sent_at > STALL_LIMIT_NS) {
            stalled++;
        }
    }
    if (oldest == UINT64_MAX) {
        return;
    }
    uint64_t age = generator->now - oldest;
    if (age > generator->oldest_unanswered) {
        generator->oldest_unanswered = age;
    }
    if (stalled > 0) {
        record_error(generator, conn, ERROR_STALL, "%u events unanswered, event %llu for %.1f s", stalled,
                     (unsigned long long)oldest_id, (double)age / 1e9);
    }
}

static int echo_report(loadgen *generator) {
    const run_options *options = &generator->options;
    int complete = run_completed(generator);
    printf("mode=sio-echo tls=%d conns=%u established=%u open_at_end=%u inflight=%u size=%u", options->tls,
           options->connections, generator->established, generator->open_at_finish, options->inflight, options->size);
    print_window_figures(generator);
    printf(" acks_out_of_order=%llu engine_pings=%llu", (unsigned long long)state_of(generator)->acks_out_of_order,
           (unsigned long long)generator->engine_pings);
    print_errors(generator);
    printf(" stop=%s status=%s\n", generator->stop_reason ? generator->stop_reason : "none",
           run_status(generator, complete));
    fflush(stdout);
    return complete && total_errors(generator) == 0 ? 0 : 1;
}

/* ------------------------------------------------------------------------------------------ */
/* sio-bcast                                                                                  */

static int bcast_on_event(loadgen *generator, connection *conn, const sio_packet *packet) {
    sio_state *state = state_of(generator);
    const run_options *options = &generator->options;
    uint32_t size = options->size;
    const uint8_t *data = packet->data;
    size_t length = packet->data_length;
    if (packet->type != SIO_EVENT || packet->has_ack_id || length != BCAST_PREFIX_LENGTH + size + 2 ||
        memcmp(data, bcast_prefix, BCAST_PREFIX_LENGTH) != 0 || data[length - 2] != '"' || data[length - 1] != ']') {
        record_error(generator, conn, ERROR_VERIFY, "not a bcast delivery: \"%.*s\"", (int)(length < 60 ? length : 60),
                     (const char *)data);
        return 0;
    }
    const uint8_t *payload = data + BCAST_PREFIX_LENGTH;
    uint64_t sender_number = 0;
    uint64_t sequence = 0;
    if (sio_read_decimal(payload, BCAST_SENDER_DIGITS, &sender_number) != 0 ||
        sio_read_decimal(payload + BCAST_SENDER_DIGITS, BCAST_SEQUENCE_DIGITS, &sequence) != 0 ||
        sender_number >= state->sender_count || sequence >= state->senders[sender_number].sent) {
        record_error(generator, conn, ERROR_VERIFY, "delivery names no broadcast we sent: \"%.*s\"",
                     BCAST_HEADER_DIGITS, (const char *)payload);
        return 0;
    }
    bcast_sender *sender = &state->senders[sender_number];
    generator->received++;
    uint64_t *expected = &state->next_expected[(size_t)conn->index * state->sender_count + sender_number];
    if (sequence == *expected) {
        (*expected)++;
        sender->accounted++;
    } else if (sequence > *expected) {
        uint64_t gap = sequence - *expected;
        state->lost += gap;
        sender->accounted += gap + 1;
        record_error(generator, conn, ERROR_VERIFY, "%llu deliveries from sender %llu lost (got #%llu, expected #%llu)",
                     (unsigned long long)gap, (unsigned long long)sender_number, (unsigned long long)sequence,
                     (unsigned long long)*expected);
        *expected = sequence + 1;
    } else {
        state->out_of_order++;
        record_error(generator, conn, ERROR_VERIFY,
                     "delivery #%llu from sender %llu after #%llu (duplicated or out of order)",
                     (unsigned long long)sequence, (unsigned long long)sender_number,
                     (unsigned long long)(*expected - 1));
    }
    uint32_t ring = (uint32_t)(sequence % BCAST_RING);
    if (generator->measuring && sender->ring_sequence[ring] == sequence) {
        histogram_record(&generator->latency, generator->now - sender->ring_time[ring]);
    }
    if (options->verify_every > 0 && generator->received % options->verify_every == 0 &&
        memcmp(payload + BCAST_HEADER_DIGITS, state->payload_plain + BCAST_HEADER_DIGITS, size - BCAST_HEADER_DIGITS) !=
            0) {
        record_error(generator, conn, ERROR_VERIFY, "delivery #%llu from sender %llu: payload differs from what was sent",
                     (unsigned long long)sequence, (unsigned long long)sender_number);
    }
    return 0;
}

/*
 * Sends from every sender as far as its window (and the rate cap) allows. A sender may have at
 * most --inflight broadcasts' worth of deliveries outstanding, summed over all receivers, so a
 * server that falls behind is not buried, and the rate measured is what it sustains.
 */
static void bcast_tick(loadgen *generator) {
    if (generator->phase != PHASE_WARMUP && generator->phase != PHASE_MEASURE) {
        return;
    }
    sio_state *state = state_of(generator);
    const run_options *options = &generator->options;
    uint64_t receivers = generator->open_count;
    if (receivers == 0) {
        return;
    }
    double refill = 0;
    if (options->rate > 0) {
        uint64_t elapsed = state->last_tick == 0 ? 0 : generator->now - state->last_tick;
        refill = options->rate / state->sender_count * (double)elapsed / 1e9;
    }
    state->last_tick = generator->now;
    uint64_t window = (uint64_t)options->inflight * receivers;
    uint32_t frame_length = state->frame_length;
    uint32_t payload_offset = state->payload_offset;
    for (uint32_t number = 0; number < state->sender_count; number++) {
        bcast_sender *sender = &state->senders[number];
        connection *conn = &generator->connections[sender->connection];
        if (conn->state != CONN_OPEN || conn->closing) {
            continue;
        }
        if (options->rate > 0) {
            sender->tokens += refill;
            if (sender->tokens > options->inflight) {
                sender->tokens = options->inflight; /* no catching up in a burst after a stall */
            }
        }
        uint32_t queued = 0;
        /* Outstanding after one more send = (sent + 1) x receivers - accounted; written so
         * that nothing underflows when receivers have dropped out since. */
        while ((sender->sent + 1) * receivers <= window + sender->accounted &&
               (options->rate <= 0 || sender->tokens >= 1.0)) {
            uint8_t *destination = reserve_output(conn, frame_length);
            if (destination == NULL) {
                (void)fail(generator, conn, ERROR_IO, "output backlog over %u bytes", MAX_OUTPUT_BUFFER);
                break;
            }
            memcpy(destination, state->frame_template, frame_length);
            uint8_t digits[BCAST_HEADER_DIGITS];
            sio_write_decimal(digits, number, BCAST_SENDER_DIGITS);
            sio_write_decimal(digits + BCAST_SENDER_DIGITS, sender->sent, BCAST_SEQUENCE_DIGITS);
            ws_copy_masked(destination + state->header_length + payload_offset, digits, BCAST_HEADER_DIGITS,
                           generator->mask, payload_offset & 3u);
            conn->out_length += frame_length;
            uint32_t ring = (uint32_t)(sender->sent % BCAST_RING);
            sender->ring_sequence[ring] = sender->sent;
            sender->ring_time[ring] = generator->now;
            sender->sent++;
            generator->sent++;
            if (generator->measuring) {
                state->broadcasts_in_window++;
            }
            if (options->rate > 0) {
                sender->tokens -= 1.0;
            }
            queued++;
        }
        if (queued > 0 && conn->state == CONN_OPEN) {
            (void)flush_output(generator, conn);
        }
    }
}

/* After the window: deliveries are still expected while any sender's are not all accounted for. */
static int bcast_still_draining(loadgen *generator) {
    sio_state *state = state_of(generator);
    uint64_t receivers = generator->open_count;
    for (uint32_t number = 0; number < state->sender_count; number++) {
        if (state->senders[number].sent * receivers > state->senders[number].accounted) {
            return 1;
        }
    }
    return 0;
}

/* At the end: whatever a client never received of what was sent is lost. */
static void bcast_on_finish(loadgen *generator, connection *conn) {
    sio_state *state = state_of(generator);
    uint64_t missing = 0;
    for (uint32_t number = 0; number < state->sender_count; number++) {
        uint64_t expected = state->next_expected[(size_t)conn->index * state->sender_count + number];
        missing += state->senders[number].sent - expected;
    }
    if (missing > 0) {
        state->lost += missing;
        record_error(generator, conn, ERROR_VERIFY, "%llu deliveries never arrived", (unsigned long long)missing);
    }
}

static int bcast_report(loadgen *generator) {
    const run_options *options = &generator->options;
    sio_state *state = state_of(generator);
    int complete = run_completed(generator);
    uint64_t broadcasts = 0;
    for (uint32_t number = 0; number < state->sender_count; number++) {
        broadcasts += state->senders[number].sent;
    }
    uint64_t deliveries = generator->window_end.received - generator->window_start.received;
    printf("mode=sio-bcast tls=%d conns=%u established=%u open_at_end=%u senders=%u inflight=%u rate=%.0f size=%u",
           options->tls, options->connections, generator->established, generator->open_at_finish,
           state->sender_count, options->inflight, options->rate, options->size);
    print_window_figures(generator);
    printf(" broadcasts=%llu fanout=%.1f broadcasts_sent=%llu deliveries_lost=%llu deliveries_out_of_order=%llu"
           " drain_seconds=%.3f engine_pings=%llu",
           (unsigned long long)state->broadcasts_in_window,
           state->broadcasts_in_window > 0 ? (double)deliveries / (double)state->broadcasts_in_window : 0.0,
           (unsigned long long)broadcasts, (unsigned long long)state->lost, (unsigned long long)state->out_of_order,
           generator->window_ended_at > 0 ? (double)(generator->now - generator->window_ended_at) / 1e9 : 0.0,
           (unsigned long long)generator->engine_pings);
    print_errors(generator);
    printf(" stop=%s status=%s\n", generator->stop_reason ? generator->stop_reason : "none",
           run_status(generator, complete));
    fflush(stdout);
    return complete && total_errors(generator) == 0 ? 0 : 1;
}

/* ------------------------------------------------------------------------------------------ */
/* sio-handshake                                                                              */

/* The handshake is complete: count it, then close politely so the server closes TCP first. */
static int handshake_ready(loadgen *generator, connection *conn) {
    generator->received++;
    if (generator->measuring) {
        histogram_record(&generator->latency, generator->now - conn->started_at);
    }
    if (generator->options.close_reset) {
        return abort_connection(generator, conn);
    }
    return begin_close(generator, conn);
}

static int handshake_report(loadgen *generator) {
    const run_options *options = &generator->options;
    int complete = run_completed(generator);
    printf("mode=sio-handshake tls=%d concurrency=%u close=%s", options->tls, options->connections,
           options->close_reset ? "reset" : "graceful");
    print_window_figures(generator);
    printf(" handshakes_total=%u close_timeouts=%llu engine_pings=%llu", generator->established,
           (unsigned long long)generator->close_timeouts, (unsigned long long)generator->engine_pings);
    print_errors(generator);
    printf(" stop=%s status=%s\n", generator->stop_reason ? generator->stop_reason : "none",
           run_status(generator, complete));
    fflush(stdout);
    return complete && total_errors(generator) == 0 ? 0 : 1;
}

/* ------------------------------------------------------------------------------------------ */
/* Dispatch                                                                                   */

static int on_ready(loadgen *generator, connection *conn) {
    switch (generator->options.mode) {
    case MODE_SIO_ECHO: return echo_ready(generator, conn);
    case MODE_SIO_HANDSHAKE: return handshake_ready(generator, conn);
    default: return 0;
    }
}

static int on_event_or_ack(loadgen *generator, connection *conn, const sio_packet *packet) {
    switch (generator->options.mode) {
    case MODE_SIO_ECHO: return echo_on_ack(generator, conn, packet);
    case MODE_SIO_BCAST: return bcast_on_event(generator, conn, packet);
    case MODE_SIO_IDLE:
        generator->received++; /* idle clients get nothing in the benchmark app, but tolerate it */
        return 0;
    default:
        record_error(generator, conn, ERROR_VERIFY, "unexpected packet of type %u", packet->type);
        return 0;
    }
}

const workload sio_echo_workload = {
    .name = "sio-echo",
    .session_handshake = 1,
    .on_open = sio_session_on_open,
    .on_message = sio_on_message,
    .before_flush = echo_before_flush,
    .on_finish = echo_on_finish,
    .report = echo_report,
};

const workload sio_bcast_workload = {
    .name = "sio-bcast",
    .session_handshake = 1,
    .on_open = sio_session_on_open,
    .on_message = sio_on_message,
    .on_tick = bcast_tick,
    .still_draining = bcast_still_draining,
    .on_finish = bcast_on_finish,
    .report = bcast_report,
};

const workload sio_handshake_workload = {
    .name = "sio-handshake",
    .session_handshake = 1,
    .cycling = 1,
    .on_open = sio_session_on_open,
    .on_message = sio_on_message,
    .report = handshake_report,
};

const workload sio_idle_workload = {
    .name = "sio-idle",
    .session_handshake = 1,
    .on_open = sio_session_on_open,
    .on_message = sio_on_message,
    .report = report_idle,
};
