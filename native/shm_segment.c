/*
 * The NTP shared-memory segment (chrony's and ntpd's refclock SHM; gpsd is
 * the usual writer): System V shared memory, which Node cannot reach. The one
 * npm package made for it (shm-typed-array, 0.1.x, a few hundred downloads a
 * month) has no release in years and exposes the bytes without the reader's
 * side of the protocol; reading a segment another process writes needs the
 * copy-then-check of `count` and the clearing of `valid` done against the
 * live memory, so it is here, beside the clock readings.
 *
 *   shmAttach(key, perm) -> handle   shmget(IPC_CREAT | perm) + shmat
 *   shmRead(handle) -> null | { receive: Instant, clock: Instant, leap, precision }
 *   shmDetach(handle)                 shmdt (also when the handle is collected)
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/ipc.h>
#include <sys/shm.h>

#include <node_api.h>

#include "ntpkit_native.h"

/* The layout ntpd, chrony and gpsd share (ntpd's refclock_shm.c). */
struct shm_time {
  int mode; /* 0: use when valid; 1: use when valid and count unchanged across the read */
  volatile int count;
  time_t clockTimeStampSec;
  int clockTimeStampUSec;
  time_t receiveTimeStampSec;
  int receiveTimeStampUSec;
  int leap;
  int precision;
  int nsamples;
  volatile int valid;
  unsigned clockTimeStampNSec;
  unsigned receiveTimeStampNSec;
  int dummy[8];
};

struct segment {
  volatile struct shm_time *shm;
};

static napi_value throw_msg(napi_env env, const char *what, unsigned long key, int err) {
  char msg[160];
  snprintf(msg, sizeof msg, "%s(0x%lx) failed: %s (errno %d)", what, key, strerror(err), err);
  napi_throw_error(env, "ENTPKIT_SHM", msg);
  return NULL;
}

static void detach(struct segment *s) {
  if (s->shm != NULL) {
    shmdt((const void *)s->shm);
    s->shm = NULL;
  }
}

static void finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  detach((struct segment *)data);
  free(data);
}

static struct segment *segment_arg(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  void *data = NULL;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
      napi_get_value_external(env, argv[0], &data) != napi_ok) {
    napi_throw_type_error(env, "ENTPKIT_SHM", "expected a segment handle");
    return NULL;
  }
  return (struct segment *)data;
}

static napi_value shm_attach(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  uint32_t key = 0, perm = 0;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2 ||
      napi_get_value_uint32(env, argv[0], &key) != napi_ok || napi_get_value_uint32(env, argv[1], &perm) != napi_ok) {
    napi_throw_type_error(env, "ENTPKIT_SHM", "shmAttach(key, perm) takes two numbers");
    return NULL;
  }
  int id = shmget((key_t)key, sizeof(struct shm_time), IPC_CREAT | (int)(perm & 0777));
  if (id < 0) return throw_msg(env, "shmget", key, errno);
  void *p = shmat(id, NULL, 0);
  if (p == (void *)-1) return throw_msg(env, "shmat", key, errno);
  struct segment *s = malloc(sizeof *s);
  if (s == NULL) {
    shmdt(p);
    return throw_msg(env, "malloc", key, ENOMEM);
  }
  s->shm = p;
  napi_value out;
  if (napi_create_external(env, s, finalize, NULL, &out) != napi_ok) {
    detach(s);
    free(s);
    return NULL;
  }
  return out;
}

/* chrony's refclock_shm.c shm_poll: copy, then trust the copy only if the writer was not mid-write. */
static napi_value shm_read(napi_env env, napi_callback_info info) {
  struct segment *s = segment_arg(env, info);
  if (s == NULL) return NULL;
  napi_value nul;
  napi_get_null(env, &nul);
  if (s->shm == NULL) return nul;
  struct shm_time t;
  memcpy(&t, (const void *)s->shm, sizeof t);
  __sync_synchronize();
  if ((t.mode == 1 && t.count != s->shm->count) || !(t.mode == 0 || t.mode == 1) || !t.valid) return nul;
  s->shm->valid = 0;
  int64_t rs = (int64_t)t.receiveTimeStampSec, cs = (int64_t)t.clockTimeStampSec, rn, cn;
  /* The nanosecond fields are newer than the layout: a writer that does not fill them leaves them disagreeing with the microseconds. */
  if (t.clockTimeStampNSec / 1000 == (unsigned)t.clockTimeStampUSec && t.receiveTimeStampNSec / 1000 == (unsigned)t.receiveTimeStampUSec) {
    rn = t.receiveTimeStampNSec;
    cn = t.clockTimeStampNSec;
  } else {
    rn = 1000 * (int64_t)t.receiveTimeStampUSec;
    cn = 1000 * (int64_t)t.clockTimeStampUSec;
  }
  napi_value out, receive, clock, leap, precision;
  if ((receive = ntpkit_instant_of(env, rs, rn)) == NULL || (clock = ntpkit_instant_of(env, cs, cn)) == NULL) return NULL;
  if (napi_create_object(env, &out) != napi_ok || napi_create_int32(env, t.leap, &leap) != napi_ok ||
      napi_create_int32(env, t.precision, &precision) != napi_ok || napi_set_named_property(env, out, "receive", receive) != napi_ok ||
      napi_set_named_property(env, out, "clock", clock) != napi_ok || napi_set_named_property(env, out, "leap", leap) != napi_ok ||
      napi_set_named_property(env, out, "precision", precision) != napi_ok)
    return NULL;
  return out;
}

static napi_value shm_detach(napi_env env, napi_callback_info info) {
  struct segment *s = segment_arg(env, info);
  if (s == NULL) return NULL;
  detach(s);
  napi_value u;
  napi_get_undefined(env, &u);
  return u;
}

napi_status ntpkit_shm_register(napi_env env, napi_value exports) {
  static const struct {
    const char *name;
    napi_callback fn;
  } fns[] = {{"shmAttach", shm_attach}, {"shmRead", shm_read}, {"shmDetach", shm_detach}};
  for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
    napi_value f;
    napi_status st = napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].fn, NULL, &f);
    if (st != napi_ok) return st;
    if ((st = napi_set_named_property(env, exports, fns[i].name, f)) != napi_ok) return st;
  }
  return napi_ok;
}
