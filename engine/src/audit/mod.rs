//! The audit trail: the entry, its canonical encoding, chain verification and checkpoints
//! (pure, from [`motcua_core::audit`]), and what reads a store: the proof an inspector runs
//! ([`proof`], and [`papers`] for the files the entries name), queries ([`query`]), exports ([`export`]), the process-control slip ([`slip`]) and the tracking book ([`book`]).

pub use motcua_core::audit::*;

pub mod book;
pub mod export;
pub mod papers;
pub mod proof;
pub mod query;
pub mod slip;

pub use proof::{Options as VerifyOptions, verify_store};
