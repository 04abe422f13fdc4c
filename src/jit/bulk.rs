//! The bulk memory and table operators, which native code runs through the runtime: they
//! work on the store's memories, tables and segments with the interpreter's semantics (every
//! range is checked before anything is written).

use crate::error::{Error, Result, TrapCode};
use crate::runtime::instance::checked_range;
use crate::runtime::store::StoreInner;

/// A bulk operator and the order of its operands (each a 64-bit slot, immediates first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub(crate) enum BulkOp {
    /// `dst, value, len`
    MemoryFill,
    /// `dst, src, len`
    MemoryCopy,
    /// `segment, dst, src, len`
    MemoryInit,
    /// `segment`
    DataDrop,
    /// `table, dst, value, len`
    TableFill,
    /// `dst_table, src_table, dst, src, len`
    TableCopy,
    /// `table, segment, dst, src, len`
    TableInit,
    /// `segment`
    ElemDrop,
}

impl BulkOp {
    const ALL: [BulkOp; 8] = [
        BulkOp::MemoryFill,
        BulkOp::MemoryCopy,
        BulkOp::MemoryInit,
        BulkOp::DataDrop,
        BulkOp::TableFill,
        BulkOp::TableCopy,
        BulkOp::TableInit,
        BulkOp::ElemDrop,
    ];

    /// How many operands it takes.
    pub fn arity(self) -> usize {
        match self {
            BulkOp::DataDrop | BulkOp::ElemDrop => 1,
            BulkOp::MemoryFill | BulkOp::MemoryCopy => 3,
            BulkOp::MemoryInit | BulkOp::TableFill => 4,
            BulkOp::TableCopy | BulkOp::TableInit => 5,
        }
    }

    /// The operator with this code (`op as u32`).
    pub fn from_code(code: u32) -> Option<BulkOp> {
        BulkOp::ALL.get(code as usize).copied()
    }
}

/// Runs `op` for store instance `instance` with `operands` (as many as `op.arity()`).
pub(crate) fn run(
    inner: &mut StoreInner,
    instance: u32,
    op: BulkOp,
    operands: &[u64],
) -> Result<()> {
    let arg = |i: usize| operands.get(i).copied().unwrap_or(0);
    // Operands of type i32 are in the low half of their slots.
    let arg32 = |i: usize| arg(i) as u32;
    let entity = &mut inner.instances[instance as usize];
    let oob_memory = || Error::trap(TrapCode::MemoryOutOfBounds);
    let oob_table = || Error::trap(TrapCode::TableOutOfBounds);
    match op {
        BulkOp::MemoryFill => {
            let bytes = &mut inner.memories[entity.memories[0] as usize].bytes;
            let range =
                checked_range(arg32(0), arg32(2) as usize, bytes.len()).ok_or_else(oob_memory)?;
            bytes[range].fill(arg(1) as u8);
        }
        BulkOp::MemoryCopy => {
            let bytes = &mut inner.memories[entity.memories[0] as usize].bytes;
            let len = arg32(2) as usize;
            let to = checked_range(arg32(0), len, bytes.len()).ok_or_else(oob_memory)?;
            let from = checked_range(arg32(1), len, bytes.len()).ok_or_else(oob_memory)?;
            bytes.copy_within(from, to.start);
        }
        BulkOp::MemoryInit => {
            let segment = arg32(0) as usize;
            let data = if entity.dropped_data[segment] {
                &[][..]
            } else {
                &entity.module.bytes[entity.module.data[segment].bytes.clone()]
            };
            let bytes = &mut inner.memories[entity.memories[0] as usize].bytes;
            let len = arg32(3) as usize;
            let from = checked_range(arg32(2), len, data.len()).ok_or_else(oob_memory)?;
            let to = checked_range(arg32(1), len, bytes.len()).ok_or_else(oob_memory)?;
            bytes[to].copy_from_slice(&data[from]);
        }
        BulkOp::DataDrop => entity.dropped_data[arg32(0) as usize] = true,
        BulkOp::TableFill => {
            let elements = &mut inner.tables[entity.tables[arg32(0) as usize] as usize].elements;
            let range =
                checked_range(arg32(1), arg32(3) as usize, elements.len()).ok_or_else(oob_table)?;
            elements[range].fill(arg(2));
        }
        BulkOp::TableCopy => {
            let to_table = entity.tables[arg32(0) as usize] as usize;
            let from_table = entity.tables[arg32(1) as usize] as usize;
            let len = arg32(4) as usize;
            let tables = &mut inner.tables;
            let from = checked_range(arg32(3), len, tables[from_table].elements.len())
                .ok_or_else(oob_table)?;
            let to = checked_range(arg32(2), len, tables[to_table].elements.len())
                .ok_or_else(oob_table)?;
            if to_table == from_table {
                tables[to_table].elements.copy_within(from, to.start);
            } else {
                let items = tables[from_table].elements[from].to_vec();
                tables[to_table].elements[to].copy_from_slice(&items);
            }
        }
        BulkOp::TableInit => {
            let table = entity.tables[arg32(0) as usize] as usize;
            let items = &entity.element_segments[arg32(1) as usize];
            let len = arg32(4) as usize;
            let from = checked_range(arg32(3), len, items.len()).ok_or_else(oob_table)?;
            let elements = &mut inner.tables[table].elements;
            let to = checked_range(arg32(2), len, elements.len()).ok_or_else(oob_table)?;
            elements[to].copy_from_slice(&items[from]);
        }
        BulkOp::ElemDrop => entity.element_segments[arg32(0) as usize] = Box::default(),
    }
    Ok(())
}

/// `table.grow` of table `table` of store instance `instance`: the old size, or `u32::MAX`.
pub(crate) fn table_grow(
    inner: &mut StoreInner,
    instance: u32,
    table: u32,
    init: u64,
    delta: u32,
) -> u32 {
    let table = inner.instances[instance as usize].tables[table as usize] as usize;
    let max_elements = inner.engine.config().max_table_elements;
    inner.tables[table]
        .grow(delta, init, max_elements)
        .unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::BulkOp;

    #[test]
    fn codes_name_their_operators() {
        for op in BulkOp::ALL {
            assert_eq!(BulkOp::from_code(op as u32), Some(op));
        }
        assert_eq!(BulkOp::from_code(BulkOp::ALL.len() as u32), None);
    }
}
