//! The API description, generated from the handlers' annotations (utoipa) and committed as
//! `schemas/openapi.json`; a test fails when the committed file is stale.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{
    ContentBuilder, ObjectBuilder, RefOr, Response, ResponseBuilder, Schema, Type,
};
use utoipa::{Modify, OpenApi};

use crate::api;

struct Bearer;

impl Modify for Bearer {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A token from the tokens file, or a JWT from the configured identity provider",
                    ))
                    .build(),
            ),
        );
    }
}

/// The refusals every route shares, added from the rules the server enforces rather than
/// written at each handler: a secured route (the `Caller` extractor) answers 401 without a good
/// credential and 429 over its rate; a route with parameters or a body (the strict `Params` and
/// body readers) answers 400 for an unknown or malformed one; a route with a body answers 408
/// when it stalls (`door::read_body`), 413 over 1 MiB and 415 for another media type. Every
/// 4xx a handler declares without a body is the problem document.
struct Problems;

/// The media type of every refusal.
pub const PROBLEM_JSON: &str = "application/problem+json";

fn problem_schema() -> Schema {
    let string = |d: &str| {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(d))
    };
    ObjectBuilder::new()
        .description(Some(
            "An RFC 9457 problem document. Switch on `code`, never on `detail` (a sentence for people). Some codes add members: `errors` (diagnostics or fields), `current_version`, `retry_after_seconds`, `field`.",
        ))
        .property("type", string("`urn:motcua:problem:<code>`"))
        .property("title", string("The status's reason phrase"))
        .property(
            "status",
            ObjectBuilder::new().schema_type(Type::Integer).description(Some("The HTTP status")),
        )
        .property("code", string("The stable code (`forbidden`, `conflict`, `invalid_input`, …)"))
        .property("detail", string("What was wrong, for a person"))
        .property(
            "errors",
            utoipa::openapi::schema::ArrayBuilder::new()
                .description(Some(
                    "Every problem found. `invalid_form` and `validation_failed`: one per field, `{field, code, args, message}` (`field` a JSON pointer, `code` stable: `required`, `minimum`, `exclusive_minimum`, `pattern`, `enum`, `date_after`, … or a plugin's own such as `cccd.province`; `args` its data, e.g. `{\"limit\": 0}`; `message` English, or a plugin's Vietnamese). `invalid_procedure`: diagnostics `{code, severity, line, col, message, hint}`.",
                ))
                .items(
                    ObjectBuilder::new()
                        .property("field", string("The field, a JSON pointer (`/so_cccd`); `\"\"` for the whole form"))
                        .property("code", string("The stable code of what is wrong"))
                        .property(
                            "args",
                            ObjectBuilder::new()
                                .description(Some("The code's data: `limit`, `expected`, `format`, `pattern`, `values`, `value`, `today`, `plugin`, …"))
                                .additional_properties(Some(
                                    utoipa::openapi::schema::AdditionalProperties::FreeForm(true),
                                )),
                        )
                        .property("message", string("For integrators (English), or the plugin's own sentence"))
                        .additional_properties(Some(
                            utoipa::openapi::schema::AdditionalProperties::FreeForm(true),
                        )),
                ),
        )
        .required("type")
        .required("title")
        .required("status")
        .required("code")
        .required("detail")
        .additional_properties(Some(utoipa::openapi::schema::AdditionalProperties::FreeForm(true)))
        .into()
}

fn problem(description: &str) -> Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            PROBLEM_JSON,
            ContentBuilder::new()
                .schema(Some(RefOr::Ref(utoipa::openapi::Ref::from_schema_name(
                    "Problem",
                ))))
                .build(),
        )
        .build()
}

impl Modify for Problems {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        doc.components
            .get_or_insert_with(Default::default)
            .schemas
            .insert("Problem".into(), RefOr::T(problem_schema()));
        for item in doc.paths.paths.values_mut() {
            let ops = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ];
            for op in ops.into_iter().flatten() {
                let secured = op.security.as_ref().is_some_and(|s| !s.is_empty());
                let params = op.parameters.as_ref().is_some_and(|p| !p.is_empty());
                let body = op.request_body.is_some();
                let responses = &mut op.responses.responses;
                let mut add = |code: &str, why: &str| {
                    responses
                        .entry(code.to_string())
                        .or_insert_with(|| RefOr::T(problem(why)));
                };
                if params || body {
                    add("400", "A malformed or unknown parameter or body member");
                }
                if secured {
                    add("401", "No credential, or one the server does not accept");
                    add(
                        "429",
                        "The credential is over its request rate (see Retry-After), or its address has failed authentication too often",
                    );
                }
                if body {
                    add(
                        "408",
                        "The body did not arrive in time; the connection is closed",
                    );
                    add("413", "The body is over 1 MiB");
                    add("415", "The body is not of the declared media type");
                }
                for (code, r) in responses.iter_mut() {
                    if let RefOr::T(r) = r
                        && code.as_str() >= "400"
                        && r.content.is_empty()
                    {
                        *r = problem(&r.description);
                    }
                }
            }
        }
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "motcua",
        description = "One-stop-shop dossiers over HTTP. Every error is RFC 9457 problem+json with a stable `code`.",
        license(name = "MIT")
    ),
    paths(
        api::procedures::list,
        api::procedures::get,
        api::procedures::graph,
        api::procedures::put,
        api::dossiers::submit,
        api::dossiers::get,
        api::dossiers::act,
        api::assignments::assign,
        api::contact::change,
        api::papers::attach,
        api::papers::list,
        api::papers::get,
        api::papers_ahead::stage,
        api::papers_ahead::held,
        api::dossiers::list,
        api::dossiers::audit,
        api::dossiers::slip,
        api::audit::list,
        api::audit::verify,
        api::audit::checkpoint,
        api::audit::on_time,
        api::book::tracking_book,
        api::status::status,
        api::feedback::rate,
        api::feedback::send,
        api::feedback::answer,
        api::ops::webhooks,
        api::notices::list,
        api::notices::replay,
        api::ops::backup,
        api::simulations::create,
        api::simulations::waits,
    ),
    // Enums used only as query parameters are not collected from bodies: named here, so
    // every `$ref` the parameters make resolves.
    components(schemas(
        api::dossiers::ChannelName,
        api::dossiers::ScopeName,
        api::dossiers::SortName,
        api::audit::AuditFormat,
        api::audit::ReportBy,
        api::audit::ReportFormat,
        api::procedures::GraphFormat,
    )),
    modifiers(&Bearer, &Problems),
    tags(
        (name = "procedures", description = "The catalogue"),
        (name = "dossiers", description = "Receiving, reading and acting on dossiers"),
        (name = "audit", description = "The hash-chained audit log"),
        (name = "reports", description = "Service reports"),
        (name = "citizens", description = "The public status page"),
        (name = "webhooks", description = "Deliveries from the outbox"),
        (name = "notices", description = "Notices to applicants by e-mail and text message"),
        (name = "operations", description = "Backups"),
        (name = "forecasts", description = "Forecasts of the on-time rate under a scenario's load, and the waits the audit log observed")
    )
)]
pub struct Doc;

/// The description as pretty JSON (what `GET /openapi.json` serves and the repository keeps).
pub fn json() -> String {
    Doc::openapi()
        .to_pretty_json()
        .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
        + "\n"
}

#[cfg(test)]
mod tests {
    /// Regression: enums used only as query parameters were referenced but never defined, so
    /// generated clients dropped the listing and report endpoints.
    #[test]
    fn every_reference_in_the_document_resolves() {
        let doc: serde_json::Value = serde_json::from_str(&super::json()).expect("json");
        let mut refs = vec![];
        fn walk(v: &serde_json::Value, out: &mut Vec<String>) {
            match v {
                serde_json::Value::Object(m) => {
                    for (k, x) in m {
                        match (k.as_str(), x.as_str()) {
                            ("$ref", Some(r)) => out.push(r.to_string()),
                            _ => walk(x, out),
                        }
                    }
                }
                serde_json::Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
                _ => {}
            }
        }
        walk(&doc, &mut refs);
        assert!(!refs.is_empty());
        for r in refs {
            let name = r
                .strip_prefix("#/components/schemas/")
                .unwrap_or_else(|| panic!("unexpected reference {r}"));
            assert!(
                doc["components"]["schemas"].get(name).is_some(),
                "{r} is referenced but not defined"
            );
        }
    }

    #[test]
    fn the_committed_openapi_json_is_fresh() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../schemas/openapi.json");
        let fresh = super::json();
        if std::env::var_os("MOTCUA_BLESS").is_some() {
            std::fs::write(path, &fresh).expect("writing schemas/openapi.json");
            return;
        }
        let committed = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            committed == fresh,
            "schemas/openapi.json is stale: run `MOTCUA_BLESS=1 cargo test -p motcua-server openapi` and commit it"
        );
    }
}
