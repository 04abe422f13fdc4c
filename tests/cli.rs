//! End-to-end tests of the `tierwasm` command-line tool: real WASI programs compiled from C
//! (`tests/programs/*.c`, built by `tests/programs/build.sh`, with the `.wasm` files committed so
//! that these tests need no C compiler) and small WAT modules written on the fly.
//!
//! Every test checks the exit status, stdout and stderr, and that nothing panicked.
//!
//! The binary exists only with the `cli` feature (`cargo test --no-default-features` builds
//! no `tierwasm`), so neither do these tests.
#![cfg(feature = "cli")]

use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use assert_cmd::Command;
use tempfile::TempDir;

/// Exit status of a trap (`tierwasm run --help`: "134 the WebAssembly code trapped").
const EXIT_TRAP: i32 = 134;
/// Exit status of an error of tierwasm itself: unreadable file, invalid module, failed link.
const EXIT_ERROR: i32 = 1;
/// Exit status of a usage error: unknown flag, missing or unparsable argument.
const EXIT_USAGE: i32 = 2;

/// Generous: the programs run on the interpreter, and the tests may be built without
/// optimizations. A hang fails the test instead of blocking the suite.
const TIMEOUT: Duration = Duration::from_secs(300);

fn programs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("programs")
}

/// The path of a built test program, `tests/programs/NAME.wasm`.
fn program(name: &str) -> PathBuf {
    let path = programs_dir().join(format!("{name}.wasm"));
    assert!(
        path.exists(),
        "{} is missing: run tests/programs/build.sh",
        path.display()
    );
    path
}

/// What one run of `tierwasm` did.
struct Outcome {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    /// The raw stdout, for output that need not be UTF-8.
    stdout_bytes: Vec<u8>,
    /// The command line, for failure messages.
    command: String,
}

impl Outcome {
    #[track_caller]
    fn code(&self, expected: i32) -> &Self {
        assert_eq!(
            self.code,
            Some(expected),
            "exit status of {}\n{}",
            self.command,
            self.dump()
        );
        self
    }

    #[track_caller]
    fn failed(&self) -> &Self {
        assert!(
            matches!(self.code, Some(code) if code != 0),
            "{} should have failed\n{}",
            self.command,
            self.dump()
        );
        self
    }

    #[track_caller]
    fn stdout(&self, expected: &str) -> &Self {
        assert_eq!(
            self.stdout,
            expected,
            "stdout of {}\n{}",
            self.command,
            self.dump()
        );
        self
    }

    #[track_caller]
    fn stderr(&self, expected: &str) -> &Self {
        assert_eq!(
            self.stderr,
            expected,
            "stderr of {}\n{}",
            self.command,
            self.dump()
        );
        self
    }

    #[track_caller]
    fn stdout_has(&self, needle: &str) -> &Self {
        assert!(
            self.stdout.contains(needle),
            "stdout of {} lacks {needle:?}\n{}",
            self.command,
            self.dump()
        );
        self
    }

    #[track_caller]
    fn stdout_lacks(&self, needle: &str) -> &Self {
        assert!(
            !self.stdout.contains(needle),
            "stdout of {} has {needle:?}\n{}",
            self.command,
            self.dump()
        );
        self
    }

    #[track_caller]
    fn stderr_has(&self, needle: &str) -> &Self {
        assert!(
            self.stderr.contains(needle),
            "stderr of {} lacks {needle:?}\n{}",
            self.command,
            self.dump()
        );
        self
    }

    /// An error of tierwasm: a first line that starts with `error:`.
    #[track_caller]
    fn error(&self) -> &Self {
        assert!(
            self.stderr.starts_with("error:"),
            "stderr of {} does not start with `error:`\n{}",
            self.command,
            self.dump()
        );
        self
    }

    /// An error reported as exactly one line on stderr, starting with `error:`.
    #[track_caller]
    fn one_line_error(&self) -> &Self {
        self.error();
        assert_eq!(
            self.stderr.trim_end().lines().count(),
            1,
            "stderr of {} is not one line\n{}",
            self.command,
            self.dump()
        );
        self
    }

    fn dump(&self) -> String {
        format!(
            "--- status: {:?}\n--- stdout:\n{}\n--- stderr:\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// Runs `tierwasm ARGS` in the current directory with no stdin.
fn tierwasm<I, S>(args: I) -> Outcome
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    tierwasm_with(args, |_| {})
}

/// Runs `tierwasm ARGS` after `setup` adjusted the command (stdin, directory, environment).
fn tierwasm_with<I, S>(args: I, setup: impl FnOnce(&mut Command)) -> Outcome
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let args: Vec<_> = args
        .into_iter()
        .map(|a| a.as_ref().to_os_string())
        .collect();
    let command = format!(
        "tierwasm {}",
        args.iter()
            .map(|a| a.to_string_lossy())
            .collect::<Vec<_>>()
            .join(" ")
    );
    let mut cmd = Command::cargo_bin("tierwasm").expect("the tierwasm binary is built");
    cmd.args(&args).timeout(TIMEOUT);
    setup(&mut cmd);
    let output = cmd.output().expect("tierwasm starts");
    let outcome = Outcome {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        stdout_bytes: output.stdout,
        command,
    };
    assert!(
        !outcome.stderr.contains("panicked"),
        "{} panicked\n{}",
        outcome.command,
        outcome.dump()
    );
    assert!(
        outcome.code.is_some(),
        "{} was killed by a signal (or timed out)\n{}",
        outcome.command,
        outcome.dump()
    );
    outcome
}

/// Writes `text` to `dir/name` and returns the path.
fn write_file(dir: &TempDir, name: &str, text: impl AsRef<[u8]>) -> PathBuf {
    let path = dir.path().join(name);
    fs::write(&path, text).unwrap();
    path
}

fn tempdir() -> TempDir {
    tempfile::tempdir().unwrap()
}

// ---------------------------------------------------------------------------------------------
// WASI commands: arguments, environment, exit status, stdio.

#[test]
fn hello_prints_to_stdout_and_stderr() {
    tierwasm(["run".as_ref(), program("hello").as_os_str()])
        .code(0)
        .stdout("Hello, world!\n")
        .stderr("hello on stderr\n");
}

#[test]
fn argv0_is_the_file_as_given_and_args_follow() {
    tierwasm_with(
        [
            "run",
            "args_env.wasm",
            "one",
            "two words",
            "",
            "héllo wörld",
        ],
        |cmd| {
            cmd.current_dir(programs_dir());
        },
    )
    .code(0)
    .stdout(
        "argc=5\nargv[0]=args_env.wasm\nargv[1]=one\nargv[2]=two words\nargv[3]=\n\
         argv[4]=héllo wörld\nenvc=0\n",
    )
    .stderr("");

    tierwasm_with(["run", "./args_env.wasm"], |cmd| {
        cmd.current_dir(programs_dir());
    })
    .code(0)
    .stdout_has("argc=1\nargv[0]=./args_env.wasm\n");

    let path = program("args_env");
    tierwasm(["run".as_ref(), path.as_os_str()])
        .code(0)
        .stdout_has(&format!("argv[0]={}\n", path.display()));
}

#[test]
fn every_word_after_the_file_belongs_to_the_program() {
    tierwasm_with(
        [
            "run",
            "--env",
            "A=1",
            "args_env.wasm",
            "-x",
            "--env",
            "B=2",
            "--dir",
            ".",
            "--invoke",
            "f",
            "--help",
            "-V",
            "--",
        ],
        |cmd| {
            cmd.current_dir(programs_dir());
        },
    )
    .code(0)
    .stdout(
        "argc=11\nargv[0]=args_env.wasm\nargv[1]=-x\nargv[2]=--env\nargv[3]=B=2\nargv[4]=--dir\n\
         argv[5]=.\nargv[6]=--invoke\nargv[7]=f\nargv[8]=--help\nargv[9]=-V\nargv[10]=--\n\
         envc=1\nenv[0]=A=1\n",
    )
    .stderr("");
}

#[test]
fn a_double_dash_right_after_the_file_is_the_programs_too() {
    tierwasm_with(["run", "args_env.wasm", "--", "--help"], |cmd| {
        cmd.current_dir(programs_dir());
    })
    .code(0)
    .stdout_has("argc=3\nargv[0]=args_env.wasm\nargv[1]=--\nargv[2]=--help\n");
}

#[test]
fn the_guest_sees_only_the_environment_it_is_given() {
    tierwasm_with(
        [
            "run".as_ref(),
            "--env".as_ref(),
            "GREETING=hello world".as_ref(),
            "--env".as_ref(),
            "EQUATION=a=b=c".as_ref(),
            "--env".as_ref(),
            "EMPTY=".as_ref(),
            "--env".as_ref(),
            "TIERWASM_LOOKUP=GREETING,EQUATION,EMPTY,TIERWASM_HOST_ONLY,PATH".as_ref(),
            program("args_env").as_os_str(),
        ],
        |cmd| {
            cmd.env("TIERWASM_HOST_ONLY", "leaked");
        },
    )
    .code(0)
    .stdout_has(
        "envc=4\nenv[0]=GREETING=hello world\nenv[1]=EQUATION=a=b=c\nenv[2]=EMPTY=\n\
         env[3]=TIERWASM_LOOKUP=GREETING,EQUATION,EMPTY,TIERWASM_HOST_ONLY,PATH\n\
         getenv(GREETING)=hello world\ngetenv(EQUATION)=a=b=c\ngetenv(EMPTY)=\n\
         getenv(TIERWASM_HOST_ONLY) unset\ngetenv(PATH) unset\n",
    )
    .stdout_lacks("leaked")
    .stderr("");
}

#[test]
fn an_env_flag_without_equals_is_an_error() {
    tierwasm([
        "run".as_ref(),
        "--env".as_ref(),
        "NOVALUE".as_ref(),
        program("args_env").as_os_str(),
    ])
    .failed()
    .error()
    .stderr_has("NOVALUE");
}

#[test]
fn the_exit_status_is_the_programs() {
    for mode in ["return", "exit", "_Exit"] {
        for status in [0, 1, 3, 42, 125, 255] {
            let out = tierwasm([
                "run".as_ref(),
                program("exit_code").as_os_str(),
                status.to_string().as_ref(),
                mode.as_ref(),
            ]);
            out.code(status).stderr("stderr before exit\n");
            // Buffered stdout is flushed by exit, and atexit handlers run, except with _Exit.
            let expected = format!("exiting with {status} via {mode}\n");
            if mode == "_Exit" {
                out.stdout(&expected);
            } else {
                out.stdout(&format!("{expected}atexit handler ran\n"));
            }
        }
    }
}

/// FNV-1a, as `stdin_echo.c` computes it.
fn fnv1a(bytes: &[u8]) -> u32 {
    bytes.iter().fold(2166136261u32, |hash, &b| {
        (hash ^ b as u32).wrapping_mul(16777619)
    })
}

#[test]
fn stdin_reaches_the_program() {
    let input = b"Hello, stdin!\n\0binary \xff\xfe bytes\nlast line without newline".to_vec();
    let out = tierwasm_with(["run".as_ref(), program("stdin_echo").as_os_str()], |cmd| {
        cmd.write_stdin(input.clone());
    });
    out.code(0).stderr(&format!(
        "bytes={} fnv1a={:08x}\n",
        input.len(),
        fnv1a(&input)
    ));
    assert_eq!(
        out.stdout_bytes,
        input.to_ascii_uppercase(),
        "stdout of {}",
        out.command
    );
}

#[test]
fn large_stdin_is_read_completely() {
    // 3 MiB and a bit, in a pattern that does not repeat at the program's buffer size.
    let input: Vec<u8> = (0..3 * 1024 * 1024 + 77)
        .map(|i: u32| b"abcdefghijklmnopqrstuvwxyz0123456789\n"[i as usize % 37])
        .collect();
    let out = tierwasm_with(["run".as_ref(), program("stdin_echo").as_os_str()], |cmd| {
        cmd.write_stdin(input.clone());
    });
    out.code(0).stderr(&format!(
        "bytes={} fnv1a={:08x}\n",
        input.len(),
        fnv1a(&input)
    ));
    assert!(
        out.stdout_bytes == input.to_ascii_uppercase(),
        "stdout differs from the input upper-cased"
    );
}

#[test]
fn empty_stdin_is_end_of_file() {
    tierwasm_with(["run".as_ref(), program("stdin_echo").as_os_str()], |cmd| {
        cmd.write_stdin(Vec::new());
    })
    .code(0)
    .stdout("")
    .stderr("bytes=0 fnv1a=811c9dc5\n");
}

// ---------------------------------------------------------------------------------------------
// WASI filesystem, clocks, random.

/// The full expected stdout of `files.wasm` on a directory holding `input.txt` = "first line\n...".
const FILES_OUTPUT: &str = "\
input.txt: 23 bytes: first line
ok mkdir work
ok mkdir work again: EEXIST
ok fopen work/a.txt for writing
ok fclose
ok open work/a.txt O_RDWR
ok lseek 6
ok read 5 at 6: world
ok lseek SEEK_END: 12
ok write HELLO at 0
ok pwrite WORLD at 6
ok pread 11 at 0: HELLO WORLD
ok pwrite/pread keep the offset: 5
ok fstat
ok fstat size: size 12
ok ftruncate 5
ok read after truncate: HELLO
ok close
ok open O_CREAT|O_EXCL existing: EEXIST
ok open missing: ENOENT
ok open file as directory: ENOTDIR
ok rename a.txt b.txt
ok a.txt after rename: ENOENT
ok create c.txt
ok mkdir work/d
ok readdir
listing work: b.txt c.txt d
ok stat b.txt
ok b.txt is a regular file of 5 bytes: regular
ok d is a directory: stat ok
ok rmdir non-empty work: ENOTEMPTY
ok unlink a directory: EISDIR
ok unlink b.txt
ok unlink c.txt
ok rmdir d
ok readdir
listing work:
ok rmdir work
ok work after rmdir: ENOENT
ok fopen output.txt
files: 0 failures
";

fn files_dir() -> TempDir {
    let dir = tempdir();
    write_file(&dir, "input.txt", "first line\nsecond line\n");
    dir
}

#[track_caller]
fn check_files_left_behind(dir: &TempDir) {
    assert_eq!(
        fs::read_to_string(dir.path().join("output.txt")).unwrap(),
        "written by files.wasm\n"
    );
    assert!(!dir.path().join("work").exists(), "work/ should be removed");
    assert_eq!(
        fs::read_to_string(dir.path().join("input.txt")).unwrap(),
        "first line\nsecond line\n"
    );
}

#[test]
fn files_in_a_preopen_mapped_to_a_guest_path() {
    let dir = files_dir();
    let mut mapping = dir.path().as_os_str().to_os_string();
    mapping.push("::/data");
    tierwasm([
        "run".as_ref(),
        "--dir".as_ref(),
        mapping.as_os_str(),
        program("files").as_os_str(),
        "/data".as_ref(),
    ])
    .code(0)
    .stdout(FILES_OUTPUT)
    .stderr("");
    check_files_left_behind(&dir);
}

#[test]
fn files_in_a_preopen_seen_at_its_host_path() {
    let dir = files_dir();
    tierwasm([
        "run".as_ref(),
        "--dir".as_ref(),
        dir.path().as_os_str(),
        program("files").as_os_str(),
        dir.path().as_os_str(),
    ])
    .code(0)
    .stdout(FILES_OUTPUT)
    .stderr("");
    check_files_left_behind(&dir);
}

#[test]
fn files_in_a_preopen_given_as_dot() {
    let dir = files_dir();
    tierwasm_with(
        [
            "run".as_ref(),
            "--dir".as_ref(),
            ".".as_ref(),
            program("files").as_os_str(),
            ".".as_ref(),
        ],
        |cmd| {
            cmd.current_dir(dir.path());
        },
    )
    .code(0)
    .stdout(FILES_OUTPUT)
    .stderr("");
    check_files_left_behind(&dir);
}

#[test]
fn without_a_preopen_the_program_sees_no_files() {
    let dir = files_dir();
    let out = tierwasm([
        "run".as_ref(),
        program("files").as_os_str(),
        dir.path().as_os_str(),
    ]);
    out.code(1)
        .stdout_has("FAIL fopen input.txt")
        .stdout_has("FAIL mkdir work");
    assert!(!dir.path().join("output.txt").exists());
    assert!(!dir.path().join("work").exists());
}

#[test]
fn a_missing_or_non_directory_preopen_is_an_error() {
    let dir = tempdir();
    let missing = dir.path().join("no-such-dir");
    tierwasm([
        "run".as_ref(),
        "--dir".as_ref(),
        missing.as_os_str(),
        program("hello").as_os_str(),
    ])
    .code(EXIT_ERROR)
    .one_line_error()
    .stderr_has("no-such-dir")
    .stdout("");
    let file = write_file(&dir, "plain.txt", "not a directory");
    tierwasm([
        "run".as_ref(),
        "--dir".as_ref(),
        file.as_os_str(),
        program("hello").as_os_str(),
    ])
    .code(EXIT_ERROR)
    .one_line_error()
    .stderr_has("plain.txt")
    .stdout("");
}

#[test]
fn clocks_sleep_and_random_work() {
    tierwasm(["run".as_ref(), program("clocks_random").as_os_str()])
        .code(0)
        .stdout_lacks("FAIL")
        .stdout_has("ok nanosleep 50 ms\nok usleep 20 ms\nok poll timeout 30 ms\n")
        .stdout_has("clocks_random: 0 failures\n")
        .stderr("");
}

#[test]
fn readdir_of_a_large_directory_sees_every_entry() {
    // About 45 KB of entries: more than wasi-libc's 32 KiB readdir buffer.
    let dir = tempdir();
    let mut expected = Vec::new();
    for i in 0..300 {
        let name = format!("file_{i:04}_{}", "x".repeat(120));
        write_file(&dir, &name, "");
        expected.push(format!("f {name}"));
    }
    fs::create_dir(dir.path().join("subdir")).unwrap();
    expected.push("d subdir".to_string());
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink("subdir", dir.path().join("symlink")).unwrap();
        expected.push("l symlink".to_string());
    }
    expected.sort_by(|a, b| a[2..].cmp(&b[2..]));
    let mut mapping = dir.path().as_os_str().to_os_string();
    mapping.push("::/d");
    let out = tierwasm([
        "run".as_ref(),
        "--dir".as_ref(),
        mapping.as_os_str(),
        program("listdir").as_os_str(),
        "/d".as_ref(),
    ]);
    out.code(0)
        .stdout(&format!(
            "entries={n}\n{}\nagain={n}\ndots=2\n",
            expected.join("\n"),
            n = expected.len()
        ))
        .stderr("");
}

#[test]
fn less_common_file_operations_work() {
    let dir = tempdir();
    let mut mapping = dir.path().as_os_str().to_os_string();
    mapping.push("::/d");
    let out = tierwasm([
        "run".as_ref(),
        "--dir".as_ref(),
        mapping.as_os_str(),
        program("fileops").as_os_str(),
        "/d".as_ref(),
    ]);
    out.stdout_lacks("FAIL")
        .stdout_has("ok appended content: one two three\n")
        .stdout_has("ok truncated: 0 bytes\n")
        .stdout_has(
            "ok hole and extension read as zeros: 200 bytes, byte 100 = X, zeros elsewhere: yes\n",
        )
        .stdout_has("ok times set: atime 1000000000 mtime 1234567890.500000000\n")
        .stdout_has("ok readlink ln: keep.txt\n")
        .stdout_has("ok lstat ln is a link: stat ok\n")
        .stdout_has("ok read through ln: kept\n")
        .stdout_has("ok two links: nlink 2\n")
        .stdout_has("ok b.txt replaced: new\n")
        .stdout_has("ok d2/b.txt: new\n")
        .stdout_has("ok read on a directory fails: ")
        .stdout_has("fileops: 0 failures\n")
        .stderr("")
        .code(0);
    // Only keep.txt is left, with the times the guest set.
    let names: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names, ["keep.txt"]);
    let keep = dir.path().join("keep.txt");
    assert_eq!(fs::read_to_string(&keep).unwrap(), "kept\n");
    let modified = fs::metadata(&keep).unwrap().modified().unwrap();
    assert_eq!(
        modified.duration_since(std::time::UNIX_EPOCH).unwrap(),
        Duration::new(1234567890, 500000000)
    );
}

#[test]
fn poll_reports_stdin_with_data_as_readable() {
    tierwasm_with(
        [
            "run".as_ref(),
            program("poll_stdin").as_os_str(),
            "5000".as_ref(),
            "read".as_ref(),
        ],
        |cmd| {
            cmd.write_stdin("some input\n");
        },
    )
    .code(0)
    .stdout("poll=1 revents=POLLIN waited_at_least_timeout=no\nread=11\n")
    .stderr("");
}

#[test]
fn poll_on_an_idle_stdin_times_out() {
    // stdin is a pipe that stays open, with nothing written to it, until the program is done.
    let (reader, writer) = std::io::pipe().unwrap();
    let output = std::process::Command::new(assert_cmd::cargo::cargo_bin("tierwasm"))
        .args([
            "run".as_ref(),
            program("poll_stdin").as_os_str(),
            "300".as_ref(),
        ])
        .stdin(reader)
        .output()
        .unwrap();
    drop(writer);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(stdout, "poll=0 revents=0 waited_at_least_timeout=yes\n");
}

/// Lays out the directories `sandbox.c` expects: `root/outside.txt` and the sandbox `root/d`.
fn sandbox_tree() -> (TempDir, PathBuf) {
    let root = tempdir();
    write_file(&root, "outside.txt", "secret\n");
    let d = root.path().join("d");
    fs::create_dir_all(d.join("sub")).unwrap();
    fs::write(d.join("inside.txt"), "inside\n").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::symlink;
        symlink("inside.txt", d.join("link_in")).unwrap();
        symlink("../outside.txt", d.join("link_out")).unwrap();
        symlink(root.path().join("outside.txt"), d.join("link_abs")).unwrap();
        symlink("..", d.join("link_parent")).unwrap();
    }
    (root, d)
}

#[track_caller]
fn check_outside_untouched(root: &TempDir) {
    let mut names: Vec<_> = fs::read_dir(root.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["d", "outside.txt"],
        "the guest changed the directory above its preopen"
    );
    assert_eq!(
        fs::read_to_string(root.path().join("outside.txt")).unwrap(),
        "secret\n"
    );
    let d = root.path().join("d");
    assert_eq!(
        fs::read_to_string(d.join("inside.txt")).unwrap(),
        "inside\n"
    );
    assert!(!d.join("hardlink.txt").exists());
}

#[test]
fn the_sandbox_refuses_every_escape() {
    let (root, d) = sandbox_tree();
    let mut mapping = d.as_os_str().to_os_string();
    mapping.push("::/sandbox");
    let out = tierwasm([
        "run".as_ref(),
        "--dir".as_ref(),
        mapping.as_os_str(),
        program("sandbox").as_os_str(),
        "/sandbox".as_ref(),
    ]);
    out.stdout_lacks("ESCAPED").stdout_lacks("FAIL");
    for attempt in [
        "open ../outside.txt",
        "open /etc/passwd",
        "open sub/../../outside.txt",
        "open link_out -> ../outside.txt",
        "open link_abs -> absolute path",
        "open link_parent/outside.txt",
        "open sub/../link_out",
        "open .. as a directory",
        "create ../created.txt",
        "stat ../outside.txt",
        "stat link_out following it",
        "mkdir ../escaped_dir",
        "rename inside.txt to ../moved.txt",
        "hard link ../outside.txt to hardlink.txt",
        "unlink ../outside.txt",
        "fd_read on fd 99",
        "libc fopen DIR/../outside.txt",
        "libc fopen /etc/passwd",
        "libc fopen ../outside.txt",
    ] {
        out.stdout_has(&format!("escape {attempt}: refused "));
    }
    for allowed in ["inside.txt", "./inside.txt", "sub/../inside.txt"] {
        out.stdout_has(&format!("inside {allowed}: allowed\n"));
    }
    #[cfg(unix)]
    out.stdout_has("inside link_in -> inside.txt: allowed\n");
    out.stdout_has("escape fd_read on fd 99: refused EBADF\n")
        .stdout_has("sandbox: 0 escaped, 0 inside failures\n")
        .stderr("")
        .code(0);
    check_outside_untouched(&root);
}

#[test]
fn preopens_are_repeatable() {
    let (root, d) = sandbox_tree();
    let other = tempdir();
    let mut first = other.path().as_os_str().to_os_string();
    first.push("::/other");
    let mut second = d.as_os_str().to_os_string();
    second.push("::/sandbox");
    tierwasm([
        "run".as_ref(),
        "--dir".as_ref(),
        first.as_os_str(),
        "--dir".as_ref(),
        second.as_os_str(),
        program("sandbox").as_os_str(),
        "/sandbox".as_ref(),
    ])
    .code(0)
    .stdout_has("inside inside.txt: allowed\n")
    .stdout_has("sandbox: 0 escaped, 0 inside failures\n");
    check_outside_untouched(&root);
}

// ---------------------------------------------------------------------------------------------
// Traps in compiled C, with backtraces naming its functions.

#[test]
fn a_c_program_that_reaches_unreachable_traps_with_a_backtrace() {
    tierwasm([
        "run".as_ref(),
        program("trap").as_os_str(),
        "unreachable".as_ref(),
    ])
    .code(EXIT_TRAP)
    .stdout("about to trap: unreachable\n")
    .error()
    .stderr_has("wasm trap: unreachable")
    .stderr_has("crash_here")
    .stderr_has("middle_frame")
    .stderr_has("main");
}

#[test]
fn c_traps_name_their_cause_and_function() {
    for (mode, message, function) in [
        ("divzero", "integer divide by zero", "divide"),
        ("oob", "out of bounds memory access", "load_far"),
        ("stack", "call stack exhausted", "recurse"),
    ] {
        tierwasm(["run".as_ref(), program("trap").as_os_str(), mode.as_ref()])
            .code(EXIT_TRAP)
            .stdout(&format!("about to trap: {mode}\n"))
            .error()
            .stderr_has(&format!("wasm trap: {message}"))
            .stderr_has(function);
    }
    tierwasm(["run".as_ref(), program("trap").as_os_str(), "none".as_ref()])
        .code(0)
        .stdout("about to trap: none\nno trap\n")
        .stderr("");
}

#[test]
fn compiled_c_computes_the_known_answers() {
    // The same source compiled natively (gcc -O2 -lm) prints exactly this.
    tierwasm(["run".as_ref(), program("compute").as_os_str()])
        .code(0)
        .stdout(
            "primes=148933\nprime_sum=142913828922\nsorted=1\nsorted_hash=2e55e7532a172006\n\
             sdiv=-293572946121590\nudiv=a80d132ef55d1c70\npi=3.141591654\ntrig=7166.269802\n\
             fsum=9.78761\nbuf_len=1988890 buf_hash=f00cee5b\n",
        )
        .stderr("");
}

// ---------------------------------------------------------------------------------------------
// Run options.

#[test]
fn the_interpreter_strategy_can_be_named() {
    tierwasm([
        "run".as_ref(),
        "--strategy".as_ref(),
        "interp".as_ref(),
        program("hello").as_os_str(),
    ])
    .code(0)
    .stdout("Hello, world!\n");
}

#[cfg(feature = "jit")]
#[test]
fn the_compiled_strategy_runs_a_wasi_program() {
    tierwasm([
        "run".as_ref(),
        "--strategy".as_ref(),
        "compiled".as_ref(),
        program("hello").as_os_str(),
    ])
    .code(0)
    .stdout("Hello, world!\n")
    .stderr("hello on stderr\n");
}

#[cfg(feature = "jit")]
#[test]
fn the_compiled_strategy_times_its_compilation() {
    let dir = tempdir();
    let fib = write_file(
        &dir,
        "fib.wat",
        r#"(module
             (func $fib (export "fib") (param i32) (result i32)
               (if (result i32) (i32.lt_u (local.get 0) (i32.const 2))
                 (then (local.get 0))
                 (else (i32.add (call $fib (i32.sub (local.get 0) (i32.const 1)))
                                (call $fib (i32.sub (local.get 0) (i32.const 2))))))))"#,
    );
    tierwasm([
        "run".as_ref(),
        "--strategy".as_ref(),
        "compiled".as_ref(),
        "--timings".as_ref(),
        "--invoke".as_ref(),
        "fib".as_ref(),
        fib.as_os_str(),
        "25".as_ref(),
    ])
    .code(0)
    .stdout("75025\n")
    .stderr_has("decode + validate + compile")
    .stderr_has("compiled functions: 1 ")
    .stderr_has("0 left to the interpreter");
}

#[test]
fn an_unknown_strategy_is_a_usage_error() {
    tierwasm([
        "run".as_ref(),
        "--strategy".as_ref(),
        "warp-drive".as_ref(),
        program("hello").as_os_str(),
    ])
    .code(EXIT_USAGE)
    .error()
    .stderr_has("warp-drive")
    .stdout("");
}

#[test]
fn timings_print_a_phase_table_on_stderr() {
    let out = tierwasm([
        "run".as_ref(),
        "--timings".as_ref(),
        program("hello").as_os_str(),
    ]);
    out.code(0)
        .stdout("Hello, world!\n")
        .stderr_has("hello on stderr\n")
        .stderr_has("decode + validate")
        .stderr_has("link")
        .stderr_has("run");
}

#[test]
fn timings_are_printed_even_when_the_program_traps() {
    tierwasm([
        "run".as_ref(),
        "--timings".as_ref(),
        program("trap").as_os_str(),
        "unreachable".as_ref(),
    ])
    .code(EXIT_TRAP)
    .stderr_has("wasm trap: unreachable")
    .stderr_has("decode + validate");
}

// ---------------------------------------------------------------------------------------------
// --invoke.

fn invoke(name: &str, file: &Path, args: &[&str]) -> Outcome {
    let mut all: Vec<&OsStr> = vec![
        "run".as_ref(),
        "--invoke".as_ref(),
        name.as_ref(),
        file.as_os_str(),
    ];
    all.extend(args.iter().map(|a| OsStr::new(*a)));
    tierwasm(all)
}

#[test]
fn invoke_calls_a_reactors_exports_after_initialize() {
    let reactor = program("reactor");
    // get_base is 100 only if _initialize ran the constructors first.
    invoke("get_base", &reactor, &[])
        .code(0)
        .stdout("100\n")
        .stderr("");
    invoke("add", &reactor, &["2", "3"]).code(0).stdout("5\n");
    invoke("add", &reactor, &["-7", "3"]).code(0).stdout("-4\n");
    invoke("add", &reactor, &["2147483647", "1"])
        .code(0)
        .stdout("-2147483648\n");
    invoke("fact", &reactor, &["20"])
        .code(0)
        .stdout("2432902008176640000\n");
    invoke("hypot2", &reactor, &["3", "4"])
        .code(0)
        .stdout("5\n");
    let expected = format!("{}\n", (-0.5f64 * -0.5 + 1.2 * 1.2).sqrt());
    invoke("hypot2", &reactor, &["-0.5", "1.2"])
        .code(0)
        .stdout(&expected);
    invoke("half", &reactor, &["3"]).code(0).stdout("1.5\n");
    invoke("fail", &reactor, &["0"]).code(0).stdout("0\n");
}

#[test]
fn an_invoked_export_can_use_wasi() {
    invoke("greet", &program("reactor"), &["41"])
        .code(0)
        .stdout("hello from reactor 41\n42\n")
        .stderr("");
}

#[test]
fn a_trap_in_an_invoked_c_export_names_the_functions() {
    invoke("fail", &program("reactor"), &["1"])
        .code(EXIT_TRAP)
        .stdout("")
        .error()
        .stderr_has("wasm trap: unreachable")
        .stderr_has("reactor_crash")
        .stderr_has("fail");
}

#[test]
fn invoke_with_an_unparsable_argument_is_a_usage_error() {
    invoke("add", &program("reactor"), &["2", "three"])
        .code(EXIT_USAGE)
        .one_line_error()
        .stderr_has("three")
        .stdout("");
    invoke("fact", &program("reactor"), &["1.5"])
        .code(EXIT_USAGE)
        .one_line_error()
        .stderr_has("1.5");
    invoke("half", &program("reactor"), &["x"])
        .code(EXIT_USAGE)
        .one_line_error();
}

#[test]
fn invoke_with_the_wrong_number_of_arguments_is_a_usage_error() {
    invoke("add", &program("reactor"), &["1"])
        .code(EXIT_USAGE)
        .one_line_error()
        .stdout("");
    invoke("add", &program("reactor"), &["1", "2", "3"])
        .code(EXIT_USAGE)
        .one_line_error();
}

#[test]
fn invoke_of_a_missing_export_is_an_error() {
    invoke("no_such_export", &program("reactor"), &[])
        .code(EXIT_ERROR)
        .one_line_error()
        .stderr_has("no_such_export")
        .stdout("");
}

#[test]
fn running_a_reactor_without_invoke_is_an_error() {
    tierwasm(["run".as_ref(), program("reactor").as_os_str()])
        .code(EXIT_ERROR)
        .one_line_error()
        .stderr_has("_start");
}

/// A module with named functions: `outer` calls `middle` calls `inner`.
const WAT_FUNCS: &str = r#"
(module
  (func $inner (param $x i32) (result i32)
    local.get $x
    if
      unreachable
    end
    i32.const 7)
  (func $middle (export "middle") (param i32) (result i32)
    local.get 0
    call $inner
    i32.const 1
    i32.add)
  (func $outer (export "outer") (param i32) (result i32)
    local.get 0
    call $middle)
  (func $div (export "div") (param i32 i32) (result i32)
    local.get 0
    local.get 1
    i32.div_s)
  (func $forever (export "forever") (param i32) (result i32)
    local.get 0
    i32.const 1
    i32.add
    call $forever
    i32.const 1
    i32.add)
  (func (export "types") (param i32 i64 f32 f64) (result f64 f32 i64 i32)
    local.get 3
    local.get 2
    local.get 1
    local.get 0)
  (func (export "nothing"))
  (func (export "nan") (result f32 f64)
    f32.const nan
    f64.const -inf)
  (func (export "big") (param i64) (result i64)
    local.get 0
    i64.const 1
    i64.sub)
)
"#;

fn wat_file(dir: &TempDir) -> PathBuf {
    write_file(dir, "funcs.wat", WAT_FUNCS)
}

#[test]
fn invoke_prints_each_result_on_its_own_line() {
    let dir = tempdir();
    let wat = wat_file(&dir);
    invoke("outer", &wat, &["0"])
        .code(0)
        .stdout("8\n")
        .stderr("");
    invoke("types", &wat, &["-1", "-9000000000", "2.5", "0.1"])
        .code(0)
        .stdout("0.1\n2.5\n-9000000000\n-1\n");
    invoke("nothing", &wat, &[]).code(0).stdout("").stderr("");
    invoke("nan", &wat, &[]).code(0).stdout("NaN\n-inf\n");
    invoke("big", &wat, &["-9223372036854775807"])
        .code(0)
        .stdout("-9223372036854775808\n");
}

#[test]
fn a_trap_in_a_wat_module_via_invoke_shows_the_functions() {
    let dir = tempdir();
    let wat = wat_file(&dir);
    let out = invoke("outer", &wat, &["1"]);
    out.code(EXIT_TRAP)
        .stdout("")
        .error()
        .stderr_has("wasm trap: unreachable")
        .stderr_has("inner")
        .stderr_has("middle")
        .stderr_has("outer");
    // Innermost frame first.
    let inner = out.stderr.find("inner").unwrap();
    let outer = out.stderr.find("outer").unwrap();
    assert!(
        inner < outer,
        "the backtrace should list inner before outer:\n{}",
        out.stderr
    );

    invoke("div", &wat, &["1", "0"])
        .code(EXIT_TRAP)
        .error()
        .stderr_has("wasm trap: integer divide by zero")
        .stderr_has("div");
    invoke("div", &wat, &["-2147483648", "-1"])
        .code(EXIT_TRAP)
        .error()
        .stderr_has("wasm trap: integer overflow");
}

#[test]
fn unbounded_recursion_is_a_trap_not_a_crash() {
    let dir = tempdir();
    invoke("forever", &wat_file(&dir), &["0"])
        .code(EXIT_TRAP)
        .error()
        .stderr_has("wasm trap: call stack exhausted")
        .stderr_has("forever");
}

#[test]
fn a_trapping_start_function_is_reported() {
    let dir = tempdir();
    let wat = write_file(
        &dir,
        "start.wat",
        r#"(module (func $boom unreachable) (start $boom) (func (export "_start")))"#,
    );
    tierwasm(["run".as_ref(), wat.as_os_str()])
        .code(EXIT_TRAP)
        .error()
        .stderr_has("wasm trap: unreachable")
        .stderr_has("boom");
}

#[test]
fn proc_exit_inside_invoke_sets_the_exit_status() {
    let dir = tempdir();
    let wat = write_file(
        &dir,
        "exit.wat",
        r#"(module
          (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
          (memory (export "memory") 1)
          (func (export "quit") (param i32) (result i32)
            local.get 0
            call $exit
            unreachable))"#,
    );
    invoke("quit", &wat, &["7"]).code(7).stdout("").stderr("");
}

#[test]
fn a_wat_wasi_command_runs() {
    let dir = tempdir();
    let wat = write_file(
        &dir,
        "hello.wat",
        r#"(module
          (import "wasi_snapshot_preview1" "fd_write"
            (func $fd_write (param i32 i32 i32 i32) (result i32)))
          (memory (export "memory") 1)
          (data (i32.const 16) "hi from wat\n")
          (func (export "_start")
            (i32.store (i32.const 0) (i32.const 16))
            (i32.store (i32.const 4) (i32.const 12))
            (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))"#,
    );
    tierwasm(["run".as_ref(), wat.as_os_str()])
        .code(0)
        .stdout("hi from wat\n")
        .stderr("");
}

/// WASI calls with bad arguments, each export returning the call's errno.
const WAT_WASI_ERRORS: &str = r#"(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $args_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "random_get" (func $random_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "clock_time_get" (func $clock_time_get (param i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_close" (func $fd_close (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll_oneoff (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_seek" (func $fd_seek (param i32 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_get" (func $environ_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_open" (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "write_iovs_out_of_bounds") (result i32)
    (call $fd_write (i32.const 1) (i32.const 70000) (i32.const 1) (i32.const 0)))
  (func (export "write_buffer_past_the_end") (result i32)
    (i32.store (i32.const 0) (i32.const 65530))
    (i32.store (i32.const 4) (i32.const 100))
    (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 16)))
  (func (export "write_nwritten_out_of_bounds") (result i32)
    (i32.store (i32.const 0) (i32.const 100))
    (i32.store (i32.const 4) (i32.const 0))
    (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 65535)))
  (func (export "write_bad_fd") (result i32)
    (i32.store (i32.const 0) (i32.const 100))
    (i32.store (i32.const 4) (i32.const 1))
    (call $fd_write (i32.const 99) (i32.const 0) (i32.const 1) (i32.const 16)))
  (func (export "read_stdout") (result i32)
    (i32.store (i32.const 0) (i32.const 100))
    (i32.store (i32.const 4) (i32.const 1))
    (call $fd_read (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 16)))
  (func (export "args_sizes_out_of_bounds") (result i32)
    (call $args_sizes_get (i32.const 70000) (i32.const 0)))
  (func (export "random_past_the_end") (result i32)
    (call $random_get (i32.const 65500) (i32.const 100)))
  (func (export "random_zero_at_end") (result i32)
    (call $random_get (i32.const 65536) (i32.const 0)))
  (func (export "clock_bad_id") (result i32)
    (call $clock_time_get (i32.const 99) (i64.const 0) (i32.const 0)))
  (func (export "close_bad_fd") (result i32)
    (call $fd_close (i32.const 99)))
  (func (export "poll_nothing") (result i32)
    (call $poll_oneoff (i32.const 0) (i32.const 256) (i32.const 0) (i32.const 512)))
  (func (export "seek_stdout") (result i32)
    (call $fd_seek (i32.const 1) (i64.const 0) (i32.const 1) (i32.const 16)))
  (func (export "seek_bad_whence") (result i32)
    (call $fd_seek (i32.const 1) (i64.const 0) (i32.const 7) (i32.const 16)))
  (func (export "environ_out_of_bounds") (result i32)
    (call $environ_get (i32.const 70000) (i32.const 70000)))
  (func (export "path_open_on_stdout") (result i32)
    (i32.store8 (i32.const 100) (i32.const 120))
    (call $path_open (i32.const 1) (i32.const 0) (i32.const 100) (i32.const 1) (i32.const 0)
      (i64.const 0) (i64.const 0) (i32.const 0) (i32.const 16)))
  (func (export "path_open_bad_fd") (result i32)
    (i32.store8 (i32.const 100) (i32.const 120))
    (call $path_open (i32.const 77) (i32.const 0) (i32.const 100) (i32.const 1) (i32.const 0)
      (i64.const 0) (i64.const 0) (i32.const 0) (i32.const 16)))
)"#;

#[test]
fn wasi_calls_with_bad_arguments_return_errors() {
    let dir = tempdir();
    let wat = write_file(&dir, "errors.wat", WAT_WASI_ERRORS);
    // Pointers outside linear memory: EFAULT (21), or a trap, but never a host crash.
    for name in [
        "write_iovs_out_of_bounds",
        "write_buffer_past_the_end",
        "write_nwritten_out_of_bounds",
        "args_sizes_out_of_bounds",
        "random_past_the_end",
    ] {
        let out = invoke(name, &wat, &[]);
        if out.code == Some(EXIT_TRAP) {
            out.error().stderr_has("wasm trap");
        } else {
            out.code(0).stdout("21\n");
        }
    }
    // An empty range may end exactly at the end of memory.
    invoke("random_zero_at_end", &wat, &[])
        .code(0)
        .stdout("0\n");
    // Descriptors that are not open: EBADF (8).
    invoke("write_bad_fd", &wat, &[]).code(0).stdout("8\n");
    invoke("close_bad_fd", &wat, &[]).code(0).stdout("8\n");
    invoke("path_open_bad_fd", &wat, &[]).code(0).stdout("8\n");
    // Reading stdout: EBADF (8), it is not open for reading.
    invoke("read_stdout", &wat, &[]).code(0).stdout("8\n");
    // No subscriptions: EINVAL (28).
    invoke("poll_nothing", &wat, &[]).code(0).stdout("28\n");
    // stdout is a pipe here: ESPIPE (70).
    invoke("seek_stdout", &wat, &[]).code(0).stdout("70\n");
    // Unknown clock, unknown whence, path_open relative to a non-directory: an error or a
    // trap, whichever the implementation prefers, but not success.
    for name in ["clock_bad_id", "seek_bad_whence", "path_open_on_stdout"] {
        let out = invoke(name, &wat, &[]);
        if out.code == Some(EXIT_TRAP) {
            out.error();
        } else {
            out.code(0);
            assert_ne!(out.stdout, "0\n", "{name} succeeded");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Bad input: one clear error line, never a panic.

#[test]
fn a_missing_file_is_an_error() {
    let dir = tempdir();
    let missing = dir.path().join("missing.wasm");
    tierwasm(["run".as_ref(), missing.as_os_str()])
        .code(EXIT_ERROR)
        .one_line_error()
        .stderr_has("missing.wasm")
        .stdout("");
}

#[test]
fn a_malformed_file_is_an_error() {
    let dir = tempdir();
    let garbage = write_file(
        &dir,
        "garbage.wasm",
        b"\0asm\x01\0\0\0\x01\xff\xff\xff\xff\x0f",
    );
    tierwasm(["run".as_ref(), garbage.as_os_str()])
        .code(EXIT_ERROR)
        .one_line_error()
        .stderr_has("garbage.wasm")
        .stdout("");

    let text = write_file(&dir, "text.wasm", "this is not a module\n");
    tierwasm(["run".as_ref(), text.as_os_str()])
        .code(EXIT_ERROR)
        .one_line_error();

    let empty = write_file(&dir, "empty.wasm", b"");
    tierwasm(["run".as_ref(), empty.as_os_str()])
        .code(EXIT_ERROR)
        .one_line_error();

    // A real program cut in half.
    let bytes = fs::read(program("hello")).unwrap();
    let truncated = write_file(&dir, "truncated.wasm", &bytes[..bytes.len() / 2]);
    tierwasm(["run".as_ref(), truncated.as_os_str()])
        .code(EXIT_ERROR)
        .one_line_error()
        .stderr_has("offset");
}

#[test]
fn an_unknown_import_is_a_link_error() {
    let dir = tempdir();
    let wat = write_file(
        &dir,
        "import.wat",
        r#"(module (import "env" "mystery" (func)) (func (export "_start")))"#,
    );
    tierwasm(["run".as_ref(), wat.as_os_str()])
        .code(EXIT_ERROR)
        .one_line_error()
        .stderr_has("mystery");
}

#[test]
fn an_unknown_flag_is_a_usage_error() {
    tierwasm([
        "run".as_ref(),
        "--bogus".as_ref(),
        program("hello").as_os_str(),
    ])
    .code(EXIT_USAGE)
    .error()
    .stderr_has("--bogus")
    .stdout("");
    tierwasm(["--bogus"])
        .code(EXIT_USAGE)
        .error()
        .stderr_has("--bogus");
    tierwasm(["validate", "--bogus"]).code(EXIT_USAGE).error();
}

#[test]
fn missing_arguments_are_usage_errors() {
    tierwasm(Vec::<&str>::new()).code(EXIT_USAGE).stdout("");
    tierwasm(["run"]).code(EXIT_USAGE).error();
    tierwasm(["run", "--invoke"]).code(EXIT_USAGE).error();
    tierwasm(["run", "--dir"]).code(EXIT_USAGE).error();
    tierwasm(["validate"]).code(EXIT_USAGE).error();
    tierwasm(["wast"]).code(EXIT_USAGE).error();
    tierwasm(["frobnicate"])
        .code(EXIT_USAGE)
        .error()
        .stderr_has("frobnicate");
}

/// Runs `tierwasm ARGS` with a stdout whose reading end is already closed, so that every write
/// fails with EPIPE (Rust ignores SIGPIPE); returns the exit status and stderr.
fn tierwasm_with_closed_stdout(args: &[&OsStr]) -> (Option<i32>, String) {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let output = std::process::Command::new(assert_cmd::cargo::cargo_bin("tierwasm"))
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(writer)
        .output()
        .unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn a_closed_stdout_is_not_a_panic() {
    // The guest's writes fail (printf ignores that); the host must not panic.
    let (code, stderr) =
        tierwasm_with_closed_stdout(&["run".as_ref(), program("hello").as_os_str()]);
    assert!(!stderr.contains("panicked"), "run panicked:\n{stderr}");
    assert!(stderr.contains("hello on stderr"), "stderr: {stderr}");
    assert!(code.is_some(), "killed by a signal");

    // What tierwasm itself prints: results of --invoke, inspect's listing, validate's and
    // wast's reports.
    let reactor = program("reactor");
    let hello = program("hello");
    let dir = tempdir();
    let wast = write_file(
        &dir,
        "one.wast",
        "(assert_malformed (module quote \"(\") \"unexpected end\")",
    );
    for args in [
        vec![
            "run".as_ref(),
            "--invoke".as_ref(),
            "add".as_ref(),
            reactor.as_os_str(),
            "1".as_ref(),
            "2".as_ref(),
        ],
        vec!["inspect".as_ref(), hello.as_os_str()],
        vec!["validate".as_ref(), hello.as_os_str()],
        vec!["wast".as_ref(), wast.as_os_str()],
        vec![OsStr::new("--help")],
    ] {
        let (code, stderr) = tierwasm_with_closed_stdout(&args);
        assert!(!stderr.contains("panicked"), "{args:?} panicked:\n{stderr}");
        assert!(code.is_some(), "{args:?} was killed by a signal");
    }
}

#[test]
fn help_and_version() {
    let out = tierwasm(["--help"]);
    out.code(0);
    for command in ["run", "validate", "inspect", "wast"] {
        out.stdout_has(command);
    }
    tierwasm(["run", "--help"])
        .code(0)
        .stdout_has("--invoke")
        .stdout_has("--dir")
        .stdout_has("--env")
        .stdout_has("--strategy")
        .stdout_has("--timings");
    tierwasm(["--version"]).code(0).stdout_has("tierwasm ");
}

// ---------------------------------------------------------------------------------------------
// validate, inspect, wast.

#[test]
fn validate_accepts_valid_modules() {
    tierwasm(["validate".as_ref(), program("hello").as_os_str()])
        .code(0)
        .stdout_has("valid")
        .stderr("");
    let dir = tempdir();
    tierwasm(["validate".as_ref(), wat_file(&dir).as_os_str()])
        .code(0)
        .stderr("");
    for name in ["args_env", "files", "sandbox", "compute", "reactor", "trap"] {
        tierwasm(["validate".as_ref(), program(name).as_os_str()]).code(0);
    }
}

#[test]
fn validate_rejects_an_invalid_module_with_its_offset() {
    let dir = tempdir();
    // Well-formed but ill-typed: an i64 where an i32 is returned.
    let bad = write_file(&dir, "bad.wat", "(module (func (result i32) i64.const 0))");
    tierwasm(["validate".as_ref(), bad.as_os_str()])
        .code(EXIT_ERROR)
        .one_line_error()
        .stderr_has("bad.wat")
        .stderr_has("offset")
        .stdout("");

    let garbage = write_file(
        &dir,
        "garbage.wasm",
        b"\0asm\x01\0\0\0\x0a\x05\x01\x03\x00\x0b",
    );
    tierwasm(["validate".as_ref(), garbage.as_os_str()])
        .code(EXIT_ERROR)
        .one_line_error()
        .stderr_has("offset");

    let missing = dir.path().join("missing.wasm");
    tierwasm(["validate".as_ref(), missing.as_os_str()])
        .code(EXIT_ERROR)
        .one_line_error()
        .stderr_has("missing.wasm");
}

#[test]
fn validate_rejects_proposals_beyond_webassembly_2_0() {
    let dir = tempdir();
    for (name, wat) in [
        ("simd", "(module (func (result v128) v128.const i64x2 0 0))"),
        ("tail_call", "(module (func $f return_call $f))"),
        (
            "threads",
            "(module (memory 1 1 shared) (func (result i32) i32.const 0 i32.atomic.load))",
        ),
        ("multi_memory", "(module (memory 1) (memory 1))"),
        ("memory64", "(module (memory i64 1))"),
        ("exceptions", "(module (tag $e) (func (throw $e)))"),
        (
            "extended_const",
            "(module (global i32 (i32.add (i32.const 1) (i32.const 2))))",
        ),
    ] {
        let file = write_file(&dir, &format!("{name}.wat"), wat);
        tierwasm(["validate".as_ref(), file.as_os_str()])
            .code(EXIT_ERROR)
            .one_line_error();
    }
}

#[test]
fn inspect_lists_imports_exports_and_sections() {
    tierwasm(["inspect".as_ref(), program("hello").as_os_str()])
        .code(0)
        .stdout_has("wasi_snapshot_preview1")
        .stdout_has("fd_write")
        .stdout_has("_start")
        .stdout_has("memory")
        .stderr("");
    tierwasm(["inspect".as_ref(), program("reactor").as_os_str()])
        .code(0)
        .stdout_has("_initialize")
        .stdout_has("add")
        .stdout_has("hypot2");
    let dir = tempdir();
    let garbage = write_file(&dir, "garbage.wasm", b"not wasm");
    tierwasm(["inspect".as_ref(), garbage.as_os_str()])
        .code(EXIT_ERROR)
        .one_line_error();
}

#[test]
fn wast_reports_passed_and_failed() {
    let dir = tempdir();
    let good = write_file(
        &dir,
        "good.wast",
        r#"(module (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add))
           (assert_return (invoke "add" (i32.const 1) (i32.const 2)) (i32.const 3))
           (assert_return (invoke "add" (i32.const -1) (i32.const 1)) (i32.const 0))
           (assert_trap (module (func $f unreachable) (start $f)) "unreachable")
           (assert_invalid (module (func (result i32) i64.const 0)) "type mismatch")"#,
    );
    tierwasm(["wast".as_ref(), good.as_os_str()])
        .code(0)
        .stdout_has("4 passed, 0 failed\n")
        .stderr("");

    let bad = write_file(
        &dir,
        "bad.wast",
        r#"(module (func (export "one") (result i32) i32.const 1))
           (assert_return (invoke "one") (i32.const 1))
           (assert_return (invoke "one") (i32.const 2))
           (assert_return (invoke "one") (i32.const 1))"#,
    );
    tierwasm(["wast".as_ref(), bad.as_os_str()])
        .code(EXIT_ERROR)
        .stdout_has("2 passed, 1 failed\n");
    // Several files add up.
    tierwasm(["wast".as_ref(), good.as_os_str(), bad.as_os_str()])
        .code(EXIT_ERROR)
        .stdout_has("6 passed, 1 failed\n");
}

#[cfg(feature = "jit")]
#[test]
fn tiered_runs_write_a_tier_log_and_summarise_the_tiers() {
    let dir = tempdir();
    let log = dir.path().join("tiers.jsonl");
    let fib = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/workloads/fib.wat");
    // fib(27) makes 300 000 calls, far past fib's tier-up threshold: it is queued on the
    // main thread whatever the compile thread does meanwhile.
    tierwasm([
        "run".as_ref(),
        "--strategy".as_ref(),
        "tiered".as_ref(),
        "--timings".as_ref(),
        "--tier-log".as_ref(),
        log.as_os_str(),
        "--invoke".as_ref(),
        "fib".as_ref(),
        fib.as_os_str(),
        "27".as_ref(),
    ])
    .code(0)
    .stdout("196418\n")
    .stderr_has("tiers: 1 functions ran in the interpreter")
    .stderr_has("hottest in the interpreter: fib (func 0) ");
    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].starts_with("{\"t_us\": ") && lines[0].contains("\"event\": \"translated\""),
        "{text}"
    );
    assert!(lines[0].contains("\"func\": 0, \"name\": \"fib\", \"thread\": \"main\""));
    assert!(lines[0].contains("\"duration_us\": "), "{text}");
    assert!(lines[1].contains("\"event\": \"queued\""), "{text}");
    assert!(
        lines
            .iter()
            .all(|line| line.starts_with('{') && line.ends_with('}'))
    );

    // A log that cannot be written is an error, after the run.
    tierwasm([
        "run".as_ref(),
        "--tier-log".as_ref(),
        dir.path().join("no/such/dir/log").as_os_str(),
        "--invoke".as_ref(),
        "fib".as_ref(),
        fib.as_os_str(),
        "5".as_ref(),
    ])
    .code(1)
    .stdout("5\n")
    .error()
    .stderr_has("cannot write the tier log");
}
