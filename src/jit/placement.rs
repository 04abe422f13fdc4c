//! Keeps the compile pool's workers off the CPU of the thread that waits for their code.
//!
//! A thread that queues a tier-up goes on interpreting while a worker compiles. Woken by
//! that thread, a sleeping worker is often placed on the waker's own CPU, even with another
//! CPU idle: on the project's 2-vCPU KVM machines (Linux 6.18, EEVDF) it then waited for the
//! waker's next tick (up to 4 ms at 250 Hz) and, once running, held the CPU for a whole
//! time slice (1–3.5 ms, its nice 10 notwithstanding) while the interpreting thread waited,
//! which doubled a 4 ms run of `quicksort` in one run of three. So each time a job is queued
//! from another CPU than the last one, every worker's affinity becomes the CPUs the pool
//! started with but the queueing thread's: the scheduler must wake the worker elsewhere,
//! and moves the unpinned interpreting thread away if both meet later. With a single CPU
//! allowed, or off Linux, nothing is changed.

#[cfg(target_os = "linux")]
mod linux {
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use rustix::thread::{CpuSet, Pid};

    /// No CPU excluded yet.
    const NONE: usize = usize::MAX;

    /// The workers' threads and the CPU they are kept off.
    pub(crate) struct Placement {
        /// The CPUs the thread that started the pool may run on; `None` when that is one
        /// CPU or cannot be read, and workers are left where the scheduler puts them.
        allowed: Option<CpuSet>,
        /// Each worker's thread id, set by the worker when it starts.
        workers: Box<[OnceLock<Pid>]>,
        /// The CPU the workers are kept off, or [`NONE`].
        excluded: AtomicUsize,
    }

    impl Placement {
        /// The placement of `workers` workers, read on the thread that starts them.
        pub(crate) fn new(workers: usize) -> Placement {
            let allowed = rustix::thread::sched_getaffinity(None)
                .ok()
                .filter(|set| set.count() > 1);
            Placement {
                allowed,
                workers: (0..workers).map(|_| OnceLock::new()).collect(),
                excluded: AtomicUsize::new(NONE),
            }
        }

        /// Called by worker `index` when it starts: records its thread and keeps it off the
        /// CPU excluded so far.
        pub(crate) fn register(&self, index: usize) {
            let tid = rustix::thread::gettid();
            if self.workers[index].set(tid).is_ok() {
                self.apply(tid, self.excluded.load(Ordering::SeqCst));
            }
        }

        /// Called by a thread that queues a job: keeps the workers off its CPU.
        pub(crate) fn avoid_current_cpu(&self) {
            if self.allowed.is_none() {
                return;
            }
            let cpu = rustix::thread::sched_getcpu();
            if self.excluded.swap(cpu, Ordering::SeqCst) == cpu {
                return;
            }
            for tid in self.workers.iter().filter_map(OnceLock::get) {
                self.apply(*tid, cpu);
            }
        }

        /// Lets thread `tid` run on every allowed CPU but `excluded`.
        fn apply(&self, tid: Pid, excluded: usize) {
            let Some(allowed) = &self.allowed else {
                return;
            };
            let mut set = *allowed;
            if excluded < CpuSet::MAX_CPU && set.is_set(excluded) {
                set.unset(excluded);
            }
            // Best effort: a worker that may not be moved runs where the scheduler puts it,
            // and a worker that has returned has nothing left to place.
            let _ = rustix::thread::sched_setaffinity(Some(tid), &set);
        }
    }

    #[cfg(test)]
    mod tests {
        use std::sync::atomic::Ordering;
        use std::sync::mpsc;

        use super::Placement;

        /// The CPUs a thread may run on, as a list.
        fn own_cpus() -> Vec<usize> {
            let set = rustix::thread::sched_getaffinity(None).expect("reading the affinity");
            (0..rustix::thread::CpuSet::MAX_CPU)
                .filter(|&cpu| set.is_set(cpu))
                .collect()
        }

        #[test]
        fn workers_are_kept_off_the_cpu_of_the_thread_that_queues_whenever_they_start() {
            let placement = Placement::new(2);
            let Some(allowed) = placement.allowed else {
                eprintln!("one CPU allowed: there is nowhere else to place a worker");
                return;
            };
            let placement = &placement;
            std::thread::scope(|scope| {
                let (started, wait_started) = mpsc::channel();
                let (go, wait_go) = mpsc::channel::<()>();
                let (report, reports) = mpsc::channel();
                let early = scope.spawn(move || {
                    placement.register(0);
                    started.send(()).unwrap();
                    wait_go.recv().unwrap();
                    report.send(own_cpus()).unwrap();
                });
                wait_started.recv().unwrap();
                placement.avoid_current_cpu();
                let excluded = placement.excluded.load(Ordering::SeqCst);
                go.send(()).unwrap();
                let late = scope.spawn(move || {
                    placement.register(1);
                    own_cpus()
                });
                let expected: Vec<usize> = (0..rustix::thread::CpuSet::MAX_CPU)
                    .filter(|&cpu| allowed.is_set(cpu) && cpu != excluded)
                    .collect();
                early.join().unwrap();
                assert_eq!(
                    reports.recv().unwrap(),
                    expected,
                    "registered before, excluded {excluded}"
                );
                assert_eq!(
                    late.join().unwrap(),
                    expected,
                    "registered after, excluded {excluded}"
                );
            });
        }
    }
}

#[cfg(target_os = "linux")]
pub(crate) use linux::Placement;

/// Off Linux the scheduler places the workers.
#[cfg(not(target_os = "linux"))]
pub(crate) struct Placement;

#[cfg(not(target_os = "linux"))]
impl Placement {
    /// Nothing to record.
    pub(crate) fn new(_workers: usize) -> Placement {
        Placement
    }

    /// Nothing to record.
    pub(crate) fn register(&self, _index: usize) {}

    /// Nothing to change.
    pub(crate) fn avoid_current_cpu(&self) {}
}
