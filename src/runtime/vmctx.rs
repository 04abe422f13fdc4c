//! The per-instance VM context: the `#[repr(C)]` view of instance state that every execution
//! tier reads, so a function can move between tiers without copying anything.
//!
//! All memory these pointers reach is owned by the store (see [`VmCell`]) and lives as long
//! as the store; the interpreter and the native code read it without borrowing the store.

use std::ptr::NonNull;

use crate::engine::SignatureId;

/// A linear memory as the tiers see it: where its bytes are and how many there are.
#[repr(C)]
pub(crate) struct VmMemory {
    pub base: *mut u8,
    pub len: u64,
}

/// A table as the tiers see it: encoded references (0 is null, see `runtime::values`).
#[repr(C)]
pub(crate) struct VmTable {
    pub base: *mut u64,
    pub len: u64,
}

/// The instance state both tiers read.
#[repr(C)]
pub(crate) struct VmContext {
    /// Memory 0, or null when the instance has no memory.
    pub memory: *mut VmMemory,
    /// One pointer per global (imported ones first) to its 64-bit cell.
    pub globals: *const *mut u64,
    /// One pointer per table (imported ones first).
    pub tables: *const *mut VmTable,
    /// The encoded `funcref` of every function in the module's index space.
    pub funcs: *const u64,
    /// The engine-wide signature id of each of the module's types, for `call_indirect`.
    pub signatures: *const SignatureId,
    /// Reserved for a trap code; native code returns its trap in its status instead (see
    /// `jit::status`), so nothing writes it yet.
    pub trap_code: u32,
    /// The instance's index in its store, for the runtime helpers native code calls.
    #[cfg(feature = "jit")]
    pub instance: u32,
    /// The module's code slots, whose native entries native callers load on every call.
    #[cfg(feature = "jit")]
    pub code: *const crate::module::CodeSlot,
    /// The lowest stack address native code may run at; set on every entry from the host.
    #[cfg(feature = "jit")]
    pub stack_limit: usize,
    /// The store's function records, for native `call_indirect`.
    #[cfg(feature = "jit")]
    pub func_refs: *const VmFuncRefs,
}

/// What native `call_indirect` reads of a store function (feature `jit`); the store keeps one
/// per function, at the function's store index.
#[cfg(feature = "jit")]
#[repr(C)]
pub(crate) struct VmFuncRef {
    /// The function's engine-wide signature id.
    pub signature: SignatureId,
    /// Its instance's VM context; null for a host function.
    pub vmctx: *mut VmContext,
    /// Its code slot; null for a host function.
    pub code: *const crate::module::CodeSlot,
}

/// The store's [`VmFuncRef`]s: where they are (the array moves as the store gains
/// functions, and this cell follows it) and how many.
#[cfg(feature = "jit")]
#[repr(C)]
pub(crate) struct VmFuncRefs {
    pub base: *const VmFuncRef,
    pub len: u64,
}

/// A heap cell owned by the store, reached through raw pointers from [`VmContext`]s.
///
/// Unlike a `Box`, a `VmCell` never hands out references that would assert uniqueness, so
/// the pointers the VM contexts keep stay valid while the store is borrowed mutably.
pub(crate) struct VmCell<T> {
    ptr: NonNull<T>,
}

impl<T> VmCell<T> {
    pub fn new(value: T) -> Self {
        VmCell {
            ptr: NonNull::from(Box::leak(Box::new(value))),
        }
    }

    /// The stable address of the value.
    pub fn get(&self) -> *mut T {
        self.ptr.as_ptr()
    }
}

impl<T> Drop for VmCell<T> {
    fn drop(&mut self) {
        // SAFETY: `ptr` came from `Box::leak` in `new` and is freed only here, once.
        drop(unsafe { Box::from_raw(self.ptr.as_ptr()) });
    }
}

// SAFETY: a `VmCell` owns its value like a `Box` does; moving it to another thread moves that
// ownership. Pointers into it are only dereferenced by the thread that owns the store.
unsafe impl<T: Send> Send for VmCell<T> {}

// SAFETY (for the impls below): the pointers point into allocations owned by the same
// store as the struct itself ([`VmCell`]s and the store's memory and table buffers), so they
// move between threads together with the store and are never shared between stores.
unsafe impl Send for VmMemory {}
unsafe impl Send for VmTable {}
unsafe impl Send for VmContext {}
#[cfg(feature = "jit")]
unsafe impl Send for VmFuncRef {}
#[cfg(feature = "jit")]
unsafe impl Send for VmFuncRefs {}

/// An array of pointers into the store's cells (the targets of [`VmContext::globals`] and
/// [`VmContext::tables`]).
pub(crate) struct VmPointers<T>(Box<[*mut T]>);

impl<T> VmPointers<T> {
    pub fn new(pointers: Vec<*mut T>) -> Self {
        VmPointers(pointers.into_boxed_slice())
    }

    pub fn as_ptr(&self) -> *const *mut T {
        self.0.as_ptr()
    }
}

// SAFETY: as for `VmContext`: the pointers lead into allocations of the owning store.
unsafe impl<T> Send for VmPointers<T> {}
