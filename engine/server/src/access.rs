//! Who may read and do what, over the API. The engine decides whether an actor may take an
//! action (roles, the step's department, the applicant); this module decides which dossiers a
//! caller may see at all, and which actor a request acts as.

use motcua::dossier::{Actor, Dossier};
use motcua::procedure::Procedure;

use crate::auth::{ADMIN, APPLICANT, AUDITOR, PORTAL, Principal};

/// The meta key recording which portal received a dossier (set by the server, refused from
/// clients), so the portal may follow the dossiers it submitted.
pub const PORTAL_META: &str = "motcua.portal";

/// Whether `who` may read dossier `d` of procedure `p` (its data, history, slip).
/// - auditors read everything;
/// - an applicant reads their own dossiers; a portal those it received;
/// - an officer reads the dossiers of procedures in which one of their departments owns a
///   state (the desk's department included).
pub fn may_read(who: &Principal, d: &Dossier, p: &Procedure) -> bool {
    if who.has(AUDITOR) {
        return true;
    }
    if who.has(APPLICANT) && d.applicant.id == who.subject {
        return true;
    }
    if who.has(PORTAL) && d.meta.get(PORTAL_META) == Some(&who.subject) {
        return true;
    }
    who.is_officer()
        && p.states.iter().any(|s| {
            s.department
                .as_ref()
                .is_some_and(|dep| who.departments.contains(dep))
        })
}

/// Why `who` may not submit dossiers at all, if they may not.
pub fn submit_refusal(who: &Principal) -> Option<String> {
    if who.is_officer() || who.has(PORTAL) || who.has(APPLICANT) {
        None
    } else {
        Some(format!(
            "{} holds no role that receives dossiers (an officer's role, portal or applicant)",
            who.subject
        ))
    }
}

/// Why officer `who` may not receive dossiers of `p`, if not: they must hold one of its roles
/// and belong to one of the departments that own its states.
pub fn receive_refusal(who: &Principal, p: &Procedure) -> Option<String> {
    // Receipt belongs to the start state: its department, and the roles of the actions that
    // leave it (a procedure whose start declares neither falls back to any of its own).
    let start = p.start_state();
    let receiving: Vec<&String> = p
        .actions
        .iter()
        .filter(|a| start.is_some_and(|s| a.from == s.id))
        .flat_map(|a| a.roles.iter())
        .collect();
    let role = if receiving.is_empty() {
        p.roles.iter().any(|r| who.roles.contains(&r.id))
    } else {
        receiving.iter().any(|r| who.roles.contains(r))
    };
    let department = match start.and_then(|s| s.department.as_ref()) {
        Some(d) => who.departments.contains(d),
        None => p.states.iter().any(|s| {
            s.department
                .as_ref()
                .is_some_and(|d| who.departments.contains(d))
        }),
    };
    if role && department {
        None
    } else {
        Some(format!(
            "{} holds no role and department of procedure {}",
            who.subject, p.id
        ))
    }
}

/// The actor a caller acts as on dossier `d`. An applicant acts as themselves (the engine
/// lets them take only their own dossier's applicant actions). A portal acts for the
/// applicant of a dossier it received, and its subject is recorded among the actor's roles
/// (`portal:<subject>`), so the audit entry names it. Officers act with their officer roles
/// and departments. Auditors and admins change nothing.
pub fn actor_for(who: &Principal, d: &Dossier) -> Result<Actor, String> {
    if who.is_officer() {
        return Ok(Actor {
            id: who.subject.clone(),
            roles: who.officer_roles(),
            departments: who.departments.clone(),
        });
    }
    if who.has(APPLICANT) {
        return Ok(Actor {
            id: who.subject.clone(),
            roles: vec![APPLICANT.into()],
            departments: vec![],
        });
    }
    if who.has(PORTAL) {
        if d.meta.get(PORTAL_META) != Some(&who.subject) {
            return Err(format!(
                "portal {} did not receive dossier {}",
                who.subject, d.code
            ));
        }
        return Ok(Actor {
            id: d.applicant.id.clone(),
            roles: vec![format!("{PORTAL}:{}", who.subject)],
            departments: vec![],
        });
    }
    if who.has(AUDITOR) || who.has(ADMIN) {
        return Err(format!("{} reads but changes no dossier", who.subject));
    }
    Err(format!(
        "{} holds no role that acts on dossiers",
        who.subject
    ))
}

/// The actor that receives a submission.
pub fn receiver(who: &Principal) -> Actor {
    if who.is_officer() {
        Actor {
            id: who.subject.clone(),
            roles: who.officer_roles(),
            departments: who.departments.clone(),
        }
    } else if who.has(PORTAL) {
        Actor {
            id: who.subject.clone(),
            roles: vec![PORTAL.into()],
            departments: vec![],
        }
    } else {
        Actor {
            id: who.subject.clone(),
            roles: vec![APPLICANT.into()],
            departments: vec![],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn who(roles: &[&str], departments: &[&str]) -> Principal {
        Principal {
            subject: "s".into(),
            roles: roles.iter().map(|r| r.to_string()).collect(),
            departments: departments.iter().map(|d| d.to_string()).collect(),
            name: None,
            title: None,
        }
    }

    #[test]
    fn auditors_and_admins_act_on_nothing() {
        let d: Dossier = serde_json::from_value(serde_json::json!({
            "code": "X-261201-0001", "procedure": "p", "procedure_version": "1",
            "procedure_hash": "h", "agency": "X",
            "applicant": {"id": "a", "name": "A"}, "channel": "desk", "data": {},
            "documents": [], "tokens": [],
            "clock": {"received_at": "2026-12-01T02:00:00Z", "due_at": "2026-12-03T02:00:00Z"},
            "status": 2, "version": 1,
            "created_at": "2026-12-01T02:00:00Z", "updated_at": "2026-12-01T02:00:00Z"
        }))
        .expect("a dossier");
        assert!(actor_for(&who(&[AUDITOR], &[]), &d).is_err());
        assert!(actor_for(&who(&[ADMIN], &[]), &d).is_err());
        assert!(
            actor_for(&who(&[PORTAL], &[]), &d).is_err(),
            "not this portal's dossier"
        );
        let officer =
            actor_for(&who(&["chuyen-vien", AUDITOR], &["ha-tang"]), &d).expect("officer");
        assert_eq!(officer.roles, vec!["chuyen-vien".to_string()]);
    }
}
