//! The client's IP address, believing forwarding headers only from trusted proxies.

use std::net::{IpAddr, SocketAddr};

use axum::extract::ConnectInfo;
use http::{HeaderMap, Request, header::FORWARDED, request::Parts};
use ipnet::IpNet;

/// The client's IP address, in the request's extensions.
///
/// It is the socket's peer, unless the peer is one of `trusted_proxies`: then it is the
/// nearest address in `Forwarded` (or, without it, `X-Forwarded-For`) that is not itself a
/// trusted proxy. A client can therefore never choose its own address by sending a header.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ClientIp(pub IpAddr);

impl ClientIp {
    /// Works out the client address of `request`.
    pub(crate) fn resolve<B>(request: &Request<B>, trusted: &[IpNet]) -> Option<Self> {
        let peer = request
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()?
            .0
            .ip();
        let peer = canonical(peer);
        if trusted.is_empty() || !is_trusted(peer, trusted) {
            return Some(Self(peer));
        }
        let forwarded = forwarded_chain(request.headers());
        // Walk from the nearest hop outwards; the first untrusted address is the client.
        let client = forwarded
            .into_iter()
            .rev()
            .map(canonical)
            .find(|ip| !is_trusted(*ip, trusted))
            .unwrap_or(peer);
        Some(Self(client))
    }
}

fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

fn is_trusted(ip: IpAddr, trusted: &[IpNet]) -> bool {
    trusted.iter().any(|net| net.contains(&ip))
}

/// Addresses from `Forwarded: for=...` (RFC 7239), or else `X-Forwarded-For`, in order
/// from the original client to the nearest proxy. Unparseable entries (obfuscated
/// identifiers, `unknown`) end the chain there, so nothing before them is believed.
fn forwarded_chain(headers: &HeaderMap) -> Vec<IpAddr> {
    let mut chain = Vec::new();
    let forwarded: Vec<_> = headers.get_all(FORWARDED).iter().collect();
    if !forwarded.is_empty() {
        for value in forwarded {
            let Ok(value) = value.to_str() else {
                return Vec::new();
            };
            for element in value.split(',') {
                let node = element
                    .split(';')
                    .filter_map(|pair| pair.trim().split_once('='))
                    .find(|(k, _)| k.eq_ignore_ascii_case("for"))
                    .map(|(_, v)| v.trim().trim_matches('"'));
                match node.and_then(parse_node) {
                    Some(ip) => chain.push(ip),
                    None => chain.clear(),
                }
            }
        }
        return chain;
    }
    for value in headers.get_all("x-forwarded-for") {
        let Ok(value) = value.to_str() else {
            return Vec::new();
        };
        for entry in value.split(',') {
            match parse_node(entry.trim()) {
                Some(ip) => chain.push(ip),
                None => chain.clear(),
            }
        }
    }
    chain
}

/// `192.0.2.1`, `192.0.2.1:4711`, `[2001:db8::1]`, `[2001:db8::1]:4711` or `2001:db8::1`.
fn parse_node(node: &str) -> Option<IpAddr> {
    if let Ok(ip) = node.parse() {
        return Some(ip);
    }
    if let Some(rest) = node.strip_prefix('[') {
        return rest.split_once(']')?.0.parse().ok();
    }
    node.parse::<SocketAddr>().ok().map(|s| s.ip())
}

/// Lets handlers take the address as an extractor; 500-free: without socket information
/// (a request built by hand) it answers `0.0.0.0`.
impl<S: Send + Sync> axum::extract::FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<ClientIp>()
            .copied()
            .unwrap_or(ClientIp(IpAddr::from([0, 0, 0, 0]))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(peer: &str, headers: &[(&str, &str)]) -> Request<()> {
        let mut builder = Request::builder();
        for (k, v) in headers {
            builder = builder.header(*k, *v);
        }
        let mut request = builder.body(()).unwrap();
        request
            .extensions_mut()
            .insert(ConnectInfo(peer.parse::<SocketAddr>().unwrap()));
        request
    }

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().map(|s| s.parse().unwrap()).collect()
    }

    fn ip(s: &str) -> Option<ClientIp> {
        Some(ClientIp(s.parse().unwrap()))
    }

    #[test]
    fn untrusted_peers_cannot_forge_their_address() {
        let r = request("203.0.113.9:5000", &[("x-forwarded-for", "1.2.3.4")]);
        assert_eq!(ClientIp::resolve(&r, &[]), ip("203.0.113.9"));
        assert_eq!(
            ClientIp::resolve(&r, &nets(&["10.0.0.0/8"])),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn trusted_proxies_forward_the_nearest_untrusted_hop() {
        let trusted = nets(&["10.0.0.0/8"]);
        let r = request(
            "10.0.0.2:5000",
            &[("x-forwarded-for", "6.6.6.6, 198.51.100.7, 10.0.0.5")],
        );
        // 6.6.6.6 was written by the client itself; 198.51.100.7 is who reached our proxy.
        assert_eq!(ClientIp::resolve(&r, &trusted), ip("198.51.100.7"));
        let r = request(
            "10.0.0.2:5000",
            &[(
                "forwarded",
                "for=192.0.2.60;proto=http, for=\"[2001:db8::1]:4711\"",
            )],
        );
        assert_eq!(ClientIp::resolve(&r, &trusted), ip("2001:db8::1"));
        let r = request("10.0.0.2:5000", &[]);
        assert_eq!(ClientIp::resolve(&r, &trusted), ip("10.0.0.2"));
    }

    #[test]
    fn garbage_in_the_chain_stops_belief_there() {
        let trusted = nets(&["10.0.0.0/8"]);
        let r = request("10.0.0.2:5000", &[("x-forwarded-for", "1.1.1.1, garbage")]);
        assert_eq!(ClientIp::resolve(&r, &trusted), ip("10.0.0.2"));
        let r = request(
            "[::ffff:10.0.0.2]:5000",
            &[("x-forwarded-for", "198.51.100.7")],
        );
        assert_eq!(ClientIp::resolve(&r, &trusted), ip("198.51.100.7"));
    }
}
