//! The one guarded way to the network: size caps, content-type checks, no silent cross-origin
//! redirects, `http://` only for loopback hosts.
