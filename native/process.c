/*
 * The daemon process's own settings that Node has no call for: locking its
 * memory (chrony's lock_all), its scheduling (sched_priority) and asking an interface whether it can stamp
 * packets in hardware (chrony's hwtimestamp). Neither touches a clock.
 * Failures come back as values ({ ok: false, error }), since the daemon logs
 * them and decides; only a wrong argument throws.
 */
#define _GNU_SOURCE
#define NAPI_VERSION 8

#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <linux/ethtool.h>
#include <linux/net_tstamp.h>
#include <linux/sockios.h>

#include <node_api.h>

#include "ntpkit_native.h"

#define CHECK(env, call)                         \
  do {                                           \
    if ((call) != napi_ok) return NULL;          \
  } while (0)

static napi_value result(napi_env env, int ok, const char *step, int err) {
  napi_value o, v;
  CHECK(env, napi_create_object(env, &o));
  CHECK(env, napi_get_boolean(env, ok, &v));
  CHECK(env, napi_set_named_property(env, o, "ok", v));
  if (!ok) {
    CHECK(env, napi_create_string_utf8(env, step, NAPI_AUTO_LENGTH, &v));
    CHECK(env, napi_set_named_property(env, o, "step", v));
    CHECK(env, napi_create_string_utf8(env, err ? strerror(err) : "", NAPI_AUTO_LENGTH, &v));
    CHECK(env, napi_set_named_property(env, o, "error", v));
  }
  return o;
}

/*
 * memLockAll(): as chronyd's SYS_Linux_MemLockAll, RLIMIT_MEMLOCK raised to
 * infinity first (so memory allocated later can be locked too), then
 * mlockall(MCL_CURRENT | MCL_FUTURE). Unlike chronyd, a refused setrlimit
 * (no CAP_SYS_RESOURCE, as in many containers) does not stop the attempt:
 * with CAP_IPC_LOCK the kernel ignores the limit, so mlockall still works.
 */
static napi_value mem_lock_all(napi_env env, napi_callback_info info) {
  (void)info;
  struct rlimit rlim = {RLIM_INFINITY, RLIM_INFINITY};
  int rlimit_err = setrlimit(RLIMIT_MEMLOCK, &rlim) < 0 ? errno : 0;
  if (mlockall(MCL_CURRENT | MCL_FUTURE) < 0) return rlimit_err ? result(env, 0, "setrlimit", rlimit_err) : result(env, 0, "mlockall", errno);
  return result(env, 1, "", 0);
}

/*
 * hwTimestampInfo(iface): what ETHTOOL_GET_TS_INFO says the interface can
 * do, as chronyd's add_interface asks before SIOCSHWTSTAMP: { ok: true,
 * hardware, phcIndex, rxFilters } or { ok: false, step, error } when the
 * interface does not answer (no such interface, no ethtool support).
 */
static napi_value hw_timestamp_info(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char name[IF_NAMESIZE + 1];
  size_t len = 0;
  if (argc < 1 || napi_get_value_string_utf8(env, argv[0], name, sizeof name, &len) != napi_ok || len == 0 || len >= IF_NAMESIZE) {
    napi_throw_type_error(env, NULL, "hwTimestampInfo(iface): expected an interface name of 1 to 15 bytes");
    return NULL;
  }
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) return result(env, 0, "socket", errno);
  struct ethtool_ts_info ts;
  struct ifreq req;
  memset(&ts, 0, sizeof ts);
  memset(&req, 0, sizeof req);
  ts.cmd = ETHTOOL_GET_TS_INFO;
  memcpy(req.ifr_name, name, len);
  req.ifr_data = (char *)&ts;
  int r = ioctl(fd, SIOCETHTOOL, &req);
  int err = errno;
  close(fd);
  if (r < 0) return result(env, 0, "SIOCETHTOOL", err);
  const unsigned need = SOF_TIMESTAMPING_RAW_HARDWARE | SOF_TIMESTAMPING_RX_HARDWARE | SOF_TIMESTAMPING_TX_HARDWARE;
  napi_value o, v;
  CHECK(env, napi_create_object(env, &o));
  CHECK(env, napi_get_boolean(env, 1, &v));
  CHECK(env, napi_set_named_property(env, o, "ok", v));
  CHECK(env, napi_get_boolean(env, (ts.so_timestamping & need) == need, &v));
  CHECK(env, napi_set_named_property(env, o, "hardware", v));
  CHECK(env, napi_create_int32(env, ts.phc_index, &v));
  CHECK(env, napi_set_named_property(env, o, "phcIndex", v));
  CHECK(env, napi_create_uint32(env, ts.rx_filters, &v));
  CHECK(env, napi_set_named_property(env, o, "rxFilters", v));
  return o;
}

/*
 * schedFifo(priority): chronyd's sched_priority (SYS_Linux_SetScheduler):
 * the calling thread, which is the daemon's event loop, moved to SCHED_FIFO
 * at `priority`, clamped to the policy's range.
 */
static napi_value sched_fifo(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t prio = 0;
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1 || napi_get_value_int32(env, argv[0], &prio) != napi_ok || prio < 1 || prio > 99) {
    napi_throw_range_error(env, NULL, "schedFifo(priority): expected an integer from 1 to 99");
    return NULL;
  }
  struct sched_param sp;
  memset(&sp, 0, sizeof sp);
  int pmax = sched_get_priority_max(SCHED_FIFO), pmin = sched_get_priority_min(SCHED_FIFO);
  sp.sched_priority = prio > pmax ? pmax : prio < pmin ? pmin : prio;
  if (sched_setscheduler(0, SCHED_FIFO, &sp) < 0) return result(env, 0, "sched_setscheduler", errno);
  return result(env, 1, "", 0);
}

napi_status ntpkit_process_register(napi_env env, napi_value exports) {
  napi_value f;
  napi_status s = napi_create_function(env, "memLockAll", NAPI_AUTO_LENGTH, mem_lock_all, NULL, &f);
  if (s == napi_ok) s = napi_set_named_property(env, exports, "memLockAll", f);
  if (s == napi_ok) s = napi_create_function(env, "hwTimestampInfo", NAPI_AUTO_LENGTH, hw_timestamp_info, NULL, &f);
  if (s == napi_ok) s = napi_set_named_property(env, exports, "hwTimestampInfo", f);
  if (s == napi_ok) s = napi_create_function(env, "schedFifo", NAPI_AUTO_LENGTH, sched_fifo, NULL, &f);
  if (s == napi_ok) s = napi_set_named_property(env, exports, "schedFifo", f);
  return s;
}
