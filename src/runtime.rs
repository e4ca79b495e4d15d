//! The actor runtime: a multi-threaded tokio runtime, one worker per core, that every actor
//! and the journal run on, so actors use all cores while actix-web's workers serve sockets.

use std::future::Future;
use std::sync::OnceLock;

static ACTORS: OnceLock<tokio::runtime::Runtime> = OnceLock::new();

fn actors() -> &'static tokio::runtime::Runtime {
    ACTORS.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(std::thread::available_parallelism().map_or(2, usize::from))
            .thread_name("pzo-actor")
            .enable_all()
            .build()
            .unwrap_or_else(|error| panic!("cannot start the actor runtime: {error}"))
    })
}

/// Spawns an actor (or any task that must not run on an HTTP worker).
pub fn spawn<F>(future: F) -> tokio::task::JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    actors().spawn(future)
}
