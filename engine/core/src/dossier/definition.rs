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
