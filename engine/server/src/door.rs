//! The front door: what one address, one connection and one request may hold before any
//! handler runs. A request's head must arrive within the header timeout (hyper's), its body
//! within the body timeout after that (here, read whole before routing), and one address
//! holds at most so many connections, so slow or idle clients cannot take every slot.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;

use crate::api::Shared;
use crate::body::MAX_BODY;
use crate::problem::Problem;

/// How long, and how many, a client may hold.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// A request's head must arrive within this (also the idle limit between requests).
    pub header_read_timeout: Duration,
    /// Its body must arrive within this once the head is in; past it, 408 and the connection
    /// closed.
    pub body_read_timeout: Duration,
    /// Connections one address may hold open at once; past it, a new one is closed at once.
    pub connections_per_address: usize,
}

impl Default for Limits {
    /// A desk's browsers behind one office NAT open a few connections each: 256 per address
    /// leaves room for a whole one-stop office, and it takes 16 addresses to fill the server's
    /// 4,096 slots.
    fn default() -> Limits {
        Limits {
            header_read_timeout: Duration::from_secs(20),
            body_read_timeout: Duration::from_secs(30),
            connections_per_address: 256,
        }
    }
}

/// Open connections per address.
pub(crate) struct Addresses {
    open: Mutex<HashMap<IpAddr, usize>>,
    cap: usize,
}

/// One admitted connection; dropping it gives the slot back.
pub(crate) struct Admitted {
    addresses: Arc<Addresses>,
    ip: IpAddr,
}

impl Addresses {
    pub(crate) fn new(cap: usize) -> Arc<Addresses> {
        Arc::new(Addresses {
            open: Mutex::new(HashMap::new()),
            cap: cap.max(1),
        })
    }

    /// A slot for a new connection from `ip`, or `None` when that address holds its cap.
    pub(crate) fn admit(self: &Arc<Self>, ip: IpAddr) -> Option<Admitted> {
        let ip = network_of(ip);
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let n = open.entry(ip).or_insert(0);
        if *n >= self.cap {
            return None;
        }
        *n += 1;
        Some(Admitted {
            addresses: self.clone(),
            ip,
        })
    }
}

impl Drop for Admitted {
    fn drop(&mut self) {
        let mut open = self
            .addresses
            .open
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(n) = open.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

/// The address limits count by: an IPv4 address, or an IPv6 address's /64 (one subscriber
/// holds a whole /64, so counting its addresses one by one would limit nothing).
pub fn network_of(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let mut s = v6.segments();
                s[4..].fill(0);
                IpAddr::V6(s.into())
            }
        },
    }
}

/// Reads the body whole, within the body timeout and [`MAX_BODY`], before any handler (the
/// sign-in form included) sees the request. A body that stalls gets 408 and the connection
/// is closed, so its slot is free again.
pub(crate) async fn read_body(State(s): State<Shared>, req: Request, next: Next) -> Response {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let chunked = req.headers().contains_key(header::TRANSFER_ENCODING);
    if declared.unwrap_or(0) == 0 && !chunked {
        return next.run(req).await;
    }
    // A paper's upload is streamed to the store by its handler, with its own size limit.
    if crate::api::papers::is_upload(req.method(), req.uri().path())
        || crate::web::papers::is_upload(req.method(), req.uri().path())
        || crate::web::citizen_papers::is_upload(req.method(), req.uri().path())
        || crate::web::desk_papers::is_upload(req.method(), req.uri().path(), req.headers())
    {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    let limited = http_body_util::Limited::new(body, MAX_BODY);
    match tokio::time::timeout(s.limits.body_read_timeout, limited.collect()).await {
        Err(_) => closing(Problem::said(
            StatusCode::REQUEST_TIMEOUT,
            "request_timeout",
            format!(
                "the request body did not arrive within {} s",
                s.limits.body_read_timeout.as_secs()
            ),
        )),
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => {
            closing(crate::body::too_large())
        }
        Ok(Err(_)) => closing(Problem::bad_request(
            "invalid_request",
            "the request body could not be read",
        )),
        Ok(Ok(collected)) => {
            next.run(Request::from_parts(parts, Body::from(collected.to_bytes())))
                .await
        }
    }
}

/// A refusal after which the connection is closed (what is left of the body is not read).
fn closing(p: Problem) -> Response {
    let mut res = p.into_response();
    res.headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    res
}

/// Headers every answer carries: no content sniffing, no referrer to other sites (status
/// links carry their secret; `no-referrer` would make browsers send `Origin: null` on this
/// site's own forms), and a `Retry-After` on every 429 and 503.
pub(crate) async fn headers(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    // Rate limits and busy upload slots clear within a second or so.
    if matches!(
        res.status(),
        StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE
    ) && !res.headers().contains_key(header::RETRY_AFTER)
    {
        res.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_at_its_cap_is_refused_until_one_of_its_connections_ends() {
        let a = Addresses::new(2);
        let ip: IpAddr = [127, 0, 0, 2].into();
        let first = a.admit(ip).expect("first");
        let _second = a.admit(ip).expect("second");
        assert!(a.admit(ip).is_none());
        assert!(a.admit([127, 0, 0, 1].into()).is_some(), "another address");
        drop(first);
        assert!(a.admit(ip).is_some());
    }

    #[test]
    fn an_ipv6_subscriber_counts_as_one_address() {
        let a = Addresses::new(1);
        let _held = a.admit("2001:db8::1".parse().expect("ip")).expect("first");
        assert!(
            a.admit("2001:db8::ffff:2".parse().expect("ip")).is_none(),
            "same /64"
        );
        assert!(
            a.admit("2001:db8:0:1::1".parse().expect("ip")).is_some(),
            "another /64"
        );
    }
}
