// expect: error\[E0277\]: `\*mut \(\)` cannot be shared between threads safely
//! "Bottom halves are disabled" is a fact about this CPU and context.
use crate::net::BhDisabled;

fn needs_sync<T: Sync>(_: &T) {}

fn share(bh: &BhDisabled) {
    needs_sync(bh);
}
