//! The command line: flags, their defaults, and their validation into a [`Config`].

use crate::duration::{DurationError, parse_duration};
use crate::limits::{PLAYERS_MAX, RATE_PER_PLAYER_MAX, REQUESTS_MAX_DEFAULT, SETUP_TIMEOUT_DEFAULT};
use crate::target::{Target, TargetError};
use clap::{Parser, ValueEnum};
use pzo_protocol::Codec;
use std::path::PathBuf;
use std::time::Duration;

/// Load-tests a PZO server and grades the run against its SLO table (`GET /slo`).
///
/// Exit codes: 0 pass, 1 SLO breach, 3 correctness failure (with or without a breach),
/// 4 the run could not be carried out, 2 bad command line.
#[derive(Debug, Clone, Parser)]
#[command(name = "pzo-loadtest", version)]
pub struct Args {
    /// Base URL of the server; only loopback hosts unless --allow-remote.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub url: String,
    /// The server's admin token (admissions, deposits, game results).
    #[arg(long, env = "PZO_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: String,
    /// Which traffic to generate.
    #[arg(long, value_enum)]
    pub scenario: Scenario,
    /// Simulated players (sockets, for connect-idle and reconnect-storm).
    #[arg(long, default_value_t = 100)]
    pub players: u32,
    /// Length of the measured phase, after the ramp (e.g. 30s, 2m).
    #[arg(long, default_value = "30s")]
    pub duration: String,
    /// Time over which connection setup is spread.
    #[arg(long, default_value = "5s")]
    pub ramp: String,
    /// Socket subprotocol.
    #[arg(long, value_enum, default_value_t = CodecArg::Bincode)]
    pub codec: CodecArg,
    /// Also write the report as JSON to this file.
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// Target rate per player (ops/s, or relay messages/s per lobby member); scenario default when absent.
    #[arg(long)]
    pub rate: Option<f64>,
    /// Most requests (HTTP and socket) the whole run may send.
    #[arg(long, default_value_t = REQUESTS_MAX_DEFAULT)]
    pub max_requests: u64,
    /// Process id of a local server, to report its memory (VmRSS) per socket.
    #[arg(long)]
    pub server_pid: Option<u32>,
    /// Allow a --url that is not on this machine.
    #[arg(long)]
    pub allow_remote: bool,
    /// Time allowed for setup (registration and admission) before the run is cut off.
    #[arg(long, default_value = SETUP_TIMEOUT_DEFAULT)]
    pub setup_timeout: String,
    /// Write the latency chart (SVG) here; default: the --report path with an .svg extension.
    #[arg(long)]
    pub chart: Option<PathBuf>,
    /// Loopback source addresses (127.0.0.1, 127.0.0.2, ...) to spread sockets over, past the
    /// ~28,000 ephemeral ports of one address. Default: one per 20,000 players on a 127.x target.
    #[arg(long)]
    pub source_ips: Option<u32>,
}

/// The scenarios of the load-test issue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Scenario {
    /// Authenticated sockets held open with periodic pings.
    ConnectIdle,
    /// Withdrawals and balance reads against one deposit per player.
    Economy,
    /// Lobbies of 8 relaying timestamped messages.
    LobbyRelay,
    /// All sockets dropped at once, then reconnect and resume.
    ReconnectStorm,
    /// The mixed launch rehearsal.
    Season0,
}

impl Scenario {
    pub fn name(self) -> &'static str {
        match self {
            Self::ConnectIdle => "connect-idle",
            Self::Economy => "economy",
            Self::LobbyRelay => "lobby-relay",
            Self::ReconnectStorm => "reconnect-storm",
            Self::Season0 => "season0",
        }
    }
    /// Per-player rate when `--rate` is absent.
    pub fn default_rate(self) -> f64 {
        match self {
            Self::ConnectIdle => 0.2,
            Self::Economy => 2.0,
            Self::LobbyRelay => 10.0,
            Self::ReconnectStorm => 1.0,
            Self::Season0 => 2.0,
        }
    }
    /// Fewest players the scenario can run with.
    pub fn players_min(self) -> u32 {
        match self {
            Self::LobbyRelay | Self::Season0 => 2,
            _ => 1,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CodecArg {
    Bincode,
    Json,
}

impl From<CodecArg> for Codec {
    fn from(codec: CodecArg) -> Self {
        match codec {
            CodecArg::Bincode => Codec::Bincode,
            CodecArg::Json => Codec::Json,
        }
    }
}

/// A command line that parsed but cannot be run.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CliError {
    #[error("--url: {0}")]
    Target(#[from] TargetError),
    #[error("--{flag}: {error}")]
    Duration { flag: &'static str, error: DurationError },
    #[error("--duration must be longer than zero")]
    ZeroDuration,
    #[error("--players must be in {min}..={max} for this scenario, got {got}")]
    Players { min: u32, max: u32, got: u32 },
    #[error("--rate must be a number in (0, {max}], got {got}")]
    Rate { max: f64, got: f64 },
    #[error("--max-requests must be at least 1")]
    NoRequests,
    #[error("--admin-token must not be empty")]
    NoAdminToken,
}

/// A validated run.
#[derive(Debug, Clone)]
pub struct Config {
    pub target: Target,
    pub admin_token: String,
    pub scenario: Scenario,
    pub players: u32,
    pub duration: Duration,
    pub ramp: Duration,
    pub codec: Codec,
    pub report: Option<PathBuf>,
    pub rate: f64,
    pub max_requests: u64,
    pub server_pid: Option<u32>,
    pub setup_timeout: Duration,
    /// Where the latency chart goes, if anywhere.
    pub chart: Option<PathBuf>,
    /// `--source-ips` as given; planned against the resolved server address at start.
    pub source_ips: Option<u32>,
}

impl Config {
    pub fn from_args(args: Args) -> Result<Self, CliError> {
        let target = Target::parse(&args.url, args.allow_remote)?;
        let duration_of =
            |flag: &'static str, text: &str| parse_duration(text).map_err(|error| CliError::Duration { flag, error });
        let duration = duration_of("duration", &args.duration)?;
        if duration.is_zero() {
            return Err(CliError::ZeroDuration);
        }
        let ramp = duration_of("ramp", &args.ramp)?;
        let setup_timeout = duration_of("setup-timeout", &args.setup_timeout)?;
        let min = args.scenario.players_min();
        if !(min..=PLAYERS_MAX).contains(&args.players) {
            return Err(CliError::Players { min, max: PLAYERS_MAX, got: args.players });
        }
        let rate = args.rate.unwrap_or(args.scenario.default_rate());
        if !(rate.is_finite() && rate > 0.0 && rate <= RATE_PER_PLAYER_MAX) {
            return Err(CliError::Rate { max: RATE_PER_PLAYER_MAX, got: rate });
        }
        if args.max_requests == 0 {
            return Err(CliError::NoRequests);
        }
        if args.admin_token.trim().is_empty() {
            return Err(CliError::NoAdminToken);
        }
        Ok(Self {
            target,
            admin_token: args.admin_token,
            scenario: args.scenario,
            players: args.players,
            duration,
            ramp,
            codec: args.codec.into(),
            rate,
            max_requests: args.max_requests,
            server_pid: args.server_pid,
            setup_timeout,
            chart: args.chart.or_else(|| args.report.as_ref().map(|report| report.with_extension("svg"))),
            report: args.report,
            source_ips: args.source_ips,
        })
    }

    /// The load phase is cut off this long after it starts, whatever it is doing.
    pub fn load_hard_cap(&self) -> Duration {
        self.ramp + self.duration + crate::limits::HARD_CAP_GRACE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(extra: &[&str]) -> Result<Config, String> {
        let mut argv = vec!["pzo-loadtest", "--admin-token", "T", "--scenario", "economy"];
        argv.extend_from_slice(extra);
        let args = Args::try_parse_from(argv).map_err(|e| e.to_string())?;
        Config::from_args(args).map_err(|e| e.to_string())
    }

    #[test]
    fn defaults() {
        let config = parse(&[]).unwrap();
        assert_eq!(config.scenario, Scenario::Economy);
        assert_eq!(config.players, 100);
        assert_eq!(config.duration, Duration::from_secs(30));
        assert_eq!(config.ramp, Duration::from_secs(5));
        assert_eq!(config.codec, Codec::Bincode);
        assert_eq!(config.rate, Scenario::Economy.default_rate());
        assert_eq!(config.max_requests, REQUESTS_MAX_DEFAULT);
        assert_eq!(config.load_hard_cap(), Duration::from_secs(65));
        assert!(config.target.is_loopback());
    }

    #[test]
    fn full_command_line() {
        let config = parse(&[
            "--url",
            "http://localhost:9000",
            "--players",
            "800",
            "--duration",
            "2m",
            "--ramp",
            "10s",
            "--codec",
            "json",
            "--report",
            "out.json",
            "--rate",
            "0.5",
            "--max-requests",
            "1000",
            "--server-pid",
            "42",
        ])
        .unwrap();
        assert_eq!(config.players, 800);
        assert_eq!(config.duration, Duration::from_secs(120));
        assert_eq!(config.codec, Codec::Json);
        assert_eq!(config.rate, 0.5);
        assert_eq!(config.max_requests, 1000);
        assert_eq!(config.server_pid, Some(42));
        assert_eq!(config.report, Some(PathBuf::from("out.json")));
        // The chart goes next to the report unless told otherwise.
        assert_eq!(config.chart, Some(PathBuf::from("out.svg")));
        assert_eq!(config.source_ips, None);
    }

    #[test]
    fn chart_and_source_addresses() {
        let config = parse(&["--chart", "c.svg", "--report", "r.json", "--source-ips", "16"]).unwrap();
        assert_eq!(config.chart, Some(PathBuf::from("c.svg")));
        assert_eq!(config.source_ips, Some(16));
        assert_eq!(parse(&[]).unwrap().chart, None);
    }

    #[test]
    fn every_scenario_name_parses() {
        for name in ["connect-idle", "economy", "lobby-relay", "reconnect-storm", "season0"] {
            let args = Args::try_parse_from(["x", "--admin-token", "T", "--scenario", name]).unwrap();
            assert_eq!(args.scenario.name(), name);
        }
        assert!(Args::try_parse_from(["x", "--admin-token", "T", "--scenario", "nope"]).is_err());
    }

    #[test]
    fn refuses_remote_hosts_unless_allowed() {
        assert!(parse(&["--url", "http://192.168.1.10:8080"]).unwrap_err().contains("--allow-remote"));
        assert!(parse(&["--url", "http://192.168.1.10:8080", "--allow-remote"]).is_ok());
    }

    #[test]
    fn refuses_bad_values() {
        assert!(parse(&["--duration", "0s"]).is_err());
        assert!(parse(&["--duration", "ten"]).unwrap_err().contains("--duration"));
        assert!(parse(&["--ramp", "1x"]).unwrap_err().contains("--ramp"));
        assert!(parse(&["--players", "0"]).is_err());
        assert!(parse(&["--players", "1000000"]).is_err());
        assert!(parse(&["--rate", "0"]).is_err());
        assert!(parse(&["--rate", "NaN"]).is_err());
        assert!(parse(&["--max-requests", "0"]).is_err());
        assert!(parse(&["--codec", "xml"]).is_err());
    }

    #[test]
    fn lobby_scenarios_need_two_players() {
        let args = Args::try_parse_from(["x", "--admin-token", "T", "--scenario", "lobby-relay", "--players", "1"]);
        assert!(Config::from_args(args.unwrap()).is_err());
    }
}
