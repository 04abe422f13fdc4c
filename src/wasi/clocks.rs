//! The guest's view of time and randomness: `clock_res_get`, `clock_time_get` and
//! `random_get`.

use std::time::Duration;

use cap_rand::TryRngCore;
use cap_rand::rngs::OsRng;
use cap_std::ambient_authority;
use cap_std::time::{Instant, MonotonicClock, SystemClock};
use cap_time_ext::{MonotonicClockExt, SystemClockExt};

use crate::wasi::abi::clockid;
use crate::wasi::ctx::WasiCtx;
use crate::wasi::errno::Errno;
use crate::wasi::memory::GuestMemory;
use crate::wasi::sys;

/// The clocks of one context. The monotonic clock counts from the context's creation, so it
/// tells the guest nothing about the host's uptime.
pub(crate) struct Clocks {
    system: SystemClock,
    monotonic: MonotonicClock,
    epoch: Instant,
}

impl Clocks {
    /// The clocks, with the monotonic one starting now.
    pub fn new() -> Self {
        let monotonic = MonotonicClock::new(ambient_authority());
        Clocks {
            system: SystemClock::new(ambient_authority()),
            epoch: monotonic.now(),
            monotonic,
        }
    }

    /// The time of clock `id`, in nanoseconds: `EINVAL` for an unknown clock.
    pub fn now(&self, id: u32) -> Result<u64, Errno> {
        match id {
            clockid::REALTIME => {
                let since_epoch = self
                    .system
                    .now()
                    .duration_since(SystemClock::UNIX_EPOCH)
                    .unwrap_or(Duration::ZERO);
                Ok(nanos(since_epoch))
            }
            clockid::MONOTONIC => Ok(nanos(self.monotonic.now().duration_since(self.epoch))),
            clockid::PROCESS_CPUTIME => sys::cpu_time(false),
            clockid::THREAD_CPUTIME => sys::cpu_time(true),
            _ => Err(Errno::Inval),
        }
    }

    fn resolution(&self, id: u32) -> Result<u64, Errno> {
        match id {
            clockid::REALTIME => Ok(nanos(self.system.resolution())),
            clockid::MONOTONIC => Ok(nanos(self.monotonic.resolution())),
            clockid::PROCESS_CPUTIME => sys::cpu_time_resolution(false),
            clockid::THREAD_CPUTIME => sys::cpu_time_resolution(true),
            _ => Err(Errno::Inval),
        }
    }
}

/// A duration in nanoseconds, saturating (at some 584 years).
pub(crate) fn nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

/// `clock_res_get`: the resolution of a clock, in nanoseconds.
pub(crate) fn clock_res_get(
    ctx: &mut WasiCtx,
    mut mem: GuestMemory<'_>,
    id: u32,
    resolution: u32,
) -> Result<(), Errno> {
    let value = ctx.clocks.resolution(id)?;
    mem.write_u64(resolution, value)
}

/// The requested precision is a hint this implementation has no use for.
pub(crate) fn clock_time_get(
    ctx: &mut WasiCtx,
    mut mem: GuestMemory<'_>,
    id: u32,
    _precision: u64,
    time: u32,
) -> Result<(), Errno> {
    let value = ctx.clocks.now(id)?;
    mem.write_u64(time, value)
}

/// Fills the buffer from the operating system's cryptographically secure generator.
pub(crate) fn random_get(mut mem: GuestMemory<'_>, buf: u32, len: u32) -> Result<(), Errno> {
    let buf = mem.slice_mut(buf, len)?;
    OsRng::default(ambient_authority())
        .try_fill_bytes(buf)
        .map_err(|_| Errno::Io)
}
