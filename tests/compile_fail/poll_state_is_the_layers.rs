// expect: error\[E0616\]: field `st` of struct `NapiPoll` is private
//! The poll's state (the taken batch, the `XDP_TX` bulk queue, the counts
//! behind the budget) is the layer's: a poll that could reach it could
//! hand out an entry twice, read a slot the ring never wrote, or declare
//! bulk-queue frames it does not own.
use crate::net::napi::{NapiPoll, PollDone};
use crate::state::RvethPriv;

fn poll<'a>(ctx: NapiPoll<'a, RvethPriv>) -> PollDone<'a> {
    let _ = &ctx.st;
    ctx.complete()
}
