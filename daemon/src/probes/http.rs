//! HTTP_GET and SSL_GET: connect, (TLS handshake, any certificate
//! accepted as keepalived does by default), send core's request bytes,
//! read until the server closes. Each step gets the timeout.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use vigil_core::check::{HttpGet, NetError, ProbeResult, ProbeTarget};

use super::{net_error, tcp};

/// The most response bytes kept (the verdict sees a shorter body past it).
pub const MAX_RESPONSE: usize = 4 << 20;

/// HTTP_GET (`tls` false) or SSL_GET.
pub async fn get(target: &ProbeTarget, get: &HttpGet, tls: bool, timeout: Duration) -> ProbeResult {
    let stream = match tcp::connect(target, timeout).await {
        Ok(s) => s,
        Err(e) => return ProbeResult::Net(e),
    };
    let request = get.request();
    if !tls {
        return exchange(stream, request.as_bytes(), timeout).await;
    }
    let dst = target.dst().map(|d| d.ip());
    let name = match (&get.sni, dst) {
        (Some(n), _) => ServerName::try_from(n.clone()).ok(),
        (None, Some(ip)) => Some(ServerName::IpAddress(ip.into())),
        (None, None) => None,
    };
    let Some(name) = name else {
        return ProbeResult::Net(NetError::Tls);
    };
    let connector = tokio_rustls::TlsConnector::from(client_config());
    match tokio::time::timeout(timeout, connector.connect(name, stream)).await {
        Ok(Ok(s)) => exchange(s, request.as_bytes(), timeout).await,
        Ok(Err(_)) => ProbeResult::Net(NetError::Tls),
        Err(_) => ProbeResult::Net(NetError::TimedOut),
    }
}

async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
    mut s: S,
    request: &[u8],
    timeout: Duration,
) -> ProbeResult {
    match tokio::time::timeout(timeout, s.write_all(request)).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return ProbeResult::Net(net_error(&e)),
        Err(_) => return ProbeResult::Net(NetError::TimedOut),
    }
    let mut out = Vec::new();
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        match tokio::time::timeout(timeout, s.read(&mut buf)).await {
            Ok(Ok(0)) => break,
            Ok(Ok(n)) => {
                let room = MAX_RESPONSE.saturating_sub(out.len());
                out.extend_from_slice(&buf[..n.min(room)]);
                if room <= n {
                    break;
                }
            }
            // A TLS peer closing without close_notify still ends the body.
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof && !out.is_empty() => {
                break;
            }
            Ok(Err(e)) => {
                if out.is_empty() {
                    return ProbeResult::Net(net_error(&e));
                }
                break;
            }
            Err(_) => {
                if out.is_empty() {
                    return ProbeResult::Net(NetError::TimedOut);
                }
                break;
            }
        }
    }
    ProbeResult::Http(out)
}

fn client_config() -> Arc<rustls::ClientConfig> {
    static CONFIG: OnceLock<Arc<rustls::ClientConfig>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let cfg = rustls::ClientConfig::builder_with_provider(provider.clone())
                .with_safe_default_protocol_versions()
                .expect("ring supports the default versions")
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AnyCert(provider)))
                .with_no_client_auth();
            Arc::new(cfg)
        })
        .clone()
}

/// Accepts every certificate (keepalived's SSL_GET does not verify).
#[derive(Debug)]
struct AnyCert(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for AnyCert {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }

    fn verify_tls13_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vigil_core::config::HttpProtocol;

    #[test]
    fn get_reads_until_close() {
        crate::testns::in_netns("probes-http", get_reads_until_close_here);
    }

    fn get_reads_until_close_here() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let dst = l.local_addr().unwrap();
            let server = tokio::spawn(async move {
                let (mut s, _) = l.accept().await.unwrap();
                let mut req = vec![0u8; 1024];
                let n = s.read(&mut req).await.unwrap();
                let req = String::from_utf8_lossy(&req[..n]).to_string();
                s.write_all(b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nhi")
                    .await
                    .unwrap();
                req
            });
            let target = ProbeTarget::Remote {
                dst,
                bind_ip: None,
                bind_port: None,
                bind_if: None,
                fwmark: None,
            };
            let g = HttpGet {
                path: "/x".into(),
                host: "example.test".into(),
                protocol: HttpProtocol::Http10,
                sni: None,
                url_index: 0,
            };
            let r = get(&target, &g, false, Duration::from_secs(5)).await;
            assert_eq!(r, ProbeResult::http_response(200, b"hi"));
            let req = server.await.unwrap();
            assert!(req.starts_with("GET /x HTTP/1.0\r\n"));
            assert!(req.contains("Host: example.test\r\n"));
        });
    }
}
