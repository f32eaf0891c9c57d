// SPDX-License-Identifier: Apache-2.0
/* curl_floor: the reference a libcurl-based proxy is measured against in Benchmarks/run.sh
 * --proxy. A minimal HTTP/1.1 keep-alive reverse proxy in C on libcurl's multi_socket API
 * (curl's ephiperfifo.c pattern; the timer is epoll_wait's timeout): per worker an
 * SO_REUSEPORT listener, an epoll set and a CURLM. It is meant to be the fastest a minimal
 * libcurl proxy can be, so that "tollgate / curl_floor" is measured against the limit:
 *  - an idle upstream connection stays in the epoll set when curl says CURL_POLL_REMOVE (it is
 *    back in curl's cache, and the next request usually takes it again with the same
 *    interest): no EPOLL_CTL_DEL + ADD pair per request. Only sockets curl opened and closes
 *    through our CURLOPT_OPENSOCKETFUNCTION / CURLOPT_CLOSESOCKETFUNCTION are kept, so a
 *    closed descriptor's number can never inherit a stale registration; an idle socket that
 *    turns readable (the upstream closed it) is dropped from the set, and curl finds the dead
 *    connection itself before reusing it;
 *  - easy handles are configured once and reused without curl_easy_reset; per request only
 *    CURLOPT_POSTFIELDSIZE and CURLOPT_POSTFIELDS (no copy: the body stays in the connection's
 *    input buffer until the response is sent);
 *  - no per-request malloc: transfers come from a free list, the response is collected after
 *    a headroom into which its head is written by hand, and head + body go out in one send().
 * No auth, routing, metering, logging or streaming: whatever it costs per request is what
 * libcurl and the kernel cost, so
 * "tollgate / curl_floor" shows the gateway's own overhead and "curl_floor / nginx" the
 * ceiling any proxy that sends its upstream calls through libcurl can reach on this machine.
 *
 *   usage: curl_floor LISTEN_PORT UPSTREAM_URL WORKERS
 *   build: cc -O2 -o curl_floor curl_floor.c -lcurl -lpthread     (run.sh does this)
 */
#define _GNU_SOURCE
#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define INCAP 16384   /* max request head+body */
#define HEADROOM 160  /* space reserved before the response body for the response head */
#define CEV (EPOLLIN | EPOLLRDHUP | EPOLLET)

#define DIE(...) do { fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); exit(1); } while (0)
#define CK(e) do { CURLcode r_ = (e); if (r_) DIE("%s: %s", #e, curl_easy_strerror(r_)); } while (0)
#define MCK(e) do { CURLMcode r_ = (e); if (r_) DIE("%s: %s", #e, curl_multi_strerror(r_)); } while (0)

typedef struct Conn Conn;
typedef struct Xfer { CURL *e; Conn *c; char *buf; size_t len, cap; struct Xfer *next; } Xfer;
struct Conn {
  int fd, busy /* 1 = transfer in multi, 2 = sending response */, readable, wantout, close_after, dead;
  Xfer *x; char *out; size_t outlen, inlen, used /* bytes of in[] the current request occupies */;
  Conn *next; char in[INCAP];
};
/* What the worker knows of one of curl's descriptors, indexed by the descriptor number. */
typedef struct { uint32_t reg /* events in the epoll set, 0 = not there */; uint8_t ours, idle; } Sock;
typedef struct { int epfd, lfd; long deadline; CURLM *m; Xfer *free; Conn *grave; Sock *socks; size_t nsocks; pthread_t th; } W;

static const char *url; static int port;
static struct curl_slist *hdrs;

static long now_ms(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1000L + t.tv_nsec / 1000000; }

/* ---- curl side ---- */
static Sock *sock_of(W *w, curl_socket_t s) { return s >= 0 && (size_t)s < w->nsocks ? &w->socks[s] : NULL; }
static void unwatch(W *w, curl_socket_t s, Sock *k) {
  if (k->reg && epoll_ctl(w->epfd, EPOLL_CTL_DEL, s, NULL) && errno != ENOENT && errno != EBADF) perror("epoll DEL");
  k->reg = 0;
}
static int sockcb(CURL *e, curl_socket_t s, int what, void *u, void *sp) {
  W *w = u; Sock *k = sock_of(w, s); (void)e; (void)sp;
  if (!k) { fprintf(stderr, "descriptor %d beyond the open-file limit\n", (int)s); return -1; }
  if (what == CURL_POLL_REMOVE) {
    /* Back in curl's cache: keep it registered (saves a DEL now and an ADD on reuse), unless
     * curl may close it without telling us (e.g. the threaded resolver's socketpair). */
    if (k->ours) k->idle = 1; else unwatch(w, s, k);
    return 0;
  }
  uint32_t want = (what & CURL_POLL_IN ? EPOLLIN : 0) | (what & CURL_POLL_OUT ? EPOLLOUT : 0);
  k->idle = 0;
  if (k->reg == want) return 0;                   /* the common case on a reused connection */
  struct epoll_event ev = { .events = want, .data.u64 = ((uint64_t)s << 1) | 1 };
  int op = k->reg ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
  if (epoll_ctl(w->epfd, op, s, &ev)) {
    op = op == EPOLL_CTL_ADD ? EPOLL_CTL_MOD : EPOLL_CTL_ADD; /* EEXIST / ENOENT: retry the other way */
    if (epoll_ctl(w->epfd, op, s, &ev)) { perror("epoll_ctl curl"); k->reg = 0; return -1; }
  }
  k->reg = want;
  return 0;
}
/* CURLOPT_OPENSOCKETFUNCTION: what curl does by default (it makes the socket non-blocking),
 * plus noting that this descriptor's close will be reported to closesockcb. */
static curl_socket_t opensockcb(void *u, curlsocktype purpose, struct curl_sockaddr *a) {
  W *w = u; (void)purpose;
  curl_socket_t s = socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
  Sock *k = sock_of(w, s);
  if (s >= 0 && !k) { close(s); return CURL_SOCKET_BAD; }
  if (k) *k = (Sock){ .ours = 1 };   /* the number was free: anything recorded under it is stale */
  return s;
}
static int closesockcb(void *u, curl_socket_t s) {
  W *w = u; Sock *k = sock_of(w, s);
  if (k) *k = (Sock){ 0 };           /* close() drops it from the epoll set */
  return close(s);
}
static int timercb(CURLM *m, long ms, void *u) { (void)m; ((W *)u)->deadline = ms < 0 ? -1 : now_ms() + ms; return 0; }
static size_t wcb(char *p, size_t sz, size_t n, void *u) {
  Xfer *x = u; n *= sz;
  if (HEADROOM + x->len + n > x->cap) {
    size_t nc = x->cap * 2; while (nc < HEADROOM + x->len + n) nc *= 2;
    char *nb = realloc(x->buf, nc); if (!nb) return 0;
    x->buf = nb; x->cap = nc;
  }
  memcpy(x->buf + HEADROOM + x->len, p, n); x->len += n; return n;
}
static void setup(W *w, Xfer *x) {   /* once per easy handle: the options outlive each transfer */
  CK(curl_easy_setopt(x->e, CURLOPT_URL, url));
  CK(curl_easy_setopt(x->e, CURLOPT_OPENSOCKETFUNCTION, opensockcb));
  CK(curl_easy_setopt(x->e, CURLOPT_OPENSOCKETDATA, w));
  CK(curl_easy_setopt(x->e, CURLOPT_CLOSESOCKETFUNCTION, closesockcb));
  CK(curl_easy_setopt(x->e, CURLOPT_CLOSESOCKETDATA, w));
  CK(curl_easy_setopt(x->e, CURLOPT_NOSIGNAL, 1L));
  CK(curl_easy_setopt(x->e, CURLOPT_TCP_NODELAY, 1L));
  CK(curl_easy_setopt(x->e, CURLOPT_NOPROXY, "*"));  /* no proxy, and no getenv("no_proxy") per request (url.c) */
  CK(curl_easy_setopt(x->e, CURLOPT_HTTPHEADER, hdrs));
  CK(curl_easy_setopt(x->e, CURLOPT_WRITEFUNCTION, wcb));
  CK(curl_easy_setopt(x->e, CURLOPT_WRITEDATA, x));
  CK(curl_easy_setopt(x->e, CURLOPT_PRIVATE, x));
}

/* ---- client side ---- */
static void recycle(W *w, Xfer *x) { x->c = NULL; x->next = w->free; w->free = x; }
static void kill_conn(W *w, Conn *c) {
  if (c->dead) return;
  if (c->busy == 1) MCK(curl_multi_remove_handle(w->m, c->x->e)); /* abort in-flight upstream transfer */
  if (c->busy) recycle(w, c->x);
  c->x = NULL; c->busy = 0;
  close(c->fd); c->dead = 1; c->next = w->grave; w->grave = c; /* freed after this epoll batch */
}
static int setev(W *w, Conn *c, uint32_t ev) {
  struct epoll_event e = { .events = ev, .data.ptr = c };
  if (epoll_ctl(w->epfd, EPOLL_CTL_MOD, c->fd, &e)) { kill_conn(w, c); return -1; }
  return 0;
}
static void pump(W *w, Conn *c);
/* returns 0 when fully sent (conn idle again), 1 when waiting for EPOLLOUT, -1 when conn is gone */
static int flush(W *w, Conn *c) {
  while (c->outlen) {
    ssize_t n = send(c->fd, c->out, c->outlen, MSG_NOSIGNAL);
    if (n > 0) { c->out += n; c->outlen -= n; continue; }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) {
      if (!c->wantout && setev(w, c, CEV | EPOLLOUT)) return -1;
      c->wantout = 1; return 1;
    }
    kill_conn(w, c); return -1;
  }
  if (c->wantout && setev(w, c, CEV)) return -1;
  c->wantout = 0; recycle(w, c->x); c->x = NULL; c->busy = 0;
  c->inlen -= c->used; if (c->inlen) memmove(c->in, c->in + c->used, c->inlen); c->used = 0; /* a pipelined next request */
  if (c->close_after) { kill_conn(w, c); return -1; }
  return 0;
}
/* Writes `text` backwards so that it ends at `end`; returns its start. */
static char *put_before(char *end, const char *text, size_t n) { return memcpy(end - n, text, n); }
static void respond(W *w, Conn *c, Xfer *x, long status) {
  /* The head, built backwards into the headroom in front of the body, no snprintf. */
  static const char ka[] = "\r\n\r\n", cl[] = "\r\nConnection: close\r\n\r\n",
    mid[] = " OK\r\nContent-Type: application/json\r\nContent-Length: ";
  char *p = x->buf + HEADROOM;
  p = c->close_after ? put_before(p, cl, sizeof cl - 1) : put_before(p, ka, sizeof ka - 1);
  size_t n = x->len; do { *--p = (char)('0' + n % 10); n /= 10; } while (n);
  p = put_before(p, mid, sizeof mid - 1);
  if (status < 100 || status > 999) status = 502;
  for (int i = 0; i < 3; i++) { *--p = (char)('0' + status % 10); status /= 10; }
  p = put_before(p, "HTTP/1.1 ", 9);
  c->out = p; c->outlen = (size_t)(x->buf + HEADROOM - p) + x->len;
  c->x = x; c->busy = 2;
  if (flush(w, c) == 0) pump(w, c);
}
static void start(W *w, Conn *c, const char *body, size_t len) {
  Xfer *x = w->free;
  if (x) w->free = x->next;
  else {
    if (!(x = calloc(1, sizeof *x)) || !(x->e = curl_easy_init()) || !(x->buf = malloc(x->cap = 4096))) DIE("oom");
    setup(w, x);
  }
  x->c = c; x->len = 0; c->x = x; c->busy = 1;
  CK(curl_easy_setopt(x->e, CURLOPT_POSTFIELDSIZE, (long)len));
  /* Not copied: c->in is left alone while the conn is busy and compacted in flush(). */
  CK(curl_easy_setopt(x->e, CURLOPT_POSTFIELDS, body));
  MCK(curl_multi_add_handle(w->m, x->e));
}
static void reject(W *w, Conn *c, const char *st) {
  char b[128]; int n = snprintf(b, sizeof b, "HTTP/1.1 %s\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", st);
  if (send(c->fd, b, n, MSG_NOSIGNAL) < 0) { /* closing anyway */ }
  kill_conn(w, c);
}
/* 1 = request started, 0 = need more bytes, -1 = conn gone */
static int parse(W *w, Conn *c) {
  char *e = memmem(c->in, c->inlen, "\r\n\r\n", 4);
  if (!e) { if (c->inlen == INCAP) { reject(w, c, "431 Too Large"); return -1; } return 0; }
  size_t hl = e + 4 - c->in, cl = 0;
  char *p = memchr(c->in, '\n', hl) + 1, *end = c->in + hl - 2;
  c->close_after = memmem(c->in, p - c->in, "HTTP/1.0", 8) != NULL;
  for (char *nl; p < end; p = nl + 1) {
    nl = memchr(p, '\n', end + 2 - p);
    if (!strncasecmp(p, "content-length:", 15)) cl = strtoul(p + 15, NULL, 10);
    else if (!strncasecmp(p, "transfer-encoding:", 18)) { reject(w, c, "411 Length Required"); return -1; }
    else if (!strncasecmp(p, "connection:", 11)) {
      char *v = p + 11; while (*v == ' ' || *v == '\t') v++;
      if (!strncasecmp(v, "close", 5)) c->close_after = 1;
      else if (!strncasecmp(v, "keep-alive", 10)) c->close_after = 0;
    }
  }
  if (cl > INCAP - hl) { reject(w, c, "413 Too Large"); return -1; }
  if (c->inlen < hl + cl) return 0;
  c->used = hl + cl;
  start(w, c, c->in + hl, cl);
  return 1;
}
static void pump(W *w, Conn *c) {
  while (!c->busy) {
    if (parse(w, c)) return;
    if (!c->readable) return;
    size_t room = INCAP - c->inlen;
    ssize_t n = recv(c->fd, c->in + c->inlen, room, 0);
    if (n > 0) { c->inlen += n; if ((size_t)n < room) c->readable = 0; continue; } /* ET: short read = drained */
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) { c->readable = 0; return; }
    kill_conn(w, c); return; /* EOF or error */
  }
}
static void on_client(W *w, Conn *c, uint32_t ev) {
  if (ev & (EPOLLERR | EPOLLHUP) || (ev & EPOLLRDHUP && c->busy)) { kill_conn(w, c); return; }
  if (ev & (EPOLLIN | EPOLLRDHUP)) c->readable = 1;
  if (ev & EPOLLOUT && c->busy == 2 && flush(w, c)) return;
  pump(w, c);
}
static void on_accept(W *w) {
  for (;;) {
    int fd = accept4(w->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC), one = 1;
    if (fd < 0) { if (errno == EINTR || errno == ECONNABORTED) continue; if (errno != EAGAIN) perror("accept4"); return; }
    Conn *c = malloc(sizeof *c);
    if (!c) { close(fd); return; }
    memset(c, 0, offsetof(Conn, in)); c->fd = fd;
    if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one)) perror("TCP_NODELAY");
    struct epoll_event e = { .events = CEV, .data.ptr = c };
    if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &e)) { perror("epoll ADD client"); close(fd); free(c); }
  }
}
static void done(W *w) {
  CURLMsg *m; int q;
  while ((m = curl_multi_info_read(w->m, &q))) {
    if (m->msg != CURLMSG_DONE) continue;
    CURL *e = m->easy_handle; CURLcode rc = m->data.result; Xfer *x; long st = 502;
    CK(curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&x));
    MCK(curl_multi_remove_handle(w->m, e));
    if (rc == CURLE_OK) CK(curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &st));
    else { fprintf(stderr, "upstream: %s\n", curl_easy_strerror(rc)); x->len = 0; }
    respond(w, x->c, x, st);
  }
}
static void *worker(void *arg) {
  W *w = arg; struct epoll_event ev[256]; int running, one = 1;
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
  if ((w->lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0 ||
      setsockopt(w->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) ||
      setsockopt(w->lfd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) ||
      bind(w->lfd, (struct sockaddr *)&a, sizeof a) || listen(w->lfd, 4096)) DIE("listen: %s", strerror(errno));
  if ((w->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0) DIE("epoll_create1: %s", strerror(errno));
  struct epoll_event le = { .events = EPOLLIN, .data.u64 = 0 }; /* u64 0 = listener, odd = curl fd, else Conn* */
  if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->lfd, &le)) DIE("epoll add listener: %s", strerror(errno));
  struct rlimit rl;
  w->nsocks = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < (1u << 22) ? rl.rlim_cur : 65536;
  if (!(w->socks = calloc(w->nsocks, sizeof *w->socks))) DIE("oom");
  if (!(w->m = curl_multi_init())) DIE("curl_multi_init");
  MCK(curl_multi_setopt(w->m, CURLMOPT_SOCKETFUNCTION, sockcb));
  MCK(curl_multi_setopt(w->m, CURLMOPT_SOCKETDATA, w));
  MCK(curl_multi_setopt(w->m, CURLMOPT_TIMERFUNCTION, timercb));
  MCK(curl_multi_setopt(w->m, CURLMOPT_TIMERDATA, w));
  MCK(curl_multi_setopt(w->m, CURLMOPT_MAXCONNECTS, 256L));
  w->deadline = -1;
  for (;;) {
    int to = -1;
    if (w->deadline >= 0) { long d = w->deadline - now_ms(); to = d < 0 ? 0 : (int)d; }
    int n = epoll_wait(w->epfd, ev, 256, to);
    if (n < 0) { if (errno == EINTR) continue; DIE("epoll_wait: %s", strerror(errno)); }
    for (int i = 0; i < n; i++) {
      uint64_t d = ev[i].data.u64; uint32_t e = ev[i].events;
      if (d == 0) on_accept(w);
      else if (d & 1) {
        curl_socket_t s = (curl_socket_t)(d >> 1); Sock *k = sock_of(w, s);
        if (k && k->idle) { unwatch(w, s, k); continue; } /* idle and readable: the upstream closed it */
        int f = (e & (EPOLLIN | EPOLLHUP | EPOLLERR) ? CURL_CSELECT_IN : 0) | (e & EPOLLOUT ? CURL_CSELECT_OUT : 0);
        MCK(curl_multi_socket_action(w->m, s, f, &running));
        done(w);
      } else if (!((Conn *)ev[i].data.ptr)->dead) on_client(w, ev[i].data.ptr, e);
    }
    if (w->deadline >= 0 && now_ms() >= w->deadline) {
      w->deadline = -1;
      MCK(curl_multi_socket_action(w->m, CURL_SOCKET_TIMEOUT, 0, &running));
      done(w);
    }
    while (w->grave) { Conn *c = w->grave; w->grave = c->next; free(c); }
  }
  return NULL;
}
int main(int argc, char **argv) {
  if (argc != 4) DIE("usage: %s LISTEN_PORT UPSTREAM_URL WORKERS", argv[0]);
  port = atoi(argv[1]); url = argv[2]; int nw = atoi(argv[3]);
  if (port <= 0 || port > 65535 || nw <= 0) DIE("bad args");
  signal(SIGPIPE, SIG_IGN);
  CK(curl_global_init(CURL_GLOBAL_DEFAULT));
  if (!(hdrs = curl_slist_append(NULL, "Content-Type: application/json")) ||
      !(hdrs = curl_slist_append(hdrs, "Authorization: Bearer upstream-key")) ||
      !(hdrs = curl_slist_append(hdrs, "Expect:"))) DIE("oom");
  W *ws = calloc(nw, sizeof *ws); if (!ws) DIE("oom");
  for (int i = 0; i < nw; i++) if ((errno = pthread_create(&ws[i].th, NULL, worker, &ws[i]))) DIE("pthread_create: %s", strerror(errno));
  for (int i = 0; i < nw; i++) pthread_join(ws[i].th, NULL);
  return 0;
}
