//! Functions as host handles: calling Wasm from the host, and host functions Wasm can call.

use std::marker::PhantomData;
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::interp;
use crate::module::types::{FuncType, ValType};
use crate::runtime::instance::Extern;
use crate::runtime::store::{
    AsContext, AsContextMut, FuncKind, HostFunc, Store, StoreId, StoreInner,
};
use crate::runtime::values::{ExternRef, Val};

/// A function of a store: defined by an instance, or by the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Func {
    store: StoreId,
    index: u32,
}

impl Func {
    pub(crate) fn from_raw(store: StoreId, index: u32) -> Self {
        Func { store, index }
    }

    pub(crate) fn store_id(&self) -> StoreId {
        self.store
    }

    pub(crate) fn index(&self) -> u32 {
        self.index
    }

    /// A host function from a Rust closure. The closure takes either the Wasm arguments
    /// (`i32`, `i64`, `f32`, `f64`, `Option<Func>`, `Option<ExternRef>`) or a [`Caller`]
    /// followed by them, and returns `()`, one value, a tuple, or a `Result` of those.
    pub fn wrap<T, Params, Results>(
        mut store: impl AsContextMut<Data = T>,
        func: impl IntoFunc<T, Params, Results>,
    ) -> Func {
        let (ty, host) = func.into_host_func();
        store.as_context_mut().add_host_func(ty, host)
    }

    /// A host function with a signature chosen at run time. The closure gets the arguments
    /// and must fill `results` (pre-filled with zero values of the result types).
    pub fn new<T>(
        mut store: impl AsContextMut<Data = T>,
        ty: FuncType,
        func: impl Fn(Caller<'_, T>, &[Val], &mut [Val]) -> Result<()> + Send + Sync + 'static,
    ) -> Func {
        store.as_context_mut().add_host_func(ty, Arc::new(func))
    }

    /// The function's signature. Panics when the function belongs to another store.
    pub fn ty(&self, store: impl AsContext) -> FuncType {
        let inner = &store.as_context().inner;
        inner
            .check_owner(self.store, "this function")
            .expect("function used with a store that does not own it");
        inner.funcs[self.index as usize].ty.clone()
    }

    /// Calls the function. `params` must match its parameter types and `results` have one
    /// entry per result; errors are of kind `Usage` for a mismatch, `Trap` when Wasm traps,
    /// `Host` when a host function fails.
    pub fn call(
        &self,
        mut store: impl AsContextMut,
        params: &[Val],
        results: &mut [Val],
    ) -> Result<()> {
        let store = store.as_context_mut();
        store.inner.check_owner(self.store, "this function")?;
        let ty = store.inner.funcs[self.index as usize].ty.clone();
        check_arguments(&store.inner, &ty, params, results.len())?;
        call_unchecked(store, self.index, &ty, params, results)
    }

    /// A typed view of the function; fails with kind `Usage` when `Params`/`Results` do not
    /// match its signature.
    pub fn typed<Params: WasmTyList, Results: WasmTyList>(
        &self,
        store: impl AsContext,
    ) -> Result<TypedFunc<Params, Results>> {
        let inner = &store.as_context().inner;
        inner.check_owner(self.store, "this function")?;
        let ty = &inner.funcs[self.index as usize].ty;
        let wanted = FuncType::new(Params::valtypes(), Results::valtypes());
        if *ty != wanted {
            return Err(Error::usage(format!(
                "function has type {ty}, not the requested {wanted}"
            )));
        }
        Ok(TypedFunc {
            func: *self,
            marker: PhantomData,
        })
    }
}

fn check_arguments(
    inner: &StoreInner,
    ty: &FuncType,
    params: &[Val],
    results: usize,
) -> Result<()> {
    if params.len() != ty.params().len() {
        return Err(Error::usage(format!(
            "function of type {ty} called with {} arguments",
            params.len()
        )));
    }
    for (i, (param, expected)) in params.iter().zip(ty.params()).enumerate() {
        inner.check_val(param, *expected, &format!("argument {i}"))?;
    }
    if results != ty.results().len() {
        return Err(Error::usage(format!(
            "function of type {ty} called with room for {results} results"
        )));
    }
    Ok(())
}

/// Calls store function `index` of type `ty` with checked arguments.
fn call_unchecked<T>(
    store: &mut Store<T>,
    index: u32,
    ty: &FuncType,
    params: &[Val],
    results: &mut [Val],
) -> Result<()> {
    if let FuncKind::Host { index: host } = store.inner.funcs[index as usize].kind {
        let host = store.host_funcs[host as usize].clone();
        for (result, ty) in results.iter_mut().zip(ty.results()) {
            *result = Val::default_for(*ty);
        }
        host(Caller::new(store, None), params, results)?;
        for (result, ty) in results.iter().zip(ty.results()) {
            store.inner.check_val(result, *ty, "host function result")?;
        }
        return Ok(());
    }
    let mut slots = vec![0u64; params.len().max(results.len())];
    for (slot, param) in slots.iter_mut().zip(params) {
        *slot = store.inner.val_to_slot(param)?;
    }
    call_slots(store, index, &mut slots)?;
    for ((result, slot), ty) in results.iter_mut().zip(&slots).zip(ty.results()) {
        *result = store.inner.slot_to_val(*slot, *ty);
    }
    Ok(())
}

/// Calls store function `index` with arguments and results in `slots` (at least as many as
/// it has parameters and results): in native code when it has some (compiled now under
/// [`Strategy::Compiled`](crate::Strategy::Compiled)), else in the interpreter.
pub(crate) fn call_slots<T>(store: &mut Store<T>, index: u32, slots: &mut [u64]) -> Result<()> {
    #[cfg(feature = "jit")]
    if let Some(result) = call_native(store, index, slots) {
        return result;
    }
    interp::invoke(store, index, slots)
}

/// Calls store function `index` in its native code, if it has some; `None` if it has none.
#[cfg(feature = "jit")]
fn call_native<T>(store: &mut Store<T>, index: u32, slots: &mut [u64]) -> Option<Result<()>> {
    let entry = crate::jit::native_entry(store, index)?;
    // A function's own native code returns: only OSR entries exit to the interpreter.
    Some(crate::jit::invoke(store, entry, slots).map(drop))
}

/// Calls store function `index` from native code of store instance `caller` (a host function
/// sees it as its [`Caller`]'s instance); otherwise as [`call_slots`].
#[cfg(feature = "jit")]
pub(crate) fn call_slots_from<T>(
    store: &mut Store<T>,
    index: u32,
    caller: u32,
    slots: &mut [u64],
) -> Result<()> {
    if let FuncKind::Host { .. } = store.inner.funcs[index as usize].kind {
        return interp::call_host(store, index, Some(caller), slots);
    }
    if let Some(result) = call_native(store, index, slots) {
        return result;
    }
    interp::invoke_from_native(store, index, slots)
}

/// The store and calling instance, as a host function sees them.
pub struct Caller<'a, T> {
    store: &'a mut Store<T>,
    instance: Option<u32>,
}

impl<'a, T> Caller<'a, T> {
    pub(crate) fn new(store: &'a mut Store<T>, instance: Option<u32>) -> Self {
        Caller { store, instance }
    }

    /// The host data.
    pub fn data(&self) -> &T {
        self.store.data()
    }

    /// The host data, mutably.
    pub fn data_mut(&mut self) -> &mut T {
        self.store.data_mut()
    }

    /// An export of the calling instance (typically its `"memory"`); `None` when the caller is
    /// the host or exports nothing by that name.
    pub fn get_export(&self, name: &str) -> Option<Extern> {
        let instance = self.instance?;
        crate::runtime::instance::Instance::from_raw(self.store.inner.id, instance)
            .get_export(&*self.store, name)
    }
}

impl<T> AsContext for Caller<'_, T> {
    type Data = T;
    fn as_context(&self) -> &Store<T> {
        self.store
    }
}

impl<T> AsContextMut for Caller<'_, T> {
    fn as_context_mut(&mut self) -> &mut Store<T> {
        self.store
    }
}

/// A function with its signature checked once, called with Rust values.
pub struct TypedFunc<Params, Results> {
    func: Func,
    marker: PhantomData<fn(Params) -> Results>,
}

impl<Params, Results> Clone for TypedFunc<Params, Results> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<Params, Results> Copy for TypedFunc<Params, Results> {}

impl<Params: WasmTyList, Results: WasmTyList> TypedFunc<Params, Results> {
    /// Calls the function.
    pub fn call(&self, mut store: impl AsContextMut, params: Params) -> Result<Results> {
        let store = store.as_context_mut();
        store.inner.check_owner(self.func.store, "this function")?;
        let ty = store.inner.funcs[self.func.index as usize].ty.clone();
        let params = params.into_vals();
        let mut results: Vec<Val> = ty.results().iter().map(|t| Val::default_for(*t)).collect();
        call_unchecked(store, self.func.index, &ty, &params, &mut results)?;
        Ok(Results::from_vals(&results).expect("results match the checked signature"))
    }

    /// The untyped function.
    pub fn func(&self) -> Func {
        self.func
    }
}

/// A Rust type that is a Wasm value type.
pub trait WasmTy: Sized + Send + 'static {
    /// The Wasm type.
    fn valtype() -> ValType;
    /// As a [`Val`].
    fn into_val(self) -> Val;
    /// From a [`Val`] of the right type.
    fn from_val(val: &Val) -> Option<Self>;
}

macro_rules! wasm_ty {
    ($ty:ty, $valtype:ident, $into:expr, $from:expr) => {
        impl WasmTy for $ty {
            fn valtype() -> ValType {
                ValType::$valtype
            }
            fn into_val(self) -> Val {
                $into(self)
            }
            fn from_val(val: &Val) -> Option<Self> {
                $from(val)
            }
        }
    };
}

wasm_ty!(i32, I32, Val::I32, Val::i32);
wasm_ty!(i64, I64, Val::I64, Val::i64);
wasm_ty!(u32, I32, |v: u32| Val::I32(v as i32), |v: &Val| v
    .i32()
    .map(|v| v as u32));
wasm_ty!(u64, I64, |v: u64| Val::I64(v as i64), |v: &Val| v
    .i64()
    .map(|v| v as u64));
wasm_ty!(f32, F32, Val::from, Val::f32);
wasm_ty!(f64, F64, Val::from, Val::f64);
wasm_ty!(Option<Func>, FuncRef, Val::FuncRef, |v: &Val| v
    .func_ref()
    .map(|f| f.copied()));
wasm_ty!(Option<ExternRef>, ExternRef, Val::ExternRef, |v: &Val| v
    .extern_ref()
    .map(|r| r.cloned()));

/// A list of Wasm values as Rust types: `()`, one [`WasmTy`], or a tuple of them.
pub trait WasmTyList: Sized {
    /// The Wasm types.
    fn valtypes() -> Vec<ValType>;
    /// As [`Val`]s.
    fn into_vals(self) -> Vec<Val>;
    /// From [`Val`]s of the right types.
    fn from_vals(vals: &[Val]) -> Option<Self>;
}

impl<A: WasmTy> WasmTyList for A {
    fn valtypes() -> Vec<ValType> {
        vec![A::valtype()]
    }
    fn into_vals(self) -> Vec<Val> {
        vec![self.into_val()]
    }
    fn from_vals(vals: &[Val]) -> Option<Self> {
        match vals {
            [val] => A::from_val(val),
            _ => None,
        }
    }
}

macro_rules! wasm_ty_list {
    ($($name:ident)*) => {
        impl<$($name: WasmTy),*> WasmTyList for ($($name,)*) {
            fn valtypes() -> Vec<ValType> {
                vec![$($name::valtype()),*]
            }
            #[allow(non_snake_case)]
            fn into_vals(self) -> Vec<Val> {
                let ($($name,)*) = self;
                vec![$($name.into_val()),*]
            }
            #[allow(unused_variables, unused_mut)]
            fn from_vals(vals: &[Val]) -> Option<Self> {
                let mut vals = vals.iter();
                let list = ($($name::from_val(vals.next()?)?,)*);
                vals.next().is_none().then_some(list)
            }
        }
    };
}

wasm_ty_list!();
wasm_ty_list!(A);
wasm_ty_list!(A B);
wasm_ty_list!(A B C);
wasm_ty_list!(A B C D);
wasm_ty_list!(A B C D E);
wasm_ty_list!(A B C D E F);
wasm_ty_list!(A B C D E F G);
wasm_ty_list!(A B C D E F G H);

/// What a host closure may return: a [`WasmTyList`], or a `Result` of one.
pub trait HostResult {
    /// The Wasm result types.
    fn valtypes() -> Vec<ValType>;
    /// The results, or the host function's error.
    fn into_results(self) -> Result<Vec<Val>>;
}

impl<R: WasmTyList> HostResult for R {
    fn valtypes() -> Vec<ValType> {
        R::valtypes()
    }
    fn into_results(self) -> Result<Vec<Val>> {
        Ok(self.into_vals())
    }
}

impl<R: WasmTyList> HostResult for Result<R> {
    fn valtypes() -> Vec<ValType> {
        R::valtypes()
    }
    fn into_results(self) -> Result<Vec<Val>> {
        self.map(R::into_vals)
    }
}

/// Marks the closures of [`IntoFunc`] that take a [`Caller`] first.
pub struct WithCaller<T>(PhantomData<T>);

/// A Rust closure usable as a host function (see [`Func::wrap`]).
pub trait IntoFunc<T, Params, Results>: Send + Sync + 'static {
    #[doc(hidden)]
    fn into_host_func(self) -> (FuncType, HostFunc<T>);
}

macro_rules! into_func {
    ($($arg:ident)*) => {
        impl<T, F, R, $($arg,)*> IntoFunc<T, ($($arg,)*), R> for F
        where
            F: Fn($($arg),*) -> R + Send + Sync + 'static,
            $($arg: WasmTy,)*
            R: HostResult,
        {
            fn into_host_func(self) -> (FuncType, HostFunc<T>) {
                let ty = FuncType::new(vec![$($arg::valtype()),*], R::valtypes());
                let host: HostFunc<T> = Arc::new(move |_caller: Caller<'_, T>, params: &[Val], results: &mut [Val]| {
                    #[allow(unused_variables, unused_mut)]
                    let mut params = params.iter();
                    let out = self($($arg::from_val(params.next().expect("checked arity")).expect("checked type")),*);
                    results.clone_from_slice(&out.into_results()?);
                    Ok(())
                });
                (ty, host)
            }
        }

        impl<T, F, R, $($arg,)*> IntoFunc<T, (WithCaller<T>, $($arg,)*), R> for F
        where
            F: Fn(Caller<'_, T>, $($arg),*) -> R + Send + Sync + 'static,
            $($arg: WasmTy,)*
            R: HostResult,
        {
            fn into_host_func(self) -> (FuncType, HostFunc<T>) {
                let ty = FuncType::new(vec![$($arg::valtype()),*], R::valtypes());
                let host: HostFunc<T> = Arc::new(move |caller: Caller<'_, T>, params: &[Val], results: &mut [Val]| {
                    #[allow(unused_variables, unused_mut)]
                    let mut params = params.iter();
                    let out = self(caller, $($arg::from_val(params.next().expect("checked arity")).expect("checked type")),*);
                    results.clone_from_slice(&out.into_results()?);
                    Ok(())
                });
                (ty, host)
            }
        }
    };
}

into_func!();
into_func!(A1);
into_func!(A1 A2);
into_func!(A1 A2 A3);
into_func!(A1 A2 A3 A4);
into_func!(A1 A2 A3 A4 A5);
into_func!(A1 A2 A3 A4 A5 A6);
into_func!(A1 A2 A3 A4 A5 A6 A7);
into_func!(A1 A2 A3 A4 A5 A6 A7 A8);
