/*
 * ntpload: an NTP server load generator for bench/server (loopback only).
 *
 * Sends NTPv4 mode 3 requests (48 bytes) to one server at a fixed rate for a
 * fixed time, from several connected UDP sockets (several source ports: a
 * SO_REUSEPORT server spreads 4-tuples over its workers; all sockets share
 * the source address 127.0.0.1, so a per-address rate limit still sees one
 * client). Every process here shares one clock, so for each reply
 *   error = ((T2 - T1) + (T3 - T4)) / 2    (RFC 5905 §8 offset)
 * is the server's pure timestamping error, and
 *   delay = (T4 - T1) - (T3 - T2).
 *
 * Timestamps on this side are the kernel's (SO_TIMESTAMPING, software):
 *   T4 = RX software timestamp, taken when the loopback device hands the
 *        reply to the stack (netif_rx), before any queueing in our socket;
 *   T1 = TX software timestamp (loopback_xmit's skb_tx_timestamp), read back
 *        from the socket error queue and matched by SOF_TIMESTAMPING_OPT_ID,
 *        for every request or (--tx-sample N) a hashed 1 in N of them; the
 *        others count for loss only. With --tx-timestamp user, T1 is
 *        clock_gettime(CLOCK_REALTIME) just before a send() per packet.
 * Replies are matched by their origin timestamp: our transmit timestamp
 * carries the start second in its high 32 bits and the request's sequence
 * number in the low 32 bits. SO_RXQ_OVFL reports drops in our own sockets.
 *
 * Pacing follows the open-loop schedule rate * t on CLOCK_MONOTONIC ticks
 * (--tick-us), with sendmmsg, one socket per tick in rotation:
 *   --pacing busy  (default) one thread spins on the clock and reads the
 *                  sockets between ticks: never late by a wake-up, one core;
 *   --pacing sleep a sender thread on clock_nanosleep (timer slack 1 ns) and
 *                  a receiver thread.
 * Reading is by polling (epoll_wait with no timeout, recvmmsg, also on the
 * error queues) every --rx-poll-us: T4 is the kernel's, so reading late costs
 * no accuracy, and not being woken per reply leaves the CPU to the server.
 * The figures are computed after the drain (--drain-ms).
 *
 * Output: one JSON object on stdout. Exit status 2 on usage errors, 1 on
 * setup failures. Refuses any target outside 127.0.0.0/8 and ::1.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <linux/errqueue.h>
#include <linux/net_tstamp.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define NTP_LEN 48
#define MAX_BATCH 256
#define RX_BATCH 64
#define RX_MAX_BATCHES 4
#define MAX_SOCKETS 1024
/* Seconds from 1900 (NTP era 0) to 1970. Good until 2036, which this tool will not see. */
#define NTP_UNIX_OFFSET 2208988800ULL

struct rec {
	int64_t t1_user;   /* ns, CLOCK_REALTIME just before the send call */
	int64_t t1_kernel; /* ns, kernel TX software timestamp, 0 if none */
	int64_t t4;        /* ns, kernel RX software timestamp of the first reply */
	uint64_t t2, t3;   /* the reply's receive and transmit timestamps (wire format) */
	uint16_t sock;     /* socket the request went out on (sender) */
	uint16_t rx_sock;  /* socket the reply came in on (receiver) */
	uint8_t sent;      /* sender */
	uint8_t replies;   /* receiver */
	uint8_t stratum, leap;
};

static struct {
	char address[INET6_ADDRSTRLEN];
	int port;
	double rate;
	double duration;
	int nsock;
	int tick_us;
	int drain_ms;
	int rx_poll_us;
	int busy;
	int kernel_tx;
	int tx_sample;
	int cpu;
	int rcvbuf;
	int version;
} opt = { "", 123, 0, 3.0, 16, 100, 500, 200, 1, 1, 1, -1, 8 << 20, 4 };

static int family;
static struct sockaddr_storage target;
static socklen_t target_len;
static int fds[MAX_SOCKETS];
static struct rec *recs;
static uint64_t total;
/* Per socket: OPT_ID counter value -> sequence number (written before the send). */
static uint32_t **seq_of_txid;
static uint64_t txid_cap;
static uint32_t cookie_hi;
static volatile int stop_rx;

/* Receiver counters (receiver thread only). */
static uint64_t n_malformed_short, n_malformed_mode, n_oversize, n_unmatched, n_duplicate, n_kod;
static uint64_t n_rx_ts_missing, n_txts_unmatched, n_txts_seen;
static uint32_t sock_drops[MAX_SOCKETS];
/* Sender counters (sender thread only). */
static uint64_t n_send_errors, n_sent;
static int last_send_errno;
static int64_t send_start_ns, send_end_ns;
static double late_sum_ns, late_max_ns;
static uint64_t late_n, behind_ticks, max_backlog;

static int64_t now_ns(clockid_t c)
{
	struct timespec ts;
	clock_gettime(c, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int64_t ntp_to_ns(uint64_t ts)
{
	int64_t sec = (int64_t)(ts >> 32) - (int64_t)NTP_UNIX_OFFSET;
	uint64_t frac = ts & 0xffffffffULL;
	/* round to the nearest ns */
	int64_t ns = (int64_t)((frac * 1000000000ULL + (1ULL << 31)) >> 32);
	return sec * 1000000000LL + ns;
}

static uint64_t be64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

static void put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

static void die(const char *what)
{
	fprintf(stderr, "ntpload: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void usage(const char *msg)
{
	if (msg)
		fprintf(stderr, "ntpload: %s\n", msg);
	fprintf(stderr,
		"usage: ntpload --address ADDR [--port 123] --rate REQ_PER_S [--duration S]\n"
		"               [--sockets 16] [--tick-us 100] [--drain-ms 500] [--rx-poll-us 200]\n"
		"               [--pacing busy|sleep] [--tx-sample N] [--cpu N]\n"
		"               [--tx-timestamp kernel|user] [--rcvbuf BYTES] [--version 4]\n"
		"ADDR must be in 127.0.0.0/8 or ::1.\n");
	exit(2);
}

/* Only loopback: 127.0.0.0/8 or ::1 (not v4-mapped, not anything else). */
static void parse_target(void)
{
	memset(&target, 0, sizeof target);
	struct sockaddr_in *a4 = (struct sockaddr_in *)&target;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&target;
	if (inet_pton(AF_INET, opt.address, &a4->sin_addr) == 1) {
		if ((ntohl(a4->sin_addr.s_addr) >> 24) != 127)
			usage("refusing a target outside 127.0.0.0/8 and ::1");
		family = AF_INET;
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)opt.port);
		target_len = sizeof *a4;
	} else if (inet_pton(AF_INET6, opt.address, &a6->sin6_addr) == 1) {
		if (!IN6_IS_ADDR_LOOPBACK(&a6->sin6_addr))
			usage("refusing a target outside 127.0.0.0/8 and ::1");
		family = AF_INET6;
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)opt.port);
		target_len = sizeof *a6;
	} else {
		usage("--address is not an IP address");
	}
}

static void open_sockets(int ep)
{
	for (int s = 0; s < opt.nsock; s++) {
		int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			die("socket");
		/* FORCE (root) goes past rmem_max; fall back to the capped value otherwise. */
		if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &opt.rcvbuf, sizeof opt.rcvbuf) < 0)
			setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &opt.rcvbuf, sizeof opt.rcvbuf);
		if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &opt.rcvbuf, sizeof opt.rcvbuf) < 0)
			setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &opt.rcvbuf, sizeof opt.rcvbuf);
		unsigned int flags = SOF_TIMESTAMPING_RX_SOFTWARE | SOF_TIMESTAMPING_SOFTWARE;
		/*
		 * OPT_ID numbers only the datagrams that ask for a TX stamp, so with
		 * --tx-sample N the 1-in-N packets ask per message (an SO_TIMESTAMPING
		 * cmsg) and the numbering stays dense.
		 */
		if (opt.kernel_tx)
			flags |= SOF_TIMESTAMPING_OPT_ID | SOF_TIMESTAMPING_OPT_TSONLY |
				 (opt.tx_sample == 1 ? SOF_TIMESTAMPING_TX_SOFTWARE : 0);
		if (setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPING, &flags, sizeof flags) < 0)
			die("setsockopt SO_TIMESTAMPING");
		/* Each datagram then carries the socket's drop count: loss on our side shows up, not as the server's. */
		int one = 1;
		setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof one);
		if (connect(fd, (struct sockaddr *)&target, target_len) < 0)
			die("connect");
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (uint32_t)s };
		if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0)
			die("epoll_ctl");
		fds[s] = fd;
	}
}

/*
 * Whether request `seq` asks for a kernel TX stamp (--tx-sample N): a hash,
 * not seq % N, so the sample does not always pick the same place in a batch
 * (the first request of a burst finds the server idle, the later ones queued).
 */
static int tx_sampled(uint64_t seq)
{
	if (opt.tx_sample == 1)
		return 1;
	uint64_t z = seq + 0x9e3779b97f4a7c15ULL; /* splitmix64's finalizer */
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	z ^= z >> 31;
	return z % (uint64_t)opt.tx_sample == 0;
}

static void build_request(uint8_t *p, uint32_t seq)
{
	memset(p, 0, NTP_LEN);
	p[0] = (uint8_t)((0 << 6) | (opt.version << 3) | 3); /* LI 0, VN, mode 3 (client) */
	p[2] = 6;                                             /* poll 64 s */
	p[3] = (uint8_t)(int8_t)-20;                          /* precision ~1 us */
	put_be64(p + 40, ((uint64_t)cookie_hi << 32) | seq);  /* transmit = cookie */
}

static void send_batch(int s, uint64_t first, int n, uint64_t *txid_next)
{
	static uint8_t bufs[MAX_BATCH][NTP_LEN];
	static struct mmsghdr msgs[MAX_BATCH];
	static struct iovec iov[MAX_BATCH];
	int fd = fds[s];
	if (!opt.kernel_tx) {
		for (int j = 0; j < n; j++) {
			uint64_t seq = first + (uint64_t)j;
			build_request(bufs[0], (uint32_t)seq);
			recs[seq].sock = (uint16_t)s;
			int64_t t1 = now_ns(CLOCK_REALTIME);
			if (send(fd, bufs[0], NTP_LEN, 0) == NTP_LEN) {
				recs[seq].t1_user = t1;
				__atomic_store_n(&recs[seq].sent, 1, __ATOMIC_RELEASE);
				n_sent++;
			} else {
				n_send_errors++;
				last_send_errno = errno;
			}
		}
		return;
	}
	static union {
		char buf[CMSG_SPACE(sizeof(uint32_t))];
		struct cmsghdr align;
	} ctl;
	if (opt.tx_sample > 1 && ctl.align.cmsg_len == 0) {
		ctl.align.cmsg_level = SOL_SOCKET;
		ctl.align.cmsg_type = SO_TIMESTAMPING;
		ctl.align.cmsg_len = CMSG_LEN(sizeof(uint32_t));
		uint32_t f = SOF_TIMESTAMPING_TX_SOFTWARE;
		memcpy(CMSG_DATA(&ctl.align), &f, sizeof f);
	}
	uint64_t stamped = 0;
	for (int j = 0; j < n; j++) {
		uint64_t seq = first + (uint64_t)j;
		build_request(bufs[j], (uint32_t)seq);
		iov[j].iov_base = bufs[j];
		iov[j].iov_len = NTP_LEN;
		memset(&msgs[j], 0, sizeof msgs[j]);
		msgs[j].msg_hdr.msg_iov = &iov[j];
		msgs[j].msg_hdr.msg_iovlen = 1;
		__atomic_store_n(&recs[seq].sock, (uint16_t)s, __ATOMIC_RELEASE);
		if (!tx_sampled(seq))
			continue;
		if (opt.tx_sample > 1) {
			msgs[j].msg_hdr.msg_control = ctl.buf;
			msgs[j].msg_hdr.msg_controllen = sizeof ctl.buf;
		}
		/* The kernel numbers stamped datagrams per socket (OPT_ID) in the order they go out. */
		if (*txid_next + stamped < txid_cap)
			__atomic_store_n(&seq_of_txid[s][*txid_next + stamped], (uint32_t)seq, __ATOMIC_RELEASE);
		stamped++;
	}
	int64_t t1 = now_ns(CLOCK_REALTIME);
	int done = 0;
	while (done < n) {
		int r = sendmmsg(fd, msgs + done, (unsigned)(n - done), 0);
		if (r <= 0) {
			/* Give up on the rest of this batch; the OPT_ID counter did not advance for them. */
			last_send_errno = errno;
			n_send_errors += (uint64_t)(n - done);
			/* The counter values mapped to the unsent rest get re-mapped by the next batch. */
			break;
		}
		for (int j = done; j < done + r; j++) {
			uint64_t seq = first + (uint64_t)j;
			recs[seq].t1_user = t1;
			__atomic_store_n(&recs[seq].sent, 1, __ATOMIC_RELEASE);
			if (tx_sampled(seq))
				(*txid_next)++;
		}
		n_sent += (uint64_t)r;
		done += r;
	}
}

/*
 * The open-loop schedule: rate * t requests by time t. When the sender lost
 * the CPU (two cores shared with the server and the kernel's softirq work),
 * it catches up at no more than twice the nominal per-tick batch, so a stall
 * does not turn into one burst of thousands of requests that would overflow
 * any server's socket buffer by itself. Ticks that went by are skipped.
 */
struct pacer {
	int64_t start, tick, dur, k;
	uint64_t cap, next;
	uint64_t *txid_next;
};

static void pacer_init(struct pacer *p)
{
	p->tick = (int64_t)opt.tick_us * 1000;
	p->start = now_ns(CLOCK_MONOTONIC) + 20000000; /* let the receiver settle */
	p->dur = (int64_t)llround(opt.duration * 1e9);
	p->k = 0;
	p->cap = 2 * (uint64_t)ceil(opt.rate * (double)p->tick / 1e9);
	p->next = 0;
	p->txid_next = calloc((size_t)opt.nsock, sizeof *p->txid_next);
	if (!p->txid_next)
		die("calloc");
	send_start_ns = p->start;
}

static int64_t pacer_deadline(const struct pacer *p)
{
	return p->start + p->k * p->tick;
}

/* Sends what the schedule asks for at `woke` (at most `cap`), then moves to the next tick after now. */
static void pacer_fire(struct pacer *p, int64_t woke)
{
	double late = (double)(woke - pacer_deadline(p));
	late_sum_ns += late;
	late_n++;
	if (late > late_max_ns)
		late_max_ns = late;
	int64_t elapsed = woke - p->start + 1;
	if (elapsed > p->dur)
		elapsed = p->dur;
	uint64_t want = (uint64_t)llround(opt.rate * (double)elapsed / 1e9);
	if (want > total || elapsed == p->dur)
		want = total;
	uint64_t n = want > p->next ? want - p->next : 0;
	if (n > p->cap) {
		n = p->cap;
		behind_ticks++;
		if (want - p->next - n > max_backlog)
			max_backlog = want - p->next - n;
	}
	int s = (int)(p->k % opt.nsock);
	while (n > 0) {
		int b = (int)(n > MAX_BATCH ? MAX_BATCH : n);
		send_batch(s, p->next, b, &p->txid_next[s]);
		p->next += (uint64_t)b;
		n -= (uint64_t)b;
	}
	int64_t k_now = (now_ns(CLOCK_MONOTONIC) - p->start) / p->tick + 1;
	p->k = k_now > p->k + 1 ? k_now : p->k + 1;
	if (p->next >= total)
		send_end_ns = now_ns(CLOCK_MONOTONIC);
}

/* --pacing sleep: a thread of its own, sleeping until each tick. */
static void *sender(void *arg)
{
	(void)arg;
	prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
	struct pacer p;
	pacer_init(&p);
	while (p.next < total) {
		int64_t d = pacer_deadline(&p);
		struct timespec ts = { .tv_sec = d / 1000000000LL, .tv_nsec = d % 1000000000LL };
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
			;
		pacer_fire(&p, now_ns(CLOCK_MONOTONIC));
	}
	free(p.txid_next);
	return NULL;
}

static int rx_pass(void);

/*
 * --pacing busy: one thread spins on the clock, sends on time and reads the
 * sockets every --rx-poll-us in between. It holds one core at 100% whatever
 * the rate, and is never late by a wake-up; the server keeps the other core.
 */
static void send_busy(void)
{
	struct pacer p;
	pacer_init(&p);
	int64_t next_rx = 0, poll = (int64_t)opt.rx_poll_us * 1000;
	while (p.next < total) {
		int64_t now = now_ns(CLOCK_MONOTONIC);
		if (now >= pacer_deadline(&p)) {
			pacer_fire(&p, now);
		} else if (now >= next_rx) {
			rx_pass();
			next_rx = now + poll;
		}
	}
	free(p.txid_next);
}

static void handle_txts(int s, const struct msghdr *mh)
{
	struct timespec ts = { 0, 0 };
	struct sock_extended_err *ee = NULL;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR((struct msghdr *)mh, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPING)
			ts = ((struct scm_timestamping *)CMSG_DATA(c))->ts[0];
		else if ((c->cmsg_level == SOL_IP && c->cmsg_type == IP_RECVERR) ||
			 (c->cmsg_level == SOL_IPV6 && c->cmsg_type == IPV6_RECVERR))
			ee = (struct sock_extended_err *)CMSG_DATA(c);
	}
	if (!ee || ee->ee_origin != SO_EE_ORIGIN_TIMESTAMPING || ee->ee_info != SCM_TSTAMP_SND ||
	    (ts.tv_sec == 0 && ts.tv_nsec == 0))
		return;
	n_txts_seen++;
	uint64_t id = ee->ee_data;
	if (id >= txid_cap) {
		n_txts_unmatched++;
		return;
	}
	uint32_t seq = __atomic_load_n(&seq_of_txid[s][id], __ATOMIC_ACQUIRE);
	if (seq >= total || __atomic_load_n(&recs[seq].sock, __ATOMIC_ACQUIRE) != s) {
		n_txts_unmatched++;
		return;
	}
	recs[seq].t1_kernel = (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void handle_reply(int s, const uint8_t *p, size_t len, int flags, const struct msghdr *mh)
{
	if (flags & MSG_TRUNC) {
		n_oversize++;
		return;
	}
	if (len < NTP_LEN) {
		n_malformed_short++;
		return;
	}
	if ((p[0] & 7) != 4) {
		n_malformed_mode++;
		return;
	}
	uint64_t org = be64(p + 24);
	uint32_t seq = (uint32_t)org;
	if ((uint32_t)(org >> 32) != cookie_hi || seq >= total) {
		n_unmatched++;
		return;
	}
	struct rec *r = &recs[seq];
	if (r->replies) {
		if (r->replies < 255)
			r->replies++;
		n_duplicate++;
		return;
	}
	if (p[1] == 0) {
		/* Kiss-o'-Death (RFC 5905 §7.4): no time in it. */
		n_kod++;
		return;
	}
	int64_t t4 = 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR((struct msghdr *)mh, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPING) {
			struct timespec ts = ((struct scm_timestamping *)CMSG_DATA(c))->ts[0];
			t4 = (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
		} else if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL) {
			uint32_t d;
			memcpy(&d, CMSG_DATA(c), sizeof d);
			if (d > sock_drops[s])
				sock_drops[s] = d;
		}
	}
	if (t4 == 0) {
		n_rx_ts_missing++;
		t4 = now_ns(CLOCK_REALTIME);
	}
	r->t4 = t4;
	r->t2 = be64(p + 32);
	r->t3 = be64(p + 40);
	r->stratum = p[1];
	r->leap = p[0] >> 6;
	r->rx_sock = (uint16_t)s;
	r->replies = 1;
}

/*
 * Reads the socket's queue (or its error queue: the TX timestamps) in
 * recvmmsg batches until empty or RX_MAX_BATCHES were read, so that a pass
 * between two send ticks stays short. Returns the number of messages.
 */
static int drain(int s, int errqueue)
{
	int total_read = 0;
	static uint8_t bufs[RX_BATCH][128];
	static char ctrls[RX_BATCH][512];
	static struct mmsghdr msgs[RX_BATCH];
	static struct iovec iov[RX_BATCH];
	int fd = fds[s];
	for (int k = 0; k < RX_MAX_BATCHES; k++) {
		for (int j = 0; j < RX_BATCH; j++) {
			iov[j].iov_base = bufs[j];
			iov[j].iov_len = sizeof bufs[j];
			memset(&msgs[j].msg_hdr, 0, sizeof msgs[j].msg_hdr);
			msgs[j].msg_hdr.msg_iov = &iov[j];
			msgs[j].msg_hdr.msg_iovlen = 1;
			msgs[j].msg_hdr.msg_control = ctrls[j];
			msgs[j].msg_hdr.msg_controllen = sizeof ctrls[j];
		}
		int r = recvmmsg(fd, msgs, RX_BATCH, MSG_DONTWAIT | (errqueue ? MSG_ERRQUEUE : 0), NULL);
		if (r <= 0)
			break;
		total_read += r;
		for (int j = 0; j < r; j++) {
			if (errqueue)
				handle_txts(s, &msgs[j].msg_hdr);
			else
				handle_reply(s, bufs[j], msgs[j].msg_len, msgs[j].msg_hdr.msg_flags, &msgs[j].msg_hdr);
		}
		if (r < RX_BATCH)
			break;
	}
	return total_read;
}

static int ep;

/*
 * The receiver polls every --rx-poll-us instead of sleeping in epoll_wait:
 * T4 is the kernel's timestamp, so reading late costs no accuracy, and not
 * being woken per reply leaves the CPU to the server (two cores shared).
 * The socket buffers (--rcvbuf) hold what arrives in between.
 */
/* Reads every socket that has something queued (error queue first: a request's T1 usually precedes its reply). */
static int rx_pass(void)
{
	static struct epoll_event evs[MAX_SOCKETS];
	int n = epoll_wait(ep, evs, MAX_SOCKETS, 0), got = 0;
	for (int i = 0; i < n; i++) {
		int s = (int)evs[i].data.u32;
		if (evs[i].events & EPOLLERR)
			got += drain(s, 1);
		if (evs[i].events & EPOLLIN)
			got += drain(s, 0);
	}
	return got;
}

static void *receiver(void *arg)
{
	(void)arg;
	prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
	struct timespec poll = { 0, (long)opt.rx_poll_us * 1000L };
	for (;;) {
		int last = __atomic_load_n(&stop_rx, __ATOMIC_ACQUIRE);
		if (last) {
			while (rx_pass() > 0)
				;
			break;
		}
		rx_pass();
		nanosleep(&poll, NULL);
	}
	return NULL;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

/* Nearest-rank quantile of a sorted array. */
static double q(const int64_t *v, uint64_t n, double p)
{
	if (n == 0)
		return NAN;
	double rank = ceil(p * (double)n);
	uint64_t i = rank < 1 ? 0 : (uint64_t)rank - 1;
	if (i >= n)
		i = n - 1;
	return (double)v[i];
}

static void print_num(const char *key, double v, int last)
{
	if (isnan(v))
		printf("\"%s\":null%s", key, last ? "" : ",");
	else
		printf("\"%s\":%.3f%s", key, v, last ? "" : ",");
}

/* Values are in units of 0.5 ns (sums before halving); printed in microseconds. */
static void print_dist(const char *key, int64_t *v, uint64_t n, double scale)
{
	qsort(v, n, sizeof *v, cmp_i64);
	double sum = 0;
	for (uint64_t i = 0; i < n; i++)
		sum += (double)v[i];
	printf("\"%s\":{\"n\":%llu,", key, (unsigned long long)n);
	print_num("min", n ? (double)v[0] * scale : NAN, 0);
	print_num("p1", q(v, n, 0.01) * scale, 0);
	print_num("median", q(v, n, 0.5) * scale, 0);
	print_num("mean", n ? sum / (double)n * scale : NAN, 0);
	print_num("p99", q(v, n, 0.99) * scale, 0);
	print_num("max", n ? (double)v[n - 1] * scale : NAN, 1);
	printf("}");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "address", required_argument, 0, 'a' },
		{ "port", required_argument, 0, 'p' },
		{ "rate", required_argument, 0, 'r' },
		{ "duration", required_argument, 0, 'd' },
		{ "sockets", required_argument, 0, 's' },
		{ "tick-us", required_argument, 0, 't' },
		{ "drain-ms", required_argument, 0, 'D' },
		{ "rx-poll-us", required_argument, 0, 'P' },
		{ "pacing", required_argument, 0, 'm' },
		{ "tx-timestamp", required_argument, 0, 'T' },
		{ "tx-sample", required_argument, 0, 'S' },
		{ "cpu", required_argument, 0, 'C' },
		{ "rcvbuf", required_argument, 0, 'B' },
		{ "version", required_argument, 0, 'V' },
		{ "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	int c;
	while ((c = getopt_long(argc, argv, "a:p:r:d:s:t:D:P:m:T:S:C:B:V:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'a':
			snprintf(opt.address, sizeof opt.address, "%s", optarg);
			break;
		case 'p': opt.port = atoi(optarg); break;
		case 'r': opt.rate = atof(optarg); break;
		case 'd': opt.duration = atof(optarg); break;
		case 's': opt.nsock = atoi(optarg); break;
		case 't': opt.tick_us = atoi(optarg); break;
		case 'D': opt.drain_ms = atoi(optarg); break;
		case 'P': opt.rx_poll_us = atoi(optarg); break;
		case 'm':
			if (strcmp(optarg, "busy") == 0)
				opt.busy = 1;
			else if (strcmp(optarg, "sleep") == 0)
				opt.busy = 0;
			else
				usage("--pacing is busy or sleep");
			break;
		case 'B': opt.rcvbuf = atoi(optarg); break;
		case 'S': opt.tx_sample = atoi(optarg); break;
		case 'C': opt.cpu = atoi(optarg); break;
		case 'V': opt.version = atoi(optarg); break;
		case 'T':
			if (strcmp(optarg, "kernel") == 0)
				opt.kernel_tx = 1;
			else if (strcmp(optarg, "user") == 0)
				opt.kernel_tx = 0;
			else
				usage("--tx-timestamp is kernel or user");
			break;
		default: usage(NULL);
		}
	}
	if (!opt.address[0])
		usage("--address is required");
	if (opt.port < 1 || opt.port > 65535)
		usage("--port must be 1..65535");
	if (!(opt.rate > 0) || !(opt.duration > 0) || opt.duration > 600)
		usage("--rate must be > 0 and --duration in (0, 600] s");
	if (opt.nsock < 1 || opt.nsock > MAX_SOCKETS)
		usage("--sockets must be 1..1024");
	if (opt.tick_us < 10 || opt.tick_us > 100000)
		usage("--tick-us must be 10..100000");
	if (opt.tx_sample < 1 || opt.tx_sample > 1000000)
		usage("--tx-sample must be 1..1000000");
	if (opt.rx_poll_us < 1 || opt.rx_poll_us > 100000)
		usage("--rx-poll-us must be 1..100000");
	if (opt.drain_ms < 0 || opt.version < 1 || opt.version > 4)
		usage("--drain-ms must be >= 0 and --version 1..4");
	parse_target();

	double want = ceil(opt.rate * opt.duration);
	if (want > 100e6)
		usage("rate * duration must stay below 1e8 requests");
	total = (uint64_t)want;
	recs = calloc(total, sizeof *recs);
	if (!recs)
		die("calloc");
	/* Pages never touched cost nothing: each socket uses about total/nsock entries. */
	txid_cap = total;
	seq_of_txid = calloc((size_t)opt.nsock, sizeof *seq_of_txid);
	if (!seq_of_txid)
		die("calloc");
	if (opt.kernel_tx) {
		for (int s = 0; s < opt.nsock; s++) {
			seq_of_txid[s] = calloc(total, sizeof **seq_of_txid);
			if (!seq_of_txid[s])
				die("calloc");
		}
	}
	cookie_hi = (uint32_t)((uint64_t)(now_ns(CLOCK_REALTIME) / 1000000000LL) + NTP_UNIX_OFFSET);

	if (opt.cpu >= 0) {
		/* Pinned, the generator's core stays its own and the scheduler keeps the server off it. */
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(opt.cpu, &set);
		if (sched_setaffinity(0, sizeof set, &set) < 0)
			die("sched_setaffinity");
	}
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0)
		die("epoll_create1");
	open_sockets(ep);

	struct rusage ru0, ru1;
	getrusage(RUSAGE_SELF, &ru0);
	int64_t wall0 = now_ns(CLOCK_MONOTONIC);
	if (opt.busy) {
		send_busy();
		/* The drain needs no spinning. */
		prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
		int64_t until = now_ns(CLOCK_MONOTONIC) + (int64_t)opt.drain_ms * 1000000LL;
		struct timespec poll = { 0, (long)opt.rx_poll_us * 1000L };
		while (now_ns(CLOCK_MONOTONIC) < until) {
			rx_pass();
			nanosleep(&poll, NULL);
		}
		while (rx_pass() > 0)
			;
	} else {
		pthread_t rx, tx;
		if (pthread_create(&rx, NULL, receiver, NULL) != 0)
			die("pthread_create");
		if (pthread_create(&tx, NULL, sender, NULL) != 0)
			die("pthread_create");
		pthread_join(tx, NULL);
		struct timespec drain = { opt.drain_ms / 1000, (long)(opt.drain_ms % 1000) * 1000000L };
		nanosleep(&drain, NULL);
		__atomic_store_n(&stop_rx, 1, __ATOMIC_RELEASE);
		pthread_join(rx, NULL);
	}
	getrusage(RUSAGE_SELF, &ru1);
	int64_t wall1 = now_ns(CLOCK_MONOTONIC);

	/* Results. */
	int64_t *err = malloc(total * sizeof *err), *dly = malloc(total * sizeof *dly), *lag = malloc(total * sizeof *lag);
	int64_t *leg_in = malloc(total * sizeof *leg_in), *leg_out = malloc(total * sizeof *leg_out);
	int64_t *abs_err = malloc(total * sizeof *abs_err);
	if (!err || !dly || !lag || !leg_in || !leg_out || !abs_err)
		die("malloc");
	uint64_t sent = 0, received = 0, n_err = 0, n_lag = 0, tx_missing = 0, tx_implausible = 0, unsync = 0, wrong_sock = 0;
	for (uint64_t i = 0; i < total; i++) {
		struct rec *r = &recs[i];
		if (!r->sent)
			continue;
		sent++;
		if (opt.kernel_tx && r->t1_kernel)
			lag[n_lag++] = (r->t1_kernel - r->t1_user) * 2;
		if (!r->replies)
			continue;
		if (r->rx_sock != r->sock) {
			wrong_sock++;
			continue;
		}
		received++;
		if (r->leap == 3)
			unsync++;
		if (opt.kernel_tx && !tx_sampled(i))
			continue; /* not sampled for a TX stamp: counts for loss only */
		int64_t t1 = opt.kernel_tx ? r->t1_kernel : r->t1_user;
		if (t1 == 0) {
			tx_missing++;
			continue;
		}
		/* A kernel stamp cannot precede the clock reading taken before the send call: a mis-numbered one would. */
		if (opt.kernel_tx && r->t1_kernel < r->t1_user) {
			tx_implausible++;
			continue;
		}
		int64_t t2 = ntp_to_ns(r->t2), t3 = ntp_to_ns(r->t3);
		/* Kept doubled (units of 0.5 ns) so the halving stays exact. */
		err[n_err] = (t2 - t1) + (t3 - r->t4);
		abs_err[n_err] = err[n_err] < 0 ? -err[n_err] : err[n_err];
		dly[n_err] = ((r->t4 - t1) - (t3 - t2)) * 2;
		leg_in[n_err] = (t2 - t1) * 2;
		leg_out[n_err] = (r->t4 - t3) * 2;
		n_err++;
	}
	double send_s = (double)(send_end_ns - send_start_ns) / 1e9;
	double cpu_s = (double)(ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec + ru1.ru_stime.tv_sec - ru0.ru_stime.tv_sec) +
		       (double)(ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec + ru1.ru_stime.tv_usec - ru0.ru_stime.tv_usec) / 1e6;

	printf("{\"tool\":\"ntpload\",\"target\":\"%s\",\"port\":%d,", opt.address, opt.port);
	printf("\"rate_target\":%.0f,\"duration_s\":%.3f,\"sockets\":%d,\"tick_us\":%d,\"rx_poll_us\":%d,\"drain_ms\":%d,",
	       opt.rate, opt.duration, opt.nsock, opt.tick_us, opt.rx_poll_us, opt.drain_ms);
	printf("\"pacing_mode\":\"%s\",\"tx_sample\":%d,\"cpu\":%d,", opt.busy ? "busy" : "sleep", opt.kernel_tx ? opt.tx_sample : 1, opt.cpu);
	printf("\"t1_source\":\"%s\",\"t4_source\":\"kernel-rx-software\",",
	       opt.kernel_tx ? "kernel-tx-software" : "user-clock_gettime");
	printf("\"sent\":%llu,\"received\":%llu,\"lost\":%llu,", (unsigned long long)sent, (unsigned long long)received,
	       (unsigned long long)(sent - received));
	print_num("loss_pct", sent ? 100.0 * (double)(sent - received) / (double)sent : NAN, 0);
	print_num("achieved_rate", send_s > 0 ? (double)sent / send_s : NAN, 0);
	print_num("send_seconds", send_s, 0);
	printf("\"send_errors\":%llu,\"last_send_errno\":\"%s\",", (unsigned long long)n_send_errors,
	       last_send_errno ? strerror(last_send_errno) : "");
	printf("\"malformed\":%llu,\"malformed_detail\":{\"short\":%llu,\"mode\":%llu,\"oversize\":%llu},",
	       (unsigned long long)(n_malformed_short + n_malformed_mode + n_oversize), (unsigned long long)n_malformed_short,
	       (unsigned long long)n_malformed_mode, (unsigned long long)n_oversize);
	printf("\"unmatched\":%llu,\"duplicates\":%llu,\"wrong_socket\":%llu,\"kod\":%llu,\"unsynchronized\":%llu,",
	       (unsigned long long)n_unmatched, (unsigned long long)n_duplicate, (unsigned long long)wrong_sock,
	       (unsigned long long)n_kod, (unsigned long long)unsync);
	printf("\"tx_timestamps_seen\":%llu,\"tx_timestamps_unmatched\":%llu,\"tx_timestamp_missing\":%llu,"
	       "\"tx_timestamp_implausible\":%llu,\"rx_timestamp_missing\":%llu,",
	       (unsigned long long)n_txts_seen, (unsigned long long)n_txts_unmatched, (unsigned long long)tx_missing,
	       (unsigned long long)tx_implausible, (unsigned long long)n_rx_ts_missing);
	uint64_t drops = 0;
	for (int s = 0; s < opt.nsock; s++)
		drops += sock_drops[s];
	/* Lower bound: a socket's count is only seen on datagrams that arrive after the drops. */
	printf("\"client_socket_drops\":%llu,", (unsigned long long)drops);
	print_dist("error_us", err, n_err, 0.5e-3);
	printf(",");
	print_dist("abs_error_us", abs_err, n_err, 0.5e-3);
	printf(",");
	print_dist("delay_us", dly, n_err, 0.5e-3);
	printf(",");
	/* The two legs: T2 - T1 (request out to the server's receive stamp), T4 - T3 (server's transmit stamp to reply in). */
	print_dist("t2_minus_t1_us", leg_in, n_err, 0.5e-3);
	printf(",");
	print_dist("t4_minus_t3_us", leg_out, n_err, 0.5e-3);
	printf(",");
	/* How long after the user-space clock reading the kernel stamped the packet (send path + position in batch). */
	print_dist("tx_stamp_lag_us", lag, n_lag, 0.5e-3);
	printf(",\"pacing\":{");
	print_num("late_us_mean", late_n ? late_sum_ns / (double)late_n / 1e3 : NAN, 0);
	print_num("late_us_max", late_max_ns / 1e3, 0);
	printf("\"behind_ticks\":%llu,\"max_backlog\":%llu},", (unsigned long long)behind_ticks, (unsigned long long)max_backlog);
	double wall_s = (double)(wall1 - wall0) / 1e9;
	print_num("generator_cpu_pct", 100.0 * cpu_s / wall_s, 0);
	print_num("generator_user_s", (double)(ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec) + (double)(ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec) / 1e6, 0);
	print_num("generator_sys_s", (double)(ru1.ru_stime.tv_sec - ru0.ru_stime.tv_sec) + (double)(ru1.ru_stime.tv_usec - ru0.ru_stime.tv_usec) / 1e6, 0);
	print_num("generator_wall_s", wall_s, 1);
	printf("}\n");
	for (int s = 0; s < opt.nsock; s++)
		close(fds[s]);
	close(ep);
	return 0;
}
