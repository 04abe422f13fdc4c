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

/// Compiles `wat` and instantiates it without imports in `store`.
#[track_caller]
pub fn instantiate<T>(store: &mut Store<T>, wat: &str) -> Instance {
    let module = Module::new(store.engine(), wat).expect("test module compiles");
    Instance::new(store, &module, &[]).expect("test module instantiates")
}

/// A store with no host data on a default engine.
pub fn store() -> Store<()> {
    Store::new(&Engine::default(), ())
}
