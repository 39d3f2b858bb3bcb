//! Unit tests that send packets run inside a namespace of their own
//! (loopback only), never in the root namespace.

use std::os::fd::AsRawFd;

use vigil_netns::ns::{self, Netns};

/// Runs `f` on a thread that joined a fresh namespace (loopback up);
/// false when the test is skipped (not root).
pub fn in_netns(test: &str, f: impl FnOnce() + Send + 'static) -> bool {
    if !ns::require_root(test) {
        return false;
    }
    let name = format!("{}{}-unit-{}", ns::PREFIX, std::process::id(), test);
    let netns = Netns::new(&name);
    let path = format!("/run/netns/{}", netns.name());
    let r = std::thread::spawn(move || {
        let file = std::fs::File::open(&path).expect("netns file");
        // SAFETY: setns on this thread only, with a valid namespace fd.
        assert_eq!(
            unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) },
            0
        );
        f();
    })
    .join();
    drop(netns);
    if let Err(e) = r {
        std::panic::resume_unwind(e);
    }
    true
}
