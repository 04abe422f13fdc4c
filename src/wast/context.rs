//! Executes the directives of one `.wast` file against one store.

use std::collections::HashMap;

use crate::{Engine, ErrorKind, Instance, Linker, Module, Store, TrapCode, Val};
use anyhow::{Context as _, Result, anyhow, bail};
use wast::token::Id;
use wast::{QuoteWat, WastDirective, WastExecute, WastInvoke, WastRet, Wat};

use super::{spectest, values};

/// The outcome of running Wasm code: its results, or the runtime's error.
type Execution = crate::Result<Vec<Val>>;

/// The state a `.wast` file's directives build up: one store, a linker holding `spectest` and
/// every registered instance, and the instances and module definitions by `$id`.
pub(crate) struct WastContext {
    store: Store<()>,
    linker: Linker<()>,
    /// Instantiated modules by `$id`.
    instances: HashMap<String, Instance>,
    /// The last instantiated module: the target of directives that name none.
    current: Option<Instance>,
    /// `(module definition ...)` modules by `$id`.
    definitions: HashMap<String, Module>,
    /// The last defined module: the one `(module instance)` without a name instantiates.
    last_definition: Option<Module>,
}

impl WastContext {
    /// A fresh store and linker with the `spectest` module defined.
    pub(crate) fn new(engine: &Engine) -> Result<Self> {
        let mut store = Store::new(engine, ());
        let mut linker = Linker::new(engine);
        spectest::define(&mut linker, &mut store).context("cannot define `spectest`")?;
        Ok(WastContext {
            store,
            linker,
            instances: HashMap::new(),
            current: None,
            definitions: HashMap::new(),
            last_definition: None,
        })
    }

    /// Runs one directive. An error means the directive failed, with what was expected and
    /// what happened instead.
    pub(crate) fn run(&mut self, directive: WastDirective<'_>) -> Result<()> {
        match directive {
            WastDirective::Module(module) => self.module(module),
            WastDirective::ModuleDefinition(module) => self.module_definition(module),
            WastDirective::ModuleInstance {
                instance, module, ..
            } => self.module_instance(instance, module),
            WastDirective::Register { name, module, .. } => self.register(name, module),
            WastDirective::Invoke(invoke) => match self.invoke(&invoke)? {
                Ok(_) => Ok(()),
                Err(error) => Err(unexpected(&error)),
            },
            WastDirective::AssertReturn { exec, results, .. } => self.assert_return(exec, &results),
            WastDirective::AssertTrap { exec, message, .. } => self.assert_trap(exec, message),
            WastDirective::AssertExhaustion { call, message, .. } => {
                self.assert_exhaustion(&call, message)
            }
            WastDirective::AssertInvalid {
                module, message, ..
            }
            | WastDirective::AssertMalformed {
                module, message, ..
            } => self.assert_rejected(module, message),
            WastDirective::AssertUnlinkable {
                module, message, ..
            } => self.assert_unlinkable(module, message),
            _ => bail!("unsupported directive: not part of WebAssembly 2.0"),
        }
    }

    /// `(module ...)`: compiles and instantiates a module, which becomes the current one.
    fn module(&mut self, mut module: QuoteWat<'_>) -> Result<()> {
        let compiled = self.compile(&mut module)?;
        let instance = self.instantiate(&compiled).map_err(|e| unexpected(&e))?;
        self.bind(module.name(), instance);
        Ok(())
    }

    /// `(module definition $M ...)`: compiles a module without instantiating it.
    fn module_definition(&mut self, mut module: QuoteWat<'_>) -> Result<()> {
        let compiled = self.compile(&mut module)?;
        if let Some(id) = module.name() {
            self.definitions
                .insert(id.name().to_owned(), compiled.clone());
        }
        self.last_definition = Some(compiled);
        Ok(())
    }

    /// `(module instance $I $M)`: instantiates a defined module.
    fn module_instance(&mut self, instance: Option<Id<'_>>, module: Option<Id<'_>>) -> Result<()> {
        let definition = match module {
            Some(id) => self.definitions.get(id.name()),
            None => self.last_definition.as_ref(),
        }
        .cloned()
        .ok_or_else(|| anyhow!("no module definition {}", show_id(module)))?;
        let created = self.instantiate(&definition).map_err(|e| unexpected(&e))?;
        self.bind(instance, created);
        Ok(())
    }

    /// `(register "name" $M)`: makes an instance's exports importable as module `name`.
    fn register(&mut self, name: &str, module: Option<Id<'_>>) -> Result<()> {
        let instance = self.instance(module)?;
        self.linker
            .instance(&mut self.store, name, instance)
            .map_err(|e| unexpected(&e))?;
        Ok(())
    }

    /// `(assert_return (...) results...)`.
    fn assert_return(&mut self, exec: WastExecute<'_>, results: &[WastRet<'_>]) -> Result<()> {
        match self.execute(exec)? {
            Ok(actual) => values::check_results(&actual, results),
            Err(error) => bail!("expected a return, got {}", describe(&error)),
        }
    }

    /// `(assert_trap (...) "message")`, for an invocation or a module whose instantiation
    /// must trap.
    fn assert_trap(&mut self, exec: WastExecute<'_>, message: &str) -> Result<()> {
        match self.execute(exec)? {
            Ok(actual) => bail!(
                "expected trap \"{message}\", got return {}",
                values::show_vals(&actual)
            ),
            Err(error) => check_trap(&error, message),
        }
    }

    /// `(assert_exhaustion (invoke ...) "message")`: the call must trap with
    /// [`TrapCode::StackOverflow`].
    fn assert_exhaustion(&mut self, call: &WastInvoke<'_>, message: &str) -> Result<()> {
        match self.invoke(call)? {
            Err(error) if error.trap_code() == Some(TrapCode::StackOverflow) => Ok(()),
            Err(error) => bail!("expected trap \"{message}\", got {}", describe(&error)),
            Ok(actual) => bail!(
                "expected trap \"{message}\", got return {}",
                values::show_vals(&actual)
            ),
        }
    }

    /// `(assert_invalid ...)` and `(assert_malformed ...)`: the module must be rejected with
    /// an error of kind [`ErrorKind::Compile`]; a quoted module rejected by the text parser
    /// counts as rejected. Messages are not compared: wasmparser's wording differs from the
    /// reference interpreter's.
    fn assert_rejected(&self, mut module: QuoteWat<'_>, message: &str) -> Result<()> {
        let Ok(bytes) = module.encode() else {
            return Ok(());
        };
        match Module::new(self.store.engine(), bytes) {
            Ok(_) => bail!("expected compile error \"{message}\", but the module compiled"),
            Err(error) if error.kind() == ErrorKind::Compile => Ok(()),
            Err(error) => bail!(
                "expected compile error \"{message}\", got {}",
                describe(&error)
            ),
        }
    }

    /// `(assert_unlinkable (module ...) "message")`: the module must compile, and its
    /// instantiation fail with an error of kind [`ErrorKind::Link`] whose text starts with
    /// the expected message ("unknown import", "incompatible import type").
    fn assert_unlinkable(&mut self, module: Wat<'_>, message: &str) -> Result<()> {
        let module = self.compile(&mut QuoteWat::Wat(module))?;
        match self.instantiate(&module) {
            Ok(_) => bail!("expected link error \"{message}\", but instantiation succeeded"),
            Err(error)
                if error.kind() == ErrorKind::Link && error.to_string().starts_with(message) =>
            {
                Ok(())
            }
            Err(error) => bail!(
                "expected link error \"{message}\", got {}",
                describe(&error)
            ),
        }
    }

    /// Runs the action of an assertion. The outer error is a harness-level failure (unknown
    /// export, module that does not compile); the inner result is what the runtime did.
    fn execute(&mut self, exec: WastExecute<'_>) -> Result<Execution> {
        match exec {
            WastExecute::Invoke(invoke) => self.invoke(&invoke),
            WastExecute::Wat(module) => {
                let module = self.compile(&mut QuoteWat::Wat(module))?;
                Ok(self.instantiate(&module).map(|_| Vec::new()))
            }
            WastExecute::Get { module, global, .. } => self.get(module, global).map(Ok),
        }
    }

    /// `(invoke $M "name" args...)`.
    fn invoke(&mut self, invoke: &WastInvoke<'_>) -> Result<Execution> {
        let instance = self.instance(invoke.module)?;
        let func = instance
            .get_func(&mut self.store, invoke.name)
            .ok_or_else(|| anyhow!("no exported function \"{}\"", invoke.name))?;
        let args = invoke
            .args
            .iter()
            .map(values::to_val)
            .collect::<Result<Vec<_>>>()?;
        let mut results: Vec<Val> = func
            .ty(&self.store)
            .results()
            .iter()
            .map(|&ty| Val::default_for(ty))
            .collect();
        Ok(func
            .call(&mut self.store, &args, &mut results)
            .map(|()| results))
    }

    /// `(get $M "name")`: the value of an exported global.
    fn get(&mut self, module: Option<Id<'_>>, name: &str) -> Result<Vec<Val>> {
        let global = self
            .instance(module)?
            .get_global(&mut self.store, name)
            .ok_or_else(|| anyhow!("no exported global \"{name}\""))?;
        Ok(vec![global.get(&mut self.store)])
    }

    /// Encodes a module to binary and compiles it. Text that does not parse is a failure.
    fn compile(&self, module: &mut QuoteWat<'_>) -> Result<Module> {
        let bytes = module
            .encode()
            .map_err(|e| anyhow!("cannot encode the module text: {}", e.message()))?;
        Module::new(self.store.engine(), bytes).map_err(|e| unexpected(&e))
    }

    fn instantiate(&mut self, module: &Module) -> crate::Result<Instance> {
        self.linker.instantiate(&mut self.store, module)
    }

    /// Makes `instance` the current one, and names it `id` if given.
    fn bind(&mut self, id: Option<Id<'_>>, instance: Instance) {
        if let Some(id) = id {
            self.instances.insert(id.name().to_owned(), instance);
        }
        self.current = Some(instance);
    }

    /// The instance named `id`, or the current one.
    fn instance(&self, id: Option<Id<'_>>) -> Result<Instance> {
        match id {
            Some(id) => self.instances.get(id.name()).copied(),
            None => self.current,
        }
        .ok_or_else(|| anyhow!("no instance {}", show_id(id)))
    }
}

/// Passes when `error` is a trap whose code's text is `expected`, optionally followed by
/// detail the suite adds after a space ("uninitialized element 2" matches
/// [`TrapCode::UninitializedElement`]).
fn check_trap(error: &crate::Error, expected: &str) -> Result<()> {
    let matches = error.kind() == ErrorKind::Trap
        && error.trap_code().is_some_and(|code| {
            expected
                .strip_prefix(code.message())
                .is_some_and(|detail| detail.is_empty() || detail.starts_with(' '))
        });
    if matches {
        Ok(())
    } else {
        bail!("expected trap \"{expected}\", got {}", describe(error))
    }
}

/// An error that no assertion expected.
fn unexpected(error: &crate::Error) -> anyhow::Error {
    anyhow!("unexpected {}", describe(error))
}

/// An error with its kind, e.g. `Trap error: wasm trap: unreachable`.
fn describe(error: &crate::Error) -> String {
    format!("{:?} error: {error}", error.kind())
}

/// `$name`, or `(unnamed)` when a directive names no module and so means the latest one.
fn show_id(id: Option<Id<'_>>) -> String {
    id.map_or_else(|| "(unnamed)".to_owned(), |id| format!("${}", id.name()))
}
