/*
 * sandbox: tries to get out of the preopened directory argv[1], and checks
 * that ordinary paths inside it still work.
 *
 * The host prepares, with D the preopened directory:
 *   D/../outside.txt       a file outside the sandbox ("secret")
 *   D/inside.txt           "inside"
 *   D/sub/                 an empty directory
 *   D/link_in     -> inside.txt           (allowed)
 *   D/link_out    -> ../outside.txt       (relative escape)
 *   D/link_abs    -> <absolute host path of outside.txt>
 *   D/link_parent -> ..                   (a directory link out)
 * Missing links only make their attempt fail with ENOENT.
 *
 * Most attempts use raw WASI calls on the preopen's descriptor, so that they
 * test the runtime and not wasi-libc's path resolution; the "libc" ones go
 * through fopen. Each prints one line:
 *   escape <what>: refused <ERRNO>        the runtime said no (good)
 *   escape <what>: ESCAPED <detail>       it went through (a sandbox hole)
 *   inside <what>: allowed                a legitimate access worked (good)
 *   inside <what>: FAIL <ERRNO>           a legitimate access was refused
 * and ends with "sandbox: N escaped, M inside failures"; exit status 0 when
 * both are 0, else 1.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <wasi/api.h>

#include "common.h"

static int escaped = 0, inside_failures = 0;
static __wasi_fd_t dirfd = (__wasi_fd_t)-1;
static __wasi_rights_t rights_base, rights_inheriting;

static void refused(const char *what, __wasi_errno_t err, const char *detail) {
    if (err == 0) {
        printf("escape %s: ESCAPED %s\n", what, detail);
        escaped++;
    } else {
        printf("escape %s: refused %s\n", what, errname(err));
    }
}

/* path_open + read of the first bytes; `err` gets the errno of the first failing call. */
static __wasi_errno_t open_read(__wasi_lookupflags_t lookup, const char *path, char *out,
                                size_t out_len) {
    __wasi_fd_t fd;
    __wasi_errno_t err = __wasi_path_open(dirfd, lookup, path, 0, rights_inheriting,
                                          rights_inheriting, 0, &fd);
    out[0] = '\0';
    if (err != 0)
        return err;
    char buf[64];
    __wasi_iovec_t iov = {(uint8_t *)buf, sizeof buf - 1};
    __wasi_size_t n = 0;
    err = __wasi_fd_read(fd, &iov, 1, &n);
    buf[err == 0 ? n : 0] = '\0';
    char *nl = strchr(buf, '\n');
    if (nl)
        *nl = '\0';
    snprintf(out, out_len, "(read \"%s\")", buf);
    (void)__wasi_fd_close(fd);
    return 0;
}

static void try_open(const char *what, const char *path) {
    char detail[128];
    refused(what, open_read(__WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, path, detail, sizeof detail),
            detail);
}

static void must_open(const char *what, const char *path, const char *expected) {
    char detail[128];
    __wasi_errno_t err =
        open_read(__WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, path, detail, sizeof detail);
    if (err != 0) {
        printf("inside %s: FAIL %s\n", what, errname(err));
        inside_failures++;
    } else if (strstr(detail, expected) == NULL) {
        printf("inside %s: FAIL read %s, expected \"%s\"\n", what, detail, expected);
        inside_failures++;
    } else {
        printf("inside %s: allowed\n", what);
    }
}

static int find_preopen(const char *name) {
    for (__wasi_fd_t fd = 3; fd < 64; fd++) {
        __wasi_prestat_t pre;
        if (__wasi_fd_prestat_get(fd, &pre) != 0)
            continue;
        char buf[512];
        size_t len = pre.u.dir.pr_name_len;
        if (len >= sizeof buf || __wasi_fd_prestat_dir_name(fd, (uint8_t *)buf, len) != 0)
            continue;
        buf[len] = '\0';
        if (strcmp(buf, name) == 0) {
            dirfd = fd;
            return 0;
        }
    }
    return -1;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: sandbox DIR\n");
        return 2;
    }
    const char *dir = argv[1];
    if (find_preopen(dir) != 0) {
        printf("no preopened directory named %s\n", dir);
        return 2;
    }
    __wasi_fdstat_t st;
    if (__wasi_fd_fdstat_get(dirfd, &st) != 0) {
        printf("fd_fdstat_get on the preopen failed\n");
        return 2;
    }
    rights_base = st.fs_rights_base;
    rights_inheriting = st.fs_rights_inheriting;
    char detail[128];
    __wasi_errno_t err;

    /* Legitimate accesses. */
    must_open("inside.txt", "inside.txt", "inside");
    must_open("./inside.txt", "./inside.txt", "inside");
    must_open("sub/../inside.txt", "sub/../inside.txt", "inside");
    must_open("link_in -> inside.txt", "link_in", "inside");

    /* Escapes through path_open. */
    try_open("open ../outside.txt", "../outside.txt");
    try_open("open /etc/passwd", "/etc/passwd");
    try_open("open sub/../../outside.txt", "sub/../../outside.txt");
    try_open("open link_out -> ../outside.txt", "link_out");
    try_open("open link_abs -> absolute path", "link_abs");
    try_open("open link_parent/outside.txt", "link_parent/outside.txt");
    try_open("open sub/../link_out", "sub/../link_out");

    __wasi_fd_t fd;
    err = __wasi_path_open(dirfd, 0, "..", __WASI_OFLAGS_DIRECTORY, rights_inheriting,
                           rights_inheriting, 0, &fd);
    refused("open .. as a directory", err, "(opened the parent)");
    if (err == 0)
        (void)__wasi_fd_close(fd);
    err = __wasi_path_open(dirfd, 0, "../created.txt", __WASI_OFLAGS_CREAT, rights_inheriting,
                           rights_inheriting, 0, &fd);
    refused("create ../created.txt", err, "(created it)");
    if (err == 0)
        (void)__wasi_fd_close(fd);

    /* Escapes through the other path calls. */
    __wasi_filestat_t fst;
    err = __wasi_path_filestat_get(dirfd, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, "../outside.txt", &fst);
    snprintf(detail, sizeof detail, "(size %llu)", (unsigned long long)(err == 0 ? fst.size : 0));
    refused("stat ../outside.txt", err, detail);
    err = __wasi_path_filestat_get(dirfd, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, "link_out", &fst);
    snprintf(detail, sizeof detail, "(size %llu)", (unsigned long long)(err == 0 ? fst.size : 0));
    refused("stat link_out following it", err, detail);
    refused("mkdir ../escaped_dir", __wasi_path_create_directory(dirfd, "../escaped_dir"),
            "(created it)");
    refused("rename inside.txt to ../moved.txt",
            __wasi_path_rename(dirfd, "inside.txt", dirfd, "../moved.txt"), "(moved it)");
    refused("hard link ../outside.txt to hardlink.txt",
            __wasi_path_link(dirfd, 0, "../outside.txt", dirfd, "hardlink.txt"), "(linked it)");
    refused("unlink ../outside.txt", __wasi_path_unlink_file(dirfd, "../outside.txt"),
            "(deleted it)");

    /* A symlink the guest makes to an absolute path may be created or not,
       but must not be followed out. */
    err = __wasi_path_symlink("/etc/passwd", dirfd, "made_link");
    printf("note symlink made_link -> /etc/passwd: %s\n", err == 0 ? "created" : errname(err));
    if (err == 0) {
        try_open("open made_link -> /etc/passwd", "made_link");
        (void)__wasi_path_unlink_file(dirfd, "made_link");
    }
    err = __wasi_path_symlink("../outside.txt", dirfd, "made_link2");
    printf("note symlink made_link2 -> ../outside.txt: %s\n", err == 0 ? "created" : errname(err));
    if (err == 0) {
        try_open("open made_link2 -> ../outside.txt", "made_link2");
        (void)__wasi_path_unlink_file(dirfd, "made_link2");
    }

    /* Descriptors that were never opened. */
    __wasi_iovec_t iov = {(uint8_t *)detail, sizeof detail};
    __wasi_size_t n;
    refused("fd_read on fd 99", __wasi_fd_read(99, &iov, 1, &n), "(read it)");

    /* Through wasi-libc: it resolves paths against the preopens itself. */
    char path[600];
    snprintf(path, sizeof path, "%s/../outside.txt", dir);
    FILE *f = fopen(path, "r");
    refused("libc fopen DIR/../outside.txt", f ? 0 : errno, "(opened it)");
    if (f)
        fclose(f);
    f = fopen("/etc/passwd", "r");
    refused("libc fopen /etc/passwd", f ? 0 : errno, "(opened it)");
    if (f)
        fclose(f);
    f = fopen("../outside.txt", "r");
    refused("libc fopen ../outside.txt", f ? 0 : errno, "(opened it)");
    if (f)
        fclose(f);

    printf("sandbox: %d escaped, %d inside failures\n", escaped, inside_failures);
    return escaped || inside_failures ? 1 : 0;
}
