//! The wasmtime host as the core's [`Runner`]: how the engine loads and calls plugins without
//! naming wasmtime.

use std::path::PathBuf;
use std::sync::Arc;

use serde_json::Value;

use crate::{Decision, Error, Fee, FieldError, Limits, Plugin, PluginHost, WasmInspector};
use motcua_core::plugin::{Failure, Runner, Step};
use motcua_core::procedure::PluginRef;
use motcua_core::procedure::check::PluginInspector;

/// Runs plugins in one [`PluginHost`], and checks them with the same host (its compile cache
/// is shared by the validator and the engine).
#[derive(Clone)]
pub struct WasmRunner {
    inspector: WasmInspector,
}

impl WasmRunner {
    /// A runner under `limits`, compiling into memory, or also into `disk_cache` so the next
    /// process skips Cranelift (see [`PluginHost::with_disk_cache`]).
    pub fn new(limits: Limits, disk_cache: Option<PathBuf>) -> Result<Self, Error> {
        let host = match disk_cache {
            Some(dir) => PluginHost::with_disk_cache(limits, dir)?,
            None => PluginHost::new(limits)?,
        };
        Ok(WasmRunner {
            inspector: WasmInspector::with_host(host),
        })
    }

    pub fn host(&self) -> &PluginHost {
        self.inspector.host()
    }
}

fn failure(e: Error) -> Failure {
    Failure::Failed {
        kind: e.kind(),
        message: e.to_string(),
    }
}

impl Runner for WasmRunner {
    fn load(&self, bytes: &[u8], plugin: &PluginRef) -> Result<Arc<dyn Step>, Failure> {
        let loaded = self
            .host()
            .load_bytes(bytes, &plugin.sha256)
            .map_err(failure)?
            .with_limits(plugin.time_limit_ms, plugin.memory_limit_mib);
        Ok(Arc::new(loaded))
    }

    fn inspector(&self) -> &dyn PluginInspector {
        &self.inspector
    }

    fn call_counts(&self) -> (u64, u64) {
        self.host().call_counts()
    }
}

impl Step for Plugin {
    fn validate(&self, data: &Value, config: &Value) -> Result<Vec<FieldError>, Failure> {
        Plugin::validate(self, data, config).map_err(failure)
    }
    fn decide(&self, data: &Value, config: &Value) -> Result<Decision, Failure> {
        Plugin::decide(self, data, config).map_err(failure)
    }
    fn compute_fee(&self, data: &Value, config: &Value) -> Result<Fee, Failure> {
        Plugin::compute_fee(self, data, config).map_err(failure)
    }
}
