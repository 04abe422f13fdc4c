//! WASI preview 1 (`wasi_snapshot_preview1`) host functions, added to a [`Linker`] with
//! [`add_to_linker`].
//!
//! Each instance's WASI state is a [`WasiCtx`], made with a [`WasiCtxBuilder`] and kept in
//! the store's data. A guest reaches only what its context grants: its arguments and
//! environment, its three standard streams, and the directories preopened for it, beneath
//! which cap-std confines every path (`..`, absolute paths and symlinks leading out are
//! refused with `EPERM`).
//!
//! Functions answer with WASI `errno` values; a pointer outside the caller's memory is
//! `EFAULT`. The caller's memory is its export named `"memory"`; a caller without one sees
//! an empty memory. `proc_exit` ends the call into Wasm with an [`I32Exit`] error.
//!
//! ```
//! # #[cfg(feature = "wat")] fn main() -> tierwasm::Result<()> {
//! use tierwasm::wasi::{self, MemoryOutputPipe, WasiCtx, WasiCtxBuilder};
//! use tierwasm::{Engine, Linker, Module, Store};
//!
//! let engine = Engine::default();
//! let module = Module::new(&engine, r#"(module
//!     (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
//!     (memory (export "memory") 1)
//!     (data (i32.const 8) "\10\00\00\00\03\00\00\00hi\n")
//!     (func (export "_start") (drop (call $fd_write (i32.const 1) (i32.const 8) (i32.const 1) (i32.const 0)))))"#)?;
//! let stdout = MemoryOutputPipe::new();
//! let ctx = WasiCtxBuilder::new().args(["hello"]).stdout(stdout.clone()).build();
//! let mut store = Store::new(&engine, ctx);
//! let mut linker = Linker::new(&engine);
//! wasi::add_to_linker(&mut linker, |ctx: &mut WasiCtx| ctx)?;
//! let instance = linker.instantiate(&mut store, &module)?;
//! instance.get_typed_func::<(), ()>(&store, "_start")?.call(&mut store, ())?;
//! assert_eq!(stdout.contents(), b"hi\n");
//! # Ok(()) }
//! # #[cfg(not(feature = "wat"))] fn main() {}
//! ```

mod abi;
mod clocks;
mod ctx;
mod errno;
mod fd;
mod fs;
mod memory;
mod path;
mod poll;
mod proc;
mod sock;
mod stdio;
mod sys;
mod table;

pub use ctx::{WasiCtx, WasiCtxBuilder};
pub use proc::I32Exit;
pub use stdio::MemoryOutputPipe;

use crate::error::{Error, Result};
use crate::module::types::{FuncType, ValType};
use crate::runtime::func::Caller;
use crate::runtime::instance::Extern;
use crate::runtime::linker::Linker;
use crate::runtime::values::Val;
use memory::GuestMemory;

/// The import module the functions are defined under.
const MODULE: &str = "wasi_snapshot_preview1";

/// The caller's memory and WASI context, for the length of one call.
fn guest<'a, T>(
    caller: &'a mut Caller<'_, T>,
    get_ctx: &impl Fn(&mut T) -> &mut WasiCtx,
) -> (GuestMemory<'a>, &'a mut WasiCtx) {
    let (bytes, data) = match caller.get_export("memory").and_then(Extern::into_memory) {
        Some(memory) => memory.data_and_store_mut(caller),
        None => (&mut [][..], caller.data_mut()),
    };
    (GuestMemory::new(bytes), get_ctx(data))
}

/// Defines each function as a closure over the caller's context and memory that returns
/// the function's `errno`.
macro_rules! define {
    ($linker:ident, $get_ctx:ident;
     $($name:ident($($arg:ident: $ty:ty),*) => |$ctx:pat_param, $mem:pat_param| $body:expr;)*) => {
        $(
            $linker.func_wrap(
                MODULE,
                stringify!($name),
                move |mut caller: Caller<'_, T>, $($arg: $ty),*| -> Result<i32> {
                    let ($mem, $ctx) = guest(&mut caller, &$get_ctx);
                    Ok(errno::code($body))
                },
            )?;
        )*
    };
}

/// Defines every `wasi_snapshot_preview1` function in `linker`. `get_ctx` finds the
/// [`WasiCtx`] in the store's data.
pub fn add_to_linker<T: 'static>(
    linker: &mut Linker<T>,
    get_ctx: impl Fn(&mut T) -> &mut WasiCtx + Copy + Send + Sync + 'static,
) -> Result<()> {
    define! { linker, get_ctx;
        args_get(argv: u32, argv_buf: u32) =>
            |ctx, mem| proc::args_get(ctx, mem, argv, argv_buf);
        args_sizes_get(argc: u32, argv_buf_size: u32) =>
            |ctx, mem| proc::args_sizes_get(ctx, mem, argc, argv_buf_size);
        environ_get(environ: u32, environ_buf: u32) =>
            |ctx, mem| proc::environ_get(ctx, mem, environ, environ_buf);
        environ_sizes_get(count: u32, environ_buf_size: u32) =>
            |ctx, mem| proc::environ_sizes_get(ctx, mem, count, environ_buf_size);
        proc_raise(signal: u32) => |_, _| proc::proc_raise(signal);
        sched_yield() => |_, _| proc::sched_yield();

        clock_res_get(id: u32, resolution: u32) =>
            |ctx, mem| clocks::clock_res_get(ctx, mem, id, resolution);
        clock_time_get(id: u32, precision: u64, time: u32) =>
            |ctx, mem| clocks::clock_time_get(ctx, mem, id, precision, time);
        random_get(buf: u32, buf_len: u32) => |_, mem| clocks::random_get(mem, buf, buf_len);
        poll_oneoff(subscriptions: u32, events: u32, count: u32, nevents: u32) =>
            |ctx, mem| poll::poll_oneoff(ctx, mem, subscriptions, events, count, nevents);

        fd_read(fd: u32, iovs: u32, iovs_len: u32, nread: u32) =>
            |ctx, mem| fd::fd_read(ctx, mem, fd, iovs, iovs_len, nread);
        fd_pread(fd: u32, iovs: u32, iovs_len: u32, offset: u64, nread: u32) =>
            |ctx, mem| fd::fd_pread(ctx, mem, fd, iovs, iovs_len, offset, nread);
        fd_write(fd: u32, iovs: u32, iovs_len: u32, nwritten: u32) =>
            |ctx, mem| fd::fd_write(ctx, mem, fd, iovs, iovs_len, nwritten);
        fd_pwrite(fd: u32, iovs: u32, iovs_len: u32, offset: u64, nwritten: u32) =>
            |ctx, mem| fd::fd_pwrite(ctx, mem, fd, iovs, iovs_len, offset, nwritten);
        fd_seek(fd: u32, offset: i64, whence: u32, new_offset: u32) =>
            |ctx, mem| fd::fd_seek(ctx, mem, fd, offset, whence, new_offset);
        fd_tell(fd: u32, offset: u32) => |ctx, mem| fd::fd_tell(ctx, mem, fd, offset);
        fd_sync(fd: u32) => |ctx, _| fd::fd_sync(ctx, fd);
        fd_datasync(fd: u32) => |ctx, _| fd::fd_datasync(ctx, fd);
        fd_advise(fd: u32, offset: u64, len: u64, advice: u32) =>
            |ctx, _| fd::fd_advise(ctx, fd, offset, len, advice);
        fd_allocate(fd: u32, offset: u64, len: u64) =>
            |ctx, _| fd::fd_allocate(ctx, fd, offset, len);
        fd_close(fd: u32) => |ctx, _| fd::fd_close(ctx, fd);
        fd_renumber(from: u32, to: u32) => |ctx, _| fd::fd_renumber(ctx, from, to);
        fd_fdstat_get(fd: u32, stat: u32) => |ctx, mem| fd::fd_fdstat_get(ctx, mem, fd, stat);
        fd_fdstat_set_flags(fd: u32, flags: u32) =>
            |ctx, _| fd::fd_fdstat_set_flags(ctx, fd, flags);
        fd_fdstat_set_rights(fd: u32, rights_base: u64, rights_inheriting: u64) =>
            |ctx, _| fd::fd_fdstat_set_rights(ctx, fd, rights_base, rights_inheriting);
        fd_prestat_get(fd: u32, prestat: u32) =>
            |ctx, mem| fd::fd_prestat_get(ctx, mem, fd, prestat);
        fd_prestat_dir_name(fd: u32, path: u32, path_len: u32) =>
            |ctx, mem| fd::fd_prestat_dir_name(ctx, mem, fd, path, path_len);

        fd_filestat_get(fd: u32, buf: u32) => |ctx, mem| fs::fd_filestat_get(ctx, mem, fd, buf);
        fd_filestat_set_size(fd: u32, size: u64) =>
            |ctx, _| fs::fd_filestat_set_size(ctx, fd, size);
        fd_filestat_set_times(fd: u32, atim: u64, mtim: u64, fst_flags: u32) =>
            |ctx, _| fs::fd_filestat_set_times(ctx, fd, atim, mtim, fst_flags);
        fd_readdir(fd: u32, buf: u32, buf_len: u32, cookie: u64, bufused: u32) =>
            |ctx, mem| fs::fd_readdir(ctx, mem, fd, buf, buf_len, cookie, bufused);

        path_create_directory(fd: u32, path: u32, path_len: u32) =>
            |ctx, mem| path::path_create_directory(ctx, mem, fd, path, path_len);
        path_remove_directory(fd: u32, path: u32, path_len: u32) =>
            |ctx, mem| path::path_remove_directory(ctx, mem, fd, path, path_len);
        path_unlink_file(fd: u32, path: u32, path_len: u32) =>
            |ctx, mem| path::path_unlink_file(ctx, mem, fd, path, path_len);
        path_rename(
            fd: u32, old_path: u32, old_path_len: u32, new_fd: u32, new_path: u32,
            new_path_len: u32
        ) => |ctx, mem| path::path_rename(
            ctx, mem, fd, old_path, old_path_len, new_fd, new_path, new_path_len,
        );
        path_symlink(old_path: u32, old_path_len: u32, fd: u32, new_path: u32, new_path_len: u32) =>
            |ctx, mem| path::path_symlink(
                ctx, mem, old_path, old_path_len, fd, new_path, new_path_len,
            );
        path_readlink(fd: u32, path: u32, path_len: u32, buf: u32, buf_len: u32, bufused: u32) =>
            |ctx, mem| path::path_readlink(ctx, mem, fd, path, path_len, buf, buf_len, bufused);
        path_link(
            old_fd: u32, old_flags: u32, old_path: u32, old_path_len: u32, new_fd: u32,
            new_path: u32, new_path_len: u32
        ) => |ctx, mem| path::path_link(
            ctx, mem, old_fd, old_flags, old_path, old_path_len, new_fd, new_path, new_path_len,
        );
        path_filestat_get(fd: u32, flags: u32, path: u32, path_len: u32, buf: u32) =>
            |ctx, mem| path::path_filestat_get(ctx, mem, fd, flags, path, path_len, buf);
        path_filestat_set_times(
            fd: u32, flags: u32, path: u32, path_len: u32, atim: u64, mtim: u64, fst_flags: u32
        ) => |ctx, mem| path::path_filestat_set_times(
            ctx, mem, fd, flags, path, path_len, atim, mtim, fst_flags,
        );

        sock_accept(fd: u32, _flags: u32, _new_fd: u32) => |ctx, _| sock::unsupported(ctx, fd);
        sock_recv(
            fd: u32, _ri_data: u32, _ri_data_len: u32, _ri_flags: u32, _ro_datalen: u32,
            _ro_flags: u32
        ) => |ctx, _| sock::unsupported(ctx, fd);
        sock_send(fd: u32, _si_data: u32, _si_data_len: u32, _si_flags: u32, _so_datalen: u32) =>
            |ctx, _| sock::unsupported(ctx, fd);
        sock_shutdown(fd: u32, _how: u32) => |ctx, _| sock::unsupported(ctx, fd);
    }

    linker.func_wrap(MODULE, "proc_exit", |status: i32| -> Result<()> {
        Err(proc::proc_exit(status))
    })?;

    // Nine parameters: one more than `func_wrap` takes.
    let i32 = ValType::I32;
    let i64 = ValType::I64;
    let path_open = FuncType::new(vec![i32, i32, i32, i32, i32, i64, i64, i32, i32], vec![i32]);
    linker.func_new(
        MODULE,
        "path_open",
        path_open,
        move |mut caller: Caller<'_, T>, params: &[Val], results: &mut [Val]| {
            let [
                Val::I32(fd),
                Val::I32(lookupflags),
                Val::I32(path),
                Val::I32(path_len),
                Val::I32(open_flags),
                Val::I64(rights_base),
                Val::I64(rights_inheriting),
                Val::I32(fd_flags),
                Val::I32(opened),
            ] = *params
            else {
                return Err(Error::host(
                    "path_open called with arguments of the wrong types",
                ));
            };
            let (mem, ctx) = guest(&mut caller, &get_ctx);
            let result = path::path_open(
                ctx,
                mem,
                fd as u32,
                lookupflags as u32,
                path as u32,
                path_len as u32,
                open_flags as u32,
                rights_base as u64,
                rights_inheriting as u64,
                fd_flags as u32,
                opened as u32,
            );
            let [slot] = results else {
                return Err(Error::host(
                    "path_open called with room for the wrong results",
                ));
            };
            *slot = Val::I32(errno::code(result));
            Ok(())
        },
    )?;
    Ok(())
}
