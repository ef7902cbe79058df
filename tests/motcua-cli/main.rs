//! The integration tests of the `motcua` binary and its server, in one test binary (one link
//! against wasmtime and the server instead of twelve): each file below is a module, run with
//! `cargo test -p motcua-cli --test motcua-cli <module>::`.

// Shared harnesses.
mod cli;
mod http;
#[path = "../support/pg.rs"]
mod pg;
#[path = "server_webhooks/receiver.rs"]
mod receiver;
mod web;

mod api_truth;
mod audit_cli;
mod backup_cli;
mod calendar;
mod dossier_cli;
mod front_door;
mod notices;
mod papers;
mod papers_nodes;
mod procedures;
mod proof_cli;
mod ratings;
mod report_cli;
mod server_api;
mod server_crash;
mod server_edge;
mod server_search;
mod server_webhooks;
mod simulate;
mod spreadsheets;
mod tracking_book;
mod vietnamese;
mod web_desk_day;
mod web_diagram;
mod web_forecast;
mod web_forms;
mod web_lists;
mod web_papers;
mod web_ratings;
mod web_screens;
