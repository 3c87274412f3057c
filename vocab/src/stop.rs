//! A request to stop at the next step boundary, handed down to the work that honours it: a
//! token rather than a process global, so two pieces of work in one process (tests, a notebook)
//! stop independently.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Cloned, it is the same token: whoever holds a clone can ask, and the work checks.
#[derive(Clone, Debug, Default)]
pub struct Stop(Arc<AtomicBool>);

impl Stop {
    pub fn new() -> Stop {
        Stop::default()
    }

    /// Asks the work to stop at its next step boundary.
    pub fn request(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    pub fn requested(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }

    /// Withdraws the request, for work that comes after the stopped one.
    pub fn clear(&self) {
        self.0.store(false, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_share_one_request_and_tokens_are_independent() {
        let (a, b) = (Stop::new(), Stop::new());
        let a2 = a.clone();
        a2.request();
        assert!(a.requested() && !b.requested());
        a.clear();
        assert!(!a2.requested());
    }
}
