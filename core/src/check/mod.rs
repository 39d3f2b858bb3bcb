//! Health checking as keepalived does it: probe scheduling and verdicts.
