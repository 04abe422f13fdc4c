//! The baseline tier: a register-based interpreter. Functions are translated on their first
//! call ([`translate`]) and the code is cached in the module's code slot, shared by every
//! instance in every store.

mod exec;
mod ir;
mod translate;

pub(crate) use exec::{Stack, invoke};
pub(crate) use ir::CompiledFunc;
