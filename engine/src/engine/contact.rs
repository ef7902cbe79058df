//! The applicant's contact on the engine: a new phone, e-mail address or consent to notices
//! recorded by the desk ([`transition::contact`]), committed like any step.

use super::{Engine, Result};
use crate::dossier::transition::{self, ContactRequest};
use crate::dossier::{Actor, Dossier};
use crate::error::Error;

impl Engine {
    /// Records how the applicant of a dossier is reached and what they agreed to be told by;
    /// the dossier as stored after.
    pub fn change_contact(&self, req: ContactRequest) -> Result<Dossier> {
        req.check().map_err(transition::Error::from)?;
        if req.actor.id == Actor::SYSTEM_ID {
            return Err(Error::ReservedActor(req.actor.id.clone()));
        }
        self.decide_and_commit(&req.dossier, |p, d, env| {
            Ok(transition::contact(p, d, &req, env)?)
        })
    }
}
