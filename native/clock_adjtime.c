/*
 * clock_adjtime(CLOCK_REALTIME) with modes != 0: the one place in ntpkit that
 * can change a clock (SystemClock, src/clock/system-clock.ts).
 *
 * Exports (registered by ntpkit_native.c's module init):
 *   adjtimexEncode(req)  validates a request and returns the struct timex it
 *                        would pass, WITHOUT calling the kernel (tests run it
 *                        on the host, where the write path must never run);
 *   adjtimexWrite(req)   the same encoding, then clock_adjtime(); returns
 *                        { state, errno, timex } and never throws for a
 *                        kernel error, so the caller can explain EPERM etc.;
 *   userHz()             sysconf(_SC_CLK_TCK): the unit of the `tick` field
 *                        is 1 us per 1/USER_HZ s (adjtimex(2));
 *   adjtimeSlew(us)      the old adjtime(): ADJ_OFFSET_SINGLESHOT, a one-shot
 *                        slew of `us` microseconds that the kernel carries out
 *                        at 500 ppm on its own, after the caller has exited
 *                        (`ntpkit sync`, as ntpdate does); returns
 *                        { errno, message, previousUs }, the slew it replaced.
 * Reads go through adjtimexStatus() in ntpkit_native.c (modes = 0).
 *
 * req = { modes, offset?, freq?, maxerror?, esterror?, status?, constant?,
 *         tai?, tick?, setOffsetNs? (BigInt) }. Every set mode bit needs its
 * field and every field needs its mode bit: a request cannot half-apply
 * because of a misspelt name. modes = 0 is refused (that is a read). Of the
 * old adjtime() modes only ADJ_OFFSET_SINGLESHOT alone is allowed, to cancel
 * a leftover adjtime() slew at start as chronyd does.
 */
#define _GNU_SOURCE
#ifndef NAPI_VERSION
#define NAPI_VERSION 8
#endif

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/timex.h>

#include <node_api.h>

#include "ntpkit_native.h"

/* Older headers may lack these (values from linux/timex.h). */
#ifndef ADJ_SETOFFSET
#define ADJ_SETOFFSET 0x0100
#endif
#ifndef ADJ_NANO
#define ADJ_NANO 0x2000
#endif
#ifndef ADJ_MICRO
#define ADJ_MICRO 0x1000
#endif
#ifndef ADJ_TAI
#define ADJ_TAI 0x0080
#endif

#define NS_PER_SEC INT64_C(1000000000)

static const int ALLOWED_MODES = ADJ_OFFSET | ADJ_FREQUENCY | ADJ_MAXERROR | ADJ_ESTERROR | ADJ_STATUS |
                                 ADJ_TIMECONST | ADJ_TAI | ADJ_SETOFFSET | ADJ_MICRO | ADJ_NANO | ADJ_TICK;

static napi_value throw_range(napi_env env, const char *msg) {
  napi_throw_range_error(env, "ERR_OUT_OF_RANGE", msg);
  return NULL;
}

/* obj[name] if present and not undefined. */
static bool get_field(napi_env env, napi_value obj, const char *name, napi_value *out) {
  bool has = false;
  if (napi_has_named_property(env, obj, name, &has) != napi_ok || !has) return false;
  if (napi_get_named_property(env, obj, name, out) != napi_ok) return false;
  napi_valuetype t;
  if (napi_typeof(env, *out, &t) != napi_ok) return false;
  return t != napi_undefined;
}

/* An integral Number that fits a C long (JS numbers are exact to 2^53). */
static bool get_long(napi_env env, napi_value v, long *out) {
  napi_valuetype t;
  double d;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_number || napi_get_value_double(env, v, &d) != napi_ok) return false;
  if (!isfinite(d) || d != floor(d) || fabs(d) > 9007199254740992.0) return false;
  *out = (long)d;
  return true;
}

/*
 * Fills *tx from req; on a bad request throws and returns false. Nothing here
 * touches the kernel.
 */
static bool encode_request(napi_env env, napi_callback_info info, struct timex *tx) {
  size_t argc = 1;
  napi_value argv[1], v;
  napi_valuetype t;
  memset(tx, 0, sizeof *tx);
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
      napi_typeof(env, argv[0], &t) != napi_ok || t != napi_object) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "adjtimex request must be an object");
    return false;
  }
  napi_value req = argv[0];
  long modes;
  if (!get_field(env, req, "modes", &v) || !get_long(env, v, &modes)) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "adjtimex request needs integer modes");
    return false;
  }
  if (modes == 0) {
    throw_range(env, "adjtimex modes = 0 is a read: use adjtimexStatus()");
    return false;
  }
  /* chrony clears a leftover adjtime() offset at start (reset_adjtime_offset): allow exactly that old mode, alone. */
  bool singleshot = modes == ADJ_OFFSET_SINGLESHOT;
  if (!singleshot && (modes & ~(long)ALLOWED_MODES) != 0) {
    char msg[96];
    snprintf(msg, sizeof msg, "adjtimex modes 0x%lx has bits ntpkit does not use (allowed: 0x%x)", modes, ALLOWED_MODES);
    throw_range(env, msg);
    return false;
  }
  if ((modes & ADJ_NANO) && (modes & ADJ_MICRO)) {
    throw_range(env, "adjtimex modes cannot hold both ADJ_NANO and ADJ_MICRO");
    return false;
  }
  if ((modes & ADJ_TAI) && (modes & ADJ_TIMECONST)) {
    /* Both travel in the `constant` field. */
    throw_range(env, "adjtimex modes cannot hold both ADJ_TAI and ADJ_TIMECONST");
    return false;
  }
  tx->modes = (unsigned int)modes;

  static const struct {
    const char *name;
    int mode;
  } fields[] = {
      {"offset", ADJ_OFFSET},       {"freq", ADJ_FREQUENCY},     {"maxerror", ADJ_MAXERROR},
      {"esterror", ADJ_ESTERROR},   {"status", ADJ_STATUS},      {"constant", ADJ_TIMECONST},
      {"tai", ADJ_TAI},             {"tick", ADJ_TICK},
  };
  for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
    bool present = get_field(env, req, fields[i].name, &v);
    bool wanted = (modes & fields[i].mode) != 0;
    char msg[128];
    if (present != wanted) {
      if (wanted)
        snprintf(msg, sizeof msg, "adjtimex request sets mode 0x%x but has no %s", fields[i].mode, fields[i].name);
      else
        snprintf(msg, sizeof msg, "adjtimex request has %s but not its mode 0x%x", fields[i].name, fields[i].mode);
      throw_range(env, msg);
      return false;
    }
    if (!present) continue;
    long n;
    if (!get_long(env, v, &n)) {
      snprintf(msg, sizeof msg, "adjtimex %s must be an integer", fields[i].name);
      napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", msg);
      return false;
    }
    switch (fields[i].mode) {
      case ADJ_OFFSET: tx->offset = n; break;
      case ADJ_FREQUENCY: tx->freq = n; break;
      case ADJ_MAXERROR: tx->maxerror = n; break;
      case ADJ_ESTERROR: tx->esterror = n; break;
      case ADJ_STATUS:
        if (n < INT32_MIN || n > INT32_MAX) {
          throw_range(env, "adjtimex status must fit an int");
          return false;
        }
        tx->status = (int)n;
        break;
      case ADJ_TIMECONST:
      case ADJ_TAI: tx->constant = n; break;
      case ADJ_TICK: tx->tick = n; break;
      default: break;
    }
  }

  bool has_step = get_field(env, req, "setOffsetNs", &v);
  if (has_step != ((modes & ADJ_SETOFFSET) != 0)) {
    throw_range(env, has_step ? "adjtimex request has setOffsetNs but not ADJ_SETOFFSET" : "adjtimex ADJ_SETOFFSET needs setOffsetNs");
    return false;
  }
  if (has_step) {
    int64_t ns;
    bool lossless = false;
    if (napi_typeof(env, v, &t) != napi_ok || t != napi_bigint || napi_get_value_bigint_int64(env, v, &ns, &lossless) != napi_ok ||
        !lossless) {
      napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "adjtimex setOffsetNs must be a BigInt that fits int64");
      return false;
    }
    if (!(modes & ADJ_NANO)) {
      /* setOffsetNs is nanoseconds; without ADJ_NANO the kernel would read tv_usec as microseconds. */
      throw_range(env, "adjtimex ADJ_SETOFFSET needs ADJ_NANO here (setOffsetNs is in nanoseconds)");
      return false;
    }
    /* The kernel wants 0 <= tv_usec < 1e9 (ns with ADJ_NANO) and a signed tv_sec: floor division. */
    int64_t sec = ns / NS_PER_SEC, rem = ns % NS_PER_SEC;
    if (rem < 0) {
      rem += NS_PER_SEC;
      sec -= 1;
    }
    tx->time.tv_sec = (time_t)sec;
    tx->time.tv_usec = (suseconds_t)rem;
  }
  return true;
}

static bool set_i64(napi_env env, napi_value obj, const char *name, int64_t v) {
  napi_value n;
  return napi_create_int64(env, v, &n) == napi_ok && napi_set_named_property(env, obj, name, n) == napi_ok;
}

/* The fields of struct timex, named as RawTimex in src/clock/native.ts. */
napi_value ntpkit_timex_object(napi_env env, const struct timex *tx, int state) {
  napi_value obj;
  if (napi_create_object(env, &obj) != napi_ok) return NULL;
  bool ok = set_i64(env, obj, "state", state) && set_i64(env, obj, "modes", tx->modes) &&
            set_i64(env, obj, "status", tx->status) && set_i64(env, obj, "offset", tx->offset) &&
            set_i64(env, obj, "freq", tx->freq) && set_i64(env, obj, "maxerror", tx->maxerror) &&
            set_i64(env, obj, "esterror", tx->esterror) && set_i64(env, obj, "constant", tx->constant) &&
            set_i64(env, obj, "precision", tx->precision) && set_i64(env, obj, "tolerance", tx->tolerance) &&
            set_i64(env, obj, "tick", tx->tick) && set_i64(env, obj, "tai", tx->tai) &&
            set_i64(env, obj, "timeSec", tx->time.tv_sec) && set_i64(env, obj, "timeFrac", tx->time.tv_usec) &&
            set_i64(env, obj, "ppsfreq", tx->ppsfreq) && set_i64(env, obj, "jitter", tx->jitter) &&
            set_i64(env, obj, "shift", tx->shift) && set_i64(env, obj, "stabil", tx->stabil) &&
            set_i64(env, obj, "jitcnt", tx->jitcnt) && set_i64(env, obj, "calcnt", tx->calcnt) &&
            set_i64(env, obj, "errcnt", tx->errcnt) && set_i64(env, obj, "stbcnt", tx->stbcnt);
  if (!ok) {
    napi_throw_error(env, "ENTPKIT_NAPI", "building the timex object failed");
    return NULL;
  }
  return obj;
}

/* adjtimexEncode(req): the struct timex adjtimexWrite(req) would pass. No system call. */
static napi_value adjtimex_encode(napi_env env, napi_callback_info info) {
  struct timex tx;
  if (!encode_request(env, info, &tx)) return NULL;
  return ntpkit_timex_object(env, &tx, 0);
}

/* adjtimexWrite(req): { state, errno, message, timex }; state is the return value or -1. */
static napi_value adjtimex_write(napi_env env, napi_callback_info info) {
  struct timex tx;
  if (!encode_request(env, info, &tx)) return NULL;
  int state = clock_adjtime(CLOCK_REALTIME, &tx);
  int err = state < 0 ? errno : 0;

  napi_value out, tobj, msg;
  if (napi_create_object(env, &out) != napi_ok) return NULL;
  if (!set_i64(env, out, "state", state) || !set_i64(env, out, "errno", err)) return NULL;
  if (napi_create_string_utf8(env, err ? strerror(err) : "", NAPI_AUTO_LENGTH, &msg) != napi_ok ||
      napi_set_named_property(env, out, "message", msg) != napi_ok)
    return NULL;
  if (state >= 0) {
    tobj = ntpkit_timex_object(env, &tx, state);
    if (tobj == NULL) return NULL;
  } else if (napi_get_null(env, &tobj) != napi_ok) {
    return NULL;
  }
  if (napi_set_named_property(env, out, "timex", tobj) != napi_ok) return NULL;
  return out;
}

/* userHz(): sysconf(_SC_CLK_TCK), the USER_HZ that scales `tick`. */
static napi_value user_hz(napi_env env, napi_callback_info info) {
  (void)info;
  long hz = sysconf(_SC_CLK_TCK);
  napi_value out;
  if (napi_create_int64(env, hz, &out) != napi_ok) return NULL;
  return out;
}

/*
 * glibc's adjtime() refuses more than about +-2145 s (INT_MAX us, less two s);
 * the same bound here keeps `offset` meaningful in a 32-bit long too.
 */
#define MAX_SINGLESHOT_US (INT64_C(2145) * 1000000)

/* adjtimeSlew(offsetUs): { errno, message, previousUs }; kernel errors come back as values. */
static napi_value adjtime_slew(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  long us;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 || !get_long(env, argv[0], &us)) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "adjtimeSlew needs an integer number of microseconds");
    return NULL;
  }
  if (us > MAX_SINGLESHOT_US || us < -MAX_SINGLESHOT_US) return throw_range(env, "adjtimeSlew offset must be within +-2145 s");
  struct timex tx;
  memset(&tx, 0, sizeof tx);
  tx.modes = ADJ_OFFSET_SINGLESHOT;
  tx.offset = us;
  int state = clock_adjtime(CLOCK_REALTIME, &tx);
  int err = state < 0 ? errno : 0;
  napi_value out, msg;
  if (napi_create_object(env, &out) != napi_ok) return NULL;
  if (!set_i64(env, out, "errno", err) || !set_i64(env, out, "previousUs", state < 0 ? 0 : tx.offset)) return NULL;
  if (napi_create_string_utf8(env, err ? strerror(err) : "", NAPI_AUTO_LENGTH, &msg) != napi_ok ||
      napi_set_named_property(env, out, "message", msg) != napi_ok)
    return NULL;
  return out;
}

napi_status ntpkit_clock_adjtime_register(napi_env env, napi_value exports) {
  static const struct {
    const char *name;
    napi_callback fn;
  } fns[] = {
      {"adjtimexEncode", adjtimex_encode},
      {"adjtimexWrite", adjtimex_write},
      {"userHz", user_hz},
      {"adjtimeSlew", adjtime_slew},
  };
  for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
    napi_value f;
    napi_status s = napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].fn, NULL, &f);
    if (s == napi_ok) s = napi_set_named_property(env, exports, fns[i].name, f);
    if (s != napi_ok) return s;
  }
  napi_value modes;
  napi_status s = napi_create_object(env, &modes);
  if (s != napi_ok) return s;
  static const struct {
    const char *name;
    int v;
  } consts[] = {
      {"ADJ_OFFSET", ADJ_OFFSET},       {"ADJ_FREQUENCY", ADJ_FREQUENCY}, {"ADJ_MAXERROR", ADJ_MAXERROR},
      {"ADJ_ESTERROR", ADJ_ESTERROR},   {"ADJ_STATUS", ADJ_STATUS},       {"ADJ_TIMECONST", ADJ_TIMECONST},
      {"ADJ_TAI", ADJ_TAI},             {"ADJ_SETOFFSET", ADJ_SETOFFSET}, {"ADJ_MICRO", ADJ_MICRO},
      {"ADJ_NANO", ADJ_NANO},           {"ADJ_TICK", ADJ_TICK},       {"ADJ_OFFSET_SINGLESHOT", ADJ_OFFSET_SINGLESHOT},
  };
  for (size_t i = 0; i < sizeof consts / sizeof consts[0]; i++) {
    napi_value v;
    s = napi_create_int32(env, consts[i].v, &v);
    if (s == napi_ok) s = napi_set_named_property(env, modes, consts[i].name, v);
    if (s != napi_ok) return s;
  }
  s = napi_object_freeze(env, modes);
  if (s == napi_ok) s = napi_set_named_property(env, exports, "adjModes", modes);
  return s;
}
