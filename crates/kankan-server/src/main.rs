//! `kankan`: the server binary and its operator commands.

use std::io::{BufRead as _, Write as _};
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context as _, bail};
use clap::{Parser, Subcommand};
use kankan_base::{AccountId, RealClock};
use kankan_core::audit::{Actor, Record};
use kankan_server::{Config, build_services, start, telemetry};

mod bench_cli;
use bench_cli::BenchCommand;

#[derive(Parser)]
#[command(name = "kankan", version, about = "A self-hosted, privacy-first camera cloud")]
struct Cli {
    /// TOML configuration file (environment variables KANKAN__SECTION__KEY override it).
    #[arg(long, global = true, env = "KANKAN_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server.
    Serve,
    /// Run a complete local system with embedded defaults, for trying Kankan out.
    Demo {
        /// Data directory for the demo (default: ./kankan-demo).
        #[arg(long, default_value = "kankan-demo")]
        data_dir: PathBuf,
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: std::net::SocketAddr,
        /// Address of the embedded MQTT broker devices connect to.
        #[arg(long, default_value = "127.0.0.1:8883")]
        mqtt_listen: std::net::SocketAddr,
    },
    /// Apply database migrations and exit.
    Migrate,
    /// Inspect the configuration.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Operator actions.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// The operator's firmware signing key and image signatures (docs/ref/firmware.md).
    Firmware {
        #[command(subcommand)]
        command: FirmwareCommand,
    },
    /// Benchmarks against reference runs (docs/benchmarks.md); build with --release.
    Bench {
        #[command(subcommand)]
        command: BenchCommand,
    },
}

#[derive(Subcommand)]
enum FirmwareCommand {
    /// Create a signing key in FILE (mode 0600, never overwritten); prints the public key
    /// for `firmware.public_key` and the devices' builds.
    Keygen {
        #[arg(long)]
        out: PathBuf,
    },
    /// Print the signature of IMAGE as VERSION for MODEL, to upload with it.
    Sign {
        #[arg(long)]
        key: PathBuf,
        #[arg(long)]
        model: String,
        #[arg(long)]
        version: String,
        image: PathBuf,
    },
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Print the effective configuration (secrets redacted).
    Dump,
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create a staff member (an administrator unless --role says otherwise); the password is
    /// read from stdin (one line). They enrol a second factor (TOTP) at their first login.
    CreateStaff {
        #[arg(long)]
        username: String,
        /// support, operations or admin.
        #[arg(long, default_value = "admin")]
        role: String,
    },
    /// Remove a staff member's second factor (a lost phone): they enrol again at their next
    /// login.
    ResetStaffSecondFactor { username: String },
    /// Ban an account permanently (by e-mail, phone or account id).
    Ban {
        account: String,
        #[arg(long, default_value = "violation of the terms of service")]
        reason: String,
    },
    /// Lift a ban.
    Unban {
        account: String,
        #[arg(long, default_value = "lifted by the operator")]
        reason: String,
    },
    /// Cancel, delete or export accounts.
    Accounts {
        #[command(subcommand)]
        command: AccountsCommand,
    },
    /// Device identities.
    Devices {
        #[command(subcommand)]
        command: DevicesCommand,
    },
    /// The database as a whole.
    Store {
        #[command(subcommand)]
        command: StoreCommand,
    },
    /// The audit log of staff actions and accesses to users' data.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// The queue of data-subject requests.
    Requests {
        #[command(subcommand)]
        command: RequestsCommand,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Recomputes the hash chain and checks every signed checkpoint; fails on an edited or
    /// removed entry or a forged checkpoint.
    Verify,
}

#[derive(Subcommand)]
enum RequestsCommand {
    /// The requests with their deadlines, the earliest due first (open ones only unless
    /// `--all`).
    List {
        #[arg(long)]
        all: bool,
    },
    /// Shows one request with its message (written to the audit log).
    Show { id: uuid::Uuid },
    /// Closes an open request as done (or refused).
    Close {
        id: uuid::Uuid,
        #[arg(long)]
        refused: bool,
    },
}

#[derive(Subcommand)]
enum AccountsCommand {
    /// Start an account's cancellation window (by e-mail, phone or account id), as if its
    /// owner had asked; with --now, delete it at once instead (crypto-shred and purge).
    Cancel {
        account: String,
        #[arg(long)]
        now: bool,
    },
    /// Delete an account now: its key is destroyed (everything sealed under it becomes
    /// unreadable), its devices are unbound and its rows and objects purged; a deletion
    /// receipt goes to its contact.
    Delete { account: String },
    /// Write a ZIP of an account's data (by e-mail, phone or account id), the same the user's
    /// "Download my data" builds, to a new file (mode 0600): its JSON (docs/ref/export.md) and,
    /// if asked, its Album items and event clips. The account must be active.
    Export {
        account: String,
        #[arg(long)]
        out: PathBuf,
        /// Add every Album item.
        #[arg(long)]
        album: bool,
        /// Add an MP4 of each event's clip range.
        #[arg(long)]
        event_clips: bool,
    },
}

#[derive(Subcommand)]
enum StoreCommand {
    /// Copy every row of one database into another, empty one (e.g. a household box's SQLite
    /// file into PostgreSQL), then check the copy. Stop the server first; blobs stay where they
    /// are. The master key of the configuration decrypts the sample the check reads.
    Copy {
        /// The database to read, e.g. sqlite://kankan-data/kankan.db (not changed).
        #[arg(long)]
        from: String,
        /// The database to fill, e.g. postgres://kankan:PASSWORD@db/kankan (migrated first).
        #[arg(long)]
        to: String,
        /// How many accounts the check decrypts on both sides.
        #[arg(long, default_value_t = 50)]
        sample: u32,
    },
    /// Copy every blob of a directory (a box's `<data_dir>/blobs`) into the configured
    /// `[blobs]` store, e.g. its S3 bucket, skipping those already there; the directory is
    /// only read. Run it again after an interruption; switch `blobs.url` once it is done.
    CopyBlobs {
        /// The blob directory to read.
        #[arg(long)]
        from: PathBuf,
    },
}

#[derive(Subcommand)]
enum DevicesCommand {
    /// Create device identities (UID + own secret each) and write them to a CSV file for the
    /// factory (`uid,model,secret`, mode 0600). The server keeps only a MAC of each secret.
    Provision {
        #[arg(long)]
        model: String,
        #[arg(long, default_value_t = 1)]
        count: u32,
        #[arg(long)]
        out: PathBuf,
        /// A label for this batch.
        #[arg(long, default_value = "default")]
        batch: String,
    },
    /// Rotate a device's secret: a new one is sealed for the device (under its current
    /// secret) and sent at its next connection or state report; the old secret works until the
    /// device first logs in with the new one. A rotation already pending is sent again.
    RotateSecret { uid: String },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let mut cfg = Config::load(cli.config.as_deref()).map_err(anyhow::Error::msg)?;
    if let Command::Demo { data_dir, listen, mqtt_listen } = &cli.command {
        cfg.data_dir = data_dir.clone();
        cfg.server.listen = *listen;
        cfg.gateway =
            kankan_gateway::GatewayConfig::Embedded { listen: *mqtt_listen, plain: false };
        // TLS end to end: HTTPS for the browser and the cameras' video, MQTT over TLS.
        cfg.server.tls = true;
        // Person detection and familiar faces when `scripts/models` has been run here.
        let models = kankan_vision::default_models_dir();
        if cfg.vision.models_dir.as_os_str().is_empty()
            && models.join(kankan_vision::PERSON_MODEL).is_file()
        {
            cfg.vision.models_dir = models;
        }
    }
    telemetry::init(&cfg.log);
    let _ = rustls::crypto::ring::default_provider().install_default();
    let clock = Arc::new(RealClock);
    match cli.command {
        Command::Serve => serve(&cfg, None).await,
        Command::Demo { .. } => demo(&cfg).await,
        Command::Migrate => {
            let s = build_services(&cfg, clock).await?;
            let pending = s.store.pending_migrations().await?;
            println!(
                "database at {} is up to date ({} pending)",
                kankan_server::config::redacted_url(&cfg.database_url()),
                pending.len()
            );
            Ok(())
        }
        Command::Firmware { command: FirmwareCommand::Keygen { out } } => {
            println!("{}", kankan_server::firmware_cli::keygen(&out)?);
            Ok(())
        }
        Command::Firmware { command: FirmwareCommand::Sign { key, model, version, image } } => {
            println!("{}", kankan_server::firmware_cli::sign(&key, &model, &version, &image)?);
            Ok(())
        }
        Command::Config { command: ConfigCommand::Dump } => {
            print!("{}", cfg.dump().map_err(anyhow::Error::msg)?);
            Ok(())
        }
        Command::Admin { command } => admin(&cfg, command).await,
        Command::Bench { command } => bench_cli::run(command).await,
    }
}

async fn resolve(accounts: &kankan_accounts::Accounts, who: &str) -> anyhow::Result<AccountId> {
    if let Ok(id) = who.parse::<AccountId>() {
        return Ok(id);
    }
    accounts.find_by_identifier(who).await.with_context(|| format!("no account for {who:?}"))
}

async fn admin(cfg: &Config, cmd: AdminCommand) -> anyhow::Result<()> {
    // The store commands work on databases named on the command line, not the configured one.
    let cmd = match cmd {
        AdminCommand::Store { command } => return store_command(cfg, command).await,
        cmd => cmd,
    };
    let s = build_services(cfg, Arc::new(RealClock)).await?;
    let operator = Actor::operator_from_env();
    let log = |action: &'static str, subject: Option<AccountId>, detail: String| {
        let (audit, operator) = (s.audit.clone(), operator.clone());
        async move {
            audit
                .append(Record { actor: &operator, action, subject, detail })
                .await
                .context("writing the audit log")
        }
    };
    match cmd {
        AdminCommand::CreateStaff { username, role } => {
            let role = kankan_core::StaffRole::parse(&role)
                .with_context(|| format!("no role {role:?}: support, operations or admin"))?;
            let mut password = String::new();
            std::io::stdin().lock().read_line(&mut password).context("reading the password")?;
            let password = password.trim_end_matches(['\r', '\n']);
            if password.is_empty() {
                bail!("give the new staff member's password on stdin");
            }
            let id = s.accounts.create_staff(&username, password, role).await?;
            log("staff-created", None, format!("staff={id} role={}", role.name())).await?;
            println!(
                "created staff {} {username} ({id}); they enrol a second factor at their first \
                 sign-in to the console (#/console/login)",
                role.name()
            );
        }
        AdminCommand::ResetStaffSecondFactor { username } => {
            let id = s.accounts.reset_staff_second_factor(&username).await?;
            log("staff-second-factor-reset", None, format!("staff={id}")).await?;
            println!("removed the second factor of {username}; they enrol again at next login");
        }
        AdminCommand::Ban { account, reason } => {
            let id = resolve(&s.accounts, &account).await?;
            s.accounts.ban_with_reason(id, None, &reason).await?;
            log("account-banned", Some(id), String::new()).await?;
            println!("banned account {id}; its sessions have ended");
        }
        AdminCommand::Unban { account, reason } => {
            let id = resolve(&s.accounts, &account).await?;
            s.accounts.unban_with_reason(id, None, &reason).await?;
            log("account-unbanned", Some(id), String::new()).await?;
            println!("lifted the ban on account {id}");
        }
        AdminCommand::Accounts { command: AccountsCommand::Cancel { account, now: false } } => {
            let id = resolve(&s.accounts, &account).await?;
            let ends = s.accounts.cancel_as_operator(id).await?;
            log("account-cancellation-started", Some(id), format!("ends_at_ms={}", ends.0)).await?;
            println!(
                "account {id} is being cancelled: its sessions have ended and it will be deleted \
                 on {} unless its owner logs in and continues",
                ends.to_rfc3339()
            );
        }
        AdminCommand::Accounts { command: AccountsCommand::Cancel { account, now: true } }
        | AdminCommand::Accounts { command: AccountsCommand::Delete { account } } => {
            let id = resolve(&s.accounts, &account).await?;
            let reason = kankan_accounts::DeletionReason::Operator;
            log("account-deleted", Some(id), String::new()).await?;
            match s.lifecycle.delete_now(id, reason).await? {
                Some(done) => {
                    let what: Vec<String> =
                        done.counts.iter().map(|(k, n)| format!("{k} {n}")).collect();
                    println!(
                        "deleted account {id}: key shredded, data purged ({}); receipt code {}",
                        what.join(", "),
                        done.receipt_token
                    );
                }
                None => println!("account {id} was already deleted"),
            }
        }
        AdminCommand::Devices {
            command: DevicesCommand::Provision { model, count, out, batch },
        } => {
            let mut opts = std::fs::OpenOptions::new();
            opts.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
            let mut file = opts
                .open(&out)
                .with_context(|| format!("creating {} (it must not exist yet)", out.display()))?;
            let made = match s.devices.provision(&model, count, &batch).await {
                Ok(m) => m,
                Err(e) => {
                    drop(file);
                    let _ = std::fs::remove_file(&out);
                    return Err(e.into());
                }
            };
            let mut csv = String::from("uid,model,secret\n");
            for d in &made {
                csv.push_str(&format!("{},{},{}\n", d.uid, d.model, d.secret));
            }
            std::io::Write::write_all(&mut file, csv.as_bytes())?;
            file.sync_all()?;
            log(
                "devices-provisioned",
                None,
                format!("model={model} count={} batch={batch}", made.len()),
            )
            .await?;
            println!("provisioned {} {model} devices into {}", made.len(), out.display());
        }
        AdminCommand::Devices { command: DevicesCommand::RotateSecret { uid } } => {
            let uid = uid.trim().to_ascii_uppercase();
            if matches!(cfg.gateway, kankan_gateway::GatewayConfig::External { .. }) {
                bail!("device secrets are not rotated with an external MQTT broker");
            }
            let r = s.devices.rotate_secret(&uid).await?;
            log("device-secret-rotated", None, format!("device={uid}")).await?;
            println!(
                "secret rotation of {uid} pending since {}: the device gets its new secret at \
                 its next connection or state report; the old one works until it uses it",
                r.started_at.to_rfc3339()
            );
        }
        AdminCommand::Accounts {
            command: AccountsCommand::Export { account, out, album, event_clips },
        } => {
            let id = resolve(&s.accounts, &account).await?;
            let media = kankan_export::ExportMedia { album, event_clips, recordings: Vec::new() };
            log("account-exported", Some(id), format!("album={album} event_clips={event_clips}"))
                .await?;
            let len = s.exports.write_to_file(id, media, &out).await?;
            println!("wrote the data of account {id} to {} ({len} bytes)", out.display());
        }
        AdminCommand::Audit { command: AuditCommand::Verify } => {
            log("audit-verified", None, String::new()).await?;
            let v = s.audit.verify().await?;
            for p in &v.problems {
                eprintln!("audit log: {p}");
            }
            if !v.intact() {
                bail!(
                    "the audit log has been tampered with: {} problem(s) in {} entries",
                    v.problems.len(),
                    v.entries
                );
            }
            println!(
                "the audit log is intact: {} entries, {} signed checkpoints verified",
                v.entries, v.checkpoints
            );
        }
        AdminCommand::Requests { command: RequestsCommand::List { all } } => {
            let rows = s.requests.queue(!all, 10_000).await?;
            log("privacy-requests-listed", None, format!("all={all} count={}", rows.len())).await?;
            println!(
                "{:<36}  {:<36}  {:<13}  {:<8}  {:<10}  due",
                "id", "account", "kind", "state", "received"
            );
            for r in rows {
                let day =
                    |t: kankan_base::Timestamp| t.to_rfc3339().chars().take(10).collect::<String>();
                println!(
                    "{}  {}  {:<13}  {:<8}  {:<10}  {}{}",
                    r.id,
                    r.account,
                    r.kind,
                    r.state,
                    day(r.received_at),
                    day(r.due_at),
                    if r.overdue { "  OVERDUE" } else { "" }
                );
            }
        }
        AdminCommand::Requests { command: RequestsCommand::Show { id } } => {
            let (r, message) = s.requests.read(&operator, id).await?;
            println!("request {} ({}, {}) of account {}", r.id, r.kind, r.state, r.account);
            println!("due {}{}", r.due_at.to_rfc3339(), if r.overdue { " (overdue)" } else { "" });
            println!("{}", message.unwrap_or_else(|| "(no message)".into()));
        }
        AdminCommand::Requests { command: RequestsCommand::Close { id, refused } } => {
            let state = if refused { "refused" } else { "done" };
            let r = s.requests.close(&operator, id, state).await?;
            println!("request {} closed as {}", r.id, r.state);
        }
        AdminCommand::Store { .. } => unreachable!("handled before the services start"),
    }
    Ok(())
}

async fn store_command(cfg: &Config, cmd: StoreCommand) -> anyhow::Result<()> {
    let (from, to, sample) = match cmd {
        StoreCommand::Copy { from, to, sample } => (from, to, sample),
        StoreCommand::CopyBlobs { from } => {
            let to = kankan_blobs::open(&cfg.blobs, &cfg.data_dir)?;
            let r = kankan_blobs::copy_dir(&from, to.as_ref())
                .await
                .with_context(|| format!("copying the blobs of {}", from.display()))?;
            println!(
                "copied {} blobs ({} bytes) to {}; {} were already there; {} other files left alone",
                r.copied, r.bytes, cfg.blobs.url, r.present, r.other
            );
            return Ok(());
        }
    };
    let master = kankan_crypto::MasterKey::load(&cfg.master_key_source())
        .context("loading the master key")?;
    let keyring = kankan_crypto::Keyring::new(&master);
    let done = kankan_server::store_copy::copy(&keyring, &from, &to, sample).await?;
    for (table, rows) in &done.report.tables {
        println!("{table:<30} {rows:>10} rows");
    }
    println!(
        "copied {} rows from {} to {}; counts match and {} sampled accounts decrypt alike",
        done.report.rows(),
        kankan_server::config::redacted_url(&from),
        kankan_server::config::redacted_url(&to),
        done.decrypted
    );
    Ok(())
}

async fn serve(cfg: &Config, banner: Option<String>) -> anyhow::Result<()> {
    let running = start(cfg, Arc::new(RealClock)).await?;
    let banner = match banner {
        Some(b) => {
            let (token, _) = kankan_crypto::random_token()?;
            let password: String = token.chars().take(16).collect();
            kankan_server::demo::start(&running, &cfg.data_dir, &password).await?;
            Some(b.replace("{demo_password}", &password))
        }
        None => None,
    };
    let mqtt = running.mqtt_addr.map(|a| a.to_string()).unwrap_or_else(|| "external".into());
    tracing::info!(addr = %running.addr, mqtt = %mqtt, data_dir = %cfg.data_dir.display(), "kankan is serving");
    if let Some(b) = banner {
        // Whoever started us may have stopped reading stdout: never die of a closed pipe.
        let text = b.replace("{addr}", &running.addr.to_string());
        let _ = writeln!(std::io::stdout().lock(), "{text}");
    }
    wait_for_signal().await;
    tracing::info!("shutting down");
    running.stop().await;
    Ok(())
}

async fn demo(cfg: &Config) -> anyhow::Result<()> {
    let banner = format!(
        "\n  Kankan demo is running: open https://{{addr}}/ in a browser (its certificate is\n  \
         the demo's own, self-signed: {}).\n\n  \
         Log in as {} with password {{demo_password}} (new at every start):\n  \
         it has two simulated cameras and a doorbell (kankan-cam) already paired.\n  Or \
register with any e-mail address or +phone number. The demo sends no messages:\n  \
         verification codes are written to the log below and to {} (recipients masked).\n  \
         Press Ctrl-C to stop; data stays in {}.\n",
        cfg.data_dir.join("tls").join("tls.crt").display(),
        kankan_server::demo::DEMO_ACCOUNT,
        cfg.outbox_path().display(),
        cfg.data_dir.display()
    );
    serve(cfg, Some(banner)).await
}

async fn wait_for_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}
