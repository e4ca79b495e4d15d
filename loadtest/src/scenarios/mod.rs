//! The scenarios of the load-test issue, and the one `match` that picks the one to run.

mod connect_idle;
mod economy;
mod ledger;
mod lobby;
mod lobby_relay;
mod reconnect_storm;
mod relay;
mod season0;

use crate::cli::Scenario;
use crate::control::LoadWindow;
use crate::ctx::Ctx;
use crate::limits::HARD_CAP_GRACE;
use std::sync::Arc;

/// Runs the configured scenario to its end (setup, load window, closing checks).
pub async fn run(ctx: Arc<Ctx>) {
    match ctx.config.scenario {
        Scenario::ConnectIdle => connect_idle::run(ctx).await,
        Scenario::Economy => economy::run(ctx).await,
        Scenario::LobbyRelay => lobby_relay::run(ctx).await,
        Scenario::ReconnectStorm => reconnect_storm::run(ctx).await,
        Scenario::Season0 => season0::run(ctx).await,
    }
}

/// Ends setup and starts the measured phase (`ramp + duration`, hard-capped).
fn begin_load(ctx: &Ctx) -> LoadWindow {
    let config = &ctx.config;
    let window = ctx.control.begin_load(config.ramp, config.duration, HARD_CAP_GRACE);
    ctx.progress(format!("load phase: {}s ramp + {}s", config.ramp.as_secs_f64(), config.duration.as_secs_f64()));
    ctx.bars.start_load(config.ramp + config.duration, ctx.stats.clone());
    window
}
