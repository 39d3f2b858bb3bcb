//! Writing the captured frames as a pcap file (Ethernet link type,
//! nanosecond timestamps from simulated time).

use std::io::Write;

use pcap_file::pcap::{PcapHeader, PcapPacket, PcapWriter};
use pcap_file::{DataLink, TsResolution};
use vigil_core::time::Instant;

/// Writes `frames` (in time order, ties in capture order) to `out`.
pub fn write<W: Write>(out: W, frames: &[(Instant, u64, Vec<u8>)]) -> Result<W, String> {
    let header = PcapHeader {
        datalink: DataLink::ETHERNET,
        ts_resolution: TsResolution::NanoSecond,
        ..Default::default()
    };
    let mut w = PcapWriter::with_header(out, header).map_err(|e| e.to_string())?;
    let mut order: Vec<&(Instant, u64, Vec<u8>)> = frames.iter().collect();
    order.sort_by_key(|f| (f.0, f.1));
    for (at, _, bytes) in order {
        let p = PcapPacket::new(at.since_origin(), bytes.len() as u32, bytes);
        w.write_packet(&p).map_err(|e| e.to_string())?;
    }
    Ok(w.into_writer())
}
