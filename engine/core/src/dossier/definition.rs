//! A procedure version compiled for the pure step: the typed procedure, its form schema and
//! guards compiled, its content hash and the bytes it pins. It holds no plugin host: the pure
//! step can see what a version *is*, never run its plugins (that is `steps`' job, around it).

use std::collections::HashMap;
use std::sync::Arc;

use super::form::Form;
use super::guard::Guard;
use crate::procedure::Procedure;

/// A checked procedure version, ready for [`super::transition`].
#[derive(Debug)]
pub struct Definition {
    pub procedure: Procedure,
    /// Hex sha256 of the source text.
    pub hash: String,
    /// The YAML text, kept so a stored dossier can always be replayed against its version.
    pub source: String,
    pub form: Form,
    /// Compiled guards by action id.
    pub guards: HashMap<String, Guard>,
    /// The bytes of every plugin the version pins: (sha256, bytes), verified.
    pub plugin_blobs: Vec<(String, Arc<Vec<u8>>)>,
}

/// Why a checked procedure could not be compiled for the pure step.
#[derive(Debug, thiserror::Error)]
pub enum CompileError {
    #[error(transparent)]
    Form(#[from] super::form::SchemaError),
    #[error(transparent)]
    Guard(#[from] super::guard::Error),
}

impl Definition {
    /// Compiles a procedure that passed the checks: its form schema and every action's guard.
    /// `plugin_blobs` are the verified bytes of the plugins it pins (none for a caller that
    /// never runs or stores plugins, such as the simulator).
    pub fn compile(
        procedure: Procedure,
        hash: String,
        source: String,
        plugin_blobs: Vec<(String, Arc<Vec<u8>>)>,
    ) -> Result<Definition, CompileError> {
        let form = Form::compile(&procedure.form)?;
        let mut guards = HashMap::new();
        for action in &procedure.actions {
            if let Some(g) = &action.guard {
                guards.insert(action.id.clone(), Guard::compile(&g.expr, &g.label)?);
            }
        }
        Ok(Definition {
            procedure,
            hash,
            source,
            form,
            guards,
            plugin_blobs,
        })
    }
}
