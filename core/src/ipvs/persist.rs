//! Persistence templates: client affinity for `persistence_timeout`.
//!
//! As the kernel does (`ip_vs_sched_persist`, `ip_vs_check_template`,
//! `ip_vs_conn_expire`):
//! - a template ties a client network (client address under the service's
//!   persistence netmask) on one service to one destination;
//! - a new connection reuses a live template whose destination is still in
//!   the service (and, with `expire_quiescent_template`, has weight > 0);
//!   otherwise the template is invalidated and a new one scheduled;
//! - each use re-arms the template's timer to now + its timeout;
//! - when the timer fires while connections it controls are still alive,
//!   it is re-armed 60 s later and its timeout becomes 60 s; otherwise the
//!   template goes.
//!
//! Not modelled: persistence engines (`sip`), FTP's port-less templates.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;

use super::dest::DestKey;
use super::service::ServiceKey;
use crate::time::Instant;

/// How long an expired template with live connections waits before the
/// next try (`expire_later`: `cp->timeout = 60*HZ`).
pub const EXPIRE_LATER: Duration = Duration::from_secs(60);

/// An identifier of one template.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TemplateId(u64);

/// One persistence template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Template {
    /// Its service.
    pub service: ServiceKey,
    /// The client network it covers.
    pub client_net: IpAddr,
    /// The destination it sticks to.
    pub dest: DestKey,
    /// When its timer fires.
    pub expires: Instant,
    /// What each use re-arms the timer by.
    pub timeout: Duration,
    /// Live connections created through it.
    pub controlled: u32,
    /// Still found by lookups (false once invalidated).
    pub valid: bool,
}

/// The templates of all services.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Templates {
    all: BTreeMap<TemplateId, Template>,
    index: BTreeMap<(ServiceKey, IpAddr), TemplateId>,
    next: u64,
}

impl Templates {
    /// No templates.
    pub fn new() -> Templates {
        Templates::default()
    }

    /// Number of templates (valid or not) still alive.
    pub fn len(&self) -> usize {
        self.all.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.all.is_empty()
    }

    /// The template `id`.
    pub fn get(&self, id: TemplateId) -> Option<&Template> {
        self.all.get(&id)
    }

    /// The valid template of `client_net` on `service`, if any.
    pub fn find(
        &self,
        service: &ServiceKey,
        client_net: IpAddr,
    ) -> Option<(TemplateId, &Template)> {
        let id = *self.index.get(&(*service, client_net))?;
        self.all.get(&id).map(|t| (id, t))
    }

    /// Stops `id` being found (`ip_vs_check_template` failing); it lives
    /// on until its timer fires.
    pub fn invalidate(&mut self, id: TemplateId) {
        if let Some(t) = self.all.get_mut(&id)
            && t.valid
        {
            t.valid = false;
            self.index.remove(&(t.service, t.client_net));
        }
    }

    /// A new template to `dest`, used once at `now`.
    pub fn create(
        &mut self,
        now: Instant,
        service: ServiceKey,
        client_net: IpAddr,
        dest: DestKey,
        timeout: Duration,
    ) -> TemplateId {
        if let Some(old) = self.index.get(&(service, client_net)).copied() {
            self.invalidate(old);
        }
        self.next += 1;
        let id = TemplateId(self.next);
        let t = Template {
            service,
            client_net,
            dest,
            expires: now + timeout,
            timeout,
            controlled: 0,
            valid: true,
        };
        self.all.insert(id, t);
        self.index.insert((service, client_net), id);
        id
    }

    /// A new connection made through `id` at `now`: one more controlled
    /// connection, timer re-armed.
    pub fn use_for_conn(&mut self, now: Instant, id: TemplateId) {
        if let Some(t) = self.all.get_mut(&id) {
            t.controlled += 1;
            t.expires = now + t.timeout;
        }
    }

    /// A connection controlled by `id` ended.
    pub fn conn_ended(&mut self, id: TemplateId) {
        if let Some(t) = self.all.get_mut(&id) {
            t.controlled = t.controlled.saturating_sub(1);
        }
    }

    /// Fires every timer due at `now`; returns the templates that went
    /// (their destinations lose a persistent connection).
    pub fn expire(&mut self, now: Instant) -> Vec<Template> {
        let mut gone = Vec::new();
        let due: Vec<TemplateId> = self
            .all
            .iter()
            .filter(|(_, t)| t.expires <= now)
            .map(|(id, _)| *id)
            .collect();
        for id in due {
            let t = self.all.get_mut(&id).expect("listed");
            if t.controlled > 0 {
                t.timeout = EXPIRE_LATER;
                while t.expires <= now {
                    t.expires += EXPIRE_LATER;
                }
                continue;
            }
            let t = self.all.remove(&id).expect("listed");
            if t.valid {
                self.index.remove(&(t.service, t.client_net));
            }
            gone.push(t);
        }
        gone
    }

    /// When the next timer fires.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.all.values().map(|t| t.expires).min()
    }

    /// Drops every template of `service` (the service was deleted);
    /// returns them.
    pub fn remove_service(&mut self, service: &ServiceKey) -> Vec<Template> {
        let ids: Vec<TemplateId> = self
            .all
            .iter()
            .filter(|(_, t)| t.service == *service)
            .map(|(id, _)| *id)
            .collect();
        ids.into_iter()
            .filter_map(|id| {
                let t = self.all.remove(&id)?;
                if t.valid {
                    self.index.remove(&(t.service, t.client_net));
                }
                Some(t)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn svc() -> ServiceKey {
        ServiceKey::tcp("192.0.2.1".parse().unwrap(), 80)
    }
    fn rs() -> DestKey {
        DestKey::new("198.51.100.10".parse().unwrap(), 80)
    }
    fn net() -> IpAddr {
        "203.0.113.0".parse().unwrap()
    }

    #[test]
    fn template_lives_for_timeout_after_last_use() {
        let mut t = Templates::new();
        let id = t.create(
            Instant::from_secs(0),
            svc(),
            net(),
            rs(),
            Duration::from_secs(50),
        );
        t.use_for_conn(Instant::from_secs(0), id);
        t.conn_ended(id);
        t.use_for_conn(Instant::from_secs(30), id);
        t.conn_ended(id);
        assert_eq!(t.next_deadline(), Some(Instant::from_secs(80)));
        assert!(t.expire(Instant::from_secs(79)).is_empty());
        assert_eq!(t.expire(Instant::from_secs(80)).len(), 1);
        assert!(t.find(&svc(), net()).is_none());
        assert!(t.is_empty());
    }

    #[test]
    fn live_connections_hold_template_with_sixty_second_rearm() {
        let mut t = Templates::new();
        let id = t.create(Instant::ZERO, svc(), net(), rs(), Duration::from_secs(300));
        t.use_for_conn(Instant::ZERO, id);
        assert!(t.expire(Instant::from_secs(300)).is_empty());
        assert_eq!(t.next_deadline(), Some(Instant::from_secs(360)));
        assert_eq!(t.get(id).unwrap().timeout, EXPIRE_LATER);
        t.conn_ended(id);
        // Reuse now re-arms by 60 s, not the persistence timeout.
        t.use_for_conn(Instant::from_secs(330), id);
        t.conn_ended(id);
        assert_eq!(t.next_deadline(), Some(Instant::from_secs(390)));
        assert_eq!(t.expire(Instant::from_secs(390)).len(), 1);
    }

    #[test]
    fn invalidated_template_is_not_found_but_lives_on() {
        let mut t = Templates::new();
        let id = t.create(Instant::ZERO, svc(), net(), rs(), Duration::from_secs(10));
        t.invalidate(id);
        assert!(t.find(&svc(), net()).is_none());
        assert_eq!(t.len(), 1);
        let id2 = t.create(Instant::ZERO, svc(), net(), rs(), Duration::from_secs(10));
        assert_eq!(t.find(&svc(), net()).map(|(i, _)| i), Some(id2));
        let gone = t.expire(Instant::from_secs(10));
        assert_eq!(gone.len(), 2);
        assert!(t.find(&svc(), net()).is_none());
    }
}
