#!/bin/sh
# Rebuilds the WASI test programs of tests/cli.rs: every tests/programs/*.c
# becomes tests/programs/<name>.wasm beside it. The built .wasm files are
# committed, so the tests need no C compiler; rerun this after editing a .c
# file and commit both.
#
# Needs clang with the wasm32 target, wasm-ld and wasi-libc. On Debian 12:
#   apt-get install clang lld wasi-libc libclang-rt-dev-wasm32
# (wasi-libc's sysroot is then /usr itself: /usr/include/wasm32-wasi and
# /usr/lib/wasm32-wasi; the builtins are libclang_rt.builtins-wasm32.a in
# clang's resource directory.) With wasi-sdk or another sysroot, set
#   CC=/opt/wasi-sdk/bin/clang WASI_SYSROOT=/opt/wasi-sdk/share/wasi-sysroot
#
# The runtime supports WebAssembly 2.0 without SIMD, so the code generator is
# pinned to the MVP plus the 2.0 features (mutable globals, sign extension,
# non-trapping float-to-int, bulk memory, multi-value); nothing else (no
# SIMD, threads, exceptions, tail calls, extended-const) may appear. If
# wasm-validate (Debian package wabt) is installed, each output is checked
# with SIMD disabled and post-2.0 proposals at their defaults (off).
#
# Debug info is stripped but the "name" section is kept, so that traps show
# function names in backtraces.
#
# Compiling (-c, optimized) and linking (not optimized) are separate steps on
# purpose: a clang link step with -O runs binaryen's wasm-opt when it is on the
# PATH, which rewrites the code and drops the name section, so the output
# would depend on whether binaryen happens to be installed.
#
# Usage: tests/programs/build.sh [NAME...]   (default: every .c file)
# Exits non-zero when any build or check fails.
set -eu

cd "$(dirname "$0")"
CC=${CC:-clang}
SYSROOT_FLAG=
if [ -n "${WASI_SYSROOT:-}" ]; then
    SYSROOT_FLAG="--sysroot=$WASI_SYSROOT"
fi
FEATURES="-mcpu=mvp -mmutable-globals -msign-ext -mnontrapping-fptoint -mbulk-memory -mmultivalue"
# With bulk memory enabled, clang 14 treats wasi-libc's _Thread_local errno as
# real TLS and needs the local-exec model (without shared memory it is lowered
# to a plain global, as in wasi-libc itself).
CFLAGS="--target=wasm32-wasi $SYSROOT_FLAG -O2 $FEATURES -ftls-model=local-exec -Wall -Wextra -Werror -g0"
LDFLAGS="--target=wasm32-wasi $SYSROOT_FLAG -Wl,--strip-debug"

if ! command -v "$CC" >/dev/null 2>&1; then
    echo "build.sh: $CC not found (see the top of this script)" >&2
    exit 1
fi

if [ $# -eq 0 ]; then
    set -- $(ls *.c | sed 's/\.c$//')
fi

status=0
for name in "$@"; do
    name=${name%.c}
    ldextra=
    case "$name" in
        # A reactor exports _initialize (running the constructors) instead of _start.
        reactor) ldextra="-mexec-model=reactor" ;;
    esac
    echo "build $name.wasm"
    if ! $CC $CFLAGS -c -o "$name.o.tmp" "$name.c" ||
        ! $CC $LDFLAGS $ldextra -o "$name.wasm.tmp" "$name.o.tmp" -lm; then
        echo "build.sh: building $name.wasm failed" >&2
        rm -f "$name.o.tmp" "$name.wasm.tmp"
        status=1
        continue
    fi
    rm -f "$name.o.tmp"
    if command -v wasm-validate >/dev/null 2>&1; then
        if ! wasm-validate --disable-simd "$name.wasm.tmp"; then
            echo "build.sh: $name.wasm uses features beyond WebAssembly 2.0 without SIMD" >&2
            rm -f "$name.wasm.tmp"
            status=1
            continue
        fi
    else
        echo "build.sh: wasm-validate (wabt) not installed; feature check skipped" >&2
    fi
    mv "$name.wasm.tmp" "$name.wasm"
done
exit $status
