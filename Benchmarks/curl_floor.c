// SPDX-License-Identifier: Apache-2.0
/* curl_floor: the reference a libcurl-based proxy is measured against in Benchmarks/run.sh
 * --proxy. A minimal HTTP/1.1 keep-alive reverse proxy in C on libcurl's multi_socket API
 * (curl's ephiperfifo.c pattern; the timer is epoll_wait's timeout): per worker an
 * SO_REUSEPORT listener, an epoll set and a CURLM; easy handles reset and reused; each
 * request's Content-Length body is POSTed to one fixed upstream URL with CURLOPT_COPYPOSTFIELDS
 * and the buffered response is returned with one send(). No auth, routing, metering, logging
 * or streaming: whatever it costs per request is what libcurl and the kernel cost, so
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
  Xfer *x; char *out; size_t outlen, inlen; Conn *next; char in[INCAP];
};
typedef struct { int epfd, lfd; long deadline; CURLM *m; Xfer *free; Conn *grave; pthread_t th; } W;

static const char *url; static int port;
static struct curl_slist *hdrs;

static long now_ms(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1000L + t.tv_nsec / 1000000; }

/* ---- curl side ---- */
static int sockcb(CURL *e, curl_socket_t s, int what, void *u, void *sp) {
  W *w = u; (void)e;
  struct epoll_event ev = { .data.u64 = ((uint64_t)s << 1) | 1 };
  if (what == CURL_POLL_REMOVE) {
    if (epoll_ctl(w->epfd, EPOLL_CTL_DEL, s, NULL) && errno != ENOENT && errno != EBADF) perror("epoll DEL");
    return 0;
  }
  ev.events = (what & CURL_POLL_IN ? EPOLLIN : 0) | (what & CURL_POLL_OUT ? EPOLLOUT : 0);
  int op = sp ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
  if (epoll_ctl(w->epfd, op, s, &ev)) {
    op = op == EPOLL_CTL_ADD ? EPOLL_CTL_MOD : EPOLL_CTL_ADD; /* EEXIST / ENOENT: retry the other way */
    if (epoll_ctl(w->epfd, op, s, &ev)) { perror("epoll_ctl curl"); return -1; }
  }
  if (!sp) MCK(curl_multi_assign(w->m, s, (void *)1));
  return 0;
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
static void setup(Xfer *x) {
  CK(curl_easy_setopt(x->e, CURLOPT_URL, url));
  CK(curl_easy_setopt(x->e, CURLOPT_NOSIGNAL, 1L));
  CK(curl_easy_setopt(x->e, CURLOPT_TCP_NODELAY, 1L));
  CK(curl_easy_setopt(x->e, CURLOPT_PROXY, ""));
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
  if (c->close_after) { kill_conn(w, c); return -1; }
  return 0;
}
static void respond(W *w, Conn *c, Xfer *x, long status) {
  char h[HEADROOM];
  int hl = snprintf(h, sizeof h, "HTTP/1.1 %ld OK\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n%s\r\n",
                    status, x->len, c->close_after ? "Connection: close\r\n" : "");
  c->out = x->buf + HEADROOM - hl; memcpy(c->out, h, hl); c->outlen = hl + x->len;
  c->x = x; c->busy = 2;
  if (flush(w, c) == 0) pump(w, c);
}
static void start(W *w, Conn *c, const char *body, size_t len) {
  Xfer *x = w->free;
  if (x) w->free = x->next;
  else {
    if (!(x = calloc(1, sizeof *x)) || !(x->e = curl_easy_init()) || !(x->buf = malloc(x->cap = 4096))) DIE("oom");
  }
  curl_easy_reset(x->e); setup(x);  /* as a gateway does: each request sets its own options */
  x->c = c; x->len = 0; c->x = x; c->busy = 1;
  CK(curl_easy_setopt(x->e, CURLOPT_POSTFIELDSIZE, (long)len));
  CK(curl_easy_setopt(x->e, CURLOPT_COPYPOSTFIELDS, body));
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
  start(w, c, c->in + hl, cl); /* COPYPOSTFIELDS copies, so the input buffer can be compacted */
  c->inlen -= hl + cl; memmove(c->in, c->in + hl + cl, c->inlen);
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
        int f = (e & (EPOLLIN | EPOLLHUP | EPOLLERR) ? CURL_CSELECT_IN : 0) | (e & EPOLLOUT ? CURL_CSELECT_OUT : 0);
        MCK(curl_multi_socket_action(w->m, (curl_socket_t)(d >> 1), f, &running));
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
