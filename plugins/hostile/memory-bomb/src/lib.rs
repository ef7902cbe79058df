//! Hostile: `decide` allocates (and touches) memory until it is refused. The host must cap
//! it at the memory limit.

use motcua_plugin_sdk::{Capability, Decision, Info, Plugin, Value, export_plugin, json};

struct MemoryBomb;

impl Plugin for MemoryBomb {
    fn describe() -> Info {
        Info::new("memory-bomb", env!("CARGO_PKG_VERSION"), json!({})).with(Capability::Decide)
    }

    fn decide(_data: &Value, _config: &Value) -> Result<Decision, String> {
        let mut hoard: Vec<Vec<u8>> = Vec::new();
        loop {
            let mut chunk = vec![0u8; 1 << 20];
            chunk[0] = 1;
            hoard.push(std::hint::black_box(chunk));
        }
    }
}

export_plugin!(MemoryBomb);
