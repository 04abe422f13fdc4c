//! Selects the interpreter's dispatch backend from the optimisation level.
//!
//! `tierwasm_use_tail_calls` is set for optimised builds (`opt-level` 2, 3, "s" or "z"), where
//! LLVM turns the handlers' calls in tail position into jumps (sibling calls). Unoptimised
//! builds (`opt-level` 0 or 1) do not guarantee that, so they use the loop driver instead, as
//! do targets where sibling calls with six register arguments are not known to work.

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=OPT_LEVEL");
    println!("cargo::rustc-check-cfg=cfg(tierwasm_use_tail_calls)");
    println!("cargo::rerun-if-env-changed=CARGO_CFG_TARGET_ARCH");
    let opt_level = std::env::var("OPT_LEVEL").unwrap_or_default();
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let optimised = matches!(opt_level.as_str(), "2" | "3" | "s" | "z");
    let sibling_calls = matches!(arch.as_str(), "x86_64" | "aarch64");
    if optimised && sibling_calls {
        println!("cargo::rustc-cfg=tierwasm_use_tail_calls");
    }
}
