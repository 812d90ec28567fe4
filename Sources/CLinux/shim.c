#define _GNU_SOURCE
#include "CLinux.h"
#include <sched.h>
#include <string.h>
#include <errno.h>
#include <unistd.h>

#if defined(__x86_64__)
_Static_assert(sizeof(struct epoll_event) == 12, "epoll_event is packed on x86_64");
#endif

int CLinux_accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags) {
    return accept4(fd, addr, len, flags);
}

void CLinux_ignoreSIGPIPE(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
}

static volatile int CLinux_signalPipeFD = -1;

static void CLinux_signalToPipe(int sig) {
    unsigned char byte = (unsigned char)sig;
    int saved = errno;
    if (CLinux_signalPipeFD >= 0) { (void)!write(CLinux_signalPipeFD, &byte, 1); }
    errno = saved;
}

int CLinux_routeSignalToPipe(int sig, int writeFD) {
    CLinux_signalPipeFD = writeFD;
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = CLinux_signalToPipe;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    return sigaction(sig, &sa, NULL);
}

void CLinux_setThreadName(const char *name) {
    char buf[16];
    strncpy(buf, name, sizeof(buf) - 1);
    buf[15] = 0;
    pthread_setname_np(pthread_self(), buf);
}

int CLinux_pinThreadToCPU(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}
