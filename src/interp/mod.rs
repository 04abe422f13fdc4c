//! The baseline tier: a register-based interpreter. Functions are translated on their first
//! call ([`translate`]) and the code is cached in the module's code slot, shared by every
//! instance in every store.

mod exec;
mod ir;
mod translate;

use std::time::Instant;

pub(crate) use exec::{Op, Stack, invoke};
#[cfg(feature = "jit")]
pub(crate) use exec::{call_host, invoke_from_native};
pub(crate) use ir::CompiledFunc;
#[cfg(feature = "jit")]
pub(crate) use ir::{OsrAt, OsrExit, OsrPoint, OsrValue};

use crate::module::ModuleInner;
use crate::tier_log::TierEventKind;

/// The interpreter code of defined function `func`, translated now if this is its first use
/// in any instance of the module; the engine's statistics count each translation.
pub(crate) fn compiled(module: &ModuleInner, func: u32) -> &CompiledFunc {
    let slot = module.code_slot(func);
    let code = slot.translated.get_or_init(|| {
        let start = Instant::now();
        let code = translate::translate(module, func);
        let elapsed = start.elapsed();
        module
            .engine
            .record_translation(elapsed, slot.body.len(), code.size_in_bytes());
        module.record_tier_event(func, TierEventKind::Translated, Some(elapsed));
        code
    });
    #[cfg(feature = "jit")]
    {
        // Native code published meanwhile wins: either its publisher finds this code (see
        // `jit::native_code`), or this finds the native code.
        std::sync::atomic::fence(std::sync::atomic::Ordering::SeqCst);
        if slot.native.is_published()
            && module.engine.config().strategy != crate::Strategy::Interpreter
        {
            code.forbid_quick_calls();
        }
    }
    code
}
