//! Hostile: `decide` recurses without bound. The host must stop it at the stack limit.

use motcua_plugin_sdk::{Capability, Decision, Info, Plugin, Value, export_plugin, json};

struct DeepRecursion;

/// Not tail-recursive and not an associative accumulation, so LLVM cannot turn it into a loop;
/// its locals stay in wasm locals, so it exhausts the wasm call stack (not the shadow stack).
#[inline(never)]
fn dive(n: u64) -> u64 {
    if n == 0 {
        return 1;
    }
    dive(n - 1).wrapping_mul(3) ^ n
}

impl Plugin for DeepRecursion {
    fn describe() -> Info {
        Info::new("deep-recursion", env!("CARGO_PKG_VERSION"), json!({})).with(Capability::Decide)
    }

    fn decide(_data: &Value, _config: &Value) -> Result<Decision, String> {
        let depth = std::hint::black_box(u64::MAX);
        Ok(Decision::new("tiep_nhan", format!("{}", dive(depth))))
    }
}

export_plugin!(DeepRecursion);
