//! The API description, generated from the handlers' annotations (utoipa) and committed as
//! `schemas/openapi.json`; a test fails when the committed file is stale.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
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
        api::dossiers::list,
        api::dossiers::audit,
        api::dossiers::slip,
        api::audit::list,
        api::audit::verify,
        api::audit::checkpoint,
        api::audit::on_time,
        api::status::status,
        api::ops::webhooks,
    ),
    modifiers(&Bearer),
    tags(
        (name = "procedures", description = "The catalogue"),
        (name = "dossiers", description = "Receiving, reading and acting on dossiers"),
        (name = "audit", description = "The hash-chained audit log"),
        (name = "reports", description = "Service reports"),
        (name = "citizens", description = "The public status page"),
        (name = "webhooks", description = "Deliveries from the outbox")
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
