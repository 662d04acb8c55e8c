/*
 * PTP hardware clocks (/dev/ptpN): open, read against CLOCK_REALTIME, close.
 * The `refclock PHC` driver reads a PHC through these (src/clock/phc.ts).
 *
 * Exports (registered by ntpkit_native.c's module init):
 *   phcOpen(path)             open(O_RDONLY) then PTP_CLOCK_GETCAPS, which
 *                             only a PTP clock answers (as chronyd checks);
 *                             returns { fd } or { errno, message, call };
 *   phcRead(fd, method, n)    ONE ioctl of the given method:
 *                               1 PTP_SYS_OFFSET           (n samples),
 *                               2 PTP_SYS_OFFSET_PRECISE   (1 cross-timestamp),
 *                               3 PTP_SYS_OFFSET_EXTENDED  (n samples),
 *                             chronyd's numbering of its reading modes;
 *                             returns { errno: 0, ts } with ts a BigInt64Array
 *                             of [sys before, phc, sys after] ns triples, or
 *                             { errno, message, call };
 *   phcClose(fd)              close(); returns errno (0 on success).
 * Kernel errors come back as values: which one decides whether the caller
 * falls back to the next method, and the caller knows the path to name.
 *
 * Built against headers that lack a method's ioctl (PRECISE appeared in Linux
 * 4.6, EXTENDED in 5.0), that method answers EOPNOTSUPP without a system
 * call, so the caller falls back exactly as on a kernel without it.
 */
#define _GNU_SOURCE
#ifndef NAPI_VERSION
#define NAPI_VERSION 8
#endif

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <linux/ptp_clock.h>

#include <node_api.h>

#include "ntpkit_native.h"

#define NS_PER_SEC INT64_C(1000000000)

/* The most samples one PTP_SYS_OFFSET(_EXTENDED) takes; the kernel refuses more with EINVAL. */
#ifndef PTP_MAX_SAMPLES
#define PTP_MAX_SAMPLES 25
#endif

enum { METHOD_BASIC = 1, METHOD_PRECISE = 2, METHOD_EXTENDED = 3 };

static int64_t ptp_ns(const struct ptp_clock_time *t) { return (int64_t)t->sec * NS_PER_SEC + (int64_t)t->nsec; }

/* { errno, message, call }: a failed system call, for the caller to explain or fall back on. */
static napi_value failure(napi_env env, int err, const char *call) {
  napi_value out, v;
  if (napi_create_object(env, &out) != napi_ok) return NULL;
  if (napi_create_int32(env, err, &v) != napi_ok || napi_set_named_property(env, out, "errno", v) != napi_ok) return NULL;
  if (napi_create_string_utf8(env, strerror(err), NAPI_AUTO_LENGTH, &v) != napi_ok ||
      napi_set_named_property(env, out, "message", v) != napi_ok)
    return NULL;
  if (napi_create_string_utf8(env, call, NAPI_AUTO_LENGTH, &v) != napi_ok || napi_set_named_property(env, out, "call", v) != napi_ok)
    return NULL;
  return out;
}

/* { errno: 0, ts }: n triples of ns, copied into a fresh BigInt64Array. */
static napi_value readings(napi_env env, const int64_t *ns, size_t n_triples) {
  napi_value out, buf, arr, zero;
  void *data;
  size_t len = n_triples * 3;
  if (napi_create_arraybuffer(env, len * sizeof(int64_t), &data, &buf) != napi_ok) return NULL;
  memcpy(data, ns, len * sizeof(int64_t));
  if (napi_create_typedarray(env, napi_bigint64_array, len, buf, 0, &arr) != napi_ok) return NULL;
  if (napi_create_object(env, &out) != napi_ok || napi_create_int32(env, 0, &zero) != napi_ok ||
      napi_set_named_property(env, out, "errno", zero) != napi_ok || napi_set_named_property(env, out, "ts", arr) != napi_ok)
    return NULL;
  return out;
}

/* An int32 argument within [lo, hi], or a thrown RangeError. */
static bool int_arg(napi_env env, napi_value v, const char *name, int32_t lo, int32_t hi, int32_t *out) {
  if (napi_get_value_int32(env, v, out) != napi_ok || *out < lo || *out > hi) {
    char msg[96];
    snprintf(msg, sizeof msg, "%s must be an integer in [%d, %d]", name, lo, hi);
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", msg);
    return false;
  }
  return true;
}

/* phcOpen(path) */
static napi_value phc_open(napi_env env, napi_callback_info info) {
  size_t argc = 1, len = 0;
  napi_value argv[1], out, v;
  char path[4096];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
      napi_get_value_string_utf8(env, argv[0], path, sizeof path, &len) != napi_ok || len == 0 || len >= sizeof path - 1 ||
      strlen(path) != len) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "PHC path must be a non-empty string without NUL, shorter than 4095 bytes");
    return NULL;
  }
  /* Read-only is enough for every reading ioctl, and is all chronyd asks for. */
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return failure(env, errno, "open");
  struct ptp_clock_caps caps;
  memset(&caps, 0, sizeof caps);
  if (ioctl(fd, PTP_CLOCK_GETCAPS, &caps) != 0) {
    int err = errno;
    close(fd);
    return failure(env, err, "PTP_CLOCK_GETCAPS");
  }
  if (napi_create_object(env, &out) != napi_ok || napi_create_int32(env, fd, &v) != napi_ok ||
      napi_set_named_property(env, out, "fd", v) != napi_ok) {
    close(fd);
    return NULL;
  }
  return out;
}

static napi_value read_basic(napi_env env, int fd, int n) {
  struct ptp_sys_offset off;
  int64_t ns[PTP_MAX_SAMPLES * 3];
  memset(&off, 0, sizeof off);
  off.n_samples = (unsigned int)n;
  if (ioctl(fd, PTP_SYS_OFFSET, &off) != 0) return failure(env, errno, "PTP_SYS_OFFSET");
  /* ts[] interleaves sys, phc, sys, phc, ..., sys: sample i is ts[2i..2i+2], sharing its ends with its neighbours. */
  for (int i = 0; i < n; i++) {
    ns[i * 3] = ptp_ns(&off.ts[2 * i]);
    ns[i * 3 + 1] = ptp_ns(&off.ts[2 * i + 1]);
    ns[i * 3 + 2] = ptp_ns(&off.ts[2 * i + 2]);
  }
  return readings(env, ns, (size_t)n);
}

static napi_value read_extended(napi_env env, int fd, int n) {
#ifdef PTP_SYS_OFFSET_EXTENDED
  struct ptp_sys_offset_extended off;
  int64_t ns[PTP_MAX_SAMPLES * 3];
  memset(&off, 0, sizeof off);
  off.n_samples = (unsigned int)n;
  if (ioctl(fd, PTP_SYS_OFFSET_EXTENDED, &off) != 0) return failure(env, errno, "PTP_SYS_OFFSET_EXTENDED");
  for (int i = 0; i < n; i++)
    for (int j = 0; j < 3; j++) ns[i * 3 + j] = ptp_ns(&off.ts[i][j]);
  return readings(env, ns, (size_t)n);
#else
  (void)fd;
  (void)n;
  return failure(env, EOPNOTSUPP, "PTP_SYS_OFFSET_EXTENDED (not in the headers this addon was built with)");
#endif
}

static napi_value read_precise(napi_env env, int fd) {
#ifdef PTP_SYS_OFFSET_PRECISE
  struct ptp_sys_offset_precise off;
  memset(&off, 0, sizeof off);
  if (ioctl(fd, PTP_SYS_OFFSET_PRECISE, &off) != 0) return failure(env, errno, "PTP_SYS_OFFSET_PRECISE");
  /* A cross-timestamp: the device and the system clock latched at the same instant, so the bracket has no width. */
  int64_t sys = ptp_ns(&off.sys_realtime);
  int64_t ns[3] = {sys, ptp_ns(&off.device), sys};
  return readings(env, ns, 1);
#else
  (void)fd;
  return failure(env, EOPNOTSUPP, "PTP_SYS_OFFSET_PRECISE (not in the headers this addon was built with)");
#endif
}

/* phcRead(fd, method, n) */
static napi_value phc_read(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  int32_t fd, method, n;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 3) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "phcRead(fd, method, samples)");
    return NULL;
  }
  if (!int_arg(env, argv[0], "fd", 0, INT32_MAX, &fd) || !int_arg(env, argv[1], "method", METHOD_BASIC, METHOD_EXTENDED, &method) ||
      !int_arg(env, argv[2], "samples", 1, PTP_MAX_SAMPLES, &n))
    return NULL;
  switch (method) {
    case METHOD_PRECISE: return read_precise(env, fd);
    case METHOD_EXTENDED: return read_extended(env, fd, n);
    default: return read_basic(env, fd, n);
  }
}

/* phcClose(fd) */
static napi_value phc_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], out;
  int32_t fd;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "phcClose(fd)");
    return NULL;
  }
  if (!int_arg(env, argv[0], "fd", 0, INT32_MAX, &fd)) return NULL;
  int err = close(fd) == 0 ? 0 : errno;
  if (napi_create_int32(env, err, &out) != napi_ok) return NULL;
  return out;
}

napi_status ntpkit_phc_register(napi_env env, napi_value exports) {
  static const struct {
    const char *name;
    napi_callback fn;
  } fns[] = {{"phcOpen", phc_open}, {"phcRead", phc_read}, {"phcClose", phc_close}};
  napi_status s;
  for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
    napi_value f;
    if ((s = napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].fn, NULL, &f)) != napi_ok) return s;
    if ((s = napi_set_named_property(env, exports, fns[i].name, f)) != napi_ok) return s;
  }
  napi_value max;
  if ((s = napi_create_int32(env, PTP_MAX_SAMPLES, &max)) != napi_ok) return s;
  return napi_set_named_property(env, exports, "phcMaxSamples", max);
}
