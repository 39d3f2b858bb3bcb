//! The IPVS table model: services, destinations, the table a config asks
//! for, the minimal diff to reach it, and the kernel's schedulers.
