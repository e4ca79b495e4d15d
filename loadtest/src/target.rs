//! The one server this harness may talk to: its base URL, the loopback guard, and the URLs
//! derived from it (HTTP paths and the `/ws` socket).

use reqwest::Url;
use std::net::{IpAddr, SocketAddr};

/// Why a `--url` was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    #[error("`{0}` is not a URL")]
    Malformed(String),
    #[error("only http:// URLs are supported (this harness is built without TLS), got `{0}`")]
    Scheme(String),
    #[error("`{0}` has no host")]
    NoHost(String),
    #[error("`{0}` is not a loopback address; pass --allow-remote to load-test another machine")]
    Remote(String),
}

/// The validated server address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    base: Url,
    loopback: bool,
}

impl Target {
    /// Parses `url` and refuses a non-loopback host unless `allow_remote`.
    pub fn parse(url: &str, allow_remote: bool) -> Result<Self, TargetError> {
        let base = Url::parse(url).map_err(|_| TargetError::Malformed(url.to_owned()))?;
        if base.scheme() != "http" {
            return Err(TargetError::Scheme(url.to_owned()));
        }
        let loopback = match base.host() {
            None => return Err(TargetError::NoHost(url.to_owned())),
            Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
            Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
            Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        };
        if !loopback && !allow_remote {
            return Err(TargetError::Remote(url.to_owned()));
        }
        Ok(Self { base, loopback })
    }

    /// Whether the server runs on this machine (so its `/proc` entry may be read).
    pub fn is_loopback(&self) -> bool {
        self.loopback
    }

    /// The absolute URL of an HTTP path such as `/users/register`.
    pub fn http(&self, path: &str) -> Url {
        let mut url = self.base.clone();
        url.set_path(path);
        url.set_query(None);
        url
    }

    /// The socket URL (`ws://host:port/ws`).
    pub fn socket(&self) -> String {
        let url = self.http("/ws");
        // The scheme was checked to be http, so the rest of the URL carries over unchanged.
        format!("ws{}", &url.as_str()["http".len()..])
    }

    pub fn base(&self) -> &str {
        self.base.as_str()
    }

    /// The server's socket address (a name is resolved once, here: sockets connect to the
    /// address itself so that each can be bound to its own source address first).
    pub fn socket_addr(&self) -> std::io::Result<SocketAddr> {
        let mut addrs = self.base.socket_addrs(|| None)?;
        // Prefer IPv4: the extra loopback source addresses are 127.0.0.x.
        addrs.sort_by_key(|addr| !addr.is_ipv4());
        addrs.into_iter().next().ok_or_else(|| std::io::Error::other(format!("{} resolves to nothing", self.base)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_loopback_hosts() {
        for url in ["http://127.0.0.1:8080", "http://localhost:8080/", "http://[::1]:9000", "http://127.3.2.1"] {
            let target = Target::parse(url, false).unwrap();
            assert!(target.is_loopback(), "{url}");
        }
    }

    #[test]
    fn refuses_remote_unless_allowed() {
        assert_eq!(
            Target::parse("http://10.0.0.5:8080", false),
            Err(TargetError::Remote("http://10.0.0.5:8080".into()))
        );
        assert!(matches!(Target::parse("http://example.com", false), Err(TargetError::Remote(_))));
        let remote = Target::parse("http://example.com:8080", true).unwrap();
        assert!(!remote.is_loopback());
    }

    #[test]
    fn refuses_other_schemes_and_garbage() {
        assert!(matches!(Target::parse("https://127.0.0.1", false), Err(TargetError::Scheme(_))));
        assert!(matches!(Target::parse("ws://127.0.0.1", false), Err(TargetError::Scheme(_))));
        assert!(matches!(Target::parse("not a url", false), Err(TargetError::Malformed(_))));
    }

    #[test]
    fn derives_paths() {
        let target = Target::parse("http://127.0.0.1:8080/ignored?x=1", false).unwrap();
        assert_eq!(target.http("/users/register").as_str(), "http://127.0.0.1:8080/users/register");
        assert_eq!(target.socket(), "ws://127.0.0.1:8080/ws");
    }

    #[test]
    fn resolves_the_socket_address() {
        let target = Target::parse("http://127.0.0.1:8080", false).unwrap();
        assert_eq!(target.socket_addr().unwrap(), "127.0.0.1:8080".parse().unwrap());
        let default_port = Target::parse("http://127.0.0.2", false).unwrap();
        assert_eq!(default_port.socket_addr().unwrap(), "127.0.0.2:80".parse().unwrap());
    }
}
