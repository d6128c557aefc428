// expect: error\[E0451\]: fields `q` and `_not_send` of struct `NapiTarget` are private
//! Only `Device::napi_target` makes a `NapiTarget`, from a queue it read
//! published: a driver cannot point `Forwarded::napi_xmit` at a ring of
//! its choosing.
use crate::net::napi::NapiTarget;

fn forge<'a>() -> NapiTarget<'a> {
    NapiTarget {
        q: todo!(),
        _not_send: todo!(),
    }
}
