//! The embedding API's handles and values: memories, tables, globals, typed
//! functions, `Val`, and the types a module reports for its imports and
//! exports.

mod common;

use common::{expect_err, instantiate, store, wasm};
use tierwasm::{
    Engine, ErrorKind, ExternRef, ExternType, Func, FuncType, Global, GlobalType, Memory,
    MemoryType, Module, Mutability, Table, TableType, Val, ValType,
};

const PAGE: usize = 65536;

#[test]
fn memory_read_write_and_bounds() {
    let mut store = store();
    let memory = Memory::new(&mut store, MemoryType::new(1, Some(3))).unwrap();
    assert_eq!(memory.ty(&store), MemoryType::new(1, Some(3)));
    assert_eq!(memory.size(&store), 1);
    assert_eq!(memory.data(&store).len(), PAGE);
    assert!(memory.data(&store).iter().all(|&byte| byte == 0));

    memory.write(&mut store, PAGE - 6, b"fits!!").unwrap();
    let mut buf = [0; 6];
    memory.read(&store, PAGE - 6, &mut buf).unwrap();
    assert_eq!(&buf, b"fits!!");
    memory.data_mut(&mut store)[0] = 0xab;
    memory.read(&store, 0, &mut buf[..1]).unwrap();
    assert_eq!(buf[0], 0xab);

    assert!(memory.write(&mut store, PAGE - 6, b"spills!").is_err());
    assert!(memory.read(&store, PAGE - 5, &mut buf).is_err());
    assert!(memory.read(&store, PAGE, &mut [0]).is_err());
    assert!(memory.read(&store, usize::MAX, &mut [0]).is_err());
    assert_eq!(
        &memory.data(&store)[PAGE - 6..],
        b"fits!!",
        "a failed write changes nothing"
    );
}

#[test]
fn memory_grow_respects_the_maximum() {
    let mut store = store();
    let memory = Memory::new(&mut store, MemoryType::new(1, Some(3))).unwrap();
    assert_eq!(memory.grow(&mut store, 1).unwrap(), 1);
    assert_eq!(memory.size(&store), 2);
    assert_eq!(memory.data(&store).len(), 2 * PAGE);
    memory.write(&mut store, 2 * PAGE - 1, &[1]).unwrap();

    assert!(memory.grow(&mut store, 2).is_err());
    assert_eq!(memory.size(&store), 2, "a refused growth changes nothing");
    assert!(memory.grow(&mut store, u64::MAX).is_err());
    assert_eq!(memory.grow(&mut store, 1).unwrap(), 2);
    assert_eq!(memory.grow(&mut store, 0).unwrap(), 3);
    assert!(memory.grow(&mut store, 1).is_err());
    assert_eq!(memory.data(&store)[2 * PAGE - 1], 1);
    assert_eq!(memory.data(&store)[2 * PAGE], 0, "new pages are zeroed");
}

#[test]
fn invalid_memory_and_table_types_are_refused() {
    let mut store = store();
    let invalid_memories = [
        MemoryType::new(2, Some(1)),
        MemoryType::new(65537, None),
        MemoryType::new(1, Some(65537)),
    ];
    for ty in invalid_memories {
        let err = expect_err(Memory::new(&mut store, ty), ErrorKind::Usage);
        assert!(err.to_string().contains("invalid memory type"), "{err}");
    }
    let invalid_tables = [
        TableType::new(ValType::FuncRef, 2, Some(1)),
        TableType::new(ValType::I32, 1, None),
    ];
    for ty in invalid_tables {
        expect_err(
            Table::new(&mut store, ty, Val::null_func_ref()),
            ErrorKind::Usage,
        );
    }
}

#[test]
fn table_get_set_and_grow() {
    let mut store = store();
    let table = Table::new(
        &mut store,
        TableType::new(ValType::FuncRef, 2, Some(4)),
        Val::null_func_ref(),
    )
    .unwrap();
    assert_eq!(
        table.ty(&store),
        TableType::new(ValType::FuncRef, 2, Some(4))
    );
    assert_eq!(table.size(&store), 2);
    assert!(matches!(table.get(&store, 1), Some(Val::FuncRef(None))));
    assert!(table.get(&store, 2).is_none());

    let answer = Func::wrap(&mut store, || 42i32);
    table
        .set(&mut store, 1, Val::FuncRef(Some(answer)))
        .unwrap();
    let Some(Val::FuncRef(Some(stored))) = table.get(&store, 1) else {
        panic!("table[1] is not the function just stored");
    };
    let stored = stored.typed::<(), i32>(&store).unwrap();
    assert_eq!(stored.call(&mut store, ()).unwrap(), 42);

    assert!(table.set(&mut store, 2, Val::null_func_ref()).is_err());
    assert!(table.set(&mut store, 0, Val::I32(0)).is_err());
    assert!(table.set(&mut store, 0, Val::null_extern_ref()).is_err());

    assert_eq!(
        table
            .grow(&mut store, 1, Val::FuncRef(Some(answer)))
            .unwrap(),
        2
    );
    assert_eq!(table.size(&store), 3);
    assert!(matches!(table.get(&store, 2), Some(Val::FuncRef(Some(_)))));
    assert!(table.grow(&mut store, 2, Val::null_func_ref()).is_err());
    assert_eq!(table.size(&store), 3, "a refused growth changes nothing");
    assert!(table.grow(&mut store, 1, Val::I64(0)).is_err());
    assert_eq!(table.grow(&mut store, 1, Val::null_func_ref()).unwrap(), 3);
}

#[test]
fn externref_table_holds_host_values() {
    let mut store = store();
    let table = Table::new(
        &mut store,
        TableType::new(ValType::ExternRef, 1, None),
        Val::null_extern_ref(),
    )
    .unwrap();
    let value = ExternRef::new(String::from("host value"));
    table
        .set(&mut store, 0, Val::ExternRef(Some(value.clone())))
        .unwrap();
    let Some(Val::ExternRef(Some(back))) = table.get(&store, 0) else {
        panic!("table[0] is not the externref just stored");
    };
    assert!(ExternRef::ptr_eq(&value, &back));
    assert_eq!(
        back.data().downcast_ref::<String>().map(String::as_str),
        Some("host value")
    );
    assert!(table.set(&mut store, 0, Val::null_func_ref()).is_err());
}

#[test]
fn externref_passes_through_wasm_unchanged() {
    let mut store = store();
    let instance = instantiate(
        &mut store,
        r#"(module
             (func (export "id") (param externref) (result externref)
               local.get 0)
             (func (export "is_null") (param externref) (result i32)
               (ref.is_null (local.get 0))))"#,
    );
    let id = instance.get_func(&mut store, "id").unwrap();
    let is_null = instance.get_func(&mut store, "is_null").unwrap();
    let value = ExternRef::new(7u64);
    let mut results = [Val::null_extern_ref()];
    id.call(
        &mut store,
        &[Val::ExternRef(Some(value.clone()))],
        &mut results,
    )
    .unwrap();
    let Val::ExternRef(Some(back)) = &results[0] else {
        panic!("id returned {:?}", results[0]);
    };
    assert!(ExternRef::ptr_eq(&value, back));

    let mut flag = [Val::I32(-1)];
    is_null
        .call(&mut store, &[Val::null_extern_ref()], &mut flag)
        .unwrap();
    assert_eq!(flag[0].i32(), Some(1));
    is_null
        .call(&mut store, &[Val::ExternRef(Some(value))], &mut flag)
        .unwrap();
    assert_eq!(flag[0].i32(), Some(0));
}

#[test]
fn global_get_and_set() {
    let mut store = store();
    let var = Global::new(
        &mut store,
        GlobalType::new(ValType::F64, Mutability::Var),
        Val::from(1.5f64),
    )
    .unwrap();
    assert_eq!(
        var.ty(&store),
        GlobalType::new(ValType::F64, Mutability::Var)
    );
    assert_eq!(var.get(&mut store).f64(), Some(1.5));
    var.set(&mut store, Val::from(-0.25f64)).unwrap();
    assert_eq!(var.get(&mut store).f64(), Some(-0.25));
    assert!(var.set(&mut store, Val::I32(1)).is_err(), "wrong type");
    assert!(
        var.set(&mut store, Val::from(1.0f32)).is_err(),
        "wrong type"
    );
    assert_eq!(var.get(&mut store).f64(), Some(-0.25));

    let constant = Global::new(
        &mut store,
        GlobalType::new(ValType::I32, Mutability::Const),
        Val::I32(3),
    )
    .unwrap();
    assert_eq!(constant.ty(&store).mutability(), Mutability::Const);
    assert_eq!(constant.ty(&store).content(), ValType::I32);
    assert!(constant.set(&mut store, Val::I32(4)).is_err());
    assert_eq!(constant.get(&mut store).i32(), Some(3));

    assert!(
        Global::new(
            &mut store,
            GlobalType::new(ValType::I32, Mutability::Const),
            Val::I64(3),
        )
        .is_err()
    );
}

#[test]
fn exported_immutable_global_cannot_be_set() {
    let mut store = store();
    let instance = instantiate(
        &mut store,
        r#"(module
             (global (export "c") i32 (i32.const 1))
             (global $v (export "v") (mut i32) (i32.const 1))
             (func (export "read_v") (result i32) global.get $v))"#,
    );
    let c = instance.get_global(&mut store, "c").unwrap();
    assert!(c.set(&mut store, Val::I32(2)).is_err());
    assert_eq!(c.get(&mut store).i32(), Some(1));

    let v = instance.get_global(&mut store, "v").unwrap();
    v.set(&mut store, Val::I32(2)).unwrap();
    let read_v = instance
        .get_typed_func::<(), i32>(&mut store, "read_v")
        .unwrap();
    assert_eq!(read_v.call(&mut store, ()).unwrap(), 2);
}

#[test]
fn typed_func_with_multiple_values() {
    let mut store = store();
    let instance = instantiate(
        &mut store,
        r#"(module
             (func (export "swap") (param i32 i64) (result i64 i32)
               local.get 1 local.get 0)
             (func (export "split") (param f64) (result f32 f64 i32 i64)
               (f32.demote_f64 (local.get 0))
               (f64.neg (local.get 0))
               (i32.trunc_f64_s (local.get 0))
               (i64.trunc_f64_s (local.get 0)))
             (func (export "none")))"#,
    );
    let swap = instance
        .get_typed_func::<(i32, i64), (i64, i32)>(&mut store, "swap")
        .unwrap();
    assert_eq!(swap.call(&mut store, (1, -2)).unwrap(), (-2, 1));

    let split = instance
        .get_typed_func::<f64, (f32, f64, i32, i64)>(&mut store, "split")
        .unwrap();
    assert_eq!(split.call(&mut store, 2.75).unwrap(), (2.75, -2.75, 2, 2));

    let none = instance
        .get_typed_func::<(), ()>(&mut store, "none")
        .unwrap();
    none.call(&mut store, ()).unwrap();

    let swap = instance.get_func(&mut store, "swap").unwrap();
    assert_eq!(
        swap.ty(&store),
        FuncType::new([ValType::I32, ValType::I64], [ValType::I64, ValType::I32])
    );
    assert!(swap.typed::<(i32, i64), (i32, i64)>(&store).is_err());
}

#[test]
fn floats_keep_their_bits() {
    let mut store = store();
    let instance = instantiate(
        &mut store,
        r#"(module
             (func (export "id32") (param f32) (result f32) local.get 0)
             (func (export "id64") (param f64) (result f64) local.get 0))"#,
    );
    let id32 = instance.get_func(&mut store, "id32").unwrap();
    let id64 = instance.get_func(&mut store, "id64").unwrap();
    let nan32 = 0x7fa0_0001;
    let nan64 = 0xfff4_0000_0000_0001;
    let mut results = [Val::F32(0)];
    id32.call(&mut store, &[Val::F32(nan32)], &mut results)
        .unwrap();
    assert!(matches!(results[0], Val::F32(bits) if bits == nan32));
    let mut results = [Val::F64(0)];
    id64.call(&mut store, &[Val::F64(nan64)], &mut results)
        .unwrap();
    assert!(matches!(results[0], Val::F64(bits) if bits == nan64));
}

#[test]
fn val_types_and_accessors() {
    let mut store = store();
    let func = Func::wrap(&mut store, || {});
    let cases = [
        (Val::from(-1i32), ValType::I32),
        (Val::from(1i64 << 40), ValType::I64),
        (Val::from(0.5f32), ValType::F32),
        (Val::from(0.25f64), ValType::F64),
        (Val::null_func_ref(), ValType::FuncRef),
        (Val::FuncRef(Some(func)), ValType::FuncRef),
        (Val::null_extern_ref(), ValType::ExternRef),
        (
            Val::ExternRef(Some(ExternRef::new(1u8))),
            ValType::ExternRef,
        ),
    ];
    for (val, ty) in cases {
        assert_eq!(val.ty(), ty, "{val:?}");
    }

    assert_eq!(Val::from(-1i32).i32(), Some(-1));
    assert_eq!(Val::from(-1i32).i64(), None);
    assert_eq!(Val::from(1i64 << 40).i64(), Some(1 << 40));
    assert_eq!(Val::from(0.5f32).f32(), Some(0.5));
    assert_eq!(Val::from(0.5f32).f64(), None);
    assert_eq!(Val::from(0.25f64).f64(), Some(0.25));
    assert!(matches!(Val::from(0.5f32), Val::F32(bits) if bits == 0.5f32.to_bits()));
    assert!(matches!(Val::from(0.25f64), Val::F64(bits) if bits == 0.25f64.to_bits()));
    assert_eq!(Val::from(7i32).unwrap_i32(), 7);
    assert_eq!(Val::from(-7i64).unwrap_i64(), -7);
}

#[test]
fn module_reports_its_imports_and_exports_with_types() {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        wasm(
            r#"(module $described
             (import "env" "f" (func (param i32 f64) (result i64)))
             (import "env" "mem" (memory 1 5))
             (import "host" "tab" (table 2 externref))
             (import "host" "g" (global (mut f32)))
             (func $h (export "h") (result i32 i32) i32.const 1 i32.const 2)
             (table (export "table") 1 10 funcref)
             (global (export "global") i64 (i64.const 0))
             (export "f_again" (func 0))
             (export "mem_again" (memory 0)))"#,
        ),
    )
    .unwrap();
    assert_eq!(module.name(), Some("described"));

    let imports: Vec<(String, String, ExternType)> = module
        .imports()
        .map(|import| {
            (
                import.module().to_string(),
                import.name().to_string(),
                import.ty(),
            )
        })
        .collect();
    let expected_imports = [
        (
            "env",
            "f",
            ExternType::Func(FuncType::new([ValType::I32, ValType::F64], [ValType::I64])),
        ),
        (
            "env",
            "mem",
            ExternType::Memory(MemoryType::new(1, Some(5))),
        ),
        (
            "host",
            "tab",
            ExternType::Table(TableType::new(ValType::ExternRef, 2, None)),
        ),
        (
            "host",
            "g",
            ExternType::Global(GlobalType::new(ValType::F32, Mutability::Var)),
        ),
    ];
    assert_eq!(imports.len(), expected_imports.len(), "{imports:?}");
    for ((module, name, ty), (expected_module, expected_name, expected_ty)) in
        imports.iter().zip(&expected_imports)
    {
        assert_eq!(
            (module.as_str(), name.as_str()),
            (*expected_module, *expected_name)
        );
        assert_eq!(ty, expected_ty, "{module}::{name}");
    }

    let exports: Vec<(String, ExternType)> = module
        .exports()
        .map(|export| (export.name().to_string(), export.ty()))
        .collect();
    let expected_exports = [
        (
            "h",
            ExternType::Func(FuncType::new([], [ValType::I32, ValType::I32])),
        ),
        (
            "table",
            ExternType::Table(TableType::new(ValType::FuncRef, 1, Some(10))),
        ),
        (
            "global",
            ExternType::Global(GlobalType::new(ValType::I64, Mutability::Const)),
        ),
        (
            "f_again",
            ExternType::Func(FuncType::new([ValType::I32, ValType::F64], [ValType::I64])),
        ),
        ("mem_again", ExternType::Memory(MemoryType::new(1, Some(5)))),
    ];
    assert_eq!(exports.len(), expected_exports.len(), "{exports:?}");
    for ((name, ty), (expected_name, expected_ty)) in exports.iter().zip(&expected_exports) {
        assert_eq!(name, expected_name);
        assert_eq!(ty, expected_ty, "{name}");
    }
}

#[test]
fn engines_modules_and_linkers_are_shared_and_stores_move_between_threads() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    send_sync::<tierwasm::Engine>();
    send_sync::<tierwasm::Module>();
    send_sync::<tierwasm::Linker<()>>();
    send::<tierwasm::Store<()>>();
}
