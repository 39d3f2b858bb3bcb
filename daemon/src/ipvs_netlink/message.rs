//! One message of the generic-netlink family `IPVS` (version 1): a
//! command and its first-level attributes, wrapped by netlink-packet-
//! generic's `GenlMessage` for the wire.

use netlink_packet_core::{
    DecodeError, Emitable, ErrorContext, NlasIterator, Parseable, ParseableParametrized,
};
use netlink_packet_generic::{GenlFamily, GenlHeader};

use super::attr::{CmdAttr, InfoAttr};

/// The family's name (`IPVS_GENL_NAME`).
pub const FAMILY_NAME: &str = "IPVS";
/// The family's version (`IPVS_GENL_VERSION`).
pub const FAMILY_VERSION: u8 = 1;

/// An IPVS command (`IPVS_CMD_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IpvsCmd {
    /// Add a service (also the kernel's reply to a service dump).
    NewService,
    /// Edit a service.
    SetService,
    /// Delete a service.
    DelService,
    /// Get one service, or dump them all.
    GetService,
    /// Add a destination (also the reply to a destination dump).
    NewDest,
    /// Edit a destination.
    SetDest,
    /// Delete a destination.
    DelDest,
    /// Dump the destinations of one service.
    GetDest,
    /// Start a connection sync daemon.
    NewDaemon,
    /// Stop a connection sync daemon.
    DelDaemon,
    /// Dump the sync daemons.
    GetDaemon,
    /// Set the timeouts (also the reply to `GetConfig`).
    SetConfig,
    /// Get the timeouts.
    GetConfig,
    /// The reply to `GetInfo`.
    SetInfo,
    /// Get the version and connection table size.
    GetInfo,
    /// Zero the counters.
    Zero,
    /// Delete every service.
    Flush,
}

impl IpvsCmd {
    /// Every command, in number order (1..=17).
    pub const ALL: [IpvsCmd; 17] = [
        IpvsCmd::NewService,
        IpvsCmd::SetService,
        IpvsCmd::DelService,
        IpvsCmd::GetService,
        IpvsCmd::NewDest,
        IpvsCmd::SetDest,
        IpvsCmd::DelDest,
        IpvsCmd::GetDest,
        IpvsCmd::NewDaemon,
        IpvsCmd::DelDaemon,
        IpvsCmd::GetDaemon,
        IpvsCmd::SetConfig,
        IpvsCmd::GetConfig,
        IpvsCmd::SetInfo,
        IpvsCmd::GetInfo,
        IpvsCmd::Zero,
        IpvsCmd::Flush,
    ];

    /// Its number in `ip_vs.h`.
    pub fn number(self) -> u8 {
        IpvsCmd::ALL
            .iter()
            .position(|c| *c == self)
            .map_or(0, |i| i as u8 + 1)
    }

    /// The command numbered `n`.
    pub fn from_number(n: u8) -> Option<IpvsCmd> {
        IpvsCmd::ALL.get(usize::from(n).checked_sub(1)?).copied()
    }

    /// The kernel's name without the prefix (`NEW_SERVICE`, ...).
    pub fn name(self) -> &'static str {
        match self {
            IpvsCmd::NewService => "NEW_SERVICE",
            IpvsCmd::SetService => "SET_SERVICE",
            IpvsCmd::DelService => "DEL_SERVICE",
            IpvsCmd::GetService => "GET_SERVICE",
            IpvsCmd::NewDest => "NEW_DEST",
            IpvsCmd::SetDest => "SET_DEST",
            IpvsCmd::DelDest => "DEL_DEST",
            IpvsCmd::GetDest => "GET_DEST",
            IpvsCmd::NewDaemon => "NEW_DAEMON",
            IpvsCmd::DelDaemon => "DEL_DAEMON",
            IpvsCmd::GetDaemon => "GET_DAEMON",
            IpvsCmd::SetConfig => "SET_CONFIG",
            IpvsCmd::GetConfig => "GET_CONFIG",
            IpvsCmd::SetInfo => "SET_INFO",
            IpvsCmd::GetInfo => "GET_INFO",
            IpvsCmd::Zero => "ZERO",
            IpvsCmd::Flush => "FLUSH",
        }
    }
}

/// The attributes of a message: command attributes, or (in the reply to
/// `GetInfo`, command `SetInfo`) info attributes, which reuse the numbers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Attrs {
    /// `IPVS_CMD_ATTR_*`.
    Cmd(Vec<CmdAttr>),
    /// `IPVS_INFO_ATTR_*`.
    Info(Vec<InfoAttr>),
}

/// A message of the `IPVS` family.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IpvsMessage {
    /// The command.
    pub cmd: IpvsCmd,
    /// Its attributes.
    pub attrs: Attrs,
}

impl IpvsMessage {
    /// A message with command attributes.
    pub fn new(cmd: IpvsCmd, attrs: Vec<CmdAttr>) -> IpvsMessage {
        IpvsMessage {
            cmd,
            attrs: Attrs::Cmd(attrs),
        }
    }

    /// The command attributes (empty for an info message).
    pub fn cmd_attrs(&self) -> &[CmdAttr] {
        match &self.attrs {
            Attrs::Cmd(v) => v,
            Attrs::Info(_) => &[],
        }
    }
}

impl GenlFamily for IpvsMessage {
    fn family_name() -> &'static str {
        FAMILY_NAME
    }

    fn command(&self) -> u8 {
        self.cmd.number()
    }

    fn version(&self) -> u8 {
        FAMILY_VERSION
    }
}

impl Emitable for IpvsMessage {
    fn buffer_len(&self) -> usize {
        match &self.attrs {
            Attrs::Cmd(v) => v.as_slice().buffer_len(),
            Attrs::Info(v) => v.as_slice().buffer_len(),
        }
    }

    fn emit(&self, buffer: &mut [u8]) {
        match &self.attrs {
            Attrs::Cmd(v) => v.as_slice().emit(buffer),
            Attrs::Info(v) => v.as_slice().emit(buffer),
        }
    }
}

impl ParseableParametrized<[u8], GenlHeader> for IpvsMessage {
    fn parse_with_param(buf: &[u8], header: GenlHeader) -> Result<IpvsMessage, DecodeError> {
        let cmd = IpvsCmd::from_number(header.cmd)
            .ok_or_else(|| DecodeError::from(format!("unknown IPVS command {}", header.cmd)))?;
        let attrs = if cmd == IpvsCmd::SetInfo {
            let mut v = Vec::new();
            for nla in NlasIterator::new(buf) {
                v.push(InfoAttr::parse(&nla.context("IPVS info attribute")?)?);
            }
            Attrs::Info(v)
        } else {
            let mut v = Vec::new();
            for nla in NlasIterator::new(buf) {
                let nla = nla.context(format!("IPVS {} attribute", cmd.name()))?;
                v.push(CmdAttr::parse(&nla)?);
            }
            Attrs::Cmd(v)
        };
        Ok(IpvsMessage { cmd, attrs })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipvs_netlink::attr::SvcAttr;
    use netlink_packet_core::{
        NLM_F_ACK, NLM_F_REQUEST, NetlinkHeader, NetlinkMessage, NetlinkPayload,
    };
    use netlink_packet_generic::GenlMessage;

    #[test]
    fn command_numbers_match_ip_vs_h() {
        assert_eq!(IpvsCmd::NewService.number(), 1);
        assert_eq!(IpvsCmd::GetDest.number(), 8);
        assert_eq!(IpvsCmd::SetConfig.number(), 12);
        assert_eq!(IpvsCmd::GetInfo.number(), 15);
        assert_eq!(IpvsCmd::Flush.number(), 17);
        for c in IpvsCmd::ALL {
            assert_eq!(IpvsCmd::from_number(c.number()), Some(c));
        }
        assert_eq!(IpvsCmd::from_number(0), None);
        assert_eq!(IpvsCmd::from_number(18), None);
    }

    #[test]
    fn whole_message_bytes() {
        // DEL_SERVICE tcp/192.0.2.160:80 as nlmsghdr + genlmsghdr + attrs.
        let mut addr = [0u8; 16];
        addr[..4].copy_from_slice(&[192, 0, 2, 160]);
        let m = IpvsMessage::new(
            IpvsCmd::DelService,
            vec![CmdAttr::Service(vec![
                SvcAttr::Af(2),
                SvcAttr::Protocol(6),
                SvcAttr::Addr(addr),
                SvcAttr::Port(80),
            ])],
        );
        let mut g = GenlMessage::from_payload(m.clone());
        g.set_resolved_family_id(0x1d);
        let mut hdr = NetlinkHeader::default();
        hdr.flags = NLM_F_REQUEST | NLM_F_ACK;
        hdr.sequence_number = 7;
        let mut nl = NetlinkMessage::new(hdr, NetlinkPayload::InnerMessage(g));
        nl.finalize();
        let mut b = vec![0; nl.buffer_len()];
        nl.serialize(&mut b);
        let want: Vec<u8> = [
            &[68u8, 0, 0, 0, 0x1d, 0, 5, 0, 7, 0, 0, 0, 0, 0, 0, 0][..], // nlmsghdr
            &[3, 1, 0, 0],                                               // DEL_SERVICE, v1
            &[48, 0, 1, 0x80],                                           // nested SERVICE
            &[6, 0, 1, 0, 2, 0, 0, 0],                                   // AF_INET
            &[6, 0, 2, 0, 6, 0, 0, 0],                                   // TCP
            &[
                20, 0, 3, 0, 192, 0, 2, 160, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            ],
            &[6, 0, 4, 0, 0, 80, 0, 0], // port 80, big-endian
        ]
        .concat();
        assert_eq!(b, want);
        let back = NetlinkMessage::<GenlMessage<IpvsMessage>>::deserialize(&b).unwrap();
        match back.payload {
            NetlinkPayload::InnerMessage(g) => assert_eq!(g.payload, m),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn info_reply_parses_as_info() {
        let body = [8u8, 0, 1, 0, 1, 2, 1, 0, 8, 0, 2, 0, 0, 16, 0, 0];
        let hdr = GenlHeader {
            cmd: IpvsCmd::SetInfo.number(),
            version: 1,
        };
        let m = IpvsMessage::parse_with_param(&body[..], hdr).unwrap();
        assert_eq!(
            m.attrs,
            Attrs::Info(vec![
                InfoAttr::Version(0x010201),
                InfoAttr::ConnTabSize(4096)
            ])
        );
        let bad = GenlHeader {
            cmd: 99,
            version: 1,
        };
        assert!(IpvsMessage::parse_with_param(&body[..], bad).is_err());
        // Truncated attribute: an error, not a panic.
        assert!(IpvsMessage::parse_with_param(&body[..6], hdr).is_err());
    }
}
