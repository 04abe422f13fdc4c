//! The interpreter's register-machine code.
//!
//! A frame is a window of 64-bit slots: parameters, declared locals, the function's constant
//! pool, then temporaries (one per operand-stack depth). Every operand names a slot, so
//! `local.get` and constants cost nothing and a result can be written straight into a local.
//!
//! The accumulator: every instruction that writes a result slot also leaves the value in a
//! machine register, the accumulator, which the executor passes from handler to handler.
//! An operand that the instruction just before produced can then be read from the register
//! instead of the frame (saving a load and the latency of forwarding a store to it), when
//! nothing else can jump in between. Such instructions have `A` (first operand) and `B`
//! (second operand) variants, with the same fields: the operand's slot is kept but not read.

use std::sync::atomic::AtomicU32;
#[cfg(feature = "jit")]
use std::sync::atomic::Ordering;

use super::exec::Op;

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

    /// The comparison with the operands swapped: `a <self> b` is `b <swap> a`.
    pub fn swap(self) -> Self {
        use Cmp::*;
        match self {
            Eq => Eq,
            Ne => Ne,
            LtS => GtS,
            LtU => GtU,
            GtS => LtS,
            GtU => LtU,
            LeS => GeS,
            LeU => GeU,
            GeS => LeS,
            GeU => LeU,
        }
    }
}

/// The instructions of each comparison, from one table: the compare-and-branch forms and
/// the add fused into a compare-and-branch.
macro_rules! cmp_instrs {
    (
        $($cmp:ident => $br:ident, $br64:ident, $br_imm:ident, $add_imm_br:ident, $add_br:ident;)*
    ) => {
        impl Cmp {
            /// The branch taken when `a <cmp> b` holds. Each comparison has its own
            /// instruction, so the executor dispatches once.
            pub fn branch(self, a: Slot, b: Slot, target: Target) -> Instr {
                match self {
                    $(Cmp::$cmp => Instr::$br { a, b, target },)*
                }
            }

            /// The branch taken when the `i64` comparison `a <cmp> b` holds.
            pub fn branch64(self, a: Slot, b: Slot, target: Target) -> Instr {
                match self {
                    $(Cmp::$cmp => Instr::$br64 { a, b, target },)*
                }
            }

            /// The branch taken when `a <cmp> imm` holds.
            pub fn branch_imm(self, a: Slot, imm: i32, target: Target) -> Instr {
                match self {
                    $(Cmp::$cmp => Instr::$br_imm { a, imm, target },)*
                }
            }

            /// `dst = a + imm`, then the branch taken when `dst <cmp> b` holds.
            pub fn add_imm_branch(
                self,
                dst: Slot,
                a: Slot,
                imm: i32,
                b: Slot,
                target: Target,
            ) -> Instr {
                match self {
                    $(Cmp::$cmp => Instr::$add_imm_br { dst, a, imm, b, target },)*
                }
            }

            /// `dst = a + add`, then the branch taken when `dst <cmp> b` holds.
            pub fn add_branch(
                self,
                dst: Slot,
                a: Slot,
                add: Slot,
                b: Slot,
                target: Target,
            ) -> Instr {
                match self {
                    $(Cmp::$cmp => Instr::$add_br { dst, a, add, b, target },)*
                }
            }
        }

        impl Instr {
            /// For an `i32` compare-and-branch on two slots: the comparison and the operands.
            pub fn as_compare_branch(&self) -> Option<(Cmp, Slot, Slot)> {
                match *self {
                    $(Instr::$br { a, b, .. } => Some((Cmp::$cmp, a, b)),)*
                    _ => None,
                }
            }

            /// For an `i32` compare-and-branch on a slot and an immediate: the comparison and
            /// the operands.
            pub fn as_compare_imm_branch(&self) -> Option<(Cmp, Slot, i32)> {
                match *self {
                    $(Instr::$br_imm { a, imm, .. } => Some((Cmp::$cmp, a, imm)),)*
                    _ => None,
                }
            }

            /// The target of an add fused into a compare-and-branch.
            fn add_branch_target_mut(&mut self) -> Option<&mut Target> {
                match self {
                    $(
                        Instr::$add_imm_br { target, .. } | Instr::$add_br { target, .. } => {
                            Some(target)
                        }
                    )*
                    _ => None,
                }
            }
        }
    };
}

cmp_instrs! {
    Eq => BrIfEq, BrIfEq64, BrIfEqImm, AddImmBrIfEq, AddBrIfEq;
    Ne => BrIfNe, BrIfNe64, BrIfNeImm, AddImmBrIfNe, AddBrIfNe;
    LtS => BrIfLtS, BrIfLtS64, BrIfLtSImm, AddImmBrIfLtS, AddBrIfLtS;
    LtU => BrIfLtU, BrIfLtU64, BrIfLtUImm, AddImmBrIfLtU, AddBrIfLtU;
    GtS => BrIfGtS, BrIfGtS64, BrIfGtSImm, AddImmBrIfGtS, AddBrIfGtS;
    GtU => BrIfGtU, BrIfGtU64, BrIfGtUImm, AddImmBrIfGtU, AddBrIfGtU;
    LeS => BrIfLeS, BrIfLeS64, BrIfLeSImm, AddImmBrIfLeS, AddBrIfLeS;
    LeU => BrIfLeU, BrIfLeU64, BrIfLeUImm, AddImmBrIfLeU, AddBrIfLeU;
    GeS => BrIfGeS, BrIfGeS64, BrIfGeSImm, AddImmBrIfGeS, AddBrIfGeS;
    GeU => BrIfGeU, BrIfGeU64, BrIfGeUImm, AddImmBrIfGeU, AddBrIfGeU;
}

/// The forms of each load and store, from one table: the plain one, the accumulator variants
/// (`A`: the address, `B`: a store's value) and the fused-address one.
macro_rules! access_instrs {
    (
        loads { $($load:ident, $load_a:ident, $load_add:ident;)* }
        stores { $($store:ident, $store_a:ident, $store_b:ident, $store_add:ident;)* }
    ) => {
        impl Instr {
            /// A load or store reading slot `acc` from the accumulator instead (see
            /// [`Instr::with_acc`]), or `None` for other instructions.
            fn access_with_acc(self, acc: Slot) -> Option<Self> {
                Some(match self {
                    $(
                        Instr::$load { dst, addr, offset } if addr == acc => {
                            Instr::$load_a { dst, addr, offset }
                        }
                    )*
                    $(
                        Instr::$store { addr, src, offset } if src == acc => {
                            Instr::$store_b { addr, src, offset }
                        }
                        Instr::$store { addr, src, offset } if addr == acc => {
                            Instr::$store_a { addr, src, offset }
                        }
                    )*
                    _ => return None,
                })
            }

            /// The result slot of a load or a numeric instruction.
            fn load_or_numeric_result_mut(&mut self) -> Option<&mut Slot> {
                match self {
                    $(
                        Instr::$load { dst, .. }
                        | Instr::$load_a { dst, .. }
                        | Instr::$load_add { dst, .. } => Some(dst),
                    )*
                    other => other.numeric_result_mut(),
                }
            }

            /// For a load or store whose address is slot `addr`: the same access at
            /// `a + (b << shift)`. (Not for a store of the address itself, whose slot the
            /// fused instruction no longer writes.)
            pub fn with_address_sum(
                &self,
                addr: Slot,
                a: Slot,
                b: Slot,
                shift: u8,
            ) -> Option<Instr> {
                Some(match *self {
                    $(
                        Instr::$load { dst, addr: at, offset } if at == addr => {
                            Instr::$load_add { dst, a, b, shift, offset }
                        }
                    )*
                    $(
                        Instr::$store { addr: at, src, offset } if at == addr && src != addr => {
                            Instr::$store_add { a, b, shift, src, offset }
                        }
                    )*
                    _ => return None,
                })
            }
        }
    };
}

access_instrs! {
    loads {
        Load8S, Load8SA, Load8SAdd;
        Load8U, Load8UA, Load8UAdd;
        Load16S, Load16SA, Load16SAdd;
        Load16U, Load16UA, Load16UAdd;
        Load32S, Load32SA, Load32SAdd;
        Load32U, Load32UA, Load32UAdd;
        Load64, Load64A, Load64Add;
        LoadF32, LoadF32A, LoadF32Add;
        LoadF64, LoadF64A, LoadF64Add;
    }
    stores {
        Store8, Store8A, Store8B, Store8Add;
        Store16, Store16A, Store16B, Store16Add;
        Store32, Store32A, Store32B, Store32Add;
        Store64, Store64A, Store64B, Store64Add;
    }
}

macro_rules! define_instr {
    (
        binary: [$($binary:ident($binary_a:ident, $binary_b:ident))*],
        unary: [$($unary:ident($unary_a:ident))*],
        binary_imm: [$($binary_imm:ident($binary_imm_a:ident))*],
        branch_cmp: [$($branch_cmp:ident($branch_cmp_a:ident, $branch_cmp_b:ident))*],
        branch_cmp_imm: [$($branch_cmp_imm:ident($branch_cmp_imm_a:ident))*],
        other: {
            $( $(#[$meta:meta])* $other:ident $({ $($field:ident : $fty:ty),* $(,)? })? ),* $(,)?
        }
    ) => {
        /// One interpreter instruction. The discriminant is the op code: the executor reads it
        /// as the first two bytes (`repr(u16)`) and indexes its handler table with it.
        #[derive(Debug, Clone, Copy)]
        #[repr(u16)]
        pub(crate) enum Instr {
            $(
                #[doc = concat!("`", stringify!($binary), "`: `dst = a op b`.")]
                $binary { dst: Slot, a: Slot, b: Slot },
                #[doc = concat!("`", stringify!($binary), "` with `a` from the accumulator.")]
                $binary_a { dst: Slot, a: Slot, b: Slot },
                #[doc = concat!("`", stringify!($binary), "` with `b` from the accumulator.")]
                $binary_b { dst: Slot, a: Slot, b: Slot },
            )*
            $(
                #[doc = concat!("`", stringify!($unary), "`: `dst = op a`.")]
                $unary { dst: Slot, a: Slot },
                #[doc = concat!("`", stringify!($unary), "` with `a` from the accumulator.")]
                $unary_a { dst: Slot, a: Slot },
            )*
            $(
                #[doc = concat!("`", stringify!($binary_imm), "`: `dst = a op imm`.")]
                $binary_imm { dst: Slot, a: Slot, imm: i32 },
                #[doc = concat!("`", stringify!($binary_imm), "` with `a` from the accumulator.")]
                $binary_imm_a { dst: Slot, a: Slot, imm: i32 },
            )*
            $(
                #[doc = concat!(
                    "`", stringify!($branch_cmp),
                    "`: jump when the comparison of `a` and `b` holds."
                )]
                $branch_cmp { a: Slot, b: Slot, target: Target },
                #[doc = concat!("`", stringify!($branch_cmp), "` with `a` from the accumulator.")]
                $branch_cmp_a { a: Slot, b: Slot, target: Target },
                #[doc = concat!("`", stringify!($branch_cmp), "` with `b` from the accumulator.")]
                $branch_cmp_b { a: Slot, b: Slot, target: Target },
            )*
            $(
                #[doc = concat!(
                    "`", stringify!($branch_cmp_imm),
                    "`: jump when the `i32` comparison of `a` and `imm` holds."
                )]
                $branch_cmp_imm { a: Slot, imm: i32, target: Target },
                #[doc = concat!(
                    "`", stringify!($branch_cmp_imm), "` with `a` from the accumulator."
                )]
                $branch_cmp_imm_a { a: Slot, imm: i32, target: Target },
            )*
            $( $(#[$meta])* $other $({ $($field: $fty),* })?, )*
        }

        impl Instr {
            /// The number of variants, which is the number of op codes.
            pub const COUNT: usize = [
                $(stringify!($binary), stringify!($binary_a), stringify!($binary_b),)*
                $(stringify!($unary), stringify!($unary_a),)*
                $(stringify!($binary_imm), stringify!($binary_imm_a),)*
                $(stringify!($branch_cmp), stringify!($branch_cmp_a), stringify!($branch_cmp_b),)*
                $(stringify!($branch_cmp_imm), stringify!($branch_cmp_imm_a),)*
                $(stringify!($other),)*
            ].len();

            /// The branch target, for the instructions that have one.
            fn target_mut(&mut self) -> Option<&mut Target> {
                match self {
                    $(
                        Instr::$branch_cmp { target, .. }
                        | Instr::$branch_cmp_a { target, .. }
                        | Instr::$branch_cmp_b { target, .. } => Some(target),
                    )*
                    $(
                        Instr::$branch_cmp_imm { target, .. }
                        | Instr::$branch_cmp_imm_a { target, .. } => Some(target),
                    )*
                    Instr::Br { target }
                    | Instr::BrIfNez { target, .. }
                    | Instr::BrIfNezA { target, .. }
                    | Instr::BrIfEqz { target, .. }
                    | Instr::BrIfEqzA { target, .. }
                    | Instr::BrIfNez64 { target, .. }
                    | Instr::BrIfNez64A { target, .. }
                    | Instr::BrIfEqz64 { target, .. }
                    | Instr::BrIfEqz64A { target, .. }
                    | Instr::BrCopy { target, .. } => Some(target),
                    other => other.add_branch_target_mut(),
                }
            }

            /// The numeric instructions' accumulator variants: reading `acc`, which holds
            /// the value of slot `acc` (see the module documentation).
            fn numeric_with_acc(self, acc: Slot) -> Self {
                match self {
                    $(
                        Instr::$binary { dst, a, b } if a == acc => Instr::$binary_a { dst, a, b },
                        Instr::$binary { dst, a, b } if b == acc => Instr::$binary_b { dst, a, b },
                    )*
                    $(Instr::$unary { dst, a } if a == acc => Instr::$unary_a { dst, a },)*
                    $(
                        Instr::$binary_imm { dst, a, imm } if a == acc => {
                            Instr::$binary_imm_a { dst, a, imm }
                        }
                    )*
                    $(
                        Instr::$branch_cmp { a, b, target } if a == acc => {
                            Instr::$branch_cmp_a { a, b, target }
                        }
                        Instr::$branch_cmp { a, b, target } if b == acc => {
                            Instr::$branch_cmp_b { a, b, target }
                        }
                    )*
                    $(
                        Instr::$branch_cmp_imm { a, imm, target } if a == acc => {
                            Instr::$branch_cmp_imm_a { a, imm, target }
                        }
                    )*
                    other => other,
                }
            }

            /// The numeric instructions' result slot (each also leaves it in the accumulator).
            fn numeric_result_mut(&mut self) -> Option<&mut Slot> {
                match self {
                    $(
                        Instr::$binary { dst, .. }
                        | Instr::$binary_a { dst, .. }
                        | Instr::$binary_b { dst, .. } => Some(dst),
                    )*
                    $(Instr::$unary { dst, .. } | Instr::$unary_a { dst, .. } => Some(dst),)*
                    $(
                        Instr::$binary_imm { dst, .. } | Instr::$binary_imm_a { dst, .. } => {
                            Some(dst)
                        }
                    )*
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
                I32Add(I32AddA, I32AddB) I32Sub(I32SubA, I32SubB) I32Mul(I32MulA, I32MulB)
                I32DivS(I32DivSA, I32DivSB) I32DivU(I32DivUA, I32DivUB) I32RemS(I32RemSA, I32RemSB)
                I32RemU(I32RemUA, I32RemUB) I32And(I32AndA, I32AndB) I32Or(I32OrA, I32OrB)
                I32Xor(I32XorA, I32XorB)
                I32Shl(I32ShlA, I32ShlB) I32ShrS(I32ShrSA, I32ShrSB) I32ShrU(I32ShrUA, I32ShrUB)
                I32Rotl(I32RotlA, I32RotlB) I32Rotr(I32RotrA, I32RotrB)
                I32Eq(I32EqA, I32EqB) I32Ne(I32NeA, I32NeB) I32LtS(I32LtSA, I32LtSB)
                I32LtU(I32LtUA, I32LtUB) I32GtS(I32GtSA, I32GtSB) I32GtU(I32GtUA, I32GtUB)
                I32LeS(I32LeSA, I32LeSB) I32LeU(I32LeUA, I32LeUB) I32GeS(I32GeSA, I32GeSB)
                I32GeU(I32GeUA, I32GeUB)
                I64Add(I64AddA, I64AddB) I64Sub(I64SubA, I64SubB) I64Mul(I64MulA, I64MulB)
                I64DivS(I64DivSA, I64DivSB) I64DivU(I64DivUA, I64DivUB) I64RemS(I64RemSA, I64RemSB)
                I64RemU(I64RemUA, I64RemUB) I64And(I64AndA, I64AndB) I64Or(I64OrA, I64OrB)
                I64Xor(I64XorA, I64XorB)
                I64Shl(I64ShlA, I64ShlB) I64ShrS(I64ShrSA, I64ShrSB) I64ShrU(I64ShrUA, I64ShrUB)
                I64Rotl(I64RotlA, I64RotlB) I64Rotr(I64RotrA, I64RotrB)
                I64Eq(I64EqA, I64EqB) I64Ne(I64NeA, I64NeB) I64LtS(I64LtSA, I64LtSB)
                I64LtU(I64LtUA, I64LtUB) I64GtS(I64GtSA, I64GtSB) I64GtU(I64GtUA, I64GtUB)
                I64LeS(I64LeSA, I64LeSB) I64LeU(I64LeUA, I64LeUB) I64GeS(I64GeSA, I64GeSB)
                I64GeU(I64GeUA, I64GeUB)
                F32Add(F32AddA, F32AddB) F32Sub(F32SubA, F32SubB) F32Mul(F32MulA, F32MulB)
                F32Div(F32DivA, F32DivB) F32Min(F32MinA, F32MinB) F32Max(F32MaxA, F32MaxB)
                F32Copysign(F32CopysignA, F32CopysignB)
                F32Eq(F32EqA, F32EqB) F32Ne(F32NeA, F32NeB) F32Lt(F32LtA, F32LtB)
                F32Gt(F32GtA, F32GtB) F32Le(F32LeA, F32LeB) F32Ge(F32GeA, F32GeB)
                F64Add(F64AddA, F64AddB) F64Sub(F64SubA, F64SubB) F64Mul(F64MulA, F64MulB)
                F64Div(F64DivA, F64DivB) F64Min(F64MinA, F64MinB) F64Max(F64MaxA, F64MaxB)
                F64Copysign(F64CopysignA, F64CopysignB)
                F64Eq(F64EqA, F64EqB) F64Ne(F64NeA, F64NeB) F64Lt(F64LtA, F64LtB)
                F64Gt(F64GtA, F64GtB) F64Le(F64LeA, F64LeB) F64Ge(F64GeA, F64GeB)
            ],
            unary: [
                I32Clz(I32ClzA) I32Ctz(I32CtzA) I32Popcnt(I32PopcntA) I32Eqz(I32EqzA)
                I32Extend8S(I32Extend8SA) I32Extend16S(I32Extend16SA)
                I64Clz(I64ClzA) I64Ctz(I64CtzA) I64Popcnt(I64PopcntA) I64Eqz(I64EqzA)
                I64Extend8S(I64Extend8SA) I64Extend16S(I64Extend16SA) I64Extend32S(I64Extend32SA)
                F32Abs(F32AbsA) F32Neg(F32NegA) F32Ceil(F32CeilA) F32Floor(F32FloorA)
                F32Trunc(F32TruncA) F32Nearest(F32NearestA) F32Sqrt(F32SqrtA)
                F64Abs(F64AbsA) F64Neg(F64NegA) F64Ceil(F64CeilA) F64Floor(F64FloorA)
                F64Trunc(F64TruncA) F64Nearest(F64NearestA) F64Sqrt(F64SqrtA)
                I32TruncF32S(I32TruncF32SA) I32TruncF32U(I32TruncF32UA) I32TruncF64S(I32TruncF64SA)
                I32TruncF64U(I32TruncF64UA)
                I64TruncF32S(I64TruncF32SA) I64TruncF32U(I64TruncF32UA) I64TruncF64S(I64TruncF64SA)
                I64TruncF64U(I64TruncF64UA)
                I32TruncSatF32S(I32TruncSatF32SA) I32TruncSatF32U(I32TruncSatF32UA)
                I32TruncSatF64S(I32TruncSatF64SA) I32TruncSatF64U(I32TruncSatF64UA)
                I64TruncSatF32S(I64TruncSatF32SA) I64TruncSatF32U(I64TruncSatF32UA)
                I64TruncSatF64S(I64TruncSatF64SA) I64TruncSatF64U(I64TruncSatF64UA)
                I64ExtendI32S(I64ExtendI32SA) I64ExtendI32U(I64ExtendI32UA)
                F32ConvertI32S(F32ConvertI32SA) F32ConvertI32U(F32ConvertI32UA)
                F32ConvertI64S(F32ConvertI64SA) F32ConvertI64U(F32ConvertI64UA)
                F32DemoteF64(F32DemoteF64A)
                F64ConvertI32S(F64ConvertI32SA) F64ConvertI32U(F64ConvertI32UA)
                F64ConvertI64S(F64ConvertI64SA) F64ConvertI64U(F64ConvertI64UA)
                F64PromoteF32(F64PromoteF32A)
            ],
            binary_imm: [
                I32AddImm(I32AddImmA) I32MulImm(I32MulImmA) I32AndImm(I32AndImmA)
                I32OrImm(I32OrImmA) I32XorImm(I32XorImmA) I32ShlImm(I32ShlImmA)
                I32ShrSImm(I32ShrSImmA) I32ShrUImm(I32ShrUImmA)
                I64AddImm(I64AddImmA) I64MulImm(I64MulImmA) I64AndImm(I64AndImmA)
                I64OrImm(I64OrImmA)
                I64XorImm(I64XorImmA) I64ShlImm(I64ShlImmA) I64ShrSImm(I64ShrSImmA)
                I64ShrUImm(I64ShrUImmA)
            ],
            branch_cmp: [
                BrIfEq(BrIfEqA, BrIfEqB) BrIfNe(BrIfNeA, BrIfNeB) BrIfLtS(BrIfLtSA, BrIfLtSB)
                BrIfLtU(BrIfLtUA, BrIfLtUB) BrIfGtS(BrIfGtSA, BrIfGtSB) BrIfGtU(BrIfGtUA, BrIfGtUB)
                BrIfLeS(BrIfLeSA, BrIfLeSB) BrIfLeU(BrIfLeUA, BrIfLeUB) BrIfGeS(BrIfGeSA, BrIfGeSB)
                BrIfGeU(BrIfGeUA, BrIfGeUB)
                BrIfEq64(BrIfEq64A, BrIfEq64B) BrIfNe64(BrIfNe64A, BrIfNe64B)
                BrIfLtS64(BrIfLtS64A, BrIfLtS64B) BrIfLtU64(BrIfLtU64A, BrIfLtU64B)
                BrIfGtS64(BrIfGtS64A, BrIfGtS64B) BrIfGtU64(BrIfGtU64A, BrIfGtU64B)
                BrIfLeS64(BrIfLeS64A, BrIfLeS64B) BrIfLeU64(BrIfLeU64A, BrIfLeU64B)
                BrIfGeS64(BrIfGeS64A, BrIfGeS64B) BrIfGeU64(BrIfGeU64A, BrIfGeU64B)
            ],
            branch_cmp_imm: [
                BrIfEqImm(BrIfEqImmA) BrIfNeImm(BrIfNeImmA) BrIfLtSImm(BrIfLtSImmA)
                BrIfLtUImm(BrIfLtUImmA) BrIfGtSImm(BrIfGtSImmA) BrIfGtUImm(BrIfGtUImmA)
                BrIfLeSImm(BrIfLeSImmA) BrIfLeUImm(BrIfLeUImmA) BrIfGeSImm(BrIfGeSImmA)
                BrIfGeUImm(BrIfGeUImmA)
            ],
            other: {
                /// Trap with [`TrapCode::Unreachable`](crate::TrapCode::Unreachable).
                Unreachable,
                /// Jump.
                Br { target: Target },
                /// Jump when `cond` (an `i32`) is not zero.
                BrIfNez { cond: Slot, target: Target },
                /// `BrIfNez` with `cond` from the accumulator.
                BrIfNezA { cond: Slot, target: Target },
                /// Jump when `cond` (an `i32`) is zero.
                BrIfEqz { cond: Slot, target: Target },
                /// `BrIfEqz` with `cond` from the accumulator.
                BrIfEqzA { cond: Slot, target: Target },
                /// Jump when `cond` (an `i64`) is not zero.
                BrIfNez64 { cond: Slot, target: Target },
                /// `BrIfNez64` with `cond` from the accumulator.
                BrIfNez64A { cond: Slot, target: Target },
                /// Jump when `cond` (an `i64`) is zero.
                BrIfEqz64 { cond: Slot, target: Target },
                /// `BrIfEqz64` with `cond` from the accumulator.
                BrIfEqz64A { cond: Slot, target: Target },
                /// `dst = a + imm` (`i32`), then jump when the `i32` comparison of `dst` and `b`
                /// holds: the usual end of a counting loop in one instruction.
                AddImmBrIfEq { dst: Slot, a: Slot, imm: i32, b: Slot, target: Target },
                AddImmBrIfNe { dst: Slot, a: Slot, imm: i32, b: Slot, target: Target },
                AddImmBrIfLtS { dst: Slot, a: Slot, imm: i32, b: Slot, target: Target },
                AddImmBrIfLtU { dst: Slot, a: Slot, imm: i32, b: Slot, target: Target },
                AddImmBrIfGtS { dst: Slot, a: Slot, imm: i32, b: Slot, target: Target },
                AddImmBrIfGtU { dst: Slot, a: Slot, imm: i32, b: Slot, target: Target },
                AddImmBrIfLeS { dst: Slot, a: Slot, imm: i32, b: Slot, target: Target },
                AddImmBrIfLeU { dst: Slot, a: Slot, imm: i32, b: Slot, target: Target },
                AddImmBrIfGeS { dst: Slot, a: Slot, imm: i32, b: Slot, target: Target },
                AddImmBrIfGeU { dst: Slot, a: Slot, imm: i32, b: Slot, target: Target },
                /// `dst = a + add` (`i32`), then jump when the `i32` comparison of `dst` and
                /// `b` holds.
                AddBrIfEq { dst: Slot, a: Slot, add: Slot, b: Slot, target: Target },
                AddBrIfNe { dst: Slot, a: Slot, add: Slot, b: Slot, target: Target },
                AddBrIfLtS { dst: Slot, a: Slot, add: Slot, b: Slot, target: Target },
                AddBrIfLtU { dst: Slot, a: Slot, add: Slot, b: Slot, target: Target },
                AddBrIfGtS { dst: Slot, a: Slot, add: Slot, b: Slot, target: Target },
                AddBrIfGtU { dst: Slot, a: Slot, add: Slot, b: Slot, target: Target },
                AddBrIfLeS { dst: Slot, a: Slot, add: Slot, b: Slot, target: Target },
                AddBrIfLeU { dst: Slot, a: Slot, add: Slot, b: Slot, target: Target },
                AddBrIfGeS { dst: Slot, a: Slot, add: Slot, b: Slot, target: Target },
                AddBrIfGeU { dst: Slot, a: Slot, add: Slot, b: Slot, target: Target },
                /// `dst = a + (b << shift)` (`i32`): an `i32.shl` by a constant fused into the
                /// `i32.add` of its result (indexing an array).
                I32AddShl { dst: Slot, a: Slot, b: Slot, shift: u8 },
                /// Copy `count` slots from `src` down to `dst` (ascending), then jump.
                BrCopy { dst: Slot, src: Slot, count: u32, target: Target },
                /// Execute the `min(index, len)`-th of the `len + 1` branch instructions that
                /// follow (`Br`, `BrCopy` or `Return`).
                BrTable { index: Slot, len: u32 },
                /// `BrTable` with `index` from the accumulator.
                BrTableA { index: Slot, len: u32 },
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
                /// `Select` with `cond` from the accumulator.
                SelectA { dst: Slot, cond: Slot, a: Slot, b: Slot },
                /// `Select` on an `i64` condition (`i64.eqz` fused into a `select`).
                Select64 { dst: Slot, cond: Slot, a: Slot, b: Slot },
                /// `Select64` with `cond` from the accumulator.
                Select64A { dst: Slot, cond: Slot, a: Slot, b: Slot },
                /// `dst = global`.
                GlobalGet { dst: Slot, global: u32 },
                /// `global = src`.
                GlobalSet { src: Slot, global: u32 },
                /// `dst = funcref of module function func`.
                RefFunc { dst: Slot, func: u32 },
                /// Loads of memory 0 at `addr + offset`, sign- or zero-extended to 64 bits; the
                /// `A` variants take `addr` from the accumulator.
                Load8S { dst: Slot, addr: Slot, offset: u32 },
                Load8SA { dst: Slot, addr: Slot, offset: u32 },
                Load8U { dst: Slot, addr: Slot, offset: u32 },
                Load8UA { dst: Slot, addr: Slot, offset: u32 },
                Load16S { dst: Slot, addr: Slot, offset: u32 },
                Load16SA { dst: Slot, addr: Slot, offset: u32 },
                Load16U { dst: Slot, addr: Slot, offset: u32 },
                Load16UA { dst: Slot, addr: Slot, offset: u32 },
                Load32S { dst: Slot, addr: Slot, offset: u32 },
                Load32SA { dst: Slot, addr: Slot, offset: u32 },
                Load32U { dst: Slot, addr: Slot, offset: u32 },
                Load32UA { dst: Slot, addr: Slot, offset: u32 },
                Load64 { dst: Slot, addr: Slot, offset: u32 },
                Load64A { dst: Slot, addr: Slot, offset: u32 },
                /// `f32.load` and `f64.load`: as `Load32U` and `Load64`, also leaving the
                /// value in the float accumulator.
                LoadF32 { dst: Slot, addr: Slot, offset: u32 },
                LoadF32A { dst: Slot, addr: Slot, offset: u32 },
                LoadF64 { dst: Slot, addr: Slot, offset: u32 },
                LoadF64A { dst: Slot, addr: Slot, offset: u32 },
                /// Stores of the low bytes of `src` to memory 0 at `addr + offset`; the `A`
                /// variants take `addr` from the accumulator, the `B` variants `src`.
                Store8 { addr: Slot, src: Slot, offset: u32 },
                Store8A { addr: Slot, src: Slot, offset: u32 },
                Store8B { addr: Slot, src: Slot, offset: u32 },
                Store16 { addr: Slot, src: Slot, offset: u32 },
                Store16A { addr: Slot, src: Slot, offset: u32 },
                Store16B { addr: Slot, src: Slot, offset: u32 },
                Store32 { addr: Slot, src: Slot, offset: u32 },
                Store32A { addr: Slot, src: Slot, offset: u32 },
                Store32B { addr: Slot, src: Slot, offset: u32 },
                Store64 { addr: Slot, src: Slot, offset: u32 },
                Store64A { addr: Slot, src: Slot, offset: u32 },
                Store64B { addr: Slot, src: Slot, offset: u32 },
                /// Loads and stores at `a + (b << shift) + offset`, the first sum wrapping at 32
                /// bits: an `i32.add` (and an `i32.shl` by a constant feeding it) fused into
                /// the access that uses its result as the address.
                Load8SAdd { dst: Slot, a: Slot, b: Slot, shift: u8, offset: u32 },
                Load8UAdd { dst: Slot, a: Slot, b: Slot, shift: u8, offset: u32 },
                Load16SAdd { dst: Slot, a: Slot, b: Slot, shift: u8, offset: u32 },
                Load16UAdd { dst: Slot, a: Slot, b: Slot, shift: u8, offset: u32 },
                Load32SAdd { dst: Slot, a: Slot, b: Slot, shift: u8, offset: u32 },
                Load32UAdd { dst: Slot, a: Slot, b: Slot, shift: u8, offset: u32 },
                Load64Add { dst: Slot, a: Slot, b: Slot, shift: u8, offset: u32 },
                /// `local = a + imm` (`i32`), then `dst` = the `i32` at `local + offset`: a
                /// pointer stepped and loaded through (`*++p`).
                StepLoad32U { dst: Slot, local: Slot, a: Slot, imm: i32, offset: u32 },
                LoadF32Add { dst: Slot, a: Slot, b: Slot, shift: u8, offset: u32 },
                LoadF64Add { dst: Slot, a: Slot, b: Slot, shift: u8, offset: u32 },
                Store8Add { a: Slot, b: Slot, shift: u8, src: Slot, offset: u32 },
                Store16Add { a: Slot, b: Slot, shift: u8, src: Slot, offset: u32 },
                Store32Add { a: Slot, b: Slot, shift: u8, src: Slot, offset: u32 },
                Store64Add { a: Slot, b: Slot, shift: u8, src: Slot, offset: u32 },
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

// The op code is a `u16`: every variant must have one.
const _: () = assert!(Instr::COUNT <= 1 << 16);

/// Which float accumulator an instruction leaves its result in, or reads an operand from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FloatAcc {
    F32,
    F64,
}

impl Instr {
    /// The float accumulator this instruction leaves its result in (besides the integer
    /// accumulator, which every instruction with a result sets), if any.
    #[rustfmt::skip]
    pub fn float_result(&self) -> Option<FloatAcc> {
        use Instr::*;
        match self {
            F32Add { .. } | F32AddA { .. } | F32AddB { .. } | F32Sub { .. } | F32SubA { .. }
            | F32SubB { .. } | F32Mul { .. } | F32MulA { .. } | F32MulB { .. } | F32Div { .. }
            | F32DivA { .. } | F32DivB { .. } | F32Min { .. } | F32MinA { .. } | F32MinB { .. }
            | F32Max { .. } | F32MaxA { .. } | F32MaxB { .. } | F32Copysign { .. }
            | F32CopysignA { .. } | F32CopysignB { .. } | F32Abs { .. } | F32AbsA { .. }
            | F32Neg { .. } | F32NegA { .. } | F32Ceil { .. } | F32CeilA { .. }
            | F32Floor { .. } | F32FloorA { .. } | F32Trunc { .. } | F32TruncA { .. }
            | F32Nearest { .. } | F32NearestA { .. } | F32Sqrt { .. } | F32SqrtA { .. }
            | F32ConvertI32S { .. } | F32ConvertI32SA { .. } | F32ConvertI32U { .. }
            | F32ConvertI32UA { .. } | F32ConvertI64S { .. } | F32ConvertI64SA { .. }
            | F32ConvertI64U { .. } | F32ConvertI64UA { .. } | F32DemoteF64 { .. }
            | F32DemoteF64A { .. } | LoadF32 { .. } | LoadF32A { .. } | LoadF32Add { .. }
                => Some(FloatAcc::F32),
            F64Add { .. } | F64AddA { .. } | F64AddB { .. } | F64Sub { .. } | F64SubA { .. }
            | F64SubB { .. } | F64Mul { .. } | F64MulA { .. } | F64MulB { .. } | F64Div { .. }
            | F64DivA { .. } | F64DivB { .. } | F64Min { .. } | F64MinA { .. } | F64MinB { .. }
            | F64Max { .. } | F64MaxA { .. } | F64MaxB { .. } | F64Copysign { .. }
            | F64CopysignA { .. } | F64CopysignB { .. } | F64Abs { .. } | F64AbsA { .. }
            | F64Neg { .. } | F64NegA { .. } | F64Ceil { .. } | F64CeilA { .. }
            | F64Floor { .. } | F64FloorA { .. } | F64Trunc { .. } | F64TruncA { .. }
            | F64Nearest { .. } | F64NearestA { .. } | F64Sqrt { .. } | F64SqrtA { .. }
            | F64ConvertI32S { .. } | F64ConvertI32SA { .. } | F64ConvertI32U { .. }
            | F64ConvertI32UA { .. } | F64ConvertI64S { .. } | F64ConvertI64SA { .. }
            | F64ConvertI64U { .. } | F64ConvertI64UA { .. } | F64PromoteF32 { .. }
            | F64PromoteF32A { .. } | LoadF64 { .. } | LoadF64A { .. } | LoadF64Add { .. }
                => Some(FloatAcc::F64),
            _ => None,
        }
    }

    /// The float accumulator an accumulator variant reads its operand from, if it reads a
    /// float: the instruction before it must have left the operand there (see
    /// [`Instr::float_result`]).
    #[rustfmt::skip]
    pub fn float_acc_operand(&self) -> Option<FloatAcc> {
        use Instr::*;
        match self {
            F32AddA { .. } | F32AddB { .. } | F32SubA { .. } | F32SubB { .. } | F32MulA { .. }
            | F32MulB { .. } | F32DivA { .. } | F32DivB { .. } | F32MinA { .. } | F32MinB { .. }
            | F32MaxA { .. } | F32MaxB { .. } | F32CopysignA { .. } | F32CopysignB { .. }
            | F32EqA { .. } | F32EqB { .. } | F32NeA { .. } | F32NeB { .. } | F32LtA { .. }
            | F32LtB { .. } | F32GtA { .. } | F32GtB { .. } | F32LeA { .. } | F32LeB { .. }
            | F32GeA { .. } | F32GeB { .. } | F32AbsA { .. } | F32NegA { .. } | F32CeilA { .. }
            | F32FloorA { .. } | F32TruncA { .. } | F32NearestA { .. } | F32SqrtA { .. }
            | I32TruncF32SA { .. } | I32TruncF32UA { .. } | I64TruncF32SA { .. }
            | I64TruncF32UA { .. } | I32TruncSatF32SA { .. } | I32TruncSatF32UA { .. }
            | I64TruncSatF32SA { .. } | I64TruncSatF32UA { .. } | F64PromoteF32A { .. }
                => Some(FloatAcc::F32),
            F64AddA { .. } | F64AddB { .. } | F64SubA { .. } | F64SubB { .. } | F64MulA { .. }
            | F64MulB { .. } | F64DivA { .. } | F64DivB { .. } | F64MinA { .. } | F64MinB { .. }
            | F64MaxA { .. } | F64MaxB { .. } | F64CopysignA { .. } | F64CopysignB { .. }
            | F64EqA { .. } | F64EqB { .. } | F64NeA { .. } | F64NeB { .. } | F64LtA { .. }
            | F64LtB { .. } | F64GtA { .. } | F64GtB { .. } | F64LeA { .. } | F64LeB { .. }
            | F64GeA { .. } | F64GeB { .. } | F64AbsA { .. } | F64NegA { .. } | F64CeilA { .. }
            | F64FloorA { .. } | F64TruncA { .. } | F64NearestA { .. } | F64SqrtA { .. }
            | I32TruncF64SA { .. } | I32TruncF64UA { .. } | I64TruncF64SA { .. }
            | I64TruncF64UA { .. } | I32TruncSatF64SA { .. } | I32TruncSatF64UA { .. }
            | I64TruncSatF64SA { .. } | I64TruncSatF64UA { .. } | F32DemoteF64A { .. }
                => Some(FloatAcc::F64),
            _ => None,
        }
    }

    /// Whether execution never continues with the next instruction.
    pub fn is_terminator(&self) -> bool {
        matches!(
            self,
            Instr::Unreachable | Instr::Br { .. } | Instr::BrCopy { .. } | Instr::Return { .. }
        )
    }

    /// This instruction reading operand slot `acc` from the accumulator instead, when it has
    /// a variant for that (else itself). The caller knows that the accumulator holds the
    /// slot's value: the instruction before wrote it, and nothing jumps in between.
    pub fn with_acc(self, acc: Slot) -> Self {
        match self {
            Instr::BrIfNez { cond, target } if cond == acc => Instr::BrIfNezA { cond, target },
            Instr::BrIfEqz { cond, target } if cond == acc => Instr::BrIfEqzA { cond, target },
            Instr::BrIfNez64 { cond, target } if cond == acc => Instr::BrIfNez64A { cond, target },
            Instr::BrIfEqz64 { cond, target } if cond == acc => Instr::BrIfEqz64A { cond, target },
            Instr::BrTable { index, len } if index == acc => Instr::BrTableA { index, len },
            Instr::Select { dst, cond, a, b } if cond == acc => Instr::SelectA { dst, cond, a, b },
            Instr::Select64 { dst, cond, a, b } if cond == acc => {
                Instr::Select64A { dst, cond, a, b }
            }
            other => other
                .access_with_acc(acc)
                .unwrap_or_else(|| other.numeric_with_acc(acc)),
        }
    }

    /// The slot this instruction writes and also leaves in the accumulator, if any.
    pub fn acc_result(&self) -> Option<Slot> {
        let mut copy = *self;
        copy.acc_result_mut().copied()
    }

    /// As [`Instr::acc_result`], to redirect the result.
    pub fn acc_result_mut(&mut self) -> Option<&mut Slot> {
        match self {
            Instr::Copy { dst, .. }
            | Instr::Select { dst, .. }
            | Instr::SelectA { dst, .. }
            | Instr::Select64 { dst, .. }
            | Instr::Select64A { dst, .. }
            | Instr::GlobalGet { dst, .. }
            | Instr::I32AddShl { dst, .. }
            | Instr::StepLoad32U { dst, .. } => Some(dst),
            other => other.load_or_numeric_result_mut(),
        }
    }

    /// The branch target, for the instructions that have one.
    pub fn target(&self) -> Option<Target> {
        let mut copy = *self;
        copy.target_mut().copied()
    }

    /// Points a branch instruction at `target` (used to resolve forward jumps).
    pub fn set_target(&mut self, new: Target) {
        match self.target_mut() {
            Some(target) => *target = new,
            None => unreachable!("{self:?} is not a branch"),
        }
    }
}

/// The frame template's length is a multiple of this many slots.
pub(crate) const FRAME_INIT_CHUNK: usize = 4;

/// A function translated for the interpreter.
#[derive(Debug)]
pub(crate) struct CompiledFunc {
    pub code: Box<[Op]>,
    pub num_params: u32,
    /// What the slots after the parameters start as at every entry: zeros for the declared
    /// locals, then the constant pool up to the last constant an instruction reads, then
    /// zeros up to a whole number of [`FRAME_INIT_CHUNK`]s (the padding lands in pool slots
    /// nothing reads or in temporaries, which are written before they are read;
    /// `frame_size` covers it).
    pub frame_init: Box<[u64]>,
    /// Slots a frame of this function needs.
    pub frame_size: u32,
    /// The frame size the quick call path checks the value stack's room against:
    /// `frame_size`, or [`QUICK_CALLS_FORBIDDEN`] once the function has native code, so
    /// that a check the quick path makes anyway sends interpreted callers to the general
    /// call path, which runs the native code.
    pub quick_frame_size: AtomicU32,
    /// The labels native code can take a running frame over at (loop OSR), sorted by
    /// instruction.
    #[cfg(feature = "jit")]
    pub osr_points: Box<[OsrPoint]>,
    /// The ends of the blocks that have a loop inside (or are one), where an OSR entry gives
    /// the frame back to the interpreter, sorted by block.
    #[cfg(feature = "jit")]
    pub osr_exits: Box<[OsrExit]>,
}

/// A label at which a running interpreter frame can continue in native code (loop OSR):
/// where the Wasm state is when a backward branch arrives there. The Wasm locals are always
/// in the frame's first slots; the operand stack is described entry by entry.
#[cfg(feature = "jit")]
#[derive(Debug)]
pub(crate) struct OsrPoint {
    /// The label's instruction (index in [`CompiledFunc::code`]).
    pub label: u32,
    /// Where it is in the body.
    pub at: OsrAt,
    /// The innermost loop around it (counted in `loop` operators from the start of the
    /// body), which the tier events of its OSR entry name.
    pub loop_index: u32,
    /// The loops around `loop_index`, outermost first: a frame at this point gets to their
    /// headers again.
    pub outer_loops: Box<[u32]>,
    /// The block (see [`OsrAt`]) of the outermost loop around the point, or at it: the loop
    /// nest the point's OSR entry is compiled for. An entry that does not run the frame to
    /// its return gives it back to the interpreter at an [`OsrExit`] when the frame leaves
    /// the nest (see `jit::translate`).
    pub nest: u32,
    /// The Wasm operand stack there, bottom first.
    pub stack: Box<[OsrValue]>,
}

/// The end of a block that contains a loop, where an OSR entry whose loop nest is in the
/// block (or is the block) gives a frame that leaves the nest back to the interpreter: where
/// the code after the block reads the Wasm state. The Wasm locals are in the frame's first
/// slots, as at an [`OsrPoint`].
#[cfg(feature = "jit")]
#[derive(Debug)]
pub(crate) struct OsrExit {
    /// The block (see [`OsrAt`]).
    pub block: u32,
    /// The instruction the interpreter goes on at (index in [`CompiledFunc::code`]).
    pub label: u32,
    /// The Wasm operand stack there, bottom first: the entries below the block, then its
    /// results.
    pub stack: Box<[OsrValue]>,
}

/// Which label of the body an [`OsrPoint`] is, by block: blocks are counted in `block`,
/// `loop` and `if` operators from the start of the body.
#[cfg(feature = "jit")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OsrAt {
    /// A loop's header, where its backward branches arrive.
    LoopHeader(u32),
    /// A block's end, inside a loop. A backward branch arrives there when the loop's
    /// back-edges became copies of its header's `br_table` dispatch (the translator's
    /// `replicate_dispatch`), whose arms jump to the ends of the blocks around it.
    BlockEnd(u32),
}

/// Where one operand-stack entry is at a loop header.
#[cfg(feature = "jit")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OsrValue {
    /// In this frame slot (a local, a pool constant or a temporary).
    Slot(Slot),
    /// This constant, which the frame may not hold (a constant that became an immediate).
    Const(u64),
}

/// A [`CompiledFunc::quick_frame_size`] no value stack has room for.
#[cfg(feature = "jit")]
pub(crate) const QUICK_CALLS_FORBIDDEN: u32 = u32::MAX;

impl CompiledFunc {
    /// Sends every later interpreted call of this function to the general call path (see
    /// [`CompiledFunc::quick_frame_size`]).
    #[cfg(feature = "jit")]
    pub fn forbid_quick_calls(&self) {
        self.quick_frame_size
            .store(QUICK_CALLS_FORBIDDEN, Ordering::Relaxed);
    }

    /// The OSR point whose label is the instruction at `label`.
    #[cfg(feature = "jit")]
    pub fn osr_point_at(&self, label: u32) -> Option<usize> {
        self.osr_points
            .binary_search_by_key(&label, |point| point.label)
            .ok()
    }

    /// Bytes of instructions and frame template.
    pub fn size_in_bytes(&self) -> usize {
        std::mem::size_of_val(&*self.code) + std::mem::size_of_val(&*self.frame_init)
    }
}
