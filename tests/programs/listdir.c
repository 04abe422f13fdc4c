/*
 * listdir: lists the directory argv[1] with readdir, which wasi-libc serves
 * from fd_readdir in 32 KiB buffers, resuming at entry cookies; a directory
 * with many long names needs several calls.
 *
 * Prints "entries=N" (without . and ..), then each entry sorted by name as
 * "<type> <name>" with type f (regular file), d (directory), l (symlink) or ?
 * (other/unknown), then after rewinddir the count again as "again=N", and
 * whether . and .. were seen ("dots=2" when both were).
 * Exit status 0, or 1 when the directory cannot be opened or read.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

static int cmp(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: listdir DIR\n");
        return 2;
    }
    DIR *d = opendir(argv[1]);
    if (!d) {
        printf("opendir failed: %s\n", errname(errno));
        return 1;
    }
    size_t cap = 64, n = 0;
    char **lines = malloc(cap * sizeof *lines);
    int dots = 0;
    struct dirent *e;
    errno = 0;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
            dots++;
            continue;
        }
        char type = e->d_type == DT_REG ? 'f' : e->d_type == DT_DIR ? 'd' : e->d_type == DT_LNK ? 'l' : '?';
        size_t len = strlen(e->d_name) + 3;
        char *line = malloc(len);
        snprintf(line, len, "%c %s", type, e->d_name);
        if (n == cap) {
            cap *= 2;
            lines = realloc(lines, cap * sizeof *lines);
        }
        lines[n++] = line;
    }
    if (errno != 0) {
        printf("readdir failed: %s\n", errname(errno));
        return 1;
    }
    /* Sort by name, the text after "<type> ". */
    for (size_t i = 0; i < n; i++)
        lines[i][1] = '\0';
    char **names = malloc(n * sizeof *names);
    for (size_t i = 0; i < n; i++)
        names[i] = lines[i] + 2;
    qsort(names, n, sizeof *names, cmp);
    printf("entries=%zu\n", n);
    for (size_t i = 0; i < n; i++)
        printf("%c %s\n", names[i][-2], names[i]);

    rewinddir(d);
    size_t again = 0;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            again++;
    printf("again=%zu\n", again);
    printf("dots=%d\n", dots);
    closedir(d);
    return 0;
}
