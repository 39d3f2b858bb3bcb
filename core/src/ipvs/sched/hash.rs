//! The kernel hash functions the hashing schedulers use: `hash_32`
//! (multiplicative, `GOLDEN_RATIO_32`) for sh/dh, and `hsiphash` for mh,
//! which on 64-bit kernels is SipHash-1-3 over 64-bit words returning the
//! low 32 bits.

use std::net::IpAddr;

use crate::ipvs::Family;

/// The kernel's `GOLDEN_RATIO_32`.
const GOLDEN_RATIO_32: u32 = 0x61C8_8647;

/// `hash_32(val, bits)`: the top `bits` bits of `val * GOLDEN_RATIO_32`.
pub(crate) fn hash_32(val: u32, bits: u32) -> u32 {
    val.wrapping_mul(GOLDEN_RATIO_32) >> (32 - bits)
}

/// The address folded to one 32-bit word in host order, as the
/// schedulers do: IPv4 as is, IPv6 as the XOR of its four words.
pub(crate) fn addr_fold(addr: &IpAddr) -> u32 {
    match addr {
        IpAddr::V4(a) => u32::from(*a),
        IpAddr::V6(a) => {
            let o = a.octets();
            (0..4).fold(0, |acc, i| {
                acc ^ u32::from_be_bytes([o[4 * i], o[4 * i + 1], o[4 * i + 2], o[4 * i + 3]])
            })
        }
    }
}

/// The fold of `addr` read as an address of `family`, as the kernel reads
/// an `nf_inet_addr` union: an IPv6 address in an IPv4 service is its first
/// word, an IPv4 address in an IPv6 service folds with three zero words.
pub(crate) fn addr_fold_as(family: Family, addr: &IpAddr) -> u32 {
    match (family, addr) {
        (Family::V4, IpAddr::V6(a)) => {
            let o = a.octets();
            u32::from_be_bytes([o[0], o[1], o[2], o[3]])
        }
        _ => addr_fold(addr),
    }
}

/// An `hsiphash_key_t` on a 64-bit kernel: two `unsigned long`s.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct HsipKey(pub u64, pub u64);

fn sipround(v: &mut [u64; 4]) {
    v[0] = v[0].wrapping_add(v[1]);
    v[1] = v[1].rotate_left(13);
    v[1] ^= v[0];
    v[0] = v[0].rotate_left(32);
    v[2] = v[2].wrapping_add(v[3]);
    v[3] = v[3].rotate_left(16);
    v[3] ^= v[2];
    v[0] = v[0].wrapping_add(v[3]);
    v[3] = v[3].rotate_left(21);
    v[3] ^= v[0];
    v[2] = v[2].wrapping_add(v[1]);
    v[1] = v[1].rotate_left(17);
    v[1] ^= v[2];
    v[2] = v[2].rotate_left(32);
}

/// `hsiphash(&v, sizeof(u32), key)` on a 64-bit little-endian kernel
/// (`hsiphash_1u32`).
pub(crate) fn hsiphash_u32(first: u32, key: HsipKey) -> u32 {
    let mut v = [
        0x736f_6d65_7073_6575u64 ^ key.0,
        0x646f_7261_6e64_6f6du64 ^ key.1,
        0x6c79_6765_6e65_7261u64 ^ key.0,
        0x7465_6462_7974_6573u64 ^ key.1,
    ];
    let b = (4u64 << 56) | first as u64;
    v[3] ^= b;
    sipround(&mut v);
    v[0] ^= b;
    v[2] ^= 0xff;
    sipround(&mut v);
    sipround(&mut v);
    sipround(&mut v);
    ((v[0] ^ v[1]) ^ (v[2] ^ v[3])) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_32_is_golden_ratio_multiplication() {
        assert_eq!(hash_32(0, 8), 0);
        assert_eq!(hash_32(1, 8), 0x61);
        assert_eq!(hash_32(1, 32), 0x61C8_8647);
        assert_eq!(hash_32(2, 8), 0xC3);
    }

    #[test]
    fn fold_xors_ipv6_words() {
        assert_eq!(addr_fold(&"172.17.1.152".parse().unwrap()), 0xAC11_0198);
        assert_eq!(addr_fold(&"2001:db8::1".parse().unwrap()), 0x2001_0db8 ^ 1);
    }
}
