//! The VRRP instance state machine (RFC 3768, RFC 5798, RFC 9568).
