#ifndef EARPIECE_CLINUX_H
#define EARPIECE_CLINUX_H
// The Linux calls Swift's Glibc module does not expose: epoll, eventfd,
// timerfd, and accept4 (which needs _GNU_SOURCE, so it is a real function
// compiled in shim.c).
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <sys/socket.h>
#include <sys/resource.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <netdb.h>
#include <signal.h>
#include <stdint.h>
#include <pthread.h>

int CLinux_accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags);

/// Ignores SIGPIPE for the whole process: OpenSSL writes with write(2), and a
/// write to a closed peer would otherwise kill us.
void CLinux_ignoreSIGPIPE(void);

/// Routes `sig` to a self-pipe: the async-signal-safe handler writes the signal number (one byte) to
/// `writeFD`. Works whichever thread the kernel picks to deliver the signal to. Returns 0 or -1.
int CLinux_routeSignalToPipe(int sig, int writeFD);

/// Sets the calling thread's name (at most 15 bytes are kept).
void CLinux_setThreadName(const char *name);

/// Pins the calling thread to one CPU; returns 0 or an errno.
int CLinux_pinThreadToCPU(int cpu);

// epoll_event is packed on x86_64; these keep Swift away from its layout.
static inline uint32_t CLinux_epoll_event_events(const struct epoll_event *ev) { return ev->events; }
static inline uint64_t CLinux_epoll_event_u64(const struct epoll_event *ev) { return ev->data.u64; }
static inline struct epoll_event CLinux_epoll_event_make(uint32_t events, uint64_t data) {
    struct epoll_event ev;
    ev.events = events;
    ev.data.u64 = data;
    return ev;
}

static const int CLinux_SOCK_NONBLOCK = SOCK_NONBLOCK;
static const int CLinux_SOCK_CLOEXEC = SOCK_CLOEXEC;
static const int CLinux_SOCK_STREAM = SOCK_STREAM;
static const int CLinux_MSG_NOSIGNAL = MSG_NOSIGNAL;
static const int CLinux_EFD_NONBLOCK = EFD_NONBLOCK;
static const int CLinux_EFD_CLOEXEC = EFD_CLOEXEC;
static const uint32_t CLinux_EPOLLIN = EPOLLIN;
static const uint32_t CLinux_EPOLLOUT = EPOLLOUT;
static const uint32_t CLinux_EPOLLERR = EPOLLERR;
static const uint32_t CLinux_EPOLLHUP = EPOLLHUP;
static const uint32_t CLinux_EPOLLRDHUP = EPOLLRDHUP;
static const int CLinux_EPOLL_CLOEXEC = EPOLL_CLOEXEC;
#endif
