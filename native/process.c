/*
 * The daemon process's own settings that Node has no call for: locking its
 * memory (chrony's lock_all), its scheduling (sched_priority), asking an interface whether it can stamp
 * packets in hardware (chrony's hwtimestamp) or whether it exists (binddevice), and dropping root
 * (chrony's user). None touches a clock.
 * Failures come back as values ({ ok: false, error }), since the daemon logs
 * them and decides; only a wrong argument throws.
 */
#define _GNU_SOURCE
#define NAPI_VERSION 8

#include <errno.h>
#include <stdbool.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <linux/capability.h>
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
 * Locks every current mapping but the anonymous ones, returning 0 or an
 * errno. chronyd locks everything, now and later (MCL_FUTURE); V8 cannot live
 * with that. It decommits pages of its heap and of its JIT code area with
 * mprotect(PROT_NONE) and madvise(MADV_DONTNEED), the madvise fails with
 * EINVAL on locked memory, and V8 then aborts the process (a CHECK), at run
 * time or at the latest at exit. So the anonymous mappings (V8's heap and code
 * area, thread stacks, malloc's arenas) stay unlocked, and what is locked is
 * the program and its libraries (what a host short of memory evicts first and
 * reads back from disk at a page fault), the brk heap and the main stack.
 * Special mappings are skipped by the kernel itself; [vsyscall] is no mapping
 * of ours to lock.
 */
static int lock_named_mappings(void) {
  FILE *f = fopen("/proc/self/maps", "re");
  if (f == NULL) return errno;
  char line[4352];
  int err = 0;
  while (fgets(line, sizeof line, f) != NULL) {
    unsigned long start, end, inode;
    int path_at = 0;
    if (sscanf(line, "%lx-%lx %*s %*s %*s %lu %n", &start, &end, &inode, &path_at) < 3) continue;
    const char *path = path_at > 0 ? line + path_at : "";
    if (inode == 0 && (path[0] == '\n' || path[0] == '\0')) continue;
    if (strncmp(path, "[vsyscall]", 10) == 0) continue;
    if (mlock((void *)start, end - start) < 0 && err == 0) err = errno;
  }
  fclose(f);
  return err;
}

/*
 * memLockAll(): as chronyd's SYS_Linux_MemLockAll, RLIMIT_MEMLOCK raised to
 * infinity first, then the lock, of what V8 allows (above). Unlike chronyd, a
 * refused setrlimit (no CAP_SYS_RESOURCE, as in many containers) does not stop
 * the attempt: with CAP_IPC_LOCK the kernel ignores the limit, so mlock still
 * works.
 */
static napi_value mem_lock_all(napi_env env, napi_callback_info info) {
  (void)info;
  struct rlimit rlim = {RLIM_INFINITY, RLIM_INFINITY};
  int rlimit_err = setrlimit(RLIMIT_MEMLOCK, &rlim) < 0 ? errno : 0;
  int err = lock_named_mappings();
  if (err != 0) return rlimit_err ? result(env, 0, "setrlimit", rlimit_err) : result(env, 0, "mlock", err);
  return result(env, 1, "", 0);
}

/*
 * The interface name that is a call's one argument, into `name` (IF_NAMESIZE
 * + 1 bytes); false, with a TypeError naming `call` thrown, when it is not
 * one of 1 to 15 bytes.
 */
static bool iface_arg(napi_env env, napi_callback_info info, const char *call, char *name, size_t *len) {
  size_t argc = 1;
  napi_value argv[1];
  *len = 0;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
      napi_get_value_string_utf8(env, argv[0], name, IF_NAMESIZE + 1, len) != napi_ok || *len == 0 || *len >= IF_NAMESIZE) {
    char msg[96];
    snprintf(msg, sizeof msg, "%s(iface): expected an interface name of 1 to 15 bytes", call);
    napi_throw_type_error(env, NULL, msg);
    return false;
  }
  return true;
}

/*
 * hwTimestampInfo(iface): what ETHTOOL_GET_TS_INFO says the interface can
 * do, as chronyd's add_interface asks before SIOCSHWTSTAMP: { ok: true,
 * hardware, phcIndex, rxFilters } or { ok: false, step, error } when the
 * interface does not answer (no such interface, no ethtool support).
 */
static napi_value hw_timestamp_info(napi_env env, napi_callback_info info) {
  char name[IF_NAMESIZE + 1];
  size_t len = 0;
  if (!iface_arg(env, info, "hwTimestampInfo", name, &len)) return NULL;
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

/*
 * userByName(name): getpwnam_r, as chronyd resolves its `user` (main.c):
 * { uid, gid } or null when the name is unknown. Node can only ask about
 * the user it runs as, and /etc/passwd alone would miss NSS sources.
 */
static napi_value user_by_name(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char name[256];
  size_t len = 0;
  if (argc < 1 || napi_get_value_string_utf8(env, argv[0], name, sizeof name, &len) != napi_ok || len == 0 || len >= sizeof name - 1) {
    napi_throw_type_error(env, NULL, "userByName(name): expected a user name of 1 to 254 bytes");
    return NULL;
  }
  long size = sysconf(_SC_GETPW_R_SIZE_MAX);
  if (size < 16384) size = 16384;
  char *buf = malloc((size_t)size);
  if (buf == NULL) {
    napi_throw_error(env, NULL, "userByName: out of memory");
    return NULL;
  }
  struct passwd pw, *found = NULL;
  int r = getpwnam_r(name, &pw, buf, (size_t)size, &found);
  napi_value o, v;
  if (r != 0 || found == NULL) {
    free(buf);
    CHECK(env, napi_get_null(env, &o));
    return o;
  }
  uid_t uid = pw.pw_uid;
  gid_t gid = pw.pw_gid;
  free(buf);
  CHECK(env, napi_create_object(env, &o));
  CHECK(env, napi_create_uint32(env, uid, &v));
  CHECK(env, napi_set_named_property(env, o, "uid", v));
  CHECK(env, napi_create_uint32(env, gid, &v));
  CHECK(env, napi_set_named_property(env, o, "gid", v));
  return o;
}

/*
 * dropRoot(uid, gid, caps): chronyd's SYS_Linux_DropRoot. PR_SET_KEEPCAPS
 * keeps the permitted set across setuid; the supplementary groups, the gid
 * and the uid go (glibc applies each to every thread of the process); then
 * capset leaves exactly `caps` (capability numbers) permitted and effective
 * on the calling thread, the event loop, and nothing inheritable. Node's
 * other threads lose every capability at the setuid, having no KEEPCAPS:
 * they only do file I/O and DNS, which need none.
 */
static napi_value drop_root(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  uint32_t uid = 0, gid = 0, n = 0;
  bool is_array = false;
  if (argc < 3 || napi_get_value_uint32(env, argv[0], &uid) != napi_ok || napi_get_value_uint32(env, argv[1], &gid) != napi_ok ||
      napi_is_array(env, argv[2], &is_array) != napi_ok || !is_array || napi_get_array_length(env, argv[2], &n) != napi_ok) {
    napi_throw_type_error(env, NULL, "dropRoot(uid, gid, caps): expected two ids and an array of capability numbers");
    return NULL;
  }
  struct __user_cap_data_struct data[2];
  memset(data, 0, sizeof data);
  for (uint32_t i = 0; i < n; i++) {
    napi_value e;
    uint32_t cap = 0;
    if (napi_get_element(env, argv[2], i, &e) != napi_ok || napi_get_value_uint32(env, e, &cap) != napi_ok || cap > CAP_LAST_CAP) {
      napi_throw_range_error(env, NULL, "dropRoot: a capability number is out of range");
      return NULL;
    }
    data[cap / 32].permitted |= 1u << (cap % 32);
    data[cap / 32].effective |= 1u << (cap % 32);
  }
  if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0) return result(env, 0, "prctl", errno);
  if (setgroups(0, NULL) != 0) return result(env, 0, "setgroups", errno);
  if (setgid(gid) != 0) return result(env, 0, "setgid", errno);
  if (setuid(uid) != 0) return result(env, 0, "setuid", errno);
  struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
  if (syscall(SYS_capset, &hdr, data) != 0) return result(env, 0, "capset", errno);
  return result(env, 1, "", 0);
}

/* interfaceIndex(iface): if_nametoindex in this network namespace; 0 when there is no such interface. */
static napi_value interface_index(napi_env env, napi_callback_info info) {
  char name[IF_NAMESIZE + 1];
  size_t len = 0;
  if (!iface_arg(env, info, "interfaceIndex", name, &len)) return NULL;
  napi_value v;
  CHECK(env, napi_create_uint32(env, if_nametoindex(name), &v));
  return v;
}

napi_status ntpkit_process_register(napi_env env, napi_value exports) {
  napi_value f;
  napi_status s = napi_create_function(env, "memLockAll", NAPI_AUTO_LENGTH, mem_lock_all, NULL, &f);
  if (s == napi_ok) s = napi_set_named_property(env, exports, "memLockAll", f);
  if (s == napi_ok) s = napi_create_function(env, "hwTimestampInfo", NAPI_AUTO_LENGTH, hw_timestamp_info, NULL, &f);
  if (s == napi_ok) s = napi_set_named_property(env, exports, "hwTimestampInfo", f);
  if (s == napi_ok) s = napi_create_function(env, "schedFifo", NAPI_AUTO_LENGTH, sched_fifo, NULL, &f);
  if (s == napi_ok) s = napi_set_named_property(env, exports, "schedFifo", f);
  if (s == napi_ok) s = napi_create_function(env, "userByName", NAPI_AUTO_LENGTH, user_by_name, NULL, &f);
  if (s == napi_ok) s = napi_set_named_property(env, exports, "userByName", f);
  if (s == napi_ok) s = napi_create_function(env, "dropRoot", NAPI_AUTO_LENGTH, drop_root, NULL, &f);
  if (s == napi_ok) s = napi_set_named_property(env, exports, "dropRoot", f);
  if (s == napi_ok) s = napi_create_function(env, "interfaceIndex", NAPI_AUTO_LENGTH, interface_index, NULL, &f);
  if (s == napi_ok) s = napi_set_named_property(env, exports, "interfaceIndex", f);
  return s;
}
