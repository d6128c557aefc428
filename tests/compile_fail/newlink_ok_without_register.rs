// expect: error\[E0451\]: fields? .* private
//! `newlink` cannot report success without registering its device: the
//! `NewLink` it must return is made only by `NewDevice::register`.
use core::marker::PhantomData;
use crate::net::link::{NewDevice, NewLink, NewLinkParams};
use crate::state::RvethPriv;

fn newlink<'a>(
    _dev: NewDevice<'a, RvethPriv>,
    _params: &NewLinkParams<'a>,
) -> kernel::error::Result<NewLink<'a, RvethPriv>> {
    Ok(NewLink { dev: core::ptr::NonNull::dangling(), _p: PhantomData })
}
