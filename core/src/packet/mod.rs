//! The VRRP wire format and the frames around it.
