//! Guards: CEL expressions over the dossier, the actor's input and the actor, compiled once per
//! procedure version and evaluated purely.

use cel::{Context, Program, Value};
use jiff::Timestamp;

use super::{Actor, Dossier};

thread_local! {
    // CEL's standard library, built once per thread: building it is most of the cost of a
    // guard evaluated in a fresh `Context::default()`.
    static STDLIB: Context<'static, 'static> = Context::default();
}

/// A compiled guard with the label shown when it refuses.
#[derive(Debug)]
pub struct Guard {
    pub program: Program,
    pub expr: String,
    pub label: String,
    /// The guard reads the action's `input`, so it cannot be judged before the input exists.
    pub reads_input: bool,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("guard '{expr}' does not compile: {message}")]
    Compile { expr: String, message: String },
    #[error("guard '{expr}' could not be evaluated: {message}")]
    Eval { expr: String, message: String },
    #[error("guard '{expr}' gave {found}, not a boolean")]
    NotBoolean { expr: String, found: String },
}

impl Guard {
    pub fn compile(expr: &str, label: &str) -> Result<Guard, Error> {
        let program = Program::compile(expr).map_err(|e| Error::Compile {
            expr: expr.to_string(),
            message: e.to_string(),
        })?;
        let reads_input = program.references().has_variable("input");
        Ok(Guard {
            program,
            expr: expr.to_string(),
            label: label.to_string(),
            reads_input,
        })
    }

    /// Evaluates the guard. Variables: `data` (the form data), `input` (the action's input),
    /// `actor` (`id`, `roles`, `departments`), `dossier` (`code`, `channel`, `status`,
    /// `documents`, `supplements`, `procedure`) and `now` (RFC 3339 text).
    pub fn allows(
        &self,
        dossier_data: &serde_json::Value,
        dossier: Option<&Dossier>,
        input: &serde_json::Value,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<bool, Error> {
        STDLIB.with(|root| self.run(root, dossier_data, dossier, input, actor, now))
    }

    fn run(
        &self,
        root: &Context<'static, 'static>,
        dossier_data: &serde_json::Value,
        dossier: Option<&Dossier>,
        input: &serde_json::Value,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<bool, Error> {
        let eval_err = |message: String| Error::Eval {
            expr: self.expr.clone(),
            message,
        };
        let mut ctx = root.new_inner_scope();
        ctx.add_variable("data", dossier_data)
            .map_err(|e| eval_err(e.to_string()))?;
        ctx.add_variable("input", input)
            .map_err(|e| eval_err(e.to_string()))?;
        ctx.add_variable("actor", actor)
            .map_err(|e| eval_err(e.to_string()))?;
        let dossier_view = match dossier {
            Some(d) => serde_json::json!({
                "code": d.code,
                "channel": d.channel,
                "status": d.status,
                "documents": d.documents,
                "supplements": d.clock.supplements,
                "procedure": d.procedure,
            }),
            None => serde_json::json!({}),
        };
        ctx.add_variable("dossier", dossier_view)
            .map_err(|e| eval_err(e.to_string()))?;
        ctx.add_variable("now", now.to_string())
            .map_err(|e| eval_err(e.to_string()))?;
        match self.program.execute(&ctx) {
            Ok(Value::Bool(b)) => Ok(b),
            Ok(other) => Err(Error::NotBoolean {
                expr: self.expr.clone(),
                found: format!("{other:?}"),
            }),
            Err(e) => Err(eval_err(e.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn officer() -> Actor {
        Actor {
            id: "cb01".into(),
            roles: vec!["chuyen_vien".into()],
            departments: vec!["qlxd".into()],
        }
    }

    #[test]
    fn a_floor_area_guard_allows_and_refuses() {
        let g = Guard::compile(
            "data.dien_tich_san > 0.0 && data.so_tang <= 7",
            "Diện tích và số tầng hợp lệ",
        )
        .unwrap();
        let now = Timestamp::UNIX_EPOCH;
        let ok = serde_json::json!({"dien_tich_san": 120.5, "so_tang": 3});
        let too_tall = serde_json::json!({"dien_tich_san": 120.5, "so_tang": 9});
        assert!(
            g.allows(&ok, None, &serde_json::json!({}), &officer(), now)
                .unwrap()
        );
        assert!(
            !g.allows(&too_tall, None, &serde_json::json!({}), &officer(), now)
                .unwrap()
        );
    }

    #[test]
    fn guards_see_the_actor_and_the_input() {
        let g = Guard::compile(
            "'chuyen_vien' in actor.roles && input.ly_do != ''",
            "Có lý do",
        )
        .unwrap();
        let now = Timestamp::UNIX_EPOCH;
        assert!(
            g.allows(
                &serde_json::json!({}),
                None,
                &serde_json::json!({"ly_do": "thiếu bản vẽ"}),
                &officer(),
                now
            )
            .unwrap()
        );
        assert!(
            !g.allows(
                &serde_json::json!({}),
                None,
                &serde_json::json!({"ly_do": ""}),
                &officer(),
                now
            )
            .unwrap()
        );
    }

    #[test]
    fn a_non_boolean_guard_is_an_error_not_a_pass() {
        let g = Guard::compile("data.so_tang", "x").unwrap();
        let r = g.allows(
            &serde_json::json!({"so_tang": 3}),
            None,
            &serde_json::json!({}),
            &officer(),
            Timestamp::UNIX_EPOCH,
        );
        assert!(matches!(r, Err(Error::NotBoolean { .. })));
    }

    #[test]
    fn broken_cel_is_refused_at_compile_time() {
        assert!(matches!(
            Guard::compile("data.x >", "x"),
            Err(Error::Compile { .. })
        ));
    }
}
