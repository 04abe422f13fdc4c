//! Phases 2 to 6 of the lifecycle (link, allocate, initialise, start, exports) and the host
//! API over a store's contents.

pub mod func;
pub mod global;
pub mod instance;
pub mod linker;
pub mod memory;
pub mod store;
pub mod table;
pub mod values;
pub(crate) mod vmctx;
