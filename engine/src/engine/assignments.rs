//! Named officers on the engine: a step claimed, assigned, reassigned or given back
//! ([`transition::assign`]), committed like any step and decided again after a lost race.

use std::sync::Arc;

use super::{Engine, RACE_RETRIES, Result};
use crate::dossier::definition::Definition;
use crate::dossier::transition::{self, AssignRequest, Env};
use crate::dossier::{Actor, Dossier};
use crate::error::Error;
use crate::store::{self, Committed};

impl Engine {
    /// Gives an active step of a dossier to a named officer, or back to its department; the
    /// dossier as stored after.
    pub fn assign(&self, req: AssignRequest) -> Result<Dossier> {
        req.check().map_err(transition::Error::from)?;
        if req.actor.id == Actor::SYSTEM_ID {
            return Err(Error::ReservedActor(req.actor.id.clone()));
        }
        let mut raced = 0;
        loop {
            let d = self.dossier(&req.dossier)?;
            let p = self.pinned(&d)?;
            let none = |_: &str| -> Option<Arc<Definition>> { None };
            let env = Env::new(self.calendar.as_ref(), &none, self.now()).with_rules(&self.rules);
            let t = transition::assign(&p, &d, &req, &env)?;
            match self.commit(t) {
                Err(Error::Store(store::Error::VersionMoved { .. })) if raced < RACE_RETRIES => {
                    raced += 1;
                }
                committed => {
                    return match committed? {
                        Committed::Applied(ds) => ds.into_iter().next().ok_or_else(|| {
                            store::Error::Corrupt("a commit returned no dossier".into()).into()
                        }),
                        Committed::Replayed(d) => Ok(*d),
                    };
                }
            }
        }
    }
}
