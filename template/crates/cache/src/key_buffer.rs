//! One reusable key buffer per thread, for looking keys up in mini-moka without
//! allocating (the in-process stores and the L1 both do it on every hit).

use std::cell::RefCell;

thread_local! {
    /// mini-moka takes keys as `&String`, not `&str`; reusing one buffer per thread keeps
    /// the read path free of allocation.
    static KEY_BUFFER: RefCell<String> = const { RefCell::new(String::new()) };
}

/// Runs `f` with `key` copied into this thread's buffer. `f` must not call back in here.
pub(super) fn with_key<R>(key: &str, f: impl FnOnce(&String) -> R) -> R {
    KEY_BUFFER.with_borrow_mut(|buffer| {
        buffer.clear();
        buffer.push_str(key);
        let result = f(buffer);
        // A rare huge key must not keep its memory for the life of the thread.
        if buffer.capacity() > 4096 {
            *buffer = String::new();
        }
        result
    })
}
