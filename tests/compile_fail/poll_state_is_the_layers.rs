// expect: error\[E0616\]: field `st` of struct `NapiPoll` is private
//! The poll's state (the `XDP_TX` bulk queue, the counts behind the
//! budget, the redirect info whose flag the poll must clear) is the
//! layer's: a poll that could reach it could exceed its budget, leave the
//! no-direct flag set after the poll, or declare bulk-queue frames it does
//! not own.
use crate::net::napi::{NapiPoll, PollDone};
use crate::state::RvethPriv;

fn poll<'a>(ctx: NapiPoll<'a, RvethPriv>) -> PollDone<'a> {
    let _ = &ctx.st;
    ctx.complete()
}
