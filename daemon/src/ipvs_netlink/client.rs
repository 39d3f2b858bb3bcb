//! A small synchronous generic-netlink client for the `IPVS` family: the
//! family id resolved through the controller, requests acknowledged one by
//! one or pipelined in batches, dumps, and counters of what was sent.
//!
//! Blocking is fine here: vigild calls it from its check thread, and the
//! kernel answers IPVS commands synchronously (a receive timeout guards
//! against the unexpected).

use std::fmt;
use std::io;
use std::time::Duration;

use netlink_packet_core::{
    NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST, NetlinkBuffer, NetlinkHeader, NetlinkMessage,
    NetlinkPayload,
};
use netlink_packet_generic::GenlMessage;
use netlink_packet_generic::ctrl::nlas::GenlCtrlAttrs;
use netlink_packet_generic::ctrl::{GenlCtrl, GenlCtrlCmd};
use netlink_sys::{Socket, SocketAddr, protocols::NETLINK_GENERIC};

use super::errno::Errno;
use super::message::{FAMILY_NAME, IpvsMessage};

/// How many requests go in one `send` before their acks are read (the
/// acks must fit the socket's receive buffer).
pub const BATCH: usize = 64;

/// How long to wait for the kernel before giving up on a reply.
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a request failed.
#[derive(Debug)]
pub enum Error {
    /// A socket call failed (`what` names it).
    Io(&'static str, io::Error),
    /// The kernel has no generic-netlink family `IPVS` (ip_vs not loaded).
    NoFamily,
    /// The kernel refused the request.
    Kernel(Errno),
    /// A reply could not be decoded.
    Decode(String),
    /// No reply within [`REPLY_TIMEOUT`].
    Timeout,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io(what, e) => write!(f, "netlink {what}: {e}"),
            Error::NoFamily => write!(
                f,
                "generic-netlink family {FAMILY_NAME} not found (is the ip_vs module loaded?)"
            ),
            Error::Kernel(e) => write!(f, "kernel: {e}"),
            Error::Decode(e) => write!(f, "undecodable reply: {e}"),
            Error::Timeout => write!(f, "no reply from the kernel within {REPLY_TIMEOUT:?}"),
        }
    }
}

impl std::error::Error for Error {}

/// What a client has sent and received.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// Request messages sent (commands and dump requests).
    pub requests: u64,
    /// Of those, commands that change the table.
    pub writes: u64,
    /// Of those, dump requests.
    pub dumps: u64,
    /// `send` system calls.
    pub sends: u64,
    /// Datagrams received.
    pub recvs: u64,
    /// Messages received in dump replies.
    pub dump_entries: u64,
}

/// A generic-netlink socket talking to the `IPVS` family.
pub struct Client {
    sock: Socket,
    family: u16,
    seq: u32,
    rx: Vec<u8>,
    counters: Counters,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("family", &self.family)
            .field("counters", &self.counters)
            .finish()
    }
}

type Msg = NetlinkMessage<GenlMessage<IpvsMessage>>;

fn io_err(what: &'static str) -> impl FnOnce(io::Error) -> Error {
    move |e| Error::Io(what, e)
}

impl Client {
    /// Opens a socket and resolves the `IPVS` family.
    pub fn open() -> Result<Client, Error> {
        let mut sock = Socket::new(NETLINK_GENERIC).map_err(io_err("socket"))?;
        sock.bind_auto().map_err(io_err("bind"))?;
        sock.connect(&SocketAddr::new(0, 0))
            .map_err(io_err("connect"))?;
        // Errors carry only the request's header back; success acks too.
        sock.set_cap_ack(true).map_err(io_err("NETLINK_CAP_ACK"))?;
        let tv = nix::sys::time::TimeVal::new(REPLY_TIMEOUT.as_secs() as i64, 0);
        nix::sys::socket::setsockopt(&sock, nix::sys::socket::sockopt::ReceiveTimeout, &tv)
            .map_err(|e| Error::Io("SO_RCVTIMEO", e.into()))?;
        // Room for a batch of acks and large dump replies; best effort.
        let _ =
            nix::sys::socket::setsockopt(&sock, nix::sys::socket::sockopt::RcvBufForce, &(1 << 20));
        let family = resolve(&sock)?;
        Ok(Client {
            sock,
            family,
            seq: 0,
            rx: Vec::with_capacity(1 << 16),
            counters: Counters::default(),
        })
    }

    /// The family id the controller gave `IPVS`.
    pub fn family_id(&self) -> u16 {
        self.family
    }

    /// What was sent and received so far.
    pub fn counters(&self) -> Counters {
        self.counters
    }

    fn next_seq(&mut self) -> u32 {
        self.seq = self.seq.wrapping_add(1).max(1);
        self.seq
    }

    fn encode(&self, msg: &IpvsMessage, flags: u16, seq: u32, out: &mut Vec<u8>) {
        let mut g = GenlMessage::from_payload(msg.clone());
        g.set_resolved_family_id(self.family);
        let mut hdr = NetlinkHeader::default();
        hdr.flags = flags;
        hdr.sequence_number = seq;
        let mut nl = NetlinkMessage::new(hdr, NetlinkPayload::InnerMessage(g));
        nl.finalize();
        let at = out.len();
        out.resize(at + nl.buffer_len(), 0);
        nl.serialize(&mut out[at..]);
    }

    fn send(&mut self, buf: &[u8]) -> Result<(), Error> {
        self.counters.sends += 1;
        loop {
            match self.sock.send(buf, 0) {
                Ok(_) => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(Error::Io("send", e)),
            }
        }
    }

    /// Receives one datagram and hands each message in it to `f`.
    fn recv(&mut self, mut f: impl FnMut(u32, Reply)) -> Result<(), Error> {
        self.rx.clear();
        let n = loop {
            match self.sock.recv(&mut self.rx, 0) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Err(Error::Timeout),
                Err(e) => return Err(Error::Io("recv", e)),
            }
        };
        self.counters.recvs += 1;
        let data = &self.rx[..n.min(self.rx.len())];
        let mut off = 0;
        while off + 16 <= data.len() {
            let nb = NetlinkBuffer::new_checked(&data[off..])
                .map_err(|e| Error::Decode(e.to_string()))?;
            let len = nb.length() as usize;
            let seq = nb.sequence_number();
            let m = Msg::deserialize(&data[off..off + len])
                .map_err(|e| Error::Decode(format!("message {} of the reply: {e}", off / 16)))?;
            let reply = match m.payload {
                NetlinkPayload::Error(e) => Reply::Ack(e.code.map(|c| Errno(-c.get()))),
                NetlinkPayload::Done(d) => Reply::Done(if d.code < 0 {
                    Some(Errno(-d.code))
                } else {
                    None
                }),
                NetlinkPayload::InnerMessage(g) => Reply::Data(g.payload),
                _ => Reply::Other,
            };
            f(seq, reply);
            off += (len + 3) & !3;
        }
        Ok(())
    }

    /// Sends `msg` and waits for the kernel's acknowledgement.
    pub fn execute(&mut self, msg: &IpvsMessage) -> Result<(), Error> {
        self.execute_batch(std::slice::from_ref(msg))
            .pop()
            .unwrap_or(Err(Error::Timeout))
    }

    /// Sends `msgs` in order, [`BATCH`] per `send`, and returns each one's
    /// outcome. The kernel carries on after a refused message, as if they
    /// had been sent one by one.
    pub fn execute_batch(&mut self, msgs: &[IpvsMessage]) -> Vec<Result<(), Error>> {
        let mut out: Vec<Result<(), Error>> = Vec::with_capacity(msgs.len());
        let mut buf = Vec::new();
        for chunk in msgs.chunks(BATCH) {
            buf.clear();
            let mut seqs = Vec::with_capacity(chunk.len());
            for m in chunk {
                let seq = self.next_seq();
                seqs.push(seq);
                self.encode(m, NLM_F_REQUEST | NLM_F_ACK, seq, &mut buf);
            }
            self.counters.requests += chunk.len() as u64;
            self.counters.writes += chunk.len() as u64;
            let base = out.len();
            if let Err(e) = self.send(&buf) {
                let text = e.to_string();
                out.push(Err(e));
                for _ in 1..chunk.len() {
                    out.push(Err(Error::Io("send", io::Error::other(text.clone()))));
                }
                continue;
            }
            let mut got: Vec<Option<Result<(), Error>>> = (0..chunk.len()).map(|_| None).collect();
            let mut pending = chunk.len();
            while pending > 0 {
                let r = self.recv(|seq, reply| {
                    if let Some(i) = seqs.iter().position(|s| *s == seq)
                        && got[i].is_none()
                        && let Reply::Ack(code) = reply
                    {
                        got[i] = Some(code.map_or(Ok(()), |e| Err(Error::Kernel(e))));
                        pending -= 1;
                    }
                });
                if let Err(e) = r {
                    let text = e.to_string();
                    for g in got.iter_mut().filter(|g| g.is_none()) {
                        *g = Some(Err(Error::Io("recv", io::Error::other(text.clone()))));
                    }
                    break;
                }
            }
            out.extend(got.into_iter().map(|g| g.unwrap_or(Err(Error::Timeout))));
            debug_assert_eq!(out.len(), base + chunk.len());
        }
        out
    }

    /// Sends `msg` as a dump request; every message of the reply.
    pub fn dump(&mut self, msg: &IpvsMessage) -> Result<Vec<IpvsMessage>, Error> {
        let seq = self.next_seq();
        let mut buf = Vec::new();
        self.encode(msg, NLM_F_REQUEST | NLM_F_DUMP, seq, &mut buf);
        self.counters.requests += 1;
        self.counters.dumps += 1;
        self.send(&buf)?;
        let mut out = Vec::new();
        let mut end: Option<Result<(), Error>> = None;
        while end.is_none() {
            self.recv(|s, reply| {
                if s != seq || end.is_some() {
                    return;
                }
                match reply {
                    Reply::Data(m) => out.push(m),
                    Reply::Done(None) | Reply::Ack(None) => end = Some(Ok(())),
                    Reply::Done(Some(e)) | Reply::Ack(Some(e)) => end = Some(Err(Error::Kernel(e))),
                    Reply::Other => {}
                }
            })?;
        }
        self.counters.dump_entries += out.len() as u64;
        end.unwrap_or(Ok(())).map(|()| out)
    }

    /// Sends `msg` (a `GET_INFO`/`GET_CONFIG`/`GET_SERVICE` request) and
    /// returns the kernel's single reply.
    pub fn query(&mut self, msg: &IpvsMessage) -> Result<IpvsMessage, Error> {
        let seq = self.next_seq();
        let mut buf = Vec::new();
        self.encode(msg, NLM_F_REQUEST | NLM_F_ACK, seq, &mut buf);
        self.counters.requests += 1;
        self.send(&buf)?;
        let mut data = None;
        let mut end: Option<Result<(), Error>> = None;
        while end.is_none() {
            self.recv(|s, reply| {
                if s != seq {
                    return;
                }
                match reply {
                    Reply::Data(m) => data = Some(m),
                    Reply::Ack(None) | Reply::Done(None) => end = Some(Ok(())),
                    Reply::Ack(Some(e)) | Reply::Done(Some(e)) => end = Some(Err(Error::Kernel(e))),
                    Reply::Other => {}
                }
            })?;
        }
        end.unwrap_or(Ok(()))?;
        data.ok_or_else(|| Error::Decode(format!("no reply to {}", msg.cmd.name())))
    }
}

/// One message of a reply.
enum Reply {
    /// `NLMSG_ERROR`: an ack (`None`) or a refusal.
    Ack(Option<Errno>),
    /// `NLMSG_DONE`: the end of a dump, with its error if any.
    Done(Option<Errno>),
    /// A family message.
    Data(IpvsMessage),
    /// `NLMSG_NOOP`, `NLMSG_OVERRUN`.
    Other,
}

/// The `IPVS` family id, through the generic-netlink controller.
fn resolve(sock: &Socket) -> Result<u16, Error> {
    let mut g = GenlMessage::from_payload(GenlCtrl {
        cmd: GenlCtrlCmd::GetFamily,
        nlas: vec![GenlCtrlAttrs::FamilyName(FAMILY_NAME.to_string())],
    });
    g.finalize();
    let mut hdr = NetlinkHeader::default();
    hdr.flags = NLM_F_REQUEST | NLM_F_ACK;
    hdr.sequence_number = u32::MAX;
    let mut nl = NetlinkMessage::new(hdr, NetlinkPayload::InnerMessage(g));
    nl.finalize();
    let mut buf = vec![0; nl.buffer_len()];
    nl.serialize(&mut buf);
    sock.send(&buf, 0).map_err(io_err("send"))?;
    let mut id = None;
    loop {
        let mut rx: Vec<u8> = Vec::with_capacity(1 << 15);
        match sock.recv(&mut rx, 0) {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Err(Error::Timeout),
            Err(e) => return Err(Error::Io("recv", e)),
        }
        let mut off = 0;
        while off + 16 <= rx.len() {
            let nb =
                NetlinkBuffer::new_checked(&rx[off..]).map_err(|e| Error::Decode(e.to_string()))?;
            let len = nb.length() as usize;
            let m = NetlinkMessage::<GenlMessage<GenlCtrl>>::deserialize(&rx[off..off + len])
                .map_err(|e| Error::Decode(e.to_string()))?;
            match m.payload {
                NetlinkPayload::InnerMessage(g) => {
                    for a in &g.payload.nlas {
                        if let GenlCtrlAttrs::FamilyId(i) = a {
                            id = Some(*i);
                        }
                    }
                }
                NetlinkPayload::Error(e) => {
                    return match e.code {
                        None => id.ok_or(Error::NoFamily),
                        Some(c) if -c.get() == libc::ENOENT => Err(Error::NoFamily),
                        Some(c) => Err(Error::Kernel(Errno(-c.get()))),
                    };
                }
                _ => {}
            }
            off += (len + 3) & !3;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kernel_without_ipvs_is_named() {
        // On a host without IPVS (this build machine) the family does not
        // resolve; inside the VM lane the kernel tests cover the other case.
        if std::path::Path::new("/proc/net/ip_vs").exists() {
            return;
        }
        let e = Client::open().expect_err("no IPVS family here");
        assert!(matches!(e, Error::NoFamily), "{e:?}");
        assert_eq!(
            e.to_string(),
            "generic-netlink family IPVS not found (is the ip_vs module loaded?)"
        );
    }

    #[test]
    fn errors_read_well() {
        assert_eq!(
            Error::Kernel(Errno(libc::EEXIST)).to_string(),
            "kernel: EEXIST (File exists)"
        );
        assert_eq!(
            Error::Timeout.to_string(),
            "no reply from the kernel within 10s"
        );
    }
}
