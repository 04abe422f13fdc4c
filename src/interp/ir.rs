//! The interpreter's register-machine code.
//!
//! A frame is a window of 64-bit slots: parameters, declared locals, the function's constant
//! pool, then temporaries (one per operand-stack depth). Every operand names a slot, so
//! `local.get` and constants cost nothing and a result can be written straight into a local.

/// A frame slot index.
pub(crate) type Slot = u32;

/// A branch target: the offset in instructions from the branch instruction itself (so the
/// executor needs no register for the start of the code).
pub(crate) type Target = i32;

/// The integer comparisons fused into conditional branches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cmp {
    Eq,
    Ne,
    LtS,
    LtU,
    GtS,
    GtU,
    LeS,
    LeU,
    GeS,
    GeU,
}

impl Cmp {
    /// The comparison that is true exactly when `self` is false.
    pub fn negate(self) -> Self {
        use Cmp::*;
        match self {
            Eq => Ne,
            Ne => Eq,
            LtS => GeS,
            LtU => GeU,
            GtS => LeS,
            GtU => LeU,
            LeS => GtS,
            LeU => GtU,
            GeS => LtS,
            GeU => LtU,
        }
    }

    /// The branch taken when `a <cmp> b` holds. Each comparison has its own instruction,
    /// so the executor dispatches once.
    pub fn branch(self, a: Slot, b: Slot, target: Target) -> Instr {
        use Cmp::*;
        match self {
            Eq => Instr::BrIfEq { a, b, target },
            Ne => Instr::BrIfNe { a, b, target },
            LtS => Instr::BrIfLtS { a, b, target },
            LtU => Instr::BrIfLtU { a, b, target },
            GtS => Instr::BrIfGtS { a, b, target },
            GtU => Instr::BrIfGtU { a, b, target },
            LeS => Instr::BrIfLeS { a, b, target },
            LeU => Instr::BrIfLeU { a, b, target },
            GeS => Instr::BrIfGeS { a, b, target },
            GeU => Instr::BrIfGeU { a, b, target },
        }
    }

    /// The branch taken when the `i64` comparison `a <cmp> b` holds.
    pub fn branch64(self, a: Slot, b: Slot, target: Target) -> Instr {
        use Cmp::*;
        match self {
            Eq => Instr::BrIfEq64 { a, b, target },
            Ne => Instr::BrIfNe64 { a, b, target },
            LtS => Instr::BrIfLtS64 { a, b, target },
            LtU => Instr::BrIfLtU64 { a, b, target },
            GtS => Instr::BrIfGtS64 { a, b, target },
            GtU => Instr::BrIfGtU64 { a, b, target },
            LeS => Instr::BrIfLeS64 { a, b, target },
            LeU => Instr::BrIfLeU64 { a, b, target },
            GeS => Instr::BrIfGeS64 { a, b, target },
            GeU => Instr::BrIfGeU64 { a, b, target },
        }
    }

    /// The branch taken when `a <cmp> imm` holds.
    pub fn branch_imm(self, a: Slot, imm: i32, target: Target) -> Instr {
        use Cmp::*;
        match self {
            Eq => Instr::BrIfEqImm { a, imm, target },
            Ne => Instr::BrIfNeImm { a, imm, target },
            LtS => Instr::BrIfLtSImm { a, imm, target },
            LtU => Instr::BrIfLtUImm { a, imm, target },
            GtS => Instr::BrIfGtSImm { a, imm, target },
            GtU => Instr::BrIfGtUImm { a, imm, target },
            LeS => Instr::BrIfLeSImm { a, imm, target },
            LeU => Instr::BrIfLeUImm { a, imm, target },
            GeS => Instr::BrIfGeSImm { a, imm, target },
            GeU => Instr::BrIfGeUImm { a, imm, target },
        }
    }
}

macro_rules! define_instr {
    (
        binary: [$($binary:ident)*],
        unary: [$($unary:ident)*],
        binary_imm: [$($binary_imm:ident)*],
        branch_cmp: [$($branch_cmp:ident)*],
        branch_cmp_imm: [$($branch_cmp_imm:ident)*],
        other: {
            $( $(#[$meta:meta])* $other:ident $({ $($field:ident : $fty:ty),* $(,)? })? ),* $(,)?
        }
    ) => {
        /// One interpreter instruction. The discriminant is the op code: the executor reads it
        /// as the first byte (`repr(u8)`) and indexes its handler table with it.
        #[derive(Debug, Clone, Copy)]
        #[repr(u8)]
        pub(crate) enum Instr {
            $(
                #[doc = concat!("`", stringify!($binary), "`: `dst = a op b`.")]
                $binary { dst: Slot, a: Slot, b: Slot },
            )*
            $(
                #[doc = concat!("`", stringify!($unary), "`: `dst = op a`.")]
                $unary { dst: Slot, a: Slot },
            )*
            $(
                #[doc = concat!("`", stringify!($binary_imm), "`: `dst = a op imm`.")]
                $binary_imm { dst: Slot, a: Slot, imm: i32 },
            )*
            $(
                #[doc = concat!("`", stringify!($branch_cmp), "`: jump when the `i32` comparison of `a` and `b` holds.")]
                $branch_cmp { a: Slot, b: Slot, target: Target },
            )*
            $(
                #[doc = concat!("`", stringify!($branch_cmp_imm), "`: jump when the `i32` comparison of `a` and `imm` holds.")]
                $branch_cmp_imm { a: Slot, imm: i32, target: Target },
            )*
            $( $(#[$meta])* $other $({ $($field: $fty),* })?, )*
        }

        impl Instr {
            /// The number of variants, which is the number of op codes.
            pub const COUNT: usize = [
                $(stringify!($binary),)* $(stringify!($unary),)* $(stringify!($binary_imm),)*
                $(stringify!($branch_cmp),)* $(stringify!($branch_cmp_imm),)*
                $(stringify!($other),)*
            ].len();

            /// The branch target, for the instructions that have one.
            fn target_mut(&mut self) -> Option<&mut Target> {
                match self {
                    $(Instr::$branch_cmp { target, .. })|*
                    | $(Instr::$branch_cmp_imm { target, .. })|*
                    | Instr::Br { target }
                    | Instr::BrIfNez { target, .. }
                    | Instr::BrIfEqz { target, .. }
                    | Instr::BrIfNez64 { target, .. }
                    | Instr::BrIfEqz64 { target, .. }
                    | Instr::BrCopy { target, .. } => Some(target),
                    _ => None,
                }
            }
        }
    };
}

/// Calls the macro `$m` with the lists of binary and unary numeric operators, named as in
/// `wasmparser::Operator`. (Conversions that only reinterpret or wrap bits need no
/// instruction: slots hold 64 bits and 32-bit reads ignore the upper half.)
macro_rules! for_each_numeric {
    ($m:ident) => {
        $m! {
            binary: [
                I32Add I32Sub I32Mul I32DivS I32DivU I32RemS I32RemU I32And I32Or I32Xor
                I32Shl I32ShrS I32ShrU I32Rotl I32Rotr
                I32Eq I32Ne I32LtS I32LtU I32GtS I32GtU I32LeS I32LeU I32GeS I32GeU
                I64Add I64Sub I64Mul I64DivS I64DivU I64RemS I64RemU I64And I64Or I64Xor
                I64Shl I64ShrS I64ShrU I64Rotl I64Rotr
                I64Eq I64Ne I64LtS I64LtU I64GtS I64GtU I64LeS I64LeU I64GeS I64GeU
                F32Add F32Sub F32Mul F32Div F32Min F32Max F32Copysign
                F32Eq F32Ne F32Lt F32Gt F32Le F32Ge
                F64Add F64Sub F64Mul F64Div F64Min F64Max F64Copysign
                F64Eq F64Ne F64Lt F64Gt F64Le F64Ge
            ],
            unary: [
                I32Clz I32Ctz I32Popcnt I32Eqz I32Extend8S I32Extend16S
                I64Clz I64Ctz I64Popcnt I64Eqz I64Extend8S I64Extend16S I64Extend32S
                F32Abs F32Neg F32Ceil F32Floor F32Trunc F32Nearest F32Sqrt
                F64Abs F64Neg F64Ceil F64Floor F64Trunc F64Nearest F64Sqrt
                I32TruncF32S I32TruncF32U I32TruncF64S I32TruncF64U
                I64TruncF32S I64TruncF32U I64TruncF64S I64TruncF64U
                I32TruncSatF32S I32TruncSatF32U I32TruncSatF64S I32TruncSatF64U
                I64TruncSatF32S I64TruncSatF32U I64TruncSatF64S I64TruncSatF64U
                I64ExtendI32S I64ExtendI32U
                F32ConvertI32S F32ConvertI32U F32ConvertI64S F32ConvertI64U F32DemoteF64
                F64ConvertI32S F64ConvertI32U F64ConvertI64S F64ConvertI64U F64PromoteF32
            ],
            binary_imm: [
                I32AddImm I32MulImm I32AndImm I32OrImm I32XorImm I32ShlImm I32ShrSImm I32ShrUImm
                I64AddImm I64AndImm I64ShlImm I64ShrUImm
            ],
            branch_cmp: [
                BrIfEq BrIfNe BrIfLtS BrIfLtU BrIfGtS BrIfGtU BrIfLeS BrIfLeU BrIfGeS BrIfGeU
                BrIfEq64 BrIfNe64 BrIfLtS64 BrIfLtU64 BrIfGtS64 BrIfGtU64
                BrIfLeS64 BrIfLeU64 BrIfGeS64 BrIfGeU64
            ],
            branch_cmp_imm: [
                BrIfEqImm BrIfNeImm BrIfLtSImm BrIfLtUImm BrIfGtSImm BrIfGtUImm
                BrIfLeSImm BrIfLeUImm BrIfGeSImm BrIfGeUImm
            ],
            other: {
                /// Trap with [`TrapCode::Unreachable`](crate::TrapCode::Unreachable).
                Unreachable,
                /// Jump.
                Br { target: Target },
                /// Jump when `cond` (an `i32`) is not zero.
                BrIfNez { cond: Slot, target: Target },
                /// Jump when `cond` (an `i32`) is zero.
                BrIfEqz { cond: Slot, target: Target },
                /// Jump when `cond` (an `i64`) is not zero.
                BrIfNez64 { cond: Slot, target: Target },
                /// Jump when `cond` (an `i64`) is zero.
                BrIfEqz64 { cond: Slot, target: Target },
                /// Copy `count` slots from `src` down to `dst` (ascending), then jump.
                BrCopy { dst: Slot, src: Slot, count: u32, target: Target },
                /// Execute the `min(index, len)`-th of the `len + 1` branch instructions that
                /// follow (`Br`, `BrCopy` or `Return`).
                BrTable { index: Slot, len: u32 },
                /// Copy `count` results from `src` to slot 0 and return to the caller.
                Return { src: Slot, count: u32 },
                /// Call the module's defined function number `index` (counted from the first
                /// defined function); its frame starts at slot `base`, where the arguments are
                /// and where the results will be.
                Call { index: u32, base: Slot },
                /// Call the module's imported function `func`, with its frame at slot `base`.
                CallImported { func: u32, base: Slot },
                /// Call through table `table` at the index in slot `index`, checking that the
                /// callee has the module's type `type_index`.
                CallIndirect { table: u32, type_index: u32, index: Slot, base: Slot },
                /// `dst = src`.
                Copy { dst: Slot, src: Slot },
                /// `dst = if cond != 0 { a } else { b }`.
                Select { dst: Slot, cond: Slot, a: Slot, b: Slot },
                /// `dst = global`.
                GlobalGet { dst: Slot, global: u32 },
                /// `global = src`.
                GlobalSet { src: Slot, global: u32 },
                /// `dst = funcref of module function func`.
                RefFunc { dst: Slot, func: u32 },
                /// Loads of memory 0 at `addr + offset`, sign- or zero-extended to 64 bits.
                Load8S { dst: Slot, addr: Slot, offset: u32 },
                Load8U { dst: Slot, addr: Slot, offset: u32 },
                Load16S { dst: Slot, addr: Slot, offset: u32 },
                Load16U { dst: Slot, addr: Slot, offset: u32 },
                Load32S { dst: Slot, addr: Slot, offset: u32 },
                Load32U { dst: Slot, addr: Slot, offset: u32 },
                Load64 { dst: Slot, addr: Slot, offset: u32 },
                /// Stores of the low bytes of `src` to memory 0 at `addr + offset`.
                Store8 { addr: Slot, src: Slot, offset: u32 },
                Store16 { addr: Slot, src: Slot, offset: u32 },
                Store32 { addr: Slot, src: Slot, offset: u32 },
                Store64 { addr: Slot, src: Slot, offset: u32 },
                /// `memory.size`.
                MemorySize { dst: Slot },
                /// `memory.grow`.
                MemoryGrow { dst: Slot, delta: Slot },
                /// `memory.fill`.
                MemoryFill { dst: Slot, value: Slot, len: Slot },
                /// `memory.copy`.
                MemoryCopy { dst: Slot, src: Slot, len: Slot },
                /// `memory.init`.
                MemoryInit { segment: u32, dst: Slot, src: Slot, len: Slot },
                /// `data.drop`.
                DataDrop { segment: u32 },
                /// `table.get`.
                TableGet { dst: Slot, table: u32, index: Slot },
                /// `table.set`.
                TableSet { table: u32, index: Slot, value: Slot },
                /// `table.size`.
                TableSize { dst: Slot, table: u32 },
                /// `table.grow`.
                TableGrow { dst: Slot, table: u32, init: Slot, delta: Slot },
                /// `table.fill`.
                TableFill { table: u32, dst: Slot, value: Slot, len: Slot },
                /// `table.copy`.
                TableCopy { dst_table: u32, src_table: u32, dst: Slot, src: Slot, len: Slot },
                /// `table.init`.
                TableInit { table: u32, segment: u32, dst: Slot, src: Slot, len: Slot },
                /// `elem.drop`.
                ElemDrop { segment: u32 },
            }
        }
    };
}

pub(crate) use for_each_numeric;

for_each_numeric!(define_instr);

// The op code is a `u8`: every variant must have one.
const _: () = assert!(Instr::COUNT <= 256);

impl Instr {
    /// Whether execution never continues with the next instruction.
    pub fn is_terminator(&self) -> bool {
        matches!(
            self,
            Instr::Unreachable | Instr::Br { .. } | Instr::BrCopy { .. } | Instr::Return { .. }
        )
    }

    /// Points a branch instruction at `target` (used to resolve forward jumps).
    pub fn set_target(&mut self, new: Target) {
        match self.target_mut() {
            Some(target) => *target = new,
            None => unreachable!("{self:?} is not a branch"),
        }
    }
}

/// A function translated for the interpreter.
#[derive(Debug)]
pub(crate) struct CompiledFunc {
    pub code: Box<[Instr]>,
    pub num_params: u32,
    /// What the slots after the parameters start as at every entry: zeros for the declared
    /// locals, then the constant pool.
    pub frame_init: Box<[u64]>,
    /// Slots a frame of this function needs.
    pub frame_size: u32,
}

impl CompiledFunc {
    /// Bytes of instructions and frame template.
    pub fn size_in_bytes(&self) -> usize {
        std::mem::size_of_val(&*self.code) + std::mem::size_of_val(&*self.frame_init)
    }
}
