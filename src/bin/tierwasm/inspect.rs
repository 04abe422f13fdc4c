//! `tierwasm inspect`: what `wasm-objdump -x` tells, readable: sections, imports and exports
//! with their types, function count and code size.

use std::path::Path;

use anyhow::Context as _;
use tierwasm::{Engine, ExternType, Module};
use wasmparser::{Parser, Payload};

use crate::{Failure, read, to_binary};

pub fn inspect(file: &Path) -> Result<(), Failure> {
    let binary = to_binary(file, read(file)?)?;
    let module = Module::new(&Engine::default(), &binary)
        .with_context(|| format!("cannot compile {}", file.display()))?;

    say!("{}", file.display())?;
    if let Some(name) = module.name() {
        say!("  module name: {name}")?;
    }
    say!("  size: {} bytes", binary.len())?;
    let layout = layout(&binary)?;
    say!("sections:")?;
    for section in &layout.sections {
        say!("  {:<24} {:>10} bytes", section.name, section.size)?;
    }

    let imports: Vec<_> = module.imports().collect();
    say!("imports ({}):", imports.len())?;
    for import in &imports {
        say!("  {}::{}: {}", import.module(), import.name(), import.ty())?;
    }
    let exports: Vec<_> = module.exports().collect();
    say!("exports ({}):", exports.len())?;
    for export in &exports {
        say!("  {}: {}", export.name(), export.ty())?;
    }
    let imported_functions = imports
        .iter()
        .filter(|import| matches!(import.ty(), ExternType::Func(_)))
        .count();
    say!(
        "functions: {} ({imported_functions} imported, {} defined)",
        imported_functions + layout.defined_functions,
        layout.defined_functions
    )?;
    say!("code: {} bytes of function bodies", layout.code_bytes)?;
    Ok(())
}

struct Section {
    name: String,
    size: usize,
}

/// Section names and sizes, and the code section's contents.
struct Layout {
    sections: Vec<Section>,
    defined_functions: usize,
    code_bytes: usize,
}

fn layout(binary: &[u8]) -> anyhow::Result<Layout> {
    let mut layout = Layout {
        sections: Vec::new(),
        defined_functions: 0,
        code_bytes: 0,
    };
    for payload in Parser::new(0).parse_all(binary) {
        let payload = payload?;
        if let Payload::CodeSectionEntry(body) = &payload {
            layout.defined_functions += 1;
            layout.code_bytes += body.as_bytes().len();
        }
        if let Some((id, range)) = payload.as_section() {
            let name = match &payload {
                Payload::CustomSection(reader) => format!("custom \"{}\"", reader.name()),
                _ => section_name(id).to_string(),
            };
            layout.sections.push(Section {
                name,
                size: (range.end - range.start) as usize,
            });
        }
    }
    Ok(layout)
}

fn section_name(id: u8) -> &'static str {
    match id {
        1 => "type",
        2 => "import",
        3 => "function",
        4 => "table",
        5 => "memory",
        6 => "global",
        7 => "export",
        8 => "start",
        9 => "element",
        10 => "code",
        11 => "data",
        12 => "data count",
        13 => "tag",
        _ => "unknown",
    }
}
