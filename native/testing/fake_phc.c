/*
 * A fake PTP hardware clock for tests, as an LD_PRELOAD shim over ioctl():
 * these machines have no /dev/ptpN, so the addon's PHC code (native/phc.c)
 * is tested against this instead. The addon runs unchanged: its open() opens
 * a real file, and its ioctl() calls land here. A PTP ioctl on the file named
 * by NTPKIT_FAKE_PHC (matched by device and inode) is answered from the
 * script below; every other ioctl goes to libc's.
 *
 * Script, from the environment:
 *   NTPKIT_FAKE_PHC            the fake device's path (a plain file);
 *   NTPKIT_FAKE_PHC_FAIL       "caps=25,precise=95,extended=95,basic=5": the
 *                              errno each ioctl fails with (default: none);
 *   NTPKIT_FAKE_PHC_OFFSET_NS  PHC minus CLOCK_REALTIME, ns (default 0);
 *   NTPKIT_FAKE_PHC_WIDTHS     "5000,800,3000": sample i's system-time bracket,
 *                              ns, cycled (default 1000; may be negative, as
 *                              after a step of the system clock);
 *   NTPKIT_FAKE_PHC_POS        "4000,100,2900": where in its bracket sample i's
 *                              PHC timestamp was taken, ns (default: the middle);
 *   NTPKIT_FAKE_PHC_LOG        a file that gets one line per PTP ioctl answered:
 *                              "GETCAPS", "PRECISE", "EXTENDED <n>", "BASIC <n>".
 * Sample i's bracket starts where sample i-1's ended, the first at the real
 * CLOCK_REALTIME, so the readings are plausible system times.
 *
 * Built by the test with the system compiler: cc -shared -fPIC -o fake_phc.so
 * fake_phc.c -ldl.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <linux/ptp_clock.h>

#define NS_PER_SEC INT64_C(1000000000)

typedef int (*ioctl_fn)(int, unsigned long, ...);

static int is_fake(int fd) {
  const char *path = getenv("NTPKIT_FAKE_PHC");
  struct stat want, got;
  if (path == NULL || stat(path, &want) != 0 || fstat(fd, &got) != 0) return 0;
  return want.st_dev == got.st_dev && want.st_ino == got.st_ino;
}

/* The errno scripted for `what` in NTPKIT_FAKE_PHC_FAIL, or 0. */
static int scripted_errno(const char *what) {
  const char *s = getenv("NTPKIT_FAKE_PHC_FAIL");
  size_t len = strlen(what);
  while (s != NULL && *s != '\0') {
    if (strncmp(s, what, len) == 0 && s[len] == '=') return atoi(s + len + 1);
    s = strchr(s, ',');
    if (s != NULL) s++;
  }
  return 0;
}

/* Item i (cycled) of a comma list of integers in `var`, or `dflt` when unset. */
static int64_t list_item(const char *var, int i, int64_t dflt) {
  const char *s = getenv(var);
  if (s == NULL || *s == '\0') return dflt;
  int count = 1;
  for (const char *p = s; *p; p++) count += *p == ',';
  i %= count;
  while (i-- > 0) s = strchr(s, ',') + 1;
  return strtoll(s, NULL, 10);
}

static void log_call(const char *what, int n) {
  const char *path = getenv("NTPKIT_FAKE_PHC_LOG");
  if (path == NULL) return;
  FILE *f = fopen(path, "a");
  if (f == NULL) return;
  if (n >= 0) fprintf(f, "%s %d\n", what, n);
  else fprintf(f, "%s\n", what);
  fclose(f);
}

static struct ptp_clock_time ptp_time(int64_t ns) {
  struct ptp_clock_time t;
  memset(&t, 0, sizeof t);
  t.sec = ns / NS_PER_SEC;
  t.nsec = (uint32_t)(ns % NS_PER_SEC);
  return t;
}

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * NS_PER_SEC + ts.tv_nsec;
}

/* Sample i: [before, phc, after], starting at *start, which moves to its end. */
static void sample(int i, int64_t *start, int64_t out[3]) {
  int64_t width = list_item("NTPKIT_FAKE_PHC_WIDTHS", i, 1000);
  int64_t pos = list_item("NTPKIT_FAKE_PHC_POS", i, width / 2);
  out[0] = *start;
  out[1] = *start + pos + list_item("NTPKIT_FAKE_PHC_OFFSET_NS", 0, 0);
  out[2] = *start + width;
  *start = out[2];
}

static int fail(int err) {
  errno = err;
  return -1;
}

static int fake_ioctl(unsigned long request, void *arg) {
  int64_t start = now_ns(), s[3];
  int err;
  if (request == PTP_CLOCK_GETCAPS) {
    log_call("GETCAPS", -1);
    if ((err = scripted_errno("caps")) != 0) return fail(err);
    memset(arg, 0, sizeof(struct ptp_clock_caps));
    ((struct ptp_clock_caps *)arg)->max_adj = 500000;
    return 0;
  }
#ifdef PTP_SYS_OFFSET_PRECISE
  if (request == PTP_SYS_OFFSET_PRECISE) {
    struct ptp_sys_offset_precise *p = arg;
    log_call("PRECISE", -1);
    if ((err = scripted_errno("precise")) != 0) return fail(err);
    sample(0, &start, s);
    p->device = ptp_time(s[1]);
    p->sys_realtime = ptp_time(s[0]);
    return 0;
  }
#endif
#ifdef PTP_SYS_OFFSET_EXTENDED
  if (request == PTP_SYS_OFFSET_EXTENDED) {
    struct ptp_sys_offset_extended *p = arg;
    log_call("EXTENDED", (int)p->n_samples);
    if ((err = scripted_errno("extended")) != 0) return fail(err);
    if (p->n_samples < 1 || p->n_samples > PTP_MAX_SAMPLES) return fail(EINVAL);
    for (unsigned i = 0; i < p->n_samples; i++) {
      sample((int)i, &start, s);
      for (int j = 0; j < 3; j++) p->ts[i][j] = ptp_time(s[j]);
    }
    return 0;
  }
#endif
  if (request == PTP_SYS_OFFSET) {
    struct ptp_sys_offset *p = arg;
    log_call("BASIC", (int)p->n_samples);
    if ((err = scripted_errno("basic")) != 0) return fail(err);
    if (p->n_samples < 1 || p->n_samples > PTP_MAX_SAMPLES) return fail(EINVAL);
    for (unsigned i = 0; i < p->n_samples; i++) {
      sample((int)i, &start, s);
      p->ts[2 * i] = ptp_time(s[0]);
      p->ts[2 * i + 1] = ptp_time(s[1]);
      p->ts[2 * i + 2] = ptp_time(s[2]);
    }
    return 0;
  }
  return 1; /* not a PTP request: the caller passes it on */
}

int ioctl(int fd, unsigned long request, ...) {
  static ioctl_fn real;
  va_list ap;
  va_start(ap, request);
  void *arg = va_arg(ap, void *);
  va_end(ap);
  if (_IOC_TYPE(request) == PTP_CLK_MAGIC && is_fake(fd)) {
    int r = fake_ioctl(request, arg);
    if (r <= 0) return r;
  }
  if (real == NULL) real = (ioctl_fn)dlsym(RTLD_NEXT, "ioctl");
  return real(fd, request, arg);
}
