//! WASI preview 1 (`wasi_snapshot_preview1`) host functions, added to a [`Linker`](crate::Linker)
//! with `add_to_linker`.
