//! The `herald` binary: everything happens in [`herald::cli`].

fn main() -> std::process::ExitCode {
    limit_malloc_arenas();
    herald::cli::main()
}

/// glibc's malloc gives each thread that allocates an arena of its own, up to eight per core: the
/// runtime's workers (which build messages and commit outcomes), the blocking pool and one thread
/// per SQLite connection each keep freed memory in theirs, so the daemon's resident memory crept up
/// by a few MB while sending. One arena per core (at least two) holds it flat at no cost in speed
/// (`scripts/bench`). `MALLOC_ARENA_MAX`, or `glibc.malloc.arena_max` in `GLIBC_TUNABLES`, in the
/// environment still decides when it is set.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn limit_malloc_arenas() {
    let tunables = std::env::var("GLIBC_TUNABLES").unwrap_or_default();
    if std::env::var_os("MALLOC_ARENA_MAX").is_some() || tunables.contains("glibc.malloc.arena_max")
    {
        return;
    }
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get().max(2));
    let arenas = std::ffi::c_int::try_from(cores).unwrap_or(std::ffi::c_int::MAX);
    // SAFETY: mallopt only sets a tunable of the allocator; it runs here before any other thread
    // exists, and a value it refuses (returning 0) leaves glibc's default in place.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, arenas);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn limit_malloc_arenas() {}
