//! WASI: the standard streams, the descriptor table, and how bad descriptors and bad
//! pointers are answered.
#![cfg(feature = "wasi")]

mod wasi_common;

use std::io::Cursor;

use tierwasm::wasi::{self, MemoryOutputPipe, WasiCtx, WasiCtxBuilder};
use tierwasm::{Engine, Linker, Module, Store};
use wasi_common::*;

/// A guest whose stdin holds `input`, and the pipes its stdout and stderr write to.
fn guest_with_stdio(input: &[u8]) -> (Guest, MemoryOutputPipe, MemoryOutputPipe) {
    let (stdout, stderr) = (MemoryOutputPipe::new(), MemoryOutputPipe::new());
    let guest = Guest::new(
        WasiCtxBuilder::new()
            .stdin(Cursor::new(input.to_vec()))
            .stdout(stdout.clone())
            .stderr(stderr.clone())
            .build(),
    );
    (guest, stdout, stderr)
}

#[test]
fn fd_write_gathers_every_buffer_into_the_pipe() {
    let (mut guest, stdout, stderr) = guest_with_stdio(b"");
    let (iovs, count, _) = guest.iovecs(&[b"hello", b"", b", ", b"world\n"]);
    let nwritten = guest.alloc(4);
    assert_eq!(
        guest.call("fd_write", &[1, iovs, count, nwritten.into()]),
        ESUCCESS
    );
    assert_eq!(guest.read_u32(nwritten), 13);
    assert_eq!(guest.write_fd(2, b"oops\n"), Ok(5));
    assert_eq!(stdout.contents(), b"hello, world\n");
    assert_eq!(stderr.contents(), b"oops\n");
}

#[test]
fn fd_read_reads_stdin_to_its_end() {
    let (mut guest, _, _) = guest_with_stdio(b"line one\nline two\n");
    assert_eq!(guest.read_fd(0, 9), Ok(b"line one\n".to_vec()));
    // A stream read fills the first non-empty buffer only.
    let (iovs, count, pointers) = guest.iovecs(&[b"", b"12345", b"1234567890"]);
    let nread = guest.alloc(4);
    assert_eq!(
        guest.call("fd_read", &[0, iovs, count, nread.into()]),
        ESUCCESS
    );
    assert_eq!(guest.read_u32(nread), 5);
    assert_eq!(guest.read(pointers[1], 5), b"line ");
    assert_eq!(guest.read_fd(0, 100), Ok(b"two\n".to_vec()));
    assert_eq!(guest.read_fd(0, 100), Ok(Vec::new()), "end of input");
}

#[test]
fn default_stdio_is_empty_and_discards_output() {
    let mut guest = Guest::new(WasiCtxBuilder::new().build());
    assert_eq!(guest.read_fd(0, 10), Ok(Vec::new()));
    assert_eq!(guest.write_fd(1, b"gone"), Ok(4));
    assert_eq!(guest.write_fd(2, b"gone"), Ok(4));
}

#[test]
fn streams_refuse_the_wrong_direction_and_seeking() {
    let (mut guest, stdout, _) = guest_with_stdio(b"data");
    assert_eq!(guest.write_fd(0, b"x"), Err(EBADF));
    assert_eq!(guest.read_fd(1, 4), Err(EBADF));
    assert_eq!(guest.seek(1, 0, 1), Err(ESPIPE));
    assert_eq!(guest.seek(0, 4, 0), Err(ESPIPE));
    let out = i64::from(guest.alloc(8));
    assert_eq!(guest.call("fd_tell", &[1, out]), ESPIPE);
    let (iovs, count, _) = guest.iovecs(&[b"x"]);
    assert_eq!(guest.call("fd_pwrite", &[1, iovs, count, 0, out]), ESPIPE);
    assert_eq!(guest.call("fd_pread", &[0, iovs, count, 0, out]), ESPIPE);
    assert!(stdout.contents().is_empty());
}

#[test]
fn fdstat_of_the_streams() {
    let (mut guest, _, _) = guest_with_stdio(b"");
    let stat = guest.alloc(24);
    for fd in 0..3 {
        guest.write(stat, &[0xff; 24]);
        assert_eq!(guest.call("fd_fdstat_get", &[fd, stat.into()]), ESUCCESS);
        assert_eq!(
            guest.read_u8(stat),
            FILETYPE_UNKNOWN,
            "a pipe, not a terminal"
        );
        assert_eq!(guest.read_u16(stat + 2), 0, "no flags");
        let rights = guest.read_u64(stat + 8) as i64;
        let (has, lacks) = if fd == 0 {
            (RIGHT_FD_READ, RIGHT_FD_WRITE)
        } else {
            (RIGHT_FD_WRITE, RIGHT_FD_READ)
        };
        assert_eq!(rights & has, has);
        assert_eq!(rights & lacks, 0);
        // wasi-libc's isatty needs a character device without these two.
        assert_eq!(rights & (RIGHT_FD_SEEK | RIGHT_FD_TELL), 0);
        assert_eq!(guest.read_u64(stat + 16), 0, "no inheriting rights");
    }
    let filestat = guest.alloc(64);
    guest.write(filestat, &[0xff; 64]);
    assert_eq!(
        guest.call("fd_filestat_get", &[1, filestat.into()]),
        ESUCCESS
    );
    assert_eq!(
        guest.read(filestat, 64),
        [0; 64],
        "an unknown file of size 0"
    );
}

#[test]
fn closed_and_unknown_descriptors_are_ebadf() {
    let (mut guest, stdout, _) = guest_with_stdio(b"");
    let out = i64::from(guest.alloc(64));
    for fd in [3, 64, u32::MAX as i64] {
        assert_eq!(guest.write_fd(fd, b"x"), Err(EBADF));
        assert_eq!(guest.read_fd(fd, 1), Err(EBADF));
        assert_eq!(guest.call("fd_close", &[fd]), EBADF);
        assert_eq!(guest.call("fd_fdstat_get", &[fd, out]), EBADF);
        assert_eq!(guest.call("fd_filestat_get", &[fd, out]), EBADF);
        assert_eq!(guest.call("fd_prestat_get", &[fd, out]), EBADF);
        assert_eq!(guest.call("fd_sync", &[fd]), EBADF);
        assert_eq!(guest.seek(fd, 0, 0), Err(EBADF));
    }
    assert_eq!(guest.call("fd_close", &[1]), ESUCCESS);
    assert_eq!(guest.write_fd(1, b"x"), Err(EBADF));
    assert_eq!(guest.call("fd_close", &[1]), EBADF);
    assert!(stdout.contents().is_empty());
    // Streams are not preopened directories.
    assert_eq!(guest.call("fd_prestat_get", &[0, out]), EBADF);
}

#[test]
fn fd_renumber_moves_a_descriptor() {
    let (mut guest, stdout, stderr) = guest_with_stdio(b"");
    assert_eq!(guest.call("fd_renumber", &[2, 1]), ESUCCESS);
    assert_eq!(guest.write_fd(1, b"to stderr"), Ok(9));
    assert_eq!(guest.write_fd(2, b"x"), Err(EBADF));
    assert_eq!(guest.call("fd_renumber", &[1, 1]), ESUCCESS);
    assert_eq!(guest.call("fd_renumber", &[1, 2]), EBADF, "2 is closed");
    assert_eq!(guest.call("fd_renumber", &[7, 1]), EBADF);
    assert!(stdout.contents().is_empty());
    assert_eq!(stderr.contents(), b"to stderr");
}

#[test]
fn bad_pointers_are_efault_and_write_nothing() {
    let (mut guest, stdout, _) = guest_with_stdio(b"input");
    let end = i64::from(MEMORY_SIZE);
    let nwritten = i64::from(guest.alloc(4));
    // The iovec array out of bounds, a buffer out of bounds, the result out of bounds.
    assert_eq!(guest.call("fd_write", &[1, end - 4, 1, nwritten]), EFAULT);
    let iovs = guest.alloc(8);
    guest.write_u32(iovs, MEMORY_SIZE - 2);
    guest.write_u32(iovs + 4, 3);
    assert_eq!(
        guest.call("fd_write", &[1, iovs.into(), 1, nwritten]),
        EFAULT
    );
    guest.write_u32(iovs, u32::MAX);
    guest.write_u32(iovs + 4, 2);
    assert_eq!(
        guest.call("fd_write", &[1, iovs.into(), 1, nwritten]),
        EFAULT
    );
    let (good, count, _) = guest.iovecs(&[b"never"]);
    assert_eq!(guest.call("fd_write", &[1, good, count, end]), EFAULT);
    assert_eq!(guest.call("fd_write", &[1, good, count, -1]), EFAULT);
    assert!(stdout.contents().is_empty());
    // Reading: nothing is consumed from stdin when the result cannot be stored.
    assert_eq!(guest.call("fd_read", &[0, good, count, end - 3]), EFAULT);
    assert_eq!(guest.read_fd(0, 10), Ok(b"input".to_vec()));
    let stat = end - 23;
    assert_eq!(guest.call("fd_fdstat_get", &[1, stat]), EFAULT);
}

#[test]
fn too_many_iovecs_are_einval() {
    let (mut guest, stdout, _) = guest_with_stdio(b"");
    let buffers = vec![&b"x"[..]; 1025];
    let (iovs, count, _) = guest.iovecs(&buffers);
    let out = i64::from(guest.alloc(4));
    assert_eq!(guest.call("fd_write", &[1, iovs, count, out]), EINVAL);
    assert_eq!(guest.call("fd_write", &[1, iovs, 1024, out]), ESUCCESS);
    assert_eq!(stdout.contents().len(), 1024);
}

#[test]
fn rights_can_be_dropped_but_not_regained() {
    let (mut guest, stdout, _) = guest_with_stdio(b"");
    let stat = guest.alloc(24);
    guest.call("fd_fdstat_get", &[1, stat.into()]);
    let rights = guest.read_u64(stat + 8) as i64;
    assert_eq!(
        guest.call("fd_fdstat_set_rights", &[1, rights & !RIGHT_FD_WRITE, 0]),
        ESUCCESS
    );
    assert_eq!(guest.write_fd(1, b"x"), Err(EBADF));
    assert_eq!(
        guest.call("fd_fdstat_set_rights", &[1, rights, 0]),
        ENOTCAPABLE
    );
    assert!(stdout.contents().is_empty());
}

/// A caller that exports no memory sees an empty one: pointers fault, calls that need no
/// memory work.
#[test]
fn a_caller_without_memory_gets_efault() {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        wat::parse_str(
            r#"(module
                (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
                (import "wasi_snapshot_preview1" "fd_close" (func $fd_close (param i32) (result i32)))
                (func (export "write") (result i32)
                    (call $fd_write (i32.const 1) (i32.const 0) (i32.const 0) (i32.const 0)))
                (func (export "close") (result i32) (call $fd_close (i32.const 1))))"#,
        )
        .unwrap(),
    )
    .unwrap();
    let mut linker = Linker::new(&engine);
    wasi::add_to_linker(&mut linker, |ctx: &mut WasiCtx| ctx).unwrap();
    let mut store = Store::new(&engine, WasiCtxBuilder::new().build());
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let write = instance.get_typed_func::<(), i32>(&store, "write").unwrap();
    assert_eq!(write.call(&mut store, ()).unwrap(), EFAULT);
    let close = instance.get_typed_func::<(), i32>(&store, "close").unwrap();
    assert_eq!(close.call(&mut store, ()).unwrap(), ESUCCESS);
}

#[test]
fn a_context_can_move_to_another_thread() {
    let stdout = MemoryOutputPipe::new();
    let ctx = WasiCtxBuilder::new().stdout(stdout.clone()).build();
    let written = std::thread::spawn(move || Guest::new(ctx).write_fd(1, b"from a thread"))
        .join()
        .unwrap();
    assert_eq!(written, Ok(13));
    assert_eq!(stdout.contents(), b"from a thread");
}
