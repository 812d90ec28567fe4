/*
 * loadgen.h - what the load generator's core (loadgen.c: connections, event loop, run control,
 * reporting helpers) shares with the workloads that run on top of the WebSocket layer.
 *
 * The WebSocket workloads (`ws-echo`, `ws-idle`) live in loadgen.c; the Socket.IO ones
 * (`sio-echo`, `sio-bcast`, `sio-handshake`, `sio-idle`) in workload_sio.c, over the pure
 * Engine.IO / Socket.IO codec in sio.c; the Earpiece app benchmark (`copilot`) in
 * workload_copilot.c. Everything here is used by the single loop thread only.
 */
#ifndef LOADGEN_LOADGEN_H
#define LOADGEN_LOADGEN_H

#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>

#include "hist.h"
#include "net.h"
#include "sio.h"
#include "ws.h"

/* ------------------------------------------------------------------------------------------ */
/* Options                                                                                    */

typedef enum {
    MODE_WS_ECHO,
    MODE_WS_IDLE,
    MODE_SIO_ECHO,
    MODE_SIO_BCAST,
    MODE_SIO_HANDSHAKE,
    MODE_SIO_IDLE,
    MODE_COPILOT,
} run_mode;

/* Command-line settings; read-only once parsed. */
typedef struct {
    run_mode mode;
    const char *host;
    int port;
    const char *path;
    uint32_t connections;
    uint32_t inflight;
    uint32_t size;
    double duration;
    double warmup;
    double hold;
    int tls;
    const char *tls_ca;
    const char *tls_name;
    uint32_t connect_concurrency;
    double connect_timeout;
    double connect_phase_timeout;
    uint32_t verify_every;
    int server_pid;
    int server_cpu;
    int zero_mask;
    int binary;
    uint64_t max_message;
    /* sio-bcast: how many of the connections send, their total rate cap (0: only the in-flight
     * window limits them), and how long to wait after the window for the last deliveries. */
    uint32_t senders;
    double rate;
    double drain;
    /* sio-handshake: end each connection with a TCP reset instead of the WebSocket closing handshake. */
    int close_reset;
    /* copilot: the API key sent as auth {"apiKey"} (NULL: no auth); the server's COACHING_TIME_SCALE;
     * the warmupSeconds and intervalSeconds each call asks for (call time, before scaling); real
     * seconds between a call's TRANSCRIPTs; seconds over which the calls start (and end); the fake
     * LLM's fixed delay; whether every call sends END_CONVERSATION after the window. */
    const char *api_key;
    double time_scale;
    uint32_t call_warmup;
    uint32_t call_interval;
    double segment_interval;
    double ramp;
    double llm_delay_ms;
    int end_calls;
} run_options;

/* ------------------------------------------------------------------------------------------ */
/* Connections                                                                                */

typedef enum {
    CONN_UNSTARTED = 0,
    CONN_CONNECTING,    /* TCP connect in progress */
    CONN_TLS_HANDSHAKE, /* SSL_connect in progress */
    CONN_WS_HANDSHAKE,  /* Upgrade request sent, waiting for 101 */
    CONN_SESSION,       /* WebSocket open; the workload's own handshake (Engine.IO open, Socket.IO connect) runs */
    CONN_OPEN,
    CONN_CLOSED,
} connection_state;

/* Error categories, each counted and reported separately. */
typedef enum {
    ERROR_CONNECT,   /* TCP connect failed */
    ERROR_TLS,       /* TLS handshake failed */
    ERROR_HANDSHAKE, /* bad or missing 101 response, or a bad Engine.IO / Socket.IO handshake */
    ERROR_TIMEOUT,   /* handshake not done in time */
    ERROR_PROTOCOL,  /* malformed frame or packet from the server */
    ERROR_VERIFY,    /* an echo, ack or delivery came back wrong, out of order, or never */
    ERROR_IO,        /* an open connection was reset, closed or failed */
    ERROR_STALL,     /* a message still unanswered after STALL_LIMIT_NS at the end */
    ERROR_CATEGORY_COUNT,
} error_category;

/* An echo older than this at the end of the run means the server stalled, not that it is slow:
 * even a 10k msgs/s server answers 1,000 outstanding messages in 100 ms. */
#define STALL_LIMIT_NS 1000000000ull

/* Output budget per connection: far above what echo or pongs need, so hitting it means a stuck peer. */
#define MAX_OUTPUT_BUFFER (4u * 1024u * 1024u)

/*
 * One client connection. Owned by the single loop thread. Buffers are [0, length) with
 * `out_offset` bytes already written; both are compacted in place, never reallocated while a
 * TLS write is pending a retry (the moving-buffer mode makes compaction legal).
 */
typedef struct connection {
    net_stream stream;
    uint64_t started_at;
    uint8_t *in;
    uint8_t *out;
    uint32_t in_length;
    uint32_t in_capacity;
    uint32_t out_offset;
    uint32_t out_length;
    uint32_t out_capacity;
    uint32_t index;
    uint8_t state;
    uint8_t watching_write;
    uint8_t read_wants_write;
    uint8_t in_fragmented_message;
    /* We sent a close frame: the server's close frame and EOF are now expected, not errors. */
    uint8_t closing;
    /* Set by fail() just before closing, so a cycling slot waits a little before retrying. */
    uint8_t failing;
    /* Close with a reset (SO_LINGER 0) rather than a FIN. */
    uint8_t abort_on_close;
    /* Workload-defined handshake / session state (sio: waiting for open, for CONNECT, ready). */
    uint8_t session_state;
    /* A fragmented message being reassembled (rare: our peers send small whole frames). */
    uint8_t *message;
    uint32_t message_length;
    uint32_t message_capacity;
    uint8_t message_opcode;
    ws_handshake handshake;
    /* When the close frame was queued (closing), or when a closed cycling slot may reconnect. */
    uint64_t closing_since;
    uint64_t restart_at;
    /* ws-echo: sequence numbers embedded in payloads, the in-flight count, and a ring of send
     * times (echoes come back in order on one connection, so FIFO pairs them up). The sio
     * workloads use `inflight`, `to_send` and `next_send_sequence` with the same meaning. */
    uint64_t next_send_sequence;
    uint64_t next_receive_sequence;
    uint64_t *send_times;
    uint32_t send_head;
    uint32_t inflight;
    uint32_t to_send;
    /* Per-connection workload state (sio-echo: its ack slots); freed with free() on close. */
    void *workload_data;
} connection;

typedef enum { PHASE_CONNECT, PHASE_WARMUP, PHASE_MEASURE, PHASE_DRAIN, PHASE_HOLD, PHASE_DONE } run_phase;

/* A snapshot of everything measured at the start and end of the measurement window. */
typedef struct {
    uint64_t time;
    uint64_t received;
    double cpu_seconds;
    uint64_t core_busy_ticks;
    uint64_t core_total_ticks;
    uint64_t server_core_busy_ticks;
    uint64_t server_core_total_ticks;
    double server_cpu_seconds;
} snapshot;

typedef struct loadgen loadgen;

/*
 * What runs on top of the WebSocket layer. Hooks returning int give 0, or -1 if they closed the
 * connection. Optional hooks may be NULL.
 */
typedef struct {
    const char *name;
    /* The workload has its own handshake over WebSocket messages: after the 101 a connection stays
     * pending (CONN_SESSION, under the handshake timeout and concurrency limit) until the workload
     * calls connection_established(). */
    int session_handshake;
    /* Connections are slots that reconnect after every close (sio-handshake): no connect phase,
     * no "all connections lost" stop, closed slots restart during warm-up and measurement. */
    int cycling;
    int (*on_open)(loadgen *generator, connection *conn);
    int (*on_message)(loadgen *generator, connection *conn, int opcode, const uint8_t *payload, size_t length);
    /* Optional: before each connection's output is flushed (batched sends). */
    int (*before_flush)(loadgen *generator, connection *conn);
    /* Optional: once per loop iteration after the events (senders not driven by their own input). */
    void (*on_tick)(loadgen *generator);
    /* Optional: when (monotonic ns) the loop must come round next for a timed send; 0 for no need. */
    uint64_t (*next_wakeup)(const loadgen *generator);
    /* Optional: when the measured window ends; nonzero while deliveries are still expected, so
     * the run drains (up to --drain seconds) before it finishes. Called again on every iteration. */
    int (*still_draining)(loadgen *generator);
    /* Optional: for each open connection just before the final close (stall and loss checks). */
    void (*on_finish)(loadgen *generator, connection *conn);
    /* Prints the key=value result line; returns the exit status. */
    int (*report)(loadgen *generator);
} workload;

/* The whole run's state. One instance, used only by the loop thread. */
struct loadgen {
    run_options options;
    const workload *workload;
    int epoll_fd;
    int signal_fd;
    int watching_stdin;
    struct sockaddr_in address;
    char host_header[320];
    SSL_CTX *tls_context;
    connection *connections;
    uint64_t now;
    uint64_t random_state;
    uint8_t mask[4];

    run_phase phase;
    uint32_t next_to_start;
    uint32_t oldest_pending;
    uint32_t pending_handshakes;
    uint32_t established;
    uint32_t open_count;
    uint32_t failed;
    uint32_t open_at_finish;
    uint64_t oldest_unanswered;
    int stop_requested;
    const char *stop_reason;

    uint64_t run_started_at;
    uint64_t connect_phase_ended_at;
    uint64_t phase_deadline;
    uint64_t hard_deadline;
    uint64_t last_timeout_scan;
    uint64_t window_ended_at;

    /* Cycling workloads: closed slots waiting to reconnect, a FIFO ring of connection indices. */
    uint32_t *restart_queue;
    uint32_t restart_head;
    uint32_t restart_count;

    /* ws-echo message template: header + pre-masked payload, and the plain payload to verify against. */
    uint8_t *frame_template;
    uint8_t *payload_plain;
    uint32_t frame_length;
    uint32_t payload_offset;
    uint32_t sequence_digits;

    uint64_t sent;
    uint64_t received;
    uint64_t read_calls;
    uint64_t write_calls;
    uint64_t pings;
    uint64_t server_closes;
    /* Engine.IO pings from the server (each answered with a pong). */
    uint64_t engine_pings;
    /* Cycling slots whose server did not close the TCP connection within a second of our close frame. */
    uint64_t close_timeouts;
    uint64_t errors[ERROR_CATEGORY_COUNT];
    uint32_t errors_printed;
    int measuring;
    snapshot window_start;
    snapshot window_end;
    histogram latency;

    /* Whole-run state of the current workload (sio-echo / sio-bcast templates and tallies). */
    void *workload_state;
};

/* ------------------------------------------------------------------------------------------ */
/* Core services for workloads (loadgen.c)                                                    */

uint64_t monotonic_ns(void);
uint64_t seconds_to_ns(double seconds);

/* Prints "loadgen: ..." to stderr and exits with status 2 (bad usage or set-up failure). */
void die(const char *format, ...) __attribute__((format(printf, 1, 2), noreturn));

/* Counts an error; prints the first few so a broken run explains itself without flooding. */
void record_error(loadgen *generator, connection *conn, error_category category, const char *format, ...)
    __attribute__((format(printf, 4, 5)));

/* Records an error and closes. Always returns -1, so callers can `return fail(...)`. */
int fail(loadgen *generator, connection *conn, error_category category, const char *format, ...)
    __attribute__((format(printf, 4, 5)));

uint64_t total_errors(const loadgen *generator);

/* Closes the connection (no error recorded) and updates the counters for its state. */
void close_connection(loadgen *generator, connection *conn);

/* Space for `length` more output bytes, compacting or growing the buffer; NULL if over budget. */
uint8_t *reserve_output(connection *conn, uint32_t length);

/* Writes as much pending output as the socket takes. Returns 0, or -1 if the connection failed. */
int flush_output(loadgen *generator, connection *conn);

/* Queues one masked frame (any opcode). Returns 0, or -1 if the connection failed. */
int queue_frame(loadgen *generator, connection *conn, int opcode, const uint8_t *payload, size_t length);

/* For session-handshake workloads: the connection's own handshake is done; it now counts as open. */
void connection_established(loadgen *generator, connection *conn);

/* Starts the WebSocket closing handshake: a close frame (1000) now, EOF expected from the server. */
int begin_close(loadgen *generator, connection *conn);

/* Closes at once with a TCP reset (no closing handshake, no TIME_WAIT on either side). Returns -1. */
int abort_connection(loadgen *generator, connection *conn);

/* Reporting pieces shared by every mode's result line. */
void print_window_figures(const loadgen *generator);
void print_errors(const loadgen *generator);
const char *run_status(const loadgen *generator, int complete);
/* Whether the measured window ran to its end (stop=complete). */
int run_completed(const loadgen *generator);
/* The idle modes' result line (ws-idle, sio-idle). */
int report_idle(loadgen *generator);

/* The Socket.IO workloads (workload_sio.c); `sio_set_up` builds their templates once options are known. */
extern const workload sio_echo_workload;
extern const workload sio_bcast_workload;
extern const workload sio_handshake_workload;
extern const workload sio_idle_workload;
void sio_set_up(loadgen *generator);

/* What sio_session_on_message made of one WebSocket message. */
typedef enum {
    SIO_SESSION_FAILED = -1, /* the connection failed (already recorded and closed) */
    SIO_SESSION_HANDLED = 0, /* nothing for the workload: a ping answered, a handshake step, a noop */
    SIO_SESSION_JOINED,      /* the CONNECT reply arrived: the connection is now established */
    SIO_SESSION_PACKET,      /* a Socket.IO packet for the root namespace (not DISCONNECT) for the workload */
} sio_session_result;

/* The Socket.IO session under every Socket.IO workload (workload_sio.c): the `on_open` hook that
 * starts the handshake, usable as it is or called from a workload's own. */
int sio_session_on_open(loadgen *generator, connection *conn);

/*
 * The session part of one WebSocket message: answers Engine.IO pings; runs the handshake (waits for
 * the open packet, sends `connect_packet`, e.g. `40` or `40{"apiKey":...}`, waits for the CONNECT
 * reply and calls connection_established()); fails the connection on a binary or malformed message,
 * a refused or wrong handshake, DISCONNECT, an Engine.IO close or a packet for another namespace.
 */
sio_session_result sio_session_on_message(loadgen *generator, connection *conn, int opcode, const uint8_t *payload,
                                          size_t length, const char *connect_packet, sio_packet *packet);

/* The Earpiece app benchmark (workload_copilot.c); `copilot_set_up` once options are known. */
extern const workload copilot_workload;
void copilot_set_up(loadgen *generator);

#endif
