//! What the subcommands share about running: the thread pool. PATH
//! arguments are grouped into partitions by [`kseg::files::logdir`].

/// A thread pool of `jobs` threads (0 or none: one per core).
pub fn pool(jobs: Option<usize>) -> anyhow::Result<rayon::ThreadPool> {
    Ok(rayon::ThreadPoolBuilder::new().num_threads(jobs.unwrap_or(0)).build()?)
}
