/*
 * A Unix datagram socket for chronyc's command protocol: chronyd serves
 * chronyc on an AF_UNIX SOCK_DGRAM socket and answers each request to the
 * path chronyc bound its own socket to; refclock SOCK reads gpsd's samples
 * from one too. node:dgram has no AF_UNIX, and the npm package that adds
 * one (unix-dgram) is a second native module to build at install, so this
 * small class lives in the addon that already builds.
 *
 * new UnixDgramSocket(path, onMessage): binds `path` (unlinking a stale
 * socket first, as chronyd does); onMessage(data: Buffer, from: string)
 * runs on the JS thread for each datagram ("" when the sender is unbound).
 * send(data, toPath) returns 0 or an errno (a vanished client is not an
 * exception); close() stops it. An open socket keeps the loop alive.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <uv.h>

#include "ntpkit_native.h"

/* chronyd's largest request is 860 bytes; a larger datagram is read truncated and dropped by the length check. */
#define UNIX_RX_MAX 2048

typedef struct {
  napi_env env;
  napi_ref self;
  napi_ref callback;
  napi_async_context actx;
  uv_poll_t poll;
  int fd;
  bool poll_init, closing, finalized, closed;
} unix_sock;

static napi_value throw_errno_u(napi_env env, int err, const char *syscall) {
  char msg[160];
  snprintf(msg, sizeof msg, "%s: %s", syscall, strerror(err));
  char code[32];
  uv_err_name_r(-err, code, sizeof code);
  napi_throw_error(env, code, msg);
  return NULL;
}

static void release(unix_sock *s) {
  if (s->callback) { napi_delete_reference(s->env, s->callback); s->callback = NULL; }
  if (s->self) { napi_delete_reference(s->env, s->self); s->self = NULL; }
  if (s->actx) { napi_async_destroy(s->env, s->actx); s->actx = NULL; }
}

static void on_closed(uv_handle_t *h) {
  unix_sock *s = h->data;
  s->closed = true;
  if (s->finalized) free(s);
}

static void start_close(unix_sock *s) {
  if (s->closing) return;
  s->closing = true;
  if (s->poll_init) uv_close((uv_handle_t *)&s->poll, on_closed);
  else s->closed = true;
  if (s->fd >= 0) { close(s->fd); s->fd = -1; }
  if (!s->finalized) release(s);
}

static void on_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  unix_sock *s = data;
  s->finalized = true;
  if (!s->closing) start_close(s);
  if (s->closed) free(s);
}

static void on_readable(uv_poll_t *h, int status, int events) {
  (void)events;
  unix_sock *s = h->data;
  if (s->closing || status < 0) return;
  napi_env env = s->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  unsigned char buf[UNIX_RX_MAX];
  for (int i = 0; i < 64 && !s->closing; i++) {
    struct sockaddr_un from;
    socklen_t flen = sizeof from;
    memset(&from, 0, sizeof from);
    ssize_t n = recvfrom(s->fd, buf, sizeof buf, MSG_DONTWAIT, (struct sockaddr *)&from, &flen);
    if (n < 0) break;
    napi_value argv[2], cb, recv;
    void *copy;
    size_t plen = flen > offsetof(struct sockaddr_un, sun_path) ? strnlen(from.sun_path, flen - offsetof(struct sockaddr_un, sun_path)) : 0;
    if (napi_create_buffer_copy(env, (size_t)n, buf, &copy, &argv[0]) != napi_ok ||
        napi_create_string_utf8(env, from.sun_path, plen, &argv[1]) != napi_ok ||
        napi_get_reference_value(env, s->callback, &cb) != napi_ok || napi_get_reference_value(env, s->self, &recv) != napi_ok)
      break;
    napi_make_callback(env, s->actx, recv, cb, 2, argv, NULL);
    bool pending = false;
    if (napi_is_exception_pending(env, &pending) == napi_ok && pending) {
      napi_value exc;
      if (napi_get_and_clear_last_exception(env, &exc) == napi_ok) napi_fatal_exception(env, exc);
      break;
    }
  }
  napi_close_handle_scope(env, scope);
}

static unix_sock *unwrap_this(napi_env env, napi_callback_info info, size_t *argc, napi_value *argv) {
  napi_value self;
  void *data = NULL;
  if (napi_get_cb_info(env, info, argc, argv, &self, NULL) != napi_ok || napi_unwrap(env, self, &data) != napi_ok || data == NULL) {
    napi_throw_type_error(env, "ERR_INVALID_THIS", "not a UnixDgramSocket");
    return NULL;
  }
  return data;
}

static bool path_arg(napi_env env, napi_value v, struct sockaddr_un *sa) {
  size_t len = 0;
  memset(sa, 0, sizeof *sa);
  sa->sun_family = AF_UNIX;
  if (napi_get_value_string_utf8(env, v, sa->sun_path, sizeof sa->sun_path, &len) != napi_ok) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "path must be a string");
    return false;
  }
  if (len == 0 || len >= sizeof sa->sun_path - 1) {
    napi_throw_range_error(env, "ERR_INVALID_ARG_VALUE", "a Unix socket path must have 1 to 107 bytes");
    return false;
  }
  return true;
}

static napi_value unix_new(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], self, name;
  if (napi_get_cb_info(env, info, &argc, argv, &self, NULL) != napi_ok) return NULL;
  napi_valuetype t;
  if (argc < 2 || napi_typeof(env, argv[1], &t) != napi_ok || t != napi_function) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "onMessage must be a function");
    return NULL;
  }
  struct sockaddr_un sa;
  if (!path_arg(env, argv[0], &sa)) return NULL;
  uv_loop_t *loop;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok) return NULL;
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno_u(env, errno, "socket");
  /* A socket file left by an earlier run is replaced, as chronyd's bind_unix_address
   * does; one that a live process still reads (a chronyd, another daemon) is not
   * taken from it: connect() to a datagram socket succeeds only while it is bound. */
  int probe = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  bool live = probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof sa) == 0;
  if (probe >= 0) close(probe);
  if (live) {
    close(fd);
    return throw_errno_u(env, EADDRINUSE, "bind");
  }
  unlink(sa.sun_path);
  if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
    int e = errno;
    close(fd);
    return throw_errno_u(env, e, "bind");
  }
  unix_sock *s = calloc(1, sizeof *s);
  if (s == NULL) { close(fd); return throw_errno_u(env, ENOMEM, "socket"); }
  s->env = env;
  s->fd = fd;
  s->poll.data = s;
  if (napi_wrap(env, self, s, on_finalize, NULL, NULL) != napi_ok) { close(fd); free(s); return NULL; }
  if (napi_create_reference(env, self, 1, &s->self) != napi_ok || napi_create_reference(env, argv[1], 1, &s->callback) != napi_ok ||
      napi_create_string_utf8(env, "ntpkit.UnixDgramSocket", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_async_init(env, self, name, &s->actx) != napi_ok) {
    start_close(s);
    return NULL;
  }
  int r = uv_poll_init(loop, &s->poll, fd);
  if (r != 0) { start_close(s); return throw_errno_u(env, -r, "uv_poll_init"); }
  s->poll_init = true;
  if ((r = uv_poll_start(&s->poll, UV_READABLE, on_readable)) != 0) { start_close(s); return throw_errno_u(env, -r, "uv_poll_start"); }
  return self;
}

/* send(data: Uint8Array, toPath: string): 0, or the errno of a failed sendto. */
static napi_value unix_send(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], out;
  unix_sock *s = unwrap_this(env, info, &argc, argv);
  if (s == NULL) return NULL;
  if (s->closing) { napi_throw_error(env, "ERR_SOCKET_DGRAM_NOT_RUNNING", "Cannot use the socket: it is closed"); return NULL; }
  bool is_ta = false;
  void *data = NULL;
  size_t len = 0;
  if (argc < 2 || napi_is_typedarray(env, argv[0], &is_ta) != napi_ok || !is_ta) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "data must be a Uint8Array");
    return NULL;
  }
  napi_typedarray_type tt;
  napi_value ab;
  size_t off;
  if (napi_get_typedarray_info(env, argv[0], &tt, &len, &data, &ab, &off) != napi_ok) return NULL;
  struct sockaddr_un to;
  if (!path_arg(env, argv[1], &to)) return NULL;
  ssize_t n = sendto(s->fd, data, len, MSG_DONTWAIT, (struct sockaddr *)&to, sizeof to);
  napi_create_int32(env, n < 0 ? errno : 0, &out);
  return out;
}

static napi_value unix_close(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  napi_value u;
  unix_sock *s = unwrap_this(env, info, &argc, NULL);
  if (s == NULL) return NULL;
  start_close(s);
  napi_get_undefined(env, &u);
  return u;
}

napi_status ntpkit_unix_dgram_register(napi_env env, napi_value exports) {
  napi_property_descriptor methods[] = {
      {"send", NULL, unix_send, NULL, NULL, NULL, napi_default_method, NULL},
      {"close", NULL, unix_close, NULL, NULL, NULL, napi_default_method, NULL},
  };
  napi_value cls;
  napi_status st = napi_define_class(env, "UnixDgramSocket", NAPI_AUTO_LENGTH, unix_new, NULL, 2, methods, &cls);
  if (st != napi_ok) return st;
  return napi_set_named_property(env, exports, "UnixDgramSocket", cls);
}
