/*
 * fileops: the less common file operations, inside the preopened directory
 * argv[1] (which should be empty). Every step prints "ok <step>[: observed]"
 * or "FAIL <step>: <what was wrong>"; the last line is "fileops: N failures",
 * and the exit status is 0 when none failed, else 1. Everything it creates is
 * removed again, except keep.txt ("kept\n"), which the host checks.
 *
 *   - append mode: two fopen("a") writes end up one after the other, even
 *     after an lseek to 0 (O_APPEND)
 *   - O_TRUNC empties a file
 *   - writing past the end leaves a hole that reads back as zeros;
 *     ftruncate extends with zeros
 *   - utimensat sets a file's access and modification times; stat reads them
 *   - symlink + readlink + lstat (S_ISLNK) inside the directory, reading
 *     through the link
 *   - link (a hard link): both names show the same content, st_nlink is 2
 *   - rename over an existing file replaces it; rename of a directory
 *   - read() on a directory descriptor fails
 *   - lseek on a pipe-less regular file to SEEK_CUR works; fsync/fdatasync
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"

static int failures = 0;
static char root[512];

static const char *at(const char *rel) {
    static char bufs[4][1024];
    static int next = 0;
    char *buf = bufs[next++ % 4];
    snprintf(buf, sizeof bufs[0], "%s/%s", root, rel);
    return buf;
}

static void step(const char *what, int rc) {
    if (rc < 0) {
        printf("FAIL %s: %s\n", what, errname(errno));
        failures++;
    } else {
        printf("ok %s\n", what);
    }
}

static void expect(const char *what, int cond, const char *observed) {
    if (cond) {
        printf("ok %s: %s\n", what, observed);
    } else {
        printf("FAIL %s: observed %s\n", what, observed);
        failures++;
    }
}

/* Reads a whole small file into buf (NUL-terminated, without its final newline); returns
   its length in bytes or -1. */
static long slurp(const char *path, char *buf, size_t size) {
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return -1;
    long total = 0;
    for (;;) {
        ssize_t n = read(fd, buf + total, size - 1 - (size_t)total);
        if (n <= 0)
            break;
        total += n;
    }
    close(fd);
    buf[total] = '\0';
    /* Drop one trailing newline, so that the content prints on one line. */
    if (total > 0 && buf[total - 1] == '\n')
        buf[total - 1] = '\0';
    return total;
}

static int write_text(const char *path, const char *mode, const char *text) {
    FILE *f = fopen(path, mode);
    if (!f)
        return -1;
    fputs(text, f);
    return fclose(f) == 0 ? 0 : -1;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: fileops DIR\n");
        return 2;
    }
    snprintf(root, sizeof root, "%s", argv[1]);
    char buf[256], obs[256];
    struct stat st;

    /* Append. */
    step("write log.txt", write_text(at("log.txt"), "w", "one\n"));
    step("append to log.txt", write_text(at("log.txt"), "a", "two\n"));
    int fd = open(at("log.txt"), O_WRONLY | O_APPEND);
    step("open O_APPEND", fd);
    if (fd >= 0) {
        lseek(fd, 0, SEEK_SET);
        step("write after lseek 0", write(fd, "three\n", 6) == 6 ? 0 : -1);
        close(fd);
    }
    slurp(at("log.txt"), buf, sizeof buf);
    expect("appended content", strcmp(buf, "one\ntwo\nthree") == 0, "one two three");

    /* O_TRUNC. */
    fd = open(at("log.txt"), O_WRONLY | O_TRUNC);
    step("open O_TRUNC", fd);
    if (fd >= 0)
        close(fd);
    snprintf(obs, sizeof obs, "%ld bytes", slurp(at("log.txt"), buf, sizeof buf));
    expect("truncated", strcmp(obs, "0 bytes") == 0, obs);
    step("unlink log.txt", unlink(at("log.txt")));

    /* Holes and extension. */
    fd = open(at("holes.bin"), O_RDWR | O_CREAT | O_TRUNC, 0644);
    step("create holes.bin", fd);
    if (fd >= 0) {
        step("lseek to 100", lseek(fd, 100, SEEK_SET) == 100 ? 0 : -1);
        step("write X at 100", write(fd, "X", 1) == 1 ? 0 : -1);
        step("ftruncate to 200", ftruncate(fd, 200));
        step("fsync", fsync(fd));
        step("fdatasync", fdatasync(fd));
        unsigned char data[256];
        ssize_t n = pread(fd, data, sizeof data, 0);
        int zeros = 1;
        for (ssize_t i = 0; i < n; i++)
            if (i != 100 && data[i] != 0)
                zeros = 0;
        snprintf(obs, sizeof obs, "%zd bytes, byte 100 = %c, zeros elsewhere: %s", n,
                 n > 100 ? data[100] : '?', zeros ? "yes" : "no");
        expect("hole and extension read as zeros", n == 200 && data[100] == 'X' && zeros, obs);
        close(fd);
    }
    step("unlink holes.bin", unlink(at("holes.bin")));

    /* Times. */
    step("write keep.txt", write_text(at("keep.txt"), "w", "kept\n"));
    struct timespec times[2] = {{1000000000, 0}, {1234567890, 500000000}};
    step("utimensat", utimensat(AT_FDCWD, at("keep.txt"), times, 0));
    int rc = stat(at("keep.txt"), &st);
    snprintf(obs, sizeof obs, "atime %lld mtime %lld.%09ld", (long long)st.st_atim.tv_sec,
             (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
    expect("times set", rc == 0 && st.st_atim.tv_sec == 1000000000 &&
                            st.st_mtim.tv_sec == 1234567890 && st.st_mtim.tv_nsec == 500000000,
           obs);

    /* Symbolic links. */
    step("symlink ln -> keep.txt", symlink("keep.txt", at("ln")));
    ssize_t len = readlink(at("ln"), buf, sizeof buf - 1);
    buf[len > 0 ? len : 0] = '\0';
    expect("readlink ln", len == 8 && strcmp(buf, "keep.txt") == 0, buf);
    rc = lstat(at("ln"), &st);
    expect("lstat ln is a link", rc == 0 && S_ISLNK(st.st_mode), rc == 0 ? "stat ok" : errname(errno));
    slurp(at("ln"), buf, sizeof buf);
    expect("read through ln", strcmp(buf, "kept") == 0, buf);
    step("unlink ln", unlink(at("ln")));
    rc = stat(at("keep.txt"), &st);
    expect("target survives", rc == 0, rc == 0 ? "stat ok" : errname(errno));

    /* Hard links. */
    step("link keep.txt hard.txt", link(at("keep.txt"), at("hard.txt")));
    slurp(at("hard.txt"), buf, sizeof buf);
    expect("read hard.txt", strcmp(buf, "kept") == 0, buf);
    rc = stat(at("keep.txt"), &st);
    snprintf(obs, sizeof obs, "nlink %llu", (unsigned long long)st.st_nlink);
    expect("two links", rc == 0 && st.st_nlink == 2, obs);
    step("unlink hard.txt", unlink(at("hard.txt")));

    /* Renames. */
    step("write a.txt", write_text(at("a.txt"), "w", "new\n"));
    step("write b.txt", write_text(at("b.txt"), "w", "old\n"));
    step("rename a.txt over b.txt", rename(at("a.txt"), at("b.txt")));
    slurp(at("b.txt"), buf, sizeof buf);
    expect("b.txt replaced", strcmp(buf, "new") == 0, buf);
    expect("a.txt gone", access(at("a.txt"), F_OK) != 0 && errno == ENOENT, errname(errno));
    step("mkdir d1", mkdir(at("d1"), 0755));
    step("move b.txt into d1", rename(at("b.txt"), at("d1/b.txt")));
    step("rename d1 d2", rename(at("d1"), at("d2")));
    slurp(at("d2/b.txt"), buf, sizeof buf);
    expect("d2/b.txt", strcmp(buf, "new") == 0, buf);

    /* A directory is not readable as a file. */
    fd = open(at("d2"), O_RDONLY | O_DIRECTORY);
    step("open d2 as a directory", fd);
    if (fd >= 0) {
        ssize_t n = read(fd, buf, sizeof buf);
        expect("read on a directory fails", n < 0, n < 0 ? errname(errno) : "it read");
        close(fd);
    }
    step("unlink d2/b.txt", unlink(at("d2/b.txt")));
    step("rmdir d2", rmdir(at("d2")));

    printf("fileops: %d failures\n", failures);
    return failures ? 1 : 0;
}
