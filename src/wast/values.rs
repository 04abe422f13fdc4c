//! Conversion of `.wast` arguments to runtime values, and matching of results against the
//! `.wast` expectations.

use crate::{ExternRef, Val};
use anyhow::{Result, bail};
use wast::core::{AbstractHeapType, HeapType, NanPattern, WastArgCore, WastRetCore};
use wast::{WastArg, WastRet};

/// The runtime value of an invocation argument. `(ref.extern N)` becomes an [`ExternRef`]
/// holding `N as u32`.
pub(crate) fn to_val(arg: &WastArg<'_>) -> Result<Val> {
    let WastArg::Core(arg) = arg else {
        bail!("unsupported non-core argument {arg:?}");
    };
    Ok(match arg {
        WastArgCore::I32(value) => Val::I32(*value),
        WastArgCore::I64(value) => Val::I64(*value),
        WastArgCore::F32(value) => Val::F32(value.bits),
        WastArgCore::F64(value) => Val::F64(value.bits),
        WastArgCore::RefNull(heap) => null_of(heap)?,
        WastArgCore::RefExtern(n) => Val::ExternRef(Some(ExternRef::new(*n))),
        other => bail!("unsupported argument {other:?}"),
    })
}

/// Checks that `actual` has as many values as `expected`, each matching its pattern.
pub(crate) fn check_results(actual: &[Val], expected: &[WastRet<'_>]) -> Result<()> {
    let expected = expected.iter().map(core_ret).collect::<Result<Vec<_>>>()?;
    let mut all_match = actual.len() == expected.len();
    for (value, pattern) in actual.iter().zip(&expected) {
        all_match &= matches(value, pattern)?;
    }
    if !all_match {
        let expected: Vec<String> = expected.iter().map(|pattern| show_ret(pattern)).collect();
        bail!(
            "expected [{}], got {}",
            expected.join(", "),
            show_vals(actual)
        );
    }
    Ok(())
}

/// Formats values for failure messages, e.g. `[i32 1, f32 1.5 (0x3fc00000)]`.
pub(crate) fn show_vals(values: &[Val]) -> String {
    let shown: Vec<String> = values.iter().map(show_val).collect();
    format!("[{}]", shown.join(", "))
}

fn core_ret<'a, 'b>(ret: &'b WastRet<'a>) -> Result<&'b WastRetCore<'a>> {
    match ret {
        WastRet::Core(core) => Ok(core),
        other => bail!("unsupported non-core result {other:?}"),
    }
}

/// The null reference of a `ref.null` heap type (`func` or `extern`).
fn null_of(heap: &HeapType<'_>) -> Result<Val> {
    match heap {
        HeapType::Abstract {
            shared: false,
            ty: AbstractHeapType::Func,
        } => Ok(Val::FuncRef(None)),
        HeapType::Abstract {
            shared: false,
            ty: AbstractHeapType::Extern,
        } => Ok(Val::ExternRef(None)),
        other => bail!("unsupported reference type {other:?}"),
    }
}

/// Whether `value` matches `pattern`. Floats compare bit for bit unless the pattern is
/// `nan:canonical` or `nan:arithmetic`; `(ref.func)` means any non-null funcref.
fn matches(value: &Val, pattern: &WastRetCore<'_>) -> Result<bool> {
    Ok(match (pattern, value) {
        (WastRetCore::I32(expected), Val::I32(actual)) => expected == actual,
        (WastRetCore::I64(expected), Val::I64(actual)) => expected == actual,
        (WastRetCore::F32(expected), Val::F32(actual)) => float_matches(
            expected,
            (*actual).into(),
            |f| f.bits.into(),
            0x7fc0_0000,
            1 << 31,
        ),
        (WastRetCore::F64(expected), Val::F64(actual)) => float_matches(
            expected,
            *actual,
            |f| f.bits,
            0x7ff8_0000_0000_0000,
            1 << 63,
        ),
        (WastRetCore::RefNull(None), actual) => {
            matches!(actual, Val::FuncRef(None) | Val::ExternRef(None))
        }
        (WastRetCore::RefNull(Some(heap)), actual) => matches!(
            (null_of(heap)?, actual),
            (Val::FuncRef(None), Val::FuncRef(None)) | (Val::ExternRef(None), Val::ExternRef(None))
        ),
        (WastRetCore::RefExtern(expected), Val::ExternRef(Some(actual))) => {
            expected.is_none_or(|n| actual.data().downcast_ref::<u32>() == Some(&n))
        }
        (WastRetCore::RefFunc(_), Val::FuncRef(Some(_))) => true,
        (WastRetCore::Either(options), actual) => {
            for option in options {
                if matches(actual, option)? {
                    return Ok(true);
                }
            }
            false
        }
        (
            WastRetCore::I32(_)
            | WastRetCore::I64(_)
            | WastRetCore::F32(_)
            | WastRetCore::F64(_)
            | WastRetCore::RefExtern(_)
            | WastRetCore::RefFunc(_),
            _,
        ) => false,
        (other, _) => bail!("unsupported expected result {other:?}"),
    })
}

/// Matches float bits (widened to `u64`) against a pattern. `canonical_nan` is the format's
/// canonical NaN (all exponent bits and the quiet bit); `sign` its sign bit.
///
/// `nan:canonical` accepts exactly the canonical NaN of either sign; `nan:arithmetic` accepts
/// any NaN with the quiet bit set, whatever its payload and sign.
fn float_matches<T>(
    pattern: &NanPattern<T>,
    actual: u64,
    bits: impl FnOnce(&T) -> u64,
    canonical_nan: u64,
    sign: u64,
) -> bool {
    match pattern {
        NanPattern::CanonicalNan => actual & !sign == canonical_nan,
        NanPattern::ArithmeticNan => actual & canonical_nan == canonical_nan,
        NanPattern::Value(expected) => bits(expected) == actual,
    }
}

fn show_val(value: &Val) -> String {
    match value {
        Val::I32(v) => format!("i32 {v}"),
        Val::I64(v) => format!("i64 {v}"),
        Val::F32(bits) => show_f32(*bits),
        Val::F64(bits) => show_f64(*bits),
        Val::FuncRef(None) => "ref.null func".to_owned(),
        Val::FuncRef(Some(_)) => "ref.func".to_owned(),
        Val::ExternRef(None) => "ref.null extern".to_owned(),
        Val::ExternRef(Some(r)) => match r.data().downcast_ref::<u32>() {
            Some(n) => format!("ref.extern {n}"),
            None => "ref.extern (not a u32)".to_owned(),
        },
    }
}

fn show_ret(pattern: &WastRetCore<'_>) -> String {
    match pattern {
        WastRetCore::I32(v) => format!("i32 {v}"),
        WastRetCore::I64(v) => format!("i64 {v}"),
        WastRetCore::F32(pattern) => show_nan_pattern(pattern, "f32", |f| show_f32(f.bits)),
        WastRetCore::F64(pattern) => show_nan_pattern(pattern, "f64", |f| show_f64(f.bits)),
        WastRetCore::RefNull(None) => "ref.null".to_owned(),
        WastRetCore::RefNull(Some(heap)) => match null_of(heap) {
            Ok(null) => show_val(&null),
            Err(_) => format!("ref.null {heap:?}"),
        },
        WastRetCore::RefExtern(None) => "ref.extern".to_owned(),
        WastRetCore::RefExtern(Some(n)) => format!("ref.extern {n}"),
        WastRetCore::RefFunc(_) => "ref.func".to_owned(),
        WastRetCore::Either(options) => {
            let shown: Vec<String> = options.iter().map(show_ret).collect();
            format!("either({})", shown.join(" | "))
        }
        other => format!("{other:?}"),
    }
}

fn show_nan_pattern<T>(
    pattern: &NanPattern<T>,
    ty: &str,
    show: impl FnOnce(&T) -> String,
) -> String {
    match pattern {
        NanPattern::CanonicalNan => format!("{ty} nan:canonical"),
        NanPattern::ArithmeticNan => format!("{ty} nan:arithmetic"),
        NanPattern::Value(value) => show(value),
    }
}

fn show_f32(bits: u32) -> String {
    format!("f32 {} ({bits:#010x})", f32::from_bits(bits))
}

fn show_f64(bits: u64) -> String {
    format!("f64 {} ({bits:#018x})", f64::from_bits(bits))
}
