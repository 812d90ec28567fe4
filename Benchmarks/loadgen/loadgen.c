/*
 * loadgen.c - a single-threaded epoll WebSocket and Socket.IO load generator.
 *
 * Layers, bottom up:
 *   net.c      non-blocking TCP and OpenSSL transport, one result enum for both
 *   ws.c       WebSocket handshake and frame codec (pure, no syscalls)
 *   sio.c      Engine.IO / Socket.IO packet codec over WebSocket text messages (pure)
 *   this file  connections and their event loop, framing of messages, run control, reporting,
 *              and the WebSocket workloads: `ws-echo` (closed-loop echo throughput) and
 *              `ws-idle` (hold N idle connections). loadgen.h is the interface to the workloads.
 *   workload_sio.c  the Socket.IO workloads: `sio-echo`, `sio-bcast`, `sio-handshake`, `sio-idle`.
 *   workload_copilot.c  `copilot`: simulated sales calls against `earpiece serve` (the app protocol).
 *
 * Everything is bounded: a hard time limit (with SIGALRM as a last resort), per-connection
 * handshake timeouts, buffer limits, and an early stop when every connection is gone.
 * Output is one line of key=value figures on stdout; diagnostics go to stderr.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "loadgen.h"
#include "ws.h"

static const char *const error_category_names[ERROR_CATEGORY_COUNT] = {
    "connect_errors", "tls_errors", "handshake_errors", "timeout_errors",
    "protocol_errors", "verify_errors", "io_errors", "stall_errors",
};

/* ------------------------------------------------------------------------------------------ */
/* Small helpers                                                                              */

uint64_t monotonic_ns(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)now.tv_sec * 1000000000ull + (uint64_t)now.tv_nsec;
}

uint64_t seconds_to_ns(double seconds) {
    return seconds <= 0 ? 0 : (uint64_t)(seconds * 1e9);
}

/* splitmix64: handshake nonces only need to differ, not to be secret, and this avoids a syscall each. */
static uint64_t next_random(loadgen *generator) {
    uint64_t z = (generator->random_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void die(const char *format, ...) {
    va_list arguments;
    va_start(arguments, format);
    fputs("loadgen: ", stderr);
    vfprintf(stderr, format, arguments);
    fputc('\n', stderr);
    va_end(arguments);
    exit(2);
}

void record_error(loadgen *generator, connection *conn, error_category category, const char *format, ...) {
    generator->errors[category]++;
    if (generator->errors_printed >= 20) {
        return;
    }
    generator->errors_printed++;
    va_list arguments;
    va_start(arguments, format);
    fprintf(stderr, "loadgen: conn %u: %s: ", conn ? conn->index : 0u, error_category_names[category]);
    vfprintf(stderr, format, arguments);
    fputc('\n', stderr);
    va_end(arguments);
    if (generator->errors_printed == 20) {
        fputs("loadgen: (further errors are counted, not printed)\n", stderr);
    }
}

uint64_t total_errors(const loadgen *generator) {
    uint64_t total = 0;
    for (int index = 0; index < ERROR_CATEGORY_COUNT; index++) {
        total += generator->errors[index];
    }
    return total;
}

/* ------------------------------------------------------------------------------------------ */
/* CPU accounting                                                                             */

static double process_cpu_seconds(void) {
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    return (double)usage.ru_utime.tv_sec + (double)usage.ru_utime.tv_usec / 1e6 + (double)usage.ru_stime.tv_sec +
           (double)usage.ru_stime.tv_usec / 1e6;
}

/* The CPU we are pinned to, or -1 if we may run on several (then core figures are not reported). */
static int pinned_cpu(void) {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(set), &set) != 0 || CPU_COUNT(&set) != 1) {
        return -1;
    }
    for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
        if (CPU_ISSET(cpu, &set)) {
            return cpu;
        }
    }
    return -1;
}

/*
 * Busy and total ticks of one CPU from /proc/stat. getrusage misses softirq work done on our
 * core (loopback TCP runs the receiver's stack in the sender's context), so the core figure
 * is the honest "is the load generator's core saturated" check.
 */
static int read_core_ticks(int cpu, uint64_t *busy, uint64_t *total) {
    FILE *file = fopen("/proc/stat", "r");
    if (file == NULL) {
        return -1;
    }
    char line[512];
    char wanted[32];
    snprintf(wanted, sizeof(wanted), "cpu%d ", cpu);
    int found = -1;
    while (fgets(line, sizeof(line), file) != NULL) {
        if (strncmp(line, wanted, strlen(wanted)) == 0) {
            unsigned long long field[10] = {0};
            int count = sscanf(line + strlen(wanted), "%llu %llu %llu %llu %llu %llu %llu %llu %llu %llu", &field[0],
                               &field[1], &field[2], &field[3], &field[4], &field[5], &field[6], &field[7],
                               &field[8], &field[9]);
            if (count >= 8) {
                /* user nice system idle iowait irq softirq steal (guest time is inside user). */
                uint64_t sum = 0;
                for (int index = 0; index < 8; index++) {
                    sum += field[index];
                }
                *total = sum;
                *busy = sum - field[3] - field[4];
                found = 0;
            }
            break;
        }
    }
    fclose(file);
    return found;
}

/* utime + stime of a whole process (all threads) from /proc/PID/stat, or -1. */
static double read_process_cpu_seconds(int pid) {
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/stat", pid);
    FILE *file = fopen(path, "r");
    if (file == NULL) {
        return -1;
    }
    char line[2048];
    size_t length = fread(line, 1, sizeof(line) - 1, file);
    fclose(file);
    line[length] = '\0';
    /* The command name may hold spaces or parentheses: fields start after the last ')'. */
    char *cursor = strrchr(line, ')');
    if (cursor == NULL) {
        return -1;
    }
    cursor++;
    unsigned long long user_ticks = 0;
    unsigned long long system_ticks = 0;
    /* Fields 3..13 skipped, 14 = utime, 15 = stime. */
    if (sscanf(cursor, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &user_ticks, &system_ticks) != 2) {
        return -1;
    }
    return (double)(user_ticks + system_ticks) / (double)sysconf(_SC_CLK_TCK);
}

static void take_snapshot(loadgen *generator, snapshot *into) {
    into->time = monotonic_ns();
    into->received = generator->received;
    into->cpu_seconds = process_cpu_seconds();
    into->core_busy_ticks = 0;
    into->core_total_ticks = 0;
    int cpu = pinned_cpu();
    if (cpu >= 0) {
        (void)read_core_ticks(cpu, &into->core_busy_ticks, &into->core_total_ticks);
    }
    into->server_core_busy_ticks = 0;
    into->server_core_total_ticks = 0;
    if (generator->options.server_cpu >= 0) {
        (void)read_core_ticks(generator->options.server_cpu, &into->server_core_busy_ticks,
                              &into->server_core_total_ticks);
    }
    into->server_cpu_seconds = generator->options.server_pid > 0 ? read_process_cpu_seconds(generator->options.server_pid)
                                                                 : -1;
}

/* ------------------------------------------------------------------------------------------ */
/* Connection plumbing                                                                        */

static void set_write_interest(loadgen *generator, connection *conn, int want_write) {
    want_write = want_write ? 1 : 0;
    if (conn->watching_write == want_write) {
        return;
    }
    struct epoll_event event = {.events = EPOLLIN | (want_write ? EPOLLOUT : 0), .data.u64 = conn->index};
    if (epoll_ctl(generator->epoll_fd, EPOLL_CTL_MOD, conn->stream.fd, &event) == 0) {
        conn->watching_write = (uint8_t)want_write;
    }
}

void close_connection(loadgen *generator, connection *conn) {
    switch ((connection_state)conn->state) {
    case CONN_CONNECTING:
    case CONN_TLS_HANDSHAKE:
    case CONN_WS_HANDSHAKE:
    case CONN_SESSION:
        generator->pending_handshakes--;
        generator->failed++;
        break;
    case CONN_OPEN:
        generator->open_count--;
        break;
    case CONN_UNSTARTED:
        generator->failed++;
        break;
    case CONN_CLOSED:
        return;
    }
    if (conn->abort_on_close) {
        net_abort(&conn->stream);
    } else {
        net_close(&conn->stream); /* close(2) also removes it from the epoll set */
    }
    free(conn->workload_data);
    conn->workload_data = NULL;
    conn->state = CONN_CLOSED;
    if (generator->workload->cycling) {
        /* The slot reconnects (a little later after a failure, so a dead server is not hammered);
         * its buffers are kept for the next connection. */
        conn->restart_at = generator->now + (conn->failing ? 10000000ull : 0);
        if (generator->phase == PHASE_WARMUP || generator->phase == PHASE_MEASURE) {
            uint32_t tail = (generator->restart_head + generator->restart_count) % generator->options.connections;
            generator->restart_queue[tail] = conn->index;
            generator->restart_count++;
        }
        return;
    }
    free(conn->in);
    free(conn->out);
    free(conn->message);
    free(conn->send_times);
    conn->in = conn->out = conn->message = NULL;
    conn->send_times = NULL;
}

int fail(loadgen *generator, connection *conn, error_category category, const char *format, ...) {
    char reason[256];
    va_list arguments;
    va_start(arguments, format);
    vsnprintf(reason, sizeof(reason), format, arguments);
    va_end(arguments);
    record_error(generator, conn, category, "%s", reason);
    conn->failing = 1;
    close_connection(generator, conn);
    return -1;
}

uint8_t *reserve_output(connection *conn, uint32_t length) {
    if (conn->out_capacity - conn->out_length >= length) {
        return conn->out + conn->out_length;
    }
    if (conn->out_offset > 0) {
        memmove(conn->out, conn->out + conn->out_offset, conn->out_length - conn->out_offset);
        conn->out_length -= conn->out_offset;
        conn->out_offset = 0;
        if (conn->out_capacity - conn->out_length >= length) {
            return conn->out + conn->out_length;
        }
    }
    uint64_t wanted = (uint64_t)conn->out_length + length;
    if (wanted > MAX_OUTPUT_BUFFER) {
        return NULL;
    }
    uint32_t capacity = conn->out_capacity ? conn->out_capacity : 256;
    while (capacity < wanted) {
        capacity *= 2;
    }
    uint8_t *grown = realloc(conn->out, capacity);
    if (grown == NULL) {
        return NULL;
    }
    conn->out = grown;
    conn->out_capacity = capacity;
    return conn->out + conn->out_length;
}

int flush_output(loadgen *generator, connection *conn) {
    while (conn->out_offset < conn->out_length) {
        size_t written = 0;
        generator->write_calls++;
        net_result result =
            net_write(&conn->stream, conn->out + conn->out_offset, conn->out_length - conn->out_offset, &written);
        if (result == NET_OK) {
            conn->out_offset += (uint32_t)written;
            continue;
        }
        if (result == NET_WANT_WRITE) {
            set_write_interest(generator, conn, 1);
            return 0;
        }
        if (result == NET_WANT_READ) {
            return 0; /* TLS needs the peer first; every read burst ends with another flush */
        }
        if (conn->closing) {
            close_connection(generator, conn); /* the server closed first: the close is done */
            return -1;
        }
        char reason[160];
        net_error_string(&conn->stream, reason, sizeof(reason));
        return fail(generator, conn, ERROR_IO, "write failed: %s", result == NET_EOF ? "peer closed" : reason);
    }
    conn->out_offset = conn->out_length = 0;
    if (conn->watching_write && !conn->read_wants_write) {
        set_write_interest(generator, conn, 0);
    }
    return 0;
}

int queue_frame(loadgen *generator, connection *conn, int opcode, const uint8_t *payload, size_t length) {
    uint8_t *destination = reserve_output(conn, WS_MAX_HEADER_LENGTH + (uint32_t)length);
    if (destination == NULL) {
        return fail(generator, conn, ERROR_IO, "output backlog over %u bytes", MAX_OUTPUT_BUFFER);
    }
    size_t header_length = ws_write_frame_header(destination, 1, opcode, length, generator->mask);
    ws_copy_masked(destination + header_length, payload, length, generator->mask, 0);
    conn->out_length += (uint32_t)(header_length + length);
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Connection set-up                                                                          */

void connection_established(loadgen *generator, connection *conn) {
    conn->state = CONN_OPEN;
    generator->pending_handshakes--;
    generator->established++;
    generator->open_count++;
}

int begin_close(loadgen *generator, connection *conn) {
    static const uint8_t normal_closure[2] = {0x03, 0xE8};
    conn->closing = 1;
    conn->closing_since = generator->now;
    if (queue_frame(generator, conn, WS_OPCODE_CLOSE, normal_closure, 2) != 0) {
        return -1;
    }
    return flush_output(generator, conn);
}

int abort_connection(loadgen *generator, connection *conn) {
    conn->abort_on_close = 1;
    close_connection(generator, conn);
    return -1;
}

static void start_connection(loadgen *generator, connection *conn) {
    conn->started_at = generator->now;
    conn->stream.fd = -1;
    conn->stream.ssl = NULL;
    /* A cycling slot is reused: forget everything about its previous connection. */
    conn->in_length = 0;
    conn->out_offset = 0;
    conn->out_length = 0;
    conn->watching_write = 0;
    conn->read_wants_write = 0;
    conn->in_fragmented_message = 0;
    conn->message_length = 0;
    conn->closing = 0;
    conn->failing = 0;
    conn->abort_on_close = 0;
    conn->session_state = 0;
    conn->inflight = 0;
    conn->to_send = 0;
    conn->send_head = 0;
    int fd = net_connect_start(&generator->address);
    if (fd < 0) {
        generator->errors[ERROR_CONNECT]++;
        if (generator->errors_printed < 20) {
            generator->errors_printed++;
            fprintf(stderr, "loadgen: conn %u: connect_errors: %s\n", conn->index, strerror(errno));
        }
        generator->failed++;
        conn->state = CONN_CLOSED;
        return;
    }
    conn->stream.fd = fd;
    conn->state = CONN_CONNECTING;
    conn->watching_write = 1;
    generator->pending_handshakes++;
    struct epoll_event event = {.events = EPOLLIN | EPOLLOUT, .data.u64 = conn->index};
    if (epoll_ctl(generator->epoll_fd, EPOLL_CTL_ADD, fd, &event) != 0) {
        (void)fail(generator, conn, ERROR_CONNECT, "epoll_ctl: %s", strerror(errno));
    }
}

static int begin_websocket_handshake(loadgen *generator, connection *conn) {
    uint8_t nonce[16];
    uint64_t first = next_random(generator);
    uint64_t second = next_random(generator);
    memcpy(nonce, &first, 8);
    memcpy(nonce + 8, &second, 8);
    if (ws_handshake_init(&conn->handshake, nonce) != 0) {
        return fail(generator, conn, ERROR_HANDSHAKE, "SHA-1 unavailable");
    }
    uint8_t *destination = reserve_output(conn, 1024);
    if (destination == NULL) {
        return fail(generator, conn, ERROR_HANDSHAKE, "out of memory");
    }
    int length = ws_build_request((char *)destination, 1024, generator->host_header, generator->options.path,
                                  &conn->handshake);
    if (length < 0) {
        return fail(generator, conn, ERROR_HANDSHAKE, "request too long");
    }
    conn->out_length += (uint32_t)length;
    conn->state = CONN_WS_HANDSHAKE;
    return flush_output(generator, conn);
}

static int drive_tls_handshake(loadgen *generator, connection *conn) {
    net_result result = net_tls_handshake(&conn->stream);
    switch (result) {
    case NET_OK:
        set_write_interest(generator, conn, 0);
        return begin_websocket_handshake(generator, conn);
    case NET_WANT_READ:
        set_write_interest(generator, conn, 0);
        return 0;
    case NET_WANT_WRITE:
        set_write_interest(generator, conn, 1);
        return 0;
    case NET_EOF:
    case NET_ERROR:
        break;
    }
    char reason[160];
    net_error_string(&conn->stream, reason, sizeof(reason));
    return fail(generator, conn, ERROR_TLS, "TLS handshake failed: %s", reason);
}

static int on_tcp_connected(loadgen *generator, connection *conn) {
    int error = net_connect_result(conn->stream.fd);
    if (error != 0) {
        return fail(generator, conn, ERROR_CONNECT, "connect: %s", strerror(error));
    }
    if (generator->options.tls) {
        if (net_tls_attach(&conn->stream, generator->tls_context, generator->options.tls_name) != 0) {
            return fail(generator, conn, ERROR_TLS, "SSL_new failed");
        }
        conn->state = CONN_TLS_HANDSHAKE;
        return drive_tls_handshake(generator, conn);
    }
    set_write_interest(generator, conn, 0);
    return begin_websocket_handshake(generator, conn);
}

/* ------------------------------------------------------------------------------------------ */
/* Incoming frames                                                                            */

static int handle_control_frame(loadgen *generator, connection *conn, int opcode, const uint8_t *payload,
                                size_t length) {
    switch (opcode) {
    case WS_OPCODE_PING:
        generator->pings++;
        return queue_frame(generator, conn, WS_OPCODE_PONG, payload, length);
    case WS_OPCODE_PONG:
        return 0;
    case WS_OPCODE_CLOSE: {
        if (conn->closing) {
            /* The answer to our close frame: the server closes the TCP connection next (RFC 6455
             * section 7.1.1), so the TIME_WAIT lands on its side, not on our ephemeral ports. */
            return 0;
        }
        generator->server_closes++;
        /* Answer with the same status code (best effort), then drop the connection: the server
         * ending a connection in the middle of a run is a failure of the run. */
        uint8_t status[2] = {0x03, 0xE8}; /* 1000 */
        if (length >= 2) {
            memcpy(status, payload, 2);
        }
        if (queue_frame(generator, conn, WS_OPCODE_CLOSE, status, 2) == 0) {
            (void)flush_output(generator, conn);
        }
        if (conn->state != CONN_CLOSED) {
            unsigned code = length >= 2 ? ((unsigned)payload[0] << 8) | payload[1] : 1005u;
            return fail(generator, conn, ERROR_IO, "server sent close (code %u)", code);
        }
        return -1;
    }
    default:
        return fail(generator, conn, ERROR_PROTOCOL, "unexpected control opcode %d", opcode);
    }
}

/* Appends a fragment to the reassembly buffer, within the message size limit. */
static int append_fragment(loadgen *generator, connection *conn, const uint8_t *payload, size_t length) {
    uint64_t wanted = (uint64_t)conn->message_length + length;
    if (wanted > generator->options.max_message) {
        return fail(generator, conn, ERROR_PROTOCOL, "fragmented message over %llu bytes",
                    (unsigned long long)generator->options.max_message);
    }
    if (wanted > conn->message_capacity) {
        uint32_t capacity = conn->message_capacity ? conn->message_capacity : 1024;
        while (capacity < wanted) {
            capacity *= 2;
        }
        uint8_t *grown = realloc(conn->message, capacity);
        if (grown == NULL) {
            return fail(generator, conn, ERROR_IO, "out of memory");
        }
        conn->message = grown;
        conn->message_capacity = capacity;
    }
    memcpy(conn->message + conn->message_length, payload, length);
    conn->message_length = (uint32_t)wanted;
    return 0;
}

static int handle_frame(loadgen *generator, connection *conn, const ws_frame_header *header, const uint8_t *payload) {
    size_t length = (size_t)header->payload_length;
    if (header->opcode >= WS_OPCODE_CLOSE) {
        return handle_control_frame(generator, conn, header->opcode, payload, length);
    }
    if (conn->closing) {
        return 0; /* data the server sent before it saw our close frame */
    }
    if (header->opcode == WS_OPCODE_CONTINUATION) {
        if (!conn->in_fragmented_message) {
            return fail(generator, conn, ERROR_PROTOCOL, "continuation frame without a message");
        }
        if (append_fragment(generator, conn, payload, length) != 0) {
            return -1;
        }
        if (!header->fin) {
            return 0;
        }
        conn->in_fragmented_message = 0;
        uint32_t message_length = conn->message_length;
        conn->message_length = 0;
        return generator->workload->on_message(generator, conn, conn->message_opcode, conn->message, message_length);
    }
    if (conn->in_fragmented_message) {
        return fail(generator, conn, ERROR_PROTOCOL, "new message inside a fragmented one");
    }
    if (!header->fin) {
        conn->in_fragmented_message = 1;
        conn->message_opcode = header->opcode;
        conn->message_length = 0;
        return append_fragment(generator, conn, payload, length);
    }
    return generator->workload->on_message(generator, conn, header->opcode, payload, length);
}

/* Parses whatever complete input is buffered. Returns 0, or -1 if the connection closed. */
static int process_input(loadgen *generator, connection *conn) {
    size_t position = 0;
    if (conn->state == CONN_WS_HANDSHAKE) {
        size_t consumed = 0;
        ws_handshake_result result = ws_parse_response(conn->in, conn->in_length, &conn->handshake, &consumed);
        if (result == WS_HANDSHAKE_INCOMPLETE) {
            return 0;
        }
        if (result != WS_HANDSHAKE_OK) {
            /* Quote the status line: it usually says why (404, 400, 426...). */
            size_t line = 0;
            while (line < conn->in_length && line < 80 && conn->in[line] != '\r' && conn->in[line] != '\n') {
                line++;
            }
            return fail(generator, conn, ERROR_HANDSHAKE, "%s (status line \"%.*s\")",
                        ws_handshake_result_name(result), (int)line, (const char *)conn->in);
        }
        position = consumed;
        if (generator->workload->session_handshake) {
            conn->state = CONN_SESSION; /* still pending until the workload's handshake is done */
        } else {
            connection_established(generator, conn);
        }
        if (generator->workload->on_open(generator, conn) != 0) {
            return -1;
        }
    }
    while (position < conn->in_length) {
        ws_frame_header header;
        ws_frame_result result = ws_parse_frame_header(conn->in + position, conn->in_length - position,
                                                       generator->options.max_message, 0, &header);
        if (result == WS_FRAME_INCOMPLETE) {
            break;
        }
        if (result != WS_FRAME_OK) {
            return fail(generator, conn, ERROR_PROTOCOL, "bad frame: %s", ws_frame_result_name(result));
        }
        uint64_t frame_length = header.header_length + header.payload_length;
        if (frame_length > conn->in_length - position) {
            break;
        }
        if (handle_frame(generator, conn, &header, conn->in + position + header.header_length) != 0) {
            return -1;
        }
        position += (size_t)frame_length;
    }
    if (position > 0) {
        memmove(conn->in, conn->in + position, conn->in_length - position);
        conn->in_length -= (uint32_t)position;
    }
    return 0;
}

/* Makes room for more input: a full buffer means one frame is bigger than it. */
static int grow_input(loadgen *generator, connection *conn) {
    uint64_t limit = generator->options.max_message + WS_MAX_HEADER_LENGTH;
    if (limit < WS_MAX_HANDSHAKE_RESPONSE) {
        limit = WS_MAX_HANDSHAKE_RESPONSE;
    }
    if (conn->in_capacity >= limit) {
        return fail(generator, conn, ERROR_PROTOCOL, "input over %llu bytes without a complete frame",
                    (unsigned long long)limit);
    }
    uint64_t capacity = (uint64_t)conn->in_capacity * 2;
    if (capacity > limit) {
        capacity = limit;
    }
    uint8_t *grown = realloc(conn->in, capacity);
    if (grown == NULL) {
        return fail(generator, conn, ERROR_IO, "out of memory");
    }
    conn->in = grown;
    conn->in_capacity = (uint32_t)capacity;
    return 0;
}

/*
 * Reads until the socket (or OpenSSL) has nothing more, parsing as it goes. OpenSSL may hold
 * decrypted records that level-triggered epoll will never report, so TLS reads go on while it
 * holds any. A short read otherwise means the socket is drained, which saves an EAGAIN syscall.
 */
static int pump_input(loadgen *generator, connection *conn) {
    conn->read_wants_write = 0;
    for (;;) {
        if (conn->in_length == conn->in_capacity && grow_input(generator, conn) != 0) {
            return -1;
        }
        size_t space = conn->in_capacity - conn->in_length;
        size_t count = 0;
        generator->read_calls++;
        net_result result = net_read(&conn->stream, conn->in + conn->in_length, space, &count);
        if (result == NET_OK) {
            conn->in_length += (uint32_t)count;
            if (process_input(generator, conn) != 0) {
                return -1;
            }
            /* A short read means the socket was drained: the next read would only say EAGAIN,
             * and level-triggered epoll reports anything that arrives later. For TLS that holds
             * only once OpenSSL buffers nothing either (decrypted or read-ahead bytes). */
            if (count < space && (conn->stream.ssl == NULL || !SSL_has_pending(conn->stream.ssl))) {
                return 0;
            }
            continue;
        }
        if (result == NET_WANT_READ) {
            return 0;
        }
        if (result == NET_WANT_WRITE) {
            conn->read_wants_write = 1;
            set_write_interest(generator, conn, 1);
            return 0;
        }
        if (result == NET_EOF) {
            if (conn->closing) {
                close_connection(generator, conn); /* the end of the closing handshake we began */
                return -1;
            }
            return fail(generator, conn, conn->state == CONN_OPEN ? ERROR_IO : ERROR_HANDSHAKE,
                        "server closed the connection");
        }
        if (conn->closing) {
            close_connection(generator, conn); /* a reset instead of a FIN still ends the close */
            return -1;
        }
        char reason[160];
        net_error_string(&conn->stream, reason, sizeof(reason));
        return fail(generator, conn, conn->state == CONN_OPEN ? ERROR_IO : ERROR_HANDSHAKE, "read failed: %s",
                    reason);
    }
}

static void handle_event(loadgen *generator, connection *conn, uint32_t events) {
    switch ((connection_state)conn->state) {
    case CONN_CONNECTING:
        (void)on_tcp_connected(generator, conn);
        return;
    case CONN_TLS_HANDSHAKE:
        (void)drive_tls_handshake(generator, conn);
        return;
    case CONN_WS_HANDSHAKE:
    case CONN_SESSION:
    case CONN_OPEN:
        break;
    case CONN_UNSTARTED:
    case CONN_CLOSED:
        return;
    }
    if ((events & (EPOLLIN | EPOLLERR | EPOLLHUP)) || (conn->read_wants_write && (events & EPOLLOUT))) {
        if (pump_input(generator, conn) != 0) {
            return;
        }
    }
    if (conn->state == CONN_OPEN && generator->workload->before_flush != NULL &&
        generator->workload->before_flush(generator, conn) != 0) {
        return;
    }
    if (conn->out_offset < conn->out_length) {
        (void)flush_output(generator, conn);
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Workload: ws-echo                                                                          */

static const uint8_t hex_digits[16] = {'0', '1', '2', '3', '4', '5', '6', '7',
                                       '8', '9', 'a', 'b', 'c', 'd', 'e', 'f'};

/* Writes the low `digits` hex digits of `sequence`, most significant first. */
static inline void encode_sequence(uint8_t *out, uint64_t sequence, uint32_t digits) {
    for (uint32_t index = digits; index-- > 0;) {
        out[index] = hex_digits[sequence & 15];
        sequence >>= 4;
    }
}

/* Builds the frame every send copies: header with the run's mask key, payload pre-masked once. */
static void build_echo_template(loadgen *generator) {
    uint32_t size = generator->options.size;
    generator->sequence_digits = size < 16 ? size : 16;
    generator->payload_plain = malloc(size ? size : 1);
    generator->frame_template = malloc(WS_MAX_HEADER_LENGTH + (size_t)size);
    if (generator->payload_plain == NULL || generator->frame_template == NULL) {
        die("out of memory");
    }
    /* Printable ASCII so a text frame is valid UTF-8; a varied pattern so a shifted or
     * truncated echo cannot compare equal by accident. */
    for (uint32_t index = 0; index < size; index++) {
        generator->payload_plain[index] = (uint8_t)('a' + (index * 7u + index / 26u) % 26u);
    }
    int opcode = generator->options.binary ? WS_OPCODE_BINARY : WS_OPCODE_TEXT;
    size_t header_length = ws_write_frame_header(generator->frame_template, 1, opcode, size, generator->mask);
    ws_copy_masked(generator->frame_template + header_length, generator->payload_plain, size, generator->mask, 0);
    generator->payload_offset = (uint32_t)header_length;
    generator->frame_length = (uint32_t)(header_length + size);
}

static int echo_on_open(loadgen *generator, connection *conn) {
    conn->send_times = calloc(generator->options.inflight, sizeof(uint64_t));
    if (conn->send_times == NULL) {
        return fail(generator, conn, ERROR_IO, "out of memory");
    }
    conn->to_send = generator->options.inflight;
    return 0;
}

static int echo_on_message(loadgen *generator, connection *conn, int opcode, const uint8_t *payload, size_t length) {
    const run_options *options = &generator->options;
    if (conn->inflight == 0) {
        return fail(generator, conn, ERROR_VERIFY, "message with nothing in flight (%zu bytes)", length);
    }
    uint64_t sent_at = conn->send_times[conn->send_head];
    if (++conn->send_head == options->inflight) {
        conn->send_head = 0;
    }
    conn->inflight--;
    generator->received++;
    if (generator->measuring) {
        histogram_record(&generator->latency, generator->now - sent_at);
    }
    uint64_t sequence = conn->next_receive_sequence++;
    int expected_opcode = options->binary ? WS_OPCODE_BINARY : WS_OPCODE_TEXT;
    if (length != options->size || opcode != expected_opcode) {
        record_error(generator, conn, ERROR_VERIFY, "echo #%llu: got %zu bytes opcode %d, sent %u bytes opcode %d",
                     (unsigned long long)sequence, length, opcode, options->size, expected_opcode);
    } else {
        uint8_t expected[16];
        uint32_t digits = generator->sequence_digits;
        encode_sequence(expected, sequence, digits);
        if (memcmp(payload, expected, digits) != 0) {
            record_error(generator, conn, ERROR_VERIFY, "echo #%llu: sequence \"%.*s\", expected \"%.*s\"",
                         (unsigned long long)sequence, (int)digits, (const char *)payload, (int)digits,
                         (const char *)expected);
        } else if (options->verify_every > 0 && sequence % options->verify_every == 0 &&
                   memcmp(payload + digits, generator->payload_plain + digits, length - digits) != 0) {
            record_error(generator, conn, ERROR_VERIFY, "echo #%llu: payload differs from what was sent",
                         (unsigned long long)sequence);
        }
    }
    if (generator->phase != PHASE_DONE) {
        conn->to_send++;
    }
    return 0;
}

/* Queues one frame per echo received in this wake-up, so they leave in a single write. */
static int echo_before_flush(loadgen *generator, connection *conn) {
    uint32_t count = conn->to_send;
    if (count == 0) {
        return 0;
    }
    conn->to_send = 0;
    uint32_t frame_length = generator->frame_length;
    uint8_t *destination = reserve_output(conn, count * frame_length);
    if (destination == NULL) {
        return fail(generator, conn, ERROR_IO, "output backlog over %u bytes", MAX_OUTPUT_BUFFER);
    }
    uint32_t inflight_limit = generator->options.inflight;
    uint32_t digits = generator->sequence_digits;
    uint32_t tail = conn->send_head + conn->inflight;
    if (tail >= inflight_limit) {
        tail -= inflight_limit;
    }
    for (uint32_t index = 0; index < count; index++) {
        memcpy(destination, generator->frame_template, frame_length);
        uint8_t sequence_text[16];
        encode_sequence(sequence_text, conn->next_send_sequence++, digits);
        ws_copy_masked(destination + generator->payload_offset, sequence_text, digits, generator->mask, 0);
        destination += frame_length;
        conn->send_times[tail] = generator->now;
        if (++tail == inflight_limit) {
            tail = 0;
        }
    }
    conn->inflight += count;
    conn->out_length += count * frame_length;
    generator->sent += count;
    return 0;
}

/* At the end: an echo still unanswered after STALL_LIMIT_NS means the server stalled. */
static void echo_on_finish(loadgen *generator, connection *conn) {
    if (conn->inflight == 0) {
        return;
    }
    uint64_t age = generator->now - conn->send_times[conn->send_head];
    if (age > generator->oldest_unanswered) {
        generator->oldest_unanswered = age;
    }
    if (age > STALL_LIMIT_NS) {
        record_error(generator, conn, ERROR_STALL, "echo #%llu unanswered for %.1f s",
                     (unsigned long long)conn->next_receive_sequence, (double)age / 1e9);
    }
}

static int report_echo(loadgen *generator);

static const workload echo_workload = {
    .name = "ws-echo",
    .on_open = echo_on_open,
    .on_message = echo_on_message,
    .before_flush = echo_before_flush,
    .on_finish = echo_on_finish,
    .report = report_echo,
};

/* ------------------------------------------------------------------------------------------ */
/* Workload: ws-idle                                                                          */

static int idle_on_open(loadgen *generator, connection *conn) {
    (void)generator;
    (void)conn;
    return 0;
}

/* An idle connection ignores data messages (counted), and answers pings in the WebSocket layer. */
static int idle_on_message(loadgen *generator, connection *conn, int opcode, const uint8_t *payload, size_t length) {
    (void)conn;
    (void)opcode;
    (void)payload;
    (void)length;
    generator->received++;
    return 0;
}

static const workload idle_workload = {
    .name = "ws-idle",
    .on_open = idle_on_open,
    .on_message = idle_on_message,
    .report = report_idle,
};

/* ------------------------------------------------------------------------------------------ */
/* Run control                                                                                */

/* A connection still in its handshake (TCP, TLS, WebSocket upgrade, or the workload's session). */
static int is_pending(const connection *conn) {
    return conn->state == CONN_CONNECTING || conn->state == CONN_TLS_HANDSHAKE || conn->state == CONN_WS_HANDSHAKE ||
           conn->state == CONN_SESSION;
}

static const char *const pending_stage[] = {"", "TCP connect", "TLS handshake", "WebSocket handshake",
                                            "Engine.IO / Socket.IO handshake"};

/* A cycling slot's closing handshake gets this long before we close it ourselves. */
#define CLOSE_TIMEOUT_NS 1000000000ull

static void enforce_handshake_timeouts(loadgen *generator) {
    uint64_t timeout = seconds_to_ns(generator->options.connect_timeout);
    if (generator->workload->cycling) {
        /* Slots restart in any order, so check them all (there are few: the concurrency). */
        for (uint32_t index = 0; index < generator->options.connections; index++) {
            connection *conn = &generator->connections[index];
            if (is_pending(conn) && generator->now - conn->started_at >= timeout) {
                (void)fail(generator, conn, ERROR_TIMEOUT, "%s not done after %.1f s", pending_stage[conn->state],
                           generator->options.connect_timeout);
            } else if (conn->state == CONN_OPEN && conn->closing &&
                       generator->now - conn->closing_since >= CLOSE_TIMEOUT_NS) {
                /* The server never closed its side: not an error of the handshake, but counted. */
                generator->close_timeouts++;
                close_connection(generator, conn);
            }
        }
        return;
    }
    /* Connections start in index order, so their deadlines are ordered too: scan from the
     * oldest one still pending and stop at the first that has time left. */
    while (generator->oldest_pending < generator->next_to_start) {
        connection *conn = &generator->connections[generator->oldest_pending];
        if (is_pending(conn)) {
            if (generator->now - conn->started_at < timeout) {
                break;
            }
            (void)fail(generator, conn, ERROR_TIMEOUT, "%s not done after %.1f s", pending_stage[conn->state],
                       generator->options.connect_timeout);
        }
        generator->oldest_pending++;
    }
}

static int is_idle_mode(run_mode mode) {
    return mode == MODE_WS_IDLE || mode == MODE_SIO_IDLE;
}

static void end_connect_phase(loadgen *generator) {
    /* Anything still pending or never started has run out of time. */
    for (uint32_t index = 0; index < generator->options.connections; index++) {
        connection *conn = &generator->connections[index];
        if (conn->state == CONN_UNSTARTED) {
            record_error(generator, conn, ERROR_TIMEOUT, "never started: connect phase over");
            close_connection(generator, conn);
        } else if (conn->state != CONN_OPEN && conn->state != CONN_CLOSED) {
            (void)fail(generator, conn, ERROR_TIMEOUT, "connect phase over before the handshake finished");
        }
    }
    generator->next_to_start = generator->options.connections;
    generator->connect_phase_ended_at = generator->now;
    if (is_idle_mode(generator->options.mode)) {
        printf("READY %u\n", generator->established);
        fflush(stdout);
        generator->phase = PHASE_HOLD;
        generator->phase_deadline = generator->now + seconds_to_ns(generator->options.hold);
    } else {
        generator->phase = PHASE_WARMUP;
        generator->phase_deadline = generator->now + seconds_to_ns(generator->options.warmup);
    }
}

static void start_window(loadgen *generator) {
    take_snapshot(generator, &generator->window_start);
    histogram_reset(&generator->latency);
    generator->measuring = 1;
    generator->phase = PHASE_MEASURE;
    generator->phase_deadline = generator->window_start.time + seconds_to_ns(generator->options.duration);
}

static void end_window(loadgen *generator) {
    if (generator->measuring) {
        take_snapshot(generator, &generator->window_end);
        generator->measuring = 0;
        generator->window_ended_at = generator->now;
    }
}

/* Ends the run: sends a close frame on every open connection (best effort) and closes it. */
static void finish(loadgen *generator, const char *reason) {
    end_window(generator);
    if (generator->stop_reason == NULL) {
        generator->stop_reason = reason;
    }
    generator->phase = PHASE_DONE;
    generator->open_at_finish = generator->open_count;
    static const uint8_t normal_closure[2] = {0x03, 0xE8};
    for (uint32_t index = 0; index < generator->options.connections; index++) {
        connection *conn = &generator->connections[index];
        if (conn->state == CONN_OPEN && generator->workload->on_finish != NULL) {
            generator->workload->on_finish(generator, conn);
        }
        if (conn->state == CONN_OPEN) {
            if (queue_frame(generator, conn, WS_OPCODE_CLOSE, normal_closure, 2) == 0 &&
                flush_output(generator, conn) == 0) {
                close_connection(generator, conn);
            }
        } else if (conn->state != CONN_CLOSED && conn->state != CONN_UNSTARTED) {
            close_connection(generator, conn);
        }
    }
}

static int epoll_timeout_ms(const loadgen *generator) {
    uint64_t deadline = generator->hard_deadline;
    if (generator->phase_deadline != 0 && generator->phase_deadline < deadline) {
        deadline = generator->phase_deadline;
    }
    if (generator->phase == PHASE_CONNECT || generator->workload->cycling) {
        uint64_t scan = generator->last_timeout_scan + 100000000ull;
        if (scan < deadline) {
            deadline = scan;
        }
    }
    if (generator->restart_count > 0) {
        uint64_t restart = generator->connections[generator->restart_queue[generator->restart_head]].restart_at;
        if (restart < deadline) {
            deadline = restart;
        }
    }
    if (generator->workload->next_wakeup != NULL) {
        uint64_t wakeup = generator->workload->next_wakeup(generator);
        if (wakeup != 0 && wakeup < deadline) {
            deadline = wakeup;
        }
    }
    if (deadline <= generator->now) {
        return 0;
    }
    uint64_t milliseconds = (deadline - generator->now + 999999ull) / 1000000ull;
    /* A rate-limited sender needs the loop to come round even when nothing arrives. */
    if (generator->options.rate > 0 && generator->workload->on_tick != NULL && milliseconds > 1) {
        milliseconds = 1;
    }
    return milliseconds > 1000 ? 1000 : (int)milliseconds;
}

#define EVENT_SIGNAL UINT64_MAX
#define EVENT_STDIN (UINT64_MAX - 1)

static void handle_stdin(loadgen *generator) {
    char scratch[256];
    ssize_t count = read(STDIN_FILENO, scratch, sizeof(scratch));
    if (count == 0 || (count < 0 && errno != EAGAIN && errno != EINTR)) {
        generator->stop_requested = 1;
        generator->stop_reason = "stdin_closed";
        epoll_ctl(generator->epoll_fd, EPOLL_CTL_DEL, STDIN_FILENO, NULL);
        generator->watching_stdin = 0;
    }
}

/* Cycling workloads: reconnects the closed slots whose time has come, oldest first. */
static void restart_slots(loadgen *generator) {
    while (generator->restart_count > 0) {
        connection *conn = &generator->connections[generator->restart_queue[generator->restart_head]];
        if (conn->restart_at > generator->now) {
            break;
        }
        generator->restart_head = (generator->restart_head + 1) % generator->options.connections;
        generator->restart_count--;
        start_connection(generator, conn);
    }
}

static void run(loadgen *generator) {
    struct epoll_event events[512];
    const workload *work = generator->workload;
    generator->now = monotonic_ns();
    generator->run_started_at = generator->now;
    generator->last_timeout_scan = generator->now;
    if (work->cycling) {
        /* No connect phase: every slot starts at once and keeps reconnecting. */
        generator->connect_phase_ended_at = generator->now;
        generator->phase = PHASE_WARMUP;
        generator->phase_deadline = generator->now + seconds_to_ns(generator->options.warmup);
        for (uint32_t index = 0; index < generator->options.connections; index++) {
            generator->restart_queue[index] = index;
        }
        generator->restart_count = generator->options.connections;
    } else {
        generator->phase = PHASE_CONNECT;
        generator->phase_deadline = generator->now + seconds_to_ns(generator->options.connect_phase_timeout);
    }
    if (work->cycling && generator->options.warmup <= 0) {
        start_window(generator);
    }
    while (generator->phase != PHASE_DONE) {
        /* Start connections up to the handshake concurrency limit (avoids SYN-queue overflow). */
        while (generator->phase == PHASE_CONNECT && generator->next_to_start < generator->options.connections &&
               generator->pending_handshakes < generator->options.connect_concurrency) {
            connection *conn = &generator->connections[generator->next_to_start++];
            start_connection(generator, conn);
        }
        if (work->cycling && (generator->phase == PHASE_WARMUP || generator->phase == PHASE_MEASURE)) {
            restart_slots(generator);
        }
        int count = epoll_wait(generator->epoll_fd, events, (int)(sizeof(events) / sizeof(events[0])),
                               epoll_timeout_ms(generator));
        if (count < 0 && errno != EINTR) {
            die("epoll_wait: %s", strerror(errno));
        }
        generator->now = monotonic_ns();
        for (int index = 0; index < count; index++) {
            uint64_t tag = events[index].data.u64;
            if (tag == EVENT_SIGNAL) {
                struct signalfd_siginfo info;
                if (read(generator->signal_fd, &info, sizeof(info)) > 0) {
                    generator->stop_requested = 1;
                    generator->stop_reason = "signal";
                }
            } else if (tag == EVENT_STDIN) {
                handle_stdin(generator);
            } else if (tag < generator->options.connections) {
                handle_event(generator, &generator->connections[tag], events[index].events);
            }
        }
        if (work->on_tick != NULL) {
            work->on_tick(generator);
        }

        if (generator->phase == PHASE_CONNECT || work->cycling) {
            if (generator->now - generator->last_timeout_scan >= 100000000ull) {
                generator->last_timeout_scan = generator->now;
                enforce_handshake_timeouts(generator);
            }
        }
        if (generator->phase == PHASE_CONNECT &&
            (generator->established + generator->failed >= generator->options.connections ||
             generator->now >= generator->phase_deadline)) {
            end_connect_phase(generator);
        }
        if (generator->phase == PHASE_WARMUP && generator->now >= generator->phase_deadline) {
            start_window(generator);
        }
        if (generator->phase == PHASE_MEASURE && generator->now >= generator->phase_deadline) {
            if (work->still_draining != NULL) {
                /* Stop counting, let the last messages arrive, then check what never did. */
                end_window(generator);
                generator->phase = PHASE_DRAIN;
                generator->phase_deadline = generator->now + seconds_to_ns(generator->options.drain);
            } else {
                finish(generator, "complete");
            }
        }
        if (generator->phase == PHASE_DRAIN &&
            (generator->now >= generator->phase_deadline || !work->still_draining(generator))) {
            finish(generator, "complete");
        } else if (generator->phase == PHASE_HOLD && generator->now >= generator->phase_deadline) {
            finish(generator, "hold_over");
        } else if (!work->cycling && generator->phase != PHASE_CONNECT && generator->phase != PHASE_DONE &&
                   generator->open_count == 0) {
            finish(generator, "all_connections_lost");
        } else if (generator->stop_requested && generator->phase != PHASE_DONE) {
            finish(generator, generator->stop_reason);
        } else if (generator->now >= generator->hard_deadline && generator->phase != PHASE_DONE) {
            finish(generator, "time_limit");
        }
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Reporting                                                                                  */

void print_errors(const loadgen *generator) {
    printf(" server_closes=%llu", (unsigned long long)generator->server_closes);
    printf(" errors=%llu", (unsigned long long)total_errors(generator));
    for (int index = 0; index < ERROR_CATEGORY_COUNT; index++) {
        printf(" %s=%llu", error_category_names[index], (unsigned long long)generator->errors[index]);
    }
}

const char *run_status(const loadgen *generator, int complete) {
    if (!complete) {
        return "aborted";
    }
    return total_errors(generator) == 0 ? "ok" : "errors";
}

int run_completed(const loadgen *generator) {
    const snapshot *start = &generator->window_start;
    const snapshot *end = &generator->window_end;
    return start->time != 0 && end->time >= start->time && generator->stop_reason != NULL &&
           strcmp(generator->stop_reason, "complete") == 0;
}

/*
 * The measured window's figures, shared by every throughput mode (`msgs` is what the mode
 * counts: echoes, acked events, deliveries or handshakes), then whole-run call counts.
 */
void print_window_figures(const loadgen *generator) {
    const run_options *options = &generator->options;
    const snapshot *start = &generator->window_start;
    const snapshot *end = &generator->window_end;
    int measured = start->time != 0 && end->time >= start->time;
    double seconds = measured ? (double)(end->time - start->time) / 1e9 : 0;
    uint64_t messages = measured ? end->received - start->received : 0;
    double cpu = measured ? end->cpu_seconds - start->cpu_seconds : 0;
    printf(" msgs=%llu seconds=%.3f msgs_per_sec=%.0f", (unsigned long long)messages, seconds,
           seconds > 0 ? (double)messages / seconds : 0.0);
    printf(" client_cpu_seconds=%.3f client_cpu_util=%.3f", cpu, seconds > 0 ? cpu / seconds : 0.0);
    if (measured && end->core_total_ticks > start->core_total_ticks) {
        printf(" core_busy=%.3f", (double)(end->core_busy_ticks - start->core_busy_ticks) /
                                      (double)(end->core_total_ticks - start->core_total_ticks));
    } else {
        printf(" core_busy=na");
    }
    if (measured && end->server_core_total_ticks > start->server_core_total_ticks) {
        printf(" server_core_busy=%.3f",
               (double)(end->server_core_busy_ticks - start->server_core_busy_ticks) /
                   (double)(end->server_core_total_ticks - start->server_core_total_ticks));
    }
    if (measured && options->server_pid > 0 && start->server_cpu_seconds >= 0 && end->server_cpu_seconds >= 0) {
        double server = end->server_cpu_seconds - start->server_cpu_seconds;
        printf(" server_cpu_seconds=%.3f server_cpu_util=%.3f msgs_per_server_cpu_sec=%.0f", server,
               seconds > 0 ? server / seconds : 0.0, server > 0 ? (double)messages / server : 0.0);
    }
    printf(" p50_us=%.1f p99_us=%.1f p999_us=%.1f max_us=%.1f", (double)histogram_percentile(&generator->latency, 0.5) / 1e3,
           (double)histogram_percentile(&generator->latency, 0.99) / 1e3,
           (double)histogram_percentile(&generator->latency, 0.999) / 1e3, (double)generator->latency.maximum / 1e3);
    /* Whole-run totals; messages per read/write call shows how well batching works. */
    printf(" oldest_unanswered_ms=%.1f", (double)generator->oldest_unanswered / 1e6);
    printf(" sent=%llu received=%llu read_calls=%llu write_calls=%llu connect_seconds=%.3f",
           (unsigned long long)generator->sent, (unsigned long long)generator->received,
           (unsigned long long)generator->read_calls, (unsigned long long)generator->write_calls,
           (double)(generator->connect_phase_ended_at - generator->run_started_at) / 1e9);
}

static int report_echo(loadgen *generator) {
    const run_options *options = &generator->options;
    int complete = run_completed(generator);
    printf("mode=ws-echo tls=%d conns=%u established=%u open_at_end=%u inflight=%u size=%u", options->tls,
           options->connections, generator->established, generator->open_at_finish, options->inflight, options->size);
    print_window_figures(generator);
    print_errors(generator);
    printf(" stop=%s status=%s\n", generator->stop_reason ? generator->stop_reason : "none",
           run_status(generator, complete));
    fflush(stdout);
    return complete && total_errors(generator) == 0 ? 0 : 1;
}

int report_idle(loadgen *generator) {
    const run_options *options = &generator->options;
    int complete = generator->established == options->connections;
    printf("mode=%s tls=%d conns=%u established=%u open_at_end=%u connect_seconds=%.3f held_seconds=%.3f",
           generator->workload->name, options->tls, options->connections, generator->established, generator->open_at_finish,
           (double)(generator->connect_phase_ended_at - generator->run_started_at) / 1e9,
           (double)(generator->now - generator->connect_phase_ended_at) / 1e9);
    printf(" pings=%llu messages=%llu", (unsigned long long)generator->pings, (unsigned long long)generator->received);
    if (generator->options.mode == MODE_SIO_IDLE) {
        printf(" engine_pings=%llu", (unsigned long long)generator->engine_pings);
    }
    print_errors(generator);
    printf(" stop=%s status=%s\n", generator->stop_reason ? generator->stop_reason : "none",
           run_status(generator, complete));
    fflush(stdout);
    return complete && total_errors(generator) == 0 ? 0 : 1;
}

/* ------------------------------------------------------------------------------------------ */
/* Set-up                                                                                     */

static void usage(FILE *out) {
    fputs("usage: loadgen ws-echo --port N [options]\n"
          "       loadgen ws-idle --port N [options]\n"
          "       loadgen sio-echo --port N [options]\n"
          "       loadgen sio-bcast --port N [options]\n"
          "       loadgen sio-handshake --port N [options]\n"
          "       loadgen sio-idle --port N [options]\n"
          "       loadgen copilot --port N [options]\n"
          "common:\n"
          "  --host ADDR             IPv4 address of the server (default 127.0.0.1)\n"
          "  --port N                server port (required)\n"
          "  --path PATH             WebSocket path (default /echo; sio-*: /socket.io/?EIO=4&transport=websocket)\n"
          "  --conns N               connections (default 100 echo, 1000 sio-bcast, 10000 idle)\n"
          "  --tls                   TLS (no certificate check unless --tls-ca)\n"
          "  --tls-ca FILE           verify the server against this CA and --tls-name\n"
          "  --tls-name NAME         name to verify / send as SNI (default: --host)\n"
          "  --connect-concurrency N handshakes in flight at once (default 500)\n"
          "  --connect-timeout S     per-connection handshake limit (default 15)\n"
          "  --connect-phase-timeout S  limit for opening all connections (default 120)\n"
          "  --max-message N         largest accepted message (default 1048576)\n"
          "ws-echo, sio-echo, sio-bcast, sio-handshake:\n"
          "  --inflight N            messages outstanding per connection (default 10); sio-bcast: broadcasts\n"
          "                          outstanding per sender, counted in whole fan-outs (default 8)\n"
          "  --size N                payload bytes (default 200)\n"
          "  --duration S            measured seconds (default 10)\n"
          "  --warmup S              unmeasured seconds first (default 2)\n"
          "  --verify-every N        compare the full payload of every Nth echo (default 16 ws-echo, 1 sio-*;\n"
          "                          0 never); size, opcode and the embedded sequence number are always checked\n"
          "  --binary                send binary frames (default text)\n"
          "  --zero-mask             use the all-zero mask key (default: a random non-zero key per run)\n"
          "  --server-pid PID        report that process's CPU time over the measured window\n"
          "  --server-cpu N          report how busy CPU N (the server's) was over the window\n"
          "sio-bcast:\n"
          "  --senders K             connections that emit `bcast` (default 4); every connection receives\n"
          "  --rate R                cap on broadcasts per second, all senders together (default 0: no cap)\n"
          "  --drain S               after the window, wait up to S for the last deliveries (default 5)\n"
          "sio-handshake:\n"
          "  --concurrency C         handshakes in progress at once (default 100; same as --conns)\n"
          "  --close graceful|reset  end each connection with the WebSocket closing handshake, the server\n"
          "                          closing TCP first (default), or with a TCP reset right after the CONNECT reply\n"
          "ws-idle, sio-idle:\n"
          "  --hold S                hold time after READY (default 300); stdin EOF also ends the hold\n"
          "                          when stdin is a pipe\n"
          "copilot (simulated calls against `earpiece serve`; --conns is the number of calls, default 2000):\n"
          "  --api-key KEY           sent as auth {\"apiKey\": KEY} (default: no auth)\n"
          "  --time-scale F          the server's COACHING_TIME_SCALE (default 0.1)\n"
          "  --call-warmup S         warmupSeconds each call asks for, in call time (default 30)\n"
          "  --call-interval S       intervalSeconds each call asks for, in call time (default 30)\n"
          "  --segment-interval S    real seconds between a call's TRANSCRIPTs (default 2)\n"
          "  --ramp S                the calls start (and end) spread over S seconds (default 5)\n"
          "  --llm-delay-ms MS       the fake LLM's fixed delay, subtracted from tip latency (default 300)\n"
          "  --no-end                do not send END_CONVERSATION after the window\n"
          "  --duration S            measured seconds (default 60)\n"
          "  --warmup S              unmeasured seconds after the connect phase (default: ramp + call warm-up\n"
          "                          + one interval, scaled, + 1 s, so every call is coaching when it starts)\n"
          "  --drain S               after the window, wait up to S for CONVERSATION_ENDED (default ramp + 15)\n",
          out);
}

static double parse_number(const char *text, const char *name, double minimum, double maximum) {
    char *end = NULL;
    errno = 0;
    double value = strtod(text, &end);
    if (errno != 0 || end == text || *end != '\0' || value < minimum || value > maximum) {
        die("--%s: expected a number in [%g, %g], got \"%s\"", name, minimum, maximum, text);
    }
    return value;
}

/* The protocol's whole-second settings (warmupSeconds, intervalSeconds). */
static uint32_t parse_whole(const char *text, const char *name, double minimum, double maximum) {
    double value = parse_number(text, name, minimum, maximum);
    if (value != (double)(uint32_t)value) {
        die("--%s: expected whole seconds, got \"%s\"", name, text);
    }
    return (uint32_t)value;
}

static void parse_options(int argc, char **argv, run_options *options) {
    if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        usage(argc < 2 ? stderr : stdout);
        exit(argc < 2 ? 2 : 0);
    }
    static const struct {
        const char *name;
        run_mode mode;
    } modes[] = {
        {"ws-echo", MODE_WS_ECHO},   {"ws-idle", MODE_WS_IDLE},           {"sio-echo", MODE_SIO_ECHO},
        {"sio-bcast", MODE_SIO_BCAST}, {"sio-handshake", MODE_SIO_HANDSHAKE}, {"sio-idle", MODE_SIO_IDLE},
        {"copilot", MODE_COPILOT},
    };
    size_t mode_index = 0;
    while (mode_index < sizeof(modes) / sizeof(modes[0]) && strcmp(argv[1], modes[mode_index].name) != 0) {
        mode_index++;
    }
    if (mode_index == sizeof(modes) / sizeof(modes[0])) {
        die("unknown mode \"%s\" (ws-echo, ws-idle, sio-echo, sio-bcast, sio-handshake, sio-idle or copilot)", argv[1]);
    }
    options->mode = modes[mode_index].mode;
    int socket_io = options->mode != MODE_WS_ECHO && options->mode != MODE_WS_IDLE;
    options->host = "127.0.0.1";
    options->port = 0;
    options->path = socket_io ? "/socket.io/?EIO=4&transport=websocket" : "/echo";
    switch (options->mode) {
    case MODE_WS_ECHO:
    case MODE_SIO_ECHO:
    case MODE_SIO_HANDSHAKE: options->connections = 100; break;
    case MODE_SIO_BCAST: options->connections = 1000; break;
    case MODE_WS_IDLE:
    case MODE_SIO_IDLE: options->connections = 10000; break;
    case MODE_COPILOT: options->connections = 2000; break;
    }
    options->inflight = options->mode == MODE_SIO_BCAST ? 8 : 10;
    options->size = 200;
    options->duration = 10;
    options->warmup = 2;
    options->hold = 300;
    options->connect_concurrency = 500;
    options->connect_timeout = 15;
    options->connect_phase_timeout = 120;
    /* Socket.IO messages cost the server far more than a compare costs us: check every one. */
    options->verify_every = socket_io ? 1 : 16;
    options->max_message = 1u << 20;
    options->server_cpu = -1;
    options->senders = 4;
    options->rate = 0;
    options->drain = 5;
    options->time_scale = 0.1;
    options->call_warmup = 30;
    options->call_interval = 30;
    options->segment_interval = 2;
    options->ramp = 5;
    options->llm_delay_ms = 300;
    options->end_calls = 1;
    if (options->mode == MODE_COPILOT) {
        options->duration = 60;
        options->warmup = -1; /* -1: derived from the ramp and the call timings below */
        options->drain = -1;
    }

    enum {
        OPT_HOST = 1000, OPT_PORT, OPT_PATH, OPT_CONNS, OPT_INFLIGHT, OPT_SIZE, OPT_DURATION, OPT_WARMUP, OPT_HOLD,
        OPT_TLS, OPT_TLS_CA, OPT_TLS_NAME, OPT_CONCURRENCY, OPT_CONNECT_TIMEOUT, OPT_PHASE_TIMEOUT, OPT_VERIFY,
        OPT_SERVER_PID, OPT_SERVER_CPU, OPT_ZERO_MASK, OPT_BINARY, OPT_MAX_MESSAGE, OPT_SENDERS, OPT_RATE, OPT_DRAIN,
        OPT_CLOSE, OPT_API_KEY, OPT_TIME_SCALE, OPT_CALL_WARMUP, OPT_CALL_INTERVAL, OPT_SEGMENT_INTERVAL, OPT_RAMP,
        OPT_LLM_DELAY, OPT_NO_END, OPT_HELP,
    };
    static const struct option long_options[] = {
        {"host", required_argument, NULL, OPT_HOST},
        {"port", required_argument, NULL, OPT_PORT},
        {"path", required_argument, NULL, OPT_PATH},
        {"conns", required_argument, NULL, OPT_CONNS},
        {"inflight", required_argument, NULL, OPT_INFLIGHT},
        {"size", required_argument, NULL, OPT_SIZE},
        {"duration", required_argument, NULL, OPT_DURATION},
        {"warmup", required_argument, NULL, OPT_WARMUP},
        {"hold", required_argument, NULL, OPT_HOLD},
        {"tls", no_argument, NULL, OPT_TLS},
        {"tls-ca", required_argument, NULL, OPT_TLS_CA},
        {"tls-name", required_argument, NULL, OPT_TLS_NAME},
        {"connect-concurrency", required_argument, NULL, OPT_CONCURRENCY},
        {"connect-timeout", required_argument, NULL, OPT_CONNECT_TIMEOUT},
        {"connect-phase-timeout", required_argument, NULL, OPT_PHASE_TIMEOUT},
        {"verify-every", required_argument, NULL, OPT_VERIFY},
        {"server-pid", required_argument, NULL, OPT_SERVER_PID},
        {"server-cpu", required_argument, NULL, OPT_SERVER_CPU},
        {"zero-mask", no_argument, NULL, OPT_ZERO_MASK},
        {"binary", no_argument, NULL, OPT_BINARY},
        {"max-message", required_argument, NULL, OPT_MAX_MESSAGE},
        {"senders", required_argument, NULL, OPT_SENDERS},
        {"rate", required_argument, NULL, OPT_RATE},
        {"drain", required_argument, NULL, OPT_DRAIN},
        {"concurrency", required_argument, NULL, OPT_CONNS},
        {"close", required_argument, NULL, OPT_CLOSE},
        {"api-key", required_argument, NULL, OPT_API_KEY},
        {"time-scale", required_argument, NULL, OPT_TIME_SCALE},
        {"call-warmup", required_argument, NULL, OPT_CALL_WARMUP},
        {"call-interval", required_argument, NULL, OPT_CALL_INTERVAL},
        {"segment-interval", required_argument, NULL, OPT_SEGMENT_INTERVAL},
        {"ramp", required_argument, NULL, OPT_RAMP},
        {"llm-delay-ms", required_argument, NULL, OPT_LLM_DELAY},
        {"no-end", no_argument, NULL, OPT_NO_END},
        {"help", no_argument, NULL, OPT_HELP},
        {NULL, 0, NULL, 0},
    };
    optind = 2;
    int option;
    while ((option = getopt_long(argc, argv, "", long_options, NULL)) != -1) {
        switch (option) {
        case OPT_HOST: options->host = optarg; break;
        case OPT_PORT: options->port = (int)parse_number(optarg, "port", 1, 65535); break;
        case OPT_PATH: options->path = optarg; break;
        case OPT_CONNS: options->connections = (uint32_t)parse_number(optarg, "conns", 1, 1000000); break;
        case OPT_INFLIGHT: options->inflight = (uint32_t)parse_number(optarg, "inflight", 1, 100000); break;
        case OPT_SIZE: options->size = (uint32_t)parse_number(optarg, "size", 0, 16 * 1024 * 1024); break;
        case OPT_DURATION: options->duration = parse_number(optarg, "duration", 0.001, 86400); break;
        case OPT_WARMUP: options->warmup = parse_number(optarg, "warmup", 0, 3600); break;
        case OPT_HOLD: options->hold = parse_number(optarg, "hold", 0, 86400); break;
        case OPT_TLS: options->tls = 1; break;
        case OPT_TLS_CA: options->tls_ca = optarg; break;
        case OPT_TLS_NAME: options->tls_name = optarg; break;
        case OPT_CONCURRENCY:
            options->connect_concurrency = (uint32_t)parse_number(optarg, "connect-concurrency", 1, 100000);
            break;
        case OPT_CONNECT_TIMEOUT: options->connect_timeout = parse_number(optarg, "connect-timeout", 0.01, 3600); break;
        case OPT_PHASE_TIMEOUT:
            options->connect_phase_timeout = parse_number(optarg, "connect-phase-timeout", 0.01, 86400);
            break;
        case OPT_VERIFY: options->verify_every = (uint32_t)parse_number(optarg, "verify-every", 0, 1e9); break;
        case OPT_SERVER_PID: options->server_pid = (int)parse_number(optarg, "server-pid", 1, INT_MAX); break;
        case OPT_SERVER_CPU: options->server_cpu = (int)parse_number(optarg, "server-cpu", 0, CPU_SETSIZE - 1); break;
        case OPT_ZERO_MASK: options->zero_mask = 1; break;
        case OPT_BINARY: options->binary = 1; break;
        case OPT_MAX_MESSAGE:
            options->max_message = (uint64_t)parse_number(optarg, "max-message", 125, 256.0 * 1024 * 1024);
            break;
        case OPT_SENDERS: options->senders = (uint32_t)parse_number(optarg, "senders", 1, 100000); break;
        case OPT_RATE: options->rate = parse_number(optarg, "rate", 0, 1e9); break;
        case OPT_DRAIN: options->drain = parse_number(optarg, "drain", 0, 3600); break;
        case OPT_CLOSE:
            if (strcmp(optarg, "graceful") != 0 && strcmp(optarg, "reset") != 0) {
                die("--close: expected graceful or reset, got \"%s\"", optarg);
            }
            options->close_reset = strcmp(optarg, "reset") == 0;
            break;
        case OPT_API_KEY: options->api_key = optarg; break;
        /* The bounds are the server's (COACHING_TIME_SCALE) and the protocol's (warmupSeconds, intervalSeconds). */
        case OPT_TIME_SCALE: options->time_scale = parse_number(optarg, "time-scale", 0.001, 1); break;
        case OPT_CALL_WARMUP: options->call_warmup = parse_whole(optarg, "call-warmup", 0, 3600); break;
        case OPT_CALL_INTERVAL: options->call_interval = parse_whole(optarg, "call-interval", 5, 600); break;
        case OPT_SEGMENT_INTERVAL:
            options->segment_interval = parse_number(optarg, "segment-interval", 0.05, 3600);
            break;
        case OPT_RAMP: options->ramp = parse_number(optarg, "ramp", 0, 3600); break;
        case OPT_LLM_DELAY: options->llm_delay_ms = parse_number(optarg, "llm-delay-ms", 0, 600000); break;
        case OPT_NO_END: options->end_calls = 0; break;
        case OPT_HELP: usage(stdout); exit(0);
        default: usage(stderr); exit(2);
        }
    }
    if (optind < argc) {
        die("unexpected argument \"%s\"", argv[optind]);
    }
    if (options->port == 0) {
        die("--port is required");
    }
    if (options->path[0] != '/' || strpbrk(options->path, " \r\n") != NULL || strlen(options->path) > 512) {
        die("--path must start with '/' and hold no spaces or line breaks");
    }
    if (options->tls_name == NULL) {
        options->tls_name = options->host;
    }
    if (options->size > options->max_message) {
        die("--size is above --max-message");
    }
    /* Socket.IO frames carry up to ~40 bytes of packet header around the payload. */
    if ((uint64_t)options->inflight * (WS_MAX_HEADER_LENGTH + 64 + (uint64_t)options->size) > MAX_OUTPUT_BUFFER) {
        die("--inflight x --size is above the %u-byte output budget per connection", MAX_OUTPUT_BUFFER);
    }
    if (options->mode == MODE_SIO_BCAST && options->senders > options->connections) {
        die("--senders is above --conns");
    }
    if (options->mode == MODE_SIO_HANDSHAKE) {
        /* Every slot is one handshake in progress, so the concurrency limit is the slot count. */
        options->connect_concurrency = options->connections;
    }
    if (options->mode == MODE_COPILOT) {
        /* Measure only once every call has started and had its first tick. */
        if (options->warmup < 0) {
            options->warmup = options->ramp + (options->call_warmup + options->call_interval) * options->time_scale + 1;
        }
        if (options->drain < 0) {
            options->drain = options->ramp + 15;
        }
    }
}

/* Raises the open-file limit to fit every connection plus a margin, or exits explaining why not. */
static void raise_file_limit(uint32_t connections) {
    rlim_t needed = (rlim_t)connections + 64;
    struct rlimit limit;
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0) {
        die("getrlimit: %s", strerror(errno));
    }
    if (limit.rlim_cur >= needed) {
        return;
    }
    if (limit.rlim_max < needed) {
        limit.rlim_max = needed; /* works as root; otherwise fails below with a clear message */
    }
    limit.rlim_cur = needed;
    if (setrlimit(RLIMIT_NOFILE, &limit) != 0) {
        die("need %llu open files for %u connections; raise `ulimit -n` (%s)", (unsigned long long)needed, connections,
            strerror(errno));
    }
}

/* Warns when the ephemeral port range cannot hold the connections (each needs a local port). */
static void check_port_range(uint32_t connections) {
    FILE *file = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
    if (file == NULL) {
        return;
    }
    unsigned low = 0;
    unsigned high = 0;
    if (fscanf(file, "%u %u", &low, &high) == 2 && high >= low && high - low + 1 < connections) {
        fprintf(stderr, "loadgen: warning: ephemeral port range %u-%u has fewer than %u ports\n", low, high,
                connections);
    }
    fclose(file);
}

static void on_alarm(int signal_number) {
    (void)signal_number;
    static const char message[] = "loadgen: hard time limit exceeded; exiting\n";
    ssize_t ignored = write(STDERR_FILENO, message, sizeof(message) - 1);
    (void)ignored;
    _exit(3);
}

static void set_up(loadgen *generator) {
    run_options *options = &generator->options;
    /* OpenSSL writes with write(2): a dead peer must not kill us with SIGPIPE. */
    signal(SIGPIPE, SIG_IGN);
    raise_file_limit(options->connections);
    check_port_range(options->connections);

    generator->address.sin_family = AF_INET;
    generator->address.sin_port = htons((uint16_t)options->port);
    if (inet_pton(AF_INET, options->host, &generator->address.sin_addr) != 1) {
        die("--host must be an IPv4 address, got \"%s\"", options->host);
    }
    snprintf(generator->host_header, sizeof(generator->host_header), "%s:%d", options->host, options->port);

    uint64_t seed = 0;
    if (getrandom(&seed, sizeof(seed), 0) != (ssize_t)sizeof(seed)) {
        seed = monotonic_ns() ^ ((uint64_t)getpid() << 32);
    }
    generator->random_state = seed;
    if (!options->zero_mask) {
        /* One key for the run, fixed so payloads can be masked once. A server cannot tell it from
         * per-frame keys and does the same unmasking work; zero is avoided so a server fast path
         * for an all-zero key cannot flatter the numbers. */
        do {
            uint64_t value = next_random(generator);
            memcpy(generator->mask, &value, 4);
        } while (generator->mask[0] == 0 && generator->mask[1] == 0 && generator->mask[2] == 0 &&
                 generator->mask[3] == 0);
    }

    if (options->tls) {
        char error[256];
        generator->tls_context =
            net_tls_client_context(options->tls_ca, is_idle_mode(options->mode), error, sizeof(error));
        if (generator->tls_context == NULL) {
            die("%s", error);
        }
    }

    generator->connections = calloc(options->connections, sizeof(connection));
    if (generator->connections == NULL) {
        die("out of memory for %u connections", options->connections);
    }
    /* Idle and handshake connections get small buffers (they grow on demand); echo ones are
     * sized for bursts, broadcast receivers for a few fan-outs. */
    uint32_t in_capacity = 4096u;
    uint32_t out_capacity = 1024u;
    if (options->mode == MODE_WS_ECHO || options->mode == MODE_SIO_ECHO) {
        in_capacity = 64u * 1024u;
        out_capacity = options->inflight * (WS_MAX_HEADER_LENGTH + 64u + options->size) + 1024u;
    } else if (options->mode == MODE_SIO_BCAST) {
        in_capacity = 16u * 1024u;
        out_capacity = options->inflight * (WS_MAX_HEADER_LENGTH + 64u + options->size) + 1024u;
    } else if (options->mode == MODE_COPILOT) {
        in_capacity = 16u * 1024u; /* a tip, its partials and an ack can arrive in one read */
        out_capacity = 4096u;
    }
    for (uint32_t index = 0; index < options->connections; index++) {
        connection *conn = &generator->connections[index];
        conn->index = index;
        conn->stream.fd = -1;
        conn->in = malloc(in_capacity);
        conn->out = malloc(out_capacity);
        if (conn->in == NULL || conn->out == NULL) {
            die("out of memory for connection buffers");
        }
        conn->in_capacity = in_capacity;
        conn->out_capacity = out_capacity;
    }

    generator->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    if (generator->epoll_fd < 0) {
        die("epoll_create1: %s", strerror(errno));
    }
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    sigprocmask(SIG_BLOCK, &signals, NULL);
    generator->signal_fd = signalfd(-1, &signals, SFD_NONBLOCK | SFD_CLOEXEC);
    if (generator->signal_fd < 0) {
        die("signalfd: %s", strerror(errno));
    }
    struct epoll_event event = {.events = EPOLLIN, .data.u64 = EVENT_SIGNAL};
    epoll_ctl(generator->epoll_fd, EPOLL_CTL_ADD, generator->signal_fd, &event);

    /* ws-idle holds until stdin closes when stdin is a pipe (the scripts' way of saying "done"). */
    struct stat stdin_status;
    if (is_idle_mode(options->mode) && fstat(STDIN_FILENO, &stdin_status) == 0 &&
        (S_ISFIFO(stdin_status.st_mode) || S_ISSOCK(stdin_status.st_mode))) {
        struct epoll_event stdin_event = {.events = EPOLLIN, .data.u64 = EVENT_STDIN};
        if (epoll_ctl(generator->epoll_fd, EPOLL_CTL_ADD, STDIN_FILENO, &stdin_event) == 0) {
            generator->watching_stdin = 1;
        }
    }

    double run_seconds = options->warmup + options->duration;
    switch (options->mode) {
    case MODE_WS_ECHO:
        generator->workload = &echo_workload;
        build_echo_template(generator);
        break;
    case MODE_WS_IDLE:
        generator->workload = &idle_workload;
        run_seconds = options->hold;
        break;
    case MODE_SIO_ECHO: generator->workload = &sio_echo_workload; break;
    case MODE_SIO_BCAST:
        generator->workload = &sio_bcast_workload;
        run_seconds += options->drain;
        break;
    case MODE_SIO_HANDSHAKE: generator->workload = &sio_handshake_workload; break;
    case MODE_SIO_IDLE:
        generator->workload = &sio_idle_workload;
        run_seconds = options->hold;
        break;
    case MODE_COPILOT:
        generator->workload = &copilot_workload;
        run_seconds += options->drain;
        break;
    }
    if (generator->workload->cycling) {
        generator->restart_queue = calloc(options->connections, sizeof(uint32_t));
        if (generator->restart_queue == NULL) {
            die("out of memory");
        }
    }
    if (options->mode == MODE_COPILOT) {
        copilot_set_up(generator);
    } else if (options->mode != MODE_WS_ECHO && options->mode != MODE_WS_IDLE) {
        sio_set_up(generator);
    }

    double limit_seconds = options->connect_phase_timeout + run_seconds + 10;
    generator->hard_deadline = monotonic_ns() + seconds_to_ns(limit_seconds);
    /* Last resort if the loop itself wedges (it should not): a few seconds after the hard deadline. */
    signal(SIGALRM, on_alarm);
    alarm((unsigned)limit_seconds + 15);
}

int main(int argc, char **argv) {
    static loadgen generator;
    parse_options(argc, argv, &generator.options);
    set_up(&generator);
    run(&generator);
    alarm(0);
    return generator.workload->report(&generator);
}
