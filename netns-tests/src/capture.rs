//! Capturing the test segment: an AF_PACKET socket on the bridge (in
//! promiscuous mode, so every frame switched between ports is seen),
//! kernel timestamps, every frame written to a pcap file as it arrives,
//! and the frames that matter to a failover decoded on the way: VRRP
//! adverts, gratuitous ARPs and unsolicited neighbour advertisements;
//! then what tests ask of the adverts of one VRID: the priorities they
//! carried, waiting for one, silence in FAULT.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use vigil_core::packet::Family;
use vigil_core::packet::MacAddr;
use vigil_core::packet::arp::Operation;
use vigil_core::packet::frame::{self, Content};
use vigil_core::packet::vrrp::Packet;

/// A frame of interest, decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Seen {
    /// A VRRP advert.
    Advert {
        /// Source MAC.
        mac: MacAddr,
        /// Source address.
        src: IpAddr,
        /// Destination (multicast group or unicast peer).
        dst: IpAddr,
        /// VRRP version (2 or 3).
        version: u8,
        /// Virtual router id.
        vrid: u8,
        /// Advertised priority.
        priority: u8,
    },
    /// A gratuitous ARP (request or reply announcing `addr`).
    Garp {
        /// Source MAC.
        mac: MacAddr,
        /// The announced address.
        addr: IpAddr,
    },
    /// An unsolicited neighbour advertisement (override flag set).
    Na {
        /// Source MAC.
        mac: MacAddr,
        /// The announced address.
        addr: IpAddr,
    },
    /// An ICMP (v4) message: echo requests and replies among them.
    Icmp {
        /// Source MAC.
        mac: MacAddr,
        /// Source address.
        src: IpAddr,
        /// Destination address.
        dst: IpAddr,
    },
    /// An ARP reply (not gratuitous): `addr` is at `mac`.
    ArpReply {
        /// Sender MAC.
        mac: MacAddr,
        /// Sender address.
        addr: IpAddr,
    },
}

/// One decoded frame with its kernel timestamp.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Observation {
    /// When the bridge saw it (wall clock, kernel timestamp).
    pub at: SystemTime,
    /// What it was.
    pub seen: Seen,
}

/// Decodes one Ethernet frame into what a failover cares about.
pub fn decode(bytes: &[u8]) -> Option<Seen> {
    let f = frame::parse_ethernet(bytes).ok()?;
    match f.content {
        Content::Vrrp(d) => {
            let family = match d.meta.src {
                IpAddr::V4(_) => Family::V4,
                IpAddr::V6(_) => Family::V6,
            };
            let p = Packet::new_checked(d.payload, family).ok()?;
            Some(Seen::Advert {
                mac: f.src,
                src: d.meta.src,
                dst: d.meta.dst,
                version: p.version_number(),
                vrid: p.vrid(),
                priority: p.priority(),
            })
        }
        Content::Arp(a) if a.is_gratuitous() => Some(Seen::Garp {
            mac: a.sender_mac,
            addr: IpAddr::V4(a.sender_ip),
        }),
        Content::Arp(a) if a.operation == Operation::Reply => Some(Seen::ArpReply {
            mac: a.sender_mac,
            addr: IpAddr::V4(a.sender_ip),
        }),
        Content::OtherIp {
            src,
            dst,
            protocol: 1,
        } => Some(Seen::Icmp {
            mac: f.src,
            src,
            dst,
        }),
        Content::NeighborAdvert(na) if na.override_flag && !na.solicited => Some(Seen::Na {
            mac: f.src,
            addr: IpAddr::V6(na.target),
        }),
        _ => None,
    }
}

/// A running capture; stops (and flushes its pcap) on drop.
pub struct Capture {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    seen: Arc<Mutex<Vec<Observation>>>,
    frames: Arc<Mutex<u64>>,
    path: PathBuf,
}

impl Capture {
    /// Starts capturing on `dev` in namespace `netns` into the pcap file
    /// `pcap`; returns once the socket is bound (frames sent afterwards
    /// are seen).
    pub fn start(netns: &str, dev: &str, pcap: &Path) -> Result<Capture, String> {
        let stop = Arc::new(AtomicBool::new(false));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let frames = Arc::new(Mutex::new(0u64));
        let file = File::create(pcap).map_err(|e| format!("{}: {e}", pcap.display()))?;
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (st, sn, fr, dev_name) = (stop.clone(), seen.clone(), frames.clone(), dev.to_string());
        let thread = crate::ns::spawn_in(netns, move || {
            let sock = match open(&dev_name) {
                Ok(s) => {
                    let _ = ready_tx.send(Ok(()));
                    s
                }
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                    return;
                }
            };
            run(sock, BufWriter::new(file), &st, &sn, &fr);
        });
        match ready_rx.recv_timeout(Duration::from_secs(5)) {
            Ok(Ok(())) => Ok(Capture {
                stop,
                thread: Some(thread),
                seen,
                frames,
                path: pcap.to_path_buf(),
            }),
            Ok(Err(e)) => Err(format!("capture on {dev} in {netns}: {e}")),
            Err(_) => Err(format!("capture on {dev} in {netns}: did not start")),
        }
    }

    /// Everything decoded so far, in arrival order.
    pub fn observations(&self) -> Vec<Observation> {
        self.seen.lock().expect("not poisoned").clone()
    }

    /// How many frames were captured so far.
    pub fn frames(&self) -> u64 {
        *self.frames.lock().expect("not poisoned")
    }

    /// The pcap file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Every VRRP advert of `vrid` seen so far, in order: when, and its
    /// priority.
    pub fn adverts(&self, vrid: u8) -> Vec<(SystemTime, u8)> {
        self.observations()
            .iter()
            .filter_map(|o| match o.seen {
                Seen::Advert {
                    vrid: v, priority, ..
                } if v == vrid => Some((o.at, priority)),
                _ => None,
            })
            .collect()
    }

    /// The priority of the last advert of `vrid` seen so far, if any.
    pub fn last_priority(&self, vrid: u8) -> Option<u8> {
        self.adverts(vrid).last().map(|a| a.1)
    }

    /// Waits (up to `within`) until the last advert of `vrid` carries
    /// `want`; an error naming what the adverts carry otherwise.
    pub fn wait_priority(&self, vrid: u8, want: u8, within: Duration) -> Result<(), String> {
        let end = Instant::now() + within;
        loop {
            let got = self.last_priority(vrid);
            if got == Some(want) {
                return Ok(());
            }
            if Instant::now() > end {
                return Err(format!("adverts carry {got:?}, not {want}"));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// After the last advert of `vrid` (priority 0), watches for `quiet`:
    /// an error if any advert of `vrid` comes later than the burst of
    /// priority-0 adverts sent on entering FAULT (within 500 ms of the
    /// first).
    pub fn stays_silent(&self, vrid: u8, quiet: Duration) -> Result<(), String> {
        let before = self.adverts(vrid);
        let first_zero = before.iter().rposition(|a| a.1 != 0).map_or(0, |i| i + 1);
        let Some(&(zero_at, _)) = before.get(first_zero) else {
            return Err("no priority-0 advert".to_string());
        };
        std::thread::sleep(quiet);
        let later: Vec<u8> = self.adverts(vrid)[first_zero..]
            .iter()
            .filter(|a| a.0 > zero_at + Duration::from_millis(500))
            .map(|a| a.1)
            .collect();
        if later.is_empty() {
            Ok(())
        } else {
            Err(format!("{} adverts in FAULT: {later:?}", later.len()))
        }
    }

    /// Stops capturing; the observations (the pcap is complete).
    pub fn finish(mut self) -> Vec<Observation> {
        self.stop_now();
        self.observations()
    }

    fn stop_now(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        self.stop_now();
    }
}

/// An owned socket descriptor, closed on drop.
struct Fd(i32);

impl Drop for Fd {
    fn drop(&mut self) {
        // SAFETY: closing a descriptor this value owns.
        unsafe { libc::close(self.0) };
    }
}

fn last_error(what: &str) -> String {
    format!("{what}: {}", std::io::Error::last_os_error())
}

/// An AF_PACKET socket bound to `dev`, promiscuous, with nanosecond
/// timestamps and a 100 ms receive timeout.
fn open(dev: &str) -> Result<Fd, String> {
    let proto = (libc::ETH_P_ALL as u16).to_be();
    // SAFETY: plain socket call.
    let fd = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW, i32::from(proto)) };
    if fd < 0 {
        return Err(last_error("socket(AF_PACKET)"));
    }
    let fd = Fd(fd);
    let name = std::ffi::CString::new(dev).map_err(|e| e.to_string())?;
    // SAFETY: a valid NUL-terminated name.
    let ifindex = unsafe { libc::if_nametoindex(name.as_ptr()) };
    if ifindex == 0 {
        return Err(last_error(&format!("interface {dev}")));
    }
    // SAFETY: sockaddr_ll is plain data; zeroed is a valid value.
    let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    sll.sll_family = libc::AF_PACKET as u16;
    sll.sll_protocol = proto;
    sll.sll_ifindex = ifindex as i32;
    // SAFETY: binding with a correctly sized sockaddr_ll.
    let r = unsafe {
        libc::bind(
            fd.0,
            (&sll as *const libc::sockaddr_ll).cast(),
            std::mem::size_of::<libc::sockaddr_ll>() as u32,
        )
    };
    if r != 0 {
        return Err(last_error("bind"));
    }
    // SAFETY: packet_mreq is plain data.
    let mut mreq: libc::packet_mreq = unsafe { std::mem::zeroed() };
    mreq.mr_ifindex = ifindex as i32;
    mreq.mr_type = libc::PACKET_MR_PROMISC as u16;
    setsockopt(fd.0, libc::SOL_PACKET, libc::PACKET_ADD_MEMBERSHIP, &mreq)?;
    setsockopt(fd.0, libc::SOL_SOCKET, libc::SO_TIMESTAMPNS, &1i32)?;
    let tv = libc::timeval {
        tv_sec: 0,
        tv_usec: 100_000,
    };
    setsockopt(fd.0, libc::SOL_SOCKET, libc::SO_RCVTIMEO, &tv)?;
    setsockopt(fd.0, libc::SOL_SOCKET, libc::SO_RCVBUF, &(4i32 << 20))?;
    Ok(fd)
}

fn setsockopt<T>(fd: i32, level: i32, name: i32, value: &T) -> Result<(), String> {
    // SAFETY: `value` points to a live T of the size given.
    let r = unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (value as *const T).cast(),
            std::mem::size_of::<T>() as u32,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(last_error(&format!("setsockopt({level}, {name})")))
    }
}

/// The priorities of `adverts` (see [`Capture::adverts`]) with repeats
/// folded, but every priority-0 advert kept (how many a daemon sends on
/// entering FAULT): `[100, 40, 100]`, `[100, 0, 0, 100]`.
pub fn folded(adverts: &[(SystemTime, u8)]) -> Vec<u8> {
    let mut v: Vec<u8> = adverts.iter().map(|a| a.1).collect();
    v.dedup_by(|a, b| a == b && *a != 0);
    v
}

/// Writes the pcap global header (nanosecond timestamps, Ethernet).
pub fn write_pcap_header(w: &mut impl Write) -> std::io::Result<()> {
    w.write_all(&0xa1b2_3c4du32.to_le_bytes())?;
    w.write_all(&2u16.to_le_bytes())?;
    w.write_all(&4u16.to_le_bytes())?;
    w.write_all(&0i32.to_le_bytes())?;
    w.write_all(&0u32.to_le_bytes())?;
    w.write_all(&65_535u32.to_le_bytes())?;
    w.write_all(&1u32.to_le_bytes())
}

/// Writes one pcap record.
pub fn write_pcap_record(w: &mut impl Write, at: SystemTime, bytes: &[u8]) -> std::io::Result<()> {
    let d = at.duration_since(UNIX_EPOCH).unwrap_or_default();
    w.write_all(&(d.as_secs() as u32).to_le_bytes())?;
    w.write_all(&d.subsec_nanos().to_le_bytes())?;
    w.write_all(&(bytes.len() as u32).to_le_bytes())?;
    w.write_all(&(bytes.len() as u32).to_le_bytes())?;
    w.write_all(bytes)
}

fn run(
    fd: Fd,
    mut out: BufWriter<File>,
    stop: &AtomicBool,
    seen: &Mutex<Vec<Observation>>,
    frames: &Mutex<u64>,
) {
    let _ = write_pcap_header(&mut out);
    let _ = out.flush();
    let mut buf = vec![0u8; 65_536];
    let mut control = [0u64; 16];
    while !stop.load(Ordering::Relaxed) {
        // SAFETY: sockaddr_ll and msghdr are plain data.
        let mut from: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        let mut iov = libc::iovec {
            iov_base: buf.as_mut_ptr().cast(),
            iov_len: buf.len(),
        };
        // SAFETY: zeroed msghdr, then every pointer set to live buffers.
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_name = (&mut from as *mut libc::sockaddr_ll).cast();
        msg.msg_namelen = std::mem::size_of::<libc::sockaddr_ll>() as u32;
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.as_mut_ptr().cast();
        msg.msg_controllen = std::mem::size_of_val(&control);
        // SAFETY: msg points to live buffers for the duration of the call.
        let n = unsafe { libc::recvmsg(fd.0, &mut msg, 0) };
        if n < 0 {
            continue; // timeout (EAGAIN) or EINTR: look at the stop flag
        }
        if from.sll_pkttype == libc::PACKET_OUTGOING {
            continue;
        }
        let at = timestamp(&msg).unwrap_or_else(SystemTime::now);
        let bytes = &buf[..n as usize];
        let _ = write_pcap_record(&mut out, at, bytes);
        let _ = out.flush();
        *frames.lock().expect("not poisoned") += 1;
        if let Some(s) = decode(bytes) {
            seen.lock()
                .expect("not poisoned")
                .push(Observation { at, seen: s });
        }
    }
    let _ = out.flush();
}

/// The SCM_TIMESTAMPNS of a received message.
fn timestamp(msg: &libc::msghdr) -> Option<SystemTime> {
    // SAFETY: walking the control messages the kernel filled in, within
    // msg_controllen, with the libc macros.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(msg);
        while !c.is_null() {
            if (*c).cmsg_level == libc::SOL_SOCKET && (*c).cmsg_type == libc::SCM_TIMESTAMPNS {
                let ts: libc::timespec = std::ptr::read_unaligned(libc::CMSG_DATA(c).cast());
                return Some(UNIX_EPOCH + Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32));
            }
            c = libc::CMSG_NXTHDR(msg, c);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use vigil_core::packet::arp::Arp;
    use vigil_core::packet::vrrp::{
        Advert, Auth, ChecksumContext, ChecksumMode, Interval, Version,
    };

    #[test]
    fn decodes_adverts_and_garps() {
        let mac = MacAddr::local(1);
        let vip = "192.0.2.160".parse().unwrap();
        let garp = frame::announcement(mac, vip, false);
        assert_eq!(decode(&garp), Some(Seen::Garp { mac, addr: vip }));
        let src = "192.0.2.150".parse().unwrap();
        let dst = "224.0.0.18".parse().unwrap();
        let advert = Advert {
            version: Version::V2,
            vrid: 51,
            priority: 100,
            interval: Interval::Seconds(1),
            auth: Auth::pass("1111"),
            addresses: vec![vip],
        };
        let ctx = ChecksumContext {
            src,
            dst,
            mode: ChecksumMode::Standard,
        };
        let bytes = frame::vrrp(mac, MacAddr::BROADCAST, src, dst, &advert.to_bytes(&ctx));
        assert_eq!(
            decode(&bytes),
            Some(Seen::Advert {
                mac,
                src,
                dst,
                version: 2,
                vrid: 51,
                priority: 100
            })
        );
        let req = Arp {
            operation: Operation::Request,
            sender_mac: mac,
            sender_ip: "192.0.2.200".parse().unwrap(),
            target_mac: MacAddr::default(),
            target_ip: "192.0.2.160".parse().unwrap(),
        };
        let f = frame::ethernet(
            MacAddr::BROADCAST,
            mac,
            None,
            frame::ETHERTYPE_ARP,
            &req.to_bytes(),
        );
        assert_eq!(decode(&f), None);
    }

    #[test]
    fn pcap_records_have_nanoseconds() {
        let mut v = Vec::new();
        write_pcap_header(&mut v).unwrap();
        let at = UNIX_EPOCH + Duration::new(5, 123_456_789);
        write_pcap_record(&mut v, at, &[1, 2, 3]).unwrap();
        assert_eq!(&v[..4], &0xa1b2_3c4du32.to_le_bytes());
        assert_eq!(v.len(), 24 + 16 + 3);
        assert_eq!(&v[24..28], &5u32.to_le_bytes());
        assert_eq!(&v[28..32], &123_456_789u32.to_le_bytes());
    }
}
