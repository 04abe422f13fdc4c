//! Helpers shared by the integration tests. Each test crate uses a subset.
#![allow(dead_code)]

use tierwasm::{Engine, Error, ErrorKind, Instance, Module, Result, Store};

/// Returns the error of `result`, asserting that it is one of `kind`.
#[track_caller]
pub fn expect_err<T>(result: Result<T>, kind: ErrorKind) -> Error {
    match result {
        Ok(_) => panic!("expected a {kind:?} error, got Ok"),
        Err(err) => {
            assert_eq!(err.kind(), kind, "unexpected error kind for: {err:#}");
            err
        }
    }
}

/// The binary encoding of the WebAssembly text `text`, converted here rather than by the
/// crate's `wat` feature so that the tests also run with `--no-default-features`.
#[track_caller]
pub fn wasm(text: &str) -> Vec<u8> {
    wat::parse_str(text).unwrap_or_else(|err| panic!("test module text parses: {err}"))
}

/// Compiles `wat` (text) and instantiates it without imports in `store`.
#[track_caller]
pub fn instantiate<T>(store: &mut Store<T>, wat: &str) -> Instance {
    let module = Module::new(store.engine(), wasm(wat)).expect("test module compiles");
    Instance::new(store, &module, &[]).expect("test module instantiates")
}

/// A store with no host data on a default engine.
pub fn store() -> Store<()> {
    Store::new(&Engine::default(), ())
}
