//! The attributes of the kernel's generic-netlink family `IPVS`, as
//! `linux/ip_vs.h` numbers them and `net/netfilter/ipvs/ip_vs_ctl.c`
//! encodes them: one enum per nesting level (command, service,
//! destination, sync daemon, statistics, info), each emitting and parsing
//! itself through netlink-packet-core's [`Nla`].
//!
//! Byte orders follow the kernel: ports (`nla_get_be16`) are big-endian,
//! the persistence netmask is kept as the raw four bytes the kernel stores
//! (an IPv4 mask in network order, an IPv6 prefix length in host order),
//! everything else is host order. Addresses are the kernel's 16-byte
//! `union nf_inet_addr` (IPv4 in the first four bytes).

use netlink_packet_core::{
    DecodeError, DefaultNla, Emitable, ErrorContext, NLA_F_NESTED, Nla, NlaBuffer, NlasIterator,
    Parseable, emit_u16, emit_u32, emit_u64, parse_string, parse_u8, parse_u16, parse_u16_be,
    parse_u32, parse_u64,
};

/// `IPVS_CMD_ATTR_SERVICE`.
pub const CMD_ATTR_SERVICE: u16 = 1;
/// `IPVS_CMD_ATTR_DEST`.
pub const CMD_ATTR_DEST: u16 = 2;
/// `IPVS_CMD_ATTR_DAEMON`.
pub const CMD_ATTR_DAEMON: u16 = 3;
/// `IPVS_CMD_ATTR_TIMEOUT_TCP`.
pub const CMD_ATTR_TIMEOUT_TCP: u16 = 4;
/// `IPVS_CMD_ATTR_TIMEOUT_TCP_FIN`.
pub const CMD_ATTR_TIMEOUT_TCP_FIN: u16 = 5;
/// `IPVS_CMD_ATTR_TIMEOUT_UDP`.
pub const CMD_ATTR_TIMEOUT_UDP: u16 = 6;

const SVC_AF: u16 = 1;
const SVC_PROTOCOL: u16 = 2;
const SVC_ADDR: u16 = 3;
const SVC_PORT: u16 = 4;
const SVC_FWMARK: u16 = 5;
const SVC_SCHED_NAME: u16 = 6;
const SVC_FLAGS: u16 = 7;
const SVC_TIMEOUT: u16 = 8;
const SVC_NETMASK: u16 = 9;
const SVC_STATS: u16 = 10;
const SVC_PE_NAME: u16 = 11;
const SVC_STATS64: u16 = 12;

const DEST_ADDR: u16 = 1;
const DEST_PORT: u16 = 2;
const DEST_FWD_METHOD: u16 = 3;
const DEST_WEIGHT: u16 = 4;
const DEST_U_THRESH: u16 = 5;
const DEST_L_THRESH: u16 = 6;
const DEST_ACTIVE_CONNS: u16 = 7;
const DEST_INACT_CONNS: u16 = 8;
const DEST_PERSIST_CONNS: u16 = 9;
const DEST_STATS: u16 = 10;
const DEST_ADDR_FAMILY: u16 = 11;
const DEST_STATS64: u16 = 12;
const DEST_TUN_TYPE: u16 = 13;
const DEST_TUN_PORT: u16 = 14;
const DEST_TUN_FLAGS: u16 = 15;

const DAEMON_STATE: u16 = 1;
const DAEMON_MCAST_IFN: u16 = 2;
const DAEMON_SYNC_ID: u16 = 3;
const DAEMON_SYNC_MAXLEN: u16 = 4;
const DAEMON_MCAST_GROUP: u16 = 5;
const DAEMON_MCAST_GROUP6: u16 = 6;
const DAEMON_MCAST_PORT: u16 = 7;
const DAEMON_MCAST_TTL: u16 = 8;

const INFO_VERSION: u16 = 1;
const INFO_CONN_TAB_SIZE: u16 = 2;

/// Longest scheduler name the kernel takes (`IP_VS_SCHEDNAME_MAXLEN - 1`).
pub const SCHED_NAME_MAX: usize = 15;
/// Longest persistence-engine name the kernel takes (`IP_VS_PENAME_MAXLEN`).
pub const PE_NAME_MAX: usize = 16;

/// A first-level attribute of an IPVS command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CmdAttr {
    /// `IPVS_CMD_ATTR_SERVICE`: a service, nested.
    Service(Vec<SvcAttr>),
    /// `IPVS_CMD_ATTR_DEST`: a destination, nested.
    Dest(Vec<DestAttr>),
    /// `IPVS_CMD_ATTR_DAEMON`: a sync daemon, nested.
    Daemon(Vec<DaemonAttr>),
    /// `IPVS_CMD_ATTR_TIMEOUT_TCP`: seconds.
    TimeoutTcp(u32),
    /// `IPVS_CMD_ATTR_TIMEOUT_TCP_FIN`: seconds.
    TimeoutTcpFin(u32),
    /// `IPVS_CMD_ATTR_TIMEOUT_UDP`: seconds.
    TimeoutUdp(u32),
    /// An attribute this code does not know, kept as bytes.
    Other(DefaultNla),
}

/// An attribute inside `IPVS_CMD_ATTR_SERVICE`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SvcAttr {
    /// `IPVS_SVC_ATTR_AF`: `AF_INET` or `AF_INET6`.
    Af(u16),
    /// `IPVS_SVC_ATTR_PROTOCOL`: IP protocol number.
    Protocol(u16),
    /// `IPVS_SVC_ATTR_ADDR`: `union nf_inet_addr`.
    Addr([u8; 16]),
    /// `IPVS_SVC_ATTR_PORT`: the port (sent big-endian).
    Port(u16),
    /// `IPVS_SVC_ATTR_FWMARK`.
    Fwmark(u32),
    /// `IPVS_SVC_ATTR_SCHED_NAME`: NUL-terminated on the wire.
    SchedName(String),
    /// `IPVS_SVC_ATTR_FLAGS`: `struct ip_vs_flags { flags, mask }`; the
    /// kernel sets the bits of `mask` to those of `flags`.
    Flags {
        /// The flag values.
        flags: u32,
        /// Which flags to set.
        mask: u32,
    },
    /// `IPVS_SVC_ATTR_TIMEOUT`: persistence timeout in seconds.
    Timeout(u32),
    /// `IPVS_SVC_ATTR_NETMASK`: the four raw bytes the kernel stores.
    Netmask([u8; 4]),
    /// `IPVS_SVC_ATTR_STATS`: 32-bit counters (bytes 64-bit), nested.
    Stats(Vec<StatsAttr>),
    /// `IPVS_SVC_ATTR_PE_NAME`: persistence engine.
    PeName(String),
    /// `IPVS_SVC_ATTR_STATS64`: 64-bit counters, nested.
    Stats64(Vec<StatsAttr>),
    /// An attribute this code does not know, kept as bytes.
    Other(DefaultNla),
}

/// An attribute inside `IPVS_CMD_ATTR_DEST`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DestAttr {
    /// `IPVS_DEST_ATTR_ADDR`: `union nf_inet_addr`.
    Addr([u8; 16]),
    /// `IPVS_DEST_ATTR_PORT`: the port (sent big-endian).
    Port(u16),
    /// `IPVS_DEST_ATTR_FWD_METHOD`: `IP_VS_CONN_F_*` forwarding code.
    FwdMethod(u32),
    /// `IPVS_DEST_ATTR_WEIGHT`.
    Weight(u32),
    /// `IPVS_DEST_ATTR_U_THRESH`.
    UThresh(u32),
    /// `IPVS_DEST_ATTR_L_THRESH`.
    LThresh(u32),
    /// `IPVS_DEST_ATTR_ACTIVE_CONNS` (dumps only).
    ActiveConns(u32),
    /// `IPVS_DEST_ATTR_INACT_CONNS` (dumps only).
    InactConns(u32),
    /// `IPVS_DEST_ATTR_PERSIST_CONNS` (dumps only).
    PersistConns(u32),
    /// `IPVS_DEST_ATTR_STATS`, nested.
    Stats(Vec<StatsAttr>),
    /// `IPVS_DEST_ATTR_ADDR_FAMILY`.
    AddrFamily(u16),
    /// `IPVS_DEST_ATTR_STATS64`, nested.
    Stats64(Vec<StatsAttr>),
    /// `IPVS_DEST_ATTR_TUN_TYPE`.
    TunType(u8),
    /// `IPVS_DEST_ATTR_TUN_PORT` (sent big-endian).
    TunPort(u16),
    /// `IPVS_DEST_ATTR_TUN_FLAGS`.
    TunFlags(u16),
    /// An attribute this code does not know, kept as bytes.
    Other(DefaultNla),
}

/// An attribute inside `IPVS_CMD_ATTR_DAEMON` (connection sync daemons).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DaemonAttr {
    /// `IPVS_DAEMON_ATTR_STATE`: 1 master, 2 backup.
    State(u32),
    /// `IPVS_DAEMON_ATTR_MCAST_IFN`: interface name.
    McastIfn(String),
    /// `IPVS_DAEMON_ATTR_SYNC_ID`.
    SyncId(u32),
    /// `IPVS_DAEMON_ATTR_SYNC_MAXLEN`.
    SyncMaxlen(u16),
    /// `IPVS_DAEMON_ATTR_MCAST_GROUP`: IPv4 group, network order.
    McastGroup([u8; 4]),
    /// `IPVS_DAEMON_ATTR_MCAST_GROUP6`.
    McastGroup6([u8; 16]),
    /// `IPVS_DAEMON_ATTR_MCAST_PORT`.
    McastPort(u16),
    /// `IPVS_DAEMON_ATTR_MCAST_TTL`.
    McastTtl(u8),
    /// An attribute this code does not know, kept as bytes.
    Other(DefaultNla),
}

/// A first-level attribute of the `GET_INFO` reply (`IPVS_INFO_ATTR_*`,
/// numbered independently of [`CmdAttr`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InfoAttr {
    /// `IPVS_INFO_ATTR_VERSION`: `(major << 16) | (minor << 8) | patch`.
    Version(u32),
    /// `IPVS_INFO_ATTR_CONN_TAB_SIZE`: connection hash table size.
    ConnTabSize(u32),
    /// An attribute this code does not know, kept as bytes.
    Other(DefaultNla),
}

/// Which counter a statistics attribute holds (`IPVS_STATS_ATTR_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatsKind {
    /// Connections scheduled.
    Conns,
    /// Packets in.
    InPkts,
    /// Packets out.
    OutPkts,
    /// Bytes in.
    InBytes,
    /// Bytes out.
    OutBytes,
    /// Connection rate.
    Cps,
    /// Packet rate in.
    InPps,
    /// Packet rate out.
    OutPps,
    /// Byte rate in.
    InBps,
    /// Byte rate out.
    OutBps,
    /// `IPVS_STATS_ATTR_PAD` and anything newer, by number.
    Other(u16),
}

impl StatsKind {
    fn from_number(n: u16) -> StatsKind {
        match n {
            1 => StatsKind::Conns,
            2 => StatsKind::InPkts,
            3 => StatsKind::OutPkts,
            4 => StatsKind::InBytes,
            5 => StatsKind::OutBytes,
            6 => StatsKind::Cps,
            7 => StatsKind::InPps,
            8 => StatsKind::OutPps,
            9 => StatsKind::InBps,
            10 => StatsKind::OutBps,
            n => StatsKind::Other(n),
        }
    }

    fn number(self) -> u16 {
        match self {
            StatsKind::Conns => 1,
            StatsKind::InPkts => 2,
            StatsKind::OutPkts => 3,
            StatsKind::InBytes => 4,
            StatsKind::OutBytes => 5,
            StatsKind::Cps => 6,
            StatsKind::InPps => 7,
            StatsKind::OutPps => 8,
            StatsKind::InBps => 9,
            StatsKind::OutBps => 10,
            StatsKind::Other(n) => n,
        }
    }
}

/// One counter of a statistics attribute: which, its value, and whether
/// it is 64 bits wide on the wire (`STATS64`, and the byte counters of
/// `STATS`) or 32.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StatsAttr {
    /// Which counter.
    pub kind: StatsKind,
    /// Its value.
    pub value: u64,
    /// 8 bytes on the wire (else 4).
    pub wide: bool,
}

fn addr16(payload: &[u8], what: &str) -> Result<[u8; 16], DecodeError> {
    match payload.len() {
        4 | 16 => {
            let mut a = [0u8; 16];
            a[..payload.len()].copy_from_slice(payload);
            Ok(a)
        }
        n => Err(DecodeError::from(format!(
            "{what}: address of {n} bytes (want 4 or 16)"
        ))),
    }
}

fn bytes4(payload: &[u8], what: &str) -> Result<[u8; 4], DecodeError> {
    payload
        .try_into()
        .map_err(|_| DecodeError::from(format!("{what}: {} bytes (want 4)", payload.len())))
}

fn name_len(s: &str) -> usize {
    s.len() + 1
}

fn emit_name(s: &str, buf: &mut [u8]) {
    buf[..s.len()].copy_from_slice(s.as_bytes());
    buf[s.len()] = 0;
}

fn nested_len<T: Nla>(v: &[T]) -> usize {
    v.as_ref().buffer_len()
}

fn parse_nested<'a, T>(payload: &'a [u8], what: &'static str) -> Result<Vec<T>, DecodeError>
where
    T: Parseable<NlaBuffer<&'a [u8]>>,
{
    let mut out = Vec::new();
    for nla in NlasIterator::new(payload) {
        let nla = nla.context(what)?;
        out.push(T::parse(&nla).context(what)?);
    }
    Ok(out)
}

fn stats_len(v: &[StatsAttr]) -> usize {
    v.iter().map(|s| 4 + if s.wide { 8 } else { 4 }).sum()
}

fn emit_stats(v: &[StatsAttr], buf: &mut [u8]) {
    let mut at = 0;
    for s in v {
        let len = if s.wide { 8 } else { 4 };
        emit_u16(&mut buf[at..], (4 + len) as u16).expect("room for the length");
        emit_u16(&mut buf[at + 2..], s.kind.number()).expect("room for the type");
        if s.wide {
            emit_u64(&mut buf[at + 4..], s.value).expect("room for the value");
        } else {
            emit_u32(&mut buf[at + 4..], s.value as u32).expect("room for the value");
        }
        at += 4 + len;
    }
}

fn parse_stats(payload: &[u8], what: &'static str) -> Result<Vec<StatsAttr>, DecodeError> {
    let mut out = Vec::new();
    for nla in NlasIterator::new(payload) {
        let nla = nla.context(what)?;
        let v = nla.value();
        let (value, wide) = match v.len() {
            4 => (u64::from(parse_u32(v)?), false),
            8 => (parse_u64(v)?, true),
            // IPVS_STATS_ATTR_PAD is empty; skip any odd-sized newcomer.
            _ => continue,
        };
        out.push(StatsAttr {
            kind: StatsKind::from_number(nla.kind()),
            value,
            wide,
        });
    }
    Ok(out)
}

impl Nla for CmdAttr {
    fn value_len(&self) -> usize {
        match self {
            CmdAttr::Service(v) => nested_len(v),
            CmdAttr::Dest(v) => nested_len(v),
            CmdAttr::Daemon(v) => nested_len(v),
            CmdAttr::TimeoutTcp(_) | CmdAttr::TimeoutTcpFin(_) | CmdAttr::TimeoutUdp(_) => 4,
            CmdAttr::Other(n) => n.value_len(),
        }
    }

    fn kind(&self) -> u16 {
        match self {
            CmdAttr::Service(_) => CMD_ATTR_SERVICE | NLA_F_NESTED,
            CmdAttr::Dest(_) => CMD_ATTR_DEST | NLA_F_NESTED,
            CmdAttr::Daemon(_) => CMD_ATTR_DAEMON | NLA_F_NESTED,
            CmdAttr::TimeoutTcp(_) => CMD_ATTR_TIMEOUT_TCP,
            CmdAttr::TimeoutTcpFin(_) => CMD_ATTR_TIMEOUT_TCP_FIN,
            CmdAttr::TimeoutUdp(_) => CMD_ATTR_TIMEOUT_UDP,
            CmdAttr::Other(n) => n.kind(),
        }
    }

    fn emit_value(&self, buf: &mut [u8]) {
        match self {
            CmdAttr::Service(v) => v.as_slice().emit(buf),
            CmdAttr::Dest(v) => v.as_slice().emit(buf),
            CmdAttr::Daemon(v) => v.as_slice().emit(buf),
            CmdAttr::TimeoutTcp(x) | CmdAttr::TimeoutTcpFin(x) | CmdAttr::TimeoutUdp(x) => {
                emit_u32(buf, *x).expect("room for u32")
            }
            CmdAttr::Other(n) => n.emit_value(buf),
        }
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Parseable<NlaBuffer<&'a T>> for CmdAttr {
    fn parse(buf: &NlaBuffer<&'a T>) -> Result<CmdAttr, DecodeError> {
        let v = buf.value();
        Ok(match buf.kind() {
            CMD_ATTR_SERVICE => CmdAttr::Service(parse_nested(v, "IPVS_CMD_ATTR_SERVICE")?),
            CMD_ATTR_DEST => CmdAttr::Dest(parse_nested(v, "IPVS_CMD_ATTR_DEST")?),
            CMD_ATTR_DAEMON => CmdAttr::Daemon(parse_nested(v, "IPVS_CMD_ATTR_DAEMON")?),
            CMD_ATTR_TIMEOUT_TCP => {
                CmdAttr::TimeoutTcp(parse_u32(v).context("IPVS_CMD_ATTR_TIMEOUT_TCP")?)
            }
            CMD_ATTR_TIMEOUT_TCP_FIN => {
                CmdAttr::TimeoutTcpFin(parse_u32(v).context("IPVS_CMD_ATTR_TIMEOUT_TCP_FIN")?)
            }
            CMD_ATTR_TIMEOUT_UDP => {
                CmdAttr::TimeoutUdp(parse_u32(v).context("IPVS_CMD_ATTR_TIMEOUT_UDP")?)
            }
            _ => CmdAttr::Other(DefaultNla::parse(buf)?),
        })
    }
}

impl Nla for SvcAttr {
    fn value_len(&self) -> usize {
        match self {
            SvcAttr::Af(_) | SvcAttr::Protocol(_) | SvcAttr::Port(_) => 2,
            SvcAttr::Addr(_) => 16,
            SvcAttr::Fwmark(_) | SvcAttr::Timeout(_) | SvcAttr::Netmask(_) => 4,
            SvcAttr::SchedName(s) | SvcAttr::PeName(s) => name_len(s),
            SvcAttr::Flags { .. } => 8,
            SvcAttr::Stats(v) | SvcAttr::Stats64(v) => stats_len(v),
            SvcAttr::Other(n) => n.value_len(),
        }
    }

    fn kind(&self) -> u16 {
        match self {
            SvcAttr::Af(_) => SVC_AF,
            SvcAttr::Protocol(_) => SVC_PROTOCOL,
            SvcAttr::Addr(_) => SVC_ADDR,
            SvcAttr::Port(_) => SVC_PORT,
            SvcAttr::Fwmark(_) => SVC_FWMARK,
            SvcAttr::SchedName(_) => SVC_SCHED_NAME,
            SvcAttr::Flags { .. } => SVC_FLAGS,
            SvcAttr::Timeout(_) => SVC_TIMEOUT,
            SvcAttr::Netmask(_) => SVC_NETMASK,
            SvcAttr::Stats(_) => SVC_STATS | NLA_F_NESTED,
            SvcAttr::PeName(_) => SVC_PE_NAME,
            SvcAttr::Stats64(_) => SVC_STATS64 | NLA_F_NESTED,
            SvcAttr::Other(n) => n.kind(),
        }
    }

    fn emit_value(&self, buf: &mut [u8]) {
        match self {
            SvcAttr::Af(x) | SvcAttr::Protocol(x) => emit_u16(buf, *x).expect("room for u16"),
            SvcAttr::Port(p) => buf[..2].copy_from_slice(&p.to_be_bytes()),
            SvcAttr::Addr(a) => buf[..16].copy_from_slice(a),
            SvcAttr::Fwmark(x) | SvcAttr::Timeout(x) => emit_u32(buf, *x).expect("room for u32"),
            SvcAttr::Netmask(m) => buf[..4].copy_from_slice(m),
            SvcAttr::SchedName(s) | SvcAttr::PeName(s) => emit_name(s, buf),
            SvcAttr::Flags { flags, mask } => {
                emit_u32(&mut buf[..4], *flags).expect("room for flags");
                emit_u32(&mut buf[4..8], *mask).expect("room for mask");
            }
            SvcAttr::Stats(v) | SvcAttr::Stats64(v) => emit_stats(v, buf),
            SvcAttr::Other(n) => n.emit_value(buf),
        }
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Parseable<NlaBuffer<&'a T>> for SvcAttr {
    fn parse(buf: &NlaBuffer<&'a T>) -> Result<SvcAttr, DecodeError> {
        let v = buf.value();
        Ok(match buf.kind() {
            SVC_AF => SvcAttr::Af(parse_u16(v).context("IPVS_SVC_ATTR_AF")?),
            SVC_PROTOCOL => SvcAttr::Protocol(parse_u16(v).context("IPVS_SVC_ATTR_PROTOCOL")?),
            SVC_ADDR => SvcAttr::Addr(addr16(v, "IPVS_SVC_ATTR_ADDR")?),
            SVC_PORT => SvcAttr::Port(parse_u16_be(v).context("IPVS_SVC_ATTR_PORT")?),
            SVC_FWMARK => SvcAttr::Fwmark(parse_u32(v).context("IPVS_SVC_ATTR_FWMARK")?),
            SVC_SCHED_NAME => {
                SvcAttr::SchedName(parse_string(v).context("IPVS_SVC_ATTR_SCHED_NAME")?)
            }
            SVC_FLAGS => {
                if v.len() != 8 {
                    return Err(DecodeError::from(format!(
                        "IPVS_SVC_ATTR_FLAGS: {} bytes (want 8)",
                        v.len()
                    )));
                }
                SvcAttr::Flags {
                    flags: parse_u32(&v[..4])?,
                    mask: parse_u32(&v[4..])?,
                }
            }
            SVC_TIMEOUT => SvcAttr::Timeout(parse_u32(v).context("IPVS_SVC_ATTR_TIMEOUT")?),
            SVC_NETMASK => SvcAttr::Netmask(bytes4(v, "IPVS_SVC_ATTR_NETMASK")?),
            SVC_STATS => SvcAttr::Stats(parse_stats(v, "IPVS_SVC_ATTR_STATS")?),
            SVC_PE_NAME => SvcAttr::PeName(parse_string(v).context("IPVS_SVC_ATTR_PE_NAME")?),
            SVC_STATS64 => SvcAttr::Stats64(parse_stats(v, "IPVS_SVC_ATTR_STATS64")?),
            _ => SvcAttr::Other(DefaultNla::parse(buf)?),
        })
    }
}

impl Nla for DestAttr {
    fn value_len(&self) -> usize {
        match self {
            DestAttr::Addr(_) => 16,
            DestAttr::Port(_)
            | DestAttr::AddrFamily(_)
            | DestAttr::TunPort(_)
            | DestAttr::TunFlags(_) => 2,
            DestAttr::FwdMethod(_)
            | DestAttr::Weight(_)
            | DestAttr::UThresh(_)
            | DestAttr::LThresh(_)
            | DestAttr::ActiveConns(_)
            | DestAttr::InactConns(_)
            | DestAttr::PersistConns(_) => 4,
            DestAttr::TunType(_) => 1,
            DestAttr::Stats(v) | DestAttr::Stats64(v) => stats_len(v),
            DestAttr::Other(n) => n.value_len(),
        }
    }

    fn kind(&self) -> u16 {
        match self {
            DestAttr::Addr(_) => DEST_ADDR,
            DestAttr::Port(_) => DEST_PORT,
            DestAttr::FwdMethod(_) => DEST_FWD_METHOD,
            DestAttr::Weight(_) => DEST_WEIGHT,
            DestAttr::UThresh(_) => DEST_U_THRESH,
            DestAttr::LThresh(_) => DEST_L_THRESH,
            DestAttr::ActiveConns(_) => DEST_ACTIVE_CONNS,
            DestAttr::InactConns(_) => DEST_INACT_CONNS,
            DestAttr::PersistConns(_) => DEST_PERSIST_CONNS,
            DestAttr::Stats(_) => DEST_STATS | NLA_F_NESTED,
            DestAttr::AddrFamily(_) => DEST_ADDR_FAMILY,
            DestAttr::Stats64(_) => DEST_STATS64 | NLA_F_NESTED,
            DestAttr::TunType(_) => DEST_TUN_TYPE,
            DestAttr::TunPort(_) => DEST_TUN_PORT,
            DestAttr::TunFlags(_) => DEST_TUN_FLAGS,
            DestAttr::Other(n) => n.kind(),
        }
    }

    fn emit_value(&self, buf: &mut [u8]) {
        match self {
            DestAttr::Addr(a) => buf[..16].copy_from_slice(a),
            DestAttr::Port(p) | DestAttr::TunPort(p) => buf[..2].copy_from_slice(&p.to_be_bytes()),
            DestAttr::AddrFamily(x) | DestAttr::TunFlags(x) => {
                emit_u16(buf, *x).expect("room for u16")
            }
            DestAttr::FwdMethod(x)
            | DestAttr::Weight(x)
            | DestAttr::UThresh(x)
            | DestAttr::LThresh(x)
            | DestAttr::ActiveConns(x)
            | DestAttr::InactConns(x)
            | DestAttr::PersistConns(x) => emit_u32(buf, *x).expect("room for u32"),
            DestAttr::TunType(x) => buf[0] = *x,
            DestAttr::Stats(v) | DestAttr::Stats64(v) => emit_stats(v, buf),
            DestAttr::Other(n) => n.emit_value(buf),
        }
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Parseable<NlaBuffer<&'a T>> for DestAttr {
    fn parse(buf: &NlaBuffer<&'a T>) -> Result<DestAttr, DecodeError> {
        let v = buf.value();
        let u32_of = |what: &'static str| parse_u32(v).context(what);
        Ok(match buf.kind() {
            DEST_ADDR => DestAttr::Addr(addr16(v, "IPVS_DEST_ATTR_ADDR")?),
            DEST_PORT => DestAttr::Port(parse_u16_be(v).context("IPVS_DEST_ATTR_PORT")?),
            DEST_FWD_METHOD => DestAttr::FwdMethod(u32_of("IPVS_DEST_ATTR_FWD_METHOD")?),
            DEST_WEIGHT => DestAttr::Weight(u32_of("IPVS_DEST_ATTR_WEIGHT")?),
            DEST_U_THRESH => DestAttr::UThresh(u32_of("IPVS_DEST_ATTR_U_THRESH")?),
            DEST_L_THRESH => DestAttr::LThresh(u32_of("IPVS_DEST_ATTR_L_THRESH")?),
            DEST_ACTIVE_CONNS => DestAttr::ActiveConns(u32_of("IPVS_DEST_ATTR_ACTIVE_CONNS")?),
            DEST_INACT_CONNS => DestAttr::InactConns(u32_of("IPVS_DEST_ATTR_INACT_CONNS")?),
            DEST_PERSIST_CONNS => DestAttr::PersistConns(u32_of("IPVS_DEST_ATTR_PERSIST_CONNS")?),
            DEST_STATS => DestAttr::Stats(parse_stats(v, "IPVS_DEST_ATTR_STATS")?),
            DEST_ADDR_FAMILY => {
                DestAttr::AddrFamily(parse_u16(v).context("IPVS_DEST_ATTR_ADDR_FAMILY")?)
            }
            DEST_STATS64 => DestAttr::Stats64(parse_stats(v, "IPVS_DEST_ATTR_STATS64")?),
            DEST_TUN_TYPE => DestAttr::TunType(parse_u8(v).context("IPVS_DEST_ATTR_TUN_TYPE")?),
            DEST_TUN_PORT => DestAttr::TunPort(parse_u16_be(v).context("IPVS_DEST_ATTR_TUN_PORT")?),
            DEST_TUN_FLAGS => DestAttr::TunFlags(parse_u16(v).context("IPVS_DEST_ATTR_TUN_FLAGS")?),
            _ => DestAttr::Other(DefaultNla::parse(buf)?),
        })
    }
}

impl Nla for DaemonAttr {
    fn value_len(&self) -> usize {
        match self {
            DaemonAttr::State(_) | DaemonAttr::SyncId(_) => 4,
            DaemonAttr::McastIfn(s) => name_len(s),
            DaemonAttr::SyncMaxlen(_) | DaemonAttr::McastPort(_) => 2,
            DaemonAttr::McastGroup(_) => 4,
            DaemonAttr::McastGroup6(_) => 16,
            DaemonAttr::McastTtl(_) => 1,
            DaemonAttr::Other(n) => n.value_len(),
        }
    }

    fn kind(&self) -> u16 {
        match self {
            DaemonAttr::State(_) => DAEMON_STATE,
            DaemonAttr::McastIfn(_) => DAEMON_MCAST_IFN,
            DaemonAttr::SyncId(_) => DAEMON_SYNC_ID,
            DaemonAttr::SyncMaxlen(_) => DAEMON_SYNC_MAXLEN,
            DaemonAttr::McastGroup(_) => DAEMON_MCAST_GROUP,
            DaemonAttr::McastGroup6(_) => DAEMON_MCAST_GROUP6,
            DaemonAttr::McastPort(_) => DAEMON_MCAST_PORT,
            DaemonAttr::McastTtl(_) => DAEMON_MCAST_TTL,
            DaemonAttr::Other(n) => n.kind(),
        }
    }

    fn emit_value(&self, buf: &mut [u8]) {
        match self {
            DaemonAttr::State(x) | DaemonAttr::SyncId(x) => emit_u32(buf, *x).expect("room"),
            DaemonAttr::McastIfn(s) => emit_name(s, buf),
            DaemonAttr::SyncMaxlen(x) | DaemonAttr::McastPort(x) => {
                emit_u16(buf, *x).expect("room")
            }
            DaemonAttr::McastGroup(a) => buf[..4].copy_from_slice(a),
            DaemonAttr::McastGroup6(a) => buf[..16].copy_from_slice(a),
            DaemonAttr::McastTtl(x) => buf[0] = *x,
            DaemonAttr::Other(n) => n.emit_value(buf),
        }
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Parseable<NlaBuffer<&'a T>> for DaemonAttr {
    fn parse(buf: &NlaBuffer<&'a T>) -> Result<DaemonAttr, DecodeError> {
        let v = buf.value();
        Ok(match buf.kind() {
            DAEMON_STATE => DaemonAttr::State(parse_u32(v).context("IPVS_DAEMON_ATTR_STATE")?),
            DAEMON_MCAST_IFN => {
                DaemonAttr::McastIfn(parse_string(v).context("IPVS_DAEMON_ATTR_MCAST_IFN")?)
            }
            DAEMON_SYNC_ID => DaemonAttr::SyncId(parse_u32(v).context("IPVS_DAEMON_ATTR_SYNC_ID")?),
            DAEMON_SYNC_MAXLEN => {
                DaemonAttr::SyncMaxlen(parse_u16(v).context("IPVS_DAEMON_ATTR_SYNC_MAXLEN")?)
            }
            DAEMON_MCAST_GROUP => {
                DaemonAttr::McastGroup(bytes4(v, "IPVS_DAEMON_ATTR_MCAST_GROUP")?)
            }
            DAEMON_MCAST_GROUP6 => {
                DaemonAttr::McastGroup6(v.try_into().map_err(|_| {
                    DecodeError::from("IPVS_DAEMON_ATTR_MCAST_GROUP6: want 16 bytes")
                })?)
            }
            DAEMON_MCAST_PORT => {
                DaemonAttr::McastPort(parse_u16(v).context("IPVS_DAEMON_ATTR_MCAST_PORT")?)
            }
            DAEMON_MCAST_TTL => {
                DaemonAttr::McastTtl(parse_u8(v).context("IPVS_DAEMON_ATTR_MCAST_TTL")?)
            }
            _ => DaemonAttr::Other(DefaultNla::parse(buf)?),
        })
    }
}

impl Nla for InfoAttr {
    fn value_len(&self) -> usize {
        match self {
            InfoAttr::Version(_) | InfoAttr::ConnTabSize(_) => 4,
            InfoAttr::Other(n) => n.value_len(),
        }
    }

    fn kind(&self) -> u16 {
        match self {
            InfoAttr::Version(_) => INFO_VERSION,
            InfoAttr::ConnTabSize(_) => INFO_CONN_TAB_SIZE,
            InfoAttr::Other(n) => n.kind(),
        }
    }

    fn emit_value(&self, buf: &mut [u8]) {
        match self {
            InfoAttr::Version(x) | InfoAttr::ConnTabSize(x) => emit_u32(buf, *x).expect("room"),
            InfoAttr::Other(n) => n.emit_value(buf),
        }
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Parseable<NlaBuffer<&'a T>> for InfoAttr {
    fn parse(buf: &NlaBuffer<&'a T>) -> Result<InfoAttr, DecodeError> {
        let v = buf.value();
        Ok(match buf.kind() {
            INFO_VERSION => InfoAttr::Version(parse_u32(v).context("IPVS_INFO_ATTR_VERSION")?),
            INFO_CONN_TAB_SIZE => {
                InfoAttr::ConnTabSize(parse_u32(v).context("IPVS_INFO_ATTR_CONN_TAB_SIZE")?)
            }
            _ => InfoAttr::Other(DefaultNla::parse(buf)?),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes<T: Nla>(a: &T) -> Vec<u8> {
        let mut b = vec![0xaa; a.buffer_len()];
        a.emit(&mut b);
        b
    }

    fn back<T>(b: &[u8]) -> T
    where
        T: for<'a> Parseable<NlaBuffer<&'a [u8]>>,
    {
        T::parse(&NlaBuffer::new_checked(b).unwrap()).unwrap()
    }

    #[test]
    fn service_attrs_have_the_kernel_layout() {
        // nla_len, nla_type (host order), value, padding to 4.
        assert_eq!(bytes(&SvcAttr::Af(2)), [6, 0, 1, 0, 2, 0, 0, 0]);
        assert_eq!(bytes(&SvcAttr::Port(80)), [6, 0, 4, 0, 0, 80, 0, 0]);
        assert_eq!(
            bytes(&SvcAttr::SchedName("rr".into())),
            [7, 0, 6, 0, b'r', b'r', 0, 0]
        );
        assert_eq!(
            bytes(&SvcAttr::Flags {
                flags: 0x15,
                mask: u32::MAX
            }),
            [12, 0, 7, 0, 0x15, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]
        );
        assert_eq!(
            bytes(&SvcAttr::Netmask([255, 255, 255, 0])),
            [8, 0, 9, 0, 255, 255, 255, 0]
        );
        let mut a = [0u8; 16];
        a[..4].copy_from_slice(&[192, 0, 2, 160]);
        let b = bytes(&SvcAttr::Addr(a));
        assert_eq!(b.len(), 20);
        assert_eq!(&b[..8], [20, 0, 3, 0, 192, 0, 2, 160]);
        assert!(b[8..].iter().all(|x| *x == 0));
    }

    #[test]
    fn nested_service_round_trips() {
        let svc = CmdAttr::Service(vec![
            SvcAttr::Af(10),
            SvcAttr::Fwmark(7),
            SvcAttr::SchedName("wlc".into()),
            SvcAttr::Flags {
                flags: 1,
                mask: u32::MAX,
            },
            SvcAttr::Timeout(300),
            SvcAttr::Netmask(64u32.to_ne_bytes()),
            SvcAttr::PeName("sip".into()),
        ]);
        let b = bytes(&svc);
        // Nested flag set on the container.
        assert_eq!(u16::from_ne_bytes([b[2], b[3]]), 1 | NLA_F_NESTED);
        assert_eq!(back::<CmdAttr>(&b), svc);
    }

    #[test]
    fn dest_and_stats_round_trip() {
        let d = CmdAttr::Dest(vec![
            DestAttr::Addr([0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]),
            DestAttr::Port(8080),
            DestAttr::FwdMethod(3),
            DestAttr::Weight(5),
            DestAttr::UThresh(100),
            DestAttr::LThresh(50),
            DestAttr::AddrFamily(10),
            DestAttr::TunType(0),
            DestAttr::TunPort(0),
            DestAttr::TunFlags(0),
            DestAttr::Stats(vec![
                StatsAttr {
                    kind: StatsKind::Conns,
                    value: 3,
                    wide: false,
                },
                StatsAttr {
                    kind: StatsKind::InBytes,
                    value: 1 << 40,
                    wide: true,
                },
            ]),
        ]);
        let b = bytes(&d);
        let p = back::<CmdAttr>(&b);
        assert_eq!(p, d);
        // The port is big-endian on the wire.
        let i = b
            .windows(4)
            .position(|w| w == [6, 0, 2, 0])
            .expect("port attribute");
        assert_eq!(&b[i + 4..i + 6], [0x1f, 0x90]);
    }

    #[test]
    fn daemon_info_and_timeouts_round_trip() {
        for a in [
            CmdAttr::Daemon(vec![
                DaemonAttr::State(1),
                DaemonAttr::McastIfn("eth0".into()),
                DaemonAttr::SyncId(51),
                DaemonAttr::SyncMaxlen(1472),
                DaemonAttr::McastGroup([224, 0, 0, 81]),
                DaemonAttr::McastGroup6([0xff; 16]),
                DaemonAttr::McastPort(8848),
                DaemonAttr::McastTtl(1),
            ]),
            CmdAttr::TimeoutTcp(900),
            CmdAttr::TimeoutTcpFin(120),
            CmdAttr::TimeoutUdp(300),
            CmdAttr::Other(DefaultNla::new(42, vec![1, 2, 3])),
        ] {
            assert_eq!(back::<CmdAttr>(&bytes(&a)), a);
        }
        for a in [InfoAttr::Version(0x010201), InfoAttr::ConnTabSize(4096)] {
            assert_eq!(back::<InfoAttr>(&bytes(&a)), a);
        }
    }

    #[test]
    fn bad_lengths_are_errors_not_panics() {
        // A 3-byte AF, a 6-byte flags, a 5-byte address, a weight of 2 bytes.
        let cases: [&[u8]; 4] = [
            &[7, 0, 1, 0, 2, 0, 0, 0],
            &[10, 0, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0],
            &[9, 0, 3, 0, 1, 2, 3, 4, 5, 0, 0, 0],
            &[6, 0, 4, 0, 1, 0, 0, 0],
        ];
        for (i, c) in cases.iter().enumerate() {
            let nla = NlaBuffer::new_checked(*c).unwrap();
            let r = if i < 3 {
                SvcAttr::parse(&nla).map(|_| ())
            } else {
                DestAttr::parse(&nla).map(|_| ())
            };
            assert!(r.is_err(), "case {i} parsed");
        }
        // A nested service whose inner attribute overruns its container.
        let bad = [12u8, 0, 1, 0x80, 20, 0, 1, 0, 2, 0, 0, 0];
        assert!(CmdAttr::parse(&NlaBuffer::new_checked(&bad[..]).unwrap()).is_err());
    }
}
