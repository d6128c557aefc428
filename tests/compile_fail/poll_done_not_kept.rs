// expect: error: lifetime may not live long enough|borrowed data escapes|does not live long enough
//! A `PollDone` belongs to its poll (an invariant lifetime): one kept from
//! an earlier poll cannot be returned by a later one in place of
//! completing.
use crate::net::napi::{NapiPoll, PollDone};
use crate::state::RvethPriv;

fn poll<'a>(ctx: NapiPoll<'a, RvethPriv>, kept: &mut Option<PollDone<'static>>) -> PollDone<'a> {
    if let Some(done) = kept.take() {
        drop(ctx);
        return done;
    }
    ctx.complete()
}
