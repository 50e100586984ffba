//! How the server's threads share a core with the writer. Every thread but the writer
//! runs as `SCHED_BATCH` (Linux's "CPU-bound, not interactive"): it gets its fair share
//! of the CPU, but waking it does not take the core from the thread that woke it. When
//! the writer answers a committed batch it wakes a task per write; with the runtime's
//! threads ordinary, each wake-up preempted the writer on a shared core (the runtime ran
//! one answer, parked, and the next wake-up cost an `eventfd` write and two context
//! switches more). As `SCHED_BATCH` they run once the writer has answered the whole
//! batch and gives way: it then waits for them (`store/sqlite/writer`), so that it does
//! not run ahead of delivery. Fan-out in rooms of 10 at 40,000 deliveries/s on one core
//! went from p99 in the hundreds of milliseconds to 16–36 ms (BENCHMARKS.md, issue 11).
//! With a core free the threads do not meet and the policy changes nothing. No
//! privilege is needed.

/// Makes the calling thread `SCHED_BATCH`; threads it starts afterwards inherit it.
/// Call it before the runtime starts its threads.
pub fn batch_this_thread() {
    set(libc::SCHED_BATCH);
}

/// Makes the calling thread an ordinary one again (`SCHED_OTHER`): the writer's.
pub fn normal_this_thread() {
    set(libc::SCHED_OTHER);
}

#[cfg(target_os = "linux")]
fn set(policy: libc::c_int) {
    let param = libc::sched_param { sched_priority: 0 };
    // pid 0: the calling thread. Failure only leaves the thread as it was.
    if unsafe { libc::sched_setscheduler(0, policy, &param) } != 0 {
        tracing::debug!(policy, error = %std::io::Error::last_os_error(), "could not set the scheduling policy");
    }
}

#[cfg(not(target_os = "linux"))]
fn set(_policy: i32) {}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    /// The policy is the thread's own and is inherited by the threads it starts.
    #[test]
    fn batch_is_set_inherited_and_undone() {
        std::thread::spawn(|| {
            super::batch_this_thread();
            assert_eq!(unsafe { libc::sched_getscheduler(0) }, libc::SCHED_BATCH);
            let child = std::thread::spawn(|| unsafe { libc::sched_getscheduler(0) });
            assert_eq!(child.join().unwrap(), libc::SCHED_BATCH);
            super::normal_this_thread();
            assert_eq!(unsafe { libc::sched_getscheduler(0) }, libc::SCHED_OTHER);
        })
        .join()
        .unwrap();
    }
}
