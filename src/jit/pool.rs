//! The engine's compile pool: worker threads that compile functions to native code.
//!
//! An [`Engine`](crate::Engine) owns one [`CompilePool`]. Its workers start on the first job,
//! or under `Strategy::Tiered` with the engine's first module (an engine that never compiles
//! starts no thread; a thread that starts while the process is busy can take milliseconds to
//! be scheduled, which a tier-up should not wait for) and take [`Job`]s from one
//! `crossbeam-channel` queue; each worker keeps its own Cranelift compiler, with its reusable
//! contexts, from one function to the next (`COMPILER`, a thread-local of [`super`]).
//!
//! A job compiles functions of one module, each claimed from a [`FuncQueue`] by the first
//! thread to get there: [`CompilePool::compile_all`] queues one job per worker it wants to
//! help on a queue of every defined function, and the calling thread claims functions from
//! the same queue until none is left, then waits for the ones still being compiled.
//!
//! A job holds its module weakly, and a worker holds the module only from claiming a
//! function to marking it finished: a job left in the queue after its functions are done
//! keeps neither the module nor the engine alive, and no worker holds the module any more
//! when `compile_all` returns, so the engine is dropped by its embedder's threads, not by a
//! worker. Dropping the pool disconnects the queue and joins every worker: each runs what is
//! left in the queue (jobs whose functions are done or whose module is gone, so each ends at
//! once) and returns.

use std::ops::Range;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock, PoisonError, Weak};
use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, Sender};

use super::placement::Placement;
use super::{native_code, queued_osr_entry};
use crate::module::ModuleInner;

/// The engine's worker threads, started on the first job.
pub(crate) struct CompilePool {
    /// How many workers to start.
    threads: usize,
    /// The running workers, once started.
    workers: OnceLock<Workers>,
}

/// The started workers and the sending end of their queue.
struct Workers {
    /// The queue; dropping it disconnects the workers.
    jobs: Sender<Job>,
    /// Which CPUs the workers may run on.
    placement: Arc<Placement>,
    /// One per worker that could be spawned.
    handles: Vec<JoinHandle<()>>,
}

/// Compile code of `module`, unless it is dropped by then.
struct Job {
    module: Weak<ModuleInner>,
    work: Work,
}

enum Work {
    /// The functions this job claims from the queue (one function: a queue of one).
    Funcs(Arc<FuncQueue>),
    /// The OSR entry of function `func` (module index space) at OSR point `point`.
    Osr { func: u32, point: usize },
}

impl Job {
    fn run(self) {
        match self.work {
            Work::Funcs(funcs) => funcs.compile(&self.module),
            Work::Osr { func, point } => {
                if let Some(module) = self.module.upgrade() {
                    queued_osr_entry(&module, func, point);
                }
            }
        }
    }
}

/// Functions of one module to compile, each claimed by the first thread to reach it, and how
/// many are not finished yet, for a thread that waits for all of them.
struct FuncQueue {
    /// The next function to claim (module index space); `end` or more once all are claimed.
    next: AtomicUsize,
    /// One past the last function.
    end: usize,
    /// Functions not finished yet, claimed or not.
    unfinished: Mutex<usize>,
    /// Notified when `unfinished` reaches 0.
    all_finished: Condvar,
    /// Functions the compiler refused.
    refused: AtomicUsize,
}

impl FuncQueue {
    /// A queue of the defined functions `funcs` (module index space).
    fn new(funcs: Range<usize>) -> FuncQueue {
        FuncQueue {
            next: AtomicUsize::new(funcs.start),
            end: funcs.end,
            unfinished: Mutex::new(funcs.len()),
            all_finished: Condvar::new(),
            refused: AtomicUsize::new(0),
        }
    }

    /// Claims and compiles functions of `module` until none is left to claim; skips them
    /// once the module is dropped.
    fn compile(&self, module: &Weak<ModuleInner>) {
        loop {
            let func = self.next.fetch_add(1, Ordering::Relaxed);
            if func >= self.end {
                return;
            }
            // Counted as finished even when compiling panics, so that no waiter hangs; and
            // only after the module is released (locals drop in reverse order), so that no
            // worker holds it any more once the waiter returns.
            let _finished = Finished(self);
            let Some(module) = module.upgrade() else {
                continue;
            };
            // The validator bounds the number of functions far below `u32::MAX`.
            if native_code(&module, func as u32).is_none() {
                self.refused.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Blocks until every function of the queue is finished.
    fn wait(&self) {
        let mut unfinished = self
            .unfinished
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        while *unfinished > 0 {
            unfinished = self
                .all_finished
                .wait(unfinished)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }
}

/// Marks one claimed function of a queue finished when dropped.
struct Finished<'queue>(&'queue FuncQueue);

impl Drop for Finished<'_> {
    fn drop(&mut self) {
        let mut unfinished = self
            .0
            .unfinished
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        *unfinished -= 1;
        if *unfinished == 0 {
            self.0.all_finished.notify_all();
        }
    }
}

impl CompilePool {
    /// A pool of `threads` workers, none started yet.
    pub(crate) fn new(threads: usize) -> CompilePool {
        CompilePool {
            threads,
            workers: OnceLock::new(),
        }
    }

    /// Compiles every defined function of `module` that has not been compiled yet, on this
    /// thread and on up to one worker per function past the first; returns when all are
    /// compiled, with how many the compiler refused.
    pub(crate) fn compile_all(&self, module: &Arc<ModuleInner>) -> usize {
        let defined = module.num_imported_funcs..module.funcs.len();
        let helpers = self.threads.min(defined.len().saturating_sub(1));
        let funcs = Arc::new(FuncQueue::new(defined));
        let weak = Arc::downgrade(module);
        for _ in 0..helpers {
            self.submit(Job {
                module: Weak::clone(&weak),
                work: Work::Funcs(Arc::clone(&funcs)),
            });
        }
        funcs.compile(&weak);
        funcs.wait();
        funcs.refused.load(Ordering::Relaxed)
    }

    /// Queues defined function `func` (module index space) of `module` for a worker, which
    /// compiles it unless the module is gone by then; `false` when the pool has no workers
    /// or none could be started (the caller compiles it itself).
    pub(crate) fn queue(&self, module: &Arc<ModuleInner>, func: u32) -> bool {
        if self.threads == 0 {
            return false;
        }
        let func = func as usize;
        self.submit(Job {
            module: Arc::downgrade(module),
            work: Work::Funcs(Arc::new(FuncQueue::new(func..func + 1))),
        })
    }

    /// Queues the OSR entry of defined function `func` of `module` at OSR point `point` for
    /// a worker; `false` as for [`CompilePool::queue`].
    pub(crate) fn queue_osr(&self, module: &Arc<ModuleInner>, func: u32, point: usize) -> bool {
        if self.threads == 0 {
            return false;
        }
        self.submit(Job {
            module: Arc::downgrade(module),
            work: Work::Osr { func, point },
        })
    }

    /// Starts the workers if they have not started yet. Each makes its compiler first, so a
    /// started pool takes its first job without delay.
    pub(crate) fn start(&self) {
        if self.threads > 0 {
            self.workers.get_or_init(|| Workers::start(self.threads));
        }
    }

    /// Queues `job` for the workers, starting them if they have not started yet; `false` when
    /// no worker can take it (none could be spawned), and the job is dropped: the work it
    /// would have done or helped with is the queueing thread's.
    fn submit(&self, job: Job) -> bool {
        let workers = self.workers.get_or_init(|| Workers::start(self.threads));
        workers.placement.avoid_current_cpu();
        // Sending fails only when no worker could be spawned: a worker returns only once
        // the queue is disconnected, which it never is while the pool is borrowed.
        workers.jobs.send(job).is_ok()
    }
}

impl Workers {
    /// Spawns `threads` workers on a new queue; fewer when the system refuses threads.
    fn start(threads: usize) -> Workers {
        let (sender, receiver) = crossbeam_channel::unbounded();
        let placement = Arc::new(Placement::new(threads));
        let handles = (0..threads)
            .map_while(|index| {
                let receiver = receiver.clone();
                let placement = Arc::clone(&placement);
                std::thread::Builder::new()
                    .name(format!("tierwasm-compile-{index}"))
                    .spawn(move || {
                        placement.register(index);
                        work(&receiver);
                    })
                    .ok()
            })
            .collect();
        Workers {
            jobs: sender,
            placement,
            handles,
        }
    }
}

/// A worker's loop: runs jobs until the queue is disconnected and empty.
fn work(jobs: &Receiver<Job>) {
    lower_priority();
    super::make_compiler();
    for job in jobs {
        // Compiling catches Cranelift's panics itself; this keeps the worker alive whatever
        // else a job (or dropping the last reference to its module) does.
        let _ = catch_unwind(AssertUnwindSafe(|| job.run()));
    }
}

/// Makes the calling compile thread yield to the threads that run Wasm (nice 10 on Linux):
/// where it shares a CPU with them (every CPU runs Wasm, or the queueing thread moved onto
/// its CPU, see [`Placement`]), it gets a small share of it. Elsewhere it keeps the default
/// priority (a process-wide call on other systems would lower every thread's).
fn lower_priority() {
    #[cfg(target_os = "linux")]
    {
        // Best effort: a thread that may not change its priority compiles at the default.
        let _ = rustix::process::setpriority_process(Some(rustix::thread::gettid()), 10);
    }
}

impl Drop for CompilePool {
    fn drop(&mut self) {
        let Some(Workers { jobs, handles, .. }) = self.workers.take() else {
            return;
        };
        drop(jobs);
        // A worker drops the engine only if an embedder's thread stopped waiting for its
        // functions (it panicked) and then dropped the module: it cannot join itself, and
        // returns on its own once back in its loop.
        let current = std::thread::current().id();
        for handle in handles {
            if handle.thread().id() != current {
                // A worker's panics are caught in its loop, so joining does not fail.
                let _ = handle.join();
            }
        }
    }
}
