//! WASI: files and directories in a preopened directory, checked against the host's view.
#![cfg(feature = "wasi")]

mod wasi_common;

use std::fs;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tempfile::TempDir;
use tierwasm::wasi::WasiCtxBuilder;
use wasi_common::*;

const WHENCE_SET: i64 = 0;
const WHENCE_CUR: i64 = 1;
const WHENCE_END: i64 = 2;

/// A guest with a fresh temporary directory preopened as `/sandbox` (fd 3).
fn sandbox() -> (Guest, TempDir) {
    let dir = TempDir::new().unwrap();
    let guest = Guest::new(
        WasiCtxBuilder::new()
            .preopened_dir(dir.path(), "/sandbox")
            .unwrap()
            .build(),
    );
    (guest, dir)
}

/// Opens (creating) `path` for reading and writing.
fn create(guest: &mut Guest, path: &str) -> i64 {
    guest
        .open(PREOPEN, 0, path, OFLAGS_CREAT, RIGHTS_ALL, 0)
        .unwrap_or_else(|errno| panic!("creating {path}: errno {errno}"))
}

#[test]
fn the_preopen_is_announced_with_its_name() {
    let (mut guest, _dir) = sandbox();
    let prestat = guest.alloc(8);
    guest.write(prestat, &[0xff; 8]);
    assert_eq!(
        guest.call("fd_prestat_get", &[PREOPEN, prestat.into()]),
        ESUCCESS
    );
    assert_eq!(guest.read_u8(prestat), 0, "preopentype::dir");
    assert_eq!(guest.read_u32(prestat + 4), 8);
    let name = guest.alloc(16);
    assert_eq!(
        guest.call("fd_prestat_dir_name", &[PREOPEN, name.into(), 16]),
        ESUCCESS
    );
    assert_eq!(guest.read(name, 9), b"/sandbox\0", "no NUL is written");
    assert_eq!(
        guest.call("fd_prestat_dir_name", &[PREOPEN, name.into(), 7]),
        ENAMETOOLONG
    );
    // wasi-libc scans upwards from fd 3 until EBADF.
    assert_eq!(guest.call("fd_prestat_get", &[4, prestat.into()]), EBADF);
    let stat = guest.alloc(24);
    assert_eq!(
        guest.call("fd_fdstat_get", &[PREOPEN, stat.into()]),
        ESUCCESS
    );
    assert_eq!(guest.read_u8(stat), FILETYPE_DIRECTORY);
    let inheriting = guest.read_u64(stat + 16) as i64;
    assert_eq!(
        inheriting & (RIGHT_FD_READ | RIGHT_FD_WRITE | RIGHT_FD_SEEK),
        RIGHT_FD_READ | RIGHT_FD_WRITE | RIGHT_FD_SEEK,
        "files opened beneath it may be read, written and sought"
    );
}

#[test]
fn preopens_take_descriptors_from_3_in_order() {
    let (first, second) = (TempDir::new().unwrap(), TempDir::new().unwrap());
    fs::write(second.path().join("only-in-second"), b"2").unwrap();
    let mut builder = WasiCtxBuilder::new();
    builder
        .preopened_dir(first.path(), "first")
        .unwrap()
        .preopened_dir(second.path(), "second")
        .unwrap();
    assert!(
        builder
            .preopened_dir(first.path().join("missing"), "missing")
            .is_err()
    );
    let mut guest = Guest::new(builder.build());
    let name = guest.alloc(16);
    for (fd, expected) in [(3, "first"), (4, "second")] {
        assert_eq!(
            guest.call("fd_prestat_dir_name", &[fd, name.into(), 16]),
            ESUCCESS
        );
        assert_eq!(guest.read(name, expected.len() as u32), expected.as_bytes());
    }
    assert_eq!(
        guest.open(3, 0, "only-in-second", 0, RIGHTS_ALL, 0),
        Err(ENOENT)
    );
    assert!(guest.open(4, 0, "only-in-second", 0, RIGHTS_ALL, 0).is_ok());
    let prestat = guest.alloc(8);
    assert_eq!(guest.call("fd_prestat_get", &[5, prestat.into()]), EBADF);
}

#[test]
fn create_write_seek_and_read_a_file() {
    let (mut guest, dir) = sandbox();
    let fd = create(&mut guest, "notes.txt");
    assert!(fd > PREOPEN);
    assert_eq!(guest.write_fd(fd, b"hello, "), Ok(7));
    let (iovs, count, _) = guest.iovecs(&[b"wasi", b" world"]);
    let out = guest.alloc(4);
    assert_eq!(
        guest.call("fd_write", &[fd, iovs, count, out.into()]),
        ESUCCESS
    );
    assert_eq!(guest.read_u32(out), 10);
    assert_eq!(
        fs::read(dir.path().join("notes.txt")).unwrap(),
        b"hello, wasi world"
    );

    assert_eq!(guest.seek(fd, 0, WHENCE_CUR), Ok(17));
    let tell = guest.alloc(8);
    assert_eq!(guest.call("fd_tell", &[fd, tell.into()]), ESUCCESS);
    assert_eq!(guest.read_u64(tell), 17);
    assert_eq!(guest.seek(fd, 7, WHENCE_SET), Ok(7));
    assert_eq!(guest.read_fd(fd, 4), Ok(b"wasi".to_vec()));
    assert_eq!(guest.seek(fd, -5, WHENCE_END), Ok(12));
    // A file read fills one buffer after another.
    let (iovs, count, pointers) = guest.iovecs(&[b"..", b"...."]);
    assert_eq!(
        guest.call("fd_read", &[fd, iovs, count, out.into()]),
        ESUCCESS
    );
    assert_eq!(guest.read_u32(out), 5);
    assert_eq!(guest.read(pointers[0], 2), b"wo");
    assert_eq!(guest.read(pointers[1], 3), b"rld");
    assert_eq!(guest.read_fd(fd, 10), Ok(Vec::new()), "end of file");
    assert_eq!(guest.seek(fd, -1, WHENCE_SET), Err(EINVAL));
    assert_eq!(guest.seek(fd, 0, 3), Err(EINVAL));
    assert_eq!(guest.call("fd_close", &[fd]), ESUCCESS);
    assert_eq!(guest.read_fd(fd, 1), Err(EBADF));
}

#[test]
fn pread_and_pwrite_leave_the_position_alone() {
    let (mut guest, dir) = sandbox();
    fs::write(dir.path().join("data"), b"0123456789").unwrap();
    let fd = guest.open(PREOPEN, 0, "data", 0, RIGHTS_ALL, 0).unwrap();
    assert_eq!(guest.seek(fd, 2, WHENCE_SET), Ok(2));
    let (iovs, count, pointers) = guest.iovecs(&[b"___", b"___"]);
    let out = guest.alloc(4);
    assert_eq!(
        guest.call("fd_pread", &[fd, iovs, count, 5, out.into()]),
        ESUCCESS
    );
    assert_eq!(guest.read_u32(out), 5);
    assert_eq!(guest.read(pointers[0], 3), b"567");
    assert_eq!(guest.read(pointers[1], 2), b"89");
    let (iovs, count, _) = guest.iovecs(&[b"ab", b"cd"]);
    assert_eq!(
        guest.call("fd_pwrite", &[fd, iovs, count, 8, out.into()]),
        ESUCCESS
    );
    assert_eq!(guest.read_u32(out), 4);
    assert_eq!(guest.seek(fd, 0, WHENCE_CUR), Ok(2));
    assert_eq!(fs::read(dir.path().join("data")).unwrap(), b"01234567abcd");
}

#[test]
fn append_mode_writes_at_the_end() {
    let (mut guest, dir) = sandbox();
    fs::write(dir.path().join("log"), b"first\n").unwrap();
    let fd = guest
        .open(PREOPEN, 0, "log", 0, RIGHTS_ALL, FDFLAGS_APPEND)
        .unwrap();
    assert_eq!(guest.seek(fd, 0, WHENCE_SET), Ok(0));
    assert_eq!(guest.write_fd(fd, b"second\n"), Ok(7));
    let stat = guest.alloc(24);
    guest.call("fd_fdstat_get", &[fd, stat.into()]);
    assert_eq!(guest.read_u8(stat), FILETYPE_REGULAR_FILE);
    assert_eq!(i64::from(guest.read_u16(stat + 2)), FDFLAGS_APPEND);
    // Turn append mode off: writes go to the position again.
    assert_eq!(guest.call("fd_fdstat_set_flags", &[fd, 0]), ESUCCESS);
    assert_eq!(guest.seek(fd, 0, WHENCE_SET), Ok(0));
    assert_eq!(guest.write_fd(fd, b"FIRST"), Ok(5));
    assert_eq!(
        fs::read(dir.path().join("log")).unwrap(),
        b"FIRST\nsecond\n"
    );
    assert_eq!(
        guest.call("fd_fdstat_set_flags", &[fd, 16]),
        ENOTSUP,
        "sync"
    );
    assert_eq!(guest.call("fd_fdstat_set_flags", &[fd, 32]), EINVAL);
}

#[test]
fn open_flags() {
    let (mut guest, dir) = sandbox();
    fs::write(dir.path().join("existing"), b"contents").unwrap();
    assert_eq!(
        guest.open(
            PREOPEN,
            0,
            "existing",
            OFLAGS_CREAT | OFLAGS_EXCL,
            RIGHTS_ALL,
            0
        ),
        Err(EEXIST)
    );
    assert_eq!(
        guest.open(PREOPEN, 0, "missing", 0, RIGHTS_ALL, 0),
        Err(ENOENT)
    );
    assert_eq!(
        guest.open(PREOPEN, 0, "existing", OFLAGS_DIRECTORY, RIGHTS_ALL, 0),
        Err(ENOTDIR)
    );
    assert_eq!(
        guest.open(PREOPEN, 0, "missing/file", OFLAGS_CREAT, RIGHTS_ALL, 0),
        Err(ENOENT)
    );
    assert_eq!(
        guest.open(PREOPEN, 0, "existing/file", 0, RIGHTS_ALL, 0),
        Err(ENOTDIR)
    );
    assert_eq!(guest.open(PREOPEN, 0, "", 0, RIGHTS_ALL, 0), Err(ENOENT));
    assert_eq!(
        guest.open(PREOPEN, 0, "existing/", 0, RIGHTS_ALL, 0),
        Err(ENOTDIR)
    );
    assert_eq!(
        guest.open(PREOPEN, 0, "exist\0ing", 0, RIGHTS_ALL, 0),
        Err(EINVAL)
    );
    assert_eq!(
        guest.open(PREOPEN, 0, "existing", 0x10, RIGHTS_ALL, 0),
        Err(EINVAL)
    );
    assert_eq!(
        guest.open(PREOPEN, 2, "existing", 0, RIGHTS_ALL, 0),
        Err(EINVAL)
    );
    let fd = guest
        .open(PREOPEN, 0, "existing", OFLAGS_TRUNC, RIGHTS_ALL, 0)
        .unwrap();
    assert_eq!(fs::read(dir.path().join("existing")).unwrap(), b"");
    assert_eq!(guest.call("fd_close", &[fd]), ESUCCESS);
    // A descriptor that is not a directory cannot open paths.
    let fd = create(&mut guest, "file");
    assert_eq!(
        guest.open(fd, 0, "x", OFLAGS_CREAT, RIGHTS_ALL, 0),
        Err(ENOTDIR)
    );
    // Paths must be UTF-8.
    let (path, len) = guest.bytes(b"\xff\xfe");
    let out = guest.alloc(4);
    assert_eq!(
        guest.call(
            "path_open",
            &[PREOPEN, 0, path, len, 0, RIGHTS_ALL, 0, 0, out.into()]
        ),
        EILSEQ
    );
}

#[test]
fn rights_decide_how_a_file_is_opened() {
    let (mut guest, dir) = sandbox();
    fs::write(dir.path().join("file"), b"read me").unwrap();
    let read_only = guest
        .open(PREOPEN, 0, "file", 0, RIGHT_FD_READ | RIGHT_FD_SEEK, 0)
        .unwrap();
    assert_eq!(guest.write_fd(read_only, b"no"), Err(EBADF));
    assert_eq!(guest.read_fd(read_only, 4), Ok(b"read".to_vec()));
    assert_eq!(guest.call("fd_tell", &[read_only, 0]), ENOTCAPABLE);
    assert_eq!(
        guest.call("fd_filestat_set_size", &[read_only, 0]),
        ENOTCAPABLE
    );
    let write_only = guest
        .open(PREOPEN, 0, "file", 0, RIGHT_FD_WRITE, 0)
        .unwrap();
    assert_eq!(guest.read_fd(write_only, 4), Err(EBADF));
    assert_eq!(guest.write_fd(write_only, b"READ"), Ok(4));
    assert_eq!(fs::read(dir.path().join("file")).unwrap(), b"READ me");
    // A directory descriptor cannot be read or written as a file.
    assert_eq!(guest.read_fd(PREOPEN, 4), Err(EBADF));
    assert_eq!(guest.write_fd(PREOPEN, b"x"), Err(EBADF));
}

#[test]
fn filestat_of_descriptors_and_paths() {
    let (mut guest, dir) = sandbox();
    fs::write(dir.path().join("file"), b"twelve bytes").unwrap();
    fs::create_dir(dir.path().join("subdir")).unwrap();
    let host = fs::metadata(dir.path().join("file")).unwrap();

    let stat = guest.stat(PREOPEN, LOOKUP_SYMLINK_FOLLOW, "file").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        assert_eq!(u64_at(&stat, 0), host.dev());
        assert_eq!(u64_at(&stat, 8), host.ino());
        assert_eq!(u64_at(&stat, 24), host.nlink());
        let ctime = host.ctime() as u64 * 1_000_000_000 + host.ctime_nsec() as u64;
        assert_eq!(u64_at(&stat, 56), ctime);
    }
    assert_eq!(stat[16], FILETYPE_REGULAR_FILE);
    assert_eq!(u64_at(&stat, 32), 12);
    let mtime = host.modified().unwrap().duration_since(UNIX_EPOCH).unwrap();
    assert_eq!(u64_at(&stat, 48), mtime.as_nanos() as u64);
    assert_eq!(
        guest.stat(PREOPEN, 0, "subdir").unwrap()[16],
        FILETYPE_DIRECTORY
    );
    assert_eq!(guest.stat(PREOPEN, 0, "nothing"), Err(ENOENT));

    let fd = guest.open(PREOPEN, 0, "file", 0, RIGHTS_ALL, 0).unwrap();
    let buf = guest.alloc(64);
    assert_eq!(guest.call("fd_filestat_get", &[fd, buf.into()]), ESUCCESS);
    assert_eq!(guest.read(buf, 64), stat, "the same file, by descriptor");
    assert_eq!(guest.call("fd_filestat_set_size", &[fd, 3]), ESUCCESS);
    assert_eq!(fs::read(dir.path().join("file")).unwrap(), b"twe");
    assert_eq!(guest.call("fd_allocate", &[fd, 2, 8]), ESUCCESS);
    assert_eq!(fs::metadata(dir.path().join("file")).unwrap().len(), 10);
    assert_eq!(
        guest.call("fd_allocate", &[fd, 0, 4]),
        ESUCCESS,
        "never shrinks"
    );
    assert_eq!(fs::metadata(dir.path().join("file")).unwrap().len(), 10);
    assert_eq!(guest.call("fd_advise", &[fd, 0, 10, 2]), ESUCCESS);
    assert_eq!(guest.call("fd_advise", &[fd, 0, 10, 6]), EINVAL);
    assert_eq!(guest.call("fd_sync", &[fd]), ESUCCESS);
    assert_eq!(guest.call("fd_datasync", &[fd]), ESUCCESS);
    assert_eq!(guest.call("fd_sync", &[PREOPEN]), ESUCCESS);

    assert_eq!(
        guest.call("fd_filestat_get", &[PREOPEN, buf.into()]),
        ESUCCESS
    );
    assert_eq!(guest.read_u8(buf + 16), FILETYPE_DIRECTORY);
}

#[test]
fn timestamps_can_be_set() {
    let (mut guest, dir) = sandbox();
    fs::write(dir.path().join("file"), b"").unwrap();
    let mtime = |dir: &TempDir| {
        fs::metadata(dir.path().join("file"))
            .unwrap()
            .modified()
            .unwrap()
    };
    let atime = |dir: &TempDir| {
        fs::metadata(dir.path().join("file"))
            .unwrap()
            .accessed()
            .unwrap()
    };
    let a = 1_000_000_000_123_456_789u64;
    let m = 1_200_000_000_987_654_321u64;
    let (path, len) = guest.str("file");
    const ATIM: i64 = 1;
    const ATIM_NOW: i64 = 2;
    const MTIM: i64 = 4;
    const MTIM_NOW: i64 = 8;
    assert_eq!(
        guest.call(
            "path_filestat_set_times",
            &[
                PREOPEN,
                LOOKUP_SYMLINK_FOLLOW,
                path,
                len,
                a as i64,
                m as i64,
                ATIM | MTIM
            ]
        ),
        ESUCCESS
    );
    assert_eq!(atime(&dir), UNIX_EPOCH + Duration::from_nanos(a));
    assert_eq!(mtime(&dir), UNIX_EPOCH + Duration::from_nanos(m));

    let read_only = guest.open(PREOPEN, 0, "file", 0, RIGHT_FD_READ, 0).unwrap();
    assert_eq!(
        guest.call("fd_filestat_set_times", &[read_only, 0, 0, MTIM_NOW]),
        ENOTCAPABLE
    );
    let fd = guest
        .open(
            PREOPEN,
            0,
            "file",
            0,
            RIGHT_FD_READ | RIGHT_FD_FILESTAT_SET_TIMES,
            0,
        )
        .unwrap();
    assert_eq!(
        guest.call("fd_filestat_set_times", &[fd, 0, 5_000_000_000, MTIM]),
        ESUCCESS
    );
    assert_eq!(mtime(&dir), UNIX_EPOCH + Duration::from_secs(5));
    assert_eq!(
        atime(&dir),
        UNIX_EPOCH + Duration::from_nanos(a),
        "left alone"
    );
    let before = SystemTime::now() - Duration::from_secs(1);
    assert_eq!(
        guest.call("fd_filestat_set_times", &[fd, 0, 0, MTIM_NOW | ATIM_NOW]),
        ESUCCESS
    );
    assert!(mtime(&dir) >= before && atime(&dir) >= before);
    assert_eq!(
        guest.call("fd_filestat_set_times", &[fd, 0, 0, MTIM | MTIM_NOW]),
        EINVAL
    );
    assert_eq!(
        guest.call("fd_filestat_set_times", &[fd, 0, 0, ATIM | ATIM_NOW]),
        EINVAL
    );
    assert_eq!(guest.call("fd_filestat_set_times", &[fd, 0, 0, 16]), EINVAL);

    // A directory's times, by descriptor.
    assert_eq!(
        guest.call("fd_filestat_set_times", &[PREOPEN, 0, 7_000_000_000, MTIM]),
        ESUCCESS
    );
    assert_eq!(
        fs::metadata(dir.path()).unwrap().modified().unwrap(),
        UNIX_EPOCH + Duration::from_secs(7)
    );
}

#[test]
fn rename_and_unlink() {
    let (mut guest, dir) = sandbox();
    fs::create_dir(dir.path().join("sub")).unwrap();
    fs::write(dir.path().join("a"), b"A").unwrap();
    let (old, old_len) = guest.str("a");
    let (new, new_len) = guest.str("sub/b");
    assert_eq!(
        guest.call(
            "path_rename",
            &[PREOPEN, old, old_len, PREOPEN, new, new_len]
        ),
        ESUCCESS
    );
    assert!(!dir.path().join("a").exists());
    assert_eq!(fs::read(dir.path().join("sub/b")).unwrap(), b"A");
    assert_eq!(
        guest.call(
            "path_rename",
            &[PREOPEN, old, old_len, PREOPEN, new, new_len]
        ),
        ENOENT
    );
    // Renaming relative to another directory descriptor.
    let sub = guest
        .open(PREOPEN, 0, "sub", OFLAGS_DIRECTORY, RIGHTS_ALL, 0)
        .unwrap();
    let (b, b_len) = guest.str("b");
    let (c, c_len) = guest.str("c");
    assert_eq!(
        guest.call("path_rename", &[sub, b, b_len, PREOPEN, c, c_len]),
        ESUCCESS
    );
    assert_eq!(fs::read(dir.path().join("c")).unwrap(), b"A");

    assert_eq!(guest.path_call("path_unlink_file", PREOPEN, "c"), ESUCCESS);
    assert!(!dir.path().join("c").exists());
    assert_eq!(guest.path_call("path_unlink_file", PREOPEN, "c"), ENOENT);
    let errno = guest.path_call("path_unlink_file", PREOPEN, "sub");
    assert!(
        errno == EISDIR || errno == EPERM,
        "unlinking a directory: {errno}"
    );
    assert!(dir.path().join("sub").is_dir());
}

#[test]
fn create_and_remove_directories() {
    let (mut guest, dir) = sandbox();
    assert_eq!(
        guest.path_call("path_create_directory", PREOPEN, "d"),
        ESUCCESS
    );
    assert_eq!(
        guest.path_call("path_create_directory", PREOPEN, "d/e"),
        ESUCCESS
    );
    assert!(dir.path().join("d/e").is_dir());
    assert_eq!(
        guest.path_call("path_create_directory", PREOPEN, "d"),
        EEXIST
    );
    assert_eq!(
        guest.path_call("path_remove_directory", PREOPEN, "d"),
        ENOTEMPTY
    );
    fs::write(dir.path().join("f"), b"").unwrap();
    assert_eq!(
        guest.path_call("path_remove_directory", PREOPEN, "f"),
        ENOTDIR
    );
    assert_eq!(
        guest.path_call("path_remove_directory", PREOPEN, "d/e"),
        ESUCCESS
    );
    assert_eq!(
        guest.path_call("path_remove_directory", PREOPEN, "d"),
        ESUCCESS
    );
    assert!(!dir.path().join("d").exists());
    assert_eq!(
        guest.path_call("path_remove_directory", PREOPEN, "d"),
        ENOENT
    );
    // A directory opened without `oflags::directory` is still a directory.
    fs::create_dir(dir.path().join("plain")).unwrap();
    let fd = guest
        .open(PREOPEN, 0, "plain", 0, RIGHT_FD_READ | RIGHT_FD_READDIR, 0)
        .unwrap();
    let stat = guest.alloc(24);
    guest.call("fd_fdstat_get", &[fd, stat.into()]);
    assert_eq!(guest.read_u8(stat), FILETYPE_DIRECTORY);
    assert_eq!(
        guest.open(PREOPEN, 0, "plain", 0, RIGHT_FD_WRITE, 0),
        Err(EISDIR)
    );
}

/// Reads the whole directory in calls with a `buf_len`-byte buffer, following cookies and
/// doubling the buffer when one entry does not fit (as wasi-libc does): each entry as
/// (d_next, d_ino, name, d_type).
fn readdir(guest: &mut Guest, fd: i64, buf_len: u32) -> Vec<(u64, u64, String, u8)> {
    let mut buf_len = buf_len;
    let mut buf = guest.alloc(buf_len);
    let used = guest.alloc(4);
    let mut entries = Vec::new();
    let mut cookie = 0;
    loop {
        assert_eq!(
            guest.call(
                "fd_readdir",
                &[fd, buf.into(), buf_len.into(), cookie, used.into()]
            ),
            ESUCCESS
        );
        let used = guest.read_u32(used);
        let bytes = guest.read(buf, used);
        // Whole entries only; a cut-off one is read again from its cookie.
        let mut at = 0;
        while at + 24 <= bytes.len() {
            let name_len = u32::from_le_bytes(bytes[at + 16..at + 20].try_into().unwrap());
            let end = at + 24 + name_len as usize;
            if end > bytes.len() {
                break;
            }
            assert_eq!(&bytes[at + 21..at + 24], [0, 0, 0], "padding");
            let entry = (
                u64_at(&bytes, at),
                u64_at(&bytes, at + 8),
                String::from_utf8(bytes[at + 24..end].to_vec()).unwrap(),
                bytes[at + 20],
            );
            cookie = entry.0 as i64;
            entries.push(entry);
            at = end;
        }
        if used < buf_len {
            return entries;
        }
        if at == 0 {
            buf_len *= 2;
            buf = guest.alloc(buf_len);
        }
    }
}

#[test]
fn readdir_lists_every_entry_with_cookies() {
    let (mut guest, dir) = sandbox();
    fs::write(dir.path().join("file"), b"").unwrap();
    fs::create_dir(dir.path().join("directory")).unwrap();
    let long_name = "a-rather-long-file-name-".repeat(4);
    fs::write(dir.path().join(&long_name), b"").unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink("file", dir.path().join("link")).unwrap();

    for buf_len in [4096, 100, 24] {
        let entries = readdir(&mut guest, PREOPEN, buf_len);
        for (index, entry) in entries.iter().enumerate() {
            assert_eq!(entry.0, index as u64 + 1, "d_next of {}", entry.2);
        }
        let mut found: Vec<(String, u8)> = entries
            .iter()
            .map(|(_, _, name, filetype)| (name.clone(), *filetype))
            .collect();
        assert_eq!(found[0], (".".to_string(), FILETYPE_DIRECTORY));
        assert_eq!(found[1], ("..".to_string(), FILETYPE_DIRECTORY));
        found.sort();
        let mut expected = vec![
            (".".to_string(), FILETYPE_DIRECTORY),
            ("..".to_string(), FILETYPE_DIRECTORY),
            ("directory".to_string(), FILETYPE_DIRECTORY),
            ("file".to_string(), FILETYPE_REGULAR_FILE),
            (long_name.clone(), FILETYPE_REGULAR_FILE),
        ];
        #[cfg(unix)]
        expected.push(("link".to_string(), FILETYPE_SYMBOLIC_LINK));
        expected.sort();
        assert_eq!(found, expected, "with a {buf_len}-byte buffer");
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            let ino = fs::metadata(dir.path().join("file")).unwrap().ino();
            assert!(entries.iter().any(|e| e.2 == "file" && e.1 == ino));
        }
    }

    // A cookie past the end lists nothing; a small buffer is filled to the brim.
    let buf = guest.alloc(64);
    let used = guest.alloc(4);
    assert_eq!(
        guest.call("fd_readdir", &[PREOPEN, buf.into(), 64, 1000, used.into()]),
        ESUCCESS
    );
    assert_eq!(guest.read_u32(used), 0);
    assert_eq!(
        guest.call("fd_readdir", &[PREOPEN, buf.into(), 30, 0, used.into()]),
        ESUCCESS
    );
    assert_eq!(
        guest.read_u32(used),
        30,
        "the first entry and part of the next"
    );
    assert_eq!(
        guest.read(buf, 25),
        [
            &1u64.to_le_bytes()[..],
            &guest.read(buf + 8, 8),
            &[1, 0, 0, 0, 3, 0, 0, 0],
            b"."
        ]
        .concat()
    );

    let fd = create(&mut guest, "plain-file");
    assert_eq!(
        guest.call("fd_readdir", &[fd, buf.into(), 64, 0, used.into()]),
        ENOTDIR
    );
    assert_eq!(
        guest.call(
            "fd_readdir",
            &[PREOPEN, i64::from(MEMORY_SIZE) - 10, 64, 0, used.into()]
        ),
        EFAULT
    );
}

#[test]
fn readdir_sees_changes_when_restarted() {
    let (mut guest, dir) = sandbox();
    let names = |entries: Vec<(u64, u64, String, u8)>| {
        let mut names: Vec<String> = entries.into_iter().map(|e| e.2).collect();
        names.sort();
        names
    };
    assert_eq!(names(readdir(&mut guest, PREOPEN, 256)), [".", ".."]);
    fs::write(dir.path().join("new"), b"").unwrap();
    assert_eq!(names(readdir(&mut guest, PREOPEN, 256)), [".", "..", "new"]);
}

#[cfg(unix)]
#[test]
fn symlinks_and_hard_links() {
    let (mut guest, dir) = sandbox();
    fs::write(dir.path().join("target"), b"through the link").unwrap();
    let (target, target_len) = guest.str("target");
    let (link, link_len) = guest.str("link");
    assert_eq!(
        guest.call(
            "path_symlink",
            &[target, target_len, PREOPEN, link, link_len]
        ),
        ESUCCESS
    );
    assert_eq!(
        fs::read_link(dir.path().join("link")).unwrap(),
        std::path::Path::new("target")
    );
    let buf = guest.alloc(64);
    let used = guest.alloc(4);
    assert_eq!(
        guest.call(
            "path_readlink",
            &[PREOPEN, link, link_len, buf.into(), 64, used.into()]
        ),
        ESUCCESS
    );
    assert_eq!(guest.read(buf, guest.read_u32(used)), b"target");
    // Cut to the buffer, as readlink does.
    assert_eq!(
        guest.call(
            "path_readlink",
            &[PREOPEN, link, link_len, buf.into(), 3, used.into()]
        ),
        ESUCCESS
    );
    assert_eq!(guest.read_u32(used), 3);
    assert_eq!(
        guest.call(
            "path_readlink",
            &[PREOPEN, target, target_len, buf.into(), 64, used.into()]
        ),
        EINVAL,
        "not a symlink"
    );

    // Following, or not.
    assert_eq!(
        guest.stat(PREOPEN, 0, "link").unwrap()[16],
        FILETYPE_SYMBOLIC_LINK
    );
    assert_eq!(
        guest.stat(PREOPEN, LOOKUP_SYMLINK_FOLLOW, "link").unwrap()[16],
        FILETYPE_REGULAR_FILE
    );
    let fd = guest
        .open(PREOPEN, LOOKUP_SYMLINK_FOLLOW, "link", 0, RIGHTS_ALL, 0)
        .unwrap();
    assert_eq!(guest.read_fd(fd, 64), Ok(b"through the link".to_vec()));
    assert_eq!(guest.open(PREOPEN, 0, "link", 0, RIGHTS_ALL, 0), Err(ELOOP));

    // Hard links: of the symlink itself, or of what it points to.
    let (hard, hard_len) = guest.str("hard");
    assert_eq!(
        guest.call(
            "path_link",
            &[PREOPEN, 0, target, target_len, PREOPEN, hard, hard_len]
        ),
        ESUCCESS
    );
    assert_eq!(
        fs::read(dir.path().join("hard")).unwrap(),
        b"through the link"
    );
    assert_eq!(guest.stat(PREOPEN, 0, "target").unwrap()[24], 2, "nlink");
    let (followed, followed_len) = guest.str("followed");
    assert_eq!(
        guest.call(
            "path_link",
            &[
                PREOPEN,
                LOOKUP_SYMLINK_FOLLOW,
                link,
                link_len,
                PREOPEN,
                followed,
                followed_len
            ]
        ),
        ESUCCESS
    );
    assert!(
        fs::symlink_metadata(dir.path().join("followed"))
            .unwrap()
            .is_file()
    );
    assert_eq!(
        guest.call(
            "path_link",
            &[PREOPEN, 0, target, target_len, PREOPEN, hard, hard_len]
        ),
        EEXIST
    );
    assert_eq!(
        guest.path_call("path_unlink_file", PREOPEN, "link"),
        ESUCCESS
    );
    assert!(
        dir.path().join("target").exists(),
        "unlinking a symlink keeps its target"
    );
}
