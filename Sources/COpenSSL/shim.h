#ifndef EARPIECE_COPENSSL_SHIM_H
#define EARPIECE_COPENSSL_SHIM_H
// OpenSSL 3 for Swift: the headers, plus static inline wrappers for the
// function-like macros and constants that Swift cannot import.
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <openssl/pem.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/hmac.h>
#include <openssl/crypto.h>

static inline long COpenSSL_SSL_CTX_set_mode(SSL_CTX *ctx, long mode) { return SSL_CTX_set_mode(ctx, mode); }
static inline long COpenSSL_SSL_set_mode(SSL *ssl, long mode) { return SSL_set_mode(ssl, mode); }
static inline long COpenSSL_SSL_set_tlsext_host_name(SSL *ssl, const char *name) {
    return SSL_set_tlsext_host_name(ssl, name);
}
static inline long COpenSSL_SSL_CTX_set_min_proto_version(SSL_CTX *ctx, int version) {
    return SSL_CTX_set_min_proto_version(ctx, version);
}
static inline long COpenSSL_SSL_CTX_set_max_proto_version(SSL_CTX *ctx, int version) {
    return SSL_CTX_set_max_proto_version(ctx, version);
}
static inline uint64_t COpenSSL_SSL_CTX_set_options(SSL_CTX *ctx, uint64_t options) {
    return SSL_CTX_set_options(ctx, options);
}
static inline long COpenSSL_SSL_CTX_set_session_cache_mode(SSL_CTX *ctx, long mode) {
    return SSL_CTX_set_session_cache_mode(ctx, mode);
}
static inline long COpenSSL_SSL_CTX_set_tlsext_servername_callback(SSL_CTX *ctx, int (*cb)(SSL *, int *, void *)) {
    return SSL_CTX_set_tlsext_servername_callback(ctx, cb);
}
static inline long COpenSSL_SSL_CTX_set_tlsext_servername_arg(SSL_CTX *ctx, void *arg) {
    return SSL_CTX_set_tlsext_servername_arg(ctx, arg);
}
static inline long COpenSSL_BIO_get_mem_data(BIO *bio, char **pp) { return BIO_get_mem_data(bio, pp); }
static inline size_t COpenSSL_BIO_pending(BIO *bio) { return BIO_pending(bio); }
static inline unsigned long COpenSSL_version_number(void) { return OPENSSL_VERSION_NUMBER; }
// OPENSSL_free is a macro that passes __FILE__/__LINE__ to CRYPTO_free; strings returned by
// X509_NAME_oneline and BN_bn2hex must be released through it.
static inline void COpenSSL_OPENSSL_free(void *pointer) { OPENSSL_free(pointer); }
// SSL_CTX_get_ex_new_index is a macro over CRYPTO_get_ex_new_index; only the free callback is used.
static inline int COpenSSL_SSL_CTX_get_ex_new_index(CRYPTO_EX_free *free_function) {
    return SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, free_function);
}

static const long COpenSSL_SSL_MODE_ENABLE_PARTIAL_WRITE = SSL_MODE_ENABLE_PARTIAL_WRITE;
static const long COpenSSL_SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER = SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER;
static const long COpenSSL_SSL_MODE_RELEASE_BUFFERS = SSL_MODE_RELEASE_BUFFERS;
static const uint64_t COpenSSL_SSL_OP_NO_COMPRESSION = SSL_OP_NO_COMPRESSION;
static const uint64_t COpenSSL_SSL_OP_NO_RENEGOTIATION = SSL_OP_NO_RENEGOTIATION;
static const uint64_t COpenSSL_SSL_OP_CIPHER_SERVER_PREFERENCE = SSL_OP_CIPHER_SERVER_PREFERENCE;
static const uint64_t COpenSSL_SSL_OP_IGNORE_UNEXPECTED_EOF = SSL_OP_IGNORE_UNEXPECTED_EOF;
static const int COpenSSL_TLS1_2_VERSION = TLS1_2_VERSION;
static const int COpenSSL_TLS1_3_VERSION = TLS1_3_VERSION;
// TLS 1.3 record layer in user space (IOTLS TLS13*): constants Swift may not import as written.
static const int COpenSSL_EVP_CTRL_AEAD_SET_TAG = EVP_CTRL_AEAD_SET_TAG;
static const int COpenSSL_EVP_CTRL_AEAD_GET_TAG = EVP_CTRL_AEAD_GET_TAG;
static const int COpenSSL_SSL3_RT_HANDSHAKE = SSL3_RT_HANDSHAKE;
static const int COpenSSL_SSL3_MT_NEWSESSION_TICKET = SSL3_MT_NEWSESSION_TICKET;
#endif
