//! WASI: a guest reaches nothing outside its preopened directory. Every way out — `..`,
//! absolute paths, symlinks to absolute paths or through `..` — is refused with `EPERM`
//! (as in wasmtime and the wasi-filesystem path-resolution rules), and the host files
//! around the sandbox stay untouched.
#![cfg(all(feature = "wasi", unix))]

mod wasi_common;

use std::fs;
use std::os::unix::fs::symlink;
use std::path::PathBuf;

use tempfile::TempDir;
use tierwasm::wasi::WasiCtxBuilder;
use wasi_common::*;

/// A host directory holding `outside.txt` and `sandbox/`, the guest's preopen (fd 3), which
/// holds `inside.txt`, `sub/`, and symlinks: `absolute` (to `outside.txt` by its absolute
/// path), `up` (`../outside.txt`), `parent` (`..`), `sub/deep` (`../../outside.txt`) and
/// `fine` (`sub/../inside.txt`, which stays inside).
struct Fixture {
    root: TempDir,
    guest: Guest,
}

impl Fixture {
    fn new() -> Fixture {
        let root = TempDir::new().unwrap();
        let sandbox = root.path().join("sandbox");
        fs::write(root.path().join("outside.txt"), b"secret").unwrap();
        fs::create_dir_all(sandbox.join("sub")).unwrap();
        fs::write(sandbox.join("inside.txt"), b"public").unwrap();
        symlink(root.path().join("outside.txt"), sandbox.join("absolute")).unwrap();
        symlink("../outside.txt", sandbox.join("up")).unwrap();
        symlink("..", sandbox.join("parent")).unwrap();
        symlink("../../outside.txt", sandbox.join("sub/deep")).unwrap();
        symlink("sub/../inside.txt", sandbox.join("fine")).unwrap();
        let guest = Guest::new(
            WasiCtxBuilder::new()
                .preopened_dir(&sandbox, "/")
                .unwrap()
                .build(),
        );
        Fixture { root, guest }
    }

    fn host(&self, path: &str) -> PathBuf {
        self.root.path().join(path)
    }

    fn open(&mut self, lookupflags: i64, path: &str, oflags: i64) -> Result<i64, i32> {
        self.guest
            .open(PREOPEN, lookupflags, path, oflags, RIGHTS_ALL, 0)
    }

    /// Reads the file at `path` (following symlinks): its contents, or the errno.
    fn read(&mut self, path: &str) -> Result<Vec<u8>, i32> {
        let fd = self.open(LOOKUP_SYMLINK_FOLLOW, path, 0)?;
        self.guest.read_fd(fd, 100)
    }

    /// The host files outside the sandbox are as they were.
    fn assert_outside_untouched(&self) {
        assert_eq!(fs::read(self.host("outside.txt")).unwrap(), b"secret");
        let mut names: Vec<_> = fs::read_dir(self.root.path())
            .unwrap()
            .map(|entry| entry.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, ["outside.txt", "sandbox"]);
    }
}

#[test]
fn paths_inside_the_sandbox_work() {
    let mut fixture = Fixture::new();
    assert_eq!(fixture.read("inside.txt"), Ok(b"public".to_vec()));
    assert_eq!(fixture.read("sub/../inside.txt"), Ok(b"public".to_vec()));
    assert_eq!(
        fixture.read("./sub/./../inside.txt"),
        Ok(b"public".to_vec())
    );
    assert_eq!(fixture.read("fine"), Ok(b"public".to_vec()));
}

#[test]
fn dot_dot_out_of_the_preopen_is_refused() {
    let mut fixture = Fixture::new();
    assert_eq!(fixture.read("../outside.txt"), Err(EPERM));
    assert_eq!(fixture.read("sub/../../outside.txt"), Err(EPERM));
    assert_eq!(fixture.read(".."), Err(EPERM));
    assert_eq!(fixture.open(0, "../created.txt", OFLAGS_CREAT), Err(EPERM));
    assert_eq!(fixture.guest.stat(PREOPEN, 0, "../outside.txt"), Err(EPERM));
    assert_eq!(
        fixture
            .guest
            .path_call("path_create_directory", PREOPEN, "../escaped"),
        EPERM
    );
    assert_eq!(
        fixture
            .guest
            .path_call("path_unlink_file", PREOPEN, "../outside.txt"),
        EPERM
    );
    assert_eq!(
        fixture
            .guest
            .path_call("path_remove_directory", PREOPEN, "../sandbox"),
        EPERM
    );
    let (old, old_len) = fixture.guest.str("inside.txt");
    let (new, new_len) = fixture.guest.str("sub/../../moved.txt");
    assert_eq!(
        fixture.guest.call(
            "path_rename",
            &[PREOPEN, old, old_len, PREOPEN, new, new_len]
        ),
        EPERM
    );
    assert_eq!(
        fixture.guest.call(
            "path_link",
            &[PREOPEN, 0, old, old_len, PREOPEN, new, new_len]
        ),
        EPERM
    );
    fixture.assert_outside_untouched();
}

#[test]
fn absolute_paths_are_refused() {
    let mut fixture = Fixture::new();
    let absolute = fixture.host("outside.txt").to_str().unwrap().to_string();
    assert_eq!(fixture.read(&absolute), Err(EPERM));
    assert_eq!(
        fixture.read("/inside.txt"),
        Err(EPERM),
        "even one that exists inside"
    );
    assert_eq!(fixture.read("/etc/passwd"), Err(EPERM));
    assert_eq!(fixture.guest.stat(PREOPEN, 0, "/"), Err(EPERM));
    let created = fixture.host("created").to_str().unwrap().to_string();
    assert_eq!(
        fixture
            .guest
            .path_call("path_create_directory", PREOPEN, &created),
        EPERM
    );
    fixture.assert_outside_untouched();
}

#[test]
fn symlinks_leading_outside_are_refused() {
    let mut fixture = Fixture::new();
    // To an absolute path, through `..`, to the parent, from a subdirectory.
    for link in ["absolute", "up", "parent/outside.txt", "sub/deep"] {
        assert_eq!(fixture.read(link), Err(EPERM), "{link}");
        assert_eq!(
            fixture.guest.stat(PREOPEN, LOOKUP_SYMLINK_FOLLOW, link),
            Err(EPERM),
            "{link}"
        );
    }
    // Writing through them too.
    assert_eq!(
        fixture.open(LOOKUP_SYMLINK_FOLLOW, "up", OFLAGS_TRUNC),
        Err(EPERM)
    );
    assert_eq!(
        fixture
            .guest
            .path_call("path_create_directory", PREOPEN, "parent/escaped"),
        EPERM
    );
    // The links themselves are inside, and may be looked at without following them...
    let stat = fixture.guest.stat(PREOPEN, 0, "up").unwrap();
    assert_eq!(stat[16], FILETYPE_SYMBOLIC_LINK);
    // ...but a symlink to an absolute path does not reveal the host's layout.
    let (path, len) = fixture.guest.str("absolute");
    let buf = fixture.guest.alloc(256);
    let used = fixture.guest.alloc(4);
    assert_eq!(
        fixture.guest.call(
            "path_readlink",
            &[PREOPEN, path, len, buf.into(), 256, used.into()]
        ),
        EPERM
    );
    // Removing a link removes the link, not what it points to.
    assert_eq!(
        fixture.guest.path_call("path_unlink_file", PREOPEN, "up"),
        ESUCCESS
    );
    fixture.assert_outside_untouched();
}

#[test]
fn the_guest_cannot_make_a_symlink_to_an_absolute_path() {
    let mut fixture = Fixture::new();
    let target = fixture.host("outside.txt").to_str().unwrap().to_string();
    let (target, target_len) = fixture.guest.str(&target);
    let (link, link_len) = fixture.guest.str("mine");
    assert_eq!(
        fixture.guest.call(
            "path_symlink",
            &[target, target_len, PREOPEN, link, link_len]
        ),
        EPERM
    );
    assert!(!fixture.host("sandbox/mine").exists());
    // A relative one may be made, but not followed out.
    let (target, target_len) = fixture.guest.str("../outside.txt");
    assert_eq!(
        fixture.guest.call(
            "path_symlink",
            &[target, target_len, PREOPEN, link, link_len]
        ),
        ESUCCESS
    );
    assert_eq!(fixture.read("mine"), Err(EPERM));
    fixture.assert_outside_untouched();
}

/// Each directory descriptor is a capability of its own: `..` from a subdirectory's
/// descriptor is refused even when it would stay inside the preopen.
#[test]
fn a_subdirectory_descriptor_is_its_own_sandbox() {
    let mut fixture = Fixture::new();
    let sub = fixture.open(0, "sub", OFLAGS_DIRECTORY).unwrap();
    let stat = fixture.guest.alloc(64);
    let (path, len) = fixture.guest.str("../inside.txt");
    assert_eq!(
        fixture
            .guest
            .call("path_filestat_get", &[sub, 0, path, len, stat.into()]),
        EPERM
    );
    assert_eq!(
        fixture.guest.open(sub, 0, "deep", 0, RIGHTS_ALL, 0),
        Err(ELOOP),
        "not followed"
    );
    assert_eq!(
        fixture
            .guest
            .open(sub, LOOKUP_SYMLINK_FOLLOW, "deep", 0, RIGHTS_ALL, 0),
        Err(EPERM)
    );
    fixture.assert_outside_untouched();
}
