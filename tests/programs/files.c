/*
 * files: exercises the filesystem inside the preopened directory argv[1].
 *
 * Expects the host to have put `input.txt` (any content) in the directory.
 * Every step prints one line: "ok <step>" or "FAIL <step>: <errno name or
 * what was wrong>", some followed by what was observed. The steps:
 *
 *   - reads input.txt and prints "input.txt: <N> bytes: <first line>"
 *   - mkdir work, and mkdir work again (EEXIST)
 *   - creates work/a.txt, writes "hello world\n", closes it
 *   - reopens it read-write: lseek(6)+read(5) gives "world", SEEK_END gives 12,
 *     overwrites the start with "HELLO", pwrite/pread at offset 6,
 *     fstat size, ftruncate to 5, reads it all back
 *   - O_CREAT|O_EXCL on an existing file (EEXIST), opening a missing file
 *     (ENOENT), opening a file as a directory (ENOTDIR)
 *   - rename work/a.txt -> work/b.txt (a.txt then ENOENT), creates c.txt and
 *     the subdirectory d, lists work/ with readdir (sorted, without . and ..)
 *   - stat on a file and a directory (S_ISREG / S_ISDIR)
 *   - rmdir of the non-empty work (ENOTEMPTY), unlink b.txt and c.txt, rmdir
 *     d, rmdir work; work is then gone (ENOENT)
 *   - writes output.txt in the directory with "written by files.wasm\n", for
 *     the host to check
 *
 * Ends with "files: N failures" and exit status 0 when none failed, else 1.
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

/* Reports a step whose call returned `rc` (negative = failed with errno). */
static void step(const char *what, int rc) {
    if (rc < 0) {
        printf("FAIL %s: %s\n", what, errname(errno));
        failures++;
    } else {
        printf("ok %s\n", what);
    }
}

/* Reports a step that must fail with errno `expected`. */
static void must_fail(const char *what, int rc, int expected) {
    if (rc >= 0) {
        printf("FAIL %s: succeeded, expected %s\n", what, errname(expected));
        failures++;
    } else if (errno != expected) {
        printf("FAIL %s: got %s, expected %s\n", what, errname(errno), errname(expected));
        failures++;
    } else {
        printf("ok %s: %s\n", what, errname(errno));
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

static int cmp(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void list_dir(const char *rel) {
    DIR *d = opendir(at(rel));
    if (!d) {
        step("opendir", -1);
        return;
    }
    char *names[64];
    int n = 0;
    struct dirent *e;
    errno = 0;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (n < 64)
            names[n++] = strdup(e->d_name);
    }
    step("readdir", errno ? -1 : 0);
    closedir(d);
    qsort(names, (size_t)n, sizeof names[0], cmp);
    printf("listing %s:", rel);
    for (int i = 0; i < n; i++) {
        printf(" %s", names[i]);
        free(names[i]);
    }
    printf("\n");
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: files DIR\n");
        return 2;
    }
    snprintf(root, sizeof root, "%s", argv[1]);
    char buf[256];
    ssize_t n;

    /* A file the host prepared. */
    FILE *in = fopen(at("input.txt"), "r");
    if (!in) {
        step("fopen input.txt", -1);
    } else {
        size_t total = fread(buf, 1, sizeof buf - 1, in);
        buf[total] = '\0';
        char *nl = strchr(buf, '\n');
        if (nl)
            *nl = '\0';
        printf("input.txt: %zu bytes: %s\n", total, buf);
        fclose(in);
    }

    step("mkdir work", mkdir(at("work"), 0755));
    must_fail("mkdir work again", mkdir(at("work"), 0755), EEXIST);

    FILE *f = fopen(at("work/a.txt"), "w");
    step("fopen work/a.txt for writing", f ? 0 : -1);
    if (f) {
        fputs("hello world\n", f);
        step("fclose", fclose(f) == 0 ? 0 : -1);
    }

    int fd = open(at("work/a.txt"), O_RDWR);
    step("open work/a.txt O_RDWR", fd);
    if (fd >= 0) {
        step("lseek 6", lseek(fd, 6, SEEK_SET) == 6 ? 0 : -1);
        n = read(fd, buf, 5);
        buf[n > 0 ? n : 0] = '\0';
        expect("read 5 at 6", n == 5 && strcmp(buf, "world") == 0, buf);
        off_t end = lseek(fd, 0, SEEK_END);
        snprintf(buf, sizeof buf, "%lld", (long long)end);
        expect("lseek SEEK_END", end == 12, buf);
        lseek(fd, 0, SEEK_SET);
        step("write HELLO at 0", write(fd, "HELLO", 5) == 5 ? 0 : -1);
        step("pwrite WORLD at 6", pwrite(fd, "WORLD", 5, 6) == 5 ? 0 : -1);
        n = pread(fd, buf, 11, 0);
        buf[n > 0 ? n : 0] = '\0';
        expect("pread 11 at 0", strcmp(buf, "HELLO WORLD") == 0, buf);
        off_t cur = lseek(fd, 0, SEEK_CUR);
        snprintf(buf, sizeof buf, "%lld", (long long)cur);
        expect("pwrite/pread keep the offset", cur == 5, buf);
        struct stat st;
        step("fstat", fstat(fd, &st));
        snprintf(buf, sizeof buf, "size %lld", (long long)st.st_size);
        expect("fstat size", st.st_size == 12 && S_ISREG(st.st_mode), buf);
        step("ftruncate 5", ftruncate(fd, 5));
        lseek(fd, 0, SEEK_SET);
        n = read(fd, buf, sizeof buf - 1);
        buf[n > 0 ? n : 0] = '\0';
        expect("read after truncate", strcmp(buf, "HELLO") == 0, buf);
        step("close", close(fd));
    }

    must_fail("open O_CREAT|O_EXCL existing",
              open(at("work/a.txt"), O_WRONLY | O_CREAT | O_EXCL, 0644), EEXIST);
    must_fail("open missing", open(at("work/missing.txt"), O_RDONLY), ENOENT);
    must_fail("open file as directory",
              open(at("work/a.txt"), O_RDONLY | O_DIRECTORY), ENOTDIR);

    step("rename a.txt b.txt", rename(at("work/a.txt"), at("work/b.txt")));
    must_fail("a.txt after rename", access(at("work/a.txt"), F_OK), ENOENT);
    fd = open(at("work/c.txt"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    step("create c.txt", fd);
    if (fd >= 0)
        close(fd);
    step("mkdir work/d", mkdir(at("work/d"), 0755));
    list_dir("work");

    struct stat st;
    int rc = stat(at("work/b.txt"), &st);
    step("stat b.txt", rc);
    expect("b.txt is a regular file of 5 bytes", rc == 0 && S_ISREG(st.st_mode) && st.st_size == 5,
           rc == 0 ? (S_ISREG(st.st_mode) ? "regular" : "not regular") : "-");
    rc = stat(at("work/d"), &st);
    expect("d is a directory", rc == 0 && S_ISDIR(st.st_mode), rc == 0 ? "stat ok" : errname(errno));

    must_fail("rmdir non-empty work", rmdir(at("work")), ENOTEMPTY);
    /* POSIX allows EPERM, Linux says EISDIR; WASI implementations use EISDIR. */
    must_fail("unlink a directory", unlink(at("work/d")), EISDIR);
    step("unlink b.txt", unlink(at("work/b.txt")));
    step("unlink c.txt", unlink(at("work/c.txt")));
    step("rmdir d", rmdir(at("work/d")));
    list_dir("work");
    step("rmdir work", rmdir(at("work")));
    must_fail("work after rmdir", access(at("work"), F_OK), ENOENT);

    f = fopen(at("output.txt"), "w");
    step("fopen output.txt", f ? 0 : -1);
    if (f) {
        fputs("written by files.wasm\n", f);
        fclose(f);
    }

    printf("files: %d failures\n", failures);
    return failures ? 1 : 0;
}
