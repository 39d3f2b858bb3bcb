//! Reading captures: pcap (micro- and nanosecond) and pcapng files, with
//! what real captures hold reported instead of refused: frames cut by the
//! snap length, timestamps that go backwards, a file cut short, link
//! types Vigil cannot decode.

use std::fmt;
use std::time::Duration;

use pcap_file::DataLink;
use pcap_file::pcap::PcapReader;
use pcap_file::pcapng::blocks::interface_description::InterfaceDescriptionOption;
use pcap_file::pcapng::{Block, PcapNgReader};
use pcap_file::{PcapError, TsResolution};

/// The link layer a frame starts with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkType {
    /// Ethernet II (DLT_EN10MB), optionally 802.1Q tagged.
    Ethernet,
    /// Linux cooked capture v1 (DLT_LINUX_SLL, 16-byte header).
    LinuxSll,
    /// Linux cooked capture v2 (DLT_LINUX_SLL2, 20-byte header).
    LinuxSll2,
    /// Raw IP, no link header (DLT_RAW, LINKTYPE_IPV4/IPV6).
    RawIp,
    /// Anything else: the frames are counted and skipped.
    Other(u32),
}

impl LinkType {
    fn of(d: DataLink) -> LinkType {
        match d {
            DataLink::ETHERNET => LinkType::Ethernet,
            DataLink::LINUX_SLL => LinkType::LinuxSll,
            DataLink::LINUX_SLL2 => LinkType::LinuxSll2,
            DataLink::RAW | DataLink::IPV4 | DataLink::IPV6 => LinkType::RawIp,
            other => LinkType::Other(u32::from(other)),
        }
    }
}

impl fmt::Display for LinkType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LinkType::Ethernet => f.write_str("ethernet"),
            LinkType::LinuxSll => f.write_str("linux-sll"),
            LinkType::LinuxSll2 => f.write_str("linux-sll2"),
            LinkType::RawIp => f.write_str("raw-ip"),
            LinkType::Other(n) => write!(f, "linktype-{n}"),
        }
    }
}

/// The file format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// libpcap format.
    Pcap,
    /// pcapng.
    PcapNg,
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Pcap => "pcap",
            Format::PcapNg => "pcapng",
        })
    }
}

/// One captured frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawFrame {
    /// 1-based packet number, as Wireshark counts them.
    pub index: usize,
    /// Capture timestamp (since the Unix epoch).
    pub timestamp: Duration,
    /// Its link layer.
    pub link: LinkType,
    /// The bytes captured (possibly fewer than were on the wire).
    pub data: Vec<u8>,
    /// The length on the wire.
    pub orig_len: u32,
}

impl RawFrame {
    /// Whether the snap length cut the frame.
    pub fn truncated(&self) -> bool {
        (self.data.len() as u64) < u64::from(self.orig_len)
    }
}

/// Something worth telling about a capture that did not stop the replay.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    /// The packet it concerns (1-based), if one.
    pub index: Option<usize>,
    /// What.
    pub message: String,
}

impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.index {
            Some(i) => write!(f, "packet {i}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// A whole capture, frames in file order.
#[derive(Clone, Debug)]
pub struct Capture {
    /// The file format.
    pub format: Format,
    /// The link type of the first interface.
    pub link: LinkType,
    /// The frames, in file order.
    pub frames: Vec<RawFrame>,
    /// Packets whose record is damaged (a timestamp that is no time):
    /// not replayed, kept for what their bytes say (each with why; its
    /// timestamp is the packet's before it).
    pub dropped: Vec<(RawFrame, String)>,
    /// What was noticed while reading.
    pub notes: Vec<Note>,
}

/// A capture that cannot be read at all.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error(pub String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

const PCAPNG_MAGIC: [u8; 4] = [0x0a, 0x0d, 0x0d, 0x0a];

/// Reads a pcap or pcapng file from `bytes`. A file cut short keeps the
/// frames read so far (with a note); a file of neither format is an error.
pub fn read(bytes: &[u8]) -> Result<Capture, Error> {
    if bytes.len() < 4 {
        return Err(Error(format!(
            "not a capture: {} bytes, too short for a pcap or pcapng header",
            bytes.len()
        )));
    }
    let mut c = if bytes[..4] == PCAPNG_MAGIC {
        read_pcapng(bytes)?
    } else {
        read_pcap(bytes)?
    };
    note_truncation(&mut c);
    note_disorder(&mut c);
    Ok(c)
}

fn read_pcap(bytes: &[u8]) -> Result<Capture, Error> {
    let mut r = PcapReader::new(bytes)
        .map_err(|e| Error(format!("not a pcap or pcapng file: {}", describe(&e))))?;
    let h = r.header();
    let link = LinkType::of(h.datalink);
    let mut c = Capture {
        format: Format::Pcap,
        link,
        frames: Vec::new(),
        dropped: Vec::new(),
        notes: Vec::new(),
    };
    let mut index = 0;
    while let Some(p) = r.next_raw_packet() {
        index += 1;
        let p = match p {
            Ok(p) => p,
            Err(e) => {
                c.notes.push(Note {
                    index: Some(index),
                    message: format!(
                        "file ends inside this packet ({}); the {} packets before it are replayed",
                        describe(&e),
                        index - 1
                    ),
                });
                break;
            }
        };
        let frac_ns = match h.ts_resolution {
            TsResolution::MicroSecond => u64::from(p.ts_frac) * 1_000,
            TsResolution::NanoSecond => u64::from(p.ts_frac),
        };
        if frac_ns >= 1_000_000_000 {
            let why = format!("timestamp fraction {} is not below one second", p.ts_frac);
            c.notes.push(Note {
                index: Some(index),
                message: format!("{why}: skipped"),
            });
            let previous = c.frames.last().map_or(Duration::ZERO, |f| f.timestamp);
            c.dropped.push((
                RawFrame {
                    index,
                    timestamp: previous,
                    link,
                    data: p.data.into_owned(),
                    orig_len: p.orig_len,
                },
                why,
            ));
            continue;
        }
        c.frames.push(RawFrame {
            index,
            timestamp: Duration::new(u64::from(p.ts_sec), frac_ns as u32),
            link,
            data: p.data.into_owned(),
            orig_len: p.orig_len,
        });
    }
    Ok(c)
}

/// An interface of a pcapng section: its link type and how long one
/// timestamp unit is.
#[derive(Clone, Copy)]
struct Interface {
    link: LinkType,
    tsresol: u8,
}

/// A pcapng timestamp in `tsresol` units, as nanoseconds.
fn ng_nanos(raw: u64, tsresol: u8) -> u64 {
    let raw = u128::from(raw);
    let ns = if tsresol & 0x80 == 0 {
        let exp = u32::from(tsresol);
        if exp <= 9 {
            raw * 10u128.pow(9 - exp)
        } else {
            raw / 10u128.pow((exp - 9).min(38))
        }
    } else {
        let exp = u32::from(tsresol & 0x7f).min(127);
        (raw * 1_000_000_000) >> exp
    };
    ns.min(u128::from(u64::MAX)) as u64
}

fn read_pcapng(bytes: &[u8]) -> Result<Capture, Error> {
    let mut r = PcapNgReader::new(bytes)
        .map_err(|e| Error(format!("not a pcapng file: {}", describe(&e))))?;
    let mut c = Capture {
        format: Format::PcapNg,
        link: LinkType::Other(0),
        frames: Vec::new(),
        dropped: Vec::new(),
        notes: Vec::new(),
    };
    let mut interfaces: Vec<Interface> = Vec::new();
    let mut index = 0;
    let mut last = Duration::ZERO;
    while let Some(b) = r.next_block() {
        let b = match b {
            Ok(b) => b,
            Err(e) => {
                c.notes.push(Note {
                    index: Some(index + 1),
                    message: format!(
                        "file ends inside a block ({}); the {index} packets before it are replayed",
                        describe(&e)
                    ),
                });
                break;
            }
        };
        match b {
            Block::SectionHeader(_) => interfaces.clear(),
            Block::InterfaceDescription(idb) => {
                let tsresol = idb
                    .options
                    .iter()
                    .find_map(|o| match o {
                        InterfaceDescriptionOption::IfTsResol(r) => Some(*r),
                        _ => None,
                    })
                    .unwrap_or(6);
                let link = LinkType::of(idb.linktype);
                if interfaces.is_empty() && c.frames.is_empty() {
                    c.link = link;
                }
                interfaces.push(Interface { link, tsresol });
            }
            Block::EnhancedPacket(epb) => {
                index += 1;
                let Some(ifc) = interfaces.get(epb.interface_id as usize).copied() else {
                    c.notes.push(Note {
                        index: Some(index),
                        message: format!(
                            "names interface {} which no interface block describes: skipped",
                            epb.interface_id
                        ),
                    });
                    continue;
                };
                // pcap-file hands the raw timestamp over as nanoseconds.
                let raw = epb.timestamp.as_nanos().min(u128::from(u64::MAX)) as u64;
                let ts = Duration::from_nanos(ng_nanos(raw, ifc.tsresol));
                last = ts;
                c.frames.push(RawFrame {
                    index,
                    timestamp: ts,
                    link: ifc.link,
                    data: epb.data.into_owned(),
                    orig_len: epb.original_len,
                });
            }
            Block::SimplePacket(spb) => {
                index += 1;
                let Some(ifc) = interfaces.first().copied() else {
                    c.notes.push(Note {
                        index: Some(index),
                        message: "simple packet block before any interface block: skipped".into(),
                    });
                    continue;
                };
                c.notes.push(Note {
                    index: Some(index),
                    message: "simple packet block has no timestamp: given the previous packet's"
                        .into(),
                });
                c.frames.push(RawFrame {
                    index,
                    timestamp: last,
                    link: ifc.link,
                    data: spb.data.into_owned(),
                    orig_len: spb.original_len,
                });
            }
            _ => {}
        }
    }
    if interfaces.is_empty() && c.frames.is_empty() {
        c.link = LinkType::Other(0);
    }
    Ok(c)
}

fn note_truncation(c: &mut Capture) {
    let cut: Vec<&RawFrame> = c.frames.iter().filter(|f| f.truncated()).collect();
    if let Some(first) = cut.first() {
        c.notes.push(Note {
            index: None,
            message: format!(
                "{} frame(s) cut by the snap length (first: packet {}, {} of {} bytes captured)",
                cut.len(),
                first.index,
                first.data.len(),
                first.orig_len
            ),
        });
    }
}

fn note_disorder(c: &mut Capture) {
    let mut latest = Duration::ZERO;
    let mut notes = Vec::new();
    for f in &c.frames {
        if f.timestamp < latest {
            notes.push(Note {
                index: Some(f.index),
                message: format!(
                    "timestamp {} earlier than a packet before it: replayed in time order",
                    super::fmt_diff((latest - f.timestamp).as_nanos() as i128)
                        .trim_start_matches('+')
                ),
            });
        }
        latest = latest.max(f.timestamp);
    }
    c.notes.extend(notes);
}

fn describe(e: &PcapError) -> String {
    match e {
        PcapError::IncompleteBuffer => "cut short".to_string(),
        PcapError::IoError(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            "cut short".to_string()
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A little-endian pcap file with `link` and the given (time ns,
    /// data, orig_len) records, microsecond or nanosecond resolution.
    pub fn pcap(link: u32, nanos: bool, snaplen: u32, recs: &[(u64, &[u8], u32)]) -> Vec<u8> {
        let mut b = Vec::new();
        let magic: u32 = if nanos { 0xa1b2_3c4d } else { 0xa1b2_c3d4 };
        b.extend_from_slice(&magic.to_le_bytes());
        b.extend_from_slice(&2u16.to_le_bytes());
        b.extend_from_slice(&4u16.to_le_bytes());
        b.extend_from_slice(&0i32.to_le_bytes());
        b.extend_from_slice(&0u32.to_le_bytes());
        b.extend_from_slice(&snaplen.to_le_bytes());
        b.extend_from_slice(&link.to_le_bytes());
        for (t, d, orig) in recs {
            let sec = (t / 1_000_000_000) as u32;
            let frac = if nanos {
                (t % 1_000_000_000) as u32
            } else {
                ((t % 1_000_000_000) / 1000) as u32
            };
            b.extend_from_slice(&sec.to_le_bytes());
            b.extend_from_slice(&frac.to_le_bytes());
            b.extend_from_slice(&(d.len() as u32).to_le_bytes());
            b.extend_from_slice(&orig.to_le_bytes());
            b.extend_from_slice(d);
        }
        b
    }

    fn block(kind: u32, body: &[u8]) -> Vec<u8> {
        let mut body = body.to_vec();
        while !body.len().is_multiple_of(4) {
            body.push(0);
        }
        let len = (12 + body.len()) as u32;
        let mut b = Vec::new();
        b.extend_from_slice(&kind.to_le_bytes());
        b.extend_from_slice(&len.to_le_bytes());
        b.extend_from_slice(&body);
        b.extend_from_slice(&len.to_le_bytes());
        b
    }

    /// A little-endian pcapng file: one interface of `link` with
    /// `tsresol` (None: default microseconds), then EPBs (raw units).
    pub fn pcapng(link: u16, tsresol: Option<u8>, recs: &[(u64, &[u8])]) -> Vec<u8> {
        let mut shb = Vec::new();
        shb.extend_from_slice(&0x1a2b_3c4du32.to_le_bytes());
        shb.extend_from_slice(&1u16.to_le_bytes());
        shb.extend_from_slice(&0u16.to_le_bytes());
        shb.extend_from_slice(&(-1i64).to_le_bytes());
        let mut out = block(0x0a0d_0d0a, &shb);
        let mut idb = Vec::new();
        idb.extend_from_slice(&link.to_le_bytes());
        idb.extend_from_slice(&0u16.to_le_bytes());
        idb.extend_from_slice(&262_144u32.to_le_bytes());
        if let Some(r) = tsresol {
            idb.extend_from_slice(&9u16.to_le_bytes());
            idb.extend_from_slice(&1u16.to_le_bytes());
            idb.extend_from_slice(&[r, 0, 0, 0]);
            idb.extend_from_slice(&[0, 0, 0, 0]);
        }
        out.extend(block(1, &idb));
        for (t, d) in recs {
            let mut epb = Vec::new();
            epb.extend_from_slice(&0u32.to_le_bytes());
            epb.extend_from_slice(&((t >> 32) as u32).to_le_bytes());
            epb.extend_from_slice(&(*t as u32).to_le_bytes());
            epb.extend_from_slice(&(d.len() as u32).to_le_bytes());
            epb.extend_from_slice(&(d.len() as u32).to_le_bytes());
            epb.extend_from_slice(d);
            while !epb.len().is_multiple_of(4) {
                epb.push(0);
            }
            out.extend(block(6, &epb));
        }
        out
    }

    #[test]
    fn pcap_micro_and_nano() {
        let f = [1u8; 42];
        let us = read(&pcap(1, false, 65535, &[(1_500_000_000, &f, 42)])).unwrap();
        assert_eq!(us.format, Format::Pcap);
        assert_eq!(us.link, LinkType::Ethernet);
        assert_eq!(us.frames[0].timestamp, Duration::from_millis(1500));
        let ns = read(&pcap(276, true, 65535, &[(1_000_000_007, &f, 42)])).unwrap();
        assert_eq!(ns.link, LinkType::LinuxSll2);
        assert_eq!(ns.frames[0].timestamp, Duration::from_nanos(1_000_000_007));
        assert!(ns.notes.is_empty());
    }

    #[test]
    fn snaplen_truncation_is_kept_and_noted() {
        // orig_len beyond the snap length: pcap-file's checked reader
        // would refuse it; real captures hold it.
        let f = [1u8; 64];
        let c = read(&pcap(1, false, 64, &[(0, &f, 90)])).unwrap();
        assert_eq!(c.frames.len(), 1);
        assert!(c.frames[0].truncated());
        assert_eq!(
            c.notes[0].to_string(),
            "1 frame(s) cut by the snap length (first: packet 1, 64 of 90 bytes captured)"
        );
    }

    #[test]
    fn out_of_order_and_cut_files_are_reported() {
        let f = [1u8; 42];
        let mut b = pcap(
            1,
            false,
            65535,
            &[
                (2_000_000_000, &f, 42),
                (1_000_000_000, &f, 42),
                (3_000_000_000, &f, 42),
            ],
        );
        b.truncate(b.len() - 10);
        let c = read(&b).unwrap();
        assert_eq!(c.frames.len(), 2);
        let notes: Vec<String> = c.notes.iter().map(|n| n.to_string()).collect();
        assert_eq!(
            notes,
            [
                "packet 3: file ends inside this packet (cut short); the 2 packets before it are replayed",
                "packet 2: timestamp 1000ms earlier than a packet before it: replayed in time order",
            ]
        );
    }

    #[test]
    fn pcapng_resolutions() {
        let f = [1u8; 42];
        let c = read(&pcapng(1, None, &[(1_500_000, &f)])).unwrap();
        assert_eq!(c.format, Format::PcapNg);
        assert_eq!(c.frames[0].timestamp, Duration::from_millis(1500));
        let c = read(&pcapng(113, Some(9), &[(1_500_000_123, &f)])).unwrap();
        assert_eq!(c.link, LinkType::LinuxSll);
        assert_eq!(c.frames[0].timestamp, Duration::from_nanos(1_500_000_123));
        // 2^-10 s units.
        let c = read(&pcapng(1, Some(0x80 | 10), &[(1024, &f)])).unwrap();
        assert_eq!(c.frames[0].timestamp, Duration::from_secs(1));
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(read(b"hi").is_err());
        assert!(read(&[0u8; 40]).unwrap_err().0.starts_with("not a pcap"));
    }
}
