//! A real HTTP_GET checker: the real server's HTTP server (in its own
//! namespace) stops and the checker marks it down, and the IPVS table
//! loses it, within the configured bound; it comes back when the server
//! returns.

mod common;

use std::path::Path;
use std::time::Duration;

use common::Vigild;
use md5::{Digest, Md5};
use vigil_netns::ns::{self, Lab, Netns, Proc};

const T: Duration = Duration::from_secs(20);

fn http_server(ns: &Netns, root: &Path) -> Proc {
    let root = root.to_string_lossy().to_string();
    let p = ns.spawn(
        "python3",
        &[
            "-m",
            "http.server",
            "80",
            "--bind",
            "192.0.2.152",
            "--directory",
            &root,
        ],
        None,
    );
    // Ready when it answers (from inside its own namespace).
    ns::wait_for(Duration::from_secs(10), "http.server listening", || {
        let o = ns.exec(
            "python3",
            &[
                "-c",
                "import socket; socket.create_connection(('192.0.2.152', 80), 1)",
            ],
        );
        o.status.success().then_some(())
    })
    .unwrap();
    p
}

#[test]
fn http_checker_follows_a_real_server() {
    if !ns::require_root("http_checker_follows_a_real_server") {
        return;
    }
    let mut lab = Lab::new("ck");
    lab.host("lb1", &["192.0.2.150/24"]);
    lab.host("rs1", &["192.0.2.152/24"]);
    let dir = lab.dir().to_path_buf();
    let www = dir.join("www");
    std::fs::create_dir_all(&www).unwrap();
    let body = b"yunweimao\n";
    std::fs::write(www.join("index.html"), body).unwrap();
    let digest: String = Md5::digest(body)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();

    // delay_loop 1, connect_timeout 1, retry 1, delay_before_retry 1: down
    // after 2 failed attempts, at most 1 + 1 + 1 + 1 s after the stop.
    let conf = dir.join("keepalived.conf");
    std::fs::write(
        &conf,
        format!(
            "virtual_server 192.0.2.160 80 {{\n delay_loop 1\n lb_algo rr\n lb_kind DR\n protocol TCP\n \
             real_server 192.0.2.152 80 {{\n  weight 1\n  HTTP_GET {{\n   url {{\n    path /\n    digest {digest}\n    \
             status_code 200\n   }}\n   virtualhost www.example.test\n   connect_timeout 1\n   retry 1\n   \
             delay_before_retry 1\n  }}\n }}\n}}\n"
        ),
    )
    .unwrap();
    let mut server = http_server(lab.get("rs1"), &www);
    let v = Vigild::start(lab.get("lb1"), &dir, "lb1", &conf, &["-D"]);
    v.wait_log(
        T,
        &["check/192.0.2.152:80 checker-first state=up kind=HTTP_GET"],
        1,
    );
    v.wait_log(T, &["ipvs add-dest", "rs=192.0.2.152:80"], 1);

    server.kill();
    let took = v.wait_log(T, &["check/192.0.2.152:80 rs-down"], 1);
    v.wait_log(
        T,
        &["ipvs del-dest svc=tcp/192.0.2.160:80 rs=192.0.2.152:80"],
        1,
    );
    let bound = Duration::from_secs(1 + 1 + 1 + 1 + 1);
    assert!(
        took <= bound,
        "marked down after {took:?} (bound {bound:?})"
    );

    let _server = http_server(lab.get("rs1"), &www);
    let took = v.wait_log(T, &["check/192.0.2.152:80 rs-up"], 1);
    v.wait_log(T, &["ipvs add-dest", "rs=192.0.2.152:80"], 2);
    assert!(
        took <= Duration::from_secs(1 + 1 + 1),
        "marked up after {took:?}"
    );
}
