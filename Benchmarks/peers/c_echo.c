/*
 * c_echo.c - a minimal single-threaded epoll WebSocket echo server in C, for calibration.
 *
 * It does as little as an echo server can (one read, unmask straight into the output buffer,
 * one write per wake-up), so a run against it shows the load generator's own ceiling: if
 * loadgen saturates its core here, it cannot measure a faster server.
 *
 * Serves /echo (WebSocket echo) and GET /health, plain or TLS (--tls-cert/--tls-key).
 * Test knobs: --bad-accept (wrong Sec-WebSocket-Accept), --corrupt-every N (alter one byte
 * of every Nth echoed message).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "ws.h"

#define INPUT_CAPACITY (64u * 1024u)
#define OUTPUT_LIMIT (4u * 1024u * 1024u)
#define MAX_FRAME (INPUT_CAPACITY - WS_MAX_HEADER_LENGTH)

typedef enum { PEER_TLS_HANDSHAKE, PEER_HTTP, PEER_WEBSOCKET, PEER_CLOSING } peer_state;

/* One accepted connection; owned by the loop thread. */
typedef struct {
    int fd;
    SSL *ssl;
    peer_state state;
    int watching_write;
    uint8_t in[INPUT_CAPACITY];
    uint32_t in_length;
    uint8_t *out;
    uint32_t out_offset;
    uint32_t out_length;
    uint32_t out_capacity;
} peer;

static int bad_accept;
static unsigned long corrupt_every;
static unsigned long echoed;
static int epoll_fd;
static SSL_CTX *tls_context;

static void close_peer(peer *connection) {
    if (connection->ssl) {
        SSL_free(connection->ssl);
    }
    close(connection->fd);
    free(connection->out);
    free(connection);
}

static uint8_t *reserve(peer *connection, uint32_t length) {
    if (connection->out_capacity - connection->out_length >= length) {
        return connection->out + connection->out_length;
    }
    if (connection->out_offset > 0) {
        memmove(connection->out, connection->out + connection->out_offset,
                connection->out_length - connection->out_offset);
        connection->out_length -= connection->out_offset;
        connection->out_offset = 0;
    }
    if (connection->out_capacity - connection->out_length >= length) {
        return connection->out + connection->out_length;
    }
    uint64_t wanted = (uint64_t)connection->out_length + length;
    if (wanted > OUTPUT_LIMIT) {
        return NULL;
    }
    uint32_t capacity = connection->out_capacity ? connection->out_capacity : 4096;
    while (capacity < wanted) {
        capacity *= 2;
    }
    uint8_t *grown = realloc(connection->out, capacity);
    if (grown == NULL) {
        return NULL;
    }
    connection->out = grown;
    connection->out_capacity = capacity;
    return connection->out + connection->out_length;
}

static void watch(peer *connection, int want_write) {
    if (connection->watching_write == want_write) {
        return;
    }
    struct epoll_event event = {.events = EPOLLIN | (want_write ? EPOLLOUT : 0), .data.ptr = connection};
    epoll_ctl(epoll_fd, EPOLL_CTL_MOD, connection->fd, &event);
    connection->watching_write = want_write;
}

/* Returns 0, or -1 if the connection must close. */
static int flush(peer *connection) {
    while (connection->out_offset < connection->out_length) {
        const uint8_t *data = connection->out + connection->out_offset;
        size_t length = connection->out_length - connection->out_offset;
        ssize_t written;
        if (connection->ssl) {
            size_t count = 0;
            ERR_clear_error();
            if (SSL_write_ex(connection->ssl, data, length, &count) == 1) {
                written = (ssize_t)count;
            } else {
                int code = SSL_get_error(connection->ssl, 0);
                if (code == SSL_ERROR_WANT_WRITE || code == SSL_ERROR_WANT_READ) {
                    watch(connection, 1);
                    return 0;
                }
                return -1;
            }
        } else {
            written = send(connection->fd, data, length, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (written < 0) {
                if (errno == EAGAIN || errno == EINTR) {
                    watch(connection, 1);
                    return 0;
                }
                return -1;
            }
        }
        connection->out_offset += (uint32_t)written;
    }
    connection->out_offset = connection->out_length = 0;
    watch(connection, 0);
    return connection->state == PEER_CLOSING ? -1 : 0;
}

static int append_text(peer *connection, const char *text) {
    size_t length = strlen(text);
    uint8_t *destination = reserve(connection, (uint32_t)length);
    if (destination == NULL) {
        return -1;
    }
    memcpy(destination, text, length);
    connection->out_length += (uint32_t)length;
    return 0;
}

/* Finds `name: value` in a request head (case-insensitive name); copies the trimmed value. */
static int find_header(const uint8_t *head, size_t length, const char *name, char *value, size_t capacity) {
    size_t name_length = strlen(name);
    for (size_t position = 0; position + name_length + 1 < length; position++) {
        if ((position == 0 || head[position - 1] == '\n') && strncasecmp((const char *)head + position, name, name_length) == 0 &&
            head[position + name_length] == ':') {
            size_t start = position + name_length + 1;
            while (start < length && head[start] == ' ') {
                start++;
            }
            size_t end = start;
            while (end < length && head[end] != '\r') {
                end++;
            }
            if (end - start >= capacity) {
                return -1;
            }
            memcpy(value, head + start, end - start);
            value[end - start] = '\0';
            return 0;
        }
    }
    return -1;
}

static int handle_http(peer *connection) {
    size_t head_end = 0;
    for (size_t index = 3; index < connection->in_length; index++) {
        if (memcmp(connection->in + index - 3, "\r\n\r\n", 4) == 0) {
            head_end = index + 1;
            break;
        }
    }
    if (head_end == 0) {
        return connection->in_length >= 8192 ? -1 : 0;
    }
    const char *head = (const char *)connection->in;
    if (strncmp(head, "GET /health ", 12) == 0) {
        connection->state = PEER_CLOSING;
        return append_text(connection, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n");
    }
    char key[64];
    if (strncmp(head, "GET /echo ", 10) != 0 || find_header(connection->in, head_end, "Sec-WebSocket-Key", key, sizeof(key)) != 0) {
        connection->state = PEER_CLOSING;
        return append_text(connection, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    }
    char accept[WS_ACCEPT_SIZE];
    if (ws_compute_accept(accept, key, strlen(key)) != 0) {
        return -1;
    }
    if (bad_accept) {
        accept[0] = accept[0] == 'A' ? 'B' : 'A';
    }
    char response[256];
    snprintf(response, sizeof(response),
             "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
             "Sec-WebSocket-Accept: %s\r\n\r\n",
             accept);
    memmove(connection->in, connection->in + head_end, connection->in_length - head_end);
    connection->in_length -= (uint32_t)head_end;
    connection->state = PEER_WEBSOCKET;
    return append_text(connection, response);
}

/* Echoes every complete frame: header rewritten unmasked, payload unmasked into the output. */
static int handle_frames(peer *connection) {
    size_t position = 0;
    while (position < connection->in_length) {
        ws_frame_header header;
        ws_frame_result result =
            ws_parse_frame_header(connection->in + position, connection->in_length - position, MAX_FRAME, 1, &header);
        if (result == WS_FRAME_INCOMPLETE) {
            break;
        }
        if (result != WS_FRAME_OK) {
            return -1;
        }
        size_t frame_length = header.header_length + (size_t)header.payload_length;
        if (frame_length > connection->in_length - position) {
            break;
        }
        const uint8_t *payload = connection->in + position + header.header_length;
        size_t length = (size_t)header.payload_length;
        int opcode = header.opcode;
        if (opcode == WS_OPCODE_PONG) {
            position += frame_length;
            continue;
        }
        if (opcode == WS_OPCODE_PING) {
            opcode = WS_OPCODE_PONG;
        } else if (opcode == WS_OPCODE_CLOSE) {
            connection->state = PEER_CLOSING;
        }
        uint8_t *destination = reserve(connection, (uint32_t)(WS_MAX_HEADER_LENGTH + length));
        if (destination == NULL) {
            return -1;
        }
        size_t out_header = ws_write_frame_header(destination, header.fin, opcode, length, NULL);
        ws_copy_masked(destination + out_header, payload, length, header.mask, 0);
        if (opcode <= WS_OPCODE_BINARY && header.fin && corrupt_every && ++echoed % corrupt_every == 0 && length > 0) {
            destination[out_header + length - 1] ^= 0x01;
        }
        connection->out_length += (uint32_t)(out_header + length);
        position += frame_length;
        if (connection->state == PEER_CLOSING) {
            break;
        }
    }
    memmove(connection->in, connection->in + position, connection->in_length - position);
    connection->in_length -= (uint32_t)position;
    return 0;
}

/* Reads everything available (TLS: until WANT_READ), handling input as it arrives. */
static int handle_readable(peer *connection) {
    for (;;) {
        size_t space = INPUT_CAPACITY - connection->in_length;
        if (space == 0) {
            return -1; /* a frame larger than the buffer: not something our benchmark sends */
        }
        ssize_t count;
        if (connection->ssl) {
            size_t read_count = 0;
            ERR_clear_error();
            if (SSL_read_ex(connection->ssl, connection->in + connection->in_length, space, &read_count) == 1) {
                count = (ssize_t)read_count;
            } else {
                int code = SSL_get_error(connection->ssl, 0);
                if (code == SSL_ERROR_WANT_READ) {
                    return 0;
                }
                if (code == SSL_ERROR_WANT_WRITE) {
                    watch(connection, 1);
                    return 0;
                }
                return -1;
            }
        } else {
            count = recv(connection->fd, connection->in + connection->in_length, space, MSG_DONTWAIT);
            if (count == 0) {
                return -1;
            }
            if (count < 0) {
                return (errno == EAGAIN || errno == EINTR) ? 0 : -1;
            }
        }
        connection->in_length += (uint32_t)count;
        if (connection->state == PEER_HTTP && handle_http(connection) != 0) {
            return -1;
        }
        if (connection->state == PEER_WEBSOCKET && handle_frames(connection) != 0) {
            return -1;
        }
        if (connection->state == PEER_CLOSING) {
            return 0;
        }
        /* Short read: drained, unless OpenSSL still holds bytes epoll cannot report. */
        if ((size_t)count < space && (!connection->ssl || !SSL_has_pending(connection->ssl))) {
            return 0;
        }
    }
}

static void handle_event(peer *connection, uint32_t events) {
    if (connection->state == PEER_TLS_HANDSHAKE) {
        ERR_clear_error();
        int result = SSL_accept(connection->ssl);
        if (result == 1) {
            connection->state = PEER_HTTP;
            watch(connection, 0);
        } else {
            int code = SSL_get_error(connection->ssl, result);
            if (code == SSL_ERROR_WANT_READ) {
                watch(connection, 0);
            } else if (code == SSL_ERROR_WANT_WRITE) {
                watch(connection, 1);
            } else {
                close_peer(connection);
            }
            return;
        }
    }
    if ((events & (EPOLLIN | EPOLLERR | EPOLLHUP)) || connection->ssl) {
        if (handle_readable(connection) != 0) {
            close_peer(connection);
            return;
        }
    }
    if (connection->out_offset < connection->out_length || connection->state == PEER_CLOSING) {
        if (flush(connection) != 0) {
            close_peer(connection);
        }
    }
}

int main(int argc, char **argv) {
    int port = 0;
    const char *certificate = NULL;
    const char *key = NULL;
    for (int index = 1; index < argc; index++) {
        if (strcmp(argv[index], "--port") == 0 && index + 1 < argc) {
            port = atoi(argv[++index]);
        } else if (strcmp(argv[index], "--tls-cert") == 0 && index + 1 < argc) {
            certificate = argv[++index];
        } else if (strcmp(argv[index], "--tls-key") == 0 && index + 1 < argc) {
            key = argv[++index];
        } else if (strcmp(argv[index], "--bad-accept") == 0) {
            bad_accept = 1;
        } else if (strcmp(argv[index], "--corrupt-every") == 0 && index + 1 < argc) {
            corrupt_every = strtoul(argv[++index], NULL, 10);
        } else {
            fprintf(stderr,
                    "usage: c_echo --port N [--tls-cert F --tls-key K] [--bad-accept] [--corrupt-every N]\n");
            return 2;
        }
    }
    if (port <= 0 || port > 65535 || (certificate == NULL) != (key == NULL)) {
        fprintf(stderr, "c_echo: --port is required; --tls-cert and --tls-key go together\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    struct rlimit limit;
    if (getrlimit(RLIMIT_NOFILE, &limit) == 0) {
        limit.rlim_cur = limit.rlim_max;
        setrlimit(RLIMIT_NOFILE, &limit);
    }
    if (certificate) {
        tls_context = SSL_CTX_new(TLS_server_method());
        if (tls_context == NULL || SSL_CTX_use_certificate_chain_file(tls_context, certificate) != 1 ||
            SSL_CTX_use_PrivateKey_file(tls_context, key, SSL_FILETYPE_PEM) != 1) {
            fprintf(stderr, "c_echo: cannot load %s / %s\n", certificate, key);
            return 2;
        }
        SSL_CTX_set_mode(tls_context, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                                          SSL_MODE_RELEASE_BUFFERS);
    }
    int listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(listener, (struct sockaddr *)&address, sizeof(address)) != 0 || listen(listener, 4096) != 0) {
        fprintf(stderr, "c_echo: cannot listen on port %d: %s\n", port, strerror(errno));
        return 1;
    }
    epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event listen_event = {.events = EPOLLIN, .data.ptr = NULL};
    epoll_ctl(epoll_fd, EPOLL_CTL_ADD, listener, &listen_event);
    fprintf(stderr, "c_echo: listening on 127.0.0.1:%d%s\n", port, certificate ? " (TLS)" : "");
    struct epoll_event events[512];
    for (;;) {
        int count = epoll_wait(epoll_fd, events, 512, -1);
        for (int index = 0; index < count; index++) {
            peer *connection = events[index].data.ptr;
            if (connection != NULL) {
                handle_event(connection, events[index].events);
                continue;
            }
            for (;;) {
                int fd = accept4(listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                if (fd < 0) {
                    break;
                }
                setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
                peer *accepted = calloc(1, sizeof(peer));
                if (accepted == NULL) {
                    close(fd);
                    continue;
                }
                accepted->fd = fd;
                accepted->state = tls_context ? PEER_TLS_HANDSHAKE : PEER_HTTP;
                if (tls_context) {
                    accepted->ssl = SSL_new(tls_context);
                    SSL_set_fd(accepted->ssl, fd);
                    SSL_set_accept_state(accepted->ssl);
                }
                struct epoll_event event = {.events = EPOLLIN, .data.ptr = accepted};
                epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &event);
            }
        }
    }
}
