//! The citizen heard on the engine: a rating, feedback and a leader's answer
//! ([`transition::rate`], [`transition::feedback`], [`transition::answer_feedback`]),
//! committed like any step and decided again after a lost race, where a second rating or a
//! second answer is then refused.

use super::{Engine, Result};
use crate::dossier::Dossier;
use crate::dossier::transition::{self, AnswerRequest, FeedbackRequest, RateRequest};

impl Engine {
    /// Records the applicant's satisfaction rating; the dossier as stored after.
    pub fn rate(&self, req: RateRequest) -> Result<Dossier> {
        self.decide_and_commit(&req.dossier, |p, d, env| {
            Ok(transition::rate(p, d, &req, env)?)
        })
    }

    /// Records a piece of feedback from the applicant; the dossier as stored after.
    pub fn send_feedback(&self, req: FeedbackRequest) -> Result<Dossier> {
        self.decide_and_commit(&req.dossier, |p, d, env| {
            Ok(transition::feedback(p, d, &req, env)?)
        })
    }

    /// Records a leader's answer to a piece of feedback; the dossier as stored after.
    pub fn answer_feedback(&self, req: AnswerRequest) -> Result<Dossier> {
        self.decide_and_commit(&req.dossier, |p, d, env| {
            Ok(transition::answer_feedback(p, d, &req, env)?)
        })
    }
}
