//! Plugin steps around the pure step, for submissions and actions: validators and computed
//! fees before the commit, then the decisions of automatic states, folded into the same
//! transition. Without the `plugins` feature, a step that needs a plugin is refused before
//! anything is written.

#[cfg(not(feature = "plugins"))]
use super::Error;
use super::{Engine, Result};
use crate::catalog::Compiled;
use crate::dossier::Dossier;
use crate::dossier::transition::{ActionRequest, Env, Submission, Transition};
#[cfg(not(feature = "plugins"))]
use crate::procedure::StateKind;

impl Engine {
    /// Validators and computed fees on submission, then automatic states.
    #[cfg(feature = "plugins")]
    pub(super) fn plugin_steps_on_submit(
        &self,
        p: &Compiled,
        sub: &Submission,
        t: &mut Transition,
        env: &Env<'_>,
    ) -> Result<()> {
        // The data as received, schema defaults applied (what the pure step stored).
        let received = t.changes.first().map_or(&sub.data, |c| &c.dossier.data);
        let data = crate::steps::plugin_data(received, &sub.documents, None);
        crate::steps::validate(p, &p.procedure.validators, &data)?;
        let computed = crate::steps::computed_fees(p, &data)?;
        if let Some(primary) = t.changes.first_mut() {
            primary.dossier.fees.extend(computed);
        }
        crate::steps::run_automatic(t, &|d| self.pinned(d), env)
    }

    /// The action's validators (which also see its input), then automatic states.
    #[cfg(feature = "plugins")]
    pub(super) fn plugin_steps_on_act(
        &self,
        p: &Compiled,
        d: &Dossier,
        req: &ActionRequest,
        t: &mut Transition,
        env: &Env<'_>,
    ) -> Result<()> {
        if let Some(action) = p.procedure.action(&req.action) {
            let data = crate::steps::plugin_data(&d.data, &d.documents, Some(&req.input));
            crate::steps::validate(p, &action.validators, &data)?;
        }
        crate::steps::run_automatic(t, &|d| self.pinned(d), env)
    }

    #[cfg(not(feature = "plugins"))]
    pub(super) fn plugin_steps_on_submit(
        &self,
        p: &Compiled,
        _: &Submission,
        t: &mut Transition,
        _: &Env<'_>,
    ) -> Result<()> {
        let needs = p
            .procedure
            .validators
            .first()
            .or_else(|| p.procedure.fees.iter().find_map(|f| f.plugin.as_ref()));
        if let Some(call) = needs {
            return Err(Error::PluginsNotBuilt {
                what: format!("submission to '{}'", p.procedure.id),
                plugin: call.plugin.clone(),
            });
        }
        self.refuse_automatic(t)
    }

    #[cfg(not(feature = "plugins"))]
    pub(super) fn plugin_steps_on_act(
        &self,
        p: &Compiled,
        _: &Dossier,
        req: &ActionRequest,
        t: &mut Transition,
        _: &Env<'_>,
    ) -> Result<()> {
        if let Some(call) = p
            .procedure
            .action(&req.action)
            .and_then(|a| a.validators.first())
        {
            return Err(Error::PluginsNotBuilt {
                what: format!("action '{}'", req.action),
                plugin: call.plugin.clone(),
            });
        }
        self.refuse_automatic(t)
    }

    /// Without plugin support, entering an automatic state would leave a dossier stuck, so the
    /// step is refused before anything is written.
    #[cfg(not(feature = "plugins"))]
    pub(super) fn refuse_automatic(&self, t: &Transition) -> Result<()> {
        for change in &t.changes {
            let d = &change.dossier;
            let p = self.pinned(d)?;
            for state in d.active_states() {
                if let Some(s) = p
                    .procedure
                    .state(state)
                    .filter(|s| s.kind == StateKind::Automatic)
                {
                    let plugin = s
                        .plugin
                        .as_ref()
                        .map(|c| c.plugin.clone())
                        .unwrap_or_default();
                    return Err(Error::PluginsNotBuilt {
                        what: format!("automatic state '{}'", s.id),
                        plugin,
                    });
                }
            }
        }
        Ok(())
    }
}
