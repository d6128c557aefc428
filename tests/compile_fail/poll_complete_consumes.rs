// expect: error\[E0382\]: (use|borrow) of moved value: `ctx`
//! `NapiPoll::complete` consumes the poll context: once the NAPI is
//! completed (and may already run on another CPU), the ring cannot be
//! consumed again from this poll.
use crate::net::napi::{NapiPoll, PollDone};
use crate::state::RvethPriv;

fn poll<'a>(mut ctx: NapiPoll<'a, RvethPriv>) -> PollDone<'a> {
    let done = ctx.complete();
    while let Some(item) = ctx.next() {
        drop(item);
    }
    done
}
