//! SMTP_CHECK: read the greeting, `HELO name`, read the reply, `QUIT`.

use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use vigil_core::check::{NetError, ProbeResult, ProbeTarget};

use super::{net_error, tcp};

/// Reads one (possibly multi-line) SMTP reply; its code.
async fn reply<R: tokio::io::AsyncBufRead + Unpin>(
    r: &mut R,
    timeout: Duration,
) -> Result<u16, NetError> {
    let mut line = String::new();
    loop {
        line.clear();
        match tokio::time::timeout(timeout, r.read_line(&mut line)).await {
            Ok(Ok(0)) => return Err(NetError::Reset),
            Ok(Ok(_)) => {}
            Ok(Err(e)) => return Err(net_error(&e)),
            Err(_) => return Err(NetError::TimedOut),
        }
        let code = line
            .get(..3)
            .and_then(|c| c.parse::<u16>().ok())
            .unwrap_or(0);
        // "250-..." continues; "250 ..." (or a bare code) ends the reply.
        if line.as_bytes().get(3) != Some(&b'-') {
            return Ok(code);
        }
    }
}

/// SMTP_CHECK.
pub async fn check(target: &ProbeTarget, helo_name: &str, timeout: Duration) -> ProbeResult {
    let stream = match tcp::connect(target, timeout).await {
        Ok(s) => s,
        Err(e) => return ProbeResult::Net(e),
    };
    let (rd, mut wr) = stream.into_split();
    let mut rd = BufReader::new(rd);
    let greeting = match reply(&mut rd, timeout).await {
        Ok(c) => c,
        Err(e) => return ProbeResult::Net(e),
    };
    let mut helo = 0;
    if greeting == 220 {
        let msg = format!("HELO {helo_name}\r\n");
        if let Ok(Ok(())) = tokio::time::timeout(timeout, wr.write_all(msg.as_bytes())).await {
            helo = reply(&mut rd, timeout).await.unwrap_or(0);
        }
        let _ = tokio::time::timeout(timeout, wr.write_all(b"QUIT\r\n")).await;
    }
    ProbeResult::Smtp { greeting, helo }
}
