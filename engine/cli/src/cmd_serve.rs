//! `motcua serve`: the HTTP/JSON API over the data folder, with the scheduler and webhooks.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use motcua_server::auth::{self, TokenEntry};

use crate::cmd_dossier::{EngineArgs, Mode};

#[derive(clap::Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub engine: EngineArgs,
    /// Credentials: a YAML list of {token_sha256, subject, roles, departments}.
    #[arg(long)]
    pub tokens: Option<PathBuf>,
    /// JWT bearer tokens: algorithm, key, issuer, audience and the claims to read.
    #[arg(long)]
    pub jwt_config: Option<PathBuf>,
    /// Webhook subscriptions: url, event types, secret.
    #[arg(long)]
    pub webhooks: Option<PathBuf>,
    /// The agency's checkpoint key (`motcua audit keygen`): GET /v1/audit/checkpoint signs
    /// the head with it.
    #[arg(long)]
    pub checkpoint_key: Option<PathBuf>,
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Demo credentials: generated into <data>/dev-tokens.yaml (kept across restarts) and
    /// printed; plain tokens are accepted.
    #[arg(long)]
    pub dev: bool,
    /// Requests per second per credential (0: no limit).
    #[arg(long, default_value_t = 2000)]
    pub rate_limit: u32,
    /// The burst a credential may send above its rate.
    #[arg(long, default_value_t = 4000)]
    pub rate_burst: u32,
    /// Requests per second to the public status page from one address.
    #[arg(long, default_value_t = 50)]
    pub public_rate_limit: u32,
    /// Seconds a client has to send a request's head (also the idle limit between requests).
    #[arg(long, default_value_t = 20)]
    pub header_read_timeout: u64,
    /// Seconds a client has to send a request's body once its head is in; past it, 408 and
    /// the connection closed.
    #[arg(long, default_value_t = 30)]
    pub body_read_timeout: u64,
    /// Connections one address may hold open at once (an office behind one NAT shares it);
    /// past it, new ones are closed at once.
    #[arg(long, default_value_t = 256)]
    pub max_connections_per_address: usize,
    /// The folder uploaded procedures may read plugin files from, besides the procedures
    /// folder [default: plugins/dist beside the procedures folder].
    #[arg(long)]
    pub plugins: Option<PathBuf>,
    /// The base URL citizens reach this server at, printed on the appointment slip's QR code
    /// (e.g. https://motcua.haichau.danang.gov.vn); default: the address the desk's browser used.
    #[arg(long)]
    pub public_url: Option<String>,
    /// The agencies' one-stop offices: address, opening hours, phone (config/offices.yaml
    /// shows the shape); the status page and notices say them, printed forms are dated at its place. `--dev` reads
    /// config/offices.yaml beside the procedures folder when no file is given.
    #[arg(long)]
    pub offices: Option<PathBuf>,
    /// Notices to applicants: the SMTP server and SMS provider, tries, and the province's
    /// wording per notice and procedure (docs/notices.md).
    #[arg(long)]
    pub notices: Option<PathBuf>,
    /// The forecast scenarios the screens and `/v1/simulations` run (schemas/scenario.schema.json),
    /// each `*.yaml` of the folder by its name; read and checked at start. `--dev` reads
    /// scenarios/ beside the procedures folder when no folder is given.
    #[arg(long, value_name = "DIR")]
    pub scenarios: Option<PathBuf>,
}

pub fn serve(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let mut tokens: Vec<TokenEntry> = match &args.tokens {
        Some(path) => auth::read_tokens(path)?,
        None => vec![],
    };
    if args.tokens.is_none() && args.jwt_config.is_none() && !args.dev {
        anyhow::bail!(
            "no credentials: give --tokens FILE or --jwt-config FILE, or --dev for demo tokens"
        );
    }
    let jwt = match &args.jwt_config {
        Some(path) => {
            let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
            Some((auth::read_jwt_config(path)?, dir))
        }
        None => None,
    };
    let webhooks = match &args.webhooks {
        Some(path) => Some(motcua_server::webhook::read(path)?),
        None => None,
    };
    let offices = match &args.offices {
        Some(path) => motcua::office::Offices::read(path)?,
        None if args.dev => {
            let sample = args.engine.procedures.join("../config/offices.yaml");
            if sample.is_file() {
                motcua::office::Offices::read(&sample)?
            } else {
                motcua::office::Offices::default()
            }
        }
        None => motcua::office::Offices::default(),
    };
    let notices = match &args.notices {
        Some(path) => Some(motcua_server::notify::read(path)?),
        None => None,
    };
    let scenarios = match &args.scenarios {
        Some(dir) => motcua_server::forecast::read_dir(dir)?,
        None if args.dev => {
            let sample = args.engine.procedures.join("../scenarios");
            if sample.is_dir() {
                motcua_server::forecast::read_dir(&sample)?
            } else {
                Default::default()
            }
        }
        None => Default::default(),
    };
    let checkpoint_key = match &args.checkpoint_key {
        Some(path) => Some(crate::cmd_audit::read_json(path, "checkpoint key")?),
        None => None,
    };
    let (engine, manual) = crate::cmd_dossier::open(&args.engine, Mode::Create)?;
    if args.dev && args.tokens.is_none() {
        tokens = dev_tokens(&engine, &args.engine.data)?;
    }
    if args.dev && motcua::store::DossierReader::dossier_count(engine.store())? == 0 {
        let n = receive_samples(&engine)?;
        println!("received {n} sample dossiers at the desk (one per sample procedure)");
    }
    let config = motcua_server::Config {
        listen: args.listen,
        data: args.engine.data.clone(),
        procedures: args.engine.procedures.clone(),
        plugins: Some(
            args.plugins
                .clone()
                .unwrap_or_else(|| args.engine.procedures.join("../plugins/dist")),
        ),
        tokens,
        dev: args.dev,
        jwt,
        webhooks,
        checkpoint_key,
        rate_per_second: args.rate_limit,
        rate_burst: args.rate_burst,
        public_rate_per_second: args.public_rate_limit,
        manual_clock: manual,
        limits: motcua_server::door::Limits {
            header_read_timeout: std::time::Duration::from_secs(args.header_read_timeout.max(1)),
            body_read_timeout: std::time::Duration::from_secs(args.body_read_timeout.max(1)),
            connections_per_address: args.max_connections_per_address.max(1),
        },
        public_url: args.public_url.clone(),
        offices,
        notices,
        scenarios,
    };
    motcua_server::serve(Arc::new(engine), config)?;
    Ok(ExitCode::SUCCESS)
}

/// A fresh `--dev` store gets one dossier of each sample procedure that carries an example,
/// received at the desk, so a newcomer has work to look at.
fn receive_samples(engine: &motcua::Engine) -> anyhow::Result<usize> {
    let mut n = 0;
    for p in engine.procedures() {
        let proc_ = &p.procedure;
        let Some((_, mut sub)) = crate::cmd_dossier::sample_submission(proc_, "can-bo-mot-cua")
        else {
            continue;
        };
        // Idempotent, so a second receiving of the same sample would answer the first.
        sub.idempotency_key = Some(format!("dev-sample-{}", proc_.id));
        let receipt = engine
            .submit(sub)
            .with_context(|| format!("receiving the sample of {}", proc_.id))?;
        println!("  {}  {}", receipt.dossier.code, proc_.name);
        n += 1;
    }
    Ok(n)
}

/// Demo credentials for the sample procedures: one officer per department (every officer
/// role, that department), a leader in every department, an auditor, an admin, a portal
/// and a citizen. Kept in <data>/dev-tokens.yaml so they survive restarts.
fn dev_tokens(engine: &motcua::Engine, data: &Path) -> anyhow::Result<Vec<TokenEntry>> {
    let path = data.join("dev-tokens.yaml");
    let entries: Vec<TokenEntry> = if path.exists() {
        auth::read_tokens(&path)?
    } else {
        let mut roles = std::collections::BTreeSet::new();
        let mut departments = std::collections::BTreeSet::new();
        for p in engine.procedures() {
            roles.extend(p.procedure.roles.iter().map(|r| r.id.clone()));
            departments.extend(p.procedure.departments.iter().map(|d| d.id.clone()));
        }
        let roles: Vec<String> = roles.into_iter().collect();
        let token = || auth::random_token().context("drawing a demo token");
        let names: std::collections::BTreeMap<String, String> = engine
            .procedures()
            .iter()
            .flat_map(|p| p.procedure.departments.clone())
            .map(|d| (d.id, d.name))
            .collect();
        // Demo people: a name on every screen and printed form instead of a login id.
        const PEOPLE: [&str; 8] = [
            "Nguyễn Thị Hạnh",
            "Trần Quốc Bảo",
            "Lê Minh Tuấn",
            "Phạm Thu Trang",
            "Hoàng Văn Nam",
            "Đặng Ngọc Ánh",
            "Võ Thành Long",
            "Bùi Thị Mai",
        ];
        let entry = |subject: String,
                     roles: Vec<String>,
                     departments: Vec<String>,
                     name: Option<String>,
                     title: Option<String>| {
            Ok::<_, anyhow::Error>(TokenEntry {
                token_sha256: None,
                token: Some(token()?),
                subject,
                roles,
                departments,
                name,
                title,
                away: None,
            })
        };
        let mut list = vec![];
        for (i, d) in departments.iter().enumerate() {
            list.push(entry(
                format!("can-bo-{d}"),
                roles.clone(),
                vec![d.clone()],
                Some(PEOPLE[i % PEOPLE.len()].to_string()),
                Some(format!(
                    "Cán bộ, {}",
                    names.get(d).map_or(d.as_str(), String::as_str)
                )),
            )?);
        }
        list.push(entry(
            "lanh-dao".into(),
            roles.clone(),
            departments.iter().cloned().collect(),
            Some("Ngô Đức Thắng".into()),
            Some("Lãnh đạo Ủy ban".into()),
        )?);
        list.push(entry(
            "thanh-tra".into(),
            vec!["auditor".into()],
            vec![],
            Some("Trịnh Văn Hùng".into()),
            Some("Thanh tra viên".into()),
        )?);
        list.push(entry(
            "quan-tri".into(),
            vec!["admin".into()],
            vec![],
            None,
            Some("Quản trị hệ thống".into()),
        )?);
        list.push(entry(
            "cong-dich-vu-cong".into(),
            vec!["portal".into()],
            vec![],
            None,
            None,
        )?);
        list.push(entry(
            "001090012345".into(),
            vec!["applicant".into()],
            vec![],
            Some("Nguyễn Thị Mai".into()),
            None,
        )?);
        let yaml = render(&list);
        // Plain tokens: readable by the owner only, like the status key.
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        std::io::Write::write_all(
            &mut opts
                .open(&path)
                .with_context(|| format!("writing {}", path.display()))?,
            yaml.as_bytes(),
        )
        .with_context(|| format!("writing {}", path.display()))?;
        list
    };
    println!("demo credentials (--dev; kept in {}):", path.display());
    for e in &entries {
        println!(
            "  {:<24} {}  roles: {}  departments: {}",
            e.subject,
            e.token.as_deref().unwrap_or("(sha256 only)"),
            if e.roles.len() > 3 {
                format!("{} roles", e.roles.len())
            } else {
                e.roles.join(",")
            },
            e.departments.join(","),
        );
    }
    Ok(entries)
}

fn render(list: &[TokenEntry]) -> String {
    let mut out = String::from(
        "# Demo credentials written by `motcua serve --dev`. Not for production:\n# production files hold token_sha256 only.\n",
    );
    for e in list {
        let q = |s: &str| serde_json::to_string(s).unwrap_or_default();
        let l = |v: &[String]| {
            format!(
                "[{}]",
                v.iter().map(|s| q(s)).collect::<Vec<_>>().join(", ")
            )
        };
        out.push_str(&format!(
            "- subject: {}\n  token: {}\n  roles: {}\n  departments: {}\n",
            q(&e.subject),
            q(e.token.as_deref().unwrap_or("")),
            l(&e.roles),
            l(&e.departments)
        ));
        if let Some(n) = &e.name {
            out.push_str(&format!("  name: {}\n", q(n)));
        }
        if let Some(t) = &e.title {
            out.push_str(&format!("  title: {}\n", q(t)));
        }
    }
    out
}
