/*
 * net.h - the transport layer of the load generator: non-blocking TCP, optionally
 * wrapped in OpenSSL, with one result enum for both so callers never branch on TLS.
 */
#ifndef LOADGEN_NET_H
#define LOADGEN_NET_H

#include <netinet/in.h>
#include <stddef.h>

#include <openssl/ssl.h>

/* Outcome of one transport operation. Would-block is a result, not an error. */
typedef enum {
    NET_OK = 0,
    NET_WANT_READ = 1,  /* wait for EPOLLIN, then retry */
    NET_WANT_WRITE = 2, /* wait for EPOLLOUT, then retry */
    NET_EOF = 3,        /* orderly close by the peer */
    NET_ERROR = 4,      /* reset, TLS alert, ...: see net_stream.last_error */
} net_result;

/* One client connection's transport. `ssl` is NULL for plain TCP. */
typedef struct {
    int fd;
    SSL *ssl;
    /* The last NET_ERROR's cause, for reports: an errno, or an OpenSSL error code if `last_error_is_tls`. */
    unsigned long last_error;
    int last_error_is_tls;
} net_stream;

/*
 * Starts a non-blocking connect to `address`. Sets TCP_NODELAY (every benchmark message is
 * latency-bound) and returns the fd, or -1 with errno set.
 */
int net_connect_start(const struct sockaddr_in *address);

/* After EPOLLOUT on a connecting fd: 0 if connected, else the connect errno. */
int net_connect_result(int fd);

/*
 * A client TLS context. With `ca_file`, the server's certificate must chain to it and match
 * `verify_host` (an IP literal or DNS name); without, verification is off (benchmarks against a
 * throwaway certificate). `low_memory` releases idle buffers (many idle connections);
 * otherwise reads ahead 64 KiB at a time (fewer syscalls for throughput runs).
 * Returns NULL and writes a reason into `error` on failure.
 */
SSL_CTX *net_tls_client_context(const char *ca_file, int low_memory, char *error, size_t error_capacity);

/* Wraps a connected fd in a client SSL. Returns 0, or -1 (out of memory or bad host). */
int net_tls_attach(net_stream *stream, SSL_CTX *context, const char *verify_host);

/* Drives SSL_connect: NET_OK when done, NET_WANT_* to wait, NET_ERROR on failure. */
net_result net_tls_handshake(net_stream *stream);

/* Reads up to `capacity` bytes; on NET_OK `*count` > 0. */
net_result net_read(net_stream *stream, void *buffer, size_t capacity, size_t *count);

/* Writes up to `length` bytes; on NET_OK `*count` > 0 (may be short). */
net_result net_write(net_stream *stream, const void *buffer, size_t length, size_t *count);

/* Frees the SSL (without a close_notify: the benchmark is over) and closes the fd. */
void net_close(net_stream *stream);

/* Like net_close, but with SO_LINGER 0: the kernel sends a reset, so neither side keeps a TIME_WAIT. */
void net_abort(net_stream *stream);

/* Text for `stream->last_error`, into `out`. */
void net_error_string(const net_stream *stream, char *out, size_t capacity);

#endif
