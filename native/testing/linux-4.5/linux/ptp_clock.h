/*
 * linux/ptp_clock.h as Linux 4.5 had it, cut to what native/phc.c uses: no
 * PTP_SYS_OFFSET_PRECISE (4.6) nor PTP_SYS_OFFSET_EXTENDED (5.0). The PHC
 * test builds the addon against this to show it still builds, and falls back
 * to PTP_SYS_OFFSET, on a system whose headers predate those ioctls.
 */
#ifndef _PTP_CLOCK_H_
#define _PTP_CLOCK_H_

#include <linux/ioctl.h>
#include <linux/types.h>

struct ptp_clock_time {
	__s64 sec;
	__u32 nsec;
	__u32 reserved;
};

struct ptp_clock_caps {
	int max_adj;
	int n_alarm;
	int n_ext_ts;
	int n_per_out;
	int pps;
	int n_pins;
	int rsv[14];
};

#define PTP_MAX_SAMPLES 25

struct ptp_sys_offset {
	unsigned int n_samples;
	unsigned int rsv[3];
	struct ptp_clock_time ts[2 * PTP_MAX_SAMPLES + 1];
};

#define PTP_CLK_MAGIC '='

#define PTP_CLOCK_GETCAPS  _IOR(PTP_CLK_MAGIC, 1, struct ptp_clock_caps)
#define PTP_SYS_OFFSET     _IOW(PTP_CLK_MAGIC, 5, struct ptp_sys_offset)

#endif
