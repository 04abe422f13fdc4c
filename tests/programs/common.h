/*
 * Helpers shared by the tierwasm CLI test programs (the .c files in tests/programs).
 *
 * In wasi-libc, errno values are WASI errno values, so errname() names both
 * an `errno` and a raw `__wasi_errno_t` returned by the __wasi_* calls.
 */
#ifndef TIERWASM_TEST_COMMON_H
#define TIERWASM_TEST_COMMON_H

#include <errno.h>

static const char *errname(int e) {
    switch (e) {
    case 0: return "OK";
    case E2BIG: return "E2BIG";
    case EACCES: return "EACCES";
    case EBADF: return "EBADF";
    case EEXIST: return "EEXIST";
    case EFAULT: return "EFAULT";
    case EINVAL: return "EINVAL";
    case EIO: return "EIO";
    case EISDIR: return "EISDIR";
    case ELOOP: return "ELOOP";
    case ENAMETOOLONG: return "ENAMETOOLONG";
    case ENOENT: return "ENOENT";
    case ENOSYS: return "ENOSYS";
    case ENOTDIR: return "ENOTDIR";
    case ENOTEMPTY: return "ENOTEMPTY";
    case ENOTSUP: return "ENOTSUP";
    case EPERM: return "EPERM";
    case ESPIPE: return "ESPIPE";
    case EXDEV: return "EXDEV";
    case ENOTCAPABLE: return "ENOTCAPABLE";
    default: return "E?";
    }
}

#endif
