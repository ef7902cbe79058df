//! The wasmtime host: compile cache, sandboxed stores, error classification.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use sha2::{Digest, Sha256};
use wasmtime::component::{Component, Linker};
use wasmtime::{
    Config, Engine, InstanceAllocationStrategy, PoolConcurrencyLimitError, PoolingAllocationConfig,
    ResourceLimiter, Store, Trap,
};

use super::{Capability, Decision, Error, Fee, FeeLine, FieldError, Info, Limits};
use motcua_core::procedure::PluginRef;

mod bindings {
    wasmtime::component::bindgen!({
        world: "plugin",
        path: "../../plugins/wit",
    });
}

use bindings::motcua::plugin::types as wit;

/// Runs plugins in a sandbox. Cheap to clone (shared state); `Send + Sync`. Owns no thread:
/// calls run on the caller's thread.
#[derive(Clone)]
pub struct PluginHost {
    inner: Arc<Inner>,
}

struct Inner {
    engine: Engine,
    limits: Limits,
    /// Calls made and calls that failed (trapped, ran out of fuel or memory, bad output), for
    /// a server's metrics.
    calls: AtomicU64,
    failures: AtomicU64,
    /// Compiled, pre-linked components by sha256. Unbounded: keys are the plugins that
    /// deployed procedures pin, a small set; entries are immutable.
    cache: Mutex<HashMap<String, Arc<Compiled>>>,
    /// A folder of compiled components (see [`PluginHost::with_disk_cache`]).
    disk_cache: Option<PathBuf>,
}

struct Compiled {
    pre: bindings::PluginPre<StoreState>,
}

/// A loaded plugin with its limits. Cheap to clone; every call runs in a fresh instance, so
/// calls are independent and may run concurrently from several threads.
#[derive(Clone)]
pub struct Plugin {
    inner: Arc<Inner>,
    compiled: Arc<Compiled>,
    sha256: String,
    time_limit: Duration,
    memory_mib: u64,
}

struct StoreState {
    limiter: MemoryLimiter,
}

/// Caps the linear memory of all of a call's memories together (a component may hold several
/// core modules) and remembers a refusal, so the trap that follows (Rust aborts when an
/// allocation fails) is reported as [`Error::MemoryLimit`] rather than a bare trap.
struct MemoryLimiter {
    cap_bytes: usize,
    used_bytes: usize,
    refused: bool,
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        // Called for every memory's initial size (current = 0) and every growth.
        let total = self
            .used_bytes
            .saturating_sub(current)
            .saturating_add(desired);
        if total > self.cap_bytes {
            self.refused = true;
            return Ok(false);
        }
        self.used_bytes = total;
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        // Tables hold function references; a legitimate plugin needs a few thousand at most.
        Ok(desired <= 100_000)
    }
}

impl PluginHost {
    /// Creates the engine: Cranelift, fuel metering, pooling allocator sized by `limits`.
    pub fn new(limits: Limits) -> Result<Self, Error> {
        let slots = limits.max_concurrent_calls.max(1);
        let max_memory_bytes = mib_to_bytes(limits.max_memory_mib)?;
        let mut pool = PoolingAllocationConfig::new();
        // A wasm32-wasip2 component built by rustc holds the plugin module plus the WASI
        // adapter and a few shim modules; these per-component maxima leave headroom for that.
        pool.total_component_instances(slots)
            .total_core_instances(slots.saturating_mul(16))
            .total_memories(slots.saturating_mul(2))
            .total_tables(slots.saturating_mul(8))
            .max_core_instances_per_component(32)
            .max_memories_per_component(4)
            .max_tables_per_component(16)
            .max_memory_size(max_memory_bytes);
        let mut config = Config::new();
        config
            .consume_fuel(true)
            .max_wasm_stack(limits.max_wasm_stack)
            .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        let engine = Engine::new(&config).map_err(|e| Error::Host(format!("{e:#}")))?;

        Ok(PluginHost {
            inner: Arc::new(Inner {
                engine,
                limits,
                cache: Mutex::new(HashMap::new()),
                disk_cache: None,
                calls: AtomicU64::new(0),
                failures: AtomicU64::new(0),
            }),
        })
    }

    /// Plugin calls made through this host so far, and how many of them failed.
    pub fn call_counts(&self) -> (u64, u64) {
        (
            self.inner.calls.load(Ordering::Relaxed),
            self.inner.failures.load(Ordering::Relaxed),
        )
    }

    /// A host that keeps compiled components in `dir` across processes, so a command that
    /// opens an engine does not run Cranelift again (compiling the sample plugins is most of
    /// a second). A file is named by the plugin's sha256 and wasmtime's compatibility hash
    /// (its version, this configuration and the target), so an artifact is never loaded by
    /// another wasmtime or another configuration; one that fails to load is compiled again
    /// and replaced. Files are written whole under a temporary name and renamed.
    ///
    /// The folder must be as trusted as the data folder beside it: wasmtime maps an artifact
    /// as native code.
    pub fn with_disk_cache(limits: Limits, dir: impl Into<PathBuf>) -> Result<Self, Error> {
        let host = PluginHost::new(limits)?;
        let Inner {
            engine,
            limits,
            cache,
            ..
        } = Arc::try_unwrap(host.inner)
            .map_err(|_| Error::Host("a new host is shared already".into()))?;
        Ok(PluginHost {
            inner: Arc::new(Inner {
                engine,
                limits,
                cache,
                disk_cache: Some(dir.into()),
                calls: AtomicU64::new(0),
                failures: AtomicU64::new(0),
            }),
        })
    }

    /// The limits this host was created with.
    pub fn limits(&self) -> &Limits {
        &self.inner.limits
    }

    /// Reads a `.wasm` component, checks its sha256 against `expected_sha256` (hex), and
    /// compiles it unless a component with that hash is already cached. Default limits apply;
    /// see [`Plugin::with_limits`].
    pub fn load(&self, path: impl AsRef<Path>, expected_sha256: &str) -> Result<Plugin, Error> {
        let path = path.as_ref();
        check_hash_syntax(expected_sha256)?;
        let bytes = motcua_core::procedure::read_plugin_file(path).map_err(|source| Error::Io {
            path: path.to_owned(),
            source,
        })?;
        let actual = sha256_hex(&bytes);
        if actual != expected_sha256 {
            return Err(Error::HashMismatch {
                path: path.to_owned(),
                expected: expected_sha256.to_owned(),
                actual,
            });
        }
        self.load_verified(&bytes, actual)
    }

    /// [`PluginHost::load`] for a procedure's `plugins:` entry: `file` is resolved against
    /// `procedure_dir` and the entry's `time_limit_ms` / `memory_limit_mib` apply.
    pub fn load_ref(&self, procedure_dir: &Path, plugin: &PluginRef) -> Result<Plugin, Error> {
        Ok(self
            .load(procedure_dir.join(&plugin.file), &plugin.sha256)?
            .with_limits(plugin.time_limit_ms, plugin.memory_limit_mib))
    }

    /// [`PluginHost::load`] from bytes already in memory.
    pub fn load_bytes(&self, bytes: &[u8], expected_sha256: &str) -> Result<Plugin, Error> {
        check_hash_syntax(expected_sha256)?;
        let actual = sha256_hex(bytes);
        if actual != expected_sha256 {
            return Err(Error::HashMismatch {
                path: "<memory>".into(),
                expected: expected_sha256.to_owned(),
                actual,
            });
        }
        self.load_verified(bytes, actual)
    }

    fn load_verified(&self, bytes: &[u8], sha256: String) -> Result<Plugin, Error> {
        let cached = self.cache()?.get(&sha256).cloned();
        let compiled = match cached {
            Some(c) => c,
            None => {
                // Compiled outside the lock so that other plugins keep loading meanwhile; two
                // threads racing on one new hash both compile and the first insert wins.
                let compiled = Arc::new(self.compile(bytes)?);
                self.cache()?
                    .entry(sha256.clone())
                    .or_insert(compiled)
                    .clone()
            }
        };
        let limits = &self.inner.limits;
        Ok(Plugin {
            inner: self.inner.clone(),
            compiled,
            sha256,
            time_limit: limits.time_limit.min(limits.max_time_limit),
            memory_mib: limits.memory_mib.min(limits.max_memory_mib),
        })
    }

    fn cache(&self) -> Result<std::sync::MutexGuard<'_, HashMap<String, Arc<Compiled>>>, Error> {
        // Nothing that can panic runs under this lock, but stay total anyway.
        self.inner
            .cache
            .lock()
            .map_err(|_| Error::Host("plugin cache lock poisoned".into()))
    }

    fn compile(&self, bytes: &[u8]) -> Result<Compiled, Error> {
        if bytes.len() >= 8 && bytes[..4] == *b"\0asm" && bytes[4..8] == [1, 0, 0, 0] {
            return Err(Error::Compile(
                "this is a core WebAssembly module, not a component: build the plugin for \
                 wasm32-wasip2 with wit-bindgen"
                    .into(),
            ));
        }
        let engine = &self.inner.engine;
        let component = self.component(bytes)?;
        let mut linker = Linker::<StoreState>::new(engine);
        // The sandbox: every import (in practice the WASI interfaces Rust's std links) gets a
        // stub that fails the call. Nothing is granted.
        linker
            .define_unknown_imports_as_traps(&component)
            .map_err(|e| Error::Compile(format!("{e:#}")))?;
        let pre = linker
            .instantiate_pre(&component)
            .map_err(|e| Error::Compile(format!("{e:#}")))?;
        let pre =
            bindings::PluginPre::new(pre).map_err(|e| Error::MissingExport(format!("{e:#}")))?;
        Ok(Compiled { pre })
    }
}

impl PluginHost {
    /// The component for `bytes`: from the disk cache when it holds a loadable artifact,
    /// else compiled (and written to the cache, best effort: a cache that cannot be written
    /// only costs the next process a compile).
    fn component(&self, bytes: &[u8]) -> Result<Component, Error> {
        let engine = &self.inner.engine;
        let Some(dir) = &self.inner.disk_cache else {
            return Component::new(engine, bytes).map_err(|e| Error::Compile(format!("{e:#}")));
        };
        let compat = {
            use std::hash::{Hash, Hasher};
            let mut h = std::collections::hash_map::DefaultHasher::new();
            engine.precompile_compatibility_hash().hash(&mut h);
            h.finish()
        };
        let path = dir.join(format!("{}-{compat:016x}.cwasm", sha256_hex(bytes)));
        if path.is_file() {
            // SAFETY: the file was written by `Component::serialize` of an engine with this
            // compatibility hash (its name says so), whole (temporary name, then rename), in
            // a folder as trusted as the store; wasmtime checks the header and the
            // compatibility again and refuses a mismatch.
            if let Ok(c) = unsafe { Component::deserialize_file(engine, &path) } {
                return Ok(c);
            }
        }
        let component =
            Component::new(engine, bytes).map_err(|e| Error::Compile(format!("{e:#}")))?;
        if let Ok(artifact) = component.serialize() {
            // A name no other writer uses (threads of this process compiling the same new
            // plugin at once included), synced before the rename that publishes it.
            static WRITES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
            let n = WRITES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let tmp = path.with_extension(format!("tmp{}-{n}", std::process::id()));
            let written = std::fs::create_dir_all(dir)
                .and_then(|_| {
                    use std::io::Write;
                    let mut f = std::fs::File::create(&tmp)?;
                    f.write_all(&artifact)?;
                    f.sync_all()
                })
                .and_then(|_| std::fs::rename(&tmp, &path));
            if written.is_err() {
                let _ = std::fs::remove_file(&tmp);
            }
        }
        Ok(component)
    }
}

impl Plugin {
    /// Hex sha256 of the component.
    pub fn sha256(&self) -> &str {
        &self.sha256
    }

    /// Time allowed per call (see [`Limits::time_limit`]).
    pub fn time_limit(&self) -> Duration {
        self.time_limit
    }

    /// Linear memory allowed per call, in MiB.
    pub fn memory_limit_mib(&self) -> u64 {
        self.memory_mib
    }

    /// Overrides the host's default limits (`None` keeps the default), clamped to the host's
    /// ceilings ([`Limits::max_time_limit`], [`Limits::max_memory_mib`]).
    pub fn with_limits(
        mut self,
        time_limit_ms: Option<u64>,
        memory_limit_mib: Option<u64>,
    ) -> Self {
        let limits = &self.inner.limits;
        if let Some(ms) = time_limit_ms {
            self.time_limit = Duration::from_millis(ms).min(limits.max_time_limit);
        }
        if let Some(mib) = memory_limit_mib {
            self.memory_mib = mib.min(limits.max_memory_mib);
        }
        self
    }

    /// The plugin's name, version, config schema and capabilities.
    pub fn describe(&self) -> Result<Info, Error> {
        let info = self.call(|p, store| p.call_describe(store))?;
        self.check_output_size(info.name.len() + info.version.len() + info.config_schema.len())?;
        let config_schema = serde_json::from_str(&info.config_schema)
            .map_err(|e| Error::MalformedOutput(format!("config schema is not JSON: {e}")))?;
        Ok(Info {
            name: info.name,
            version: info.version,
            config_schema,
            capabilities: info
                .capabilities
                .into_iter()
                .map(|c| match c {
                    wit::Capability::Validate => Capability::Validate,
                    wit::Capability::Decide => Capability::Decide,
                    wit::Capability::ComputeFee => Capability::ComputeFee,
                })
                .collect(),
        })
    }

    /// Field errors for `data` under `config`; empty when valid.
    pub fn validate(&self, data: &Value, config: &Value) -> Result<Vec<FieldError>, Error> {
        let (data, config) = (to_json(data)?, to_json(config)?);
        let errors = self
            .call(|p, store| p.call_validate(store, &data, &config))?
            .map_err(Error::Plugin)?;
        self.check_output_size(
            errors
                .iter()
                .map(|e| e.field.len() + e.code.len() + e.message.len())
                .sum(),
        )?;
        Ok(errors
            .into_iter()
            .map(|e| FieldError {
                field: e.field,
                code: e.code,
                message: e.message,
            })
            .collect())
    }

    /// The action an automatic state takes, with an optional merge patch for the data.
    pub fn decide(&self, data: &Value, config: &Value) -> Result<Decision, Error> {
        let (data, config) = (to_json(data)?, to_json(config)?);
        let d = self
            .call(|p, store| p.call_decide(store, &data, &config))?
            .map_err(Error::Plugin)?;
        self.check_output_size(
            d.action.len() + d.note.len() + d.patch.as_ref().map_or(0, String::len),
        )?;
        if d.action.is_empty() {
            return Err(Error::MalformedOutput(
                "decision has an empty action".into(),
            ));
        }
        let patch =
            match d.patch {
                None => None,
                Some(text) => Some(serde_json::from_str(&text).map_err(|e| {
                    Error::MalformedOutput(format!("decision patch is not JSON: {e}"))
                })?),
            };
        Ok(Decision {
            action: d.action,
            patch,
            note: d.note,
        })
    }

    /// The fee for `data`; `amount` is checked to equal the sum of the breakdown.
    pub fn compute_fee(&self, data: &Value, config: &Value) -> Result<Fee, Error> {
        let (data, config) = (to_json(data)?, to_json(config)?);
        let fee = self
            .call(|p, store| p.call_compute_fee(store, &data, &config))?
            .map_err(Error::Plugin)?;
        self.check_output_size(fee.breakdown.iter().map(|l| l.label.len() + 8).sum())?;
        let sum = fee
            .breakdown
            .iter()
            .try_fold(0u64, |acc, l| acc.checked_add(l.amount));
        if sum != Some(fee.amount) {
            return Err(Error::MalformedOutput(format!(
                "fee amount {} is not the sum of its breakdown",
                fee.amount
            )));
        }
        Ok(Fee {
            amount: fee.amount,
            breakdown: fee
                .breakdown
                .into_iter()
                .map(|l| FeeLine {
                    label: l.label,
                    amount: l.amount,
                })
                .collect(),
        })
    }

    /// Instantiates a fresh sandboxed instance and runs `f` on it under this plugin's limits.
    fn call<R>(
        &self,
        f: impl FnOnce(&bindings::Plugin, &mut Store<StoreState>) -> wasmtime::Result<R>,
    ) -> Result<R, Error> {
        let cap_bytes = mib_to_bytes(self.memory_mib)?;
        let mut store = Store::new(
            &self.inner.engine,
            StoreState {
                limiter: MemoryLimiter {
                    cap_bytes,
                    used_bytes: 0,
                    refused: false,
                },
            },
        );
        store.limiter(|s| &mut s.limiter);
        // Fuel, not a clock: the same call gets the same budget on any machine under any load,
        // so whether a dossier's plugin step succeeds never depends on how busy the server is.
        let fuel = (self.time_limit.as_micros() as u64)
            .saturating_mul(self.inner.limits.fuel_per_ms)
            / 1_000;
        store
            .set_fuel(fuel)
            .map_err(|e| Error::Host(format!("{e:#}")))?;
        let result = self
            .compiled
            .pre
            .instantiate(&mut store)
            .and_then(|instance| f(&instance, &mut store));
        self.inner.calls.fetch_add(1, Ordering::Relaxed);
        result.map_err(|e| {
            self.inner.failures.fetch_add(1, Ordering::Relaxed);
            self.classify(e, store.data().limiter.refused)
        })
    }

    fn classify(&self, error: wasmtime::Error, memory_refused: bool) -> Error {
        let trap = error.downcast_ref::<Trap>().copied();
        match trap {
            Some(Trap::OutOfFuel) => {
                return Error::TimeLimit {
                    limit_ms: self.time_limit.as_millis() as u64,
                };
            }
            Some(Trap::StackOverflow) => return Error::StackOverflow,
            _ => {}
        }
        // Checked before everything else: a refused allocation aborts the plugin, and Rust's
        // allocation-failure path first tries to print (a denied import) or traps.
        if memory_refused {
            return Error::MemoryLimit {
                limit_mib: self.memory_mib,
            };
        }
        if error.downcast_ref::<PoolConcurrencyLimitError>().is_some() {
            return Error::Busy(self.inner.limits.max_concurrent_calls);
        }
        if let Some(trap) = trap {
            // Rust plugins abort (panic, failed allocation) with `unreachable`.
            return Error::Trap(match trap {
                Trap::UnreachableCodeReached => format!("{trap} (a panic or abort in the plugin)"),
                _ => trap.to_string(),
            });
        }
        let message = format!("{error:#}");
        // wasmtime's import stubs fail with this message (no typed error to downcast to).
        if let Some(rest) = message.split("unknown import: ").nth(1) {
            let name = rest.split(" has not been defined").next().unwrap_or(rest);
            return Error::Denied(name.trim_matches('`').to_owned());
        }
        Error::Trap(message)
    }

    fn check_output_size(&self, size: usize) -> Result<(), Error> {
        let limit = self.inner.limits.output_limit;
        if size > limit {
            return Err(Error::OutputTooLarge { size, limit });
        }
        Ok(())
    }
}

fn to_json(v: &Value) -> Result<String, Error> {
    serde_json::to_string(v).map_err(|e| Error::Input(e.to_string()))
}

fn mib_to_bytes(mib: u64) -> Result<usize, Error> {
    mib.checked_mul(1 << 20)
        .and_then(|b| usize::try_from(b).ok())
        .ok_or_else(|| Error::Host(format!("memory limit of {mib} MiB is too large")))
}

/// Hex sha256 of `bytes`, as procedures pin it.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn check_hash_syntax(hash: &str) -> Result<(), Error> {
    if hash.len() == 64 && hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        Ok(())
    } else {
        Err(Error::BadHash(hash.to_owned()))
    }
}

impl std::fmt::Debug for Plugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plugin")
            .field("sha256", &self.sha256())
            .field("time_limit", &self.time_limit())
            .field("memory_limit_mib", &self.memory_limit_mib())
            .finish()
    }
}
