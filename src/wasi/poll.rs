//! `poll_oneoff`: waiting for clocks and descriptors.
//!
//! Every descriptor counts as ready: regular files always are (as the spec says), writes to
//! stdout and stderr never wait for long, and stdin is reported ready even when a read
//! would block. So a call blocks only when it subscribes to clocks alone: it sleeps until
//! the earliest deadline and reports every clock that has expired by then.

use std::time::Duration;

use crate::wasi::abi::{
    EVENT_SIZE, Event, SUBSCRIPTION_SIZE, Subscription, SubscriptionKind, clockid, eventtype,
    rights,
};
use crate::wasi::ctx::WasiCtx;
use crate::wasi::errno::Errno;
use crate::wasi::memory::GuestMemory;
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
            SubscriptionKind::Fd { fd, write } => ready.push(fd_event(ctx, userdata, fd, write)),
            SubscriptionKind::Invalid => return Err(Errno::Inval),
        }
    }
    let waited = match timers.iter().map(|(wait, _)| *wait).min() {
        Some(earliest) if ready.is_empty() => {
            std::thread::sleep(earliest);
            earliest
        }
        _ => Duration::ZERO,
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
