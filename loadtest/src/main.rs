//! `pzo-loadtest`: drives a PZO server with one of the load-test scenarios and grades the run
//! against the server's SLO table; exits non-zero on a breach or a correctness failure.

#![forbid(unsafe_code)]

mod answer;
mod api;
mod chart;
mod cli;
mod control;
mod ctx;
mod duration;
mod http;
mod limits;
mod pace;
mod players;
mod progress;
mod report;
mod rss;
mod run;
mod scenarios;
mod server_counts;
mod slo;
mod sources;
mod stamp;
mod stats;
mod target;
#[cfg(test)]
mod tidy;
mod view;
mod wire;
mod ws;

use clap::Parser;

fn main() {
    let args = cli::Args::parse();
    let config = match cli::Config::from_args(args) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("error: {error}");
            std::process::exit(report::EXIT_USAGE);
        }
    };
    // Thousands of sockets need more than the usual 1024 descriptors; the hard limit is the cap.
    if let Err(error) = rlimit::increase_nofile_limit(u64::MAX) {
        eprintln!("note: cannot raise the open-files limit: {error}");
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            std::process::exit(report::EXIT_ABORTED);
        }
    };
    let code = runtime.block_on(run::run(config));
    // Exit without waiting for tasks still parked on sockets: the report is out.
    std::process::exit(code);
}
