/*
 * punch-lab-wire - a two-port "wire" that adds delay and jitter to a link
 * of the Punch NAT lab.  The kernel here has no netem, so a link that needs
 * delay is spliced through a namespace holding two veth ends, A and B; this
 * program copies every Ethernet frame from A to B and from B to A, holding
 * each one for DELAY +- JITTER microseconds.
 *
 *   punch-lab-wire [--delay-us N] [--jitter-us N] [--seed N]
 *                  [--max-seconds N] IFACE_A IFACE_B
 *
 * Control protocol on stdin (one command per line, answer on stdout):
 *   set DELAY_US JITTER_US   -> "ok DELAY_US JITTER_US"
 *   stats                    -> "stats a2b=N b2a=N dropped=N"
 * "ready" is printed once both sockets are bound.
 *
 * It exits on SIGTERM/SIGINT/SIGHUP, on EOF on stdin (the lab closes the
 * pipe, or died), when its parent dies (PR_SET_PDEATHSIG), and after
 * --max-seconds (default 4 hours) in any case.
 *
 * Checksums and offloads: a veth hands frames over with partial checksums
 * (CHECKSUM_PARTIAL) and, for TCP, as GSO super-frames bigger than the MTU.
 * Both sockets use PACKET_VNET_HDR, so each frame is read together with a
 * virtio_net_hdr that describes its pending checksum and segmentation, and
 * is written back out with the same header: the kernel then finishes the
 * checksum / segmentation exactly as it would have without us in between.
 *
 * Jitter never reorders: a frame's departure time is max(its own due time,
 * the previous frame's departure time), like a FIFO link.  Each direction
 * has a bounded queue (frames and bytes); frames beyond it are dropped.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/virtio_net.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_FRAME (65536 + sizeof(struct virtio_net_hdr))
#define QUEUE_MAX_FRAMES 20000
#define QUEUE_MAX_BYTES (64u * 1024u * 1024u)
#define RX_BURST 64  /* frames read per wake-up and socket, bounds a loop */
#define MAX_DELAY_US 10000000ull  /* 10 s */

struct frame {
  struct frame *next;
  uint64_t due_ns;
  size_t len;
  unsigned char data[];
};

struct queue {
  struct frame *head, *tail;
  size_t frames, bytes;
  uint64_t last_due_ns;
  uint64_t forwarded, dropped;
};

static volatile sig_atomic_t stop_signal;
static uint64_t delay_ns, jitter_ns;
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static void on_signal(int sig) { stop_signal = sig; }

static uint64_t now_ns(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* xorshift64*: plenty for jitter, no libc state shared with anything. */
static uint64_t rng_next(void)
{
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return rng_state * 0x2545f4914f6cdd1dull;
}

/* delay +- uniform jitter, never negative */
static uint64_t pick_delay_ns(void)
{
  if (jitter_ns == 0)
    return delay_ns;
  uint64_t span = 2 * jitter_ns + 1;
  int64_t d = (int64_t)delay_ns - (int64_t)jitter_ns + (int64_t)(rng_next() % span);
  return d < 0 ? 0 : (uint64_t)d;
}

static int open_port(const char *ifname)
{
  unsigned idx = if_nametoindex(ifname);
  if (idx == 0) {
    fprintf(stderr, "punch-lab-wire: no interface %s: %s\n", ifname, strerror(errno));
    return -1;
  }
  /* protocol 0 first: the socket sees nothing until it is bound below */
  int fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    perror("punch-lab-wire: socket(AF_PACKET)");
    return -1;
  }
  int one = 1;
  int rcvbuf = 4 * 1024 * 1024;
  if (setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof one) < 0) {
    perror("punch-lab-wire: PACKET_VNET_HDR");
    close(fd);
    return -1;
  }
  /* frames we transmit on this port must not come back to us */
  if (setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one) < 0)
    perror("punch-lab-wire: PACKET_IGNORE_OUTGOING (filtering by pkttype)");
  (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf);
  (void)setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &rcvbuf, sizeof rcvbuf);

  struct sockaddr_ll sll;
  memset(&sll, 0, sizeof sll);
  sll.sll_family = AF_PACKET;
  sll.sll_protocol = htons(ETH_P_ALL);
  sll.sll_ifindex = (int)idx;
  if (bind(fd, (struct sockaddr *)&sll, sizeof sll) < 0) {
    perror("punch-lab-wire: bind");
    close(fd);
    return -1;
  }
  struct packet_mreq mr;
  memset(&mr, 0, sizeof mr);
  mr.mr_ifindex = (int)idx;
  mr.mr_type = PACKET_MR_PROMISC;
  if (setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof mr) < 0)
    perror("punch-lab-wire: promiscuous mode");
  return fd;
}

static void queue_push(struct queue *q, const unsigned char *buf, size_t len, uint64_t now)
{
  if (q->frames >= QUEUE_MAX_FRAMES || q->bytes + len > QUEUE_MAX_BYTES) {
    q->dropped++;
    return;
  }
  struct frame *f = malloc(sizeof *f + len);
  if (!f) {
    q->dropped++;
    return;
  }
  f->next = NULL;
  f->len = len;
  memcpy(f->data, buf, len);
  f->due_ns = now + pick_delay_ns();
  if (f->due_ns < q->last_due_ns)  /* FIFO: jitter never reorders */
    f->due_ns = q->last_due_ns;
  q->last_due_ns = f->due_ns;
  if (q->tail)
    q->tail->next = f;
  else
    q->head = f;
  q->tail = f;
  q->frames++;
  q->bytes += len;
}

/* Send every frame of q that is due on fd_out. */
static void queue_flush(struct queue *q, int fd_out, uint64_t now)
{
  while (q->head && q->head->due_ns <= now) {
    struct frame *f = q->head;
    if (send(fd_out, f->data, f->len, MSG_DONTWAIT) < 0)
      q->dropped++;
    else
      q->forwarded++;
    q->head = f->next;
    if (!q->head)
      q->tail = NULL;
    q->frames--;
    q->bytes -= f->len;
    free(f);
  }
}

/* Read up to RX_BURST frames from fd_in into q. */
static void receive(int fd_in, struct queue *q, unsigned char *buf)
{
  for (int i = 0; i < RX_BURST; i++) {
    struct sockaddr_ll from;
    socklen_t fromlen = sizeof from;
    ssize_t n = recvfrom(fd_in, buf, MAX_FRAME, MSG_DONTWAIT | MSG_TRUNC,
                         (struct sockaddr *)&from, &fromlen);
    if (n < 0)
      return;  /* EAGAIN or a transient error: poll again */
    if (from.sll_pkttype == PACKET_OUTGOING)
      continue;
    if ((size_t)n > MAX_FRAME || (size_t)n <= sizeof(struct virtio_net_hdr)) {
      q->dropped++;
      continue;
    }
    queue_push(q, buf, (size_t)n, now_ns());
  }
}

static void set_params(unsigned long long d_us, unsigned long long j_us)
{
  if (d_us > MAX_DELAY_US)
    d_us = MAX_DELAY_US;
  if (j_us > d_us)  /* a delay can't go below zero: clamp jitter */
    j_us = d_us;
  delay_ns = d_us * 1000ull;
  jitter_ns = j_us * 1000ull;
}

/* Handle one line from stdin. Returns 0, or -1 on EOF. */
static int control(int fd, struct queue *a2b, struct queue *b2a)
{
  static char line[256];
  static size_t used;
  ssize_t n = read(fd, line + used, sizeof line - 1 - used);
  if (n == 0)
    return -1;
  if (n < 0)
    return errno == EAGAIN || errno == EINTR ? 0 : -1;
  used += (size_t)n;
  line[used] = '\0';
  char *nl;
  while ((nl = strchr(line, '\n')) != NULL) {
    *nl = '\0';
    unsigned long long d, j;
    if (sscanf(line, "set %llu %llu", &d, &j) == 2) {
      set_params(d, j);
      printf("ok %llu %llu\n", (unsigned long long)(delay_ns / 1000),
             (unsigned long long)(jitter_ns / 1000));
    } else if (strcmp(line, "stats") == 0) {
      printf("stats a2b=%llu b2a=%llu dropped=%llu\n",
             (unsigned long long)a2b->forwarded, (unsigned long long)b2a->forwarded,
             (unsigned long long)(a2b->dropped + b2a->dropped));
    } else {
      printf("error unknown command\n");
    }
    fflush(stdout);
    size_t rest = used - (size_t)(nl + 1 - line);
    memmove(line, nl + 1, rest + 1);
    used = rest;
  }
  if (used >= sizeof line - 1)  /* an overlong line: discard it */
    used = 0;
  return 0;
}

static void usage(void)
{
  fprintf(stderr, "usage: punch-lab-wire [--delay-us N] [--jitter-us N] [--seed N] "
                  "[--max-seconds N] IFACE_A IFACE_B\n");
  exit(2);
}

int main(int argc, char **argv)
{
  unsigned long long d_us = 0, j_us = 0, max_seconds = 4 * 3600;
  int i = 1;
  rng_state ^= (uint64_t)getpid() << 17 ^ now_ns();
  for (; i + 1 < argc && strncmp(argv[i], "--", 2) == 0; i += 2) {
    unsigned long long v = strtoull(argv[i + 1], NULL, 10);
    if (strcmp(argv[i], "--delay-us") == 0)
      d_us = v;
    else if (strcmp(argv[i], "--jitter-us") == 0)
      j_us = v;
    else if (strcmp(argv[i], "--seed") == 0)
      rng_state = v ? v : 1;
    else if (strcmp(argv[i], "--max-seconds") == 0)
      max_seconds = v;
    else
      usage();
  }
  if (argc - i != 2)
    usage();
  set_params(d_us, j_us);

  /* Die with the lab: parent death, signals, stdin EOF, a hard deadline. */
  pid_t parent = getppid();
  prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (getppid() != parent)
    return 1;
  prctl(PR_SET_TIMERSLACK, 1000UL);  /* 1 us: timers fire when asked */
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGHUP, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);
  sigset_t blocked, orig;
  sigemptyset(&blocked);
  sigaddset(&blocked, SIGTERM);
  sigaddset(&blocked, SIGINT);
  sigaddset(&blocked, SIGHUP);
  sigprocmask(SIG_BLOCK, &blocked, &orig);  /* delivered only inside ppoll */

  int fa = open_port(argv[i]);
  int fb = open_port(argv[i + 1]);
  if (fa < 0 || fb < 0)
    return 1;
  fcntl(0, F_SETFL, fcntl(0, F_GETFL) | O_NONBLOCK);
  unsigned char *buf = malloc(MAX_FRAME);
  if (!buf)
    return 1;
  struct queue a2b = {0}, b2a = {0};
  uint64_t deadline = now_ns() + max_seconds * 1000000000ull;
  printf("ready\n");
  fflush(stdout);

  while (!stop_signal) {
    uint64_t now = now_ns();
    if (now >= deadline) {
      fprintf(stderr, "punch-lab-wire: --max-seconds reached, exiting\n");
      break;
    }
    queue_flush(&a2b, fb, now);
    queue_flush(&b2a, fa, now);

    /* sleep until the next frame is due, input arrives, or 1 s passes */
    uint64_t wake = now + 1000000000ull;
    if (a2b.head && a2b.head->due_ns < wake)
      wake = a2b.head->due_ns;
    if (b2a.head && b2a.head->due_ns < wake)
      wake = b2a.head->due_ns;
    struct timespec ts = {(time_t)((wake - now) / 1000000000ull),
                          (long)((wake - now) % 1000000000ull)};
    struct pollfd pfd[3] = {{fa, POLLIN, 0}, {fb, POLLIN, 0}, {0, POLLIN, 0}};
    int r = ppoll(pfd, 3, &ts, &orig);
    if (r < 0) {
      if (errno == EINTR)
        continue;
      perror("punch-lab-wire: ppoll");
      break;
    }
    if (pfd[0].revents & POLLIN)
      receive(fa, &a2b, buf);
    if (pfd[1].revents & POLLIN)
      receive(fb, &b2a, buf);
    if (pfd[2].revents & (POLLIN | POLLHUP | POLLERR))
      if (control(0, &a2b, &b2a) < 0)
        break;  /* stdin closed: the lab is gone or done with us */
    if (getppid() != parent)
      break;
  }
  fprintf(stderr, "punch-lab-wire: exiting: a2b=%llu b2a=%llu dropped=%llu\n",
          (unsigned long long)a2b.forwarded, (unsigned long long)b2a.forwarded,
          (unsigned long long)(a2b.dropped + b2a.dropped));
  return 0;
}
