// expect: error\[E0603\]: tuple struct constructor `XdpProgRef` is private
//! The poll runs whatever `XdpProgRef` it is given as a live BPF program
//! (`bpf_prog_run_xdp`); only the layer makes one, from the queue's
//! RCU-published program. A driver cannot forge one from a pointer.
use core::{marker::PhantomData, ptr::NonNull};

fn forge<'a>() -> crate::net::xdp::XdpProgRef<'a> {
    crate::net::xdp::XdpProgRef(NonNull::dangling(), PhantomData)
}
