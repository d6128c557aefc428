// SPDX-License-Identifier: GPL-2.0

//! rveth: a virtual Ethernet pair device, written in Rust.
//!
//! Behaves like the in-tree veth (`drivers/net/veth.c`, non-XDP part):
//! `ip link add name ra type rveth peer name rb netns t1` creates two
//! devices; what one transmits, the other receives.
//!
//! - [`net`]: the netdev abstraction layer (all `unsafe` code).
//! - [`state`]: the per-device state both ends keep.
//! - [`policy`]: the metadata policy of a transmit direction.
//! - [`pair`]: the link kind: device setup, creation and deletion of pairs,
//!   carrier, ethtool.
//! - [`xmit`]: the data path and the counters.
//!
//! Every module but [`net`] forbids `unsafe` code.

use kernel::prelude::*;

mod net;
mod pair;
mod policy;
mod state;
mod xmit;

/// The module: registers link kind `rveth` while loaded.
type RvethModule = net::link::PairModule<pair::Rveth>;

module! {
    type: RvethModule,
    name: "rveth",
    authors: ["The rveth developers"],
    description: "Virtual Ethernet pair device (Rust)",
    license: "GPL",
    alias: ["rtnl-link-rveth"],
}
