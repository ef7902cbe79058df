//! Who may take an action, and whether its input and comment are acceptable.

use super::Error;
use super::error::Expected;
use crate::calendar::Duration;
use crate::dossier::definition::Definition;
use crate::dossier::{Actor, Dossier};
use crate::procedure::{By, InputKind, StateKind};

/// Who is asking: a request from outside (an officer, the applicant, a portal's service
/// account), or the engine itself carrying out a plugin's decision or a timer. Only the
/// engine's own steps are [`Requester::Engine`]; no request from outside can claim it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requester {
    Outside,
    Engine,
}

/// Who may take `action` (see [`crate::procedure::By`]): an officer holding one of its roles
/// (and, for officers' steps, belonging to the step's department); the dossier's own applicant;
/// or the engine alone.
///
/// `on_behalf`: an officer asks to take the applicant's action for them (handed in at the
/// counter); only an applicant's action, and only with a role of
/// [`crate::procedure::Procedure::on_behalf_roles`].
pub(super) fn authorize(
    p: &Definition,
    d: &Dossier,
    action: &crate::procedure::Action,
    actor: &Actor,
    requester: Requester,
    on_behalf: bool,
) -> Result<(), Error> {
    let taker = action.taker().ok_or_else(|| Error::Definition {
        procedure: p.procedure.id.clone(),
        message: format!("action '{}' names no one who may take it", action.id),
    })?;
    if on_behalf {
        let refuse = |reason: String| Error::NotOnBehalf {
            action: action.id.clone(),
            actor: actor.id.clone(),
            reason,
        };
        if taker != By::Applicant || requester != Requester::Outside {
            return Err(refuse("it is not the applicant's action".into()));
        }
        let roles = p.procedure.on_behalf_roles();
        if actor.id == Actor::SYSTEM_ID || !roles.iter().any(|r| actor.roles.iter().any(|h| h == r))
        {
            return Err(refuse(format!(
                "acting for the applicant needs one of the roles {roles:?}"
            )));
        }
        return Ok(());
    }
    match (taker, requester) {
        (By::System, Requester::Engine) => return Ok(()),
        (By::System, Requester::Outside) => {
            return Err(Error::SystemOnly {
                action: action.id.clone(),
                actor: actor.id.clone(),
            });
        }
        (_, Requester::Engine) => {
            return Err(Error::Definition {
                procedure: p.procedure.id.clone(),
                message: format!(
                    "the engine was asked to take action '{}', which is not a system action",
                    action.id
                ),
            });
        }
        (By::Applicant, Requester::Outside) => {
            if actor.id == d.applicant.id && actor.id != Actor::SYSTEM_ID {
                return Ok(());
            }
            return Err(Error::ApplicantOnly {
                action: action.id.clone(),
                actor: actor.id.clone(),
            });
        }
        (By::Officer, Requester::Outside) => {}
    }
    if !action.roles.iter().any(|r| actor.roles.contains(r)) {
        return Err(Error::RoleRequired {
            action: action.id.clone(),
            actor: actor.id.clone(),
            roles: action.roles.clone(),
            has: actor.roles.clone(),
        });
    }
    if let Some(state) = p.procedure.state(&action.from)
        && state.kind != StateKind::Applicant
        && let Some(dep) = &state.department
        && !actor.departments.contains(dep)
    {
        return Err(Error::DepartmentRequired {
            action: action.id.clone(),
            actor: actor.id.clone(),
            department: dep.clone(),
        });
    }
    Ok(())
}

pub(super) fn check_inputs(
    p: &Definition,
    action: &crate::procedure::Action,
    input: &serde_json::Value,
) -> Result<(), Error> {
    let empty = serde_json::Map::new();
    let given = match input {
        serde_json::Value::Object(m) => m,
        serde_json::Value::Null => &empty,
        _ => {
            return Err(Error::BadInput {
                action: action.id.clone(),
                input: "(input)".into(),
                expected: Expected::Object,
            });
        }
    };
    for name in given.keys() {
        let declared = action.inputs.iter().any(|i| &i.name == name)
            || (action.extends.is_some() && name == "extension")
            || (action.apology && name == "promised");
        if !declared {
            return Err(Error::UnknownInput {
                action: action.id.clone(),
                input: name.clone(),
                known: action.inputs.iter().map(|i| i.name.clone()).collect(),
            });
        }
    }
    if action.apology && given.get("promised").is_none_or(|v| v.is_null()) {
        return Err(Error::MissingInput {
            action: action.id.clone(),
            input: "promised".into(),
        });
    }
    for decl in &action.inputs {
        let bad = |expected: Expected| Error::BadInput {
            action: action.id.clone(),
            input: decl.name.clone(),
            expected,
        };
        match given.get(&decl.name) {
            None | Some(serde_json::Value::Null) => {
                if decl.required {
                    return Err(Error::MissingInput {
                        action: action.id.clone(),
                        input: decl.name.clone(),
                    });
                }
            }
            Some(v) => match decl.kind {
                InputKind::Text if !v.is_string() => return Err(bad(Expected::Text)),
                InputKind::Text
                    if decl.required && v.as_str().is_some_and(|s| s.trim().is_empty()) =>
                {
                    return Err(Error::MissingInput {
                        action: action.id.clone(),
                        input: decl.name.clone(),
                    });
                }
                InputKind::Number if !v.is_number() => return Err(bad(Expected::Number)),
                InputKind::Boolean if !v.is_boolean() => return Err(bad(Expected::Boolean)),
                InputKind::Date => {
                    let ok = v
                        .as_str()
                        .is_some_and(|s| s.parse::<jiff::civil::Date>().is_ok());
                    if !ok {
                        return Err(bad(Expected::Date));
                    }
                }
                InputKind::Documents => {
                    let Some(items) = v.as_array() else {
                        return Err(bad(Expected::Documents));
                    };
                    for item in items {
                        let known = item
                            .as_str()
                            .is_some_and(|id| p.procedure.documents.iter().any(|d| d.id == id));
                        if !known {
                            return Err(bad(Expected::Documents));
                        }
                    }
                }
                _ => {}
            },
        }
    }
    Ok(())
}

pub(super) fn extension_of(
    action: &crate::procedure::Action,
    max: Duration,
    input: &serde_json::Value,
) -> Result<Duration, Error> {
    let Some(asked) = input.get("extension") else {
        return Ok(max);
    };
    let bad = || Error::BadInput {
        action: action.id.clone(),
        input: "extension".into(),
        expected: Expected::AtMost(max),
    };
    let asked: Duration = asked
        .as_str()
        .ok_or_else(bad)?
        .parse()
        .map_err(|_: crate::calendar::duration::Error| bad())?;
    if asked.unit != max.unit || asked.milli > max.milli {
        return Err(bad());
    }
    Ok(asked)
}
