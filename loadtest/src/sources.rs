//! Loopback source addresses: one address has about 28,000 ephemeral ports
//! (`net.ipv4.ip_local_port_range`), so runs with more sockets than that spread them over
//! several 127.0.0.x addresses. Linux routes all of 127.0.0.0/8 to `lo`: no setup is needed.

use crate::limits::{SOCKETS_PER_SOURCE_MAX, SOURCE_ADDRS_MAX};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::net::{TcpSocket, TcpStream};

/// Why a `--source-ips` count cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SourceError {
    #[error("--source-ips must be in 1..={SOURCE_ADDRS_MAX}, got {0}")]
    Count(u32),
    #[error("--source-ips above 1 needs an IPv4 loopback target (127.x.x.x), but the server is at {0}")]
    NotLoopbackV4(IpAddr),
}

/// The addresses sockets are bound to before they connect, taken in turn. Empty: the kernel
/// picks the source (the usual single address).
#[derive(Debug, Clone, Default)]
pub struct Sources {
    addrs: Arc<[IpAddr]>,
    next: Arc<AtomicUsize>,
}

impl Sources {
    /// The sources for a run of `sockets` sockets to `server`: `requested` addresses when given,
    /// else as many as keep each under [`SOCKETS_PER_SOURCE_MAX`] when the server is an IPv4
    /// loopback address, else the kernel's choice.
    pub fn plan(requested: Option<u32>, server: IpAddr, sockets: u32) -> Result<Self, SourceError> {
        let loopback_v4 = matches!(server, IpAddr::V4(ip) if ip.is_loopback());
        let count = match requested {
            Some(count) if !(1..=SOURCE_ADDRS_MAX).contains(&count) => return Err(SourceError::Count(count)),
            Some(count) if count > 1 && !loopback_v4 => return Err(SourceError::NotLoopbackV4(server)),
            Some(count) => count,
            None if loopback_v4 => sockets.div_ceil(SOCKETS_PER_SOURCE_MAX).clamp(1, SOURCE_ADDRS_MAX),
            None => 1,
        };
        if count == 1 {
            return Ok(Self::default());
        }
        let addrs =
            (0..count).map(|i| IpAddr::V4(Ipv4Addr::new(127, 0, 0, u8::try_from(1 + i).unwrap_or(u8::MAX)))).collect();
        Ok(Self { addrs, next: Arc::default() })
    }

    /// How many addresses are in use (1 when the kernel picks).
    pub fn len(&self) -> usize {
        self.addrs.len().max(1)
    }

    /// Every address, for one HTTP client each; empty when the kernel picks.
    pub fn addrs(&self) -> &[IpAddr] {
        &self.addrs
    }

    /// The address for the next connection, in turn; `None` when the kernel picks.
    pub fn next(&self) -> Option<IpAddr> {
        if self.addrs.is_empty() {
            return None;
        }
        let turn = self.next.fetch_add(1, Ordering::Relaxed);
        Some(self.addrs[turn % self.addrs.len()])
    }

    /// Opens a TCP connection to `server` from the next source address.
    pub async fn connect(&self, server: SocketAddr) -> std::io::Result<TcpStream> {
        let stream = match self.next() {
            None => TcpStream::connect(server).await?,
            Some(source) => {
                let socket = if source.is_ipv4() { TcpSocket::new_v4()? } else { TcpSocket::new_v6()? };
                // Port 0: the kernel picks a free port of this source address.
                socket.bind(SocketAddr::new(source, 0))?;
                socket.connect(server).await?
            }
        };
        // Small request frames must leave at once, not wait for Nagle's timer.
        stream.set_nodelay(true)?;
        Ok(stream)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

    #[test]
    fn one_address_until_the_ports_run_short() {
        assert_eq!(Sources::plan(None, LOOPBACK, 100).unwrap().len(), 1);
        assert_eq!(Sources::plan(None, LOOPBACK, SOCKETS_PER_SOURCE_MAX).unwrap().next(), None);
        assert_eq!(Sources::plan(None, LOOPBACK, SOCKETS_PER_SOURCE_MAX + 1).unwrap().len(), 2);
        assert_eq!(Sources::plan(None, LOOPBACK, 100_000).unwrap().len(), 5);
    }

    #[test]
    fn takes_addresses_in_turn() {
        let sources = Sources::plan(Some(3), LOOPBACK, 10).unwrap();
        let taken: Vec<IpAddr> = (0..4).filter_map(|_| sources.next()).collect();
        let ip = |last| IpAddr::V4(Ipv4Addr::new(127, 0, 0, last));
        assert_eq!(taken, [ip(1), ip(2), ip(3), ip(1)]);
        // Clones share the turn, as every socket task holds one.
        assert_eq!(sources.clone().next(), Some(ip(2)));
    }

    #[test]
    fn refuses_counts_that_cannot_work() {
        assert_eq!(Sources::plan(Some(0), LOOPBACK, 10).unwrap_err(), SourceError::Count(0));
        assert!(Sources::plan(Some(SOURCE_ADDRS_MAX + 1), LOOPBACK, 10).is_err());
        let ipv6 = IpAddr::V6(std::net::Ipv6Addr::LOCALHOST);
        assert_eq!(Sources::plan(Some(2), ipv6, 10).unwrap_err(), SourceError::NotLoopbackV4(ipv6));
        // Remote or IPv6 targets keep the kernel's choice unless asked.
        assert_eq!(Sources::plan(None, ipv6, 100_000).unwrap().len(), 1);
        assert_eq!(Sources::plan(Some(1), ipv6, 10).unwrap().len(), 1);
    }

    #[tokio::test]
    async fn connects_from_the_chosen_address() {
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
        let server = listener.local_addr().unwrap();
        let sources = Sources::plan(Some(4), LOOPBACK, 10).unwrap();
        sources.next();
        let stream = sources.connect(server).await.unwrap();
        let (_, peer) = listener.accept().await.unwrap();
        assert_eq!(stream.local_addr().unwrap().ip(), IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2)));
        assert_eq!(peer.ip(), IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2)));
    }
}
