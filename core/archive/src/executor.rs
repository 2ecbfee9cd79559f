//! Where queries run: a runtime of their own, apart from the one serving HTTP, so that a
//! query busy on every core (a large join, a long scan) never keeps the service from
//! answering others: status pages, job phases, aborts.

use std::future::Future;

/// The query runtime. Dropped from anywhere (also inside another runtime) without blocking.
pub struct Executor {
    runtime: Option<tokio::runtime::Runtime>,
}

impl Executor {
    pub fn new() -> std::io::Result<Executor> {
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .thread_name("skyglass-query")
            .enable_all()
            .build()?;
        Ok(Executor { runtime: Some(runtime) })
    }

    /// Runs `work` on the query runtime. Dropping the returned future (a timeout, an
    /// aborted job) stops the work too.
    pub async fn run<F>(&self, work: F) -> Result<F::Output, tokio::task::JoinError>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let Some(runtime) = &self.runtime else { return Ok(work.await) };
        let mut handle = AbortOnDrop(runtime.spawn(work));
        (&mut handle.0).await
    }
}

impl Drop for Executor {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// A task that is aborted when its handle is dropped unfinished.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}
