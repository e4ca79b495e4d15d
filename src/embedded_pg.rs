//! Private PostgreSQL cluster started from the machine's installed PostgreSQL binaries, used when `DATABASE_URL` is unset.
//!
//! Layout under the caller's `data_dir`:
//! - `pg/`      the cluster (created by `initdb` on first start, reused afterwards)
//! - `pg.log`   the server log (`pg_ctl -l`)
//! - `sock/`    the unix socket directory (or `/tmp/pzo-pg-<random>` when that path is too long)
//!
//! PostgreSQL refuses to run as root, so when we are root every command runs as an
//! unprivileged system user (`postgres`, else a created `pzo-postgres`). That user must be
//! able to traverse every parent of the data directory, so missing world-execute (`o+x`)
//! bits are added to those parents; nothing else about their permissions is changed.

use std::ffi::OsStr;
use std::fs;
use std::io::Write as _;
use std::os::unix::fs::PermissionsExt as _;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};

/// Unix socket paths are limited to ~108 bytes (`sun_path`); stay safely below that.
const MAX_SOCKET_PATH: usize = 100;
/// Attempts with a fresh port, because the port we picked can be taken before postgres binds it.
const START_ATTEMPTS: usize = 3;
/// Seconds `pg_ctl -w` waits for start/stop.
const PG_CTL_TIMEOUT_SECS: &str = "60";
/// Unprivileged user created when running as root and no `postgres` user exists.
const FALLBACK_USER: &str = "pzo-postgres";

#[derive(Debug, thiserror::Error)]
pub enum EmbeddedPgError {
    #[error(
        "no PostgreSQL binaries found (initdb, pg_ctl, postgres): install PostgreSQL (apt-get install postgresql) or set DATABASE_URL"
    )]
    BinariesNotFound,
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    #[error("`{command}` failed ({status}): {stderr_tail}")]
    CommandFailed { command: String, status: String, stderr_tail: String },
    #[error("embedded PostgreSQL failed to start: {reason}\nlast lines of {}:\n{log_tail}", log.display())]
    StartFailed { reason: String, log: PathBuf, log_tail: String },
    #[error(
        "running as root but no unprivileged user for PostgreSQL is available ({0}): create a `postgres` user or set DATABASE_URL"
    )]
    NoServiceUser(String),
}

fn io_err(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> EmbeddedPgError {
    let context = context.into();
    move |source| EmbeddedPgError::Io { context, source }
}

/// A running private PostgreSQL server; stopped by [`EmbeddedPostgres::stop`] or on drop.
#[derive(Debug)]
pub struct EmbeddedPostgres {
    bins: PgBinaries,
    cluster_dir: PathBuf,
    log_file: PathBuf,
    socket_dir: PathBuf,
    /// The socket dir lives under /tmp (not in data_dir) and is ours to delete.
    temp_socket_dir: bool,
    run_as: Option<ServiceUser>,
    port: u16,
    /// True until the server is up and again once it is stopped, so Drop knows what to do.
    stopped: AtomicBool,
}

impl EmbeddedPostgres {
    /// Starts (initialising on first use) the cluster in `data_dir/pg` on a free port of 127.0.0.1.
    pub async fn start(data_dir: &Path) -> Result<Self, EmbeddedPgError> {
        let bins = PgBinaries::locate()?;
        let root = std::path::absolute(data_dir).map_err(io_err("cannot resolve data dir"))?;
        let cluster_dir = root.join("pg");
        create_dir(&cluster_dir)?;
        let (socket_dir, temp_socket_dir) = choose_socket_dir(&root);
        create_dir(&socket_dir)?;
        let log_file = root.join("pg.log");
        touch(&log_file)?;
        let run_as = if is_root() { Some(ServiceUser::ensure().await?) } else { None };
        if let Some(user) = &run_as {
            user.grant_access(&[&cluster_dir, &socket_dir, &log_file]).await?;
        }
        let mut pg = Self {
            bins,
            cluster_dir,
            log_file,
            socket_dir,
            temp_socket_dir,
            run_as,
            port: 0,
            stopped: AtomicBool::new(true),
        };
        if !pg.cluster_dir.join("PG_VERSION").exists() {
            pg.initdb().await?;
        }
        pg.stop_leftover_server().await?;
        pg.port = pg.start_server().await?;
        pg.stopped.store(false, Ordering::SeqCst);
        tracing::info!("embedded PostgreSQL listening on 127.0.0.1:{}", pg.port);
        Ok(pg)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Connection URL for `database` (trust auth, superuser `postgres`).
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// Fast shutdown (`pg_ctl stop -m fast -w`); a no-op if already stopped.
    pub async fn stop(&self) -> Result<(), EmbeddedPgError> {
        if self.stopped.swap(true, Ordering::SeqCst) {
            return Ok(());
        }
        if let Err(e) = run(self.stop_command()).await {
            // Still running as far as we know: let a later stop() or Drop retry.
            self.stopped.store(false, Ordering::SeqCst);
            return Err(e);
        }
        self.remove_temp_socket_dir();
        Ok(())
    }

    /// Starts a stopped server again on the port it had, so every URL already handed out (a
    /// connection pool's) stays valid: fault tests stop the database under a running server and
    /// bring it back. A no-op if it is running. Fails (and stays stopped) if the port was taken
    /// meanwhile, since moving to another port would silently strand those URLs.
    pub async fn restart(&self) -> Result<(), EmbeddedPgError> {
        if !self.stopped.load(Ordering::SeqCst) {
            return Ok(());
        }
        // stop() removed a temporary socket dir; postgres refuses to start without it.
        create_dir(&self.socket_dir)?;
        if let Some(user) = &self.run_as {
            user.grant_access(&[&self.socket_dir]).await?;
        }
        run(self.start_command(self.port)).await.map_err(|e| self.start_failed(e.to_string()))?;
        self.stopped.store(false, Ordering::SeqCst);
        tracing::info!("embedded PostgreSQL restarted on 127.0.0.1:{}", self.port);
        Ok(())
    }

    async fn initdb(&self) -> Result<(), EmbeddedPgError> {
        tracing::info!("initialising embedded PostgreSQL cluster in {}", self.cluster_dir.display());
        let mut cmd = self.command(&self.bins.initdb);
        cmd.arg("-D").arg(&self.cluster_dir);
        // C locale: the environment's locale may not be installed (containers), and
        // trust auth is fine because the server only listens on 127.0.0.1 and a private socket.
        cmd.args(["-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync"]);
        run(cmd).await.map(drop)
    }

    /// A server left running in this cluster (e.g. by a crashed process) holds the data dir:
    /// stop it so we can start fresh on a new port. A stale pid file whose pid was reused by an
    /// unrelated process is removed instead, so we never signal a stranger.
    async fn stop_leftover_server(&self) -> Result<(), EmbeddedPgError> {
        let mut status = self.command(&self.bins.pg_ctl);
        status.arg("status").arg("-D").arg(&self.cluster_dir);
        let out = spawn_output(status).await?;
        if !out.status.success() {
            return Ok(()); // exit 3: not running; pg_ctl start copes with a dead pid's file
        }
        if self.pid_file_is_stale() {
            let pid_file = self.cluster_dir.join("postmaster.pid");
            tracing::warn!("removing stale {} (pid reused)", pid_file.display());
            return fs::remove_file(&pid_file).map_err(io_err("cannot remove stale postmaster.pid"));
        }
        tracing::warn!("stopping PostgreSQL left running in {}", self.cluster_dir.display());
        run(self.stop_command()).await.map(drop)
    }

    /// True when /proc shows the recorded postmaster pid is alive but is not a postmaster of
    /// this cluster (a postmaster's cwd is its data dir). Without /proc we cannot tell: false.
    fn pid_file_is_stale(&self) -> bool {
        let pid_file = self.cluster_dir.join("postmaster.pid");
        let Some(pid) = fs::read_to_string(pid_file).ok().and_then(|s| s.lines().next()?.trim().parse::<u32>().ok())
        else {
            return false;
        };
        if !Path::new("/proc/self/cwd").exists() {
            return false;
        }
        let cwd = fs::read_link(format!("/proc/{pid}/cwd")).ok();
        cwd != fs::canonicalize(&self.cluster_dir).ok()
    }

    /// Starts the server, retrying on a fresh port; returns the port it listens on.
    async fn start_server(&self) -> Result<u16, EmbeddedPgError> {
        let mut last_error = None;
        for _ in 0..START_ATTEMPTS {
            let port = free_port()?;
            match run(self.start_command(port)).await {
                Ok(_) => return Ok(port),
                Err(e) => last_error = Some(e),
            }
        }
        Err(self.start_failed(last_error.map_or_else(String::new, |e| e.to_string())))
    }

    /// A start failure with the end of the server log, which says why postgres gave up.
    fn start_failed(&self, reason: String) -> EmbeddedPgError {
        EmbeddedPgError::StartFailed {
            reason,
            log: self.log_file.clone(),
            log_tail: tail(&fs::read_to_string(&self.log_file).unwrap_or_default(), 20),
        }
    }

    fn start_command(&self, port: u16) -> Command {
        // choose_socket_dir guarantees the path needs no shell quoting inside -o.
        let options = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=on -c max_connections=200 \
             -c shared_buffers=128MB -c synchronous_commit=on",
            self.socket_dir.display()
        );
        let mut cmd = self.command(&self.bins.pg_ctl);
        cmd.arg("-D").arg(&self.cluster_dir);
        cmd.arg("-l").arg(&self.log_file);
        cmd.arg("-p").arg(&self.bins.postgres);
        cmd.args(["-w", "-t", PG_CTL_TIMEOUT_SECS, "-o", &options, "start"]);
        cmd
    }

    fn stop_command(&self) -> Command {
        let mut cmd = self.command(&self.bins.pg_ctl);
        cmd.arg("-D").arg(&self.cluster_dir);
        cmd.args(["-m", "fast", "-w", "-t", PG_CTL_TIMEOUT_SECS, "stop"]);
        cmd
    }

    /// A command for a PostgreSQL binary with a clean environment, run as the service user if root.
    fn command(&self, program: &Path) -> Command {
        let mut cmd = Command::new(program);
        // PG* variables (PGDATA, PGPORT, PGHOST, ...) would override what we pass explicitly.
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("PG") {
                cmd.env_remove(&key);
            }
        }
        // The service user may not be able to read our cwd (e.g. /root); postgres dislikes that.
        cmd.current_dir("/").env("LC_ALL", "C").stdin(Stdio::null());
        if let Some(user) = &self.run_as {
            cmd.uid(user.uid).gid(user.gid).env("HOME", user.home_or(&self.cluster_dir));
        }
        cmd
    }

    fn remove_temp_socket_dir(&self) {
        if self.temp_socket_dir {
            let _ = fs::remove_dir_all(&self.socket_dir);
        }
    }
}

impl Drop for EmbeddedPostgres {
    /// Synchronous best-effort stop, so a process that simply exits does not leak its server.
    fn drop(&mut self) {
        if self.stopped.swap(true, Ordering::SeqCst) {
            return;
        }
        let mut cmd = self.stop_command();
        let _ = cmd.stdout(Stdio::null()).stderr(Stdio::null()).status();
        self.remove_temp_socket_dir();
    }
}

/// Absolute paths of the binaries, all from the same directory so their versions match.
#[derive(Debug)]
struct PgBinaries {
    initdb: PathBuf,
    pg_ctl: PathBuf,
    postgres: PathBuf,
}

impl PgBinaries {
    fn locate() -> Result<Self, EmbeddedPgError> {
        let path_dirs =
            std::env::var_os("PATH").map(|p| std::env::split_paths(&p).collect::<Vec<_>>()).unwrap_or_default();
        path_dirs
            .into_iter()
            .chain(versioned_bin_dirs())
            .find(|dir| ["initdb", "pg_ctl", "postgres"].iter().all(|b| is_executable(&dir.join(b))))
            .map(|dir| Self { initdb: dir.join("initdb"), pg_ctl: dir.join("pg_ctl"), postgres: dir.join("postgres") })
            .ok_or(EmbeddedPgError::BinariesNotFound)
    }
}

/// `/usr/lib/postgresql/<version>/bin`, highest version first (Debian/Ubuntu layout).
fn versioned_bin_dirs() -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir("/usr/lib/postgresql") else {
        return Vec::new();
    };
    let mut versions: Vec<(Vec<u32>, PathBuf)> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let key = name.split('.').map(str::parse).collect::<Result<Vec<u32>, _>>().ok()?;
            Some((key, e.path().join("bin")))
        })
        .collect();
    versions.sort_by(|a, b| b.0.cmp(&a.0));
    versions.into_iter().map(|(_, dir)| dir).collect()
}

fn is_executable(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Effective uid 0? Read from /proc (no libc), falling back to `id -u`.
fn is_root() -> bool {
    let from_proc = fs::read_to_string("/proc/self/status").ok().and_then(|s| {
        let line = s.lines().find(|l| l.starts_with("Uid:"))?;
        line.split_whitespace().nth(2).map(|euid| euid == "0")
    });
    from_proc.unwrap_or_else(|| {
        Command::new("id").arg("-u").output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
    })
}

/// The unprivileged account PostgreSQL runs as when we are root.
#[derive(Debug, Clone)]
struct ServiceUser {
    uid: u32,
    gid: u32,
    home: PathBuf,
}

impl ServiceUser {
    /// `postgres` if it exists, else `pzo-postgres` (created with useradd if needed).
    async fn ensure() -> Result<Self, EmbeddedPgError> {
        if let Some(user) = Self::lookup("postgres").or_else(|| Self::lookup(FALLBACK_USER)) {
            return Ok(user);
        }
        let mut useradd = Command::new("useradd");
        useradd.args(["--system", "--no-create-home", "--shell", "/usr/sbin/nologin", FALLBACK_USER]);
        run(useradd).await.map_err(|e| EmbeddedPgError::NoServiceUser(e.to_string()))?;
        Self::lookup(FALLBACK_USER)
            .ok_or_else(|| EmbeddedPgError::NoServiceUser(format!("{FALLBACK_USER} missing after useradd")))
    }

    /// Parses `name:x:uid:gid:gecos:home:shell` from /etc/passwd.
    fn lookup(name: &str) -> Option<Self> {
        let passwd = fs::read_to_string("/etc/passwd").ok()?;
        passwd.lines().find_map(|line| {
            let fields: Vec<&str> = line.split(':').collect();
            if fields.len() < 7 || fields[0] != name {
                return None;
            }
            Some(Self { uid: fields[2].parse().ok()?, gid: fields[3].parse().ok()?, home: PathBuf::from(fields[5]) })
        })
    }

    /// The user's home if it exists (HOME must point somewhere usable), else `fallback`.
    fn home_or<'a>(&'a self, fallback: &'a Path) -> &'a Path {
        if self.home.is_dir() { &self.home } else { fallback }
    }

    /// Gives the user ownership of `paths` and the right to traverse their parents.
    async fn grant_access(&self, paths: &[&Path]) -> Result<(), EmbeddedPgError> {
        for path in paths {
            let mut chown = Command::new("chown");
            chown.arg("-R").arg(format!("{}:{}", self.uid, self.gid)).arg(path);
            run(chown).await?;
            add_world_traverse_to_parents(path)?;
        }
        Ok(())
    }
}

/// Adds only the `o+x` bit to parents lacking it (e.g. /root is 0700), so the service user can
/// reach its files; read/write bits are left alone, so directory contents stay unlistable.
fn add_world_traverse_to_parents(path: &Path) -> Result<(), EmbeddedPgError> {
    for dir in path.ancestors().skip(1) {
        let Ok(meta) = fs::metadata(dir) else {
            continue;
        };
        let mode = meta.permissions().mode();
        if mode & 0o001 == 0 {
            fs::set_permissions(dir, fs::Permissions::from_mode(mode | 0o001))
                .map_err(io_err(format!("cannot add o+x to {}", dir.display())))?;
        }
    }
    Ok(())
}

/// `data_dir/sock` when short and shell-safe (it goes unquoted into `pg_ctl -o`), else a random /tmp dir.
fn choose_socket_dir(root: &Path) -> (PathBuf, bool) {
    let preferred = root.join("sock");
    let text = preferred.to_string_lossy();
    let safe = text.chars().all(|c| c.is_ascii_alphanumeric() || "/._-".contains(c));
    // ".s.PGSQL.65535" plus the separator is appended by postgres.
    if safe && text.len() + 15 <= MAX_SOCKET_PATH {
        (preferred, false)
    } else {
        (PathBuf::from(format!("/tmp/pzo-pg-{:016x}", rand::random::<u64>())), true)
    }
}

/// Asks the OS for a free port; the listener is dropped so postgres can bind it right after.
fn free_port() -> Result<u16, EmbeddedPgError> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(io_err("cannot pick a free port"))?;
    let port = listener.local_addr().map_err(io_err("cannot pick a free port"))?.port();
    Ok(port)
}

fn create_dir(dir: &Path) -> Result<(), EmbeddedPgError> {
    fs::create_dir_all(dir).map_err(io_err(format!("cannot create {}", dir.display())))
}

/// Creates the log file up front so it can be handed to the service user.
fn touch(file: &Path) -> Result<(), EmbeddedPgError> {
    fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(file)
        .and_then(|mut f| f.flush())
        .map_err(io_err(format!("cannot create {}", file.display())))
}

/// Runs to completion with captured output, failing on a non-zero exit.
async fn run(cmd: Command) -> Result<Output, EmbeddedPgError> {
    let command = describe(&cmd);
    let out = spawn_output(cmd).await?;
    if out.status.success() {
        return Ok(out);
    }
    let stderr = String::from_utf8_lossy(if out.stderr.is_empty() { &out.stdout } else { &out.stderr });
    Err(EmbeddedPgError::CommandFailed { command, status: out.status.to_string(), stderr_tail: tail(&stderr, 10) })
}

async fn spawn_output(cmd: Command) -> Result<Output, EmbeddedPgError> {
    let command = describe(&cmd);
    // pg_ctl redirects the server's output to the log file, so these pipes close when pg_ctl exits.
    tokio::process::Command::from(cmd).output().await.map_err(io_err(format!("cannot run `{command}`")))
}

fn describe(cmd: &Command) -> String {
    let parts = std::iter::once(cmd.get_program()).chain(cmd.get_args());
    parts.map(OsStr::to_string_lossy).collect::<Vec<_>>().join(" ")
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.trim_end().lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn select_one(pg: &EmbeddedPostgres) {
        let (client, connection) = tokio_postgres::connect(&pg.url("postgres"), tokio_postgres::NoTls)
            .await
            .expect("connect to embedded PostgreSQL");
        let driver = tokio::spawn(connection);
        let row = client.query_one("select 1::int4", &[]).await.expect("select 1");
        assert_eq!(row.get::<_, i32>(0), 1);
        drop(client);
        let _ = driver.await;
    }

    #[tokio::test]
    async fn starts_reuses_and_stops_cluster() {
        // /tmp is world-traversable, so this also works when the server runs as `postgres`.
        let dir = std::env::temp_dir().join(format!("pzo-embedded-pg-{:016x}", rand::random::<u64>()));
        let pg = match EmbeddedPostgres::start(&dir).await {
            Err(EmbeddedPgError::BinariesNotFound) => {
                eprintln!("skipping: {}", EmbeddedPgError::BinariesNotFound);
                return;
            }
            other => other.expect("first start"),
        };
        select_one(&pg).await;
        pg.stop().await.expect("first stop");
        drop(pg);

        let pg = EmbeddedPostgres::start(&dir).await.expect("restart on existing cluster");
        select_one(&pg).await;
        let port = pg.port();
        pg.stop().await.expect("second stop");
        pg.restart().await.expect("restart on the same port");
        assert_eq!(pg.port(), port, "URLs handed out before the stop stay valid");
        select_one(&pg).await;
        pg.stop().await.expect("third stop");
        drop(pg);
        fs::remove_dir_all(&dir).expect("remove test dir");
    }
}
