//! Resolves imports by `module::name` and instantiates with them.

use std::collections::HashMap;

use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::module::Module;
use crate::module::types::FuncType;
use crate::runtime::func::{Caller, IntoFunc};
use crate::runtime::instance::{Extern, Instance, InstancePre};
use crate::runtime::store::{AsContext, HostFunc, Store};
use crate::runtime::values::Val;

/// What a name is defined as: an item of one store, or a host function that is created in
/// whichever store instantiates with it.
enum Definition<T> {
    Extern(Extern),
    HostFunc(FuncType, HostFunc<T>),
}

impl<T> Clone for Definition<T> {
    fn clone(&self) -> Self {
        match self {
            Definition::Extern(e) => Definition::Extern(*e),
            Definition::HostFunc(ty, f) => Definition::HostFunc(ty.clone(), f.clone()),
        }
    }
}

/// Named definitions to satisfy imports with, like wasmtime's `Linker`.
pub struct Linker<T> {
    engine: Engine,
    definitions: HashMap<(String, String), Definition<T>>,
}

impl<T> Linker<T> {
    /// An empty linker for modules of `engine`.
    pub fn new(engine: &Engine) -> Self {
        Linker {
            engine: engine.clone(),
            definitions: HashMap::new(),
        }
    }

    /// The engine the linker belongs to.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Defines `module::name` as an item of `store`; later definitions of a name replace
    /// earlier ones.
    pub fn define(
        &mut self,
        store: impl AsContext<Data = T>,
        module: &str,
        name: &str,
        item: impl Into<Extern>,
    ) -> Result<&mut Self> {
        let item = item.into();
        store
            .as_context()
            .inner
            .check_owner(item.store_id(), "the item to define")?;
        self.insert(module, name, Definition::Extern(item));
        Ok(self)
    }

    /// Defines `module::name` as a host function from a closure (see [`Func::wrap`]).
    pub fn func_wrap<Params, Results>(
        &mut self,
        module: &str,
        name: &str,
        func: impl IntoFunc<T, Params, Results>,
    ) -> Result<&mut Self> {
        let (ty, host) = func.into_host_func();
        self.insert(module, name, Definition::HostFunc(ty, host));
        Ok(self)
    }

    /// Defines `module::name` as a host function with a dynamic signature (see [`Func::new`]).
    pub fn func_new(
        &mut self,
        module: &str,
        name: &str,
        ty: FuncType,
        func: impl Fn(Caller<'_, T>, &[Val], &mut [Val]) -> Result<()> + Send + Sync + 'static,
    ) -> Result<&mut Self> {
        self.insert(
            module,
            name,
            Definition::HostFunc(ty, std::sync::Arc::new(func)),
        );
        Ok(self)
    }

    /// Defines every export of `instance` under the module name `module`.
    pub fn instance(
        &mut self,
        store: impl AsContext<Data = T>,
        module: &str,
        instance: Instance,
    ) -> Result<&mut Self> {
        let store = store.as_context();
        for (name, item) in instance.exports(store) {
            self.insert(module, &name, Definition::Extern(item));
        }
        Ok(self)
    }

    fn insert(&mut self, module: &str, name: &str, definition: Definition<T>) {
        self.definitions
            .insert((module.to_string(), name.to_string()), definition);
    }

    /// The item defined as `module::name`, creating a host function in `store` if need be.
    pub fn get(&self, store: &mut Store<T>, module: &str, name: &str) -> Option<Extern> {
        let definition = self
            .definitions
            .get(&(module.to_string(), name.to_string()))?;
        Some(match definition.clone() {
            Definition::Extern(item) => item,
            Definition::HostFunc(ty, host) => Extern::Func(store.add_host_func(ty, host)),
        })
    }

    /// Resolves every import of `module` by name: the items to instantiate it with, in the
    /// order of `module.imports()`. Fails with kind `Link` for a name with no definition.
    pub fn resolve(&self, store: &mut Store<T>, module: &Module) -> Result<Vec<Extern>> {
        module
            .imports()
            .map(|import| {
                self.get(store, import.module(), import.name())
                    .ok_or_else(|| {
                        Error::link(format!(
                            "unknown import: {}::{} has not been defined",
                            import.module(),
                            import.name()
                        ))
                    })
            })
            .collect()
    }

    /// Phase *link* by name: [`Linker::resolve`], then [`Instance::link`].
    pub fn link(&self, store: &mut Store<T>, module: &Module) -> Result<InstancePre> {
        let imports = self.resolve(store, module)?;
        Instance::link(store, module, &imports)
    }

    /// Resolves every import of `module` by name and instantiates it, all phases at once.
    pub fn instantiate(&self, store: &mut Store<T>, module: &Module) -> Result<Instance> {
        self.link(store, module)?
            .allocate(store)?
            .initialize(store)?
            .start(store)
    }
}

impl<T> Clone for Linker<T> {
    fn clone(&self) -> Self {
        Linker {
            engine: self.engine.clone(),
            definitions: self.definitions.clone(),
        }
    }
}

impl<T> std::fmt::Debug for Linker<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Linker")
            .field("definitions", &self.definitions.len())
            .finish()
    }
}
