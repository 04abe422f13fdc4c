//! `poll_oneoff`: waiting for clocks and descriptors.
//!
//! Regular files are always ready (as the spec says), and so are writes to stdout and stderr
//! and an embedder's stdin reader. Reading the host's stdin is ready only when a read would
//! not block: a call that has nothing else ready waits for stdin and for the earliest clock,
//! whichever comes first, and reports every clock that has expired by then.

use std::time::{Duration, Instant};

use crate::wasi::abi::{
    EVENT_SIZE, Event, SUBSCRIPTION_SIZE, Subscription, SubscriptionKind, clockid, eventtype,
    rights,
};
use crate::wasi::ctx::WasiCtx;
use crate::wasi::errno::Errno;
use crate::wasi::memory::GuestMemory;
use crate::wasi::sys;
use crate::wasi::table::Kind;

/// `poll_oneoff`: waits for the first of `count` subscriptions, and writes an event for each
/// that is ready. No subscriptions, or one of an unknown type, is `EINVAL`.
pub(crate) fn poll_oneoff(
    ctx: &mut WasiCtx,
    mut mem: GuestMemory<'_>,
    subscriptions: u32,
    events: u32,
    count: u32,
    nevents: u32,
) -> Result<(), Errno> {
    if count == 0 {
        return Err(Errno::Inval);
    }
    // With both arrays in bounds, no offset into them overflows.
    mem.check(
        subscriptions,
        count.checked_mul(SUBSCRIPTION_SIZE).ok_or(Errno::Fault)?,
    )?;
    mem.check(events, count.checked_mul(EVENT_SIZE).ok_or(Errno::Fault)?)?;
    mem.check(nevents, 4)?;
    let subscriptions = (0..count)
        .map(|index| mem.read(subscriptions + index * SUBSCRIPTION_SIZE))
        .map(|bytes| bytes.map(|bytes| Subscription::decode(&bytes)))
        .collect::<Result<Vec<_>, _>>()?;

    let mut ready = Vec::new();
    let mut timers = Vec::new();
    let mut stdin_readers = Vec::new();
    for subscription in &subscriptions {
        let userdata = subscription.userdata;
        match subscription.kind {
            SubscriptionKind::Clock {
                id,
                timeout,
                absolute,
            } => match time_until(ctx, id, timeout, absolute) {
                Ok(wait) => timers.push((wait, userdata)),
                Err(errno) => ready.push(clock_event(userdata, Some(errno))),
            },
            SubscriptionKind::Fd { fd, write: false } if reads_host_stdin(ctx, fd) => {
                stdin_readers.push(userdata);
            }
            SubscriptionKind::Fd { fd, write } => ready.push(fd_event(ctx, userdata, fd, write)),
            SubscriptionKind::Invalid => return Err(Errno::Inval),
        }
    }
    let earliest = timers.iter().map(|(wait, _)| *wait).min();
    let limit = if ready.is_empty() {
        earliest
    } else {
        Some(Duration::ZERO)
    };
    let start = Instant::now();
    let stdin_ready = !stdin_readers.is_empty() && sys::wait_for_stdin(limit);
    if stdin_ready {
        ready.extend(stdin_readers.iter().map(|&userdata| Event {
            userdata,
            error: 0,
            eventtype: eventtype::FD_READ,
            nbytes: 0,
        }));
    } else if stdin_readers.is_empty()
        && let Some(limit) = limit
    {
        std::thread::sleep(limit);
    }
    // When nothing else woke the call, the earliest clock did, however the host rounded.
    let waited = match limit {
        Some(limit) if !stdin_ready => start.elapsed().max(limit),
        _ => start.elapsed(),
    };
    ready.extend(
        timers
            .iter()
            .filter(|(wait, _)| *wait <= waited)
            .map(|(_, userdata)| clock_event(*userdata, None)),
    );

    for (index, event) in ready.iter().enumerate() {
        mem.write(events + index as u32 * EVENT_SIZE, &event.encode())?;
    }
    mem.write_u32(nevents, ready.len() as u32)
}

/// Whether `fd` is the host's stdin, open for reading.
fn reads_host_stdin(ctx: &WasiCtx, fd: u32) -> bool {
    ctx.fds.get(fd).is_ok_and(|descriptor| {
        descriptor.require(rights::POLL_FD_READWRITE).is_ok()
            && matches!(&descriptor.kind, Kind::Input(input) if input.is_host_stdin())
    })
}

/// How long until clock `id` reaches `timeout`. Only the real-time and monotonic clocks
/// can be waited on; the CPU-time clocks and unknown ones are `EINVAL`.
fn time_until(ctx: &WasiCtx, id: u32, timeout: u64, absolute: bool) -> Result<Duration, Errno> {
    if id != clockid::REALTIME && id != clockid::MONOTONIC {
        return Err(Errno::Inval);
    }
    let nanos = if absolute {
        timeout.saturating_sub(ctx.clocks.now(id)?)
    } else {
        timeout
    };
    Ok(Duration::from_nanos(nanos))
}

fn clock_event(userdata: u64, error: Option<Errno>) -> Event {
    Event {
        userdata,
        error: error.map_or(0, |errno| errno as u16),
        eventtype: eventtype::CLOCK,
        nbytes: 0,
    }
}

/// The event of a descriptor subscription. A file being read reports the bytes left
/// before its end; anything else reports 0 bytes, meaning "ready".
fn fd_event(ctx: &WasiCtx, userdata: u64, fd: u32, write: bool) -> Event {
    let eventtype = if write {
        eventtype::FD_WRITE
    } else {
        eventtype::FD_READ
    };
    let readiness = ctx.fds.get(fd).and_then(|descriptor| {
        descriptor.require(rights::POLL_FD_READWRITE)?;
        match &descriptor.kind {
            Kind::File(file) if !write => {
                let mut file = file;
                let position = std::io::Seek::stream_position(&mut file)?;
                Ok(file.metadata()?.len().saturating_sub(position))
            }
            _ => Ok(0),
        }
    });
    match readiness {
        Ok(nbytes) => Event {
            userdata,
            error: 0,
            eventtype,
            nbytes,
        },
        Err(errno) => Event {
            userdata,
            error: errno as u16,
            eventtype,
            nbytes: 0,
        },
    }
}
