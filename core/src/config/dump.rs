//! The normalised keepalived.conf text of a [`Config`]: every block in a
//! fixed order, one keyword per line, defaults made explicit where they
//! matter and inherited checker settings left out; parsing it yields the
//! same [`Config`].

use std::fmt::Write;
use std::net::IpAddr;

use super::build::{Inherit, fmt_secs, inherited_timing};
use super::model::*;

struct Out {
    s: String,
    depth: usize,
}

impl Out {
    fn line(&mut self, text: impl AsRef<str>) {
        for _ in 0..self.depth {
            self.s.push_str("    ");
        }
        self.s.push_str(text.as_ref());
        self.s.push('\n');
    }

    fn open(&mut self, text: impl AsRef<str>) {
        self.line(format!("{} {{", text.as_ref()));
        self.depth += 1;
    }

    fn close(&mut self) {
        self.depth -= 1;
        self.line("}");
    }
}

/// A word as keepalived.conf reads it back: quoted when it holds blanks,
/// comment characters or braces.
fn w(s: &str) -> String {
    let plain = !s.is_empty()
        && !s.starts_with('$')
        && !s.starts_with('@')
        && s.chars()
            .all(|c| !c.is_whitespace() && !matches!(c, '"' | '#' | '!' | '{' | '}' | '\\'));
    if plain {
        s.to_string()
    } else {
        format!("\"{s}\"")
    }
}

fn secs(d: std::time::Duration) -> String {
    fmt_secs(d)
}

fn cmd(c: &Command) -> String {
    let mut s = c.to_conf_value();
    if let Some(u) = &c.user {
        s.push(' ');
        s.push_str(&w(&u.user));
        if let Some(g) = &u.group {
            s.push(' ');
            s.push_str(&w(g));
        }
    }
    s
}

fn flag(b: bool) -> &'static str {
    if b { "true" } else { "false" }
}

/// The normalised keepalived.conf text of `config`.
pub fn dump(config: &Config) -> String {
    let mut o = Out {
        s: String::new(),
        depth: 0,
    };
    global(&mut o, &config.global);
    for t in &config.track_files {
        o.s.push('\n');
        o.open(format!("track_file {}", w(&t.name)));
        o.line(format!("file {}", w(&t.path)));
        o.line(format!(
            "weight {}{}",
            t.weight,
            if t.reverse { " reverse" } else { "" }
        ));
        if let Some((v, ow)) = t.init_file {
            o.line(format!(
                "init_file {v}{}",
                if ow { " overwrite" } else { "" }
            ));
        }
        o.close();
    }
    for t in &config.track_processes {
        o.s.push('\n');
        o.open(format!("vrrp_track_process {}", w(&t.name)));
        let mut p = w(&t.process);
        for a in &t.params {
            p.push(' ');
            p.push_str(&w(a));
        }
        o.line(format!("process {p}"));
        match t.param_match {
            ParamMatch::None => {}
            ParamMatch::Exact => o.line("param_match"),
            ParamMatch::Initial => o.line("param_match initial"),
            ParamMatch::Partial => o.line("param_match partial"),
        }
        if t.full_command {
            o.line("full_command");
        }
        if t.quorum_max != u32::MAX {
            o.line(format!("quorum_max {}", t.quorum_max));
        }
        if t.quorum != 1 && t.quorum_max != 0 {
            o.line(format!("quorum {}", t.quorum));
        }
        if !t.fork_delay.is_zero() {
            o.line(format!("fork_delay {}", secs(t.fork_delay)));
        }
        if !t.terminate_delay.is_zero() {
            o.line(format!("terminate_delay {}", secs(t.terminate_delay)));
        }
        if t.weight != 0 {
            o.line(format!(
                "weight {}{}",
                t.weight,
                if t.reverse { " reverse" } else { "" }
            ));
        }
        o.close();
    }
    for s in &config.vrrp_scripts {
        o.s.push('\n');
        o.open(format!("vrrp_script {}", w(&s.name)));
        o.line(format!("script {}", s.command.to_conf_value()));
        if let Some(u) = &s.command.user {
            o.line(format!("user {}", u));
        }
        o.line(format!("interval {}", secs(s.interval)));
        o.line(format!("timeout {}", secs(s.timeout)));
        o.line(format!(
            "weight {}{}",
            s.weight,
            if s.weight_reverse { " reverse" } else { "" }
        ));
        o.line(format!("rise {}", s.rise));
        o.line(format!("fall {}", s.fall));
        if s.init_fail {
            o.line("init_fail");
        }
        o.close();
    }
    for i in &config.vrrp_instances {
        o.s.push('\n');
        instance(&mut o, i, &config.global);
    }
    for g in &config.sync_groups {
        o.s.push('\n');
        o.open(format!("vrrp_sync_group {}", w(&g.name)));
        o.open("group");
        for m in &g.instances {
            o.line(w(m));
        }
        o.close();
        tracking(
            &mut o,
            &g.track_interfaces,
            &g.track_scripts,
            &g.track_files,
            &g.track_processes,
        );
        notify(&mut o, &g.notify);
        let n = &config.global.notification;
        if g.smtp_alert != n.smtp_alert_vrrp.or(n.smtp_alert).unwrap_or(false) {
            o.line(format!("smtp_alert {}", flag(g.smtp_alert)));
        }
        if let Some(b) = g.notify_priority_changes {
            o.line(format!("notify_priority_changes {}", flag(b)));
        }
        if g.tracking_weight {
            o.line("sync_group_tracking_weight");
        }
        if g.global_tracking {
            o.line("global_tracking");
        }
        o.close();
    }
    for g in &config.virtual_server_groups {
        o.s.push('\n');
        o.open(format!("virtual_server_group {}", w(&g.name)));
        for e in &g.entries {
            match e {
                VsgEntry::Range {
                    first, last, port, ..
                } => {
                    let range = if first == last {
                        first.to_string()
                    } else {
                        match (first, last) {
                            (IpAddr::V4(f), IpAddr::V4(l))
                                if f.octets()[..3] == l.octets()[..3] =>
                            {
                                format!("{f}-{}", l.octets()[3])
                            }
                            _ => format!("{first}-{last}"),
                        }
                    };
                    o.line(format!("{range} {port}"));
                }
                VsgEntry::Fwmark { mark, family, .. } => match family {
                    Some(f) => o.line(format!("fwmark {mark} {}", f.keyword())),
                    None => o.line(format!("fwmark {mark}")),
                },
            }
        }
        o.close();
    }
    for v in &config.virtual_servers {
        o.s.push('\n');
        virtual_server(&mut o, v, &config.global);
    }
    o.s
}

fn global(o: &mut Out, g: &GlobalDefs) {
    o.open("global_defs");
    if let Some(r) = &g.router_id {
        o.line(format!("router_id {}", w(r)));
    }
    let n = &g.notification;
    if !n.email.is_empty() {
        o.open("notification_email");
        for e in &n.email {
            o.line(w(e));
        }
        o.close();
    }
    if let Some(f) = &n.email_from {
        o.line(format!("notification_email_from {}", w(f)));
    }
    if let Some((h, p)) = &n.smtp_server {
        o.line(format!("smtp_server {} {p}", w(h)));
    }
    if let Some(h) = &n.smtp_helo_name {
        o.line(format!("smtp_helo_name {}", w(h)));
    }
    if n.smtp_connect_timeout != std::time::Duration::from_secs(30) {
        o.line(format!(
            "smtp_connect_timeout {}",
            n.smtp_connect_timeout.as_secs()
        ));
    }
    for (k, v) in [
        ("smtp_alert", n.smtp_alert),
        ("smtp_alert_vrrp", n.smtp_alert_vrrp),
        ("smtp_alert_checker", n.smtp_alert_checker),
    ] {
        if let Some(b) = v {
            o.line(format!("{k} {}", flag(b)));
        }
    }
    if let Some(d) = &g.default_interface {
        o.line(format!("default_interface {}", w(d)));
    }
    o.line(format!("vrrp_version {}", g.vrrp_version));
    if g.vrrp_strict {
        o.line("vrrp_strict");
    }
    o.line(format!("vrrp_mcast_group4 {}", g.vrrp_mcast_group4));
    o.line(format!("vrrp_mcast_group6 {}", g.vrrp_mcast_group6));
    let ga = &g.garp;
    o.line(format!(
        "vrrp_garp_master_delay {}",
        ga.master_delay.as_secs()
    ));
    o.line(format!("vrrp_garp_master_repeat {}", ga.master_repeat));
    o.line(format!(
        "vrrp_garp_master_refresh {}",
        ga.master_refresh.map_or(0, |d| d.as_secs())
    ));
    o.line(format!(
        "vrrp_garp_master_refresh_repeat {}",
        ga.master_refresh_repeat
    ));
    o.line(format!(
        "vrrp_garp_lower_prio_delay {}",
        ga.lower_prio_delay.as_secs()
    ));
    o.line(format!(
        "vrrp_garp_lower_prio_repeat {}",
        ga.lower_prio_repeat
    ));
    if !ga.interval.is_zero() {
        o.line(format!("vrrp_garp_interval {}", secs(ga.interval)));
    }
    if !ga.gna_interval.is_zero() {
        o.line(format!("vrrp_gna_interval {}", secs(ga.gna_interval)));
    }
    o.line(format!(
        "vrrp_lower_prio_no_advert {}",
        flag(ga.lower_prio_no_advert)
    ));
    o.line(format!(
        "vrrp_higher_prio_send_advert {}",
        flag(ga.higher_prio_send_advert)
    ));
    if let Some(u) = &g.script_user {
        o.line(format!("script_user {}", u));
    }
    if g.enable_script_security {
        o.line("enable_script_security");
    }
    let f = &g.fifos;
    for (kw, fifo) in [
        ("notify_fifo", &f.global),
        ("vrrp_notify_fifo", &f.vrrp),
        ("lvs_notify_fifo", &f.lvs),
    ] {
        let Some(fifo) = fifo else { continue };
        match &fifo.owner {
            Some(u) => o.line(format!("{kw} {} {u}", w(&fifo.path))),
            None => o.line(format!("{kw} {}", w(&fifo.path))),
        }
        if let Some(c) = &fifo.script {
            o.line(format!("{kw}_script {}", cmd(c)));
        }
    }
    if f.priority_changes {
        o.line("vrrp_notify_priority_changes");
    }
    let t = &g.lvs_timeouts;
    let mut parts = Vec::new();
    for (k, v) in [("tcp", t.tcp), ("tcpfin", t.tcp_fin), ("udp", t.udp)] {
        if let Some(d) = v {
            parts.push(format!("{k} {}", d.as_secs()));
        }
    }
    if !parts.is_empty() {
        o.line(format!("lvs_timeouts {}", parts.join(" ")));
    }
    if g.lvs_flush {
        o.line("lvs_flush");
    }
    match g.lvs_flush_on_stop {
        LvsFlushOnStop::No => {}
        LvsFlushOnStop::VirtualServers => o.line("lvs_flush_onstop VS"),
        LvsFlushOnStop::RealServers => o.line("lvs_flush_onstop RS"),
    }
    if let Some(d) = &g.lvs_sync_daemon {
        let mut s = format!("lvs_sync_daemon {}", w(&d.interface));
        if let Some(i) = &d.instance {
            let _ = write!(s, " inst {}", w(i));
        }
        if let Some(v) = d.id {
            let _ = write!(s, " id {v}");
        }
        if let Some(v) = d.maxlen {
            let _ = write!(s, " maxlen {v}");
        }
        if let Some(v) = d.port {
            let _ = write!(s, " port {v}");
        }
        if let Some(v) = d.ttl {
            let _ = write!(s, " ttl {v}");
        }
        if let Some(v) = d.group {
            let _ = write!(s, " group {v}");
        }
        o.line(s);
    }
    o.close();
}

fn vip(v: &VirtualIp) -> String {
    let mut s = format!("{}/{}", v.addr, v.prefix_len);
    if let Some(b) = v.brd {
        let _ = write!(s, " brd {b}");
    }
    if let Some(d) = &v.dev {
        let _ = write!(s, " dev {}", w(d));
    }
    if let Some(sc) = v.scope {
        let _ = write!(s, " scope {sc}");
    }
    if let Some(l) = &v.label {
        let _ = write!(s, " label {}", w(l));
    }
    if v.no_track {
        s.push_str(" no_track");
    }
    s
}

/// The `track_*` blocks of an instance or a sync group.
fn tracking(
    o: &mut Out,
    ifs: &[TrackInterface],
    scripts: &[TrackScript],
    files: &[TrackFileRef],
    procs: &[TrackProcessRef],
) {
    track_block(o, "track_interface", ifs);
    track_block(o, "track_script", scripts);
    track_block(o, "track_file", files);
    track_block(o, "track_process", procs);
}

/// Block `keyword` with a line per entry; nothing when there are none.
fn track_block(o: &mut Out, keyword: &str, entries: &[impl TrackRef]) {
    if entries.is_empty() {
        return;
    }
    o.open(keyword);
    for t in entries {
        o.line(format!(
            "{} weight {}{}",
            w(t.name()),
            t.weight(),
            if t.reverse() { " reverse" } else { "" }
        ));
    }
    o.close();
}

fn notify(o: &mut Out, n: &Notify) {
    for (k, c) in [
        ("notify_master", &n.master),
        ("notify_backup", &n.backup),
        ("notify_fault", &n.fault),
        ("notify_stop", &n.stop),
        ("notify", &n.any),
    ] {
        if let Some(c) = c {
            o.line(format!("{k} {}", cmd(c)));
        }
    }
}

fn instance(o: &mut Out, i: &VrrpInstance, g: &GlobalDefs) {
    o.open(format!("vrrp_instance {}", w(&i.name)));
    o.line(format!("state {}", i.state));
    if let Some(ifn) = &i.interface {
        o.line(format!("interface {}", w(ifn)));
    }
    o.line(format!("virtual_router_id {}", i.virtual_router_id));
    o.line(format!("priority {}", i.priority));
    o.line(format!("advert_int {}", secs(i.advert_int)));
    o.line(format!("version {}", i.version));
    if !i.preempt {
        o.line("nopreempt");
    }
    if !i.preempt_delay.is_zero() {
        o.line(format!("preempt_delay {}", secs(i.preempt_delay)));
    }
    if i.strict_mode != g.vrrp_strict {
        o.line(format!("strict_mode {}", flag(i.strict_mode)));
    }
    o.line(if i.accept { "accept" } else { "no_accept" });
    if let Some(a) = &i.authentication {
        o.open("authentication");
        let (t, p) = match a {
            Authentication::Pass(p) => ("PASS", p),
            Authentication::Ah(p) => ("AH", p),
        };
        o.line(format!("auth_type {t}"));
        o.line(format!("auth_pass {}", w(&String::from_utf8_lossy(p))));
        o.close();
    }
    for (k, list) in [
        ("virtual_ipaddress", &i.virtual_ipaddress),
        ("virtual_ipaddress_excluded", &i.virtual_ipaddress_excluded),
    ] {
        if !list.is_empty() {
            o.open(k);
            for v in list {
                o.line(vip(v));
            }
            o.close();
        }
    }
    if let Some(a) = i.mcast_dst_ip {
        o.line(format!("mcast_dst_ip {a}"));
    }
    if let Some(a) = i.mcast_src_ip {
        o.line(format!("mcast_src_ip {a}"));
    }
    if let Some(a) = i.unicast_src_ip {
        o.line(format!("unicast_src_ip {a}"));
    }
    if !i.unicast_peers.is_empty() {
        o.open("unicast_peer");
        for p in &i.unicast_peers {
            o.line(p.to_string());
        }
        o.close();
    }
    tracking(
        o,
        &i.track_interfaces,
        &i.track_scripts,
        &i.track_files,
        &i.track_processes,
    );
    if i.dont_track_primary {
        o.line("dont_track_primary");
    }
    let ga = &i.garp;
    o.line(format!("garp_master_delay {}", ga.master_delay.as_secs()));
    o.line(format!("garp_master_repeat {}", ga.master_repeat));
    o.line(format!(
        "garp_master_refresh {}",
        ga.master_refresh.map_or(0, |d| d.as_secs())
    ));
    o.line(format!(
        "garp_master_refresh_repeat {}",
        ga.master_refresh_repeat
    ));
    o.line(format!(
        "garp_lower_prio_delay {}",
        ga.lower_prio_delay.as_secs()
    ));
    o.line(format!("garp_lower_prio_repeat {}", ga.lower_prio_repeat));
    o.line(format!(
        "lower_prio_no_advert {}",
        flag(ga.lower_prio_no_advert)
    ));
    o.line(format!(
        "higher_prio_send_advert {}",
        flag(ga.higher_prio_send_advert)
    ));
    notify(o, &i.notify);
    let n = &g.notification;
    if i.smtp_alert != n.smtp_alert_vrrp.or(n.smtp_alert).unwrap_or(false) {
        o.line(format!("smtp_alert {}", flag(i.smtp_alert)));
    }
    if let Some(b) = i.notify_priority_changes {
        o.line(format!("notify_priority_changes {}", flag(b)));
    }
    if let Some(v) = &i.use_vmac {
        let mut s = "use_vmac".to_string();
        if let Some(n) = &v.name {
            let _ = write!(s, " {}", w(n));
        }
        if let Some(m) = &v.mac {
            let _ = write!(s, " {}", w(m));
        }
        o.line(s);
    }
    o.close();
}

fn virtual_server(o: &mut Out, v: &VirtualServer, g: &GlobalDefs) {
    let head = match &v.service {
        ServiceAddr::Addr(a) => format!("virtual_server {} {}", a.ip(), a.port()),
        ServiceAddr::Fwmark(m) => format!("virtual_server fwmark {m}"),
        ServiceAddr::Group(n) => format!("virtual_server group {}", w(n)),
    };
    o.open(head);
    if !matches!(v.service, ServiceAddr::Addr(_)) {
        o.line(format!("ip_family {}", v.family.keyword()));
    }
    o.line(format!("protocol {}", v.protocol));
    o.line(format!("lb_algo {}", v.scheduler));
    o.line(format!("lb_kind {}", v.forwarding));
    let f = v.sched_flags;
    for (on, k) in [
        (f.ops, "ops"),
        (f.flag1, "flag-1"),
        (f.flag2, "flag-2"),
        (f.flag3, "flag-3"),
    ] {
        if on {
            o.line(k);
        }
    }
    if let Some(t) = v.persistence_timeout {
        o.line(format!("persistence_timeout {}", t.as_secs()));
    }
    if let Some(gr) = v.persistence_granularity {
        o.line(format!("persistence_granularity {gr}"));
    }
    if let Some(e) = &v.persistence_engine {
        o.line(format!("persistence_engine {}", w(e)));
    }
    o.line(format!("delay_loop {}", secs(v.delay_loop)));
    o.line(format!("connect_timeout {}", secs(v.connect_timeout)));
    if let Some(r) = v.retry {
        o.line(format!("retry {r}"));
    }
    if let Some(d) = v.delay_before_retry {
        o.line(format!("delay_before_retry {}", secs(d)));
    }
    if let Some(d) = v.warmup {
        o.line(format!("warmup {}", secs(d)));
    }
    o.line(format!("weight {}", v.weight));
    if v.inhibit_on_failure {
        o.line("inhibit_on_failure");
    }
    if v.alpha {
        o.line("alpha");
    }
    if v.omega {
        o.line("omega");
    }
    o.line(format!("quorum {}", v.quorum));
    o.line(format!("hysteresis {}", v.hysteresis));
    if let Some(c) = &v.quorum_up {
        o.line(format!("quorum_up {}", cmd(c)));
    }
    if let Some(c) = &v.quorum_down {
        o.line(format!("quorum_down {}", cmd(c)));
    }
    if v.ha_suspend {
        o.line("ha_suspend");
    }
    if let Some(h) = &v.virtualhost {
        o.line(format!("virtualhost {}", w(h)));
    }
    let n = &g.notification;
    if v.smtp_alert != n.smtp_alert_checker.or(n.smtp_alert).unwrap_or(false) {
        o.line(format!("smtp_alert {}", flag(v.smtp_alert)));
    }
    if let Some(s) = &v.sorry_server {
        o.line(format!("sorry_server {} {}", s.addr.ip(), s.addr.port()));
        o.line(format!("sorry_server_lvs_method {}", s.forwarding));
        if s.inhibit {
            o.line("sorry_server_inhibit");
        }
    }
    for rs in &v.real_servers {
        real_server(o, v, rs, g);
    }
    o.close();
}

fn real_server(o: &mut Out, v: &VirtualServer, rs: &RealServer, g: &GlobalDefs) {
    o.open(format!("real_server {} {}", rs.addr.ip(), rs.addr.port()));
    o.line(format!("weight {}", rs.weight));
    o.line(format!("lvs_method {}", rs.forwarding));
    if rs.inhibit_on_failure != v.inhibit_on_failure {
        o.line(format!(
            "inhibit_on_failure {}",
            flag(rs.inhibit_on_failure)
        ));
    }
    if rs.alpha != v.alpha {
        o.line(format!("alpha {}", flag(rs.alpha)));
    }
    if rs.retry != v.retry
        && let Some(r) = rs.retry
    {
        o.line(format!("retry {r}"));
    }
    if rs.connect_timeout != v.connect_timeout {
        o.line(format!("connect_timeout {}", secs(rs.connect_timeout)));
    }
    if rs.delay_loop != v.delay_loop {
        o.line(format!("delay_loop {}", secs(rs.delay_loop)));
    }
    if rs.delay_before_retry != v.delay_before_retry
        && let Some(d) = rs.delay_before_retry
    {
        o.line(format!("delay_before_retry {}", secs(d)));
    }
    if rs.warmup != v.warmup
        && let Some(d) = rs.warmup
    {
        o.line(format!("warmup {}", secs(d)));
    }
    if let Some(t) = rs.uthreshold {
        o.line(format!("uthreshold {t}"));
    }
    if let Some(t) = rs.lthreshold {
        o.line(format!("lthreshold {t}"));
    }
    if let Some(c) = &rs.notify_up {
        o.line(format!("notify_up {}", cmd(c)));
    }
    if let Some(c) = &rs.notify_down {
        o.line(format!("notify_down {}", cmd(c)));
    }
    if rs.virtualhost != v.virtualhost
        && let Some(h) = &rs.virtualhost
    {
        o.line(format!("virtualhost {}", w(h)));
    }
    let n = &g.notification;
    if rs.smtp_alert != n.smtp_alert_checker.or(n.smtp_alert).unwrap_or(true) {
        o.line(format!("smtp_alert {}", flag(rs.smtp_alert)));
    }
    let inh = Inherit {
        rs_addr: rs.addr,
        alpha: rs.alpha,
        retry: rs.retry,
        connect_timeout: rs.connect_timeout,
        delay_loop: rs.delay_loop,
        warmup: rs.warmup,
        delay_before_retry: rs.delay_before_retry,
        vs_delay_loop: v.delay_loop,
        virtualhost: rs.virtualhost.clone(),
    };
    for c in &rs.checkers {
        checker(o, c, &inh);
    }
    o.close();
}

fn hex(data: &[u8], mask: &[u8]) -> String {
    let mut s = String::new();
    for (i, b) in data.iter().enumerate() {
        let m = mask.get(i).copied().unwrap_or(0xff);
        for (shift, mbits) in [(4, 0xf0u8), (0, 0x0f)] {
            if m & mbits == 0 {
                s.push('X');
            } else {
                let _ = write!(s, "{:x}", (b >> shift) & 0xf);
            }
        }
    }
    s
}

fn checker(o: &mut Out, c: &Checker, inh: &Inherit) {
    o.open(c.kind.keyword());
    if let Some(co) = &c.conn {
        if co.connect_ip != inh.rs_addr.ip() {
            o.line(format!("connect_ip {}", co.connect_ip));
        }
        if co.connect_port != inh.rs_addr.port() {
            o.line(format!("connect_port {}", co.connect_port));
        }
        if let Some(b) = co.bindto {
            o.line(format!("bindto {b}"));
        }
        if let Some(p) = co.bind_port {
            o.line(format!("bind_port {p}"));
        }
        if let Some(i) = &co.bind_if {
            o.line(format!("bind_if {}", w(i)));
        }
        if co.connect_timeout != inh.connect_timeout {
            o.line(format!("connect_timeout {}", secs(co.connect_timeout)));
        }
        if let Some(m) = co.fwmark {
            o.line(format!("fwmark {m}"));
        }
    }
    let def = inherited_timing(&c.kind, inh);
    let t = &c.timing;
    if t.delay_loop != def.delay_loop {
        o.line(format!("delay_loop {}", secs(t.delay_loop)));
    }
    // Written when it differs from what the (possibly changed) delay_loop
    // would give.
    let def = inherited_timing(
        &c.kind,
        &Inherit {
            delay_loop: t.delay_loop,
            rs_addr: inh.rs_addr,
            alpha: inh.alpha,
            retry: inh.retry,
            connect_timeout: inh.connect_timeout,
            warmup: inh.warmup,
            delay_before_retry: inh.delay_before_retry,
            vs_delay_loop: inh.vs_delay_loop,
            virtualhost: None,
        },
    );
    if t.retry != def.retry {
        o.line(format!("retry {}", t.retry));
    }
    if t.delay_before_retry != def.delay_before_retry {
        o.line(format!("delay_before_retry {}", secs(t.delay_before_retry)));
    }
    if t.warmup != def.warmup {
        o.line(format!("warmup {}", secs(t.warmup)));
    }
    if t.alpha != def.alpha {
        o.line(format!("alpha {}", flag(t.alpha)));
    }
    if t.log_all_failures {
        o.line("log_all_failures");
    }
    match &c.kind {
        CheckerKind::Tcp | CheckerKind::Ping => {}
        CheckerKind::Http(h) | CheckerKind::Ssl(h) => {
            if h.virtualhost != inh.virtualhost
                && let Some(v) = &h.virtualhost
            {
                o.line(format!("virtualhost {}", w(v)));
            }
            if h.http_protocol != HttpProtocol::Http10 {
                o.line(format!("http_protocol {}", h.http_protocol));
            }
            if h.enable_sni {
                o.line("enable_sni");
            }
            if h.fast_recovery {
                o.line("fast_recovery");
            }
            for u in &h.urls {
                o.open("url");
                o.line(format!("path {}", w(&u.path)));
                if u.status_codes != StatusCodes::default_2xx() {
                    o.line(format!("status_code {}", u.status_codes));
                }
                if let Some(d) = u.digest {
                    let hexs: String = d.iter().map(|b| format!("{b:02x}")).collect();
                    o.line(format!("digest {hexs}"));
                }
                if let Some(h) = &u.virtualhost {
                    o.line(format!("virtualhost {}", w(h)));
                }
                if let Some(r) = &u.regex {
                    o.line(format!("regex {}", quote_regex(r)));
                }
                if u.regex_no_match {
                    o.line("regex_no_match");
                }
                o.close();
            }
        }
        CheckerKind::Misc(m) => {
            o.line(format!("misc_path {}", m.command.to_conf_value()));
            if let Some(u) = &m.command.user {
                o.line(format!("user {u}"));
            }
            if m.timeout != inh.vs_delay_loop {
                o.line(format!("misc_timeout {}", m.timeout.as_secs()));
            }
            if m.dynamic {
                o.line("misc_dynamic");
            }
        }
        CheckerKind::Udp(u) => {
            if !u.payload.is_empty() {
                o.line(format!("payload {}", hex(&u.payload, &[])));
            }
            if let Some(r) = &u.require_reply {
                if r.data.is_empty() {
                    o.line("require_reply");
                } else {
                    o.line(format!("require_reply {}", hex(&r.data, &r.mask)));
                }
            }
            if u.min_reply_length != 0 {
                o.line(format!("min_reply_length {}", u.min_reply_length));
            }
            if u.max_reply_length != 0 {
                o.line(format!("max_reply_length {}", u.max_reply_length));
            }
        }
        CheckerKind::Dns(d) => {
            o.line(format!("type {}", d.qtype.name()));
            if !d.name.is_empty() {
                o.line(format!("name {}", w(&d.name)));
            }
        }
        CheckerKind::Smtp(s) => o.line(format!("helo_name {}", w(&s.helo_name))),
        CheckerKind::File(f) => {
            o.line(format!("track_file {}", w(&f.track_file)));
            o.line(format!(
                "weight {}{}",
                f.weight,
                if f.reverse { " reverse" } else { "" }
            ));
        }
    }
    o.close();
}

/// A regex as one quoted-escaped word (url_handler splits the line
/// once with quotes and backslash escapes).
fn quote_regex(r: &str) -> String {
    let mut s = String::from("\"");
    for c in r.chars() {
        if c == '"' || c == '\\' {
            s.push('\\');
        }
        s.push(c);
    }
    s.push('"');
    s
}
