//! The engine's errors, and the stable [`Code`] each carries.
//!
//! Portals switch on codes, never on messages. [`Code`] is an enum so that the HTTP layer maps
//! every code to a status with an exhaustive match: a new code is a compile error there, not a
//! silent 500. The spelling of each code ([`Code::as_str`]) is part of the API contract.

use std::path::PathBuf;

use crate::catalog;
use crate::dossier::transition;
use crate::store;

/// A stable error code. Its spelling ([`Code::as_str`], also its serde form) never changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Code {
    UnknownProcedure,
    NotFound,
    Conflict,
    IdempotencyMismatch,
    SequenceExhausted,
    BadCursor,
    NotWritten,
    OutcomeUnknown,
    StoreCorrupt,
    StoreUnusable,
    Storage,
    InvalidRequest,
    InvalidForm,
    UnknownDocument,
    NotEffective,
    Closed,
    UnknownAction,
    ActionNotAvailable,
    Forbidden,
    ExtensionTooLate,
    ApologyTooEarly,
    ExtensionCapped,
    AlreadyResolved,
    InvalidInput,
    GuardRefused,
    GuardError,
    Deadline,
    ProcedureDefect,
    InvalidProcedure,
    PinnedVersionMissing,
    PluginsNotBuilt,
    PluginFailed,
    ValidationFailed,
    AutomaticLoop,
    Io,
    FileTooLarge,
    UnsupportedFile,
    UnknownFile,
    PapersRequired,
    NotRatable,
    AlreadyRated,
    FeedbackLimit,
    UnknownFeedback,
    FeedbackAnswered,
}

impl Code {
    /// The code as portals read it, e.g. `unknown_procedure`.
    pub fn as_str(self) -> &'static str {
        match self {
            Code::UnknownProcedure => "unknown_procedure",
            Code::NotFound => "not_found",
            Code::Conflict => "conflict",
            Code::IdempotencyMismatch => "idempotency_mismatch",
            Code::SequenceExhausted => "sequence_exhausted",
            Code::BadCursor => "bad_cursor",
            Code::NotWritten => "not_written",
            Code::OutcomeUnknown => "outcome_unknown",
            Code::StoreCorrupt => "store_corrupt",
            Code::StoreUnusable => "store_unusable",
            Code::Storage => "storage",
            Code::InvalidRequest => "invalid_request",
            Code::InvalidForm => "invalid_form",
            Code::UnknownDocument => "unknown_document",
            Code::NotEffective => "not_effective",
            Code::Closed => "closed",
            Code::UnknownAction => "unknown_action",
            Code::ActionNotAvailable => "action_not_available",
            Code::Forbidden => "forbidden",
            Code::ExtensionTooLate => "extension_too_late",
            Code::ApologyTooEarly => "apology_too_early",
            Code::ExtensionCapped => "extension_capped",
            Code::AlreadyResolved => "already_resolved",
            Code::InvalidInput => "invalid_input",
            Code::GuardRefused => "guard_refused",
            Code::GuardError => "guard_error",
            Code::Deadline => "deadline",
            Code::ProcedureDefect => "procedure_defect",
            Code::InvalidProcedure => "invalid_procedure",
            Code::PinnedVersionMissing => "pinned_version_missing",
            Code::PluginsNotBuilt => "plugins_not_built",
            Code::PluginFailed => "plugin_failed",
            Code::ValidationFailed => "validation_failed",
            Code::AutomaticLoop => "automatic_loop",
            Code::Io => "io",
            Code::FileTooLarge => "file_too_large",
            Code::UnsupportedFile => "unsupported_file",
            Code::UnknownFile => "unknown_file",
            Code::PapersRequired => "documents_required",
            Code::NotRatable => "not_ratable",
            Code::AlreadyRated => "already_rated",
            Code::FeedbackLimit => "feedback_limit",
            Code::UnknownFeedback => "unknown_feedback",
            Code::FeedbackAnswered => "feedback_answered",
        }
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<&str> for Code {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<str> for Code {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("no procedure '{0}' in the catalogue")]
    UnknownProcedure(String),
    #[error("no dossier with code {0}")]
    NotFound(String),
    #[error(transparent)]
    Refused(#[from] transition::Error),
    #[error(transparent)]
    Store(#[from] store::Error),
    #[error(transparent)]
    Catalog(#[from] catalog::Error),
    #[error(
        "dossier {code} is pinned to procedure version {hash}, which is neither loaded nor stored"
    )]
    PinnedVersionMissing { code: String, hash: String },
    #[error("{what} needs plugin '{plugin}', but this build has no plugin support")]
    PluginsNotBuilt { what: String, plugin: String },
    #[error("actor id '{0}' is reserved for the engine's own steps")]
    ReservedActor(String),
    #[error("plugin '{plugin}' failed ({kind}): {message}")]
    Plugin {
        plugin: String,
        kind: &'static str,
        message: String,
    },
    #[error("plugin '{plugin}' refused the data: {}", .errors.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; "))]
    PluginRefused {
        plugin: String,
        errors: Vec<crate::dossier::form::FieldError>,
    },
    #[error(
        "dossier {code}: automatic state '{state}' still stands after {decisions} plugin decisions in one step; nothing was written"
    )]
    AutomaticLoop {
        code: String,
        state: String,
        decisions: usize,
    },
    #[error(transparent)]
    File(motcua_store::files::Error),
    #[error("the file is not a PDF, JPEG, PNG or TIFF (by its bytes), whatever it claims to be")]
    UnsupportedFile,
    #[error("no file with SHA-256 {0} is kept by the store (upload it first)")]
    UnknownFile(String),
    #[error("cannot read procedures from {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl Error {
    /// A stable code portals switch on (messages may change; codes do not).
    pub fn code(&self) -> Code {
        use transition::Error as T;
        match self {
            Error::UnknownProcedure(_) => Code::UnknownProcedure,
            Error::NotFound(_) | Error::Store(store::Error::NotFound(_)) => Code::NotFound,
            Error::Store(store::Error::VersionMoved { .. })
            | Error::Refused(T::Conflict { .. }) => Code::Conflict,
            Error::Store(store::Error::IdempotencyMismatch { .. }) => Code::IdempotencyMismatch,
            Error::Store(store::Error::SequenceExhausted { .. }) => Code::SequenceExhausted,
            Error::Store(store::Error::BadCursor(_)) => Code::BadCursor,
            Error::Store(store::Error::NotWritten(_) | store::Error::Closed) => Code::NotWritten,
            Error::Store(store::Error::OutcomeUnknown(_)) => Code::OutcomeUnknown,
            Error::Store(store::Error::Corrupt(_) | store::Error::CorruptStore { .. }) => {
                Code::StoreCorrupt
            }
            Error::Store(store::Error::Unusable { .. }) => Code::StoreUnusable,
            Error::Store(store::Error::Read(_)) => Code::Storage,
            Error::Refused(T::BadRequest(_)) => Code::InvalidRequest,
            Error::Refused(T::InvalidForm(_)) => Code::InvalidForm,
            Error::Refused(T::UnknownDocument { .. }) => Code::UnknownDocument,
            Error::Refused(T::NotEffective { .. }) => Code::NotEffective,
            Error::Refused(T::Closed { .. }) => Code::Closed,
            Error::Refused(T::UnknownAction { .. }) => Code::UnknownAction,
            Error::Refused(T::NotAvailable { .. }) => Code::ActionNotAvailable,
            Error::Refused(
                T::RoleRequired { .. }
                | T::ApplicantOnly { .. }
                | T::SystemOnly { .. }
                | T::NotOnBehalf { .. }
                | T::NotApprover { .. }
                | T::NotLeader { .. }
                | T::DepartmentRequired { .. },
            ) => Code::Forbidden,
            Error::Refused(T::NotRatable { .. }) => Code::NotRatable,
            Error::Refused(T::AlreadyRated { .. }) => Code::AlreadyRated,
            Error::Refused(T::FeedbackFull { .. }) => Code::FeedbackLimit,
            Error::Refused(T::UnknownFeedback { .. }) => Code::UnknownFeedback,
            Error::Refused(T::FeedbackAnswered { .. }) => Code::FeedbackAnswered,
            Error::Refused(T::ExtensionTooLate { .. }) => Code::ExtensionTooLate,
            Error::Refused(T::ApologyTooEarly { .. }) => Code::ApologyTooEarly,
            Error::Refused(T::ExtensionCapped { .. }) => Code::ExtensionCapped,
            Error::Refused(T::AlreadyResolved { .. }) => Code::AlreadyResolved,
            Error::Refused(
                T::MissingInput { .. }
                | T::BadInput { .. }
                | T::UnknownInput { .. }
                | T::CommentRequired { .. }
                | T::BadText { .. },
            ) => Code::InvalidInput,
            Error::Refused(T::GuardRefused { .. }) => Code::GuardRefused,
            Error::Refused(T::PapersRequired { .. }) => Code::PapersRequired,
            Error::Refused(T::PaperNotAccepted { .. }) => Code::UnsupportedFile,
            Error::Refused(T::PaperTooLarge { .. }) => Code::FileTooLarge,
            Error::Refused(T::Guard(_)) => Code::GuardError,
            Error::Refused(T::Deadline(_)) => Code::Deadline,
            Error::Refused(T::Definition { .. } | T::UnknownLinkedProcedure(_)) => {
                Code::ProcedureDefect
            }
            Error::Catalog(_) => Code::InvalidProcedure,
            Error::PinnedVersionMissing { .. } => Code::PinnedVersionMissing,
            Error::PluginsNotBuilt { .. } => Code::PluginsNotBuilt,
            Error::Plugin { .. } => Code::PluginFailed,
            Error::ReservedActor(_) => Code::Forbidden,
            Error::PluginRefused { .. } => Code::ValidationFailed,
            Error::AutomaticLoop { .. } => Code::AutomaticLoop,
            Error::Io { .. } => Code::Io,
            Error::File(motcua_store::files::Error::TooLarge { .. }) => Code::FileTooLarge,
            Error::File(motcua_store::files::Error::Storage(_)) => Code::NotWritten,
            Error::File(_) => Code::InvalidRequest,
            Error::UnsupportedFile => Code::UnsupportedFile,
            Error::UnknownFile(_) => Code::UnknownFile,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
