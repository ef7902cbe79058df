//! What people call the ids a sheet would otherwise print: agencies, departments, roles and
//! procedures by the names their procedure files give them, a procedure's states and actions
//! by their labels, officers by the names their credentials carry. An id nobody named is
//! printed as it is, so nothing is hidden.

use std::collections::HashMap;

use crate::audit::SystemAction;
use crate::messages::{columns, labels};
use crate::procedure::Procedure;
use crate::store::{self, DossierReader};

#[derive(Debug, Clone, Default)]
pub struct Names {
    agencies: HashMap<String, String>,
    departments: HashMap<String, String>,
    roles: HashMap<String, String>,
    people: HashMap<String, String>,
    procedures: HashMap<String, Labels>,
}

#[derive(Debug, Clone, Default)]
struct Labels {
    name: String,
    states: HashMap<String, String>,
    actions: HashMap<String, String>,
}

impl Names {
    /// The names `procedures` give; where two versions name one id differently, the first
    /// given wins (pass the versions in force first).
    pub fn of<'a>(procedures: impl IntoIterator<Item = &'a Procedure>) -> Names {
        let mut n = Names::default();
        for p in procedures {
            n.add(p);
        }
        n
    }

    /// The names of every procedure version the store keeps (the ones its dossiers ran
    /// under), for a reader with no catalogue at hand: the CLI over a data folder.
    pub fn from_store(reader: &dyn DossierReader) -> Result<Names, store::Error> {
        let mut n = Names::default();
        for (hash, source) in reader.procedures()? {
            // A stored version was valid when pinned; one that no longer parses only loses
            // its names, and its ids are printed instead.
            if let Some(p) = crate::procedure::load::load_str(&source, hash).procedure {
                n.add(&p);
            }
        }
        Ok(n)
    }

    /// Officers' names by login id, as the credentials give them.
    pub fn with_people<'a>(
        mut self,
        people: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Names {
        for (id, name) in people {
            self.people.entry(id.into()).or_insert_with(|| name.into());
        }
        self
    }

    fn add(&mut self, p: &Procedure) {
        let put = |m: &mut HashMap<String, String>, id: &str, name: &str| {
            m.entry(id.into()).or_insert_with(|| name.into());
        };
        put(&mut self.agencies, &p.agency.id, &p.agency.name);
        for d in &p.departments {
            put(&mut self.departments, &d.id, &d.name);
        }
        for r in &p.roles {
            put(&mut self.roles, &r.id, &r.name);
        }
        let labels = self
            .procedures
            .entry(p.id.clone())
            .or_insert_with(|| Labels {
                name: p.name.clone(),
                ..Labels::default()
            });
        for s in &p.states {
            put(&mut labels.states, &s.id, &s.label);
        }
        for a in &p.actions {
            put(&mut labels.actions, &a.id, &a.label);
        }
    }

    pub fn agency(&self, id: &str) -> String {
        named(&self.agencies, id)
    }

    pub fn department(&self, id: &str) -> String {
        named(&self.departments, id)
    }

    pub fn role(&self, id: &str) -> String {
        named(&self.roles, id)
    }

    /// An officer's name, "Hệ thống" for the engine.
    pub fn person(&self, id: &str) -> String {
        if id == crate::dossier::Actor::SYSTEM_ID {
            return columns::SYSTEM.into();
        }
        named(&self.people, id)
    }

    pub fn procedure(&self, id: &str) -> String {
        self.procedures
            .get(id)
            .map_or_else(|| id.to_string(), |l| l.name.clone())
    }

    pub fn state(&self, procedure: &str, id: &str) -> String {
        self.procedures
            .get(procedure)
            .map_or_else(|| id.to_string(), |l| named(&l.states, id))
    }

    /// An audit entry's action: the procedure's label, the engine's own steps and the
    /// submission and assignment in words.
    pub fn action(&self, procedure: &str, id: &str) -> String {
        if let Some(system) = SystemAction::of(id) {
            return labels::system_action(system).into();
        }
        match id {
            "submit" => columns::SUBMIT.into(),
            crate::dossier::transition::ASSIGN => columns::ASSIGN.into(),
            crate::dossier::transition::ATTACH => columns::ATTACH.into(),
            crate::dossier::transition::RATE => columns::RATE.into(),
            crate::dossier::transition::FEEDBACK => columns::FEEDBACK.into(),
            crate::dossier::transition::ANSWER_FEEDBACK => columns::ANSWER_FEEDBACK.into(),
            crate::dossier::transition::CONTACT => columns::CONTACT.into(),
            _ => self
                .procedures
                .get(procedure)
                .map_or_else(|| id.to_string(), |l| named(&l.actions, id)),
        }
    }

    /// A report row's key by what the report groups by; channels are the engine's own words.
    pub fn group(&self, by: crate::report::By, key: &str) -> String {
        use crate::report::By;
        if key.is_empty() {
            return columns::NONE.into();
        }
        match by {
            By::Agency => self.agency(key),
            By::Department => self.department(key),
            By::Procedure => self.procedure(key),
            By::Channel => labels::channel_key(key).map_or_else(|| key.to_string(), String::from),
        }
    }
}

fn named(m: &HashMap<String, String>, id: &str) -> String {
    m.get(id).cloned().unwrap_or_else(|| id.to_string())
}
