/*
 * rtp-pump — paced RTP source and sink for bench/media (built by run.ts with `gcc -O2` at bench time).
 *
 *   rtp-pump ENDPOINTS STEP_S MAX_LOSS_PCT MAX_S RATE...
 *
 * ENDPOINTS: one UDP endpoint per line, `<netns file> <bind ip> <bind port> <dst ip> <dst port> <side>`.
 * The socket is created inside the network namespace named by the file (/run/netns/<name>, entered
 * with setns(2) before socket(2): a socket stays in the namespace it was made in), bound to its
 * address, and sends to its destination. Side 0 endpoints send first in the warm-up (they open
 * the flows a NAT or pinhole latches on), side 1 after 150 ms.
 *
 * Every endpoint is also a sink: whatever arrives on any socket is counted (recvmmsg, 64 at a time).
 * For each RATE (packets/s in total, both directions, spread evenly over the endpoints) it sends for
 * STEP_S seconds, paced in ticks of 1 ms, each endpoint's share of a tick in one sendmmsg(2) call;
 * then it drains for 250 ms and prints one line:
 *
 *   step rate=R sent=S recv=V recv0=.. recv1=.. sendfail=F send_pps=.. recv_pps=.. loss_pct=.. cpu_us=.. sys_us=..
 *
 * (recv0/recv1: received by side 0 / side 1 endpoints; cpu_us/sys_us: this process's CPU over the
 * step, user+system and system alone; late: packets of an earlier step that arrived during this one,
 * not counted — each packet carries its step number in its first payload byte). It stops after two steps in a row with more than MAX_LOSS_PCT
 * loss, or with fewer than 90 % of the asked packets sent, and never runs longer than MAX_S seconds.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_ENDPOINTS 4096
#define RTP_BYTES 172 /* RTP header (12) + 20 ms of G.711 (160) */
#define BATCH 64
#define MAX_NS 8

struct endpoint {
	int fd;
	int side;
	struct sockaddr_in to;
	uint32_t ssrc;
	uint32_t stamp;
	uint16_t seq;
};

static struct endpoint ep[MAX_ENDPOINTS];
static int n_ep;
static long recv_side[2];
static long err_again, err_other, behind; /* per step: EAGAIN/ENOBUFS, other send errors, packets skipped after a stall */
static int last_errno;
/* Each packet carries the step it was sent in (first payload byte): a late packet of an earlier
 * step is not counted as received in a later one. */
static unsigned char cur_step = 0xff;
static long late;

static double mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double cpu_us(int sys_only)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	double sys = ru.ru_stime.tv_sec * 1e6 + ru.ru_stime.tv_usec;
	if (sys_only)
		return sys;
	return sys + ru.ru_utime.tv_sec * 1e6 + ru.ru_utime.tv_usec;
}

static void die(const char *what, const char *detail)
{
	fprintf(stderr, "rtp-pump: %s %s: %s\n", what, detail, strerror(errno));
	exit(2);
}

/* One file descriptor per namespace file, opened once. */
static int ns_fd(const char *path)
{
	static char paths[MAX_NS][256];
	static int fds[MAX_NS];
	static int n;
	for (int i = 0; i < n; i++)
		if (strcmp(paths[i], path) == 0)
			return fds[i];
	if (n == MAX_NS) {
		fprintf(stderr, "rtp-pump: more than %d namespaces\n", MAX_NS);
		exit(2);
	}
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		die("open", path);
	snprintf(paths[n], sizeof(paths[n]), "%s", path);
	fds[n] = fd;
	return fds[n++];
}

static void add_endpoint(const char *ns, const char *ip, int port, const char *dst_ip, int dst_port, int side)
{
	if (setns(ns_fd(ns), CLONE_NEWNET) < 0)
		die("setns", ns);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die("socket in", ns);
	int bytes = 8 << 20;
	/* FORCE variants: above net.core.[rw]mem_max (the pump runs as root) */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof(bytes)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof(bytes));
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &bytes, sizeof(bytes)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof(bytes));
	struct sockaddr_in me = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	if (inet_pton(AF_INET, ip, &me.sin_addr) != 1)
		die("bad address", ip);
	if (bind(fd, (struct sockaddr *)&me, sizeof(me)) < 0)
		die("bind", ip);
	struct endpoint *e = &ep[n_ep];
	e->fd = fd;
	e->side = side ? 1 : 0;
	e->to.sin_family = AF_INET;
	e->to.sin_port = htons((uint16_t)dst_port);
	if (inet_pton(AF_INET, dst_ip, &e->to.sin_addr) != 1)
		die("bad address", dst_ip);
	e->ssrc = 0x5eed0000u + (uint32_t)n_ep;
	e->seq = (uint16_t)(n_ep * 7919);
	e->stamp = (uint32_t)n_ep * 160u;
	n_ep++;
}

/* Sends `count` packets (at most BATCH) from endpoint `e` in one sendmmsg; returns how many left. */
static int send_burst(struct endpoint *e, int count)
{
	static unsigned char buf[BATCH][RTP_BYTES];
	static struct iovec iov[BATCH];
	static struct mmsghdr msg[BATCH];
	if (count > BATCH)
		count = BATCH;
	for (int i = 0; i < count; i++) {
		unsigned char *p = buf[i];
		uint16_t seq = (uint16_t)(e->seq + i);
		uint32_t ts = e->stamp + 160u * (uint32_t)i;
		p[0] = 0x80; /* version 2, no padding, no extension, no CSRC */
		p[1] = 0x00; /* payload type 0 (PCMU) */
		p[2] = (unsigned char)(seq >> 8);
		p[3] = (unsigned char)seq;
		p[4] = (unsigned char)(ts >> 24);
		p[5] = (unsigned char)(ts >> 16);
		p[6] = (unsigned char)(ts >> 8);
		p[7] = (unsigned char)ts;
		p[8] = (unsigned char)(e->ssrc >> 24);
		p[9] = (unsigned char)(e->ssrc >> 16);
		p[10] = (unsigned char)(e->ssrc >> 8);
		p[11] = (unsigned char)e->ssrc;
		p[12] = cur_step;
		iov[i].iov_base = p;
		iov[i].iov_len = RTP_BYTES;
		memset(&msg[i], 0, sizeof(msg[i]));
		msg[i].msg_hdr.msg_iov = &iov[i];
		msg[i].msg_hdr.msg_iovlen = 1;
		msg[i].msg_hdr.msg_name = &e->to;
		msg[i].msg_hdr.msg_namelen = sizeof(e->to);
	}
	int sent = sendmmsg(e->fd, msg, (unsigned)count, MSG_DONTWAIT);
	if (sent < count) {
		/* sendmmsg returns what it sent before the first failure, or -1 if the first one failed */
		int err = errno;
		if (sent < 0)
			sent = 0;
		if (err == EAGAIN || err == ENOBUFS)
			err_again++;
		else {
			err_other++;
			last_errno = err;
		}
	}
	e->seq = (uint16_t)(e->seq + sent);
	e->stamp += 160u * (uint32_t)sent;
	return sent;
}

/* Reads whatever is waiting (epoll up to `wait_ms`); returns the packets received. */
static long drain(int epfd, int wait_ms)
{
	static struct epoll_event ready[512];
	static unsigned char buf[BATCH][2048];
	static struct iovec iov[BATCH];
	static struct mmsghdr msg[BATCH];
	static int init;
	if (!init) {
		for (int i = 0; i < BATCH; i++) {
			iov[i].iov_base = buf[i];
			iov[i].iov_len = sizeof(buf[i]);
			msg[i].msg_hdr.msg_iov = &iov[i];
			msg[i].msg_hdr.msg_iovlen = 1;
		}
		init = 1;
	}
	long total = 0;
	int n = epoll_wait(epfd, ready, 512, wait_ms);
	for (int k = 0; k < n; k++) {
		struct endpoint *e = &ep[ready[k].data.u32];
		for (int rounds = 0; rounds < 16; rounds++) {
			int got = recvmmsg(e->fd, msg, BATCH, MSG_DONTWAIT, NULL);
			if (got <= 0)
				break;
			int mine = 0;
			for (int i = 0; i < got; i++)
				if (msg[i].msg_len > 12 && buf[i][12] == cur_step)
					mine++;
			late += got - mine;
			total += mine;
			recv_side[e->side] += mine;
			if (got < BATCH)
				break;
		}
	}
	return total;
}

static long drain_for(int epfd, double seconds)
{
	long got = 0;
	double end = mono() + seconds;
	while (mono() < end)
		got += drain(epfd, 5);
	return got;
}

int main(int argc, char **argv)
{
	if (argc < 6) {
		fprintf(stderr, "usage: %s ENDPOINTS STEP_S MAX_LOSS_PCT MAX_S RATE...\n", argv[0]);
		return 2;
	}
	double step_s = atof(argv[2]), max_loss = atof(argv[3]), max_s = atof(argv[4]);
	double started = mono();
	FILE *f = fopen(argv[1], "r");
	if (!f)
		die("open", argv[1]);
	char ns[256], ip[64], dst[64];
	int port, dport, side;
	while (n_ep < MAX_ENDPOINTS &&
	       fscanf(f, "%255s %63s %d %63s %d %d", ns, ip, &port, dst, &dport, &side) == 6)
		add_endpoint(ns, ip, port, dst, dport, side);
	fclose(f);
	if (n_ep == 0) {
		fprintf(stderr, "rtp-pump: no endpoints in %s\n", argv[1]);
		return 2;
	}
	int epfd = epoll_create1(EPOLL_CLOEXEC);
	for (int i = 0; i < n_ep; i++) {
		struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
		epoll_ctl(epfd, EPOLL_CTL_ADD, ep[i].fd, &ev);
	}

	/* warm-up: side 0 opens the flows, then side 1 answers; which endpoints hear anything */
	long wsent = 0, wrecv = 0;
	for (int s = 0; s < 2; s++) {
		for (int rep = 0; rep < 3; rep++)
			for (int i = 0; i < n_ep; i++)
				if (ep[i].side == s)
					wsent += send_burst(&ep[i], 1);
		wrecv += drain_for(epfd, 0.15);
	}
	wrecv += drain_for(epfd, 0.2);
	printf("warmup endpoints=%d sent=%ld recv=%ld recv0=%ld recv1=%ld\n", n_ep, wsent, wrecv, recv_side[0],
	       recv_side[1]);
	fflush(stdout);

	int bad_run = 0, next = 0;
	for (int a = 5; a < argc; a++) {
		double rate = atof(argv[a]);
		if (rate <= 0)
			continue;
		if (mono() - started + step_s + 0.3 > max_s) {
			printf("stop reason=time\n");
			break;
		}
		recv_side[0] = recv_side[1] = 0;
		err_again = err_other = behind = late = 0;
		cur_step = (unsigned char)(a - 5);
		long sent = 0, asked = 0, fail = 0, recv = 0;
		double cpu0 = cpu_us(0), sys0 = cpu_us(1);
		double t0 = mono(), t;
		while ((t = mono() - t0) < step_s) {
			long due = (long)(rate * t) - asked;
			long cap = (long)(rate * 0.01) + 1; /* after a stall: at most 10 ms worth at once */
			if (due > cap) {
				asked += due - cap; /* counted as asked, not sent: a generator that fell behind */
				fail += due - cap;
				behind += due - cap;
				due = cap;
			}
			if (due > 0) {
				/* spread `due` over the endpoints, round robin from where the last tick stopped */
				long per = due / n_ep, extra = due % n_ep;
				for (int k = 0; k < n_ep && (per > 0 || extra > 0); k++) {
					struct endpoint *e = &ep[(next + k) % n_ep];
					long want = per + (extra > 0 ? 1 : 0);
					if (extra > 0)
						extra--;
					while (want > 0) {
						int chunk = want > BATCH ? BATCH : (int)want;
						int ok = send_burst(e, chunk);
						sent += ok;
						fail += chunk - ok;
						want -= chunk;
						if (ok < chunk)
							break;
					}
					fail += want;
				}
				next = (int)((next + due) % n_ep);
				asked += due;
			}
			double ahead = (asked + 1) / rate - (mono() - t0);
			recv += drain(epfd, ahead > 0.001 ? 1 : 0);
		}
		double dt = mono() - t0;
		recv += drain_for(epfd, 0.25);
		double cpu = cpu_us(0) - cpu0, sys = cpu_us(1) - sys0;
		double loss = sent > 0 ? 100.0 * (double)(sent - recv) / (double)sent : 100.0;
		if (loss < 0)
			loss = 0;
		printf("step rate=%.0f sent=%ld recv=%ld recv0=%ld recv1=%ld sendfail=%ld send_pps=%.0f recv_pps=%.0f "
		       "loss_pct=%.3f cpu_us=%.0f sys_us=%.0f behind=%ld eagain=%ld errors=%ld errno=%d late=%ld\n",
		       rate, sent, recv, recv_side[0], recv_side[1], fail, sent / dt, recv / dt, loss, cpu, sys, behind,
		       err_again, err_other, last_errno, late);
		fflush(stdout);
		int bad = loss > max_loss || (double)sent < 0.9 * rate * dt;
		bad_run = bad ? bad_run + 1 : 0;
		if (bad_run >= 2) {
			printf("stop reason=bad\n");
			break;
		}
	}
	return 0;
}
