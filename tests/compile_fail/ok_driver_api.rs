// expect: (positive control: this file must compile)
//! What a driver may do: the same calls the misuse cases get wrong.
use crate::net::device::{link_pair, Device, UnregisterQueue};
use crate::net::link::{NewDevice, NewLink, NewLinkParams};
use crate::state::RvethPriv;

fn newlink<'a>(
    mut dev: NewDevice<'a, RvethPriv>,
    params: &NewLinkParams<'a>,
) -> kernel::error::Result<NewLink<'a, RvethPriv>> {
    dev.priv_mut().policy = crate::policy::TxPolicy::DEFAULT;
    let dev = dev.register(params)?;
    dev.carrier_off();
    link_pair(&dev, &dev, RvethPriv::peer_slot, params.rtnl())?;
    Ok(dev)
}

fn dellink(dev: &Device<RvethPriv>, q: &mut UnregisterQueue<'_>) {
    q.queue_pair(dev, RvethPriv::peer_slot);
}
