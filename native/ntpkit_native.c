/*
 * ntpkit_native: the kernel clocks, read through plain N-API (no C++ wrapper).
 *
 * Linux only. Every entry point here READS: the only clock_adjtime() call uses
 * modes = 0, which the kernel treats as a pure query (it needs no
 * CAP_SYS_TIME). Nothing in this file can step, slew or re-tune a clock, and
 * no argument from JavaScript reaches the `modes` field. A SystemClock that
 * disciplines the kernel clock belongs in a separate, deliberate entry point.
 *
 * Readings are returned as BigInt nanoseconds (an int64 holds every instant up
 * to 2262; a float64 would round today's CLOCK_REALTIME to 256 ns), or as an
 * ntpkit Instant for realtime().
 *
 * The addon's other parts, a UDP socket with kernel RX/TX timestamps
 * (udp_socket.c) and the PTP hardware clock reader (phc.c), are registered
 * by the module init below.
 */
#define _GNU_SOURCE
#define NAPI_VERSION 8

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <sys/timex.h>

#include <node_api.h>

#include "ntpkit_native.h"

#define NS_PER_SEC INT64_C(1000000000)

/* On an N-API failure, throw (unless something is already pending) and bail. */
#define CHECK(env, call)                                                      \
  do {                                                                        \
    if ((call) != napi_ok) {                                                  \
      bool pending_ = false;                                                  \
      napi_is_exception_pending((env), &pending_);                            \
      if (!pending_) napi_throw_error((env), "ENTPKIT_NAPI", #call " failed"); \
      return NULL;                                                            \
    }                                                                         \
  } while (0)

static napi_value throw_errno(napi_env env, const char *what, long arg, int err) {
  char msg[160];
  snprintf(msg, sizeof msg, "%s(%ld) failed: %s (errno %d)", what, arg, strerror(err), err);
  napi_throw_error(env, "ENTPKIT_CLOCK", msg);
  return NULL;
}

static napi_value bigint_ns(napi_env env, const struct timespec *ts) {
  napi_value out;
  CHECK(env, napi_create_bigint_int64(env, (int64_t)ts->tv_sec * NS_PER_SEC + ts->tv_nsec, &out));
  return out;
}

/*
 * An ntpkit Instant (src/time/instant.ts): 2^-32 s units since 1900, not
 * wrapped at eras, so today's values need 64+ bits (two BigInt words).
 * The fraction is nsec * 2^32 / 10^9 rounded half up, exactly as
 * instantFromUnixNanos() rounds; nsec * 2^33 < 2^64, so no overflow.
 * Doing this here saves the ~200 ns of BigInt arithmetic it costs in JS.
 */
#define UNIX_EPOCH_NTP_SECONDS INT64_C(2208988800)

napi_value ntpkit_instant_of(napi_env env, int64_t sec, int64_t nsec) {
  int64_t ntp_sec = sec + UNIX_EPOCH_NTP_SECONDS;
  uint64_t frac = ((uint64_t)nsec * (UINT64_C(1) << 33) + (uint64_t)NS_PER_SEC) / (2 * (uint64_t)NS_PER_SEC);
  napi_value out;
  if (ntp_sec < 0) {
    /* Before 1900: not a time any clock here reads; keep it exact anyway.
     * Magnitude = -ntp_sec * 2^32 - frac, in two words (frac < 2^32 <= that product). */
    uint64_t m = (uint64_t)0 - (uint64_t)ntp_sec;
    uint64_t mag[2] = {m << 32, m >> 32};
    if (mag[0] < frac) mag[1]--;
    mag[0] -= frac;
    CHECK(env, napi_create_bigint_words(env, 1, 2, mag, &out));
    return out;
  }
  uint64_t words[2] = {((uint64_t)ntp_sec << 32) | frac, (uint64_t)ntp_sec >> 32};
  CHECK(env, napi_create_bigint_words(env, 0, 2, words, &out));
  return out;
}

/* The clock id argument: a small integer (the CLOCK_* constants exported below). */
static bool clock_id_arg(napi_env env, napi_callback_info info, clockid_t *id) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t v;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
      napi_get_value_int32(env, argv[0], &v) != napi_ok) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "clock id must be an integer");
    return false;
  }
  *id = (clockid_t)v;
  return true;
}

/* realtimeNs(): CLOCK_REALTIME. The hot path: no arguments to unpack. */
static napi_value realtime_ns(napi_env env, napi_callback_info info) {
  (void)info;
  struct timespec ts;
  if (clock_gettime(CLOCK_REALTIME, &ts) != 0) return throw_errno(env, "clock_gettime", CLOCK_REALTIME, errno);
  return bigint_ns(env, &ts);
}

/* realtimeInstant(): CLOCK_REALTIME as an Instant. */
static napi_value realtime_instant(napi_env env, napi_callback_info info) {
  (void)info;
  struct timespec ts;
  if (clock_gettime(CLOCK_REALTIME, &ts) != 0) return throw_errno(env, "clock_gettime", CLOCK_REALTIME, errno);
  return ntpkit_instant_of(env, ts.tv_sec, ts.tv_nsec);
}

/* timespecToInstant(sec, nsec): the conversion above on given values, so tests can hold it to instantFromUnixNanos(). */
static napi_value timespec_to_instant(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  int64_t sec, nsec;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2 ||
      napi_get_value_int64(env, argv[0], &sec) != napi_ok || napi_get_value_int64(env, argv[1], &nsec) != napi_ok ||
      nsec < 0 || nsec >= NS_PER_SEC) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "expected (sec, nsec) with 0 <= nsec < 1e9");
    return NULL;
  }
  return ntpkit_instant_of(env, sec, nsec);
}

/* clockGettimeNs(id) */
static napi_value clock_gettime_ns(napi_env env, napi_callback_info info) {
  clockid_t id;
  struct timespec ts;
  if (!clock_id_arg(env, info, &id)) return NULL;
  if (clock_gettime(id, &ts) != 0) return throw_errno(env, "clock_gettime", (long)id, errno);
  return bigint_ns(env, &ts);
}

/* clockGetresNs(id) */
static napi_value clock_getres_ns(napi_env env, napi_callback_info info) {
  clockid_t id;
  struct timespec ts;
  if (!clock_id_arg(env, info, &id)) return NULL;
  if (clock_getres(id, &ts) != 0) return throw_errno(env, "clock_getres", (long)id, errno);
  return bigint_ns(env, &ts);
}

/*
 * adjtimexStatus(): the kernel's NTP state for CLOCK_REALTIME, raw units.
 * `state` is the return value (TIME_OK ... TIME_ERROR). With STA_NANO set,
 * `offset` and `timeFrac` are nanoseconds, otherwise microseconds.
 */
static napi_value adjtimex_status(napi_env env, napi_callback_info info) {
  (void)info;
  struct timex tx;
  memset(&tx, 0, sizeof tx);
  tx.modes = 0; /* read-only query: see the header comment */
  int state = clock_adjtime(CLOCK_REALTIME, &tx);
  if (state < 0) return throw_errno(env, "clock_adjtime", CLOCK_REALTIME, errno);

  /* The same object adjtimexWrite() returns (with modes 0: nothing was set). */
  return ntpkit_timex_object(env, &tx, state);
}

/*
 * adjtimeRemaining(): what is left of an adjtime() slew (ADJ_OFFSET_SS_READ),
 * in microseconds. The kernel allows this read without CAP_SYS_TIME; the
 * adjtimexStatus() read cannot show it (its `offset` is the PLL's).
 */
static napi_value adjtime_remaining(napi_env env, napi_callback_info info) {
  (void)info;
  struct timex tx;
  memset(&tx, 0, sizeof tx);
  tx.modes = ADJ_OFFSET_SS_READ; /* read-only: ADJ_OFFSET_READONLY is in it */
  if (clock_adjtime(CLOCK_REALTIME, &tx) < 0) return throw_errno(env, "clock_adjtime(ADJ_OFFSET_SS_READ)", CLOCK_REALTIME, errno);
  napi_value out;
  if (napi_create_int64(env, tx.offset, &out) != napi_ok) return NULL;
  return out;
}

NAPI_MODULE_INIT() {
  static const struct {
    const char *name;
    napi_callback fn;
  } fns[] = {
      {"realtimeNs", realtime_ns},
      {"realtimeInstant", realtime_instant},
      {"timespecToInstant", timespec_to_instant},
      {"clockGettimeNs", clock_gettime_ns},
      {"clockGetresNs", clock_getres_ns},
      {"adjtimexStatus", adjtimex_status},
      {"adjtimeRemaining", adjtime_remaining},
  };
  for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
    napi_value f;
    CHECK(env, napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].fn, NULL, &f));
    CHECK(env, napi_set_named_property(env, exports, fns[i].name, f));
  }

  static const struct {
    const char *name;
    int32_t id;
  } clocks[] = {
      {"REALTIME", CLOCK_REALTIME},
      {"MONOTONIC", CLOCK_MONOTONIC},
      {"MONOTONIC_RAW", CLOCK_MONOTONIC_RAW},
      {"BOOTTIME", CLOCK_BOOTTIME},
      {"TAI", CLOCK_TAI},
  };
  napi_value ids;
  CHECK(env, napi_create_object(env, &ids));
  for (size_t i = 0; i < sizeof clocks / sizeof clocks[0]; i++) {
    napi_value v;
    CHECK(env, napi_create_int32(env, clocks[i].id, &v));
    CHECK(env, napi_set_named_property(env, ids, clocks[i].name, v));
  }
  CHECK(env, napi_object_freeze(env, ids));
  CHECK(env, napi_set_named_property(env, exports, "clocks", ids));
  CHECK(env, ntpkit_clock_adjtime_register(env, exports));
  CHECK(env, ntpkit_phc_register(env, exports));
  CHECK(env, ntpkit_process_register(env, exports));
  CHECK(env, ntpkit_shm_register(env, exports));
  CHECK(env, ntpkit_unix_dgram_register(env, exports));
  CHECK(env, ntpkit_siv_register(env, exports));
  /* The clocks stay usable if the socket class cannot be added: the JS side
   * then finds no UdpSocket and queries through node:dgram. */
  if (ntpkit_udp_register(env, exports) != napi_ok) {
    napi_value ignored;
    napi_get_and_clear_last_exception(env, &ignored);
  }
  return exports;
}
