//! Translation of a validated Wasm function body into register-machine code.
//!
//! The translator keeps a virtual operand stack whose entries are a local, a constant, or a
//! temporary that lives in the slot reserved for its stack depth. Locals and constants are
//! read where they are; an operator's result goes to the next operator's `local.set` target
//! when there is one; an `i32` comparison feeding `br_if` or `if` becomes one fused branch.
//! At a block boundary every value is in the slot of its depth, so a branch only copies a
//! block's results down to where the block started.

use std::cell::Cell;
use std::mem::ManuallyDrop;
use std::sync::atomic::AtomicU32;

use wasmparser::{BlockType, FunctionBody, Operator};

use super::exec::Op;
use super::ir::{
    Cmp, CompiledFunc, FRAME_INIT_CHUNK, FloatAcc, Instr, Slot, Target, for_each_numeric,
};
#[cfg(feature = "jit")]
use super::ir::{OsrAt, OsrExit, OsrPoint, OsrValue};
use crate::module::ModuleInner;

/// Translates defined function `func` (module index space) of a validated module.
pub(crate) fn translate(module: &ModuleInner, func: u32) -> CompiledFunc {
    let slot = module.code_slot(func);
    let body = FunctionBody::new(wasmparser::BinaryReader::new(
        &module.bytes[slot.body.clone()],
        slot.body.start as u64,
    ));
    let ty = module.func_type(func);
    let num_params = ty.params().len() as u32;
    let mut num_locals = num_params;
    let locals = body.get_locals_reader().expect("validated");
    for local in locals {
        let (count, _) = local.expect("validated");
        num_locals += count;
    }
    let mut scratch = SCRATCH.take().unwrap_or_default();
    let mut operators = scratch.operators();
    // Compiled code averages a little over two bytes per operator: make room for that many,
    // so that the vector rarely grows.
    operators.reserve(slot.body.len() / 2 + 4);
    // The constant pool is gathered in the same pass.
    let mut consts = std::mem::take(&mut scratch.consts);
    consts.clear();
    let mut reader = body.get_operators_reader().expect("validated");
    while !reader.eof() {
        let op = reader.read().expect("validated");
        consts.extend(const_bits(&op));
        operators.push(ManuallyDrop::new(op));
    }
    let mut translator = Translator::new(module, num_locals, consts, operators.len(), &mut scratch);
    translator.push_control(ControlKind::Function, 0, ty.results().len() as u32);
    translator.translate(&operators);
    let compiled = translator.finish(num_params, &mut scratch);
    scratch.keep_operators(operators);
    SCRATCH.set(Some(scratch));
    compiled
}

thread_local! {
    /// The buffers of the thread's last translation, for its next one.
    static SCRATCH: Cell<Option<Box<Scratch>>> = const { Cell::new(None) };
}

/// The buffers a translation works in, kept for the next translation on the thread, so that
/// translating a function allocates little more than its result.
#[derive(Default)]
struct Scratch {
    /// Always empty here; only its allocation is kept. The operators are never dropped:
    /// those that own heap data (`try_table`, `resume`) belong to proposals the validator
    /// refuses, and clearing a vector of the others one by one is a measurable cost.
    operators: Vec<ManuallyDrop<Operator<'static>>>,
    stack: Vec<Entry>,
    controls: Vec<Control>,
    labels: Vec<Option<u32>>,
    fixups: Vec<(usize, Label)>,
    consts: Vec<u64>,
    code: Vec<Op>,
    block_writes: Vec<Slot>,
}

impl Scratch {
    /// The operator buffer, empty, for operators of any lifetime.
    fn operators<'a>(&mut self) -> Vec<ManuallyDrop<Operator<'a>>> {
        // Collecting an empty vector into a vector of a type with the same layout reuses the
        // allocation.
        std::mem::take(&mut self.operators)
            .into_iter()
            .map(|_| unreachable!("the buffer is empty"))
            .collect()
    }

    /// Keeps the operator buffer's allocation.
    fn keep_operators(&mut self, mut operators: Vec<ManuallyDrop<Operator<'_>>>) {
        operators.clear();
        self.operators = operators
            .into_iter()
            .map(|_| unreachable!("the buffer is empty"))
            .collect();
    }
}

/// Where a value on the virtual operand stack is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Entry {
    /// In local `n` (its current value: a write to the local first materialises the entry).
    Local(Slot),
    /// A constant in the given slot of the pool.
    Const(Slot, u64),
    /// In the temporary slot of its stack depth.
    Temp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ControlKind {
    Function,
    Block,
    Loop,
    If,
}

#[derive(Debug)]
struct Control {
    kind: ControlKind,
    /// Stack height below the block's parameters.
    height: usize,
    params: u32,
    results: u32,
    /// Where a branch to this block goes: the loop header, or the end.
    branch_label: Label,
    end_label: Label,
    /// For `if`: where the condition jumps when false, until `else` binds it.
    else_label: Option<Label>,
    /// Whether the code before the block was reachable.
    reachable_at_entry: bool,
    /// Which block of the body it is (see `OsrAt`).
    #[cfg(feature = "jit")]
    block_index: u32,
    /// For a loop: which loop of the body it is (see `OsrPoint::loop_index`).
    #[cfg(feature = "jit")]
    loop_index: Option<u32>,
    /// Whether the block is a loop or has one inside, so that its end is an [`OsrExit`].
    #[cfg(feature = "jit")]
    contains_loop: bool,
}

impl Control {
    /// How many values a branch to this block carries.
    fn branch_arity(&self) -> u32 {
        if self.kind == ControlKind::Loop {
            self.params
        } else {
            self.results
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Label(usize);

/// A branch condition, fused from the operator that produced it.
#[derive(Debug, Clone, Copy)]
enum Condition {
    NonZero(Slot),
    Zero(Slot),
    NonZero64(Slot),
    Zero64(Slot),
    I32(Cmp, Slot, Slot),
    I32Imm(Cmp, Slot, i32),
    I64(Cmp, Slot, Slot),
}

impl Condition {
    fn negate(self) -> Self {
        match self {
            Condition::NonZero(s) => Condition::Zero(s),
            Condition::Zero(s) => Condition::NonZero(s),
            Condition::NonZero64(s) => Condition::Zero64(s),
            Condition::Zero64(s) => Condition::NonZero64(s),
            Condition::I32(cmp, a, b) => Condition::I32(cmp.negate(), a, b),
            Condition::I64(cmp, a, b) => Condition::I64(cmp.negate(), a, b),
            Condition::I32Imm(cmp, a, imm) => Condition::I32Imm(cmp.negate(), a, imm),
        }
    }

    fn branch(self, target: Target) -> Instr {
        match self {
            Condition::NonZero(cond) => Instr::BrIfNez { cond, target },
            Condition::Zero(cond) => Instr::BrIfEqz { cond, target },
            Condition::NonZero64(cond) => Instr::BrIfNez64 { cond, target },
            Condition::Zero64(cond) => Instr::BrIfEqz64 { cond, target },
            Condition::I32(cmp, a, b) => cmp.branch(a, b, target),
            Condition::I64(cmp, a, b) => cmp.branch64(a, b, target),
            Condition::I32Imm(cmp, a, imm) => cmp.branch_imm(a, imm, target),
        }
    }
}

struct Translator<'m> {
    module: &'m ModuleInner,
    code: Vec<Op>,
    stack: Vec<Entry>,
    controls: Vec<Control>,
    /// Bound position of each label.
    labels: Vec<Option<u32>>,
    /// Branch instructions waiting for their label to be bound.
    fixups: Vec<(usize, Label)>,
    /// The constant pool, sorted, in the slots after the locals.
    consts: Vec<u64>,
    num_locals: u32,
    /// First temporary slot: after the locals and the constant pool.
    temp_base: u32,
    max_height: usize,
    reachable: bool,
    /// Nesting depth of blocks inside unreachable code being skipped.
    skipped_depth: usize,
    /// The slot whose value the accumulator holds after the last instruction emitted, when
    /// the next one can only be reached from it.
    acc: Option<Slot>,
    /// What `acc` was before the last instruction was emitted.
    acc_before_last: Option<Slot>,
    /// How many constants of the pool, from the first, the frame template initialises: one
    /// past the last that an instruction reads.
    consts_read: Cell<u32>,
    /// Instructions copied by [`Translator::replicate_dispatch`] so far.
    replicated: usize,
    /// The locals that the block about to be entered writes, when `block_writes_known` (see
    /// [`locals_written_by_block`]).
    block_writes: Vec<Slot>,
    block_writes_known: bool,
    /// `block`, `loop` and `if` operators read so far, reachable or not.
    #[cfg(feature = "jit")]
    blocks_seen: u32,
    /// `loop` operators read so far, reachable or not.
    #[cfg(feature = "jit")]
    loops_seen: u32,
    /// The OSR points of the loops translated so far, in code order.
    #[cfg(feature = "jit")]
    osr_points: Vec<OsrPoint>,
    /// The OSR exits of the blocks ended so far, in the order of their ends.
    #[cfg(feature = "jit")]
    osr_exits: Vec<OsrExit>,
}

impl<'m> Translator<'m> {
    fn new(
        module: &'m ModuleInner,
        num_locals: u32,
        mut consts: Vec<u64>,
        num_operators: usize,
        scratch: &mut Scratch,
    ) -> Self {
        // The pool, sorted (a constant's slot is found by binary search).
        consts.sort_unstable();
        consts.dedup();
        let mut stack = std::mem::take(&mut scratch.stack);
        let mut controls = std::mem::take(&mut scratch.controls);
        let mut labels = std::mem::take(&mut scratch.labels);
        let mut fixups = std::mem::take(&mut scratch.fixups);
        let mut code = std::mem::take(&mut scratch.code);
        code.clear();
        code.reserve(num_operators);
        stack.clear();
        controls.clear();
        labels.clear();
        fixups.clear();
        Translator {
            module,
            code,
            stack,
            controls,
            labels,
            fixups,
            temp_base: num_locals + consts.len() as u32,
            consts,
            num_locals,
            max_height: 0,
            reachable: true,
            skipped_depth: 0,
            acc: None,
            acc_before_last: None,
            block_writes: std::mem::take(&mut scratch.block_writes),
            block_writes_known: false,
            replicated: 0,
            consts_read: Cell::new(0),
            #[cfg(feature = "jit")]
            blocks_seen: 0,
            #[cfg(feature = "jit")]
            loops_seen: 0,
            #[cfg(feature = "jit")]
            osr_points: Vec::new(),
            #[cfg(feature = "jit")]
            osr_exits: Vec::new(),
        }
    }

    /// Resolves forward branches. The executor relies on what the debug assertions check:
    /// the code ends in a terminator and every branch target is inside it.
    fn finish(mut self, num_params: u32, scratch: &mut Scratch) -> CompiledFunc {
        debug_assert!(self.fixups.is_sorted_by_key(|&(at, _)| at));
        for &(at, label) in &self.fixups {
            let target = self.labels[label.0].expect("every used label is bound");
            debug_assert!((target as usize) < self.code.len());
            self.code[at].set_target(relative(at, target));
        }
        // A jump to a return is a return.
        for at in 0..self.code.len() {
            if let Instr::Br { target } = *self.code[at].instr() {
                let target = (at as i64 + target as i64) as usize;
                if let Instr::Return { .. } = self.code[target].instr() {
                    self.code[at] = self.code[target];
                }
            }
        }
        debug_assert!(
            self.code
                .last()
                .is_some_and(|op| op.instr().is_terminator())
        );
        let declared_locals = (self.num_locals - num_params) as usize;
        // Only the constants some instruction reads: the rest became immediates.
        let consts_read = &self.consts[..self.consts_read.get() as usize];
        // Whole chunks, so that a call copies fixed-size blocks (see `CompiledFunc`).
        let template_len = (declared_locals + consts_read.len()).next_multiple_of(FRAME_INIT_CHUNK);
        let mut frame_init = Vec::with_capacity(template_len);
        frame_init.resize(declared_locals, 0);
        frame_init.extend_from_slice(consts_read);
        frame_init.resize(template_len, 0);
        let frame_size =
            (self.temp_base + self.max_height as u32).max(num_params + frame_init.len() as u32);
        #[cfg(feature = "jit")]
        let osr_points = std::mem::take(&mut self.osr_points);
        #[cfg(feature = "jit")]
        let osr_exits = {
            let mut exits = std::mem::take(&mut self.osr_exits);
            exits.sort_unstable_by_key(|exit| exit.block);
            exits.into_boxed_slice()
        };
        scratch.stack = self.stack;
        scratch.controls = self.controls;
        scratch.labels = self.labels;
        scratch.fixups = self.fixups;
        scratch.consts = self.consts;
        scratch.block_writes = self.block_writes;
        // One allocation of the exact size: shrinking a vector of 32-byte aligned
        // instructions in place would allocate and copy anyway.
        let code = Box::from(self.code.as_slice());
        scratch.code = self.code;
        CompiledFunc {
            code,
            num_params,
            frame_init: frame_init.into_boxed_slice(),
            frame_size,
            quick_frame_size: AtomicU32::new(frame_size),
            #[cfg(feature = "jit")]
            osr_points: osr_points.into_boxed_slice(),
            #[cfg(feature = "jit")]
            osr_exits,
        }
    }

    // ---- operand stack ----

    fn temp(&self, depth: usize) -> Slot {
        self.temp_base + depth as Slot
    }

    /// The slot of the entry at `depth`, as an instruction's operand.
    fn slot_at(&self, depth: usize) -> Slot {
        match self.stack[depth] {
            Entry::Local(slot) => slot,
            Entry::Const(slot, _) => self.const_read(slot),
            Entry::Temp => self.temp(depth),
        }
    }

    fn pop_entry(&mut self) -> (Entry, Slot) {
        let depth = self.stack.len() - 1;
        let slot = self.slot_at(depth);
        (self.stack.pop().expect("validated"), slot)
    }

    fn pop(&mut self) -> Slot {
        self.pop_entry().1
    }

    fn push(&mut self, entry: Entry) {
        self.stack.push(entry);
        self.max_height = self.max_height.max(self.stack.len());
    }

    /// Pushes a temporary and returns its slot.
    fn push_temp(&mut self) -> Slot {
        self.push(Entry::Temp);
        self.temp(self.stack.len() - 1)
    }

    /// The pool slot holding the constant `bits`, if the function has that constant, as an
    /// instruction's operand.
    fn const_slot(&self, bits: u64) -> Option<Slot> {
        let index = self.consts.binary_search(&bits).ok()?;
        Some(self.const_read(self.num_locals + index as Slot))
    }

    /// Records that an instruction reads pool slot `slot`, so the frame template must
    /// initialise it (see [`Translator::consts_read`]).
    fn const_read(&self, slot: Slot) -> Slot {
        let count = slot - self.num_locals + 1;
        if count > self.consts_read.get() {
            self.consts_read.set(count);
        }
        slot
    }

    fn push_const(&mut self, bits: u64) {
        let index = self
            .consts
            .binary_search(&bits)
            .expect("the pool has every constant");
        self.push(Entry::Const(self.num_locals + index as Slot, bits));
    }

    /// Moves the value at `depth` into its temporary slot.
    fn materialize(&mut self, depth: usize) {
        if let Entry::Local(_) | Entry::Const(..) = self.stack[depth] {
            let src = self.slot_at(depth);
            let dst = self.temp(depth);
            self.emit(Instr::Copy { dst, src });
            self.stack[depth] = Entry::Temp;
        }
    }

    fn materialize_top(&mut self, count: u32) {
        let len = self.stack.len();
        for depth in len - count as usize..len {
            self.materialize(depth);
        }
    }

    /// Materialises every entry that reads local `local`, before the local is written.
    fn materialize_local(&mut self, local: Slot) {
        for depth in 0..self.stack.len() {
            if self.stack[depth] == Entry::Local(local) {
                self.materialize(depth);
            }
        }
    }

    /// Materialises the local entries whose local the block being entered writes: at a
    /// block boundary, the branches in and out of the block must not depend on which writes
    /// to locals happened on the way. (A local the block does not write keeps its value
    /// throughout, so its entries can stay.)
    fn materialize_locals_written_by_block(&mut self) {
        let known = std::mem::take(&mut self.block_writes_known);
        for depth in 0..self.stack.len() {
            if let Entry::Local(local) = self.stack[depth]
                && (!known || self.block_writes.contains(&local))
            {
                self.materialize(depth);
            }
        }
    }

    /// Chooses where an operator's result goes: straight into the local of a following
    /// `local.set` / `local.tee` (consuming that operator), else a new temporary.
    fn result_slot(&mut self, next: Option<&Operator<'_>>, consumed: &mut bool) -> Slot {
        match next {
            Some(&Operator::LocalSet { local_index }) => {
                self.materialize_local(local_index);
                *consumed = true;
                local_index
            }
            Some(&Operator::LocalTee { local_index }) => {
                self.materialize_local(local_index);
                *consumed = true;
                self.push(Entry::Local(local_index));
                local_index
            }
            _ => self.push_temp(),
        }
    }

    // ---- code and labels ----

    /// Appends an instruction, reading its operand from the accumulator when the
    /// instruction before left that operand there.
    fn emit(&mut self, instr: Instr) {
        self.acc_before_last = self.acc;
        let instr = match (self.acc, instr) {
            // A single result computed just before returning goes straight to slot 0.
            (Some(slot), Instr::Return { src, count: 1 }) if slot == src => {
                let producer = self.code.last_mut().expect("the accumulator is set");
                producer.redirect_result(0);
                Instr::Return { src: 0, count: 1 }
            }
            (Some(slot), original) => {
                let mut instr = original.with_acc(slot);
                // A float operand is read from a float accumulator, which only the
                // instructions with a float result set.
                if let Some(width) = instr.float_acc_operand()
                    && self.last_float_result() != Some(width)
                {
                    instr = original;
                }
                let reads_acc = std::mem::discriminant(&instr) != std::mem::discriminant(&original);
                if reads_acc && self.is_dead_after(slot, &instr) {
                    let producer = self.code.last_mut().expect("the accumulator is set");
                    producer.keep_result_in_acc();
                }
                instr
            }
            (None, instr) => instr,
        };
        self.acc = instr.acc_result();
        self.code.push(Op::new(instr));
    }

    /// The float accumulator the last instruction set. (When `acc` says what the accumulator
    /// holds, the last instruction is the one that put it there.)
    fn last_float_result(&self) -> Option<FloatAcc> {
        self.code.last().and_then(|op| op.instr().float_result())
    }

    /// Whether nothing reads `slot` after `consumer` (emitted next) before writing it: it
    /// is a temporary that is no longer on the operand stack, or that `consumer` writes.
    fn is_dead_after(&self, slot: Slot, consumer: &Instr) -> bool {
        slot >= self.temp(self.stack.len())
            || slot >= self.temp_base && consumer.acc_result() == Some(slot)
    }

    fn new_label(&mut self) -> Label {
        self.labels.push(None);
        Label(self.labels.len() - 1)
    }

    fn bind(&mut self, label: Label) {
        // Code reached by a jump cannot know what the accumulator holds.
        self.acc = None;
        self.labels[label.0] = Some(self.code.len() as u32);
    }

    /// Emits a branch instruction whose target is `label`.
    fn emit_branch(&mut self, instr: Instr, label: Label) {
        let mut instr = self.fuse_add_into_branch(instr);
        if let (Instr::Br { .. }, Some(target)) = (instr, self.labels[label.0])
            && self.replicate_dispatch(target as usize)
        {
            return;
        }
        match self.labels[label.0] {
            Some(target) => instr.set_target(relative(self.code.len(), target)),
            None => self.fixups.push((self.code.len(), label)),
        }
        self.emit(instr);
    }

    /// For a jump back to `target`, where a short sequence ends in a `br_table` (the
    /// dispatch of an interpreter loop written in Wasm): emits a copy of that sequence instead
    /// and returns `true`. Each jump back then has a `br_table` of its own, which the
    /// processor's branch predictor tells apart from the others, and the jump itself is
    /// saved. Returns `false`, emitting nothing, when the code at `target` is not like that or
    /// the function has used up its budget for copies.
    fn replicate_dispatch(&mut self, target: usize) -> bool {
        let mut end = None;
        for at in target..self.code.len().min(target + MAX_DISPATCH_HEAD) {
            let instr = self.code[at].instr();
            match *instr {
                Instr::BrTable { len, .. } | Instr::BrTableA { len, .. } => {
                    end = Some(at + len as usize + 2);
                    break;
                }
                _ if instr.is_terminator() || instr.target().is_some() => return false,
                _ => {}
            }
        }
        let Some(end) = end.filter(|&end| end <= self.code.len()) else {
            return false;
        };
        if self.replicated + (end - target) > MAX_REPLICATED {
            return false;
        }
        self.replicated += end - target;
        // The arms whose labels are not bound yet: their copies need fixups too. (Fixups are
        // in code order, as branches are emitted at the end of the code.)
        debug_assert!(self.fixups.is_sorted_by_key(|&(at, _)| at));
        let first = self.fixups.partition_point(|&(at, _)| at < target);
        let pending: Vec<(usize, Label)> = self.fixups[first..]
            .iter()
            .take_while(|&&(at, _)| at < end)
            .copied()
            .collect();
        let offset = self.code.len() - target;
        for at in target..end {
            let mut op = self.code[at];
            if let Some(relative) = op.instr().target() {
                let new_at = at + offset;
                match pending.iter().find(|(pending_at, _)| *pending_at == at) {
                    Some(&(_, label)) => self.fixups.push((new_at, label)),
                    None => op.set_target(relative - offset as Target),
                }
            }
            self.code.push(op);
        }
        // Only reached by jumps from here on.
        self.acc = None;
        true
    }

    /// Removes the last instruction, to fuse it into the next one.
    fn pop_last(&mut self) {
        self.code.pop();
        if let Some(producer) = self.code.last_mut() {
            producer.store_result();
        }
        self.acc = self.acc_before_last.take();
    }

    /// The last instruction if it wrote `slot` and nothing can jump between it and the next
    /// one (so that it can be fused into the next one).
    fn last_instr_writing(&self, slot: Slot) -> Option<Instr> {
        if self.acc != Some(slot) {
            return None;
        }
        self.code.last().map(|op| *op.instr())
    }

    /// The last instruction if it is an `i32.add` (of two slots, or of a slot and an
    /// immediate) that wrote `sum`, and nothing can jump between it and the next one.
    fn last_add(&self, sum: Slot) -> Option<Instr> {
        match self.last_instr_writing(sum)? {
            add @ (Instr::I32Add { dst, .. }
            | Instr::I32AddA { dst, .. }
            | Instr::I32AddB { dst, .. }
            | Instr::I32AddImm { dst, .. }
            | Instr::I32AddImmA { dst, .. }
            | Instr::I32AddShl { dst, .. })
                if dst == sum =>
            {
                Some(add)
            }
            _ => None,
        }
    }

    /// `i32.add` with an operand that the instruction just before shifted left by a
    /// constant (`base + (index << k)`): one `I32AddShl`. Returns `false` when the operands
    /// are not like that.
    fn add_shifted(&mut self, next: Option<&Operator<'_>>, consumed: &mut bool) -> bool {
        let len = self.stack.len();
        let shifted = |depth: usize| match self.stack[depth] {
            Entry::Temp => match self.last_instr_writing(self.temp(depth)) {
                Some(Instr::I32ShlImm { a, imm, .. } | Instr::I32ShlImmA { a, imm, .. }) => {
                    Some((a, (imm & 31) as u8))
                }
                _ => None,
            },
            _ => None,
        };
        let (base, (index, shift)) = if let Some(shl) = shifted(len - 1) {
            (self.slot_at(len - 2), shl)
        } else if let Some(shl) = shifted(len - 2) {
            (self.slot_at(len - 1), shl)
        } else {
            return false;
        };
        self.pop_last();
        self.stack.truncate(len - 2);
        let dst = self.result_slot(next, consumed);
        self.emit(Instr::I32AddShl {
            dst,
            a: base,
            b: index,
            shift,
        });
        true
    }

    /// Fuses an `i32.add` just before an `i32` compare-and-branch on its result into one
    /// instruction (the end of a counting loop).
    fn fuse_add_into_branch(&mut self, branch: Instr) -> Instr {
        let compare = match branch {
            Instr::BrIfNez { cond, .. } => self.const_slot(0).map(|zero| (Cmp::Ne, cond, zero)),
            Instr::BrIfEqz { cond, .. } => self.const_slot(0).map(|zero| (Cmp::Eq, cond, zero)),
            // An immediate that came from an `i32.const` is also in the constant pool.
            _ => branch.as_compare_branch().or_else(|| {
                let (cmp, a, imm) = branch.as_compare_imm_branch()?;
                Some((cmp, a, self.const_slot(imm as u32 as u64)?))
            }),
        };
        let Some((cmp, a, b)) = compare else {
            return branch;
        };
        let (sum, cmp, other) = match self.acc {
            Some(sum) if sum == a => (sum, cmp, b),
            Some(sum) if sum == b => (sum, cmp.swap(), a),
            _ => return branch,
        };
        let fused = match self.last_add(sum) {
            Some(Instr::I32AddImm { dst, a, imm } | Instr::I32AddImmA { dst, a, imm }) => {
                cmp.add_imm_branch(dst, a, imm, other, 0)
            }
            Some(
                Instr::I32Add { dst, a, b }
                | Instr::I32AddA { dst, a, b }
                | Instr::I32AddB { dst, a, b },
            ) => cmp.add_branch(dst, a, b, other, 0),
            _ => return branch,
        };
        self.pop_last();
        fused
    }

    /// Emits a load or store whose address is `addr`; when that is a temporary holding the
    /// sum of two slots that the instruction just before computed, the addition is fused
    /// into the access, and when it is a local that the instruction just before stepped by
    /// a constant, a load is fused with the step.
    fn emit_access(&mut self, access: Instr, addr: (Entry, Slot)) {
        // A pointer stepped in its local and loaded through (`*++p`).
        if let (Entry::Local(local), Instr::Load32U { dst, offset, .. }) = (addr.0, access)
            && let Some(Instr::I32AddImm { a, imm, .. }) = self.last_add(local)
        {
            self.pop_last();
            self.emit(Instr::StepLoad32U {
                dst,
                local,
                a,
                imm,
                offset,
            });
            return;
        }
        let addends = match (addr, self.last_add(addr.1)) {
            (
                (Entry::Temp, _),
                Some(
                    Instr::I32Add { a, b, .. }
                    | Instr::I32AddA { a, b, .. }
                    | Instr::I32AddB { a, b, .. },
                ),
            ) => Some((a, b, 0)),
            ((Entry::Temp, _), Some(Instr::I32AddShl { a, b, shift, .. })) => Some((a, b, shift)),
            // An immediate that came from an `i32.const` is also in the constant pool.
            (
                (Entry::Temp, _),
                Some(Instr::I32AddImm { a, imm, .. } | Instr::I32AddImmA { a, imm, .. }),
            ) => self.const_slot(imm as u32 as u64).map(|b| (a, b, 0)),
            _ => None,
        };
        if let Some((a, b, shift)) = addends
            && let Some(fused) = access.with_address_sum(addr.1, a, b, shift)
        {
            self.pop_last();
            self.emit(fused);
            return;
        }
        self.emit(access);
    }

    // ---- control ----

    fn block_arity(&self, ty: BlockType) -> (u32, u32) {
        match ty {
            BlockType::Empty => (0, 0),
            BlockType::Type(_) => (0, 1),
            BlockType::FuncType(index) => {
                let ty = &self.module.types[index as usize];
                (ty.params().len() as u32, ty.results().len() as u32)
            }
        }
    }

    fn push_control(&mut self, kind: ControlKind, params: u32, results: u32) {
        let end_label = self.new_label();
        let branch_label = if kind == ControlKind::Loop {
            let label = self.new_label();
            self.bind(label);
            label
        } else {
            end_label
        };
        self.controls.push(Control {
            kind,
            height: self.stack.len() - params as usize,
            params,
            results,
            branch_label,
            end_label,
            else_label: None,
            reachable_at_entry: self.reachable,
            #[cfg(feature = "jit")]
            block_index: u32::MAX,
            #[cfg(feature = "jit")]
            loop_index: None,
            #[cfg(feature = "jit")]
            contains_loop: kind == ControlKind::Loop,
        });
    }

    fn enter_block(&mut self, kind: ControlKind, ty: BlockType, condition: Option<Condition>) {
        let (params, results) = self.block_arity(ty);
        self.materialize_locals_written_by_block();
        self.materialize_top(params);
        let else_label = condition.map(|condition| {
            let label = self.new_label();
            self.emit_branch(condition.negate().branch(0), label);
            label
        });
        self.push_control(kind, params, results);
        let control = self.controls.last_mut().expect("just pushed");
        control.else_label = else_label;
        #[cfg(feature = "jit")]
        {
            control.block_index = self.blocks_seen;
            self.blocks_seen += 1;
            if kind == ControlKind::Loop {
                control.loop_index = Some(self.loops_seen);
                self.loops_seen += 1;
            }
        }
    }

    /// Emits a branch to the block `depth` levels out, with its values; the values have
    /// been materialised at the top of the stack.
    fn branch_instr(&mut self, depth: u32) -> (Instr, Option<Label>) {
        let control = &self.controls[self.controls.len() - 1 - depth as usize];
        let arity = control.branch_arity();
        let src = match arity {
            1 => self.slot_at(self.stack.len() - 1),
            _ => self.temp(self.stack.len() - arity as usize),
        };
        if control.kind == ControlKind::Function {
            return (Instr::Return { src, count: arity }, None);
        }
        let dst = self.temp(control.height);
        let label = control.branch_label;
        let instr = if arity == 0 || src == dst {
            Instr::Br { target: 0 }
        } else {
            Instr::BrCopy {
                dst,
                src,
                count: arity,
                target: 0,
            }
        };
        (instr, Some(label))
    }

    /// Prepares the values a branch carries: several values must be in their temporaries, so
    /// that the ascending copy cannot overwrite one before it is read; a single value is
    /// copied from wherever it is.
    fn materialize_branch_values(&mut self, depth: u32) {
        let arity = self.controls[self.controls.len() - 1 - depth as usize].branch_arity();
        if arity > 1 {
            self.materialize_top(arity);
        }
    }

    fn emit_branch_to(&mut self, depth: u32) {
        self.materialize_branch_values(depth);
        match self.branch_instr(depth) {
            (instr, Some(label)) => self.emit_branch(instr, label),
            (instr, None) => self.emit(instr),
        }
    }

    fn emit_branch_if(&mut self, condition: Condition, depth: u32) {
        self.materialize_branch_values(depth);
        match self.branch_instr(depth) {
            (Instr::Br { .. }, Some(label)) => self.emit_branch(condition.branch(0), label),
            (instr, label) => {
                let skip = self.new_label();
                self.emit_branch(condition.negate().branch(0), skip);
                match label {
                    Some(label) => self.emit_branch(instr, label),
                    None => self.emit(instr),
                }
                self.bind(skip);
            }
        }
    }

    fn emit_br_table(&mut self, index: Slot, targets: &wasmparser::BrTable<'_>) {
        let default = targets.default();
        self.materialize_branch_values(default);
        self.emit(Instr::BrTable {
            index,
            len: targets.len(),
        });
        for depth in targets.targets().chain(std::iter::once(Ok(default))) {
            match self.branch_instr(depth.expect("validated")) {
                (instr, Some(label)) => self.emit_branch(instr, label),
                (instr, None) => self.emit(instr),
            }
        }
    }

    fn emit_return(&mut self) {
        let depth = self.controls.len() as u32 - 1;
        self.emit_branch_to(depth);
    }

    fn else_(&mut self) {
        let control = self.controls.last().expect("validated");
        let (height, params, end_label) = (control.height, control.params, control.end_label);
        if self.reachable {
            self.materialize_top(control.results);
            self.emit_branch(Instr::Br { target: 0 }, end_label);
        }
        let control = self.controls.last_mut().expect("validated");
        let else_label = control
            .else_label
            .take()
            .expect("validated: else follows if");
        self.reachable = control.reachable_at_entry;
        self.bind(else_label);
        self.stack.truncate(height);
        for _ in 0..params {
            self.push(Entry::Temp);
        }
    }

    /// Ends the innermost block; returns `true` when it was the function body.
    fn end(&mut self) -> bool {
        let control = self.controls.last().expect("validated");
        if control.kind == ControlKind::Function {
            if self.reachable {
                self.emit_return();
            }
            return true;
        }
        if self.reachable {
            self.materialize_top(control.results);
        }
        let control = self.controls.pop().expect("validated");
        if let Some(else_label) = control.else_label {
            self.bind(else_label);
        }
        self.bind(control.end_label);
        self.stack.truncate(control.height);
        for _ in 0..control.results {
            self.push(Entry::Temp);
        }
        self.reachable = control.reachable_at_entry;
        #[cfg(feature = "jit")]
        {
            if let Some(loop_index) = self.controls.iter().rev().find_map(|c| c.loop_index) {
                self.record_osr_point(OsrAt::BlockEnd(control.block_index), loop_index);
            }
            if control.contains_loop {
                self.record_osr_exit(control.block_index);
                self.controls
                    .last_mut()
                    .expect("the function's")
                    .contains_loop = true;
            }
        }
        false
    }

    /// The Wasm operand stack as [`OsrValue`]s: where the code at the label just bound reads
    /// each entry.
    #[cfg(feature = "jit")]
    fn osr_stack(&self) -> Box<[OsrValue]> {
        (0..self.stack.len())
            .map(|depth| match self.stack[depth] {
                Entry::Local(slot) => OsrValue::Slot(slot),
                Entry::Const(_, bits) => OsrValue::Const(bits),
                Entry::Temp => OsrValue::Slot(self.temp(depth)),
            })
            .collect()
    }

    /// Records where the Wasm state is at the end of block `block`, just left (see
    /// [`OsrExit`]); what [`Self::record_osr_point`] says of a block's end holds here too.
    #[cfg(feature = "jit")]
    fn record_osr_exit(&mut self, block: u32) {
        let exit = OsrExit {
            block,
            label: self.code.len() as u32,
            stack: self.osr_stack(),
        };
        self.osr_exits.push(exit);
    }

    /// Records where the Wasm state is at the label just bound, the header of the loop just
    /// entered or the end of the block just left, inside loop `loop_index` (see
    /// [`OsrPoint`]). It is what the code after the label reads, on every path that reaches
    /// it: the loop's parameters or the block's results in their temporaries, and every other
    /// entry where it was (a local entry's local is not written inside the block, and the
    /// temporaries below the block are not written in it). When labels share an instruction
    /// (nothing was emitted between them), the last one's point stands for all: their states
    /// are the same slots, described after the operators between them that emit nothing.
    #[cfg(feature = "jit")]
    fn record_osr_point(&mut self, at: OsrAt, loop_index: u32) {
        let label = self.code.len() as u32;
        let stack = self.osr_stack();
        let nest = self
            .controls
            .iter()
            .find(|control| control.loop_index.is_some())
            .expect("an OSR point is inside a loop")
            .block_index;
        let outer_loops = self
            .controls
            .iter()
            .filter_map(|control| control.loop_index)
            .filter(|&outer| outer != loop_index)
            .collect();
        let point = OsrPoint {
            label,
            at,
            loop_index,
            outer_loops,
            nest,
            stack,
        };
        match self.osr_points.last_mut() {
            Some(last) if last.label == label => *last = point,
            _ => self.osr_points.push(point),
        }
    }

    // ---- operators ----

    fn translate(&mut self, operators: &[ManuallyDrop<Operator<'_>>]) {
        let mut pos = 0;
        while pos < operators.len() {
            let op: &Operator<'_> = &operators[pos];
            let next = operators.get(pos + 1).map(|next| &**next);
            pos += 1;
            if !self.reachable {
                if self.skip_unreachable(op) {
                    return;
                }
                continue;
            }
            // A block (or an `if` that a comparison before it fuses with) is about to be
            // entered with locals on the operand stack: find which locals it writes.
            let body_start = match (op, next) {
                (Operator::Block { .. } | Operator::Loop { .. } | Operator::If { .. }, _) => {
                    Some(pos)
                }
                (_, Some(Operator::If { .. })) => Some(pos + 1),
                _ => None,
            };
            if let Some(start) = body_start {
                let has_locals = self.stack.iter().any(|e| matches!(e, Entry::Local(_)));
                self.block_writes_known = has_locals
                    && locals_written_by_block(&operators[start..], &mut self.block_writes);
            }
            let mut consumed = false;
            if self.operator(op, next, &mut consumed) {
                return;
            }
            if consumed {
                pos += 1;
            }
        }
    }

    /// In unreachable code, only block structure matters. Returns `true` at the function's end.
    fn skip_unreachable(&mut self, op: &Operator<'_>) -> bool {
        match op {
            Operator::Block { .. } | Operator::Loop { .. } | Operator::If { .. } => {
                #[cfg(feature = "jit")]
                {
                    self.blocks_seen += 1;
                    self.loops_seen += u32::from(matches!(op, Operator::Loop { .. }));
                }
                self.skipped_depth += 1;
            }
            Operator::Else if self.skipped_depth == 0 => self.else_(),
            Operator::End if self.skipped_depth == 0 => return self.end(),
            Operator::End => self.skipped_depth -= 1,
            _ => {}
        }
        false
    }

    fn binary(
        &mut self,
        make: impl FnOnce(Slot, Slot, Slot) -> Instr,
        next: Option<&Operator<'_>>,
        consumed: &mut bool,
    ) {
        let b = self.pop();
        let a = self.pop();
        let dst = self.result_slot(next, consumed);
        self.emit(make(dst, a, b));
    }

    fn unary(
        &mut self,
        make: impl FnOnce(Slot, Slot) -> Instr,
        next: Option<&Operator<'_>>,
        consumed: &mut bool,
    ) {
        let a = self.pop();
        let dst = self.result_slot(next, consumed);
        self.emit(make(dst, a));
    }

    /// A binary operator with an immediate form, used when the right operand is a constant
    /// that `fits` the immediate.
    fn binary_or_imm(
        &mut self,
        make: impl FnOnce(Slot, Slot, Slot) -> Instr,
        make_imm: impl FnOnce(Slot, Slot, i32) -> Instr,
        fits: fn(u64) -> bool,
        next: Option<&Operator<'_>>,
        consumed: &mut bool,
    ) {
        match self.stack.last() {
            Some(&Entry::Const(_, bits)) if fits(bits) => {
                self.stack.pop();
                let a = self.pop();
                let dst = self.result_slot(next, consumed);
                self.emit(make_imm(dst, a, bits as i32));
            }
            _ => self.binary(make, next, consumed),
        }
    }

    /// An integer comparison (`wide` for `i64`): fused with a following `br_if` or `if`.
    fn compare(
        &mut self,
        cmp: Cmp,
        wide: bool,
        make: fn(Slot, Slot, Slot) -> Instr,
        next: Option<&Operator<'_>>,
        consumed: &mut bool,
    ) {
        if !matches!(next, Some(Operator::BrIf { .. } | Operator::If { .. })) {
            return self.binary(make, next, consumed);
        }
        let condition = match self.stack.last() {
            Some(&Entry::Const(_, bits)) if !wide => {
                self.stack.pop();
                Condition::I32Imm(cmp, self.pop(), bits as i32)
            }
            _ => {
                let b = self.pop();
                let a = self.pop();
                if wide {
                    Condition::I64(cmp, a, b)
                } else {
                    Condition::I32(cmp, a, b)
                }
            }
        };
        *consumed = true;
        self.conditional(condition, next.expect("matched above"));
    }

    /// `i32.eqz` or `i64.eqz` followed by `br_if` or `if`: one branch on zero.
    fn branch_on_zero(
        &mut self,
        zero: fn(Slot) -> Condition,
        next: Option<&Operator<'_>>,
        consumed: &mut bool,
    ) {
        let a = self.pop();
        *consumed = true;
        self.conditional(zero(a), next.expect("the caller matched a conditional"));
    }

    fn conditional(&mut self, condition: Condition, op: &Operator<'_>) {
        match *op {
            Operator::BrIf { relative_depth } => self.emit_branch_if(condition, relative_depth),
            Operator::If { blockty } => self.enter_block(ControlKind::If, blockty, Some(condition)),
            _ => unreachable!("only br_if and if take a condition"),
        }
    }

    fn call(&mut self, type_index: u32, make: impl FnOnce(Slot) -> Instr) {
        let ty = &self.module.types[type_index as usize];
        let (params, results) = (ty.params().len(), ty.results().len());
        self.materialize_top(params as u32);
        let height = self.stack.len() - params;
        self.emit(make(self.temp(height)));
        self.stack.truncate(height);
        for _ in 0..results {
            self.push(Entry::Temp);
        }
    }

    /// Translates one operator; returns `true` at the end of the function body.
    fn operator(
        &mut self,
        op: &Operator<'_>,
        next: Option<&Operator<'_>>,
        consumed: &mut bool,
    ) -> bool {
        macro_rules! numeric {
            (
                binary: [$($binary:ident $binary_acc:tt)*],
                unary: [$($unary:ident $unary_acc:tt)*],
                binary_imm: [$($imm:ident $imm_acc:tt)*],
                branch_cmp: [$($branch_cmp:ident $branch_cmp_acc:tt)*],
                branch_cmp_imm: [$($branch_cmp_imm:ident $branch_cmp_imm_acc:tt)*],
                other: {$($other:tt)*}
            ) => {
                match *op {
                    $(Operator::$binary => return { self.binary(|dst, a, b| Instr::$binary { dst, a, b }, next, consumed); false },)*
                    $(Operator::$unary => return { self.unary(|dst, a| Instr::$unary { dst, a }, next, consumed); false },)*
                    _ => {}
                }
            };
        }
        // `i32` operators read only the low 32 bits of a constant; `i64` ones sign-extend
        // the immediate, so only constants that survive that qualify.
        macro_rules! with_imm {
            ($op:ident, $imm:ident) => {
                self.binary_or_imm(
                    |dst, a, b| Instr::$op { dst, a, b },
                    |dst, a, imm| Instr::$imm { dst, a, imm },
                    |_| true,
                    next,
                    consumed,
                )
            };
            ($op:ident, $imm:ident, i64) => {
                self.binary_or_imm(
                    |dst, a, b| Instr::$op { dst, a, b },
                    |dst, a, imm| Instr::$imm { dst, a, imm },
                    |bits| bits as i64 == bits as i32 as i64,
                    next,
                    consumed,
                )
            };
        }
        macro_rules! compare {
            ($cmp:ident, $op:ident) => {
                self.compare(
                    Cmp::$cmp,
                    false,
                    |dst, a, b| Instr::$op { dst, a, b },
                    next,
                    consumed,
                )
            };
            ($cmp:ident, $op:ident, i64) => {
                self.compare(
                    Cmp::$cmp,
                    true,
                    |dst, a, b| Instr::$op { dst, a, b },
                    next,
                    consumed,
                )
            };
        }
        let conditional_next = matches!(next, Some(Operator::BrIf { .. } | Operator::If { .. }));
        match *op {
            // Operators with an immediate or fused form come before the generic tables.
            Operator::I32Add if self.add_shifted(next, consumed) => {}
            Operator::I32Add => with_imm!(I32Add, I32AddImm),
            // `x - c` is `x + (-c)`.
            Operator::I32Sub => self.binary_or_imm(
                |dst, a, b| Instr::I32Sub { dst, a, b },
                |dst, a, imm| Instr::I32AddImm {
                    dst,
                    a,
                    imm: imm.wrapping_neg(),
                },
                |_| true,
                next,
                consumed,
            ),
            Operator::I64Sub => self.binary_or_imm(
                |dst, a, b| Instr::I64Sub { dst, a, b },
                |dst, a, imm| Instr::I64AddImm {
                    dst,
                    a,
                    imm: imm.wrapping_neg(),
                },
                |bits| {
                    let negated = (bits as i64).wrapping_neg();
                    negated == negated as i32 as i64
                },
                next,
                consumed,
            ),
            Operator::I32Mul => with_imm!(I32Mul, I32MulImm),
            Operator::I32And => with_imm!(I32And, I32AndImm),
            Operator::I32Or => with_imm!(I32Or, I32OrImm),
            Operator::I32Xor => with_imm!(I32Xor, I32XorImm),
            Operator::I32Shl => with_imm!(I32Shl, I32ShlImm),
            Operator::I32ShrS => with_imm!(I32ShrS, I32ShrSImm),
            Operator::I32ShrU => with_imm!(I32ShrU, I32ShrUImm),
            Operator::I64Add => with_imm!(I64Add, I64AddImm, i64),
            Operator::I64Mul => with_imm!(I64Mul, I64MulImm, i64),
            Operator::I64And => with_imm!(I64And, I64AndImm, i64),
            Operator::I64Or => with_imm!(I64Or, I64OrImm, i64),
            Operator::I64Xor => with_imm!(I64Xor, I64XorImm, i64),
            Operator::I64ShrS => with_imm!(I64ShrS, I64ShrSImm, i64),
            Operator::I64Shl => with_imm!(I64Shl, I64ShlImm, i64),
            Operator::I64ShrU => with_imm!(I64ShrU, I64ShrUImm, i64),
            Operator::I32Eq => compare!(Eq, I32Eq),
            Operator::I32Ne => compare!(Ne, I32Ne),
            Operator::I32LtS => compare!(LtS, I32LtS),
            Operator::I32LtU => compare!(LtU, I32LtU),
            Operator::I32GtS => compare!(GtS, I32GtS),
            Operator::I32GtU => compare!(GtU, I32GtU),
            Operator::I32LeS => compare!(LeS, I32LeS),
            Operator::I32LeU => compare!(LeU, I32LeU),
            Operator::I32GeS => compare!(GeS, I32GeS),
            Operator::I32GeU => compare!(GeU, I32GeU),
            Operator::I64Eq => compare!(Eq, I64Eq, i64),
            Operator::I64Ne => compare!(Ne, I64Ne, i64),
            Operator::I64LtS => compare!(LtS, I64LtS, i64),
            Operator::I64LtU => compare!(LtU, I64LtU, i64),
            Operator::I64GtS => compare!(GtS, I64GtS, i64),
            Operator::I64GtU => compare!(GtU, I64GtU, i64),
            Operator::I64LeS => compare!(LeS, I64LeS, i64),
            Operator::I64LeU => compare!(LeU, I64LeU, i64),
            Operator::I64GeS => compare!(GeS, I64GeS, i64),
            Operator::I64GeU => compare!(GeU, I64GeU, i64),
            Operator::I32Eqz if conditional_next => {
                self.branch_on_zero(Condition::Zero, next, consumed)
            }
            Operator::I64Eqz if conditional_next => {
                self.branch_on_zero(Condition::Zero64, next, consumed)
            }
            _ => {
                for_each_numeric!(numeric);
                return self.other(op, next, consumed);
            }
        }
        false
    }

    /// Everything that is not a plain numeric operator. Returns `true` at the body's end.
    fn other(
        &mut self,
        op: &Operator<'_>,
        next: Option<&Operator<'_>>,
        consumed: &mut bool,
    ) -> bool {
        macro_rules! load {
            ($kind:ident, $memarg:expr) => {{
                let addr = self.pop_entry();
                let dst = self.result_slot(next, consumed);
                let access = Instr::$kind {
                    dst,
                    addr: addr.1,
                    offset: $memarg.offset as u32,
                };
                self.emit_access(access, addr);
            }};
        }
        macro_rules! store {
            ($kind:ident, $memarg:expr) => {{
                let src = self.pop();
                let addr = self.pop_entry();
                let access = Instr::$kind {
                    addr: addr.1,
                    src,
                    offset: $memarg.offset as u32,
                };
                self.emit_access(access, addr);
            }};
        }
        match *op {
            Operator::Nop => {}
            Operator::Unreachable => {
                self.emit(Instr::Unreachable);
                self.reachable = false;
            }
            Operator::Block { blockty } => self.enter_block(ControlKind::Block, blockty, None),
            Operator::Loop { blockty } => {
                self.enter_block(ControlKind::Loop, blockty, None);
                #[cfg(feature = "jit")]
                {
                    let control = self.controls.last().expect("just entered");
                    let at = OsrAt::LoopHeader(control.block_index);
                    self.record_osr_point(at, control.loop_index.expect("a loop"));
                }
            }
            Operator::If { blockty } => {
                let cond = self.pop();
                self.enter_block(ControlKind::If, blockty, Some(Condition::NonZero(cond)));
            }
            Operator::Else => self.else_(),
            Operator::End => return self.end(),
            Operator::Br { relative_depth } => {
                self.emit_branch_to(relative_depth);
                self.reachable = false;
            }
            Operator::BrIf { relative_depth } => {
                let cond = self.pop();
                self.emit_branch_if(Condition::NonZero(cond), relative_depth);
            }
            Operator::BrTable { ref targets } => {
                let index = self.pop();
                self.emit_br_table(index, targets);
                self.reachable = false;
            }
            Operator::Return => {
                self.emit_return();
                self.reachable = false;
            }
            Operator::Call { function_index } => {
                let type_index = self.module.funcs[function_index as usize];
                let imported = self.module.num_imported_funcs as u32;
                self.call(type_index, |base| {
                    match function_index.checked_sub(imported) {
                        Some(index) => Instr::Call { index, base },
                        None => Instr::CallImported {
                            func: function_index,
                            base,
                        },
                    }
                });
            }
            Operator::CallIndirect {
                type_index,
                table_index,
            } => {
                let index = self.pop();
                self.call(type_index, |base| Instr::CallIndirect {
                    table: table_index,
                    type_index,
                    index,
                    base,
                });
            }
            Operator::Drop => {
                self.pop();
            }
            Operator::Select | Operator::TypedSelect { .. } | Operator::TypedSelectMulti { .. } => {
                let cond = self.pop_entry();
                let b = self.pop();
                let a = self.pop();
                // `select(a, b, eqz(x))` is `select(b, a, x)`.
                let negated = match (cond, self.last_instr_writing(cond.1)) {
                    (
                        (Entry::Temp, _),
                        Some(Instr::I32Eqz { a: x, .. } | Instr::I32EqzA { a: x, .. }),
                    ) => Some((x, false)),
                    (
                        (Entry::Temp, _),
                        Some(Instr::I64Eqz { a: x, .. } | Instr::I64EqzA { a: x, .. }),
                    ) => Some((x, true)),
                    _ => None,
                };
                if negated.is_some() {
                    self.pop_last();
                }
                let dst = self.result_slot(next, consumed);
                self.emit(match negated {
                    None => Instr::Select {
                        dst,
                        cond: cond.1,
                        a,
                        b,
                    },
                    Some((x, false)) => Instr::Select {
                        dst,
                        cond: x,
                        a: b,
                        b: a,
                    },
                    Some((x, true)) => Instr::Select64 {
                        dst,
                        cond: x,
                        a: b,
                        b: a,
                    },
                });
            }
            Operator::LocalGet { local_index } => self.push(Entry::Local(local_index)),
            Operator::LocalSet { local_index } | Operator::LocalTee { local_index } => {
                let src = self.pop();
                self.materialize_local(local_index);
                if src != local_index {
                    self.emit(Instr::Copy {
                        dst: local_index,
                        src,
                    });
                }
                if matches!(op, Operator::LocalTee { .. }) {
                    self.push(Entry::Local(local_index));
                }
            }
            Operator::GlobalGet { global_index } => {
                let dst = self.result_slot(next, consumed);
                self.emit(Instr::GlobalGet {
                    dst,
                    global: global_index,
                });
            }
            Operator::GlobalSet { global_index } => {
                let src = self.pop();
                self.emit(Instr::GlobalSet {
                    src,
                    global: global_index,
                });
            }
            Operator::I32Load { memarg } => load!(Load32U, memarg),
            Operator::I64Load { memarg } => load!(Load64, memarg),
            Operator::F32Load { memarg } => load!(LoadF32, memarg),
            Operator::F64Load { memarg } => load!(LoadF64, memarg),
            Operator::I32Load8S { memarg } | Operator::I64Load8S { memarg } => {
                load!(Load8S, memarg)
            }
            Operator::I32Load8U { memarg } | Operator::I64Load8U { memarg } => {
                load!(Load8U, memarg)
            }
            Operator::I32Load16S { memarg } | Operator::I64Load16S { memarg } => {
                load!(Load16S, memarg)
            }
            Operator::I32Load16U { memarg } | Operator::I64Load16U { memarg } => {
                load!(Load16U, memarg)
            }
            Operator::I64Load32S { memarg } => load!(Load32S, memarg),
            Operator::I64Load32U { memarg } => load!(Load32U, memarg),
            Operator::I32Store8 { memarg } | Operator::I64Store8 { memarg } => {
                store!(Store8, memarg)
            }
            Operator::I32Store16 { memarg } | Operator::I64Store16 { memarg } => {
                store!(Store16, memarg)
            }
            Operator::I32Store { memarg }
            | Operator::F32Store { memarg }
            | Operator::I64Store32 { memarg } => store!(Store32, memarg),
            Operator::I64Store { memarg } | Operator::F64Store { memarg } => {
                store!(Store64, memarg)
            }
            Operator::MemorySize { .. } => {
                let dst = self.result_slot(next, consumed);
                self.emit(Instr::MemorySize { dst });
            }
            Operator::MemoryGrow { .. } => {
                let delta = self.pop();
                let dst = self.result_slot(next, consumed);
                self.emit(Instr::MemoryGrow { dst, delta });
            }
            Operator::MemoryFill { .. } => {
                let len = self.pop();
                let value = self.pop();
                let dst = self.pop();
                self.emit(Instr::MemoryFill { dst, value, len });
            }
            Operator::MemoryCopy { .. } => {
                let len = self.pop();
                let src = self.pop();
                let dst = self.pop();
                self.emit(Instr::MemoryCopy { dst, src, len });
            }
            Operator::MemoryInit { data_index, .. } => {
                let len = self.pop();
                let src = self.pop();
                let dst = self.pop();
                self.emit(Instr::MemoryInit {
                    segment: data_index,
                    dst,
                    src,
                    len,
                });
            }
            Operator::DataDrop { data_index } => self.emit(Instr::DataDrop {
                segment: data_index,
            }),
            Operator::TableGet { table } => {
                let index = self.pop();
                let dst = self.result_slot(next, consumed);
                self.emit(Instr::TableGet { dst, table, index });
            }
            Operator::TableSet { table } => {
                let value = self.pop();
                let index = self.pop();
                self.emit(Instr::TableSet {
                    table,
                    index,
                    value,
                });
            }
            Operator::TableSize { table } => {
                let dst = self.result_slot(next, consumed);
                self.emit(Instr::TableSize { dst, table });
            }
            Operator::TableGrow { table } => {
                let delta = self.pop();
                let init = self.pop();
                let dst = self.result_slot(next, consumed);
                self.emit(Instr::TableGrow {
                    dst,
                    table,
                    init,
                    delta,
                });
            }
            Operator::TableFill { table } => {
                let len = self.pop();
                let value = self.pop();
                let dst = self.pop();
                self.emit(Instr::TableFill {
                    table,
                    dst,
                    value,
                    len,
                });
            }
            Operator::TableCopy {
                dst_table,
                src_table,
            } => {
                let len = self.pop();
                let src = self.pop();
                let dst = self.pop();
                self.emit(Instr::TableCopy {
                    dst_table,
                    src_table,
                    dst,
                    src,
                    len,
                });
            }
            Operator::TableInit { elem_index, table } => {
                let len = self.pop();
                let src = self.pop();
                let dst = self.pop();
                self.emit(Instr::TableInit {
                    table,
                    segment: elem_index,
                    dst,
                    src,
                    len,
                });
            }
            Operator::ElemDrop { elem_index } => self.emit(Instr::ElemDrop {
                segment: elem_index,
            }),
            Operator::RefFunc { function_index } => {
                let dst = self.result_slot(next, consumed);
                self.emit(Instr::RefFunc {
                    dst,
                    func: function_index,
                });
            }
            Operator::RefIsNull => {
                let a = self.pop();
                let dst = self.result_slot(next, consumed);
                self.emit(Instr::I64Eqz { dst, a });
            }
            // Bits stay as they are: 32-bit reads ignore the upper half of a slot.
            Operator::I32WrapI64
            | Operator::I32ReinterpretF32
            | Operator::I64ReinterpretF64
            | Operator::F32ReinterpretI32
            | Operator::F64ReinterpretI64 => {}
            ref constant => match const_bits(constant) {
                Some(bits) => self.push_const(bits),
                None => unreachable!("the validator rejects {constant:?}"),
            },
        }
        false
    }
}

/// The slot encoding of a constant operator, or `None` for other operators.
/// The longest sequence before a `br_table` that [`Translator::replicate_dispatch`] copies.
const MAX_DISPATCH_HEAD: usize = 12;

/// The most instructions [`Translator::replicate_dispatch`] copies in one function.
const MAX_REPLICATED: usize = 4096;

/// The most operators of a block body that [`locals_written_by_block`] looks at, which bounds
/// the translation time a function with deeply nested blocks can cost.
const MAX_BLOCK_SCAN: usize = 256;

/// Puts into `written` the locals written by the block whose body starts at `body[0]` (up to
/// its `end`); `false` when the body is longer than [`MAX_BLOCK_SCAN`] operators.
fn locals_written_by_block(body: &[ManuallyDrop<Operator<'_>>], written: &mut Vec<Slot>) -> bool {
    written.clear();
    let mut depth = 0usize;
    for op in body.iter().take(MAX_BLOCK_SCAN) {
        match **op {
            Operator::Block { .. } | Operator::Loop { .. } | Operator::If { .. } => depth += 1,
            Operator::End if depth == 0 => return true,
            Operator::End => depth -= 1,
            Operator::LocalSet { local_index } | Operator::LocalTee { local_index } => {
                written.push(local_index);
            }
            _ => {}
        }
    }
    false
}

fn const_bits(op: &Operator<'_>) -> Option<u64> {
    Some(match *op {
        Operator::I32Const { value } => value as u32 as u64,
        Operator::I64Const { value } => value as u64,
        Operator::F32Const { value } => value.bits() as u64,
        Operator::F64Const { value } => value.bits(),
        Operator::RefNull { .. } => 0,
        _ => return None,
    })
}

/// The branch offset from the instruction at index `at` to the instruction at index `target`.
fn relative(at: usize, target: u32) -> Target {
    i32::try_from(target as i64 - at as i64).expect("functions have fewer than 2^31 instructions")
}
