//! Hostile: `decide` never returns. The host must stop it at the time limit.

use motcua_plugin_sdk::{Capability, Decision, Info, Plugin, Value, export_plugin, json};

struct InfiniteLoop;

impl Plugin for InfiniteLoop {
    fn describe() -> Info {
        Info::new("infinite-loop", env!("CARGO_PKG_VERSION"), json!({})).with(Capability::Decide)
    }

    fn decide(_data: &Value, _config: &Value) -> Result<Decision, String> {
        let mut n: u64 = 0;
        loop {
            n = std::hint::black_box(n.wrapping_add(1));
        }
    }
}

export_plugin!(InfiniteLoop);
