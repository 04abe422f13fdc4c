//! Wasm operators straight to Cranelift IR, with `cranelift-frontend`: locals become
//! `Variable`s, Wasm blocks become Cranelift blocks whose parameters carry the block results.
//!
//! The native signature of a Wasm function of type `[params] -> [results]` is
//! `(vmctx, params…) -> (status: i32, results…)` in the host's default calling convention
//! (see [`super::status`]): a non-zero status means the callee trapped, its results are
//! undefined, and every caller returns it on at once. Nothing here relies on signal handlers:
//! every trap is an explicit branch to a block that returns its status.
//!
//! An OSR entry (loop OSR) is the same function compiled to start at one loop header with
//! the state of an interpreter frame: `(vmctx, _, frame) -> status`, the array trampolines'
//! shape, reading the locals and the operand stack from the frame's slots (as the
//! interpreter's [`OsrPoint`] says where they are) and writing the results to its first
//! slots, where a returning interpreted function leaves them. The body is translated as
//! usual from its first operator, but nothing jumps to its start: the entry block jumps to a
//! block that loads the frame and joins the translation at the loop, and Cranelift drops the
//! code before the loop that only the start reaches.
//!
//! When its loop is in the function's first loop nest (the outermost loop around it,
//! [`OsrPoint::nest`]) and the code after the nest is larger than the nest, an OSR entry runs
//! only the nest and then gives the frame back: the continuations of that loop and of the
//! blocks around it store the locals and the operand stack into the frame's slots where the
//! interpreter reads them after the block ([`OsrExit`]) and return [`status::exited_at`] that
//! instruction. Such a nest is likely the function's initialisation, which the frame leaves
//! soon, and the code after it the kernel, which would more than double the entry's compile
//! time (so that it is often ready only after the frame has left the nest) and which gets an
//! entry of its own when it runs hot. A later nest is likely a kernel, which the frame stays
//! in: its entry has the rest of the function compiled in, so that the frame is native to its
//! return without waiting for a second entry.

use std::collections::HashMap;

use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::immediates::{Ieee32, Ieee64};
use cranelift_codegen::ir::{
    AbiParam, Block, BlockArg, Endianness, InstBuilder, InstructionData, JumpTableData,
    MemFlagsData, Opcode, SigRef, Signature, StackSlot, StackSlotData, StackSlotKind, Type, Value,
    ValueDef, types,
};
use cranelift_codegen::isa::{CallConv, TargetIsa};
use cranelift_frontend::{FunctionBuilder, Variable};
use wasmparser::{BlockType, FunctionBody, MemArg, Operator};

use crate::error::TrapCode;
use crate::interp::{OsrAt, OsrExit, OsrPoint, OsrValue};
use crate::module::ModuleInner;
use crate::module::types::{FuncType, ValType};

use super::bulk::BulkOp;
use super::entry::{Helpers, layout};
use super::status;

/// Why a function cannot be compiled; it then stays interpreted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CompileError {
    /// An operator this tier does not translate yet.
    Unsupported(&'static str),
    /// The body could not be read, or Cranelift refused the function.
    Failed(String),
}

impl std::fmt::Display for CompileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CompileError::Unsupported(what) => write!(f, "not supported yet: {what}"),
            CompileError::Failed(message) => f.write_str(message),
        }
    }
}

impl From<wasmparser::BinaryReaderError> for CompileError {
    fn from(error: wasmparser::BinaryReaderError) -> Self {
        CompileError::Failed(error.to_string())
    }
}

type Result<T> = std::result::Result<T, CompileError>;

/// The Cranelift type of a Wasm value type; references are their 64-bit slot encoding.
pub(crate) fn clif_type(ty: ValType) -> Type {
    match ty {
        ValType::I32 => types::I32,
        ValType::I64 | ValType::FuncRef | ValType::ExternRef => types::I64,
        ValType::F32 => types::F32,
        ValType::F64 => types::F64,
    }
}

/// The native signature of functions of type `ty` (see the module documentation).
pub(crate) fn native_signature(ty: &FuncType, call_conv: CallConv) -> Signature {
    let mut signature = Signature::new(call_conv);
    signature.params.push(AbiParam::new(types::I64));
    signature
        .params
        .extend(ty.params().iter().map(|ty| AbiParam::new(clif_type(*ty))));
    signature.returns.push(AbiParam::new(types::I32));
    signature
        .returns
        .extend(ty.results().iter().map(|ty| AbiParam::new(clif_type(*ty))));
    signature
}

/// The signature of array trampolines and OSR entries: `(vmctx, body, slots) -> status`.
pub(crate) fn array_signature(call_conv: CallConv) -> Signature {
    let mut signature = Signature::new(call_conv);
    signature.params.extend([AbiParam::new(types::I64); 3]);
    signature.returns.push(AbiParam::new(types::I32));
    signature
}

/// A value as the 64-bit slot that stores it (32-bit values zero-extended).
pub(crate) fn encode_slot(builder: &mut FunctionBuilder<'_>, value: Value, ty: Type) -> Value {
    match ty {
        types::I32 => builder.ins().uextend(types::I64, value),
        types::F32 => {
            let bits = builder
                .ins()
                .bitcast(types::I32, MemFlagsData::new(), value);
            builder.ins().uextend(types::I64, bits)
        }
        types::F64 => builder
            .ins()
            .bitcast(types::I64, MemFlagsData::new(), value),
        _ => value,
    }
}

/// A value of type `ty` from the 64-bit slot that stores it.
pub(crate) fn decode_slot(builder: &mut FunctionBuilder<'_>, slot: Value, ty: Type) -> Value {
    match ty {
        types::I32 => builder.ins().ireduce(types::I32, slot),
        types::F32 => {
            let bits = builder.ins().ireduce(types::I32, slot);
            builder.ins().bitcast(types::F32, MemFlagsData::new(), bits)
        }
        types::F64 => builder.ins().bitcast(types::F64, MemFlagsData::new(), slot),
        _ => slot,
    }
}

/// Flags of an access to a VM context structure: always valid, native byte order.
fn vm_flags() -> MemFlagsData {
    MemFlagsData::trusted()
}

/// Flags of an access to linear memory, after its bounds check: little-endian, unaligned.
fn heap_flags() -> MemFlagsData {
    MemFlagsData::new()
        .with_notrap()
        .with_endianness(Endianness::Little)
}

/// A Wasm block being translated.
struct Frame {
    /// Where execution continues after the block's `end`; its parameters are the results.
    next: Block,
    /// A branch to a loop goes to its header, whose parameters are the loop's parameters.
    header: Option<Block>,
    /// An `if`'s else block, and the operand stack to start it with (as it was at the `if`,
    /// the parameters on top).
    else_block: Option<(Block, Vec<Value>)>,
    num_params: usize,
    num_results: usize,
    /// The operand stack height below the block's parameters.
    height: usize,
    /// In an OSR entry: how many entries below its parameters (all of them) the block's
    /// continuation and a loop's header take as parameters before the block's own. A value
    /// below a block then has one definition on every path: paths from the OSR entry carry
    /// the values it loaded, paths from the function's start (which nothing reaches) the ones
    /// computed before the loop. 0 elsewhere.
    carried: usize,
    /// Which block of the body it is (see `OsrAt`).
    block_index: u32,
    /// Whether anything jumps to `next`.
    next_reachable: bool,
    /// In an OSR entry, for the loop nest and the blocks around it: `next` gives the frame
    /// back to the interpreter (see the module documentation).
    exits: bool,
}

impl Frame {
    /// The target of a branch to this block and how many values it carries.
    fn branch_target(&self) -> (Block, usize) {
        match self.header {
            Some(header) => (header, self.num_params),
            None => (self.next, self.num_results),
        }
    }
}

/// The state of an OSR entry's translation (see the module documentation).
struct OsrEntry<'m> {
    /// Where the interpreter frame has the Wasm state at the loop.
    point: &'m OsrPoint,
    /// Where the interpreter reads it at the ends of blocks with loops, by block.
    exits: &'m [OsrExit],
    /// The frame's slots (the entry's third parameter).
    frame: Value,
    /// The block the entry block jumps to, filled at the loop with the loads of the frame.
    block: Block,
    /// Whether the translation has reached the loop.
    joined: bool,
    /// Where the loop nest's `loop` operator is in the module, once read.
    nest_start: Option<u64>,
}

/// Translates one function body into `builder`'s function.
pub(crate) struct FuncTranslator<'m, 'b> {
    module: &'m ModuleInner,
    builder: FunctionBuilder<'b>,
    call_conv: CallConv,
    helpers: &'m Helpers,
    vmctx: Value,
    locals: Vec<Variable>,
    local_types: Vec<Type>,
    /// Memory 0's base and length, reloaded after anything that may grow it.
    memory: Option<(Variable, Variable)>,
    stack: Vec<Value>,
    control: Vec<Frame>,
    /// Whether the code being translated can run (it cannot after `br`, `return`, …).
    reachable: bool,
    /// Blocks opened inside unreachable code, skipped up to their `end`.
    unreachable_depth: u32,
    result_types: Vec<Type>,
    /// The function being translated (module index space).
    func: u32,
    trap_blocks: HashMap<TrapCode, Block>,
    /// Records the function's frame for the trap's backtrace and returns its status parameter
    /// (a trap's, or a callee's non-zero status) with zero results.
    propagate_block: Option<Block>,
    signatures: HashMap<u32, SigRef>,
    /// The slot array of calls through the runtime (see [`Self::value_slots`]).
    scratch: Option<StackSlot>,
    helper_signatures: HashMap<&'static str, SigRef>,
    /// `block`, `loop` and `if` operators read so far, reachable or not (an OSR point names
    /// its block so).
    blocks_seen: u32,
    /// When translating an OSR entry rather than the function's own entry.
    osr: Option<OsrEntry<'m>>,
    /// Where the operator being translated is in the module.
    position: u64,
    /// Where the body ends in the module.
    body_end: u64,
}

impl<'m, 'b> FuncTranslator<'m, 'b> {
    /// Translates defined function `func` of `module`; `builder` works on a function whose
    /// signature is already the native one, or with `osr`, the array signature of an OSR
    /// entry at that point, which exits at those ends of blocks.
    pub fn translate(
        module: &'m ModuleInner,
        func: u32,
        builder: FunctionBuilder<'b>,
        isa: &dyn TargetIsa,
        helpers: &'m Helpers,
        osr: Option<(&'m OsrPoint, &'m [OsrExit])>,
    ) -> Result<()> {
        let ty = module.func_type(func);
        let slot = module.code_slot(func);
        let bytes = module
            .bytes
            .get(slot.body.clone())
            .ok_or_else(|| CompileError::Failed("function body out of range".into()))?;
        let body = FunctionBody::new(wasmparser::BinaryReader::new(bytes, slot.body.start as u64));
        let mut this = FuncTranslator {
            module,
            builder,
            call_conv: isa.default_call_conv(),
            helpers,
            vmctx: Value::from_u32(0),
            locals: Vec::new(),
            local_types: Vec::new(),
            memory: None,
            stack: Vec::new(),
            control: Vec::new(),
            reachable: true,
            unreachable_depth: 0,
            result_types: ty.results().iter().map(|t| clif_type(*t)).collect(),
            func,
            trap_blocks: HashMap::new(),
            propagate_block: None,
            signatures: HashMap::new(),
            scratch: None,
            helper_signatures: HashMap::new(),
            blocks_seen: 0,
            osr: osr.map(|(point, exits)| OsrEntry {
                point,
                exits,
                frame: Value::from_u32(0),
                block: Block::from_u32(0),
                joined: false,
                nest_start: None,
            }),
            position: 0,
            body_end: slot.body.end as u64,
        };
        this.entry(ty, &body)?;
        let mut operators = body.get_operators_reader()?;
        while !operators.eof() {
            this.position = operators.original_position();
            let operator = operators.read()?;
            this.operator(&operator)?;
        }
        if !this.control.is_empty() {
            return Err(CompileError::Failed(
                "function body ends inside a block".into(),
            ));
        }
        if this.osr.as_ref().is_some_and(|osr| !osr.joined) {
            return Err(CompileError::Failed(
                "the OSR point's label is not reachable".into(),
            ));
        }
        this.finish_exits();
        this.builder.seal_all_blocks();
        this.builder.finalize(isa.frontend_config());
        Ok(())
    }

    /// The entry block: parameters and locals, the stack-limit check, memory 0, and the
    /// function's own frame. An OSR entry's locals start as zeros (its loads from the frame
    /// come at the loop), and its entry block jumps to the block that has those loads; the
    /// translation goes on in a block that nothing jumps to.
    fn entry(&mut self, ty: &FuncType, body: &FunctionBody<'_>) -> Result<()> {
        let entry = self.builder.create_block();
        self.builder.append_block_params_for_function_params(entry);
        self.builder.switch_to_block(entry);
        self.builder.seal_block(entry);
        let params = self.builder.block_params(entry).to_vec();
        self.vmctx = params[0];
        if let Some(osr) = &mut self.osr {
            osr.frame = params[2];
            for ty in ty.params() {
                let zero = self.zero(clif_type(*ty));
                self.declare_local(clif_type(*ty), zero);
            }
        } else {
            for (value, ty) in params[1..].iter().zip(ty.params()) {
                self.declare_local(clif_type(*ty), *value);
            }
        }
        for local in body.get_locals_reader()? {
            let (count, ty) = local?;
            let ty = clif_type(ValType::from_wasmparser(ty));
            for _ in 0..count {
                let zero = self.zero(ty);
                self.declare_local(ty, zero);
            }
        }
        let sp = self.builder.ins().get_stack_pointer(types::I64);
        let limit = self.load_vm(types::I64, self.vmctx, layout::VMCTX_STACK_LIMIT);
        let overflow = self.builder.ins().icmp(IntCC::UnsignedLessThan, sp, limit);
        self.trap_if(overflow, TrapCode::StackOverflow);
        if !self.module.memories.is_empty() {
            let base = self.builder.declare_var(types::I64);
            let len = self.builder.declare_var(types::I64);
            self.memory = Some((base, len));
            self.reload_memory();
        }
        if self.osr.is_some() {
            let block = self.builder.create_block();
            self.builder.ins().jump(block, &[]);
            if let Some(osr) = &mut self.osr {
                osr.block = block;
            }
            let start = self.builder.create_block();
            self.builder.switch_to_block(start);
            self.builder.seal_block(start);
        }
        let next = self.builder.create_block();
        for ty in self.result_types.clone() {
            self.builder.append_block_param(next, ty);
        }
        self.control.push(Frame {
            next,
            header: None,
            else_block: None,
            num_params: 0,
            num_results: self.result_types.len(),
            height: 0,
            carried: 0,
            block_index: u32::MAX,
            next_reachable: false,
            exits: false,
        });
        Ok(())
    }

    /// The index of the block (see `OsrAt`) whose `block`, `loop` or `if` is being read.
    fn next_block_index(&mut self) -> u32 {
        self.blocks_seen += 1;
        self.blocks_seen - 1
    }

    /// Whether block `block_index` of the body (see `OsrAt`) is where this OSR entry starts,
    /// at its loop header (`header`) or at its end.
    fn is_osr_target(&self, block_index: u32, header: bool) -> bool {
        let Some(osr) = &self.osr else {
            return false;
        };
        !osr.joined
            && match osr.point.at {
                OsrAt::LoopHeader(index) => header && index == block_index,
                OsrAt::BlockEnd(index) => !header && index == block_index,
            }
    }

    /// At the OSR point: fills the OSR entry's block with the loads of the Wasm state from
    /// the frame, the locals into their variables and the operand stack into the arguments
    /// of a jump to `target`, the loop header or block continuation there (which, in an OSR
    /// entry, takes the whole operand stack). The caller then switches to the block it goes
    /// on in.
    fn enter_osr_at(&mut self, target: Block) -> Result<()> {
        let Some(osr) = &self.osr else {
            return Ok(());
        };
        let (point, frame, block) = (osr.point, osr.frame, osr.block);
        let types: Vec<Type> = self
            .builder
            .func
            .dfg
            .block_params(target)
            .iter()
            .map(|value| self.builder.func.dfg.value_type(*value))
            .collect();
        if point.stack.len() != types.len() {
            return Err(CompileError::Failed(
                "the OSR point's operand stack does not match the body".into(),
            ));
        }
        self.builder.switch_to_block(block);
        self.builder.seal_block(block);
        for (index, (var, ty)) in self.typed_locals().into_iter().enumerate() {
            let offset = offset_of_index(index as u32, 8)?;
            let slot = self
                .builder
                .ins()
                .load(types::I64, vm_flags(), frame, offset);
            let value = decode_slot(&mut self.builder, slot, ty);
            self.builder.def_var(var, value);
        }
        let mut values = Vec::with_capacity(types.len());
        for (entry, ty) in point.stack.iter().zip(&types) {
            let slot = match *entry {
                OsrValue::Slot(slot) => {
                    let offset = offset_of_index(slot, 8)?;
                    self.builder
                        .ins()
                        .load(types::I64, vm_flags(), frame, offset)
                }
                OsrValue::Const(bits) => self.builder.ins().iconst(types::I64, bits as i64),
            };
            values.push(decode_slot(&mut self.builder, slot, *ty));
        }
        self.jump(target, &values);
        if let Some(osr) = &mut self.osr {
            osr.joined = true;
        }
        Ok(())
    }

    /// Whether block `block`, just ended, is the loop nest of the OSR entry being translated
    /// and the entry is to give the frame back after it: when it is the function's first nest
    /// and the rest of the body is larger than it (see the module documentation), or always
    /// with [`Config::osr_exit_after_loop_nest`](crate::Config::osr_exit_after_loop_nest).
    fn leaves_entry_after(&self, block: u32) -> bool {
        let Some(osr) = &self.osr else {
            return false;
        };
        let point = osr.point;
        let Some(start) = osr.nest_start.filter(|_| point.nest == block) else {
            return false;
        };
        if self.module.engine.config().osr_exit_after_loop_nest {
            return true;
        }
        let first_nest = point.outer_loops.first().unwrap_or(&point.loop_index) == &0;
        let nest = self.position - start;
        let rest = self.body_end.saturating_sub(self.position);
        first_nest && rest > nest
    }

    /// In an OSR entry, at the continuation `next` of block `block` (the loop nest or a block
    /// around it), whose parameters are the whole operand stack: gives the frame back to the
    /// interpreter, with the locals and the operand stack stored where the [`OsrExit`] of the
    /// block says the code after it reads them.
    fn exit_to_interpreter(&mut self, block: u32, next: Block) -> Result<()> {
        let Some(osr) = &self.osr else {
            return Err(CompileError::Failed(
                "an exit to the interpreter outside an OSR entry".into(),
            ));
        };
        let (frame, exits) = (osr.frame, osr.exits);
        let exit = exits
            .binary_search_by_key(&block, |exit| exit.block)
            .map(|index| &exits[index])
            .map_err(|_| CompileError::Failed("a loop nest's block has no OSR exit".into()))?;
        let values = self.builder.block_params(next).to_vec();
        if exit.stack.len() != values.len() {
            return Err(CompileError::Failed(
                "an OSR exit's operand stack does not match the body".into(),
            ));
        }
        for (index, (var, ty)) in self.typed_locals().into_iter().enumerate() {
            let value = self.builder.use_var(var);
            let slot = encode_slot(&mut self.builder, value, ty);
            let offset = offset_of_index(index as u32, 8)?;
            self.builder.ins().store(vm_flags(), slot, frame, offset);
        }
        for (entry, value) in exit.stack.iter().zip(values) {
            // A constant is an immediate of the code after the block.
            if let OsrValue::Slot(slot) = *entry {
                let ty = self.builder.func.dfg.value_type(value);
                let bits = encode_slot(&mut self.builder, value, ty);
                let offset = offset_of_index(slot, 8)?;
                self.builder.ins().store(vm_flags(), bits, frame, offset);
            }
        }
        let status = status::exited_at(exit.label);
        let status = self.builder.ins().iconst(types::I32, i64::from(status));
        self.builder.ins().return_(&[status]);
        Ok(())
    }

    /// Every local's variable and type, in index order.
    fn typed_locals(&self) -> Vec<(Variable, Type)> {
        self.locals
            .iter()
            .copied()
            .zip(self.local_types.iter().copied())
            .collect()
    }

    fn declare_local(&mut self, ty: Type, value: Value) {
        let var = self.builder.declare_var(ty);
        self.builder.def_var(var, value);
        self.locals.push(var);
        self.local_types.push(ty);
    }

    fn zero(&mut self, ty: Type) -> Value {
        match ty {
            types::F32 => self.builder.ins().f32const(Ieee32::with_bits(0)),
            types::F64 => self.builder.ins().f64const(Ieee64::with_bits(0)),
            _ => self.builder.ins().iconst(ty, 0),
        }
    }

    fn load_vm(&mut self, ty: Type, base: Value, offset: usize) -> Value {
        self.builder.ins().load(ty, vm_flags(), base, offset as i32)
    }

    /// Loads memory 0's base and length from its `VmMemory` again.
    fn reload_memory(&mut self) {
        let Some((base_var, len_var)) = self.memory else {
            return;
        };
        let memory = self.load_vm(types::I64, self.vmctx, layout::VMCTX_MEMORY);
        let base = self.load_vm(types::I64, memory, layout::VMMEMORY_BASE);
        let len = self.load_vm(types::I64, memory, layout::VMMEMORY_LEN);
        self.builder.def_var(base_var, base);
        self.builder.def_var(len_var, len);
    }

    fn pop(&mut self) -> Result<Value> {
        self.stack
            .pop()
            .ok_or_else(|| CompileError::Failed("operand stack underflow".into()))
    }

    /// Pops the condition of a branch or `select`: the flag itself when the value is a
    /// comparison's flag widened to `i32`, so that the widening is left dead (Cranelift
    /// drops it) rather than compiled.
    fn pop_condition(&mut self) -> Result<Value> {
        let value = self.pop()?;
        let dfg = &self.builder.func.dfg;
        if let ValueDef::Result(inst, 0) = dfg.value_def(value)
            && let InstructionData::Unary {
                opcode: Opcode::Uextend,
                arg,
            } = dfg.insts[inst]
            && dfg.value_type(arg) == types::I8
        {
            return Ok(arg);
        }
        Ok(value)
    }

    fn pop2(&mut self) -> Result<(Value, Value)> {
        let b = self.pop()?;
        let a = self.pop()?;
        Ok((a, b))
    }

    fn peek_n(&self, n: usize) -> Result<&[Value]> {
        let len = self.stack.len();
        if n > len {
            return Err(CompileError::Failed("operand stack underflow".into()));
        }
        Ok(&self.stack[len - n..])
    }

    fn pop_n(&mut self, n: usize) -> Result<Vec<Value>> {
        let values = self.peek_n(n)?.to_vec();
        self.stack.truncate(self.stack.len() - n);
        Ok(values)
    }

    fn push(&mut self, value: Value) {
        self.stack.push(value);
    }

    fn block_args(values: &[Value]) -> Vec<BlockArg> {
        values.iter().map(|v| BlockArg::Value(*v)).collect()
    }

    fn jump(&mut self, block: Block, values: &[Value]) {
        let args = Self::block_args(values);
        self.builder.ins().jump(block, &args);
    }

    /// The block that returns `code`'s status (filled in by [`Self::finish_exits`]).
    fn trap_block(&mut self, code: TrapCode) -> Block {
        if let Some(block) = self.trap_blocks.get(&code) {
            return *block;
        }
        let block = self.builder.create_block();
        self.builder.set_cold_block(block);
        self.trap_blocks.insert(code, block);
        block
    }

    /// Fills the blocks that return a trap's or a callee's status. They are filled last, as
    /// the builder must not leave a block before its terminator. Every non-zero status leaves
    /// through the propagation block, which records this function's frame, so a trap's
    /// backtrace gets one frame per native function it passes on its way out.
    fn finish_exits(&mut self) {
        let mut traps: Vec<(TrapCode, Block)> = self.trap_blocks.drain().collect();
        traps.sort_by_key(|(code, _)| status::of_trap(*code));
        for (code, block) in traps {
            self.builder.switch_to_block(block);
            let status = self
                .builder
                .ins()
                .iconst(types::I32, i64::from(status::of_trap(code)));
            let propagate = self.propagate_block();
            self.builder
                .ins()
                .jump(propagate, &[BlockArg::Value(status)]);
        }
        if let Some(block) = self.propagate_block {
            self.builder.switch_to_block(block);
            let status = self.builder.block_params(block)[0];
            let func = self.builder.ins().iconst(types::I32, i64::from(self.func));
            self.call_helper(
                "record_frame",
                self.helpers.record_frame,
                &[types::I64, types::I32],
                types::I32,
                &[self.vmctx, func],
            );
            self.return_status(status);
        }
    }

    /// The block every non-zero status leaves through (see [`Self::finish_exits`]).
    fn propagate_block(&mut self) -> Block {
        match self.propagate_block {
            Some(block) => block,
            None => {
                let block = self.builder.create_block();
                self.builder.set_cold_block(block);
                self.builder.append_block_param(block, types::I32);
                self.propagate_block = Some(block);
                block
            }
        }
    }

    /// Returns `status` with zero results.
    fn return_status(&mut self, status: Value) {
        if self.osr.is_some() {
            self.builder.ins().return_(&[status]);
            return;
        }
        let mut values = vec![status];
        for ty in self.result_types.clone() {
            values.push(self.zero(ty));
        }
        self.builder.ins().return_(&values);
    }

    /// Returns the function's `results` with status 0: an OSR entry stores them in the
    /// frame's first slots.
    fn return_results(&mut self, results: &[Value]) {
        let ok = self.builder.ins().iconst(types::I32, 0);
        let Some(osr) = &self.osr else {
            let mut values = vec![ok];
            values.extend_from_slice(results);
            self.builder.ins().return_(&values);
            return;
        };
        let frame = osr.frame;
        for (i, (value, ty)) in results.iter().zip(self.result_types.clone()).enumerate() {
            let slot = encode_slot(&mut self.builder, *value, ty);
            self.builder
                .ins()
                .store(vm_flags(), slot, frame, (i * 8) as i32);
        }
        self.builder.ins().return_(&[ok]);
    }

    /// Traps with `code` when `condition` is non-zero.
    fn trap_if(&mut self, condition: Value, code: TrapCode) {
        let trap = self.trap_block(code);
        let continuation = self.builder.create_block();
        self.builder
            .ins()
            .brif(condition, trap, &[], continuation, &[]);
        self.builder.switch_to_block(continuation);
        self.builder.seal_block(continuation);
    }

    fn trap(&mut self, code: TrapCode) {
        let trap = self.trap_block(code);
        self.builder.ins().jump(trap, &[]);
        self.reachable = false;
    }

    /// Returns a callee's non-zero `status` at once; continues when it is zero.
    fn propagate(&mut self, status: Value) {
        let block = self.propagate_block();
        let continuation = self.builder.create_block();
        self.builder
            .ins()
            .brif(status, block, &[BlockArg::Value(status)], continuation, &[]);
        self.builder.switch_to_block(continuation);
        self.builder.seal_block(continuation);
    }

    /// Parameter and result types of a block type.
    fn block_type(&self, ty: BlockType) -> Result<(Vec<Type>, Vec<Type>)> {
        Ok(match ty {
            BlockType::Empty => (Vec::new(), Vec::new()),
            BlockType::Type(ty) => (Vec::new(), vec![clif_type(ValType::from_wasmparser(ty))]),
            BlockType::FuncType(index) => {
                let ty = self
                    .module
                    .types
                    .get(index as usize)
                    .ok_or_else(|| CompileError::Failed("block type out of range".into()))?;
                (
                    ty.params().iter().map(|t| clif_type(*t)).collect(),
                    ty.results().iter().map(|t| clif_type(*t)).collect(),
                )
            }
        })
    }

    fn block_with_params(&mut self, types: &[Type]) -> Block {
        let block = self.builder.create_block();
        for ty in types {
            self.builder.append_block_param(block, *ty);
        }
        block
    }

    fn frame(&self, depth: u32) -> Result<&Frame> {
        let len = self.control.len();
        (depth as usize)
            .checked_add(1)
            .and_then(|n| len.checked_sub(n))
            .map(|index| &self.control[index])
            .ok_or_else(|| CompileError::Failed("branch depth out of range".into()))
    }

    fn frame_mut(&mut self, depth: u32) -> Result<&mut Frame> {
        let len = self.control.len();
        let index = (depth as usize)
            .checked_add(1)
            .and_then(|n| len.checked_sub(n))
            .ok_or_else(|| CompileError::Failed("branch depth out of range".into()))?;
        Ok(&mut self.control[index])
    }

    /// The target of a branch to `depth` and the values it carries (left on the stack),
    /// recording that the target is reached.
    fn branch(&mut self, depth: u32) -> Result<(Block, Vec<Value>)> {
        let (target, count) = self.frame(depth)?.branch_target();
        let frame = self.frame_mut(depth)?;
        if frame.header.is_none() {
            frame.next_reachable = true;
        }
        let carried = frame.carried;
        let values = self.peek_n(count)?.to_vec();
        Ok((target, self.with_carried(carried, &values)))
    }

    /// The operand stack's first `carried` entries followed by `values`: the arguments of a
    /// jump to a continuation or loop header that carries that many (see `Frame::carried`).
    fn with_carried(&self, carried: usize, values: &[Value]) -> Vec<Value> {
        let mut args = self.stack[..carried].to_vec();
        args.extend_from_slice(values);
        args
    }

    /// A block with parameters for the operand stack's first `carried` entries and then
    /// `types`.
    fn carrying_block(&mut self, carried: usize, types: &[Type]) -> Block {
        let mut all: Vec<Type> = self.stack[..carried]
            .iter()
            .map(|value| self.builder.func.dfg.value_type(*value))
            .collect();
        all.extend_from_slice(types);
        self.block_with_params(&all)
    }

    /// How many entries below a block at operand stack height `height` its continuation
    /// carries (see `Frame::carried`).
    fn carried_at(&self, height: usize) -> usize {
        if self.osr.is_some() { height } else { 0 }
    }

    /// Translates one operator.
    fn operator(&mut self, op: &Operator<'_>) -> Result<()> {
        if !self.reachable {
            return self.unreachable_operator(op);
        }
        self.reachable_operator(op)
    }

    /// In unreachable code only the block structure matters.
    fn unreachable_operator(&mut self, op: &Operator<'_>) -> Result<()> {
        match op {
            Operator::Block { .. } | Operator::Loop { .. } | Operator::If { .. } => {
                self.blocks_seen += 1;
                self.unreachable_depth += 1;
            }
            Operator::Else if self.unreachable_depth == 0 => self.else_()?,
            Operator::End if self.unreachable_depth == 0 => self.end()?,
            Operator::End => self.unreachable_depth -= 1,
            _ => {}
        }
        Ok(())
    }

    fn else_(&mut self) -> Result<()> {
        let frame = self
            .control
            .last_mut()
            .ok_or_else(|| CompileError::Failed("else outside a block".into()))?;
        let Some((else_block, params)) = frame.else_block.take() else {
            return Err(CompileError::Failed("else without if".into()));
        };
        let (next, carried, results) = (frame.next, frame.carried, frame.num_results);
        if self.reachable {
            frame.next_reachable = true;
            let values = self.pop_n(results)?;
            let args = self.with_carried(carried, &values);
            self.jump(next, &args);
        }
        self.stack = params;
        self.builder.switch_to_block(else_block);
        self.builder.seal_block(else_block);
        self.reachable = true;
        Ok(())
    }

    fn end(&mut self) -> Result<()> {
        let mut frame = self
            .control
            .pop()
            .ok_or_else(|| CompileError::Failed("end outside a block".into()))?;
        if self.leaves_entry_after(frame.block_index) {
            // Leaving the nest, or a block around it, leaves the entry. (The function's own
            // block is left by returning.)
            frame.exits = true;
            for frame in &mut self.control[1..] {
                frame.exits = true;
            }
        }
        if self.reachable {
            frame.next_reachable = true;
            let values = self.pop_n(frame.num_results)?;
            let args = self.with_carried(frame.carried, &values);
            self.jump(frame.next, &args);
        }
        if let Some((else_block, stack)) = frame.else_block.take() {
            // An `if` without `else`: the false branch passes its parameters through.
            self.builder.switch_to_block(else_block);
            self.builder.seal_block(else_block);
            let mut args = stack[..frame.carried].to_vec();
            args.extend_from_slice(&stack[frame.height..]);
            self.jump(frame.next, &args);
            frame.next_reachable = true;
        }
        if self.is_osr_target(frame.block_index, false) {
            self.enter_osr_at(frame.next)?;
            frame.next_reachable = true;
        }
        if let Some(header) = frame.header {
            self.builder.seal_block(header);
        }
        self.stack.truncate(frame.height - frame.carried);
        self.builder.switch_to_block(frame.next);
        self.builder.seal_block(frame.next);
        self.reachable = frame.next_reachable;
        if frame.exits {
            if self.reachable {
                self.exit_to_interpreter(frame.block_index, frame.next)?;
            }
            self.reachable = false;
        } else if self.control.is_empty() {
            // The function's own block: return its results.
            if self.reachable {
                let results = self.builder.block_params(frame.next).to_vec();
                self.return_results(&results);
            } else {
                let status = self.builder.ins().iconst(types::I32, 0);
                self.return_status(status);
            }
            self.reachable = false;
        } else if self.reachable {
            let results = self.builder.block_params(frame.next).to_vec();
            self.stack.extend(results);
        }
        Ok(())
    }

    fn reachable_operator(&mut self, op: &Operator<'_>) -> Result<()> {
        use Operator as O;
        match *op {
            O::Nop => {}
            O::Unreachable => self.trap(TrapCode::Unreachable),
            O::Block { blockty } => {
                let block_index = self.next_block_index();
                let (params, results) = self.block_type(blockty)?;
                let height = self.stack.len().saturating_sub(params.len());
                let carried = self.carried_at(height);
                let next = self.carrying_block(carried, &results);
                self.control.push(Frame {
                    next,
                    header: None,
                    else_block: None,
                    num_params: params.len(),
                    num_results: results.len(),
                    height,
                    carried,
                    block_index,
                    next_reachable: false,
                    exits: false,
                });
            }
            O::Loop { blockty } => {
                let block_index = self.next_block_index();
                let (params, results) = self.block_type(blockty)?;
                let values = self.pop_n(params.len())?;
                let height = self.stack.len();
                let carried = self.carried_at(height);
                let next = self.carrying_block(carried, &results);
                let header = self.carrying_block(carried, &params);
                let args = self.with_carried(carried, &values);
                self.jump(header, &args);
                if self.is_osr_target(block_index, true) {
                    self.enter_osr_at(header)?;
                }
                self.builder.switch_to_block(header);
                let values = self.builder.block_params(header).to_vec();
                self.stack.truncate(height - carried);
                self.stack.extend(values);
                self.control.push(Frame {
                    next,
                    header: Some(header),
                    else_block: None,
                    num_params: params.len(),
                    num_results: results.len(),
                    height,
                    carried,
                    block_index,
                    next_reachable: false,
                    exits: false,
                });
                if let Some(osr) = &mut self.osr
                    && osr.point.nest == block_index
                {
                    osr.nest_start = Some(self.position);
                }
            }
            O::If { blockty } => {
                let block_index = self.next_block_index();
                let (params, results) = self.block_type(blockty)?;
                let condition = self.pop_condition()?;
                let then_block = self.builder.create_block();
                let else_block = self.builder.create_block();
                let height = self.stack.len().saturating_sub(params.len());
                let carried = self.carried_at(height);
                let next = self.carrying_block(carried, &results);
                self.builder
                    .ins()
                    .brif(condition, then_block, &[], else_block, &[]);
                self.builder.switch_to_block(then_block);
                self.builder.seal_block(then_block);
                self.control.push(Frame {
                    next,
                    header: None,
                    else_block: Some((else_block, self.stack.clone())),
                    num_params: params.len(),
                    num_results: results.len(),
                    height,
                    carried,
                    block_index,
                    next_reachable: false,
                    exits: false,
                });
            }
            O::Else => self.else_()?,
            O::End => self.end()?,
            O::Br { relative_depth } => {
                let (target, values) = self.branch(relative_depth)?;
                self.jump(target, &values);
                self.reachable = false;
            }
            O::BrIf { relative_depth } => {
                let condition = self.pop_condition()?;
                let (target, values) = self.branch(relative_depth)?;
                let continuation = self.builder.create_block();
                let args = Self::block_args(&values);
                self.builder
                    .ins()
                    .brif(condition, target, &args, continuation, &[]);
                self.builder.switch_to_block(continuation);
                self.builder.seal_block(continuation);
            }
            O::BrTable { ref targets } => {
                let index = self.pop()?;
                let default = targets.default();
                let depths = targets
                    .targets()
                    .collect::<std::result::Result<Vec<_>, _>>()?;
                // One edge block per distinct target that takes values, which passes them;
                // the edges are filled after the `br_table` that ends the current block.
                let mut targets: HashMap<u32, Block> = HashMap::new();
                let mut edges = Vec::new();
                let mut table = Vec::with_capacity(depths.len());
                for depth in depths.into_iter().chain([default]) {
                    let block = match targets.get(&depth) {
                        Some(block) => *block,
                        None => {
                            let (target, values) = self.branch(depth)?;
                            let block = if values.is_empty() {
                                target
                            } else {
                                let edge = self.builder.create_block();
                                edges.push((edge, target, values));
                                edge
                            };
                            targets.insert(depth, block);
                            block
                        }
                    };
                    table.push(self.builder.func.dfg.block_call(block, &[]));
                }
                let default_call = table.pop().expect("the default target was pushed last");
                let table = JumpTableData::new(default_call, &table);
                let table = self.builder.create_jump_table(table);
                self.builder.ins().br_table(index, table);
                for (edge, target, values) in edges {
                    self.builder.switch_to_block(edge);
                    self.builder.seal_block(edge);
                    self.jump(target, &values);
                }
                self.reachable = false;
            }
            O::Return => {
                let depth = (self.control.len() - 1) as u32;
                let (target, values) = self.branch(depth)?;
                self.jump(target, &values);
                self.reachable = false;
            }
            O::Call { function_index } => self.call(function_index)?,
            O::CallIndirect {
                type_index,
                table_index,
            } => self.call_indirect(type_index, table_index)?,
            O::Drop => {
                self.pop()?;
            }
            O::Select | O::TypedSelect { .. } => {
                let condition = self.pop_condition()?;
                let (a, b) = self.pop2()?;
                let value = self.builder.ins().select(condition, a, b);
                self.push(value);
            }
            O::LocalGet { local_index } => {
                let var = self.local(local_index)?;
                let value = self.builder.use_var(var);
                self.push(value);
            }
            O::LocalSet { local_index } => {
                let var = self.local(local_index)?;
                let value = self.pop()?;
                self.builder.def_var(var, value);
            }
            O::LocalTee { local_index } => {
                let var = self.local(local_index)?;
                let value = *self.peek_n(1)?.first().expect("peeked one value");
                self.builder.def_var(var, value);
            }
            O::GlobalGet { global_index } => {
                let (cell, ty) = self.global(global_index)?;
                let slot = self.builder.ins().load(types::I64, vm_flags(), cell, 0);
                let value = decode_slot(&mut self.builder, slot, ty);
                self.push(value);
            }
            O::GlobalSet { global_index } => {
                let (cell, ty) = self.global(global_index)?;
                let value = self.pop()?;
                let slot = encode_slot(&mut self.builder, value, ty);
                self.builder.ins().store(vm_flags(), slot, cell, 0);
            }
            O::I32Load { memarg } => self.load(memarg, types::I32, 4, Extend::None)?,
            O::I64Load { memarg } => self.load(memarg, types::I64, 8, Extend::None)?,
            O::F32Load { memarg } => self.load(memarg, types::F32, 4, Extend::None)?,
            O::F64Load { memarg } => self.load(memarg, types::F64, 8, Extend::None)?,
            O::I32Load8S { memarg } => self.load(memarg, types::I32, 1, Extend::Signed)?,
            O::I32Load8U { memarg } => self.load(memarg, types::I32, 1, Extend::Unsigned)?,
            O::I32Load16S { memarg } => self.load(memarg, types::I32, 2, Extend::Signed)?,
            O::I32Load16U { memarg } => self.load(memarg, types::I32, 2, Extend::Unsigned)?,
            O::I64Load8S { memarg } => self.load(memarg, types::I64, 1, Extend::Signed)?,
            O::I64Load8U { memarg } => self.load(memarg, types::I64, 1, Extend::Unsigned)?,
            O::I64Load16S { memarg } => self.load(memarg, types::I64, 2, Extend::Signed)?,
            O::I64Load16U { memarg } => self.load(memarg, types::I64, 2, Extend::Unsigned)?,
            O::I64Load32S { memarg } => self.load(memarg, types::I64, 4, Extend::Signed)?,
            O::I64Load32U { memarg } => self.load(memarg, types::I64, 4, Extend::Unsigned)?,
            O::I32Store { memarg } | O::I64Store { memarg } => {
                let size = if matches!(op, O::I32Store { .. }) {
                    4
                } else {
                    8
                };
                self.store(memarg, size)?;
            }
            O::F32Store { memarg } => self.store(memarg, 4)?,
            O::F64Store { memarg } => self.store(memarg, 8)?,
            O::I32Store8 { memarg } | O::I64Store8 { memarg } => self.store(memarg, 1)?,
            O::I32Store16 { memarg } | O::I64Store16 { memarg } => self.store(memarg, 2)?,
            O::I64Store32 { memarg } => self.store(memarg, 4)?,
            O::MemorySize { .. } => {
                let (_, len) = self.memory_vars()?;
                let len = self.builder.use_var(len);
                let pages = self.builder.ins().ushr_imm_s(len, 16);
                let pages = self.builder.ins().ireduce(types::I32, pages);
                self.push(pages);
            }
            O::MemoryGrow { .. } => {
                let delta = self.pop()?;
                let result = self.call_helper(
                    "memory_grow",
                    self.helpers.memory_grow,
                    &[types::I64, types::I32],
                    types::I32,
                    &[self.vmctx, delta],
                );
                self.reload_memory();
                self.push(result);
            }
            O::I32Const { value } => {
                let value = self.builder.ins().iconst(types::I32, i64::from(value));
                self.push(value);
            }
            O::I64Const { value } => {
                let value = self.builder.ins().iconst(types::I64, value);
                self.push(value);
            }
            O::F32Const { value } => {
                let value = self.builder.ins().f32const(Ieee32::with_bits(value.bits()));
                self.push(value);
            }
            O::F64Const { value } => {
                let value = self.builder.ins().f64const(Ieee64::with_bits(value.bits()));
                self.push(value);
            }
            O::RefNull { .. } => {
                let value = self.builder.ins().iconst(types::I64, 0);
                self.push(value);
            }
            O::RefIsNull => {
                let value = self.pop()?;
                let is_null = self.builder.ins().icmp_imm_s(IntCC::Equal, value, 0);
                let is_null = self.builder.ins().uextend(types::I32, is_null);
                self.push(is_null);
            }
            O::RefFunc { function_index } => {
                let funcs = self.load_vm(types::I64, self.vmctx, layout::VMCTX_FUNCS);
                let value = self.builder.ins().load(
                    types::I64,
                    vm_flags(),
                    funcs,
                    offset_of_index(function_index, 8)?,
                );
                self.push(value);
            }
            O::TableGet { table } => {
                let index = self.pop()?;
                let address = self.table_element(table, index, TrapCode::TableOutOfBounds)?;
                let value = self.builder.ins().load(types::I64, vm_flags(), address, 0);
                self.push(value);
            }
            O::TableSet { table } => {
                let value = self.pop()?;
                let index = self.pop()?;
                let address = self.table_element(table, index, TrapCode::TableOutOfBounds)?;
                self.builder.ins().store(vm_flags(), value, address, 0);
            }
            O::MemoryFill { .. } => self.bulk(BulkOp::MemoryFill, &[])?,
            O::MemoryCopy { .. } => self.bulk(BulkOp::MemoryCopy, &[])?,
            O::MemoryInit { data_index, .. } => self.bulk(BulkOp::MemoryInit, &[data_index])?,
            O::DataDrop { data_index } => self.bulk(BulkOp::DataDrop, &[data_index])?,
            O::TableFill { table } => self.bulk(BulkOp::TableFill, &[table])?,
            O::TableCopy {
                dst_table,
                src_table,
            } => self.bulk(BulkOp::TableCopy, &[dst_table, src_table])?,
            O::TableInit { elem_index, table } => {
                self.bulk(BulkOp::TableInit, &[table, elem_index])?
            }
            O::ElemDrop { elem_index } => self.bulk(BulkOp::ElemDrop, &[elem_index])?,
            O::TableGrow { table } => {
                let delta = self.pop()?;
                let init = self.pop()?;
                let table = self.builder.ins().iconst(types::I32, i64::from(table));
                let result = self.call_helper(
                    "table_grow",
                    self.helpers.table_grow,
                    &[types::I64, types::I32, types::I64, types::I32],
                    types::I32,
                    &[self.vmctx, table, init, delta],
                );
                self.push(result);
            }
            O::TableSize { table } => {
                let vm_table = self.vm_table(table)?;
                let len = self.load_vm(types::I64, vm_table, layout::VMTABLE_LEN);
                let len = self.builder.ins().ireduce(types::I32, len);
                self.push(len);
            }
            _ => self.numeric(op)?,
        }
        Ok(())
    }

    fn local(&self, index: u32) -> Result<Variable> {
        self.locals
            .get(index as usize)
            .copied()
            .ok_or_else(|| CompileError::Failed("local index out of range".into()))
    }

    /// The address of global `index`'s cell, and the global's type.
    fn global(&mut self, index: u32) -> Result<(Value, Type)> {
        let ty = self
            .module
            .globals
            .get(index as usize)
            .ok_or_else(|| CompileError::Failed("global index out of range".into()))?
            .content();
        let globals = self.load_vm(types::I64, self.vmctx, layout::VMCTX_GLOBALS);
        let cell =
            self.builder
                .ins()
                .load(types::I64, vm_flags(), globals, offset_of_index(index, 8)?);
        Ok((cell, clif_type(ty)))
    }

    fn memory_vars(&self) -> Result<(Variable, Variable)> {
        self.memory
            .ok_or_else(|| CompileError::Failed("memory access without a memory".into()))
    }

    /// The host address of an access of `size` bytes at the popped address plus
    /// `memarg.offset`, after its bounds check, as a base and an immediate offset.
    fn heap_address(&mut self, memarg: MemArg, size: u64) -> Result<(Value, i32)> {
        let (base, len) = self.memory_vars()?;
        let address = self.pop()?;
        let address = self.builder.ins().uextend(types::I64, address);
        // Both terms are below 2^32, so the sum cannot wrap in 64 bits.
        let end = memarg
            .offset
            .checked_add(size)
            .and_then(|end| i64::try_from(end).ok())
            .ok_or(CompileError::Unsupported("64-bit memory offsets"))?;
        let end = self.builder.ins().iadd_imm_s(address, end);
        let len = self.builder.use_var(len);
        let out_of_bounds = self
            .builder
            .ins()
            .icmp(IntCC::UnsignedGreaterThan, end, len);
        self.trap_if(out_of_bounds, TrapCode::MemoryOutOfBounds);
        let base = self.builder.use_var(base);
        let address = self.builder.ins().iadd(base, address);
        // The offset goes into the access's immediate where it fits (almost always), which
        // saves the IR an addition and often the machine code one too.
        Ok(match i32::try_from(memarg.offset) {
            Ok(offset) => (address, offset),
            Err(_) => (
                self.builder.ins().iadd_imm_s(address, memarg.offset as i64),
                0,
            ),
        })
    }

    fn load(&mut self, memarg: MemArg, ty: Type, size: u64, extend: Extend) -> Result<()> {
        let (address, offset) = self.heap_address(memarg, size)?;
        let ins = self.builder.ins();
        let value = match (extend, size) {
            (Extend::None, _) => ins.load(ty, heap_flags(), address, offset),
            (Extend::Signed, 1) => ins.sload8(ty, heap_flags(), address, offset),
            (Extend::Unsigned, 1) => ins.uload8(ty, heap_flags(), address, offset),
            (Extend::Signed, 2) => ins.sload16(ty, heap_flags(), address, offset),
            (Extend::Unsigned, 2) => ins.uload16(ty, heap_flags(), address, offset),
            (Extend::Signed, _) => ins.sload32(heap_flags(), address, offset),
            (Extend::Unsigned, _) => ins.uload32(heap_flags(), address, offset),
        };
        self.push(value);
        Ok(())
    }

    /// A store of the popped value's low `size` bytes.
    fn store(&mut self, memarg: MemArg, size: u64) -> Result<()> {
        let value = self.pop()?;
        let (address, offset) = self.heap_address(memarg, size)?;
        let ty = self.builder.func.dfg.value_type(value);
        let ins = self.builder.ins();
        match size {
            1 => ins.istore8(heap_flags(), value, address, offset),
            2 => ins.istore16(heap_flags(), value, address, offset),
            4 if ty == types::I64 => ins.istore32(heap_flags(), value, address, offset),
            _ => ins.store(heap_flags(), value, address, offset),
        };
        Ok(())
    }

    /// The `VmTable` of table `index`.
    fn vm_table(&mut self, index: u32) -> Result<Value> {
        if index as usize >= self.module.tables.len() {
            return Err(CompileError::Failed("table index out of range".into()));
        }
        let tables = self.load_vm(types::I64, self.vmctx, layout::VMCTX_TABLES);
        Ok(self
            .builder
            .ins()
            .load(types::I64, vm_flags(), tables, offset_of_index(index, 8)?))
    }

    /// The address of element `index` of table `table`, after its bounds check.
    /// The address of element `index` of table `table`, trapping with `out_of_bounds` past
    /// its end.
    fn table_element(
        &mut self,
        table: u32,
        index: Value,
        out_of_bounds: TrapCode,
    ) -> Result<Value> {
        let vm_table = self.vm_table(table)?;
        let len = self.load_vm(types::I64, vm_table, layout::VMTABLE_LEN);
        let index = self.builder.ins().uextend(types::I64, index);
        let beyond = self
            .builder
            .ins()
            .icmp(IntCC::UnsignedGreaterThanOrEqual, index, len);
        self.trap_if(beyond, out_of_bounds);
        let base = self.load_vm(types::I64, vm_table, layout::VMTABLE_BASE);
        let offset = self.builder.ins().ishl_imm_s(index, 3);
        Ok(self.builder.ins().iadd(base, offset))
    }

    fn native_signature_ref(&mut self, type_index: u32) -> Result<SigRef> {
        if let Some(sig) = self.signatures.get(&type_index) {
            return Ok(*sig);
        }
        let ty = self
            .module
            .types
            .get(type_index as usize)
            .ok_or_else(|| CompileError::Failed("type index out of range".into()))?;
        let sig = self
            .builder
            .import_signature(native_signature(ty, self.call_conv));
        self.signatures.insert(type_index, sig);
        Ok(sig)
    }

    /// Calls the helper at `address` (an `extern "C"` function of the runtime).
    fn call_helper(
        &mut self,
        name: &'static str,
        address: usize,
        params: &[Type],
        result: Type,
        args: &[Value],
    ) -> Value {
        let sig = match self.helper_signatures.get(name) {
            Some(sig) => *sig,
            None => {
                let mut signature = Signature::new(self.call_conv);
                signature
                    .params
                    .extend(params.iter().map(|ty| AbiParam::new(*ty)));
                signature.returns.push(AbiParam::new(result));
                let sig = self.builder.import_signature(signature);
                self.helper_signatures.insert(name, sig);
                sig
            }
        };
        let callee = self.builder.ins().iconst(types::I64, address as i64);
        let call = self.builder.ins().call_indirect(sig, callee, args);
        self.builder.inst_results(call)[0]
    }

    /// The address of `count` 64-bit value slots in the frame, for a call through the
    /// runtime. All such calls share one stack slot, as big as the largest needs: each one
    /// reads its results back before the next call is made.
    fn value_slots(&mut self, count: usize) -> Result<Value> {
        let size = u32::try_from(count * 8)
            .map_err(|_| CompileError::Failed("too many call arguments".into()))?;
        let slot = match self.scratch {
            Some(slot) => {
                let data = &mut self.builder.func.sized_stack_slots[slot];
                data.size = data.size.max(size);
                slot
            }
            None => {
                let data = StackSlotData::new(StackSlotKind::ExplicitSlot, size, 3);
                let slot = self.builder.create_sized_stack_slot(data);
                self.scratch = Some(slot);
                slot
            }
        };
        Ok(self.builder.ins().stack_addr(types::I64, slot, 0))
    }

    /// A bulk operator, through the runtime: `immediates` then the popped operands go to a
    /// slot array (see [`BulkOp`]).
    fn bulk(&mut self, op: BulkOp, immediates: &[u32]) -> Result<()> {
        let operands = self.pop_n(op.arity() - immediates.len())?;
        let slots = self.value_slots(op.arity())?;
        let immediates: Vec<Value> = immediates
            .iter()
            .map(|imm| self.builder.ins().iconst(types::I64, i64::from(*imm)))
            .collect();
        for (i, value) in immediates.into_iter().chain(operands).enumerate() {
            let ty = self.builder.func.dfg.value_type(value);
            let slot = encode_slot(&mut self.builder, value, ty);
            self.builder
                .ins()
                .store(vm_flags(), slot, slots, offset_of_index(i as u32, 8)?);
        }
        let op = self.builder.ins().iconst(types::I32, op as i64);
        let status = self.call_helper(
            "bulk",
            self.helpers.bulk,
            &[types::I64, types::I32, types::I64],
            types::I32,
            &[self.vmctx, op, slots],
        );
        self.propagate(status);
        Ok(())
    }

    /// Spills `args` into a fresh slot array big enough for `ty`'s results too; returns its
    /// address and its length in slots.
    fn spill_arguments(&mut self, ty: &FuncType, args: &[Value]) -> Result<(Value, Value)> {
        let count = ty.params().len().max(ty.results().len()).max(1);
        let slots = self.value_slots(count)?;
        for (i, (arg, param)) in args.iter().zip(ty.params()).enumerate() {
            let slot = encode_slot(&mut self.builder, *arg, clif_type(*param));
            self.builder
                .ins()
                .store(vm_flags(), slot, slots, offset_of_index(i as u32, 8)?);
        }
        let count = self.builder.ins().iconst(types::I32, count as i64);
        Ok((slots, count))
    }

    fn reload_results(&mut self, ty: &FuncType, slots: Value) -> Result<Vec<Value>> {
        let mut results = Vec::with_capacity(ty.results().len());
        for (i, result) in ty.results().iter().enumerate() {
            let slot = self.builder.ins().load(
                types::I64,
                vm_flags(),
                slots,
                offset_of_index(i as u32, 8)?,
            );
            results.push(decode_slot(&mut self.builder, slot, clif_type(*result)));
        }
        Ok(results)
    }

    fn call(&mut self, func: u32) -> Result<()> {
        let type_index = *self
            .module
            .funcs
            .get(func as usize)
            .ok_or_else(|| CompileError::Failed("function index out of range".into()))?;
        let ty = self.module.types[type_index as usize].clone();
        let args = self.pop_n(ty.params().len())?;
        let join = self.call_join(&ty);
        let slow = self.builder.create_block();
        self.builder.set_cold_block(slow);
        if (func as usize) >= self.module.num_imported_funcs {
            // A defined function: through its code slot's native entry when it has one.
            let defined = func as usize - self.module.num_imported_funcs;
            let offset = defined
                .checked_mul(layout::CODE_SLOT_SIZE)
                .and_then(|o| o.checked_add(layout::CODE_SLOT_NATIVE_ENTRY))
                .and_then(|o| i32::try_from(o).ok())
                .ok_or_else(|| CompileError::Failed("too many functions".into()))?;
            let code = self.load_vm(types::I64, self.vmctx, layout::VMCTX_CODE);
            let entry_address = self.builder.ins().iadd_imm_s(code, i64::from(offset));
            let entry = self
                .builder
                .ins()
                .atomic_load(types::I64, vm_flags(), entry_address);
            let fast = self.builder.create_block();
            self.builder.ins().brif(entry, fast, &[], slow, &[]);
            self.builder.switch_to_block(fast);
            self.builder.seal_block(fast);
            self.call_native(type_index, entry, &args, join)?;
        } else {
            self.builder.ins().jump(slow, &[]);
        }
        // Anything else goes through the runtime: imports, and functions not compiled yet.
        self.builder.switch_to_block(slow);
        self.builder.seal_block(slow);
        // The callee's store index: its encoded funcref in the VM context, less one.
        let funcs = self.load_vm(types::I64, self.vmctx, layout::VMCTX_FUNCS);
        let func_ref = self.load_vm(types::I64, funcs, offset_of_index(func, 8)? as usize);
        let func_ref = self.builder.ins().ireduce(types::I32, func_ref);
        let index = self.builder.ins().iadd_imm_s(func_ref, -1);
        self.call_through_runtime(index, &ty, &args, join)?;
        self.finish_call(join);
        Ok(())
    }

    /// The block a call's paths join in: the status, then the results.
    fn call_join(&mut self, ty: &FuncType) -> Block {
        let join = self.builder.create_block();
        self.builder.append_block_param(join, types::I32);
        for result in ty.results() {
            self.builder.append_block_param(join, clif_type(*result));
        }
        join
    }

    /// Calls native code at `entry`, of the module's type `type_index`, and jumps to `join`
    /// with its status and results.
    fn call_native(
        &mut self,
        type_index: u32,
        entry: Value,
        args: &[Value],
        join: Block,
    ) -> Result<()> {
        let sig = self.native_signature_ref(type_index)?;
        let mut call_args = vec![self.vmctx];
        call_args.extend_from_slice(args);
        let call = self.builder.ins().call_indirect(sig, entry, &call_args);
        let results = self.builder.inst_results(call).to_vec();
        self.jump(join, &results);
        Ok(())
    }

    /// Calls store function `callee` of type `ty` through the runtime (the helper
    /// `call_store_func`), with the arguments and results in a slot array, and jumps to
    /// `join` with its status and results.
    fn call_through_runtime(
        &mut self,
        callee: Value,
        ty: &FuncType,
        args: &[Value],
        join: Block,
    ) -> Result<()> {
        let (slots, count) = self.spill_arguments(ty, args)?;
        let status = self.call_helper(
            "call_store_func",
            self.helpers.call_store_func,
            &[types::I64, types::I32, types::I64, types::I32],
            types::I32,
            &[self.vmctx, callee, slots, count],
        );
        let mut values = vec![status];
        values.extend(self.reload_results(ty, slots)?);
        self.jump(join, &values);
        Ok(())
    }

    /// Continues after a call at its `join` block: passes a non-zero status on, reloads
    /// memory 0 (the callee may have grown it) and pushes the results.
    fn finish_call(&mut self, join: Block) {
        self.builder.switch_to_block(join);
        self.builder.seal_block(join);
        let params = self.builder.block_params(join).to_vec();
        self.propagate(params[0]);
        self.reload_memory();
        self.stack.extend_from_slice(&params[1..]);
    }

    /// `call_indirect`: the element, null and signature checks inline (the store's function
    /// record of the element gives the callee's signature id, VM context and code slot); a
    /// callee of this instance with native code is called directly, through its code slot's
    /// native entry, and any other callee through the runtime.
    fn call_indirect(&mut self, type_index: u32, table: u32) -> Result<()> {
        let ty = self
            .module
            .types
            .get(type_index as usize)
            .ok_or_else(|| CompileError::Failed("type index out of range".into()))?
            .clone();
        let expected = *self
            .module
            .signatures
            .get(type_index as usize)
            .ok_or_else(|| CompileError::Failed("type index out of range".into()))?;
        if table as usize >= self.module.tables.len() {
            return Err(CompileError::Failed("table index out of range".into()));
        }
        let element = self.pop()?;
        let args = self.pop_n(ty.params().len())?;

        let address = self.table_element(table, element, TrapCode::UndefinedElement)?;
        let func_ref = self.load_vm(types::I64, address, 0);
        let null = self.builder.ins().icmp_imm_u(IntCC::Equal, func_ref, 0);
        self.trap_if(null, TrapCode::UninitializedElement);
        let refs = self.load_vm(types::I64, self.vmctx, layout::VMCTX_FUNC_REFS);
        let base = self.load_vm(types::I64, refs, layout::FUNC_REFS_BASE);
        let func = self.builder.ins().iadd_imm_s(func_ref, -1);
        let offset = self
            .builder
            .ins()
            .imul_imm_u(func, layout::FUNC_REF_SIZE as i64);
        let record = self.builder.ins().iadd(base, offset);
        let signature = self.load_vm(types::I32, record, layout::FUNC_REF_SIGNATURE);
        let mismatch =
            self.builder
                .ins()
                .icmp_imm_u(IntCC::NotEqual, signature, i64::from(expected.0));
        self.trap_if(mismatch, TrapCode::BadSignature);

        let join = self.call_join(&ty);
        let slow = self.builder.create_block();
        self.builder.set_cold_block(slow);
        // Only a callee of this instance runs on this activation's stack limit directly.
        let callee_vmctx = self.load_vm(types::I64, record, layout::FUNC_REF_VMCTX);
        let same_instance = self
            .builder
            .ins()
            .icmp(IntCC::Equal, callee_vmctx, self.vmctx);
        let has_instance = self.builder.create_block();
        self.builder
            .ins()
            .brif(same_instance, has_instance, &[], slow, &[]);
        self.builder.switch_to_block(has_instance);
        self.builder.seal_block(has_instance);
        let code = self.load_vm(types::I64, record, layout::FUNC_REF_CODE);
        let entry_address = self
            .builder
            .ins()
            .iadd_imm_s(code, layout::CODE_SLOT_NATIVE_ENTRY as i64);
        let entry = self
            .builder
            .ins()
            .atomic_load(types::I64, vm_flags(), entry_address);
        let direct = self.builder.create_block();
        self.builder.ins().brif(entry, direct, &[], slow, &[]);

        self.builder.switch_to_block(direct);
        self.builder.seal_block(direct);
        self.call_native(type_index, entry, &args, join)?;

        self.builder.switch_to_block(slow);
        self.builder.seal_block(slow);
        let func = self.builder.ins().ireduce(types::I32, func);
        self.call_through_runtime(func, &ty, &args, join)?;
        self.finish_call(join);
        Ok(())
    }

    fn unary(&mut self, f: impl FnOnce(&mut FunctionBuilder<'b>, Value) -> Value) -> Result<()> {
        let a = self.pop()?;
        let value = f(&mut self.builder, a);
        self.push(value);
        Ok(())
    }

    fn binary(
        &mut self,
        f: impl FnOnce(&mut FunctionBuilder<'b>, Value, Value) -> Value,
    ) -> Result<()> {
        let (a, b) = self.pop2()?;
        let value = f(&mut self.builder, a, b);
        self.push(value);
        Ok(())
    }

    fn icmp(&mut self, cc: IntCC) -> Result<()> {
        self.binary(|b, x, y| {
            let flag = b.ins().icmp(cc, x, y);
            b.ins().uextend(types::I32, flag)
        })
    }

    fn fcmp(&mut self, cc: FloatCC) -> Result<()> {
        self.binary(|b, x, y| {
            let flag = b.ins().fcmp(cc, x, y);
            b.ins().uextend(types::I32, flag)
        })
    }

    fn eqz(&mut self) -> Result<()> {
        self.unary(|b, x| {
            let flag = b.ins().icmp_imm_s(IntCC::Equal, x, 0);
            b.ins().uextend(types::I32, flag)
        })
    }

    /// Integer division and remainder, with the traps Wasm requires checked first.
    fn divide(&mut self, signed: bool, remainder: bool) -> Result<()> {
        let (x, y) = self.pop2()?;
        let ty = self.builder.func.dfg.value_type(x);
        let zero = self.builder.ins().icmp_imm_s(IntCC::Equal, y, 0);
        self.trap_if(zero, TrapCode::IntegerDivisionByZero);
        let minus_one = self.builder.ins().icmp_imm_s(IntCC::Equal, y, -1);
        let value = match (signed, remainder) {
            (false, false) => self.builder.ins().udiv(x, y),
            (false, true) => self.builder.ins().urem(x, y),
            (true, false) => {
                let min = if ty == types::I32 {
                    i64::from(i32::MIN)
                } else {
                    i64::MIN
                };
                let is_min = self.builder.ins().icmp_imm_s(IntCC::Equal, x, min);
                let overflow = self.builder.ins().band(is_min, minus_one);
                self.trap_if(overflow, TrapCode::IntegerOverflow);
                self.builder.ins().sdiv(x, y)
            }
            (true, true) => {
                // `x rem -1` is 0 for every `x`, and `INT_MIN rem -1` must not fault.
                let one = self.builder.ins().iconst(ty, 1);
                let y = self.builder.ins().select(minus_one, one, y);
                self.builder.ins().srem(x, y)
            }
        };
        self.push(value);
        Ok(())
    }

    /// A trapping float-to-int conversion: NaN and out-of-range inputs trap, others truncate.
    /// The input is compared as an `f64` (exact for `f32` inputs too) with bounds just outside
    /// the inputs whose truncation fits the integer type.
    fn truncate(&mut self, to: Type, signed: bool) -> Result<()> {
        let x = self.pop()?;
        let from = self.builder.func.dfg.value_type(x);
        let wide = if from == types::F32 {
            self.builder.ins().fpromote(types::F64, x)
        } else {
            x
        };
        let is_nan = self.builder.ins().fcmp(FloatCC::Unordered, wide, wide);
        self.trap_if(is_nan, TrapCode::BadConversionToInteger);
        let (low, low_cc, high) = match (to, signed) {
            (types::I32, true) => (-2147483649.0, FloatCC::LessThanOrEqual, 2147483648.0),
            (types::I32, false) => (-1.0, FloatCC::LessThanOrEqual, 4294967296.0),
            // −2^63 − 1 is not a double: the double below −2^63 is already out of range.
            (_, true) => (
                -9223372036854775808.0,
                FloatCC::LessThan,
                9223372036854775808.0,
            ),
            (_, false) => (-1.0, FloatCC::LessThanOrEqual, 18446744073709551616.0),
        };
        let low = self.builder.ins().f64const(low);
        let high = self.builder.ins().f64const(high);
        let below = self.builder.ins().fcmp(low_cc, wide, low);
        let above = self
            .builder
            .ins()
            .fcmp(FloatCC::GreaterThanOrEqual, wide, high);
        let out_of_range = self.builder.ins().bor(below, above);
        self.trap_if(out_of_range, TrapCode::IntegerOverflow);
        let value = if signed {
            self.builder.ins().fcvt_to_sint_sat(to, x)
        } else {
            self.builder.ins().fcvt_to_uint_sat(to, x)
        };
        self.push(value);
        Ok(())
    }

    fn numeric(&mut self, op: &Operator<'_>) -> Result<()> {
        use Operator as O;
        use types::{F32, F64, I32, I64};
        match *op {
            O::I32Eqz | O::I64Eqz => self.eqz()?,
            O::I32Eq | O::I64Eq => self.icmp(IntCC::Equal)?,
            O::I32Ne | O::I64Ne => self.icmp(IntCC::NotEqual)?,
            O::I32LtS | O::I64LtS => self.icmp(IntCC::SignedLessThan)?,
            O::I32LtU | O::I64LtU => self.icmp(IntCC::UnsignedLessThan)?,
            O::I32GtS | O::I64GtS => self.icmp(IntCC::SignedGreaterThan)?,
            O::I32GtU | O::I64GtU => self.icmp(IntCC::UnsignedGreaterThan)?,
            O::I32LeS | O::I64LeS => self.icmp(IntCC::SignedLessThanOrEqual)?,
            O::I32LeU | O::I64LeU => self.icmp(IntCC::UnsignedLessThanOrEqual)?,
            O::I32GeS | O::I64GeS => self.icmp(IntCC::SignedGreaterThanOrEqual)?,
            O::I32GeU | O::I64GeU => self.icmp(IntCC::UnsignedGreaterThanOrEqual)?,
            O::F32Eq | O::F64Eq => self.fcmp(FloatCC::Equal)?,
            O::F32Ne | O::F64Ne => self.fcmp(FloatCC::NotEqual)?,
            O::F32Lt | O::F64Lt => self.fcmp(FloatCC::LessThan)?,
            O::F32Gt | O::F64Gt => self.fcmp(FloatCC::GreaterThan)?,
            O::F32Le | O::F64Le => self.fcmp(FloatCC::LessThanOrEqual)?,
            O::F32Ge | O::F64Ge => self.fcmp(FloatCC::GreaterThanOrEqual)?,
            O::I32Clz | O::I64Clz => self.unary(|b, x| b.ins().clz(x))?,
            O::I32Ctz | O::I64Ctz => self.unary(|b, x| b.ins().ctz(x))?,
            O::I32Popcnt | O::I64Popcnt => self.unary(|b, x| b.ins().popcnt(x))?,
            O::I32Add | O::I64Add => self.binary(|b, x, y| b.ins().iadd(x, y))?,
            O::I32Sub | O::I64Sub => self.binary(|b, x, y| b.ins().isub(x, y))?,
            O::I32Mul | O::I64Mul => self.binary(|b, x, y| b.ins().imul(x, y))?,
            O::I32DivS | O::I64DivS => self.divide(true, false)?,
            O::I32DivU | O::I64DivU => self.divide(false, false)?,
            O::I32RemS | O::I64RemS => self.divide(true, true)?,
            O::I32RemU | O::I64RemU => self.divide(false, true)?,
            O::I32And | O::I64And => self.binary(|b, x, y| b.ins().band(x, y))?,
            O::I32Or | O::I64Or => self.binary(|b, x, y| b.ins().bor(x, y))?,
            O::I32Xor | O::I64Xor => self.binary(|b, x, y| b.ins().bxor(x, y))?,
            // Cranelift's shifts and rotates take the amount modulo the width, as Wasm does.
            O::I32Shl | O::I64Shl => self.binary(|b, x, y| b.ins().ishl(x, y))?,
            O::I32ShrS | O::I64ShrS => self.binary(|b, x, y| b.ins().sshr(x, y))?,
            O::I32ShrU | O::I64ShrU => self.binary(|b, x, y| b.ins().ushr(x, y))?,
            O::I32Rotl | O::I64Rotl => self.binary(|b, x, y| b.ins().rotl(x, y))?,
            O::I32Rotr | O::I64Rotr => self.binary(|b, x, y| b.ins().rotr(x, y))?,
            O::F32Abs | O::F64Abs => self.unary(|b, x| b.ins().fabs(x))?,
            O::F32Neg | O::F64Neg => self.unary(|b, x| b.ins().fneg(x))?,
            O::F32Ceil | O::F64Ceil => self.unary(|b, x| b.ins().ceil(x))?,
            O::F32Floor | O::F64Floor => self.unary(|b, x| b.ins().floor(x))?,
            O::F32Trunc | O::F64Trunc => self.unary(|b, x| b.ins().trunc(x))?,
            // Cranelift's `nearest` rounds half to even, as Wasm's does.
            O::F32Nearest | O::F64Nearest => self.unary(|b, x| b.ins().nearest(x))?,
            O::F32Sqrt | O::F64Sqrt => self.unary(|b, x| b.ins().sqrt(x))?,
            O::F32Add | O::F64Add => self.binary(|b, x, y| b.ins().fadd(x, y))?,
            O::F32Sub | O::F64Sub => self.binary(|b, x, y| b.ins().fsub(x, y))?,
            O::F32Mul | O::F64Mul => self.binary(|b, x, y| b.ins().fmul(x, y))?,
            O::F32Div | O::F64Div => self.binary(|b, x, y| b.ins().fdiv(x, y))?,
            // Cranelift's `fmin`/`fmax` return NaN for a NaN operand and order −0 below +0.
            O::F32Min | O::F64Min => self.binary(|b, x, y| b.ins().fmin(x, y))?,
            O::F32Max | O::F64Max => self.binary(|b, x, y| b.ins().fmax(x, y))?,
            O::F32Copysign | O::F64Copysign => self.binary(|b, x, y| b.ins().fcopysign(x, y))?,
            O::I32WrapI64 => self.unary(|b, x| b.ins().ireduce(I32, x))?,
            O::I64ExtendI32S => self.unary(|b, x| b.ins().sextend(I64, x))?,
            O::I64ExtendI32U => self.unary(|b, x| b.ins().uextend(I64, x))?,
            O::I32Extend8S
            | O::I32Extend16S
            | O::I64Extend8S
            | O::I64Extend16S
            | O::I64Extend32S => {
                let narrow = match op {
                    O::I32Extend8S | O::I64Extend8S => types::I8,
                    O::I32Extend16S | O::I64Extend16S => types::I16,
                    _ => I32,
                };
                self.unary(|b, x| {
                    let ty = b.func.dfg.value_type(x);
                    let low = b.ins().ireduce(narrow, x);
                    b.ins().sextend(ty, low)
                })?
            }
            O::I32TruncF32S | O::I32TruncF64S => self.truncate(I32, true)?,
            O::I32TruncF32U | O::I32TruncF64U => self.truncate(I32, false)?,
            O::I64TruncF32S | O::I64TruncF64S => self.truncate(I64, true)?,
            O::I64TruncF32U | O::I64TruncF64U => self.truncate(I64, false)?,
            O::I32TruncSatF32S | O::I32TruncSatF64S => {
                self.unary(|b, x| b.ins().fcvt_to_sint_sat(I32, x))?
            }
            O::I32TruncSatF32U | O::I32TruncSatF64U => {
                self.unary(|b, x| b.ins().fcvt_to_uint_sat(I32, x))?
            }
            O::I64TruncSatF32S | O::I64TruncSatF64S => {
                self.unary(|b, x| b.ins().fcvt_to_sint_sat(I64, x))?
            }
            O::I64TruncSatF32U | O::I64TruncSatF64U => {
                self.unary(|b, x| b.ins().fcvt_to_uint_sat(I64, x))?
            }
            O::F32ConvertI32S | O::F32ConvertI64S => {
                self.unary(|b, x| b.ins().fcvt_from_sint(F32, x))?
            }
            O::F32ConvertI32U | O::F32ConvertI64U => {
                self.unary(|b, x| b.ins().fcvt_from_uint(F32, x))?
            }
            O::F64ConvertI32S | O::F64ConvertI64S => {
                self.unary(|b, x| b.ins().fcvt_from_sint(F64, x))?
            }
            O::F64ConvertI32U | O::F64ConvertI64U => {
                self.unary(|b, x| b.ins().fcvt_from_uint(F64, x))?
            }
            O::F32DemoteF64 => self.unary(|b, x| b.ins().fdemote(F32, x))?,
            O::F64PromoteF32 => self.unary(|b, x| b.ins().fpromote(F64, x))?,
            O::I32ReinterpretF32 => {
                self.unary(|b, x| b.ins().bitcast(I32, MemFlagsData::new(), x))?
            }
            O::I64ReinterpretF64 => {
                self.unary(|b, x| b.ins().bitcast(I64, MemFlagsData::new(), x))?
            }
            O::F32ReinterpretI32 => {
                self.unary(|b, x| b.ins().bitcast(F32, MemFlagsData::new(), x))?
            }
            O::F64ReinterpretI64 => {
                self.unary(|b, x| b.ins().bitcast(F64, MemFlagsData::new(), x))?
            }
            _ => return Err(CompileError::Unsupported("an operator outside Wasm 2.0")),
        }
        Ok(())
    }
}

#[derive(Clone, Copy)]
enum Extend {
    None,
    Signed,
    Unsigned,
}

/// `index * size` as a load or store offset.
fn offset_of_index(index: u32, size: u32) -> Result<i32> {
    index
        .checked_mul(size)
        .and_then(|offset| i32::try_from(offset).ok())
        .ok_or_else(|| CompileError::Failed("index too large for an offset".into()))
}
