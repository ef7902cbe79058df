//! Named officers on the engine: a step claimed, assigned, reassigned or given back
//! ([`transition::assign`]), committed like any step and decided again after a lost race.

use super::{Engine, Result};
use crate::dossier::transition::{self, AssignRequest};
use crate::dossier::{Actor, Dossier};
use crate::error::Error;

impl Engine {
    /// Gives an active step of a dossier to a named officer, or back to its department; the
    /// dossier as stored after.
    pub fn assign(&self, req: AssignRequest) -> Result<Dossier> {
        req.check().map_err(transition::Error::from)?;
        if req.actor.id == Actor::SYSTEM_ID {
            return Err(Error::ReservedActor(req.actor.id.clone()));
        }
        self.decide_and_commit(&req.dossier, |p, d, env| {
            Ok(transition::assign(p, d, &req, env)?)
        })
    }
}
