/*
 * net.c - non-blocking TCP and OpenSSL client transport (see net.h).
 */
#define _GNU_SOURCE
#include "net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

int net_connect_start(const struct sockaddr_in *address) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return -1;
    }
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    int result;
    do {
        result = connect(fd, (const struct sockaddr *)address, sizeof(*address));
    } while (result < 0 && errno == EINTR);
    if (result < 0 && errno != EINPROGRESS) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

int net_connect_result(int fd) {
    int error = 0;
    socklen_t length = sizeof(error);
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) < 0) {
        return errno;
    }
    return error;
}

SSL_CTX *net_tls_client_context(const char *ca_file, int low_memory, char *error, size_t error_capacity) {
    SSL_CTX *context = SSL_CTX_new(TLS_client_method());
    if (context == NULL) {
        snprintf(error, error_capacity, "SSL_CTX_new failed");
        return NULL;
    }
    SSL_CTX_set_min_proto_version(context, TLS1_2_VERSION);
    /* Partial writes let one SSL_write hand over what fits; the moving buffer lets us compact the
     * output buffer between a WANT_WRITE and its retry (the bytes stay the same). */
    long mode = SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER;
    if (low_memory) {
        mode |= SSL_MODE_RELEASE_BUFFERS;
    } else {
        /* Read several records per read(2): the echo stream is many small records. */
        SSL_CTX_set_read_ahead(context, 1);
        SSL_CTX_set_default_read_buffer_len(context, 64 * 1024);
    }
    SSL_CTX_set_mode(context, mode);
    if (ca_file != NULL) {
        if (SSL_CTX_load_verify_locations(context, ca_file, NULL) != 1) {
            snprintf(error, error_capacity, "cannot load CA file %s", ca_file);
            SSL_CTX_free(context);
            return NULL;
        }
        SSL_CTX_set_verify(context, SSL_VERIFY_PEER, NULL);
    } else {
        SSL_CTX_set_verify(context, SSL_VERIFY_NONE, NULL);
    }
    return context;
}

/* True if `host` is an IPv4 or IPv6 literal: those are checked as IP SANs and never sent as SNI. */
static int is_ip_literal(const char *host) {
    struct in6_addr scratch;
    return inet_pton(AF_INET, host, &scratch) == 1 || inet_pton(AF_INET6, host, &scratch) == 1;
}

int net_tls_attach(net_stream *stream, SSL_CTX *context, const char *verify_host) {
    SSL *ssl = SSL_new(context);
    if (ssl == NULL) {
        return -1;
    }
    if (SSL_set_fd(ssl, stream->fd) != 1) {
        SSL_free(ssl);
        return -1;
    }
    if (verify_host != NULL) {
        if (SSL_get_verify_mode(ssl) & SSL_VERIFY_PEER) {
            /* SSL_set1_host accepts IP literals too and checks them against IP SANs. */
            if (SSL_set1_host(ssl, verify_host) != 1) {
                SSL_free(ssl);
                return -1;
            }
        }
        if (!is_ip_literal(verify_host)) {
            (void)SSL_set_tlsext_host_name(ssl, verify_host);
        }
    }
    SSL_set_connect_state(ssl);
    stream->ssl = ssl;
    return 0;
}

/* Maps an SSL_* call's failure to a result, recording the cause. */
static net_result map_ssl_failure(net_stream *stream, int call_result) {
    int code = SSL_get_error(stream->ssl, call_result);
    switch (code) {
    case SSL_ERROR_WANT_READ:
        return NET_WANT_READ;
    case SSL_ERROR_WANT_WRITE:
        return NET_WANT_WRITE;
    case SSL_ERROR_ZERO_RETURN:
        ERR_clear_error();
        return NET_EOF;
    case SSL_ERROR_SYSCALL: {
        unsigned long queued = ERR_get_error();
        if (queued != 0) {
            stream->last_error = queued;
            stream->last_error_is_tls = 1;
            ERR_clear_error();
            return NET_ERROR;
        }
        if (errno == 0) {
            return NET_EOF; /* peer closed without close_notify */
        }
        stream->last_error = (unsigned long)errno;
        stream->last_error_is_tls = 0;
        return NET_ERROR;
    }
    default: {
        unsigned long queued = ERR_get_error();
        /* OpenSSL 3 reports a TCP close without close_notify as an SSL error; it is an EOF to us. */
        if (ERR_GET_REASON(queued) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
            ERR_clear_error();
            return NET_EOF;
        }
        stream->last_error = queued;
        stream->last_error_is_tls = 1;
        ERR_clear_error();
        return NET_ERROR;
    }
    }
}

net_result net_tls_handshake(net_stream *stream) {
    ERR_clear_error();
    errno = 0;
    int result = SSL_do_handshake(stream->ssl);
    if (result == 1) {
        return NET_OK;
    }
    net_result mapped = map_ssl_failure(stream, result);
    /* An EOF in the middle of a handshake is a failed handshake. */
    return mapped == NET_EOF ? NET_ERROR : mapped;
}

net_result net_read(net_stream *stream, void *buffer, size_t capacity, size_t *count) {
    if (stream->ssl != NULL) {
        /* No ERR_clear_error here (it showed in profiles): every failure path below drains the
         * queue, so it is already empty when SSL_get_error needs it to be. */
        errno = 0;
        size_t read_count = 0;
        int result = SSL_read_ex(stream->ssl, buffer, capacity, &read_count);
        if (result == 1) {
            *count = read_count;
            return NET_OK;
        }
        return map_ssl_failure(stream, result);
    }
    for (;;) {
        ssize_t result = recv(stream->fd, buffer, capacity, MSG_DONTWAIT);
        if (result > 0) {
            *count = (size_t)result;
            return NET_OK;
        }
        if (result == 0) {
            return NET_EOF;
        }
        if (errno == EINTR) {
            continue;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            return NET_WANT_READ;
        }
        stream->last_error = (unsigned long)errno;
        stream->last_error_is_tls = 0;
        return NET_ERROR;
    }
}

net_result net_write(net_stream *stream, const void *buffer, size_t length, size_t *count) {
    if (stream->ssl != NULL) {
        errno = 0; /* the error queue is already empty, as in net_read */
        size_t written = 0;
        int result = SSL_write_ex(stream->ssl, buffer, length, &written);
        if (result == 1) {
            *count = written;
            return NET_OK;
        }
        net_result mapped = map_ssl_failure(stream, result);
        return mapped == NET_EOF ? NET_ERROR : mapped;
    }
    for (;;) {
        /* MSG_NOSIGNAL: a peer that died must be an error, not a SIGPIPE. */
        ssize_t result = send(stream->fd, buffer, length, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (result >= 0) {
            *count = (size_t)result;
            return result > 0 ? NET_OK : NET_WANT_WRITE;
        }
        if (errno == EINTR) {
            continue;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            return NET_WANT_WRITE;
        }
        stream->last_error = (unsigned long)errno;
        stream->last_error_is_tls = 0;
        return NET_ERROR;
    }
}

void net_close(net_stream *stream) {
    if (stream->ssl != NULL) {
        SSL_free(stream->ssl);
        stream->ssl = NULL;
    }
    if (stream->fd >= 0) {
        close(stream->fd);
        stream->fd = -1;
    }
}

void net_abort(net_stream *stream) {
    if (stream->fd >= 0) {
        struct linger linger = {.l_onoff = 1, .l_linger = 0};
        (void)setsockopt(stream->fd, SOL_SOCKET, SO_LINGER, &linger, sizeof(linger));
    }
    net_close(stream);
}

void net_error_string(const net_stream *stream, char *out, size_t capacity) {
    if (stream->last_error_is_tls) {
        ERR_error_string_n(stream->last_error, out, capacity);
    } else {
        snprintf(out, capacity, "%s", strerror((int)stream->last_error));
    }
}
