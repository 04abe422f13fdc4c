//! WASI: arguments and environment, exit, clocks, randomness, `poll_oneoff`, and the
//! functions that answer "not supported".
#![cfg(feature = "wasi")]

mod wasi_common;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tierwasm::ErrorKind;
use tierwasm::wasi::{I32Exit, WasiCtxBuilder};
use wasi_common::*;

const CLOCK_REALTIME: i64 = 0;
const CLOCK_MONOTONIC: i64 = 1;
const CLOCK_PROCESS_CPUTIME: i64 = 2;
const CLOCK_THREAD_CPUTIME: i64 = 3;

fn guest_with_args() -> Guest {
    Guest::new(
        WasiCtxBuilder::new()
            .args(["prog", "", "héllo wörld"])
            .env("HOME", "/home/guest")
            .env("EMPTY", "")
            .build(),
    )
}

/// Calls a `*_sizes_get` and the matching `*_get`: the strings, NUL terminators checked.
fn strings(guest: &mut Guest, sizes_get: &str, get: &str) -> Vec<String> {
    let (count, size) = (guest.alloc(4), guest.alloc(4));
    assert_eq!(
        guest.call(sizes_get, &[count.into(), size.into()]),
        ESUCCESS
    );
    let (count, size) = (guest.read_u32(count), guest.read_u32(size));
    let pointers = guest.alloc(4 * count);
    let buf = guest.alloc(size);
    assert_eq!(guest.call(get, &[pointers.into(), buf.into()]), ESUCCESS);
    let bytes = guest.read(buf, size);
    if count > 0 {
        assert_eq!(bytes.last(), Some(&0), "the buffer ends with a NUL");
    }
    let strings: Vec<String> = (0..count)
        .map(|i| {
            let start = (guest.read_u32(pointers + 4 * i) - buf) as usize;
            let len = bytes[start..].iter().position(|b| *b == 0).unwrap();
            String::from_utf8(bytes[start..start + len].to_vec()).unwrap()
        })
        .collect();
    let total: usize = strings.iter().map(|s| s.len() + 1).sum();
    assert_eq!(total, size as usize, "the reported size counts each NUL");
    strings
}

#[test]
fn args_and_environ_reach_the_guest() {
    let mut guest = guest_with_args();
    assert_eq!(
        strings(&mut guest, "args_sizes_get", "args_get"),
        ["prog", "", "héllo wörld"]
    );
    assert_eq!(
        strings(&mut guest, "environ_sizes_get", "environ_get"),
        ["HOME=/home/guest", "EMPTY="]
    );
}

#[test]
fn no_args_and_no_environ_by_default() {
    let mut guest = Guest::new(WasiCtxBuilder::new().build());
    assert!(strings(&mut guest, "args_sizes_get", "args_get").is_empty());
    assert!(strings(&mut guest, "environ_sizes_get", "environ_get").is_empty());
}

#[test]
fn args_out_of_bounds_are_efault() {
    let mut guest = guest_with_args();
    let ok = i64::from(guest.alloc(64));
    let end = i64::from(MEMORY_SIZE);
    assert_eq!(guest.call("args_sizes_get", &[end - 2, ok]), EFAULT);
    assert_eq!(guest.call("args_sizes_get", &[ok, -1]), EFAULT);
    // The string buffer runs off the end of memory.
    assert_eq!(guest.call("args_get", &[ok, end - 4]), EFAULT);
    assert_eq!(guest.call("environ_get", &[end, ok]), EFAULT);
}

#[test]
fn proc_exit_surfaces_as_i32_exit() {
    for status in [0, 3, 255] {
        let mut guest = Guest::new(WasiCtxBuilder::new().build());
        let err = guest.proc_exit(status);
        assert_eq!(err.kind(), ErrorKind::Host);
        assert_eq!(err.downcast_ref::<I32Exit>(), Some(&I32Exit(status)));
    }
}

#[test]
fn monotonic_clock_never_goes_back() {
    let mut guest = Guest::new(WasiCtxBuilder::new().build());
    let out = guest.alloc(8);
    let mut last = 0;
    for _ in 0..1000 {
        assert_eq!(
            guest.call("clock_time_get", &[CLOCK_MONOTONIC, 1, out.into()]),
            ESUCCESS
        );
        let now = guest.read_u64(out);
        assert!(now >= last, "monotonic time went from {last} to {now}");
        last = now;
    }
    std::thread::sleep(Duration::from_millis(20));
    guest.call("clock_time_get", &[CLOCK_MONOTONIC, 1, out.into()]);
    assert!(guest.read_u64(out) >= last + 20_000_000, "20 ms passed");
}

#[test]
fn realtime_clock_is_the_time_since_the_epoch() {
    let mut guest = Guest::new(WasiCtxBuilder::new().build());
    let out = guest.alloc(8);
    let before = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    assert_eq!(
        guest.call("clock_time_get", &[CLOCK_REALTIME, 0, out.into()]),
        ESUCCESS
    );
    let after = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    let time = Duration::from_nanos(guest.read_u64(out));
    assert!(
        before <= time && time <= after,
        "{before:?} <= {time:?} <= {after:?}"
    );
}

#[test]
fn cpu_time_clocks_advance_with_work() {
    let mut guest = Guest::new(WasiCtxBuilder::new().build());
    let out = guest.alloc(8);
    for clock in [CLOCK_PROCESS_CPUTIME, CLOCK_THREAD_CPUTIME] {
        assert_eq!(
            guest.call("clock_time_get", &[clock, 0, out.into()]),
            ESUCCESS
        );
        let before = guest.read_u64(out);
        // Spin until the clock shows 10 ms of CPU time: on a loaded machine wall time says
        // little about how much CPU this thread got. A clock that never moves fails at the
        // deadline.
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut spin = 0u64;
        let mut now = before;
        while now < before + 10_000_000 && Instant::now() < deadline {
            for _ in 0..100_000 {
                spin = std::hint::black_box(spin.wrapping_add(1));
            }
            assert_eq!(
                guest.call("clock_time_get", &[clock, 0, out.into()]),
                ESUCCESS
            );
            now = guest.read_u64(out);
        }
        assert!(
            now >= before + 10_000_000,
            "clock {clock}: 20 s of spinning show less than 10 ms of CPU time"
        );
    }
}

#[test]
fn clock_resolutions_are_positive_and_unknown_clocks_einval() {
    let mut guest = Guest::new(WasiCtxBuilder::new().build());
    let out = guest.alloc(8);
    for clock in [
        CLOCK_REALTIME,
        CLOCK_MONOTONIC,
        CLOCK_PROCESS_CPUTIME,
        CLOCK_THREAD_CPUTIME,
    ] {
        guest.write(out, &[0; 8]);
        assert_eq!(guest.call("clock_res_get", &[clock, out.into()]), ESUCCESS);
        let resolution = guest.read_u64(out);
        assert!(
            (1..=1_000_000_000).contains(&resolution),
            "clock {clock}: {resolution}"
        );
    }
    assert_eq!(guest.call("clock_res_get", &[4, out.into()]), EINVAL);
    assert_eq!(guest.call("clock_time_get", &[99, 0, out.into()]), EINVAL);
    assert_eq!(
        guest.call(
            "clock_time_get",
            &[CLOCK_MONOTONIC, 0, i64::from(MEMORY_SIZE) - 4]
        ),
        EFAULT
    );
}

#[test]
fn random_get_fills_the_buffer() {
    let mut guest = Guest::new(WasiCtxBuilder::new().build());
    let (a, b) = (guest.alloc(256), guest.alloc(256));
    assert_eq!(guest.call("random_get", &[a.into(), 256]), ESUCCESS);
    assert_eq!(guest.call("random_get", &[b.into(), 256]), ESUCCESS);
    let (a, b) = (guest.read(a, 256), guest.read(b, 256));
    assert_ne!(a, b);
    // 256 random bytes take well over 100 distinct values; zeroes would take one.
    for bytes in [a, b] {
        let mut distinct = bytes.clone();
        distinct.sort_unstable();
        distinct.dedup();
        assert!(distinct.len() > 100, "{bytes:?}");
    }
    assert_eq!(guest.call("random_get", &[0, 0]), ESUCCESS);
    assert_eq!(
        guest.call("random_get", &[i64::from(MEMORY_SIZE) - 8, 9]),
        EFAULT
    );
}

/// Writes `subscriptions` (48 bytes each) and calls `poll_oneoff`: the errno and the events
/// as (userdata, error, type, nbytes).
fn poll(guest: &mut Guest, subscriptions: &[[u8; 48]]) -> (i32, Vec<(u64, u16, u8, u64)>) {
    let count = subscriptions.len() as u32;
    let input = guest.alloc(48 * count.max(1));
    for (i, subscription) in subscriptions.iter().enumerate() {
        guest.write(input + 48 * i as u32, subscription);
    }
    let events = guest.alloc(32 * count.max(1));
    let nevents = guest.alloc(4);
    let errno = guest.call(
        "poll_oneoff",
        &[input.into(), events.into(), count.into(), nevents.into()],
    );
    let events = (0..guest.read_u32(nevents))
        .map(|i| {
            let event = events + 32 * i;
            (
                guest.read_u64(event),
                guest.read_u16(event + 8),
                guest.read_u8(event + 10),
                guest.read_u64(event + 16),
            )
        })
        .collect();
    (errno, events)
}

fn clock_subscription(userdata: u64, clock: u32, timeout: u64, absolute: bool) -> [u8; 48] {
    let mut bytes = [0; 48];
    bytes[0..8].copy_from_slice(&userdata.to_le_bytes());
    bytes[8] = 0; // eventtype::clock
    bytes[16..20].copy_from_slice(&clock.to_le_bytes());
    bytes[24..32].copy_from_slice(&timeout.to_le_bytes());
    bytes[40..42].copy_from_slice(&u16::from(absolute).to_le_bytes());
    bytes
}

fn fd_subscription(userdata: u64, fd: u32, write: bool) -> [u8; 48] {
    let mut bytes = [0; 48];
    bytes[0..8].copy_from_slice(&userdata.to_le_bytes());
    bytes[8] = if write { 2 } else { 1 };
    bytes[16..20].copy_from_slice(&fd.to_le_bytes());
    bytes
}

#[test]
fn poll_oneoff_sleeps_for_a_relative_timeout() {
    let mut guest = Guest::new(WasiCtxBuilder::new().build());
    let start = Instant::now();
    let (errno, events) = poll(
        &mut guest,
        &[
            clock_subscription(7, CLOCK_MONOTONIC as u32, 30_000_000, false),
            clock_subscription(8, CLOCK_REALTIME as u32, 10_000_000_000, false),
        ],
    );
    assert_eq!(errno, ESUCCESS);
    assert!(start.elapsed() >= Duration::from_millis(30));
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "only the first timer fires"
    );
    assert_eq!(events, [(7, 0, 0, 0)]);
}

#[test]
fn poll_oneoff_with_absolute_deadlines() {
    let mut guest = Guest::new(WasiCtxBuilder::new().build());
    let out = guest.alloc(8);
    guest.call("clock_time_get", &[CLOCK_MONOTONIC, 0, out.into()]);
    let now = guest.read_u64(out);
    let start = Instant::now();
    let (errno, events) = poll(
        &mut guest,
        &[clock_subscription(
            1,
            CLOCK_MONOTONIC as u32,
            now + 25_000_000,
            true,
        )],
    );
    assert_eq!((errno, events), (ESUCCESS, vec![(1, 0, 0, 0)]));
    assert!(start.elapsed() >= Duration::from_millis(20));

    // A deadline in the past, on the real-time clock: at once.
    let start = Instant::now();
    let (errno, events) = poll(
        &mut guest,
        &[clock_subscription(2, CLOCK_REALTIME as u32, 1, true)],
    );
    assert_eq!((errno, events), (ESUCCESS, vec![(2, 0, 0, 0)]));
    assert!(start.elapsed() < Duration::from_secs(1));
}

#[test]
fn poll_oneoff_reports_ready_descriptors_without_waiting() {
    let mut guest = Guest::new(
        WasiCtxBuilder::new()
            .stdin(std::io::Cursor::new(b"input".to_vec()))
            .build(),
    );
    let start = Instant::now();
    let (errno, events) = poll(
        &mut guest,
        &[
            fd_subscription(10, 0, false),
            fd_subscription(11, 1, true),
            clock_subscription(12, CLOCK_MONOTONIC as u32, 60_000_000_000, false),
            fd_subscription(13, 42, false),
        ],
    );
    assert_eq!(errno, ESUCCESS);
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "did not wait for the timer"
    );
    assert_eq!(
        events,
        [(10, 0, 1, 0), (11, 0, 2, 0), (13, EBADF as u16, 1, 0)]
    );
}

#[test]
fn poll_oneoff_rejects_bad_input() {
    let mut guest = Guest::new(WasiCtxBuilder::new().build());
    assert_eq!(poll(&mut guest, &[]).0, EINVAL);
    let mut bad_tag = clock_subscription(1, 1, 0, false);
    bad_tag[8] = 3;
    assert_eq!(poll(&mut guest, &[bad_tag]).0, EINVAL);
    // An unknown clock, and a CPU-time clock, fail their own event only.
    let (errno, events) = poll(
        &mut guest,
        &[
            clock_subscription(5, 9, 0, false),
            clock_subscription(6, CLOCK_PROCESS_CPUTIME as u32, 0, false),
        ],
    );
    assert_eq!(errno, ESUCCESS);
    assert_eq!(events, [(5, EINVAL as u16, 0, 0), (6, EINVAL as u16, 0, 0)]);
    let end = i64::from(MEMORY_SIZE);
    let nevents = i64::from(guest.alloc(4));
    assert_eq!(
        guest.call("poll_oneoff", &[end - 47, 0, 1, nevents]),
        EFAULT
    );
    assert_eq!(
        guest.call("poll_oneoff", &[0, end - 31, 1, nevents]),
        EFAULT
    );
    assert_eq!(guest.call("poll_oneoff", &[0, 0, 1, end]), EFAULT);
}

#[test]
fn sched_yield_proc_raise_and_sockets() {
    let mut guest = Guest::new(WasiCtxBuilder::new().build());
    assert_eq!(guest.call("sched_yield", &[]), ESUCCESS);
    assert_eq!(guest.call("proc_raise", &[0]), ESUCCESS);
    assert_eq!(guest.call("proc_raise", &[6]), ENOSYS);
    assert_eq!(guest.call("proc_raise", &[31]), EINVAL);
    let out = i64::from(guest.alloc(8));
    assert_eq!(guest.call("sock_accept", &[1, 0, out]), ENOTSUP);
    assert_eq!(guest.call("sock_recv", &[0, out, 0, 0, out, out]), ENOTSUP);
    assert_eq!(guest.call("sock_send", &[1, out, 0, 0, out]), ENOTSUP);
    assert_eq!(guest.call("sock_shutdown", &[2, 2]), ENOTSUP);
    assert_eq!(guest.call("sock_shutdown", &[9, 2]), EBADF);
    assert_eq!(guest.call("sock_accept", &[9, 0, out]), EBADF);
}
