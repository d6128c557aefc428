// SPDX-License-Identifier: GPL-2.0

//! The metadata policy of a transmit direction: what crossing the pair does
//! with `skb->mark`, `skb->priority` and the sending socket's net_cls
//! classid (see `docs/classid.md`).

#![forbid(unsafe_code)]

use crate::net::nla::Attrs;

/// What the crossing does with `skb->mark` and `skb->priority` (as netkit's
/// scrub modes).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Scrub {
    /// Like veth: the mark is cleared across namespaces, the priority always.
    Default = 0,
    /// Mark and priority are kept.
    None = 1,
}

/// Where the sending socket's net_cls classid is carried across the pair.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum ClassidMode {
    /// Not carried (veth's behaviour).
    Off = 0,
    /// Written into `skb->mark` (classify on the host with `tc filter ... fw`).
    Mark = 1,
    /// Written into `skb->priority`.
    Priority = 2,
}

impl Scrub {
    /// The largest netlink value.
    pub(crate) const MAX: u8 = Scrub::None as u8;

    /// The mode of netlink value `v` (`None` if out of range).
    pub(crate) fn from_u8(v: u8) -> Option<Self> {
        match v {
            0 => Some(Self::Default),
            1 => Some(Self::None),
            _ => None,
        }
    }
}

impl ClassidMode {
    /// The largest netlink value.
    pub(crate) const MAX: u8 = ClassidMode::Priority as u8;

    /// The mode of netlink value `v` (`None` if out of range).
    pub(crate) fn from_u8(v: u8) -> Option<Self> {
        match v {
            0 => Some(Self::Off),
            1 => Some(Self::Mark),
            2 => Some(Self::Priority),
            _ => None,
        }
    }
}

/// The metadata policy of one transmit direction, fixed when the pair is
/// created.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct TxPolicy {
    pub(crate) scrub: Scrub,
    pub(crate) classid: ClassidMode,
}

impl TxPolicy {
    /// veth's behaviour.
    pub(crate) const DEFAULT: Self = Self {
        scrub: Scrub::Default,
        classid: ClassidMode::Off,
    };

    /// Overrides the fields given as `u8` attributes `scrub` and `classid`
    /// of `data` (the netlink policy has checked their ranges).
    pub(crate) fn with(mut self, data: Option<Attrs<'_>>, scrub: u16, classid: u16) -> Self {
        let get = |ty: u16| data.and_then(|d| d.get(ty.into())).and_then(|a| a.get_u8());
        if let Some(v) = get(scrub).and_then(Scrub::from_u8) {
            self.scrub = v;
        }
        if let Some(v) = get(classid).and_then(ClassidMode::from_u8) {
            self.classid = v;
        }
        self
    }
}
