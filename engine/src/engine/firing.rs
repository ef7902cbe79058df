//! Firing due timers: the engine's side of the scheduler. The pure step (`transition::fire`)
//! decides what a timer does; here timers are read from the due-time index in pages, fired in
//! due order, and committed in groups through the one commit path.

use std::collections::HashSet;
use std::sync::Arc;

use jiff::Timestamp;

use super::{Engine, Result};
use crate::dossier::Dossier;
use crate::dossier::definition::Definition;
use crate::dossier::transition::{self, Env, Firing, Timer, Transition};
use crate::store::{self, Committed};

/// How many due timers [`Engine::fire_due`] reads, fires and commits together.
const FIRING_BATCH: usize = 1024;

impl Engine {
    /// Fires, in due order, every timer due at or before `now`: each as a system transition
    /// through the same commit path as an officer's action, the timer removed in the same
    /// atomic commit as its effect. Timers of one dossier due together fire in one commit;
    /// timers of different dossiers are committed together in groups (one sync per group).
    /// A timer whose step was already left does nothing. Timers that come due because of a
    /// firing (an escalation's action entering a zero-budget step) fire in a later round of
    /// the same call. Returns what fired, in order.
    pub fn fire_due(&self, now: Timestamp) -> Result<Vec<Firing>> {
        let now = super::to_millisecond(now);
        let day = self.calendar.local_date(now);
        let lookup = |id: &str| -> Option<Arc<Definition>> {
            self.procedure_in_force(id, day)
                .map(|c| c.definition.clone())
        };
        let mut fired = vec![];
        // Dossiers whose timers could not fire in this call (a version missing, a procedure
        // defect): logged and passed over for the rest of the call; `stuck` lists them, and
        // the scheduler tries them again with a growing pause.
        let mut failed: HashSet<String> = HashSet::new();
        // On a store several nodes share, the shards of dossiers this node may fire, held
        // until the call ends; timers of the other shards are another node's now.
        let claimed = match self.store.shared() {
            Some(shared) => shared.claim_timers(),
            None => Ok(store::TimerClaim::all()),
        };
        let mut claim = match claimed {
            Ok(c) => c,
            Err(e) => return self.stop_firing(fired, failed, e),
        };
        let mut passed_over = false;
        let mut pages = 0usize;
        'rounds: for _round in 0..16 {
            let mut after: Option<Timer> = None;
            let mut fired_this_round = 0;
            loop {
                // Renewed before every page but the call's first, just claimed.
                pages += 1;
                if pages > 1 && !claim.renew() {
                    // Ended by the store (this node was silent too long, or lost its
                    // connection): the shards may be another node's by now.
                    tracing::warn!("the timer claim was lost mid-firing; firing stops here");
                    passed_over = true;
                    break 'rounds;
                }
                let due = match self
                    .store
                    .due_timers_after(after.as_ref(), now, FIRING_BATCH)
                {
                    Ok(due) => due,
                    Err(e) => return self.stop_firing(fired, failed, e),
                };
                let Some(last) = due.last().cloned() else {
                    break;
                };
                // Runs of one dossier's timers due at the same instant fire as one commit; a
                // dossier met again later in the page continues from the version its earlier
                // commit in the same group will leave, so commits stay in due order. Each
                // transition is handed to the store as soon as it is computed, so the writer
                // applies while the next ones are computed.
                let runs: Vec<&[Timer]> = due
                    .chunk_by(|a, b| a.at == b.at && a.dossier == b.dossier)
                    .collect();
                // How many runs of each dossier are still ahead: only a dossier met again
                // needs its new version kept at hand.
                let mut ahead: std::collections::HashMap<&str, usize> = Default::default();
                for run in &runs {
                    *ahead.entry(run[0].dossier.as_str()).or_default() += 1;
                }
                let mut latest: std::collections::HashMap<String, Dossier> = Default::default();
                let mut reports: Vec<Vec<Firing>> = vec![];
                let mut jobs = runs.iter().filter_map(|run| {
                    let code = &run[0].dossier;
                    let left = ahead.get_mut(code.as_str()).map_or(0, |n| {
                        *n -= 1;
                        *n
                    });
                    if failed.contains(code) {
                        return None;
                    }
                    if !claim.covers(code) {
                        passed_over = true;
                        return None;
                    }
                    let env =
                        Env::new(self.calendar.as_ref(), &lookup, now).with_rules(&self.rules);
                    match self.fire_run(latest.remove(code), run, &env) {
                        Ok(Some((t, fired))) => {
                            if left > 0
                                && let Some(c) = t.changes.first()
                            {
                                latest.insert(code.clone(), c.dossier.clone());
                            }
                            reports.push(fired);
                            Some(t)
                        }
                        Ok(None) => None,
                        Err(e) => {
                            tracing::warn!("timers of dossier {code} cannot fire: {e}");
                            failed.insert(code.clone());
                            None
                        }
                    }
                });
                let results = self.store.commit_all(&mut jobs);
                drop(jobs);
                // The first failure of the store itself; the other answers are still read, so
                // that what was applied beside it is reported.
                let mut fatal: Option<store::Error> = None;
                for (result, reports) in results.into_iter().zip(reports) {
                    match result {
                        Ok(committed) => {
                            if let Committed::Applied(ds) = &committed {
                                self.offer_timers(ds);
                            }
                            fired_this_round += reports.len();
                            fired.extend(reports);
                        }
                        // An officer's action won the race: the next round reads the dossier
                        // again and fires what is still due on it.
                        Err(store::Error::VersionMoved { .. }) => {}
                        // The store itself failed: firing stops after this page.
                        Err(
                            e @ (store::Error::NotWritten(_)
                            | store::Error::OutcomeUnknown(_)
                            | store::Error::Closed
                            | store::Error::Read(_)),
                        ) => {
                            fatal.get_or_insert(e);
                        }
                        // Refused for this dossier alone: pass it over like one that could
                        // not be computed.
                        Err(e) => {
                            let code = reports.first().map(|f| f.dossier.clone());
                            tracing::warn!("timers of dossier {code:?} were refused: {e}");
                            failed.extend(code);
                        }
                    }
                }
                if let Some(e) = fatal {
                    return self.stop_firing(fired, failed, e);
                }
                after = Some(last);
            }
            if fired_this_round == 0 {
                break;
            }
        }
        drop(claim);
        self.others_firing
            .store(passed_over, std::sync::atomic::Ordering::Relaxed);
        *self.stuck.lock().unwrap_or_else(|p| p.into_inner()) = failed;
        Ok(fired)
    }

    /// The store failed: what already fired is durable and reported; the error is returned
    /// when nothing did.
    fn stop_firing(
        &self,
        fired: Vec<Firing>,
        failed: HashSet<String>,
        e: store::Error,
    ) -> Result<Vec<Firing>> {
        *self.stuck.lock().unwrap_or_else(|p| p.into_inner()) = failed;
        if fired.is_empty() {
            return Err(e.into());
        }
        tracing::warn!("firing stopped after {} firings: {e}", fired.len());
        Ok(fired)
    }

    /// How often the scheduler must look at the timers of a store other processes write to.
    pub(crate) fn store_poll_interval(&self) -> Option<std::time::Duration> {
        self.store.shared().map(|s| s.poll_interval())
    }

    /// Whether the last [`Engine::fire_due`] passed over due timers that another node
    /// sharing the store was claiming: the scheduler then looks again a moment later
    /// instead of at once.
    pub fn others_firing(&self) -> bool {
        self.others_firing
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Dossiers whose due timers could not fire in the last [`Engine::fire_due`] (pinned to a
    /// version this engine could not restore, a procedure defect); each was logged. They are
    /// tried again on every call.
    pub fn stuck(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .stuck
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .cloned()
            .collect();
        v.sort();
        v
    }

    /// Fires timers of one dossier due at one instant, folded into one transition: warnings
    /// first, then the breach, then escalations. `known` is the dossier as an earlier firing
    /// of the same group leaves it; otherwise it is read from the store.
    fn fire_run(
        &self,
        known: Option<Dossier>,
        timers: &[Timer],
        env: &Env<'_>,
    ) -> Result<Option<(Transition, Vec<Firing>)>> {
        let Some(code) = timers.first().map(|t| t.dossier.clone()) else {
            return Ok(None);
        };
        let fresh = known.is_none();
        let d = match known {
            Some(d) => d,
            None => match self.store.dossier(&code)? {
                Some(d) => d,
                None => return self.unless_indexed(timers, &code, "is not stored"),
            },
        };
        let p = self.pinned(&d)?;
        let mut ordered = timers.to_vec();
        ordered.sort_by_key(|t| transition::firing_rank(&p.procedure, &t.kind));
        let mut current = d;
        let mut folded: Option<Transition> = None;
        let mut reports = vec![];
        for (i, timer) in ordered.iter().enumerate() {
            let Some(f) = transition::fire(&p, &current, timer, env)? else {
                continue;
            };
            if i + 1 < ordered.len()
                && let Some(c) = f.transition.changes.first()
            {
                current = c.dossier.clone();
            }
            reports.push(f.firing);
            match &mut folded {
                Some(t) => transition::merge(t, f.transition),
                None => folded = Some(f.transition),
            }
        }
        let Some(mut t) = folded else {
            // Read just now yet without these timers: either a commit took them away since
            // the page was read (gone from the index too), or the index is wrong.
            if fresh {
                return self.unless_indexed(timers, &code, "does not have them");
            }
            return Ok(None);
        };
        self.automatic_steps(&mut t, env)?;
        Ok(Some((t, reports)))
    }

    /// Nothing to fire, unless the index still holds one of `timers`: then it disagrees with
    /// the dossier, and the dossier is reported stuck rather than read again and again.
    fn unless_indexed(
        &self,
        timers: &[Timer],
        code: &str,
        why: &str,
    ) -> Result<Option<(Transition, Vec<Firing>)>> {
        for t in timers {
            if self.store.has_timer(t)? {
                return Err(store::Error::Corrupt(format!(
                    "the timer index holds {:?} due {} for dossier {code}, which {why}",
                    t.kind, t.at
                ))
                .into());
            }
        }
        Ok(None)
    }

    /// The instant of the earliest timer, due or not, of a dossier not [`Engine::stuck`].
    pub fn next_timer(&self) -> Result<Option<Timestamp>> {
        let stuck = self.stuck.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let mut after: Option<Timer> = None;
        loop {
            let page = self
                .store
                .due_timers_after(after.as_ref(), Timestamp::MAX, 64)?;
            if let Some(t) = page.iter().find(|t| !stuck.contains(&t.dossier)) {
                return Ok(Some(t.at));
            }
            match page.last() {
                Some(last) => after = Some(last.clone()),
                None => return Ok(None),
            }
        }
    }
}
