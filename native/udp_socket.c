/*
 * UdpSocket: a UDP socket whose datagrams carry the kernel's timestamps.
 *
 * A reply's arrival time taken in a JS 'message' callback is late by the
 * whole path from the NIC to the callback (measured ~16 us on loopback), and
 * that error lands in the NTP offset unhalved. The kernel stamps each packet
 * as it enters the stack (RX) and as the driver hands it on (TX), the
 * timestamps chronyd uses. See Linux Documentation/networking/timestamping.rst.
 *
 *   new UdpSocket(family 4|6, onEvent[, txOnDemand])   non-blocking socket, polled by libuv
 *   bind(address, port[, reusePort[, v6Only]]) / connect(address, port)
 *   send(bytes[, address, port[, stampOffset[, txTag]]]) -> TX id (or -1)
 *   batchLayout() / enableBatch(arrayBuffer)            batch delivery (below)
 *   setStampDelta(bigint), setTransmitCompensation(bool), transmitLatency()
 *   address() -> { address, port, family }, close(), ref(), unref()
 *
 * onEvent(0, buffer, address, port, rxInstant | undefined)   a datagram
 * onEvent(1, txId or txTag, txInstant)                       a TX timestamp
 * onEvent(2, error)                                          an error (ECONNREFUSED, ...)
 * onEvent(3, count)                                          a batch (batch mode)
 *
 * TX timestamps: by default every datagram gets one (the socket-wide
 * option), numbered by send()'s return value. With txOnDemand only the
 * datagrams sent with a txTag >= 0 get one, reported with that tag: each TX
 * timestamp costs an error-queue read and a JS callback, and a server needs
 * them only for interleaved clients (SO_TIMESTAMPING as a control message
 * on sendmsg, Linux >= 4.13).
 *
 * Datagrams are read in batches with recvmmsg. In the default mode each is
 * delivered by its own callback; while the socket is delivering (inside its
 * poll callback), send() only queues, and when the batch's callbacks have
 * returned the queue goes out with sendmmsg. In batch mode (enableBatch) a
 * whole recvmmsg batch is delivered by one callback, through memory shared
 * with JS: payloads, lengths, source addresses as octets, RX timestamps; JS
 * writes the replies into the same memory, and they go out to the sources
 * when the callback returns. No string, Buffer or BigInt is made per packet.
 *
 * A send that gives stampOffset gets the NTP timestamp of CLOCK_REALTIME
 * written there right before the datagram goes to the kernel: a transmit
 * timestamp taken in JS is early by the rest of the handler and the JS->C
 * path (~15 us measured), which lands in the client's offset. Two terms are
 * added: the stamp delta (setStampDelta: the served clock minus
 * CLOCK_REALTIME, for a server whose clock is not the kernel's), and, with
 * setTransmitCompensation(true), the measured latency from that reading to
 * the kernel's TX timestamp of the same datagram (the median of a sample of
 * replies, stamped on demand), so that T3 is when the reply left, not when
 * it was about to be sent (RFC 5905 section 8: T3 is the departure time).
 *
 * Everything runs on the JS thread: libuv calls on_poll from the event loop
 * and we call back into JS with napi_make_callback. An open socket keeps the
 * loop alive (like node:dgram) until close() or unref().
 */
#define _GNU_SOURCE
#define NAPI_VERSION 8

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <linux/errqueue.h>
#include <linux/net_tstamp.h>

#include <node_api.h>
#include <uv.h>

#include "ntpkit_native.h"

enum { EV_MESSAGE = 0, EV_TX = 1, EV_ERROR = 2, EV_BATCH = 3 };
enum { RX_NONE, RX_TIMESTAMPING, RX_TIMESTAMPNS };

/* Room for any UDP payload, so nothing is ever truncated. */
#define RX_BUF_SIZE 65536
/* Datagrams read per wakeup before yielding to the loop (it polls again: level-triggered). */
#define MAX_PER_WAKEUP 256
/* Datagrams per recvmmsg. Their buffers are one lazily-faulted mapping, so
 * small datagrams touch a page each, not 64 KiB. */
#define RECV_BATCH 32
/* Sends queued inside a callback before the queue is flushed early; payloads
 * above QUEUE_DATA bytes flush the queue and go out at once instead. */
#define SEND_QUEUE_MAX 64
#define QUEUE_DATA 2048
#define MAX_ERRQUEUE_PER_WAKEUP 1024
/* Wakeups in a row where the socket still flags an error that nothing could read. */
#define MAX_STUCK_WAKEUPS 8

/* On-demand TX stamps: what each kernel id was requested for (power of two). */
#define TX_RING 4096
/* Transmit compensation: a sample of replies gets a TX stamp, one every
 * CAL_GAP to 2 CAL_GAP - 1 stamped replies of its class (a random spacing,
 * so that it cannot alias with a periodic pattern of batch sizes), or after
 * CAL_NS, whichever comes first. */
#define CAL_GAP 32
#define CAL_NS INT64_C(10000000)
/* The median of the last CAL_WINDOW samples, recomputed every CAL_UPDATE. */
#define CAL_WINDOW 63
#define CAL_UPDATE 16
/* Plausible stamp-to-TX latencies, ns; others are not samples of it. */
#define CAL_MAX_NS 1000000

/* Batch mode: one JS ArrayBuffer, laid out as batchLayout() says. */
#define META_INTS 16
enum { M_LEN = 0, M_PORT, M_FAMILY, M_HAS_RX, M_RX_ERA, M_REPLY_LEN, M_STAMP, M_TAG, M_ADDR = 8 /* 16 octets: ints 8..11 */ };
#define OUT_SLOT 2048
#define B_IN_OFF 0
#define B_RX_OFF ((size_t)RECV_BATCH * RX_BUF_SIZE)
#define B_META_OFF (B_RX_OFF + 8 * (size_t)RECV_BATCH)
#define B_OUT_OFF (B_META_OFF + 4 * (size_t)RECV_BATCH * META_INTS)
#define B_SIZE (B_OUT_OFF + (size_t)RECV_BATCH * OUT_SLOT)

struct queued_send {
  struct sockaddr_storage to;
  socklen_t to_len;
  int32_t stamp; /* offset of the NTP transmit timestamp, or -1 */
  int32_t tag;   /* txOnDemand: report the TX timestamp with this tag; -1: none */
  uint32_t len;
  unsigned char data[QUEUE_DATA];
};

/* One datagram to send, from the queue or from a batch's replies. */
struct send_item {
  unsigned char *data;
  uint32_t len;
  const struct sockaddr_storage *to;
  socklen_t to_len;
  int32_t stamp;
  int32_t tag;
};

/* What an on-demand TX stamp with kernel id `id` was asked for. */
struct tx_entry {
  uint32_t id;
  bool used;
  uint8_t cls;     /* its compensation class (below) */
  int32_t tag;     /* -1: a compensation sample only */
  int64_t read_ns; /* the CLOCK_REALTIME reading behind the datagram's T3 stamp; 0: none */
};

/*
 * The latency from a T3 reading to the kernel's TX stamp, in two classes:
 * the first datagram a flush sends, right after the JS callback, finds the
 * caches cold and takes about twice as long as the others (measured on
 * loopback: 6.4 us, against 3.0-3.1 us for the 2nd to 6th).
 */
enum { CLS_FIRST = 0, CLS_REST = 1 };
struct cal_est {
  int32_t win[CAL_WINDOW];
  unsigned n, pos, fresh, since, gap;
  int64_t last_ns, ns;
};

typedef struct {
  napi_env env;
  napi_ref self;     /* strong while open: the wrapper, and through it onEvent, outlive every event */
  napi_ref callback;
  napi_async_context actx;
  napi_async_cleanup_hook_handle cleanup;
  uv_poll_t poll;
  int fd;
  int af;
  int rx_mode;
  bool tx_ts;       /* TX timestamps requested, and the id count is still in step with the kernel's */
  bool tx_on_demand; /* only datagrams sent with a tag get a TX stamp */
  bool tx_resync;    /* on demand: a stamped send failed, the kernel's count is unknown until reset */
  uint32_t tx_next; /* SOF_TIMESTAMPING_OPT_ID: the kernel numbers stamped datagrams 0, 1, ... per socket */
  struct tx_entry *tx_ring; /* on demand: TX_RING entries */
  int64_t stamp_delta;      /* added to written T3 stamps, NTP units (served clock - CLOCK_REALTIME) */
  bool comp_on;             /* add the measured stamp-to-TX latency to T3 stamps */
  struct cal_est cal[2];    /* that latency, per class */
  uint32_t rng;             /* xorshift state for the sample spacing */
  bool batch;               /* deliver recvmmsg batches through shared memory */
  napi_ref batch_ref;       /* that ArrayBuffer */
  unsigned char *bmem;
  struct sockaddr_storage *bfrom; /* RECV_BATCH: the batch's sources, the replies' destinations */
  bool poll_init, closing, closed, finalized;
  int stuck;
  unsigned char *buf; /* RECV_BATCH * RX_BUF_SIZE */
  bool in_poll;       /* delivering events: sends are queued */
  unsigned qn;
  struct queued_send *queue; /* SEND_QUEUE_MAX entries */
  uint64_t send_dropped;     /* queued sends that EAGAIN or an error kept from going out */
} udp_sock;

/* ---- errors ---- */

static napi_value make_error(napi_env env, const char *code, const char *msg) {
  napi_value c, m, e;
  if (napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &c) != napi_ok ||
      napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &m) != napi_ok || napi_create_error(env, c, m, &e) != napi_ok)
    return NULL;
  return e;
}

/* Like Node's system errors: code 'ECONNREFUSED', errno -111, syscall, and "syscall CODE detail" as the message. */
static napi_value errno_error(napi_env env, int err, const char *syscall, const char *detail) {
  char code[64], msg[256];
  uv_err_name_r(-err, code, sizeof code);
  snprintf(msg, sizeof msg, "%s %s%s%s", syscall, code, detail && *detail ? " " : "", detail ? detail : "");
  napi_value e = make_error(env, code, msg), v;
  if (e == NULL) return NULL;
  if (napi_create_int32(env, -err, &v) == napi_ok) napi_set_named_property(env, e, "errno", v);
  if (napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &v) == napi_ok) napi_set_named_property(env, e, "syscall", v);
  return e;
}

static napi_value throw_errno(napi_env env, int err, const char *syscall, const char *detail) {
  napi_value e = errno_error(env, err, syscall, detail);
  if (e != NULL) napi_throw(env, e);
  else napi_throw_error(env, "ENTPKIT_NAPI", "cannot build an error object");
  return NULL;
}

static napi_value throw_closed(napi_env env) {
  napi_throw_error(env, "ERR_SOCKET_DGRAM_NOT_RUNNING", "Cannot use the socket: it is closed");
  return NULL;
}

/* ---- addresses ---- */

static void format_addr(const struct sockaddr_storage *ss, char *out, size_t n, int *port) {
  out[0] = '\0';
  *port = 0;
  if (ss->ss_family == AF_INET) {
    const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
    inet_ntop(AF_INET, &a->sin_addr, out, (socklen_t)n);
    *port = ntohs(a->sin_port);
  } else if (ss->ss_family == AF_INET6) {
    const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
    inet_ntop(AF_INET6, &a->sin6_addr, out, (socklen_t)n);
    *port = ntohs(a->sin6_port);
    if (a->sin6_scope_id != 0) {
      char ifname[IF_NAMESIZE];
      size_t len = strlen(out);
      if (if_indextoname(a->sin6_scope_id, ifname) != NULL) snprintf(out + len, n - len, "%%%s", ifname);
      else snprintf(out + len, n - len, "%%%u", (unsigned)a->sin6_scope_id);
    }
  }
}

/* "address:port" (or "[v6]:port") for error messages. */
static void format_endpoint(const struct sockaddr_storage *ss, char *out, size_t n) {
  char a[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
  int port;
  format_addr(ss, a, sizeof a, &port);
  if (a[0] == '\0') out[0] = '\0';
  else snprintf(out, n, ss->ss_family == AF_INET6 ? "[%s]:%d" : "%s:%d", a, port);
}

/* (address string, port number) of this socket's family; throws and returns false on anything else. */
static bool sockaddr_arg(napi_env env, const udp_sock *s, napi_value addr_v, napi_value port_v, struct sockaddr_storage *ss,
                         socklen_t *len) {
  napi_valuetype t;
  char text[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
  size_t n = 0;
  if (napi_typeof(env, addr_v, &t) != napi_ok || t != napi_string) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "address must be a string");
    return false;
  }
  if (napi_get_value_string_utf8(env, addr_v, text, sizeof text, &n) != napi_ok || n >= sizeof text - 1 || strlen(text) != n) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_VALUE", "address is not an IP address");
    return false;
  }
  double port;
  if (napi_typeof(env, port_v, &t) != napi_ok || t != napi_number || napi_get_value_double(env, port_v, &port) != napi_ok ||
      !(port >= 0 && port <= 65535) || port != (double)(int)port) {
    napi_throw_range_error(env, "ERR_SOCKET_BAD_PORT", "port must be an integer from 0 to 65535");
    return false;
  }
  memset(ss, 0, sizeof *ss);
  if (s->af == AF_INET) {
    struct sockaddr_in *a = (struct sockaddr_in *)ss;
    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, text, &a->sin_addr) != 1) {
      char msg[160];
      snprintf(msg, sizeof msg, "Cannot parse an IPv4 address: current value is '%s'", text);
      napi_throw_type_error(env, "ERR_INVALID_ARG_VALUE", msg);
      return false;
    }
    *len = sizeof *a;
    return true;
  }
  struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
  a->sin6_family = AF_INET6;
  a->sin6_port = htons((uint16_t)port);
  /* A zone (fe80::1%eth0 or %2) names the link of a link-local address. */
  char *zone = strchr(text, '%');
  if (zone != NULL) *zone++ = '\0';
  bool ok = inet_pton(AF_INET6, text, &a->sin6_addr) == 1;
  if (ok && zone != NULL) {
    char *end;
    unsigned long id = strtoul(zone, &end, 10);
    if (*zone == '\0') ok = false;
    else if (*end == '\0') a->sin6_scope_id = (uint32_t)id;
    else ok = (a->sin6_scope_id = if_nametoindex(zone)) != 0;
    zone[-1] = '%';
  }
  if (!ok) {
    char msg[160];
    snprintf(msg, sizeof msg, "Cannot parse an IPv6 address: current value is '%s'", text);
    napi_throw_type_error(env, "ERR_INVALID_ARG_VALUE", msg);
    return false;
  }
  *len = sizeof *a;
  return true;
}

/* ---- lifetime ---- */

static void release_napi(udp_sock *s) {
  if (s->callback != NULL) napi_delete_reference(s->env, s->callback);
  if (s->self != NULL) napi_delete_reference(s->env, s->self);
  if (s->actx != NULL) napi_async_destroy(s->env, s->actx);
  if (s->batch_ref != NULL) napi_delete_reference(s->env, s->batch_ref);
  s->batch_ref = NULL;
  s->bmem = NULL;
  s->batch = false;
  s->callback = s->self = NULL;
  s->actx = NULL;
}

static void free_sock(udp_sock *s) {
  free(s->buf);
  free(s->queue);
  free(s->tx_ring);
  free(s->bfrom);
  free(s);
}

static void close_fd(udp_sock *s) {
  if (s->fd >= 0) close(s->fd);
  s->fd = -1;
}

static void finish_close(udp_sock *s) {
  close_fd(s);
  s->closed = true;
  if (!s->finalized) {
    napi_handle_scope scope;
    bool scoped = napi_open_handle_scope(s->env, &scope) == napi_ok;
    release_napi(s);
    if (scoped) napi_close_handle_scope(s->env, scope);
  }
  if (s->cleanup != NULL) {
    napi_async_cleanup_hook_handle h = s->cleanup;
    s->cleanup = NULL;
    napi_remove_async_cleanup_hook(h);
  }
  if (s->finalized) free_sock(s);
}

static void on_close(uv_handle_t *h) { finish_close((udp_sock *)h->data); }

static void start_close(udp_sock *s) {
  if (s->closing) return;
  s->closing = true;
  if (s->poll_init) {
    /* uv_close() stops the poll and takes the fd out of epoll (and out of the
     * events of the current loop turn) before it returns, so the fd can close
     * now: the port is free when close() returns, as with node:dgram. */
    uv_close((uv_handle_t *)&s->poll, on_close);
    close_fd(s);
  } else {
    finish_close(s);
  }
}

/* The Node environment is going away (process exit, worker end) with the socket open. */
static void on_env_cleanup(napi_async_cleanup_hook_handle h, void *arg) {
  (void)h;
  start_close((udp_sock *)arg);
}

static void on_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  udp_sock *s = data;
  s->finalized = true;
  if (s->closed) {
    free_sock(s);
    return;
  }
  /* Open sockets hold their wrapper strongly, and the cleanup hook closes them
   * before the environment finalizes anything; this is only a safety net. */
  release_napi(s);
  if (s->cleanup != NULL) {
    napi_async_cleanup_hook_handle h = s->cleanup;
    s->cleanup = NULL;
    napi_remove_async_cleanup_hook(h);
  }
  if (s->closing) return; /* on_close frees it */
  start_close(s);
}

/* ---- events into JS ---- */

static void call_js(udp_sock *s, size_t argc, napi_value *argv) {
  napi_env env = s->env;
  napi_value cb, recv;
  if (s->callback == NULL || napi_get_reference_value(env, s->callback, &cb) != napi_ok || cb == NULL) return;
  if (napi_get_reference_value(env, s->self, &recv) != napi_ok || recv == NULL) napi_get_undefined(env, &recv);
  napi_make_callback(env, s->actx, recv, cb, argc, argv, NULL);
  /* A throwing handler is an uncaught exception, as in an EventEmitter listener. */
  bool pending = false;
  if (napi_is_exception_pending(env, &pending) == napi_ok && pending) {
    napi_value exc;
    if (napi_get_and_clear_last_exception(env, &exc) == napi_ok) napi_fatal_exception(env, exc);
  }
}

static napi_value instant_or_undefined(napi_env env, const struct timespec *ts) {
  napi_value v = NULL;
  if (ts != NULL) v = ntpkit_instant_of(env, ts->tv_sec, ts->tv_nsec);
  if (v == NULL) {
    napi_value ignored;
    napi_get_and_clear_last_exception(env, &ignored);
    napi_get_undefined(env, &v);
  }
  return v;
}

static void emit_message(udp_sock *s, const unsigned char *data, size_t len, const struct sockaddr_storage *from,
                         const struct timespec *rx) {
  napi_env env = s->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  char addr[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
  int port;
  format_addr(from, addr, sizeof addr, &port);
  napi_value argv[5];
  void *copy;
  if (napi_create_int32(env, EV_MESSAGE, &argv[0]) == napi_ok &&
      napi_create_buffer_copy(env, len, data, &copy, &argv[1]) == napi_ok &&
      napi_create_string_utf8(env, addr, NAPI_AUTO_LENGTH, &argv[2]) == napi_ok &&
      napi_create_int32(env, port, &argv[3]) == napi_ok) {
    argv[4] = instant_or_undefined(env, rx);
    call_js(s, 5, argv);
  }
  napi_close_handle_scope(env, scope);
}

static void emit_tx(udp_sock *s, uint32_t id, const struct timespec *ts) {
  napi_env env = s->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value argv[3];
  if (napi_create_int32(env, EV_TX, &argv[0]) == napi_ok && napi_create_uint32(env, id, &argv[1]) == napi_ok) {
    argv[2] = instant_or_undefined(env, ts);
    call_js(s, 3, argv);
  }
  napi_close_handle_scope(env, scope);
}

static void emit_error(udp_sock *s, int err, const char *syscall, const struct sockaddr_storage *dest) {
  napi_env env = s->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  char where[INET6_ADDRSTRLEN + IF_NAMESIZE + 16] = "";
  if (dest != NULL) format_endpoint(dest, where, sizeof where);
  napi_value argv[2];
  if (napi_create_int32(env, EV_ERROR, &argv[0]) == napi_ok && (argv[1] = errno_error(env, err, syscall, where)) != NULL)
    call_js(s, 2, argv);
  napi_close_handle_scope(env, scope);
}

/* ---- sending ---- */

#define UNIX_TO_NTP_SECONDS UINT64_C(2208988800)
#define NS_PER_SEC INT64_C(1000000000)

static int64_t realtime_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * NS_PER_SEC + ts.tv_nsec;
}

/* Unix nanoseconds as a wire NTP timestamp: seconds since 1900 in the high
 * 32 bits (modulo the era, RFC 5905 section 6), the fraction rounded as
 * ntpkit_instant_of() rounds, so it equals the low 64 bits of that Instant. */
static uint64_t ntp_of_ns(int64_t ns) {
  int64_t sec = ns / NS_PER_SEC, nsec = ns % NS_PER_SEC;
  if (nsec < 0) {
    nsec += NS_PER_SEC;
    sec--;
  }
  uint64_t frac = ((uint64_t)nsec * (UINT64_C(1) << 33) + UINT64_C(1000000000)) / UINT64_C(2000000000);
  return (((uint64_t)sec + UNIX_TO_NTP_SECONDS) << 32) + frac;
}

static void put_ntp(unsigned char *p, uint64_t v) {
  for (int i = 7; i >= 0; i--, v >>= 8) p[i] = (unsigned char)v;
}

/* The compensation for a class: its own estimate, else the other's, else none. */
static int64_t comp_for(const udp_sock *s, int cls) {
  if (!s->comp_on) return 0;
  if (s->cal[cls].n > 0) return s->cal[cls].ns;
  return s->cal[1 - cls].n > 0 ? s->cal[1 - cls].ns : 0;
}

/* Writes the transmit timestamp into a datagram about to go out; returns the CLOCK_REALTIME reading it is made of. */
static int64_t stamp_now(udp_sock *s, unsigned char *at, int cls) {
  int64_t now = realtime_ns();
  put_ntp(at, ntp_of_ns(now + comp_for(s, cls)) + (uint64_t)s->stamp_delta);
  return now;
}

/* Whether this stamped datagram of class `cls`, read at read_ns, is to be a compensation sample. */
static bool cal_pick(udp_sock *s, int cls, int64_t read_ns) {
  struct cal_est *c = &s->cal[cls];
  if (++c->since < c->gap && read_ns - c->last_ns < CAL_NS && c->n > 0) return false;
  uint32_t x = s->rng;
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  s->rng = x;
  c->since = 0;
  c->gap = CAL_GAP + x % CAL_GAP;
  c->last_ns = read_ns;
  return true;
}

static int cmp_i32(const void *a, const void *b) {
  int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
  return (x > y) - (x < y);
}

/* A measured latency from a T3 reading to the kernel's TX stamp of the same datagram. */
static void cal_sample(udp_sock *s, int cls, int64_t d) {
  if (d < 0 || d > CAL_MAX_NS) return;
  struct cal_est *c = &s->cal[cls];
  c->win[c->pos] = (int32_t)d;
  c->pos = (c->pos + 1) % CAL_WINDOW;
  if (c->n < CAL_WINDOW) c->n++;
  /* The first samples count at once (a fresh server answers with an estimate
   * after its first request or so); then every CAL_UPDATE. */
  if (++c->fresh < CAL_UPDATE && c->n > CAL_UPDATE) return;
  c->fresh = 0;
  int32_t sorted[CAL_WINDOW];
  memcpy(sorted, c->win, sizeof(int32_t) * c->n);
  qsort(sorted, c->n, sizeof(int32_t), cmp_i32);
  c->ns = sorted[c->n / 2];
}

/* The socket-wide flags; on demand, the TX flag goes per datagram instead. */
static int ts_flags(bool tx_all, bool opt_id) {
  return SOF_TIMESTAMPING_RX_SOFTWARE | SOF_TIMESTAMPING_SOFTWARE | (tx_all ? SOF_TIMESTAMPING_TX_SOFTWARE : 0) |
         (opt_id ? SOF_TIMESTAMPING_OPT_ID : 0) | SOF_TIMESTAMPING_OPT_TSONLY;
}

/* After a stamped send failed, the kernel may or may not have used up an id.
 * Turning OPT_ID off and on resets its count to 0 (sock_set_timestamping);
 * the error queue was read first, so no stamp numbered the old way is left. */
static void tx_resync(udp_sock *s) {
  s->tx_resync = false;
  int off = ts_flags(false, false), on = ts_flags(false, true);
  if (setsockopt(s->fd, SOL_SOCKET, SO_TIMESTAMPING, &off, sizeof off) != 0 ||
      setsockopt(s->fd, SOL_SOCKET, SO_TIMESTAMPING, &on, sizeof on) != 0) {
    s->tx_ts = false;
    return;
  }
  memset(s->tx_ring, 0, sizeof(struct tx_entry) * TX_RING);
  s->tx_next = 0;
}

/*
 * Sends datagrams with sendmmsg, stamping right before each call. A call
 * carries at most one stamped datagram, first: the kernel sends a call's
 * datagrams one after the other, some microseconds each on loopback, so
 * stamps taken before a call of N would be early by up to N of those
 * (measured: a -17 us median at 40k req/s, -46 us at 80k). Unstamped
 * datagrams (interleaved replies, non-NTP) ride along after it. Never
 * blocks, never spins: every round sends at least one datagram or drops one
 * (EAGAIN drops all that are left: the send buffer is full, and waiting for
 * it would stall every other reply). Errors other than EAGAIN/ENOBUFS are
 * reported after the last datagram, through onEvent, whose handler may queue
 * more: callers loop.
 *
 * TX ids: with the socket-wide option, send() numbered every datagram when
 * it was queued, and a failed datagram may or may not have used up an id,
 * so numbering stops. On demand, only datagrams given a tag (or picked as a
 * compensation sample) ask for a stamp, numbered here in order; a failed one
 * sets tx_resync, and no stamp is asked for until the next poll resets the
 * kernel's count.
 */
static void send_items(udp_sock *s, struct send_item *it, unsigned n) {
  if (n == 0) return;
  if (s->closing || s->fd < 0) {
    s->send_dropped += n;
    return;
  }
  struct mmsghdr msgs[SEND_QUEUE_MAX];
  struct iovec iov[SEND_QUEUE_MAX];
  union {
    struct cmsghdr align;
    unsigned char buf[CMSG_SPACE(sizeof(int))];
  } ctl[SEND_QUEUE_MAX];
  struct tx_entry pend[SEND_QUEUE_MAX]; /* on demand: what this call's stamped datagrams asked for */
  int first_err = 0;
  struct sockaddr_storage err_to;
  bool err_has_to = false;
  unsigned i = 0;
  while (i < n) {
    bool first_stamped = it[i].stamp >= 0;
    unsigned end = i + 1;
    while (end < n && end - i < SEND_QUEUE_MAX && it[end].stamp < 0) end++;
    unsigned cnt = end - i;
    bool on_demand = s->tx_on_demand && s->tx_ts && !s->tx_resync;
    int cls = i == 0 ? CLS_FIRST : CLS_REST;
    int64_t read_ns = 0;
    if (first_stamped) read_ns = stamp_now(s, it[i].data + it[i].stamp, cls);
    for (unsigned k = 0; k < cnt; k++) {
      struct send_item *q = &it[i + k];
      iov[k].iov_base = q->data;
      iov[k].iov_len = q->len;
      msgs[k].msg_hdr = (struct msghdr){.msg_name = q->to_len ? (void *)q->to : NULL, .msg_namelen = q->to_len,
                                        .msg_iov = &iov[k], .msg_iovlen = 1};
      msgs[k].msg_len = 0;
      pend[k].used = false;
      if (!on_demand) continue;
      bool cal = k == 0 && first_stamped && s->comp_on && cal_pick(s, cls, read_ns);
      if (q->tag < 0 && !cal) continue;
      struct cmsghdr *c = (struct cmsghdr *)ctl[k].buf;
      c->cmsg_level = SOL_SOCKET;
      c->cmsg_type = SO_TIMESTAMPING;
      c->cmsg_len = CMSG_LEN(sizeof(int));
      int v = SOF_TIMESTAMPING_TX_SOFTWARE;
      memcpy(CMSG_DATA(c), &v, sizeof v);
      msgs[k].msg_hdr.msg_control = ctl[k].buf;
      msgs[k].msg_hdr.msg_controllen = sizeof ctl[k].buf;
      pend[k] = (struct tx_entry){.id = 0, .used = true, .cls = (uint8_t)cls, .tag = q->tag, .read_ns = k == 0 && first_stamped ? read_ns : 0};
    }
    int r = sendmmsg(s->fd, msgs, cnt, MSG_DONTWAIT | MSG_NOSIGNAL);
    int sent = r > 0 ? r : 0;
    /* The kernel numbered the stamped datagrams it took, in order. */
    for (int k = 0; k < sent; k++) {
      if (!pend[k].used) continue;
      pend[k].id = s->tx_next++;
      s->tx_ring[pend[k].id & (TX_RING - 1)] = pend[k];
    }
    if (r > 0) {
      i += (unsigned)r;
      continue;
    }
    int err = r == 0 ? EIO : errno;
    if (err == EINTR) continue;
    if (!s->tx_on_demand) s->tx_ts = false;
    else if (pend[0].used) s->tx_resync = true;
    if (err == EAGAIN || err == EWOULDBLOCK || err == ENOBUFS) {
      s->send_dropped += n - i;
      break;
    }
    /* This datagram failed (bad destination, ...): drop it, go on with the rest. */
    s->send_dropped++;
    if (first_err == 0) {
      first_err = err;
      err_has_to = it[i].to_len != 0;
      if (err_has_to) err_to = *it[i].to;
    }
    i++;
  }
  if (first_err != 0 && !s->closing) emit_error(s, first_err, "sendmmsg", err_has_to ? &err_to : NULL);
}

static void flush_queue(udp_sock *s) {
  unsigned n = s->qn;
  if (n == 0) return;
  struct send_item items[SEND_QUEUE_MAX];
  for (unsigned i = 0; i < n; i++) {
    struct queued_send *q = &s->queue[i];
    items[i] = (struct send_item){.data = q->data, .len = q->len, .to = &q->to, .to_len = q->to_len, .stamp = q->stamp, .tag = q->tag};
  }
  /* Emptied first: an error handler (called at the end of send_items) may queue again. */
  s->qn = 0;
  send_items(s, items, n);
}

/* Flushes until the queue stays empty; error handlers that queue again get a bounded number of rounds. */
static void flush_all(udp_sock *s) {
  for (int round = 0; round < 4 && s->qn > 0; round++) flush_queue(s);
  if (s->qn > 0) {
    s->send_dropped += s->qn;
    s->qn = 0;
  }
}

/* ---- reading ---- */

/* The software timestamp from a message's control data, if there is one. */
static bool rx_timestamp(struct msghdr *msg, struct timespec *out) {
  for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c != NULL; c = CMSG_NXTHDR(msg, c)) {
    if (c->cmsg_level != SOL_SOCKET) continue;
    if (c->cmsg_type == SCM_TIMESTAMPING && c->cmsg_len >= CMSG_LEN(sizeof(struct scm_timestamping))) {
      struct scm_timestamping t;
      memcpy(&t, CMSG_DATA(c), sizeof t);
      /* ts[0] is the software stamp; zero when the packet got none. */
      if (t.ts[0].tv_sec == 0 && t.ts[0].tv_nsec == 0) return false;
      *out = t.ts[0];
      return true;
    }
    if (c->cmsg_type == SCM_TIMESTAMPNS && c->cmsg_len >= CMSG_LEN(sizeof(struct timespec))) {
      memcpy(out, CMSG_DATA(c), sizeof *out);
      return true;
    }
  }
  return false;
}

/*
 * The error queue holds TX timestamps and, with IP_RECVERR, the ICMP errors
 * the socket received (port unreachable -> ECONNREFUSED, ...). Reading an
 * ICMP entry also clears the socket's pending error (sk_err), so each error
 * is reported once. Returns how many entries were read; *errors counts errors.
 */
static int drain_errqueue(udp_sock *s, int *errors) {
  int n = 0;
  *errors = 0;
  while (!s->closing && n < MAX_ERRQUEUE_PER_WAKEUP) {
    unsigned char data[256];
    union {
      struct cmsghdr align;
      unsigned char buf[512];
    } control;
    struct sockaddr_storage dest;
    struct iovec iov = {data, sizeof data};
    struct msghdr msg = {.msg_name = &dest, .msg_namelen = sizeof dest, .msg_iov = &iov, .msg_iovlen = 1,
                         .msg_control = control.buf, .msg_controllen = sizeof control.buf};
    memset(&dest, 0, sizeof dest);
    if (recvmsg(s->fd, &msg, MSG_ERRQUEUE | MSG_DONTWAIT) < 0) {
      if (errno == EINTR) continue;
      break; /* EAGAIN: empty */
    }
    n++;
    struct sock_extended_err ee;
    bool have_ee = false, have_ts = false;
    struct timespec ts = {0, 0};
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPING &&
          c->cmsg_len >= CMSG_LEN(sizeof(struct scm_timestamping))) {
        struct scm_timestamping t;
        memcpy(&t, CMSG_DATA(c), sizeof t);
        ts = t.ts[0];
        have_ts = ts.tv_sec != 0 || ts.tv_nsec != 0;
      } else if (((c->cmsg_level == SOL_IP && c->cmsg_type == IP_RECVERR) ||
                  (c->cmsg_level == SOL_IPV6 && c->cmsg_type == IPV6_RECVERR)) &&
                 c->cmsg_len >= CMSG_LEN(sizeof ee)) {
        memcpy(&ee, CMSG_DATA(c), sizeof ee);
        have_ee = true;
      }
    }
    if (!have_ee) continue;
    if (ee.ee_origin == SO_EE_ORIGIN_TIMESTAMPING) {
      if (ee.ee_info != SCM_TSTAMP_SND || !have_ts) continue;
      if (!s->tx_on_demand) {
        emit_tx(s, ee.ee_data, &ts);
        continue;
      }
      struct tx_entry *e = &s->tx_ring[ee.ee_data & (TX_RING - 1)];
      if (!e->used || e->id != ee.ee_data) continue;
      e->used = false;
      if (e->read_ns != 0) cal_sample(s, e->cls, (int64_t)ts.tv_sec * NS_PER_SEC + ts.tv_nsec - e->read_ns);
      if (e->tag >= 0) emit_tx(s, (uint32_t)e->tag, &ts);
    } else if (ee.ee_errno != 0) {
      (*errors)++;
      emit_error(s, (int)ee.ee_errno, "recvmsg", msg.msg_namelen > 0 && dest.ss_family != AF_UNSPEC ? &dest : NULL);
    }
  }
  return n;
}

static void emit_batch(udp_sock *s, int count) {
  napi_env env = s->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value argv[2];
  if (napi_create_int32(env, EV_BATCH, &argv[0]) == napi_ok && napi_create_int32(env, count, &argv[1]) == napi_ok)
    call_js(s, 2, argv);
  napi_close_handle_scope(env, scope);
}

/* A received datagram's source, length and RX stamp, where JS reads them; no reply yet. */
static void fill_meta(udp_sock *s, int i, const struct mmsghdr *m) {
  int32_t *meta = (int32_t *)(s->bmem + B_META_OFF) + (size_t)i * META_INTS;
  uint64_t *rx = (uint64_t *)(s->bmem + B_RX_OFF);
  const struct sockaddr_storage *from = &s->bfrom[i];
  unsigned char *addr = (unsigned char *)(meta + M_ADDR);
  meta[M_LEN] = (int32_t)m->msg_len;
  meta[M_REPLY_LEN] = -1;
  meta[M_STAMP] = -1;
  meta[M_TAG] = -1;
  if (from->ss_family == AF_INET) {
    const struct sockaddr_in *a = (const struct sockaddr_in *)from;
    meta[M_FAMILY] = 4;
    meta[M_PORT] = ntohs(a->sin_port);
    memcpy(addr, &a->sin_addr, 4);
  } else if (from->ss_family == AF_INET6) {
    const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)from;
    meta[M_FAMILY] = 6;
    meta[M_PORT] = ntohs(a->sin6_port);
    memcpy(addr, &a->sin6_addr, 16);
  } else {
    meta[M_FAMILY] = 0;
    meta[M_PORT] = 0;
  }
  struct timespec ts;
  meta[M_HAS_RX] = 0;
  if (rx_timestamp((struct msghdr *)&m->msg_hdr, &ts)) {
    /* The Instant's words, as ntpkit_instant_of() makes them: low 64 bits and the era. */
    int64_t ntp_sec = (int64_t)ts.tv_sec + (int64_t)UNIX_TO_NTP_SECONDS;
    if (ntp_sec >= 0) {
      rx[i] = ntp_of_ns((int64_t)ts.tv_sec * NS_PER_SEC + ts.tv_nsec);
      meta[M_RX_ERA] = (int32_t)(ntp_sec >> 32);
      meta[M_HAS_RX] = 1;
    }
  }
}

/* The replies JS wrote for the first `count` datagrams of the batch, to their sources. */
static void send_batch_replies(udp_sock *s, int count) {
  struct send_item items[RECV_BATCH];
  unsigned n = 0;
  for (int i = 0; i < count; i++) {
    int32_t *meta = (int32_t *)(s->bmem + B_META_OFF) + (size_t)i * META_INTS;
    int32_t len = meta[M_REPLY_LEN], stamp = meta[M_STAMP], tag = meta[M_TAG];
    if (len < 0 || len > OUT_SLOT || s->bfrom[i].ss_family == AF_UNSPEC) continue;
    if (stamp < -1 || stamp > len - 8) stamp = -1;
    items[n++] = (struct send_item){.data = s->bmem + B_OUT_OFF + (size_t)i * OUT_SLOT, .len = (uint32_t)len,
                                    .to = &s->bfrom[i], .to_len = s->af == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6),
                                    .stamp = stamp, .tag = tag < 0 ? -1 : tag};
  }
  send_items(s, items, n);
}

/* Room for one datagram's control messages (RX timestamps, pktinfo). */
typedef union {
  struct cmsghdr align;
  unsigned char buf[256];
} cmsg_space;

/* Points RECV_BATCH message headers at RX_BUF_SIZE slots of `base`, for recvmmsg. */
static void prepare_recv(struct mmsghdr *msgs, struct iovec *iov, cmsg_space *control, struct sockaddr_storage *from,
                         unsigned char *base) {
  for (int i = 0; i < RECV_BATCH; i++) {
    iov[i].iov_base = base + (size_t)i * RX_BUF_SIZE;
    iov[i].iov_len = RX_BUF_SIZE;
    from[i].ss_family = AF_UNSPEC;
    msgs[i].msg_hdr = (struct msghdr){.msg_name = &from[i], .msg_namelen = sizeof from[i], .msg_iov = &iov[i],
                                      .msg_iovlen = 1, .msg_control = control[i].buf,
                                      .msg_controllen = sizeof control[i].buf};
    msgs[i].msg_len = 0;
  }
}

/*
 * recvmmsg failed with `err`: true when the socket is drained (EAGAIN).
 * Otherwise it is the socket's pending error (sk_err). With IP_RECVERR its
 * cause was queued on the error queue before it was set: report it from
 * there, with the destination; report the bare errno only if the queue had
 * nothing. EINTR just retries.
 */
static bool recv_failed(udp_sock *s, int err, int *progress, int *got) {
  if (err == EAGAIN || err == EWOULDBLOCK) return true;
  if (err == EINTR) return false;
  int errors;
  (*progress)++;
  (*got)++;
  *progress += drain_errqueue(s, &errors);
  if (errors == 0 && !s->closing) emit_error(s, err, "recvmsg", NULL);
  flush_all(s);
  return false;
}

/*
 * Batch mode: each recvmmsg batch goes to JS in one callback, and its
 * replies out together. The error queue is read only when poll flagged it
 * (POLLERR, which a non-empty error queue always raises): a server's replies
 * do not wait for their TX stamps, and a read of an empty queue is a wasted
 * syscall per wakeup.
 */
static int drain_batch(udp_sock *s, bool errq) {
  int errors = 0, progress = 0;
  /* A resync waits for the queue to be read, whether or not poll flagged it. */
  if (errq || s->tx_resync) {
    progress = drain_errqueue(s, &errors);
    if (s->tx_resync && progress < MAX_ERRQUEUE_PER_WAKEUP) tx_resync(s);
  }
  flush_all(s);
  struct mmsghdr msgs[RECV_BATCH];
  struct iovec iov[RECV_BATCH];
  cmsg_space control[RECV_BATCH];
  for (int got = 0; got < MAX_PER_WAKEUP && !s->closing && s->batch;) {
    prepare_recv(msgs, iov, control, s->bfrom, s->bmem + B_IN_OFF);
    int r = recvmmsg(s->fd, msgs, RECV_BATCH, MSG_DONTWAIT, NULL);
    if (r > 0) {
      progress += r;
      got += r;
      for (int i = 0; i < r; i++) fill_meta(s, i, &msgs[i]);
      emit_batch(s, r);
      if (s->closing || !s->batch) break; /* closed in the callback */
      send_batch_replies(s, r);
      flush_all(s);
      if (r < RECV_BATCH) break; /* drained */
      continue;
    }
    if (r == 0 || recv_failed(s, errno, &progress, &got)) break;
  }
  return progress;
}

/* Everything readable now: error queue first, so a request's TX timestamp reaches JS before its reply. */
static int drain(udp_sock *s, bool errq) {
  if (s->batch) return drain_batch(s, errq);
  int errors, progress = drain_errqueue(s, &errors);
  if (s->tx_resync && progress < MAX_ERRQUEUE_PER_WAKEUP) tx_resync(s);
  flush_all(s);
  struct mmsghdr msgs[RECV_BATCH];
  struct iovec iov[RECV_BATCH];
  struct sockaddr_storage from[RECV_BATCH];
  cmsg_space control[RECV_BATCH];
  for (int got = 0; got < MAX_PER_WAKEUP && !s->closing;) {
    prepare_recv(msgs, iov, control, from, s->buf);
    int r = recvmmsg(s->fd, msgs, RECV_BATCH, MSG_DONTWAIT, NULL);
    if (r > 0) {
      progress += r;
      got += r;
      for (int i = 0; i < r && !s->closing; i++) {
        struct timespec rx;
        bool have_rx = rx_timestamp(&msgs[i].msg_hdr, &rx);
        emit_message(s, iov[i].iov_base, msgs[i].msg_len, &from[i], have_rx ? &rx : NULL);
      }
      /* The batch's replies leave now, together, stamped just before. */
      flush_all(s);
      if (r < RECV_BATCH) break; /* drained */
      continue;
    }
    if (r == 0 || recv_failed(s, errno, &progress, &got)) break;
  }
  return progress;
}

static void on_poll_events(udp_sock *s, int status);

static void on_poll(uv_poll_t *h, int status, int events) {
  (void)events;
  udp_sock *s = h->data;
  if (s->closing) return;
  s->in_poll = true;
  on_poll_events(s, status);
  flush_all(s);
  s->in_poll = false;
}

static void on_poll_events(udp_sock *s, int status) {
  if (status == 0) {
    drain(s, false);
    return;
  }
  /* libuv's uv_poll reports POLLERR as UV_EBADF and stops the handle; for this
   * socket POLLERR means a non-empty error queue (TX timestamps, ICMP errors). */
  if (status == UV_EBADF && fcntl(s->fd, F_GETFD) != -1) {
    int progress = drain(s, true);
    if (s->closing) return;
    struct pollfd p = {.fd = s->fd, .events = POLLIN, .revents = 0};
    bool flagged = progress == 0 && poll(&p, 1, 0) == 1 && (p.revents & POLLERR);
    if (flagged) {
      /* Nothing was readable, yet the error flag stands: a pending error with
       * no queued cause. SO_ERROR reads and clears it. */
      int err = 0;
      socklen_t len = sizeof err;
      if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err != 0) {
        emit_error(s, err, "getsockopt", NULL);
        flagged = false;
      }
      if (s->closing) return;
    }
    s->stuck = flagged ? s->stuck + 1 : 0;
    if (s->stuck < MAX_STUCK_WAKEUPS) {
      int r = uv_poll_start(&s->poll, UV_READABLE, on_poll);
      if (r == 0) return;
      status = r;
    } else {
      status = UV_EIO; /* an error flag nothing clears: stop rather than spin */
    }
  }
  uv_poll_stop(&s->poll);
  emit_error(s, -status, "poll", NULL);
}

/* ---- methods ---- */

static udp_sock *this_sock(napi_env env, napi_callback_info info, size_t *argc, napi_value *argv) {
  napi_value self;
  void *data = NULL;
  if (napi_get_cb_info(env, info, argc, argv, &self, NULL) != napi_ok || napi_unwrap(env, self, &data) != napi_ok ||
      data == NULL) {
    napi_throw_type_error(env, "ERR_INVALID_THIS", "not a UdpSocket");
    return NULL;
  }
  return data;
}

/*
 * The start of every method: `s`, the socket `this` wraps, and up to n
 * arguments in argv/argc. One prologue, so that no method can forget the
 * receiver check, nor (OPEN_ONLY) that a closed socket's fd is gone.
 */
#define ANY_STATE false
#define OPEN_ONLY true
#define SOCK_METHOD(n, open_only)                 \
  size_t argc = (n);                              \
  napi_value argv[(n) > 0 ? (n) : 1];             \
  udp_sock *s = this_sock(env, info, &argc, argv); \
  if (s == NULL) return NULL;                     \
  if ((open_only) && s->closing) return throw_closed(env)

/*
 * Argument i as a boolean into *out: false (left as it was) when absent or
 * undefined unless `required`. Throws ERR_INVALID_ARG_TYPE "<name> must be
 * a boolean" and returns false for anything else.
 */
static bool bool_arg(napi_env env, size_t argc, const napi_value *argv, size_t i, bool required, const char *name, bool *out) {
  napi_valuetype t = napi_undefined;
  if (i < argc && napi_typeof(env, argv[i], &t) != napi_ok) t = napi_null;
  if (t == napi_boolean && napi_get_value_bool(env, argv[i], out) == napi_ok) return true;
  if (t == napi_undefined && !required) return true;
  char msg[64];
  snprintf(msg, sizeof msg, "%s must be a boolean", name);
  napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", msg);
  return false;
}

/* Argument i's type, napi_undefined when absent; false (a pending exception) when it cannot be told. */
static bool arg_type(napi_env env, size_t argc, const napi_value *argv, size_t i, napi_valuetype *t) {
  *t = napi_undefined;
  return i >= argc || napi_typeof(env, argv[i], t) == napi_ok;
}

static napi_value bool_value(napi_env env, bool b) {
  napi_value v;
  return napi_get_boolean(env, b, &v) == napi_ok ? v : NULL;
}

static napi_value undefined_value(napi_env env) {
  napi_value v;
  return napi_get_undefined(env, &v) == napi_ok ? v : NULL;
}

static bool set_prop(napi_env env, napi_value obj, const char *name, napi_value v) {
  return v != NULL && napi_set_named_property(env, obj, name, v) == napi_ok;
}

/* new UdpSocket(family, onEvent[, txOnDemand]) */
static napi_value udp_new(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], self, target;
  if (napi_get_new_target(env, info, &target) != napi_ok || target == NULL) {
    napi_throw_type_error(env, "ERR_CONSTRUCT_CALL_REQUIRED", "UdpSocket must be called with new");
    return NULL;
  }
  if (napi_get_cb_info(env, info, &argc, argv, &self, NULL) != napi_ok) return NULL;
  int32_t family = 0;
  napi_valuetype t;
  if (argc < 2 || napi_typeof(env, argv[0], &t) != napi_ok || t != napi_number ||
      napi_get_value_int32(env, argv[0], &family) != napi_ok || (family != 4 && family != 6)) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_VALUE", "family must be 4 or 6");
    return NULL;
  }
  if (napi_typeof(env, argv[1], &t) != napi_ok || t != napi_function) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "onEvent must be a function");
    return NULL;
  }
  bool on_demand = false;
  if (!bool_arg(env, argc, argv, 2, false, "txOnDemand", &on_demand)) return NULL;
  uv_loop_t *loop;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok) return NULL;

  int af = family == 4 ? AF_INET : AF_INET6;
  int fd = socket(af, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, errno, "socket", NULL);
  udp_sock *s = calloc(1, sizeof *s);
  unsigned char *buf = malloc((size_t)RECV_BATCH * RX_BUF_SIZE);
  struct queued_send *queue = malloc(sizeof(struct queued_send) * SEND_QUEUE_MAX);
  struct tx_entry *ring = on_demand ? calloc(TX_RING, sizeof(struct tx_entry)) : NULL;
  if (s == NULL || buf == NULL || queue == NULL || (on_demand && ring == NULL)) {
    free(s);
    free(buf);
    free(queue);
    free(ring);
    close(fd);
    return throw_errno(env, ENOMEM, "socket", NULL);
  }
  s->env = env;
  s->fd = fd;
  s->af = af;
  s->buf = buf;
  s->queue = queue;
  s->tx_ring = ring;
  s->tx_on_demand = on_demand;
  s->rng = (uint32_t)(uintptr_t)s ^ (uint32_t)realtime_ns() ^ 0x9e3779b9u;
  if (s->rng == 0) s->rng = 1;
  s->poll.data = s;

  int one = 1;
  /* Software RX and TX stamps (TX per datagram when on demand); OPT_ID
   * numbers the TX stamps, OPT_TSONLY returns them without a copy of the
   * packet. Older kernels: RX only. */
  int flags = ts_flags(!on_demand, true);
  if (setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPING, &flags, sizeof flags) == 0) {
    s->rx_mode = RX_TIMESTAMPING;
    s->tx_ts = true;
  } else if (setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one) == 0) {
    s->rx_mode = RX_TIMESTAMPNS;
  }

  if (napi_wrap(env, self, s, on_finalize, NULL, NULL) != napi_ok) {
    close(fd);
    free_sock(s);
    return NULL;
  }
  /* From here the finalizer owns `s`; failures close it and throw. */
  napi_value name;
  int r;
  if (napi_create_reference(env, self, 1, &s->self) != napi_ok ||
      napi_create_reference(env, argv[1], 1, &s->callback) != napi_ok ||
      napi_create_string_utf8(env, "ntpkit.UdpSocket", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_async_init(env, self, name, &s->actx) != napi_ok ||
      !set_prop(env, self, "rxTimestamps", bool_value(env, s->rx_mode != RX_NONE)) ||
      !set_prop(env, self, "txTimestamps", bool_value(env, s->tx_ts))) {
    start_close(s);
    return NULL;
  }
  if ((r = uv_poll_init(loop, &s->poll, fd)) != 0) {
    start_close(s);
    return throw_errno(env, -r, "uv_poll_init", NULL);
  }
  s->poll_init = true;
  if ((r = uv_poll_start(&s->poll, UV_READABLE, on_poll)) != 0) {
    start_close(s);
    return throw_errno(env, -r, "uv_poll_start", NULL);
  }
  if (napi_add_async_cleanup_hook(env, on_env_cleanup, s, &s->cleanup) != napi_ok) {
    s->cleanup = NULL;
    start_close(s);
    return NULL;
  }
  return self;
}

/* bind(address, port[, reusePort[, v6Only]]) */
static napi_value udp_bind(napi_env env, napi_callback_info info) {
  SOCK_METHOD(4, OPEN_ONLY);
  struct sockaddr_storage ss;
  socklen_t len;
  if (argc < 2) {
    napi_throw_type_error(env, "ERR_MISSING_ARGS", "bind(address, port)");
    return NULL;
  }
  if (!sockaddr_arg(env, s, argv[0], argv[1], &ss, &len)) return NULL;
  bool reuse = false, v6only = false;
  if (!bool_arg(env, argc, argv, 2, false, "reusePort", &reuse) || !bool_arg(env, argc, argv, 3, false, "v6Only", &v6only))
    return NULL;
  /* SO_REUSEPORT: several sockets (one per worker) share the port; the kernel spreads datagrams across them. */
  int one = 1;
  if (reuse && setsockopt(s->fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0)
    return throw_errno(env, errno, "setsockopt", "SO_REUSEPORT");
  /* IPV6_V6ONLY: a `::` socket next to a `0.0.0.0` one, so IPv4 clients come
   * as IPv4, not as IPv4-mapped IPv6 (twice the work per request). */
  if (v6only && s->af == AF_INET6 && setsockopt(s->fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) != 0)
    return throw_errno(env, errno, "setsockopt", "IPV6_V6ONLY");
  if (bind(s->fd, (struct sockaddr *)&ss, len) != 0) {
    char where[INET6_ADDRSTRLEN + IF_NAMESIZE + 16];
    format_endpoint(&ss, where, sizeof where);
    return throw_errno(env, errno, "bind", where);
  }
  return undefined_value(env);
}

static napi_value udp_connect(napi_env env, napi_callback_info info) {
  SOCK_METHOD(2, OPEN_ONLY);
  struct sockaddr_storage ss;
  socklen_t len;
  if (argc < 2) {
    napi_throw_type_error(env, "ERR_MISSING_ARGS", "connect(address, port)");
    return NULL;
  }
  if (!sockaddr_arg(env, s, argv[0], argv[1], &ss, &len)) return NULL;
  /* ICMP errors on the error queue, with the destination they concern. Only
   * for connected sockets, as node:dgram does: a server's socket would
   * otherwise hear of every client that went away. */
  int one = 1;
  if (s->af == AF_INET) setsockopt(s->fd, SOL_IP, IP_RECVERR, &one, sizeof one);
  else setsockopt(s->fd, SOL_IPV6, IPV6_RECVERR, &one, sizeof one);
  if (connect(s->fd, (struct sockaddr *)&ss, len) != 0) {
    char where[INET6_ADDRSTRLEN + IF_NAMESIZE + 16];
    format_endpoint(&ss, where, sizeof where);
    return throw_errno(env, errno, "connect", where);
  }
  return undefined_value(env);
}

/*
 * send(bytes[, address, port[, stampOffset]]) -> the datagram's TX timestamp
 * id, or -1 when none will come. stampOffset (-1 or undefined: none) is where
 * the NTP transmit timestamp goes, written as late as possible. Inside this
 * socket's callbacks the datagram is queued (copied) and goes out when the
 * batch's callbacks have returned; send errors are then reported through
 * onEvent rather than thrown.
 */
static napi_value udp_send(napi_env env, napi_callback_info info) {
  SOCK_METHOD(5, OPEN_ONLY);
  bool is_ta = false;
  napi_typedarray_type type;
  size_t length = 0;
  void *data = NULL;
  if (argc < 1 || napi_is_typedarray(env, argv[0], &is_ta) != napi_ok || !is_ta ||
      napi_get_typedarray_info(env, argv[0], &type, &length, &data, NULL, NULL) != napi_ok || type != napi_uint8_array) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "data must be a Uint8Array");
    return NULL;
  }
  struct sockaddr_storage ss;
  socklen_t len = 0;
  napi_valuetype t;
  if (!arg_type(env, argc, argv, 1, &t)) return NULL;
  if (t != napi_undefined) {
    if (argc < 3) {
      napi_throw_type_error(env, "ERR_MISSING_ARGS", "send(data, address, port) needs a port with the address");
      return NULL;
    }
    if (!sockaddr_arg(env, s, argv[1], argv[2], &ss, &len)) return NULL;
  }
  int32_t stamp = -1;
  if (!arg_type(env, argc, argv, 3, &t)) return NULL;
  if (t != napi_undefined) {
    double off;
    if (t != napi_number || napi_get_value_double(env, argv[3], &off) != napi_ok || off != (double)(int32_t)off ||
        (off != -1 && !(off >= 0 && off + 8 <= (double)length))) {
      napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "stampOffset must be -1 or an integer with 8 bytes of data from it");
      return NULL;
    }
    stamp = (int32_t)off;
  }
  int32_t tag = -1;
  if (!arg_type(env, argc, argv, 4, &t)) return NULL;
  if (t != napi_undefined &&
      (t != napi_number || napi_get_value_int32(env, argv[4], &tag) != napi_ok || tag < -1 || (tag >= 0 && !s->tx_on_demand))) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "txTag must be -1 or a non-negative 32-bit integer, on a txOnDemand socket");
    return NULL;
  }
  if (s->in_poll && length <= QUEUE_DATA) {
    if (s->qn == SEND_QUEUE_MAX) flush_queue(s);
    if (s->closing) return throw_closed(env); /* an error handler closed it */
    if (s->qn < SEND_QUEUE_MAX) {
      struct queued_send *q = &s->queue[s->qn++];
      if (len) memcpy(&q->to, &ss, len);
      q->to_len = len;
      q->stamp = stamp;
      q->tag = tag;
      q->len = (uint32_t)length;
      if (length) memcpy(q->data, data, length);
      napi_value id;
      if (napi_create_int64(env, s->tx_ts && !s->tx_on_demand ? (int64_t)s->tx_next++ : -1, &id) != napi_ok) return NULL;
      return id;
    }
  }
  /* Outside a callback (or too big to queue): at once, after anything queued, to keep the TX ids in order. */
  if (s->qn > 0) flush_queue(s);
  if (s->closing) return throw_closed(env);
  struct iovec iov = {data, length};
  struct msghdr msg = {.msg_name = len ? &ss : NULL, .msg_namelen = len, .msg_iov = &iov, .msg_iovlen = 1};
  union {
    struct cmsghdr align;
    unsigned char buf[CMSG_SPACE(sizeof(int))];
  } ctl;
  bool want_tx = s->tx_on_demand && tag >= 0 && s->tx_ts && !s->tx_resync;
  if (want_tx) {
    struct cmsghdr *c = (struct cmsghdr *)ctl.buf;
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SO_TIMESTAMPING;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    int v = SOF_TIMESTAMPING_TX_SOFTWARE;
    memcpy(CMSG_DATA(c), &v, sizeof v);
    msg.msg_control = ctl.buf;
    msg.msg_controllen = sizeof ctl.buf;
  }
  ssize_t r;
  int64_t read_ns = 0;
  do {
    if (stamp >= 0) read_ns = stamp_now(s, (unsigned char *)data + stamp, CLS_FIRST);
    r = sendmsg(s->fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
  } while (r < 0 && errno == EINTR);
  if (r >= 0 && want_tx) {
    uint32_t kid = s->tx_next++;
    s->tx_ring[kid & (TX_RING - 1)] = (struct tx_entry){.id = kid, .used = true, .cls = CLS_FIRST, .tag = tag, .read_ns = read_ns};
  }
  if (r < 0) {
    /* Whether a failed send used up a TX id depends on where it failed: stop
     * numbering (on demand: until the next poll resets the count) rather
     * than pair a later stamp with the wrong datagram. */
    int err = errno;
    if (!s->tx_on_demand) s->tx_ts = false;
    else if (want_tx) s->tx_resync = true;
    char where[INET6_ADDRSTRLEN + IF_NAMESIZE + 16] = "";
    if (len) format_endpoint(&ss, where, sizeof where);
    return throw_errno(env, err, "send", where);
  }
  napi_value id;
  if (napi_create_int64(env, s->tx_ts && !s->tx_on_demand ? (int64_t)s->tx_next++ : -1, &id) != napi_ok) return NULL;
  return id;
}

/* batchLayout(): where enableBatch()'s memory holds what (see batch mode in the header). */
static napi_value udp_batch_layout(napi_env env, napi_callback_info info) {
  SOCK_METHOD(0, ANY_STATE);
  napi_value obj, v;
  if (napi_create_object(env, &obj) != napi_ok) return NULL;
  const struct {
    const char *name;
    double value;
  } f[] = {
      {"size", (double)B_SIZE},         {"slots", RECV_BATCH},         {"inOffset", B_IN_OFF},
      {"inSlot", RX_BUF_SIZE},          {"rxOffset", (double)B_RX_OFF}, {"metaOffset", (double)B_META_OFF},
      {"metaInts", META_INTS},          {"outOffset", (double)B_OUT_OFF}, {"outSlot", OUT_SLOT},
      {"len", M_LEN},                   {"port", M_PORT},              {"family", M_FAMILY},
      {"hasRx", M_HAS_RX},              {"rxEra", M_RX_ERA},           {"replyLen", M_REPLY_LEN},
      {"stamp", M_STAMP},               {"tag", M_TAG},                {"addr", M_ADDR},
  };
  for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
    if (napi_create_double(env, f[i].value, &v) != napi_ok || !set_prop(env, obj, f[i].name, v)) return NULL;
  return obj;
}

/* enableBatch(arrayBuffer): from now on datagrams come in batches (onEvent(3, count)) through that memory. */
static napi_value udp_enable_batch(napi_env env, napi_callback_info info) {
  SOCK_METHOD(1, OPEN_ONLY);
  bool is_ab = false;
  void *mem = NULL;
  size_t len = 0;
  if (argc < 1 || napi_is_arraybuffer(env, argv[0], &is_ab) != napi_ok || !is_ab ||
      napi_get_arraybuffer_info(env, argv[0], &mem, &len) != napi_ok || len < B_SIZE || mem == NULL) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "enableBatch needs an ArrayBuffer of batchLayout().size bytes");
    return NULL;
  }
  if (s->batch) {
    napi_throw_error(env, "ERR_INVALID_STATE", "batch mode is already on");
    return NULL;
  }
  if (s->tx_ts && !s->tx_on_demand) {
    /* Batch replies carry tags; socket-wide ids could not be told to JS. */
    napi_throw_error(env, "ERR_INVALID_STATE", "batch mode needs a txOnDemand socket");
    return NULL;
  }
  if (s->bfrom == NULL && (s->bfrom = calloc(RECV_BATCH, sizeof(struct sockaddr_storage))) == NULL)
    return throw_errno(env, ENOMEM, "enableBatch", NULL);
  if (napi_create_reference(env, argv[0], 1, &s->batch_ref) != napi_ok) return NULL;
  s->bmem = mem;
  s->batch = true;
  return undefined_value(env);
}

/* setStampDelta(bigint): NTP units (2^-32 s) added to every T3 written in C: the served clock minus CLOCK_REALTIME. */
static napi_value udp_set_stamp_delta(napi_env env, napi_callback_info info) {
  SOCK_METHOD(1, ANY_STATE);
  int64_t v = 0;
  bool lossless = false;
  napi_valuetype t;
  if (argc < 1 || napi_typeof(env, argv[0], &t) != napi_ok || t != napi_bigint ||
      napi_get_value_bigint_int64(env, argv[0], &v, &lossless) != napi_ok || !lossless) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "the stamp delta must be a BigInt within a signed 64-bit integer");
    return NULL;
  }
  s->stamp_delta = v;
  return undefined_value(env);
}

/* setTransmitCompensation(on): add the measured stamp-to-TX latency to T3 stamps (txOnDemand sockets). */
static napi_value udp_set_transmit_compensation(napi_env env, napi_callback_info info) {
  SOCK_METHOD(1, ANY_STATE);
  bool on = false;
  if (!bool_arg(env, argc, argv, 0, true, "on", &on)) return NULL;
  if (on && !(s->tx_on_demand && s->tx_ts)) {
    napi_throw_error(env, "ERR_INVALID_STATE", "transmit compensation needs a txOnDemand socket with TX timestamps");
    return NULL;
  }
  s->comp_on = on;
  return undefined_value(env);
}

/* transmitLatency() -> { first: { ns, samples }, rest: { ns, samples } }: per class, the median
 * latency from a T3 reading to the kernel TX stamp, and how many samples it rests on (at most the window). */
static napi_value udp_transmit_latency(napi_env env, napi_callback_info info) {
  SOCK_METHOD(0, ANY_STATE);
  napi_value obj;
  if (napi_create_object(env, &obj) != napi_ok) return NULL;
  const char *names[2] = {"first", "rest"};
  for (int c = 0; c < 2; c++) {
    napi_value o, v;
    if (napi_create_object(env, &o) != napi_ok || napi_create_double(env, (double)s->cal[c].ns, &v) != napi_ok ||
        !set_prop(env, o, "ns", v) || napi_create_uint32(env, s->cal[c].n, &v) != napi_ok || !set_prop(env, o, "samples", v) ||
        !set_prop(env, obj, names[c], o))
      return NULL;
  }
  return obj;
}

/*
 * setRecvBufferSize(bytes) -> the size the kernel reports after it. A server
 * loses whatever arrives while JS is busy elsewhere (a GC pause, a timer)
 * once the default buffer (rmem_default, ~200 KiB: a few hundred small
 * datagrams, under 10 ms at 40k/s) is full. SO_RCVBUFFORCE passes rmem_max
 * where we may (CAP_NET_ADMIN); otherwise SO_RCVBUF, capped at rmem_max.
 */
static napi_value udp_set_recv_buffer_size(napi_env env, napi_callback_info info) {
  SOCK_METHOD(1, OPEN_ONLY);
  double bytes = 0;
  napi_valuetype t;
  if (argc < 1 || napi_typeof(env, argv[0], &t) != napi_ok || t != napi_number ||
      napi_get_value_double(env, argv[0], &bytes) != napi_ok || !(bytes >= 1 && bytes <= INT32_MAX) ||
      bytes != (double)(int32_t)bytes) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "bytes must be a positive integer");
    return NULL;
  }
  /* The kernel doubles the value it is given (bookkeeping overhead); ask for half. */
  int half = (int32_t)bytes / 2 > 0 ? (int32_t)bytes / 2 : 1;
  if (setsockopt(s->fd, SOL_SOCKET, SO_RCVBUFFORCE, &half, sizeof half) != 0 &&
      setsockopt(s->fd, SOL_SOCKET, SO_RCVBUF, &half, sizeof half) != 0)
    return throw_errno(env, errno, "setsockopt", "SO_RCVBUF");
  int got = 0;
  socklen_t len = sizeof got;
  if (getsockopt(s->fd, SOL_SOCKET, SO_RCVBUF, &got, &len) != 0) return throw_errno(env, errno, "getsockopt", "SO_RCVBUF");
  napi_value v;
  if (napi_create_int32(env, got, &v) != napi_ok) return NULL;
  return v;
}

/*
 * bindDevice(iface): SO_BINDTODEVICE, chrony's binddevice/bindacqdevice:
 * the socket then takes datagrams only from that interface and its sends
 * leave only through it, whatever the routing table says. Set before bind(),
 * as chronyd does (socket.c open_ip_socket).
 */
static napi_value udp_bind_device(napi_env env, napi_callback_info info) {
  SOCK_METHOD(1, OPEN_ONLY);
  char name[IF_NAMESIZE + 1];
  size_t len = 0;
  if (argc < 1 || napi_get_value_string_utf8(env, argv[0], name, sizeof name, &len) != napi_ok || len == 0 || len >= IF_NAMESIZE) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_VALUE", "bindDevice(iface): expected an interface name of 1 to 15 bytes");
    return NULL;
  }
  if (setsockopt(s->fd, SOL_SOCKET, SO_BINDTODEVICE, name, (socklen_t)len + 1) != 0)
    return throw_errno(env, errno, "setsockopt", name);
  return undefined_value(env);
}

/* droppedSends(): queued datagrams that never went out (EAGAIN, a send error, close() before the flush). */
static napi_value udp_dropped_sends(napi_env env, napi_callback_info info) {
  SOCK_METHOD(0, ANY_STATE);
  napi_value v;
  if (napi_create_double(env, (double)s->send_dropped, &v) != napi_ok) return NULL;
  return v;
}

static napi_value udp_address(napi_env env, napi_callback_info info) {
  SOCK_METHOD(0, OPEN_ONLY);
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  memset(&ss, 0, sizeof ss);
  if (getsockname(s->fd, (struct sockaddr *)&ss, &len) != 0) return throw_errno(env, errno, "getsockname", NULL);
  char addr[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
  int port;
  format_addr(&ss, addr, sizeof addr, &port);
  napi_value obj, v;
  if (napi_create_object(env, &obj) != napi_ok) return NULL;
  if (napi_create_string_utf8(env, addr, NAPI_AUTO_LENGTH, &v) != napi_ok || !set_prop(env, obj, "address", v) ||
      napi_create_int32(env, port, &v) != napi_ok || !set_prop(env, obj, "port", v) ||
      napi_create_string_utf8(env, s->af == AF_INET ? "IPv4" : "IPv6", NAPI_AUTO_LENGTH, &v) != napi_ok ||
      !set_prop(env, obj, "family", v))
    return NULL;
  return obj;
}

/* close(): idempotent. No event is delivered after it returns. */
static napi_value udp_close(napi_env env, napi_callback_info info) {
  SOCK_METHOD(0, ANY_STATE);
  start_close(s);
  return undefined_value(env);
}

static napi_value udp_ref(napi_env env, napi_callback_info info) {
  SOCK_METHOD(0, ANY_STATE);
  if (!s->closing && s->poll_init) uv_ref((uv_handle_t *)&s->poll);
  return undefined_value(env);
}

static napi_value udp_unref(napi_env env, napi_callback_info info) {
  SOCK_METHOD(0, ANY_STATE);
  if (!s->closing && s->poll_init) uv_unref((uv_handle_t *)&s->poll);
  return undefined_value(env);
}

napi_status ntpkit_udp_register(napi_env env, napi_value exports) {
  napi_property_descriptor methods[] = {
      {"bind", NULL, udp_bind, NULL, NULL, NULL, napi_default_method, NULL},
      {"connect", NULL, udp_connect, NULL, NULL, NULL, napi_default_method, NULL},
      {"send", NULL, udp_send, NULL, NULL, NULL, napi_default_method, NULL},
      {"batchLayout", NULL, udp_batch_layout, NULL, NULL, NULL, napi_default_method, NULL},
      {"enableBatch", NULL, udp_enable_batch, NULL, NULL, NULL, napi_default_method, NULL},
      {"setStampDelta", NULL, udp_set_stamp_delta, NULL, NULL, NULL, napi_default_method, NULL},
      {"setTransmitCompensation", NULL, udp_set_transmit_compensation, NULL, NULL, NULL, napi_default_method, NULL},
      {"transmitLatency", NULL, udp_transmit_latency, NULL, NULL, NULL, napi_default_method, NULL},
      {"setRecvBufferSize", NULL, udp_set_recv_buffer_size, NULL, NULL, NULL, napi_default_method, NULL},
      {"bindDevice", NULL, udp_bind_device, NULL, NULL, NULL, napi_default_method, NULL},
      {"droppedSends", NULL, udp_dropped_sends, NULL, NULL, NULL, napi_default_method, NULL},
      {"address", NULL, udp_address, NULL, NULL, NULL, napi_default_method, NULL},
      {"close", NULL, udp_close, NULL, NULL, NULL, napi_default_method, NULL},
      {"ref", NULL, udp_ref, NULL, NULL, NULL, napi_default_method, NULL},
      {"unref", NULL, udp_unref, NULL, NULL, NULL, napi_default_method, NULL},
  };
  napi_value cls;
  napi_status st = napi_define_class(env, "UdpSocket", NAPI_AUTO_LENGTH, udp_new, NULL, sizeof methods / sizeof methods[0],
                                     methods, &cls);
  if (st != napi_ok) return st;
  return napi_set_named_property(env, exports, "UdpSocket", cls);
}
