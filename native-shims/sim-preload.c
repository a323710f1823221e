/*
 * sim-preload.c — make one fake PCI function answer from the simulated card.
 *
 * Loaded with LD_PRELOAD into an unmodified tool (mstflint 4.21 and its siblings), it makes
 * the PCI address in $FS3BURN_SIM_PCI (default 0000:ee:00.0) exist: the device's sysfs
 * folder, its small text files and its `config` file. Every config-space access to that
 * function goes over the UNIX socket $FS3BURN_SIM_SOCKET to `fs3burn sim serve`
 * (src/sim/server.ts), one dword at a time. Nothing else is touched: every other path and
 * file descriptor is passed to the real libc functions. See docs/mstflint-bridge.md.
 *
 *   cc -shared -fPIC -O2 -o native-shims/build/sim-preload.so native-shims/sim-preload.c -ldl -lpthread
 *   LD_PRELOAD=$PWD/native-shims/build/sim-preload.so FS3BURN_SIM_SOCKET=/tmp/card.sock \
 *       mstflint -d 0000:ee:00.0 q
 *
 * Environment:
 *   FS3BURN_SIM_SOCKET  the server's socket (without it the shim passes everything through)
 *   FS3BURN_SIM_PCI     the fake address, DDDD:BB:DD.F (default 0000:ee:00.0)
 *   FS3BURN_SIM_TRACE   1: log every intercepted call on stderr
 *   FS3BURN_SIM_SPIN_US how long to spin for a reply before blocking (default 2000; 0 = block)
 *
 * Protocol (src/sim/server.ts): 9-byte requests {op u8, offset u32 LE, value u32 LE}.
 * 'R' answers {status u8, value u32 LE}; 'W' answers nothing (writes are pipelined: they are
 * buffered here and sent before the next read, on close, before fork and at exit, so the
 * card sees every access in program order); 'C' asks the server to save and close. Right
 * after connecting the shim asks for shared memory ('H', src/sim/serve-shm.ts): the same
 * frames then go through a mapped 64 KiB file, and the socket only carries doorbells and 'C'.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define CONFIG_SIZE 4096
#define MAX_FDS 4096
#define MAX_DIRS 16
#define WBUF_SIZE (9 * 4096)

/* ------------------------------------------------------------------------------------- */
/* Real functions                                                                         */
/* ------------------------------------------------------------------------------------- */

#define REAL(name) real_##name
#define DECLARE_REAL(ret, name, ...)                                                       \
  static ret (*real_##name)(__VA_ARGS__);                                                  \
  static void resolve_##name(void) {                                                       \
    if (!real_##name) real_##name = (ret(*)(__VA_ARGS__))dlsym(RTLD_NEXT, #name);           \
  }

DECLARE_REAL(int, open, const char *, int, ...)
DECLARE_REAL(int, open64, const char *, int, ...)
DECLARE_REAL(int, openat, int, const char *, int, ...)
DECLARE_REAL(int, openat64, int, const char *, int, ...)
DECLARE_REAL(int, __open_2, const char *, int)
DECLARE_REAL(int, __open64_2, const char *, int)
DECLARE_REAL(FILE *, fopen, const char *, const char *)
DECLARE_REAL(FILE *, fopen64, const char *, const char *)
DECLARE_REAL(int, close, int)
DECLARE_REAL(ssize_t, read, int, void *, size_t)
DECLARE_REAL(ssize_t, write, int, const void *, size_t)
DECLARE_REAL(ssize_t, pread, int, void *, size_t, off_t)
DECLARE_REAL(ssize_t, pread64, int, void *, size_t, off64_t)
DECLARE_REAL(ssize_t, pwrite, int, const void *, size_t, off_t)
DECLARE_REAL(ssize_t, pwrite64, int, const void *, size_t, off64_t)
DECLARE_REAL(off_t, lseek, int, off_t, int)
DECLARE_REAL(off64_t, lseek64, int, off64_t, int)
DECLARE_REAL(int, access, const char *, int)
DECLARE_REAL(int, faccessat, int, const char *, int, int)
DECLARE_REAL(int, stat, const char *, struct stat *)
DECLARE_REAL(int, stat64, const char *, struct stat64 *)
DECLARE_REAL(int, lstat, const char *, struct stat *)
DECLARE_REAL(int, lstat64, const char *, struct stat64 *)
DECLARE_REAL(int, fstat, int, struct stat *)
DECLARE_REAL(int, fstat64, int, struct stat64 *)
DECLARE_REAL(int, __xstat, int, const char *, struct stat *)
DECLARE_REAL(int, __xstat64, int, const char *, struct stat64 *)
DECLARE_REAL(int, __lxstat, int, const char *, struct stat *)
DECLARE_REAL(int, __lxstat64, int, const char *, struct stat64 *)
DECLARE_REAL(int, __fxstat, int, int, struct stat *)
DECLARE_REAL(int, __fxstat64, int, int, struct stat64 *)
DECLARE_REAL(int, fstatat, int, const char *, struct stat *, int)
DECLARE_REAL(int, fstatat64, int, const char *, struct stat64 *, int)
DECLARE_REAL(int, statx, int, const char *, int, unsigned int, struct statx *)
DECLARE_REAL(char *, realpath, const char *, char *)
DECLARE_REAL(ssize_t, readlink, const char *, char *, size_t)
DECLARE_REAL(DIR *, opendir, const char *)
DECLARE_REAL(struct dirent *, readdir, DIR *)
DECLARE_REAL(struct dirent64 *, readdir64, DIR *)
DECLARE_REAL(void, rewinddir, DIR *)
DECLARE_REAL(int, closedir, DIR *)
DECLARE_REAL(void *, mmap, void *, size_t, int, int, int, off_t)
DECLARE_REAL(void *, mmap64, void *, size_t, int, int, int, off64_t)
DECLARE_REAL(int, ioctl, int, unsigned long, ...)

/* ------------------------------------------------------------------------------------- */
/* Configuration                                                                          */
/* ------------------------------------------------------------------------------------- */

static pthread_mutex_t lock = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;
static int configured = 0; /* 1: active, -1: no socket configured (pass-through) */
static char sock_path[108];
static char pci_addr[32] = "0000:ee:00.0";
static char sys_dev_dir[96];   /* /sys/bus/pci/devices/0000:ee:00.0 */
static char sys_real_dir[128]; /* /sys/devices/pci0000:ee/0000:ee:00.0 */
static int trace = 0;

static void logf_(const char *fmt, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if ((size_t)n >= sizeof buf) n = sizeof buf - 1;
  resolve_write();
  if (real_write) (void)!real_write(2, buf, (size_t)n);
}

#define TRACE(...)                                                                         \
  do {                                                                                     \
    if (trace) logf_("sim-preload: " __VA_ARGS__);                                         \
  } while (0)

static void configure(void) {
  if (configured) return;
  const char *s = getenv("FS3BURN_SIM_SOCKET");
  const char *p = getenv("FS3BURN_SIM_PCI");
  const char *t = getenv("FS3BURN_SIM_TRACE");
  trace = t && *t && strcmp(t, "0") != 0;
  if (p && *p) {
    unsigned dom = 0, bus = 0, dev = 0, fn = 0;
    if (sscanf(p, "%x:%x:%x.%x", &dom, &bus, &dev, &fn) == 4 ||
        (sscanf(p, "%x:%x.%x", &bus, &dev, &fn) == 3 && (dom = 0, 1))) {
      snprintf(pci_addr, sizeof pci_addr, "%04x:%02x:%02x.%x", dom & 0xffff, bus & 0xff, dev & 0x1f, fn & 7);
    } else {
      logf_("sim-preload: FS3BURN_SIM_PCI=%s is not DDDD:BB:DD.F; using %s\n", p, pci_addr);
    }
  }
  snprintf(sys_dev_dir, sizeof sys_dev_dir, "/sys/bus/pci/devices/%s", pci_addr);
  snprintf(sys_real_dir, sizeof sys_real_dir, "/sys/devices/pci%.7s/%s", pci_addr, pci_addr);
  if (!s || !*s || strlen(s) >= sizeof sock_path) {
    configured = -1;
    return;
  }
  strcpy(sock_path, s);
  configured = 1;
}

/* ------------------------------------------------------------------------------------- */
/* The connection                                                                         */
/* ------------------------------------------------------------------------------------- */

#define SHM_SIZE (64 * 1024)
static unsigned char *shm = NULL; /* the shared-memory channel, when the server offers one */
static int32_t shm_seq = 0;
static void shm_setup(void);
static int send_all(const unsigned char *b, size_t n);
static void put_req(unsigned char *p, unsigned char op, uint32_t off, uint32_t val);

static int sock = -1;
static unsigned char wbuf[WBUF_SIZE];
static size_t wlen = 0;
static int warned_connect = 0;

static int sock_connect(void) {
  if (sock >= 0) return 0;
  int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0) return -1;
  struct sockaddr_un a;
  memset(&a, 0, sizeof a);
  a.sun_family = AF_UNIX;
  strcpy(a.sun_path, sock_path);
  if (connect(s, (struct sockaddr *)&a, sizeof a) < 0) {
    int e = errno;
    resolve_close();
    real_close(s);
    if (!warned_connect) {
      warned_connect = 1;
      logf_("sim-preload: cannot connect to the simulated card at %s: %s\n", sock_path, strerror(e));
    }
    errno = EIO;
    return -1;
  }
  sock = s;
  TRACE("connected to %s\n", sock_path);
  shm_setup();
  return 0;
}

static void shm_drop(void);

static void sock_drop(void) {
  shm_drop();
  if (sock >= 0) {
    resolve_close();
    real_close(sock);
  }
  sock = -1;
  wlen = 0;
}

static int send_all(const unsigned char *b, size_t n) {
  resolve_write();
  while (n > 0) {
    ssize_t k = real_write(sock, b, n);
    if (k < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    b += k;
    n -= (size_t)k;
  }
  return 0;
}

/*
 * Wait for a reply. The server answers within microseconds, and on a virtual machine a
 * blocked reader's wake-up (an inter-processor interrupt) costs more than the whole
 * request, so the reader spins (yielding the CPU, which also lets a server that shares this
 * CPU run) for up to $FS3BURN_SIM_SPIN_US (default 2000) before it blocks in poll().
 */
static long spin_us = -1;

static int spin_budget_us(void) {
  if (spin_us < 0) {
    const char *e = getenv("FS3BURN_SIM_SPIN_US");
    spin_us = e && *e ? strtol(e, NULL, 10) : 2000;
    if (spin_us < 0) spin_us = 0;
  }
  return (int)spin_us;
}

static int recv_all(unsigned char *b, size_t n) {
  spin_budget_us();
  struct timespec t0 = {0, 0};
  int spins = 0, timed = 0;
  while (n > 0) {
    ssize_t k = recv(sock, b, n, MSG_DONTWAIT);
    if (k > 0) {
      b += k;
      n -= (size_t)k;
      continue;
    }
    if (k == 0) return -1;
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return -1;
    if (spin_us > 0 && (++spins & 63) != 0) {
      sched_yield();
      continue;
    }
    if (spin_us > 0) {
      struct timespec now;
      clock_gettime(CLOCK_MONOTONIC, &now);
      if (!timed) {
        t0 = now;
        timed = 1;
        continue;
      }
      long us = (now.tv_sec - t0.tv_sec) * 1000000L + (now.tv_nsec - t0.tv_nsec) / 1000;
      if (us < spin_us) continue;
    }
    struct pollfd p = {sock, POLLIN, 0};
    if (poll(&p, 1, -1) < 0 && errno != EINTR) return -1;
  }
  return 0;
}

static int shm_call(uint32_t *status, uint32_t *value);

static int flush_writes(void) {
  if (wlen == 0) return 0;
  if (shm) {
    uint32_t st, v;
    return shm_call(&st, &v);
  }
  if (sock < 0) {
    wlen = 0;
    return -1;
  }
  int r = send_all(wbuf, wlen);
  wlen = 0;
  if (r < 0) {
    logf_("sim-preload: lost the simulated card (%s)\n", strerror(errno));
    sock_drop();
    errno = EIO;
  }
  return r;
}

static void put_req(unsigned char *p, unsigned char op, uint32_t off, uint32_t val) {
  p[0] = op;
  for (int i = 0; i < 4; i++) p[1 + i] = (unsigned char)(off >> (8 * i));
  for (int i = 0; i < 4; i++) p[5 + i] = (unsigned char)(val >> (8 * i));
}

/*
 * Shared memory (src/sim/serve-shm.ts): after `H` the server maps a 64 KiB file for this
 * connection; requests are written there and published by bumping a sequence number, and the
 * reply is spun for. int32 slots: [1] request seq, [2] reply seq, [3] server asleep,
 * [4] request bytes, [5] reply status, [6] reply value; frames from byte 64. When the server
 * is asleep the client rings the doorbell (`D` on the socket). FS3BURN_SIM_SHM=0 turns it off.
 */
#define SHM_FRAMES_AT 64
#define SHM_MAGIC 0x4d485346
static int32_t *shm_i32(void) { return (int32_t *)(void *)shm; }

static void shm_drop(void) {
  if (shm) munmap(shm, SHM_SIZE);
  shm = NULL;
}

static int spin_budget_us(void);

/* Ask the server for a shared-memory channel; stay on the socket if anything fails. */
static void shm_setup(void) {
  const char *e = getenv("FS3BURN_SIM_SHM");
  if (e && strcmp(e, "0") == 0) return;
  unsigned char req[9], r[5];
  put_req(req, 'H', 0, 0);
  if (send_all(req, 9) < 0) return;
  resolve_read();
  size_t got = 0;
  while (got < 5) {
    ssize_t k = real_read(sock, r + got, 5 - got);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return;
    got += (size_t)k;
  }
  if (r[0] != 0) return; /* the server offers none (no koffi): the socket it is */
  uint32_t id = (uint32_t)r[1] | ((uint32_t)r[2] << 8) | ((uint32_t)r[3] << 16) | ((uint32_t)r[4] << 24);
  char path[160];
  snprintf(path, sizeof path, "%s.shm.%u", sock_path, id);
  resolve_open();
  int fd = real_open(path, O_RDWR | O_CLOEXEC, 0);
  if (fd < 0) return;
  void *m = mmap(NULL, SHM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  resolve_close();
  real_close(fd);
  unlink(path);
  if (m == MAP_FAILED) return;
  if (__atomic_load_n((int32_t *)m, __ATOMIC_ACQUIRE) != SHM_MAGIC) {
    munmap(m, SHM_SIZE);
    return;
  }
  shm = m;
  shm_seq = __atomic_load_n(&shm_i32()[1], __ATOMIC_ACQUIRE);
  TRACE("shared memory %s\n", path);
}

/* Publish the frames written so far and wait for the server's answer. */
static int shm_call(uint32_t *status, uint32_t *value) {
  int32_t *w = shm_i32();
  __atomic_store_n(&w[4], (int32_t)wlen, __ATOMIC_RELAXED);
  int32_t seq = shm_seq + 1;
  __atomic_store_n(&w[1], seq, __ATOMIC_SEQ_CST);
  shm_seq = seq;
  wlen = 0;
  if (__atomic_load_n(&w[3], __ATOMIC_SEQ_CST)) {
    unsigned char bell[9];
    put_req(bell, 'D', 0, 0);
    if (send_all(bell, 9) < 0) goto lost;
  }
  struct timespec t0 = {0, 0};
  long budget = spin_budget_us();
  for (unsigned spins = 1; __atomic_load_n(&w[2], __ATOMIC_ACQUIRE) != seq; spins++) {
    if ((spins & 255) != 0) {
      /* the answer usually comes within a microsecond or two: look a few times before yielding */
      if ((spins & 7) != 0) {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
        continue;
      }
      sched_yield();
      continue;
    }
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (t0.tv_sec == 0 && t0.tv_nsec == 0) t0 = now;
    long us = (now.tv_sec - t0.tv_sec) * 1000000L + (now.tv_nsec - t0.tv_nsec) / 1000;
    if (us < budget) continue;
    /* a slow answer (a reset, a state save, a busy machine): check the server is alive, then nap */
    char c;
    ssize_t k = recv(sock, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    if (k == 0 || (k < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) goto lost;
    struct timespec nap = {0, 50000};
    nanosleep(&nap, NULL);
  }
  *status = (uint32_t)__atomic_load_n(&w[5], __ATOMIC_ACQUIRE);
  *value = (uint32_t)__atomic_load_n(&w[6], __ATOMIC_ACQUIRE);
  return 0;
lost:
  logf_("sim-preload: the simulated card went away\n");
  shm_drop();
  sock_drop();
  errno = EIO;
  return -1;
}

/* Read config dword `off`. 0 on success. */
static int cfg_read32(uint32_t off, uint32_t *val) {
  pthread_mutex_lock(&lock);
  int rc = -1;
  if (sock_connect() < 0) goto out;
  if (shm) {
    if (SHM_FRAMES_AT + wlen + 9 > SHM_SIZE) {
      uint32_t st, v;
      if (shm_call(&st, &v) < 0) goto out;
    }
    put_req(shm + SHM_FRAMES_AT + wlen, 'R', off, 0);
    wlen += 9;
    uint32_t st = 0;
    if (shm_call(&st, val) < 0) goto out;
    if (st != 0) {
      errno = EIO;
      goto out;
    }
    rc = 0;
    goto out;
  }
  if (wlen + 9 > WBUF_SIZE && flush_writes() < 0) goto out;
  put_req(wbuf + wlen, 'R', off, 0);
  wlen += 9;
  if (flush_writes() < 0) goto out;
  unsigned char r[5];
  if (recv_all(r, 5) < 0) {
    logf_("sim-preload: the simulated card went away\n");
    sock_drop();
    errno = EIO;
    goto out;
  }
  if (r[0] != 0) {
    errno = EIO;
    goto out;
  }
  *val = (uint32_t)r[1] | ((uint32_t)r[2] << 8) | ((uint32_t)r[3] << 16) | ((uint32_t)r[4] << 24);
  rc = 0;
out:
  pthread_mutex_unlock(&lock);
  return rc;
}

/* Write config dword `off` (buffered). 0 on success. */
static int cfg_write32(uint32_t off, uint32_t val) {
  pthread_mutex_lock(&lock);
  int rc = -1;
  if (sock_connect() < 0) goto out;
  if (shm) {
    if (SHM_FRAMES_AT + wlen + 9 > SHM_SIZE) {
      uint32_t st, v;
      if (shm_call(&st, &v) < 0) goto out;
    }
    put_req(shm + SHM_FRAMES_AT + wlen, 'W', off, val);
    wlen += 9;
    rc = 0;
    goto out;
  }
  if (wlen + 9 > WBUF_SIZE && flush_writes() < 0) goto out;
  put_req(wbuf + wlen, 'W', off, val);
  wlen += 9;
  rc = 0;
out:
  pthread_mutex_unlock(&lock);
  return rc;
}

static void flush_locked(void) {
  pthread_mutex_lock(&lock);
  if (sock >= 0) flush_writes();
  pthread_mutex_unlock(&lock);
}

static void atfork_prepare(void) { flush_locked(); }
static void atfork_child(void) {
  /* the child must not share the parent's stream or memory: it connects again when it needs to */
  shm_drop();
  if (sock >= 0) {
    resolve_close();
    real_close(sock);
  }
  sock = -1;
  wlen = 0;
  pthread_mutex_init(&lock, NULL);
}

__attribute__((constructor)) static void shim_init(void) {
  configure();
  pthread_atfork(atfork_prepare, NULL, atfork_child);
  TRACE("loaded: %s -> %s\n", pci_addr, configured > 0 ? sock_path : "(no FS3BURN_SIM_SOCKET: pass-through)");
}

__attribute__((destructor)) static void shim_fini(void) {
  pthread_mutex_lock(&lock);
  if (sock >= 0) {
    unsigned char req[9], r[5];
    flush_writes();
    if (sock >= 0) {
      put_req(req, 'C', 0, 0);
      if (send_all(req, 9) == 0) (void)recv_all(r, 5);
    }
    sock_drop();
  }
  pthread_mutex_unlock(&lock);
}

/* Byte-granular config access on top of dword accesses (sysfs allows any size). */
static ssize_t cfg_pread(void *buf, size_t count, off64_t off) {
  if (off < 0) {
    errno = EINVAL;
    return -1;
  }
  if (off >= CONFIG_SIZE || count == 0) return 0;
  if ((size_t)(CONFIG_SIZE - off) < count) count = (size_t)(CONFIG_SIZE - off);
  unsigned char *out = buf;
  size_t done = 0;
  while (done < count) {
    uint32_t pos = (uint32_t)(off + done);
    uint32_t base = pos & ~3u;
    uint32_t v;
    if (cfg_read32(base, &v) < 0) return done > 0 ? (ssize_t)done : -1;
    for (uint32_t i = pos - base; i < 4 && done < count; i++, done++) out[done] = (unsigned char)(v >> (8 * i));
  }
  return (ssize_t)done;
}

static ssize_t cfg_pwrite(const void *buf, size_t count, off64_t off) {
  if (off < 0) {
    errno = EINVAL;
    return -1;
  }
  if (off >= CONFIG_SIZE || count == 0) return 0;
  if ((size_t)(CONFIG_SIZE - off) < count) count = (size_t)(CONFIG_SIZE - off);
  const unsigned char *in = buf;
  size_t done = 0;
  while (done < count) {
    uint32_t pos = (uint32_t)(off + done);
    uint32_t base = pos & ~3u;
    uint32_t v = 0;
    if ((pos & 3) == 0 && count - done >= 4) {
      v = (uint32_t)in[done] | ((uint32_t)in[done + 1] << 8) | ((uint32_t)in[done + 2] << 16) | ((uint32_t)in[done + 3] << 24);
      done += 4;
    } else {
      /* a partial dword: read-modify-write (the card only takes whole dwords) */
      if (cfg_read32(base, &v) < 0) return done > 0 ? (ssize_t)done : -1;
      for (uint32_t i = pos - base; i < 4 && done < count; i++, done++) {
        v = (v & ~(0xffu << (8 * i))) | ((uint32_t)in[done] << (8 * i));
      }
    }
    if (cfg_write32(base, v) < 0) return done > 0 ? (ssize_t)done : -1;
  }
  return (ssize_t)done;
}

/* ------------------------------------------------------------------------------------- */
/* Which paths are ours                                                                    */
/* ------------------------------------------------------------------------------------- */

enum { P_NONE = 0, P_DIR, P_CONFIG, P_TEXT, P_LINK, P_MISSING };

/*
 * Classify a path under the fake device's sysfs folder. `rel` gets the part after the
 * folder ("" for the folder itself). Returns P_NONE for paths that are not ours.
 */
static int classify(const char *path, const char **rel) {
  configure();
  if (configured <= 0 || !path) return P_NONE;
  const char *dirs[2] = {sys_dev_dir, sys_real_dir};
  for (int k = 0; k < 2; k++) {
    size_t n = strlen(dirs[k]);
    if (strncmp(path, dirs[k], n) != 0) continue;
    const char *r = path + n;
    if (*r != '\0' && *r != '/') continue;
    while (*r == '/') r++;
    if (rel) *rel = r;
    if (*r == '\0') return P_DIR;
    if (strcmp(r, "config") == 0) return P_CONFIG;
    if (strcmp(r, "driver") == 0 || strcmp(r, "subsystem") == 0) return P_LINK;
    if (!strcmp(r, "vendor") || !strcmp(r, "device") || !strcmp(r, "subsystem_vendor") ||
        !strcmp(r, "subsystem_device") || !strcmp(r, "class") || !strcmp(r, "revision") ||
        !strcmp(r, "numa_node") || !strcmp(r, "uevent") || !strcmp(r, "irq") || !strcmp(r, "enable") ||
        !strcmp(r, "local_cpulist") || !strcmp(r, "resource") || !strcmp(r, "current_link_speed") ||
        !strcmp(r, "current_link_width") || !strcmp(r, "max_link_speed") || !strcmp(r, "max_link_width"))
      return P_TEXT;
    return P_MISSING; /* resource0, rom, sriov_*, ...: not there, so the tool uses config space */
  }
  return P_NONE;
}

/* The contents of a small sysfs text file of the fake device (read live from config space). */
static int text_content(const char *rel, char *buf, size_t cap) {
  uint32_t id = 0, cls = 0, sub = 0;
  if (cfg_read32(0x00, &id) < 0 || cfg_read32(0x08, &cls) < 0 || cfg_read32(0x2c, &sub) < 0) return -1;
  unsigned vendor = id & 0xffff, device = id >> 16, svendor = sub & 0xffff, sdevice = sub >> 16;
  if (!strcmp(rel, "vendor")) return snprintf(buf, cap, "0x%04x\n", vendor);
  if (!strcmp(rel, "device")) return snprintf(buf, cap, "0x%04x\n", device);
  if (!strcmp(rel, "subsystem_vendor")) return snprintf(buf, cap, "0x%04x\n", svendor);
  if (!strcmp(rel, "subsystem_device")) return snprintf(buf, cap, "0x%04x\n", sdevice);
  if (!strcmp(rel, "class")) return snprintf(buf, cap, "0x%06x\n", cls >> 8);
  if (!strcmp(rel, "revision")) return snprintf(buf, cap, "0x%02x\n", cls & 0xff);
  if (!strcmp(rel, "numa_node")) return snprintf(buf, cap, "-1\n");
  if (!strcmp(rel, "irq")) return snprintf(buf, cap, "0\n");
  if (!strcmp(rel, "enable")) return snprintf(buf, cap, "1\n");
  if (!strcmp(rel, "local_cpulist")) return snprintf(buf, cap, "0\n");
  if (!strcmp(rel, "current_link_speed") || !strcmp(rel, "max_link_speed")) return snprintf(buf, cap, "8.0 GT/s PCIe\n");
  if (!strcmp(rel, "current_link_width") || !strcmp(rel, "max_link_width")) return snprintf(buf, cap, "8\n");
  if (!strcmp(rel, "resource")) {
    /* BAR0 is not reachable (no resource0): show it as absent */
    int n = 0;
    for (int i = 0; i < 13 && (size_t)n < cap; i++)
      n += snprintf(buf + n, cap - (size_t)n, "0x%016x 0x%016x 0x%016x\n", 0, 0, 0);
    return n;
  }
  if (!strcmp(rel, "uevent"))
    return snprintf(buf, cap, "PCI_CLASS=%X\nPCI_ID=%04X:%04X\nPCI_SUBSYS_ID=%04X:%04X\nPCI_SLOT_NAME=%s\n", cls >> 8, vendor,
                    device, svendor, sdevice, pci_addr);
  return -1;
}

/* ------------------------------------------------------------------------------------- */
/* Fake file descriptors for `config`                                                      */
/* ------------------------------------------------------------------------------------- */

/* Connect now, so that opening the device fails when no server listens. */
static int sock_connect_checked(void);

static unsigned char fake_fd[MAX_FDS];
static off64_t fake_pos[MAX_FDS];
static int fake_open_count = 0;

static int is_fake_fd(int fd) { return fd >= 0 && fd < MAX_FDS && fake_fd[fd]; }

static int open_config_fd(const char *path, int flags) {
  /* a real descriptor (on /dev/null) stands for the config file, so flock/fcntl/dup work */
  resolve_open();
  if (configured <= 0 || sock_connect_checked() < 0) return -1;
  int fd = real_open("/dev/null", O_RDWR | (flags & O_CLOEXEC));
  if (fd < 0) return -1;
  if (fd >= MAX_FDS) {
    resolve_close();
    real_close(fd);
    errno = EMFILE;
    return -1;
  }
  fake_fd[fd] = 1;
  fake_pos[fd] = 0;
  fake_open_count++;
  TRACE("open %s -> fd %d\n", path, fd);
  return fd;
}

/* Make one text file a real, readable descriptor (a memfd holding its contents). */
static int open_text_fd(const char *path, const char *rel) {
  char buf[1024];
  int n = text_content(rel, buf, sizeof buf);
  if (n < 0) {
    errno = EIO;
    return -1;
  }
  if ((size_t)n > sizeof buf) n = sizeof buf;
  int fd = memfd_create("sim-sysfs", MFD_CLOEXEC);
  if (fd < 0) return -1;
  resolve_write();
  if (real_write(fd, buf, (size_t)n) != n) {
    resolve_close();
    real_close(fd);
    errno = EIO;
    return -1;
  }
  resolve_lseek();
  real_lseek(fd, 0, SEEK_SET);
  TRACE("open %s -> \"%.*s\"\n", path, n > 0 && buf[n - 1] == '\n' ? n - 1 : n, buf);
  return fd;
}

/* Open one of our paths with open()-like semantics; `handled` tells whether it was ours. */
static int fake_open(const char *path, int flags, int *handled) {
  const char *rel = NULL;
  int kind = classify(path, &rel);
  *handled = kind != P_NONE;
  switch (kind) {
    case P_NONE:
      return -1;
    case P_CONFIG:
      return open_config_fd(path, flags);
    case P_TEXT:
      if ((flags & O_ACCMODE) != O_RDONLY) {
        errno = EACCES;
        return -1;
      }
      return open_text_fd(path, rel);
    case P_DIR:
      /* open(dir, O_DIRECTORY...): nothing under it can be listed; say so */
      errno = EACCES;
      TRACE("open %s -> EACCES (folder)\n", path);
      return -1;
    default:
      errno = ENOENT;
      TRACE("open %s -> ENOENT\n", path);
      return -1;
  }
}

static int sock_connect_checked(void) {
  pthread_mutex_lock(&lock);
  int r = sock_connect();
  pthread_mutex_unlock(&lock);
  return r;
}

static int mode_flags(const char *mode) {
  int rw = strchr(mode, '+') != NULL;
  if (mode[0] == 'r') return rw ? O_RDWR : O_RDONLY;
  return rw ? O_RDWR | O_CREAT : O_WRONLY | O_CREAT;
}

/* ------------------------------------------------------------------------------------- */
/* open / fopen                                                                            */
/* ------------------------------------------------------------------------------------- */

#define OPEN_BODY(realfn, ...)                                                            \
  do {                                                                                     \
    int handled = 0;                                                                       \
    int fd = fake_open(path, flags, &handled);                                             \
    if (handled) return fd;                                                                \
    resolve_##realfn();                                                                    \
    return real_##realfn(__VA_ARGS__);                                                     \
  } while (0)

static mode_t va_mode(int flags, va_list ap) {
  if (flags & (O_CREAT | O_TMPFILE)) return (mode_t)va_arg(ap, int);
  return 0;
}

int open(const char *path, int flags, ...) {
  va_list ap;
  va_start(ap, flags);
  mode_t m = va_mode(flags, ap);
  va_end(ap);
  OPEN_BODY(open, path, flags, m);
}

int open64(const char *path, int flags, ...) {
  va_list ap;
  va_start(ap, flags);
  mode_t m = va_mode(flags, ap);
  va_end(ap);
  OPEN_BODY(open64, path, flags, m);
}

int __open_2(const char *path, int flags) { OPEN_BODY(__open_2, path, flags); }
int __open64_2(const char *path, int flags) { OPEN_BODY(__open64_2, path, flags); }

int openat(int dirfd, const char *path, int flags, ...) {
  va_list ap;
  va_start(ap, flags);
  mode_t m = va_mode(flags, ap);
  va_end(ap);
  if (path[0] == '/') {
    int handled = 0;
    int fd = fake_open(path, flags, &handled);
    if (handled) return fd;
  }
  resolve_openat();
  return real_openat(dirfd, path, flags, m);
}

int openat64(int dirfd, const char *path, int flags, ...) {
  va_list ap;
  va_start(ap, flags);
  mode_t m = va_mode(flags, ap);
  va_end(ap);
  if (path[0] == '/') {
    int handled = 0;
    int fd = fake_open(path, flags, &handled);
    if (handled) return fd;
  }
  resolve_openat64();
  return real_openat64(dirfd, path, flags, m);
}

/* A FILE on the config file: every read and write goes to the card (unbuffered). */
struct cfg_cookie {
  off64_t pos;
};

static ssize_t cookie_read(void *c, char *buf, size_t size) {
  struct cfg_cookie *k = c;
  ssize_t n = cfg_pread(buf, size, k->pos);
  if (n > 0) k->pos += n;
  return n;
}

static ssize_t cookie_write(void *c, const char *buf, size_t size) {
  struct cfg_cookie *k = c;
  ssize_t n = cfg_pwrite(buf, size, k->pos);
  if (n > 0) k->pos += n;
  return n < 0 ? 0 : n;
}

static int cookie_seek(void *c, off64_t *off, int whence) {
  struct cfg_cookie *k = c;
  off64_t base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? k->pos : CONFIG_SIZE;
  off64_t np = base + *off;
  if (np < 0) {
    errno = EINVAL;
    return -1;
  }
  k->pos = np;
  *off = np;
  return 0;
}

static int cookie_close(void *c) {
  free(c);
  flush_locked();
  return 0;
}

static FILE *fake_fopen(const char *path, const char *mode, int *handled) {
  const char *rel = NULL;
  int kind = classify(path, &rel);
  *handled = kind != P_NONE;
  if (kind == P_NONE) return NULL;
  if (kind == P_CONFIG) {
    if (sock_connect_checked() < 0) return NULL;
    struct cfg_cookie *k = calloc(1, sizeof *k);
    if (!k) return NULL;
    cookie_io_functions_t io = {cookie_read, cookie_write, cookie_seek, cookie_close};
    FILE *f = fopencookie(k, mode, io);
    if (!f) {
      free(k);
      return NULL;
    }
    setvbuf(f, NULL, _IONBF, 0);
    TRACE("fopen %s (%s) -> live config stream\n", path, mode);
    return f;
  }
  int fd = fake_open(path, mode_flags(mode), handled);
  if (fd < 0) return NULL;
  FILE *f = fdopen(fd, mode);
  if (!f) {
    resolve_close();
    real_close(fd);
  }
  return f;
}

FILE *fopen(const char *path, const char *mode) {
  int handled = 0;
  FILE *f = fake_fopen(path, mode, &handled);
  if (handled) return f;
  resolve_fopen();
  return real_fopen(path, mode);
}

FILE *fopen64(const char *path, const char *mode) {
  int handled = 0;
  FILE *f = fake_fopen(path, mode, &handled);
  if (handled) return f;
  resolve_fopen64();
  return real_fopen64(path, mode);
}

/* ------------------------------------------------------------------------------------- */
/* I/O on the config descriptor                                                           */
/* ------------------------------------------------------------------------------------- */

int close(int fd) {
  if (is_fake_fd(fd)) {
    fake_fd[fd] = 0;
    if (--fake_open_count <= 0) {
      fake_open_count = 0;
      flush_locked();
    }
    TRACE("close fd %d\n", fd);
  }
  resolve_close();
  return real_close(fd);
}

ssize_t pread64(int fd, void *buf, size_t count, off64_t off) {
  if (is_fake_fd(fd)) return cfg_pread(buf, count, off);
  resolve_pread64();
  return real_pread64(fd, buf, count, off);
}

ssize_t pread(int fd, void *buf, size_t count, off_t off) {
  if (is_fake_fd(fd)) return cfg_pread(buf, count, off);
  resolve_pread();
  return real_pread(fd, buf, count, off);
}

ssize_t pwrite64(int fd, const void *buf, size_t count, off64_t off) {
  if (is_fake_fd(fd)) return cfg_pwrite(buf, count, off);
  resolve_pwrite64();
  return real_pwrite64(fd, buf, count, off);
}

ssize_t pwrite(int fd, const void *buf, size_t count, off_t off) {
  if (is_fake_fd(fd)) return cfg_pwrite(buf, count, off);
  resolve_pwrite();
  return real_pwrite(fd, buf, count, off);
}

ssize_t read(int fd, void *buf, size_t count) {
  if (is_fake_fd(fd)) {
    ssize_t n = cfg_pread(buf, count, fake_pos[fd]);
    if (n > 0) fake_pos[fd] += n;
    return n;
  }
  resolve_read();
  return real_read(fd, buf, count);
}

ssize_t write(int fd, const void *buf, size_t count) {
  if (is_fake_fd(fd)) {
    ssize_t n = cfg_pwrite(buf, count, fake_pos[fd]);
    if (n > 0) fake_pos[fd] += n;
    return n;
  }
  resolve_write();
  return real_write(fd, buf, count);
}

static off64_t fake_seek(int fd, off64_t off, int whence) {
  off64_t base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? fake_pos[fd] : whence == SEEK_END ? CONFIG_SIZE : -1;
  if (base < 0 || base + off < 0) {
    errno = EINVAL;
    return -1;
  }
  fake_pos[fd] = base + off;
  return fake_pos[fd];
}

off_t lseek(int fd, off_t off, int whence) {
  if (is_fake_fd(fd)) return (off_t)fake_seek(fd, off, whence);
  resolve_lseek();
  return real_lseek(fd, off, whence);
}

off64_t lseek64(int fd, off64_t off, int whence) {
  if (is_fake_fd(fd)) return fake_seek(fd, off, whence);
  resolve_lseek64();
  return real_lseek64(fd, off, whence);
}

void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off) {
  if (is_fake_fd(fd)) {
    errno = ENODEV;
    return MAP_FAILED;
  }
  resolve_mmap();
  return real_mmap(addr, len, prot, flags, fd, off);
}

void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off64_t off) {
  if (is_fake_fd(fd)) {
    errno = ENODEV;
    return MAP_FAILED;
  }
  resolve_mmap64();
  return real_mmap64(addr, len, prot, flags, fd, off);
}

int ioctl(int fd, unsigned long req, ...) {
  va_list ap;
  va_start(ap, req);
  void *arg = va_arg(ap, void *);
  va_end(ap);
  if (is_fake_fd(fd)) {
    TRACE("ioctl fd %d 0x%lx -> ENOTTY\n", fd, req);
    errno = ENOTTY;
    return -1;
  }
  resolve_ioctl();
  return real_ioctl(fd, req, arg);
}

/* ------------------------------------------------------------------------------------- */
/* access / stat / readlink / realpath                                                     */
/* ------------------------------------------------------------------------------------- */

/* Fill a stat for one of our paths; -1 with ENOENT for a path that does not exist. */
static int fake_stat_fill(int kind, struct stat *st) {
  memset(st, 0, sizeof *st);
  st->st_dev = 0x15;
  st->st_nlink = 1;
  st->st_blksize = 4096;
  switch (kind) {
    case P_DIR:
      st->st_mode = S_IFDIR | 0755;
      st->st_nlink = 2;
      return 0;
    case P_CONFIG:
      st->st_mode = S_IFREG | 0644;
      st->st_size = CONFIG_SIZE;
      return 0;
    case P_TEXT:
      st->st_mode = S_IFREG | 0444;
      st->st_size = 4096;
      return 0;
    case P_LINK:
      st->st_mode = S_IFLNK | 0777;
      return 0;
    default:
      errno = ENOENT;
      return -1;
  }
}

static int fake_access(int kind, int mode) {
  if (kind == P_MISSING) {
    errno = ENOENT;
    return -1;
  }
  if (kind == P_TEXT && (mode & W_OK)) {
    errno = EACCES;
    return -1;
  }
  return 0;
}

int access(const char *path, int mode) {
  int kind = classify(path, NULL);
  if (kind != P_NONE) {
    TRACE("access %s\n", path);
    return fake_access(kind, mode);
  }
  resolve_access();
  return real_access(path, mode);
}

int faccessat(int dirfd, const char *path, int mode, int flags) {
  int kind = path[0] == '/' ? classify(path, NULL) : P_NONE;
  if (kind != P_NONE) return fake_access(kind, mode);
  resolve_faccessat();
  return real_faccessat(dirfd, path, mode, flags);
}

/* stat() follows the driver link; there is none, so it is missing */
static int follow(int kind) { return kind == P_LINK ? P_MISSING : kind; }

int stat(const char *path, struct stat *st) {
  int kind = follow(classify(path, NULL));
  if (kind != P_NONE) return fake_stat_fill(kind, st);
  resolve_stat();
  return real_stat(path, st);
}

int stat64(const char *path, struct stat64 *st) {
  int kind = follow(classify(path, NULL));
  if (kind != P_NONE) return fake_stat_fill(kind, (struct stat *)st);
  resolve_stat64();
  return real_stat64(path, st);
}

int lstat(const char *path, struct stat *st) {
  int kind = classify(path, NULL);
  if (kind != P_NONE) return fake_stat_fill(kind, st);
  resolve_lstat();
  return real_lstat(path, st);
}

int lstat64(const char *path, struct stat64 *st) {
  int kind = classify(path, NULL);
  if (kind != P_NONE) return fake_stat_fill(kind, (struct stat *)st);
  resolve_lstat64();
  return real_lstat64(path, st);
}

int __xstat(int ver, const char *path, struct stat *st) {
  int kind = follow(classify(path, NULL));
  if (kind != P_NONE) return fake_stat_fill(kind, st);
  resolve___xstat();
  return real___xstat(ver, path, st);
}

int __xstat64(int ver, const char *path, struct stat64 *st) {
  int kind = follow(classify(path, NULL));
  if (kind != P_NONE) return fake_stat_fill(kind, (struct stat *)st);
  resolve___xstat64();
  return real___xstat64(ver, path, st);
}

int __lxstat(int ver, const char *path, struct stat *st) {
  int kind = classify(path, NULL);
  if (kind != P_NONE) return fake_stat_fill(kind, st);
  resolve___lxstat();
  return real___lxstat(ver, path, st);
}

int __lxstat64(int ver, const char *path, struct stat64 *st) {
  int kind = classify(path, NULL);
  if (kind != P_NONE) return fake_stat_fill(kind, (struct stat *)st);
  resolve___lxstat64();
  return real___lxstat64(ver, path, st);
}

int fstat(int fd, struct stat *st) {
  if (is_fake_fd(fd)) return fake_stat_fill(P_CONFIG, st);
  resolve_fstat();
  return real_fstat(fd, st);
}

int fstat64(int fd, struct stat64 *st) {
  if (is_fake_fd(fd)) return fake_stat_fill(P_CONFIG, (struct stat *)st);
  resolve_fstat64();
  return real_fstat64(fd, st);
}

int __fxstat(int ver, int fd, struct stat *st) {
  if (is_fake_fd(fd)) return fake_stat_fill(P_CONFIG, st);
  resolve___fxstat();
  return real___fxstat(ver, fd, st);
}

int __fxstat64(int ver, int fd, struct stat64 *st) {
  if (is_fake_fd(fd)) return fake_stat_fill(P_CONFIG, (struct stat *)st);
  resolve___fxstat64();
  return real___fxstat64(ver, fd, st);
}

/* The *at forms (coreutils' ls uses statx): absolute paths of ours only. */
static int at_kind(const char *path, int flags) {
  if (path[0] != '/') return P_NONE;
  int kind = classify(path, NULL);
  return (flags & AT_SYMLINK_NOFOLLOW) ? kind : follow(kind);
}

int fstatat(int dirfd, const char *path, struct stat *st, int flags) {
  int kind = at_kind(path, flags);
  if (kind != P_NONE) return fake_stat_fill(kind, st);
  resolve_fstatat();
  return real_fstatat(dirfd, path, st, flags);
}

int fstatat64(int dirfd, const char *path, struct stat64 *st, int flags) {
  int kind = at_kind(path, flags);
  if (kind != P_NONE) return fake_stat_fill(kind, (struct stat *)st);
  resolve_fstatat64();
  return real_fstatat64(dirfd, path, st, flags);
}

int statx(int dirfd, const char *path, int flags, unsigned int mask, struct statx *stx) {
  int kind = at_kind(path, flags);
  if (kind == P_NONE) {
    resolve_statx();
    return real_statx(dirfd, path, flags, mask, stx);
  }
  struct stat st;
  if (fake_stat_fill(kind, &st) < 0) return -1;
  memset(stx, 0, sizeof *stx);
  stx->stx_mask = STATX_BASIC_STATS;
  stx->stx_mode = (unsigned short)st.st_mode;
  stx->stx_nlink = (unsigned)st.st_nlink;
  stx->stx_size = (unsigned long long)st.st_size;
  stx->stx_blksize = (unsigned)st.st_blksize;
  stx->stx_dev_major = 0;
  stx->stx_dev_minor = 0x15;
  return 0;
}

ssize_t readlink(const char *path, char *buf, size_t size) {
  const char *rel = NULL;
  int kind = classify(path, &rel);
  if (kind == P_NONE) {
    resolve_readlink();
    return real_readlink(path, buf, size);
  }
  TRACE("readlink %s\n", path);
  const char *target = NULL;
  char tmp[160];
  if (kind == P_DIR && strncmp(path, "/sys/bus/", 9) == 0) {
    snprintf(tmp, sizeof tmp, "../../../devices/pci%.7s/%s", pci_addr, pci_addr);
    target = tmp;
  } else if (kind == P_LINK && strcmp(rel, "subsystem") == 0) {
    target = "../../../bus/pci";
  } else {
    /* no driver is bound to the simulated function */
    errno = kind == P_LINK || kind == P_MISSING ? ENOENT : EINVAL;
    return -1;
  }
  size_t n = strlen(target);
  if (n > size) n = size;
  memcpy(buf, target, n);
  return (ssize_t)n;
}

char *realpath(const char *path, char *resolved) {
  const char *rel = NULL;
  int kind = classify(path, &rel);
  if (kind == P_NONE) {
    resolve_realpath();
    return real_realpath(path, resolved);
  }
  if (kind == P_MISSING || kind == P_LINK) {
    errno = ENOENT;
    return NULL;
  }
  char tmp[PATH_MAX];
  snprintf(tmp, sizeof tmp, "%s%s%s", sys_real_dir, *rel ? "/" : "", rel);
  TRACE("realpath %s -> %s\n", path, tmp);
  if (!resolved) return strdup(tmp);
  strcpy(resolved, tmp);
  return resolved;
}

char *__realpath_chk(const char *path, char *resolved, size_t resolvedlen) {
  (void)resolvedlen;
  return realpath(path, resolved);
}

/* ------------------------------------------------------------------------------------- */
/* Listing /sys/bus/pci/devices: the fake address is one more entry                        */
/* ------------------------------------------------------------------------------------- */

static struct {
  DIR *dir;
  int injected;
} dirs[MAX_DIRS];
static struct dirent64 fake_ent64;
static struct dirent fake_ent;

static int is_pci_list(const char *path) {
  if (!path) return 0;
  const char *p = "/sys/bus/pci/devices";
  size_t n = strlen(p);
  if (strncmp(path, p, n) != 0) return 0;
  while (path[n] == '/') n++;
  return path[n] == '\0';
}

DIR *opendir(const char *path) {
  resolve_opendir();
  configure();
  int kind = classify(path, NULL);
  if (kind == P_DIR) {
    /* the device folder itself: list it as empty (the caller asks only for named files) */
    TRACE("opendir %s -> /var/empty-like\n", path);
    errno = EACCES;
    return NULL;
  }
  DIR *d = real_opendir(path);
  if (d && configured > 0 && is_pci_list(path)) {
    pthread_mutex_lock(&lock);
    for (int i = 0; i < MAX_DIRS; i++) {
      if (!dirs[i].dir) {
        dirs[i].dir = d;
        dirs[i].injected = 0;
        break;
      }
    }
    pthread_mutex_unlock(&lock);
    TRACE("opendir %s: %s will be listed\n", path, pci_addr);
  }
  return d;
}

static int dir_slot(DIR *d) {
  for (int i = 0; i < MAX_DIRS; i++)
    if (dirs[i].dir == d) return i;
  return -1;
}

struct dirent64 *readdir64(DIR *d) {
  resolve_readdir64();
  int saved = errno;
  struct dirent64 *e = real_readdir64(d);
  if (e) {
    int i = dir_slot(d);
    /* a real device with our address hides the fake one: never list it twice */
    if (i >= 0 && strcmp(e->d_name, pci_addr) == 0) dirs[i].injected = 1;
    return e;
  }
  int i = dir_slot(d);
  if (i >= 0 && !dirs[i].injected) {
    dirs[i].injected = 1;
    memset(&fake_ent64, 0, sizeof fake_ent64);
    fake_ent64.d_ino = 0x5151;
    fake_ent64.d_type = DT_LNK;
    fake_ent64.d_reclen = sizeof fake_ent64;
    snprintf(fake_ent64.d_name, sizeof fake_ent64.d_name, "%s", pci_addr);
    errno = saved;
    return &fake_ent64;
  }
  return NULL;
}

struct dirent *readdir(DIR *d) {
  resolve_readdir();
  int saved = errno;
  struct dirent *e = real_readdir(d);
  if (e) {
    int i = dir_slot(d);
    if (i >= 0 && strcmp(e->d_name, pci_addr) == 0) dirs[i].injected = 1;
    return e;
  }
  int i = dir_slot(d);
  if (i >= 0 && !dirs[i].injected) {
    dirs[i].injected = 1;
    memset(&fake_ent, 0, sizeof fake_ent);
    fake_ent.d_ino = 0x5151;
    fake_ent.d_type = DT_LNK;
    fake_ent.d_reclen = sizeof fake_ent;
    snprintf(fake_ent.d_name, sizeof fake_ent.d_name, "%s", pci_addr);
    errno = saved;
    return &fake_ent;
  }
  return NULL;
}

void rewinddir(DIR *d) {
  int i = dir_slot(d);
  if (i >= 0) dirs[i].injected = 0;
  resolve_rewinddir();
  real_rewinddir(d);
}

int closedir(DIR *d) {
  pthread_mutex_lock(&lock);
  int i = dir_slot(d);
  if (i >= 0) dirs[i].dir = NULL;
  pthread_mutex_unlock(&lock);
  resolve_closedir();
  return real_closedir(d);
}
