// expect: error\[E0451\]: fields? .* private|cannot construct `PollDone`
//! A poll returns the `PollDone` that `NapiPoll::complete` gives: it
//! cannot make one up and skip the completion (a NAPI that ran dry but is
//! not completed stays scheduled, is never polled again, and
//! `napi_disable` would wait for it forever).
use core::marker::PhantomData;

use crate::net::napi::{NapiPoll, PollDone};
use crate::state::RvethPriv;

fn poll<'a>(ctx: NapiPoll<'a, RvethPriv>) -> PollDone<'a> {
    drop(ctx);
    PollDone {
        done: 0,
        fenced: false,
        _poll: PhantomData,
        _not_send: kernel::types::NotThreadSafe,
    }
}
