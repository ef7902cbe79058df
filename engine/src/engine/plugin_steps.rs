//! Plugin steps around the pure step, for submissions and actions: validators and computed
//! fees before the commit, then the decisions of automatic states, folded into the same
//! transition. In a build without plugins the same calls are refused as not built
//! ([`crate::steps`]), before anything is written.

use super::{Engine, Result};
use crate::catalog::Compiled;
use crate::dossier::Dossier;
use crate::dossier::transition::{ActionRequest, Env, Submission, Transition};
use crate::steps::{self, Asking};

impl Engine {
    /// Validators and computed fees on submission, then automatic states.
    pub(super) fn plugin_steps_on_submit(
        &self,
        p: &Compiled,
        sub: &Submission,
        t: &mut Transition,
        env: &Env<'_>,
    ) -> Result<()> {
        // The data as received, schema defaults applied (what the pure step stored).
        let received = t.changes.first().map_or(&sub.data, |c| &c.dossier.data);
        let data = steps::plugin_data(received, &sub.documents, None);
        steps::validate(p, &p.procedure.validators, &data, Asking::Submission)?;
        let computed = steps::computed_fees(p, &data)?;
        if let Some(primary) = t.changes.first_mut() {
            primary.dossier.fees.extend(computed);
        }
        self.automatic_steps(t, env)
    }

    /// The action's validators (which also see its input), then automatic states.
    pub(super) fn plugin_steps_on_act(
        &self,
        p: &Compiled,
        d: &Dossier,
        req: &ActionRequest,
        t: &mut Transition,
        env: &Env<'_>,
    ) -> Result<()> {
        if let Some(action) = p.procedure.action(&req.action) {
            let data = steps::plugin_data(&d.data, &d.documents, Some(&req.input));
            steps::validate(p, &action.validators, &data, Asking::Action(&req.action))?;
        }
        self.automatic_steps(t, env)
    }

    /// Plugin decisions for the automatic states a transition entered.
    pub(super) fn automatic_steps(&self, t: &mut Transition, env: &Env<'_>) -> Result<()> {
        steps::run_automatic(t, &|d| self.pinned(d), env)
    }
}
