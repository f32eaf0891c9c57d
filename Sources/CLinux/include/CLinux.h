// SPDX-License-Identifier: Apache-2.0
// CLinux — the Linux syscalls Glibc's Swift overlay does not export (epoll, eventfd,
// signalfd), plus tiny non-variadic or macro-free helpers Swift can call directly.
#ifndef TOLLGATE_CLINUX_H
#define TOLLGATE_CLINUX_H


#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/resource.h>
#include <sys/uio.h>
#include <sys/random.h>
#include <poll.h>
#include <malloc.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <pthread.h>
#include <errno.h>
#include <time.h>
#include <stdint.h>

// epoll_event is packed on x86_64; Swift imports it, but building one field by field through a
// helper keeps the packed layout the kernel expects in one place.
static inline int tg_epoll_ctl(int epfd, int op, int fd, uint32_t events, uint64_t data) {
    struct epoll_event ev;
    ev.events = events;
    ev.data.u64 = data;
    return epoll_ctl(epfd, op, fd, &ev);
}

// Reads one entry of an epoll_event array without Swift having to know the packed layout.
static inline uint32_t tg_epoll_event_events(const struct epoll_event *evs, int i) { return evs[i].events; }
static inline uint64_t tg_epoll_event_data(const struct epoll_event *evs, int i) { return evs[i].data.u64; }
static inline size_t tg_epoll_event_size(void) { return sizeof(struct epoll_event); }

// CLOCK_MONOTONIC in nanoseconds: the only clock the loops use for deadlines.
static inline uint64_t tg_monotonic_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

// Wall clock in nanoseconds since the epoch (for logs and Date headers, never for deadlines).
static inline uint64_t tg_realtime_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

// Blocks SIGTERM, SIGINT, SIGHUP and SIGPIPE in the calling thread (threads created after inherit
// the mask), so the signals are read from a signalfd instead of interrupting loop threads.
static inline int tg_block_signals(sigset_t *set) {
    sigemptyset(set);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGHUP);
    int rc = pthread_sigmask(SIG_BLOCK, set, NULL);
    if (rc != 0) return rc;
    // SIGPIPE is ignored process-wide: a peer that went away is an EPIPE, not a dead process.
    signal(SIGPIPE, SIG_IGN);
    return 0;
}

static inline int tg_signalfd(sigset_t *set) { return signalfd(-1, set, SFD_CLOEXEC); }

// accept4(2) is a GNU extension declared only under _GNU_SOURCE; defining that here would
// change system headers for every module that imports them (and clash with other C modules),
// so the prototype is declared directly (glibc has exported it since 2.10).
extern int accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags);
/* Also reports the peer's address (no extra syscall for the access log). */
static inline int tg_accept4(int fd, int flags, struct sockaddr_storage *peer) {
    socklen_t len = sizeof(*peer);
    return accept4(fd, (struct sockaddr *)peer, &len, flags);
}

static inline int tg_errno(void) { return errno; }
static inline void tg_set_errno(int e) { errno = e; }

#endif
