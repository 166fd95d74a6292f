//! The session's UDP sockets: one per configured address, in the configured port range.

use std::future::poll_fn;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::task::Poll;

use tokio::io::ReadBuf;
use tokio::net::UdpSocket;

use crate::WebRtcError;

/// Binds one socket per address, each on a free port of `range` (any free port without one).
pub(crate) async fn bind(
    ips: &[IpAddr],
    range: Option<(u16, u16)>,
) -> Result<Vec<UdpSocket>, WebRtcError> {
    let mut sockets = Vec::with_capacity(ips.len());
    for ip in ips {
        sockets.push(bind_one(*ip, range).await?);
    }
    Ok(sockets)
}

async fn bind_one(ip: IpAddr, range: Option<(u16, u16)>) -> Result<UdpSocket, WebRtcError> {
    let Some((lo, hi)) = range else {
        return UdpSocket::bind((ip, 0))
            .await
            .map_err(|e| WebRtcError::NoPort(format!("{ip}: {e}")));
    };
    let span = u32::from(hi - lo) + 1;
    // Start somewhere random so concurrent sessions do not all race for the lowest port.
    let mut seed = [0u8; 4];
    let start = match getrandom::fill(&mut seed) {
        Ok(()) => u32::from_le_bytes(seed) % span,
        Err(_) => 0,
    };
    for i in 0..span {
        let port = u16::try_from(u32::from(lo) + (start + i) % span).unwrap_or(hi);
        if let Ok(s) = UdpSocket::bind((ip, port)).await {
            return Ok(s);
        }
    }
    Err(WebRtcError::NoPort(format!("{ip}: every port of {lo}-{hi} is taken")))
}

/// Waits for a datagram on any of `sockets`: its length, source and the socket's address.
pub(crate) async fn recv_any(
    sockets: &[(UdpSocket, SocketAddr)],
    buf: &mut [u8],
) -> io::Result<(usize, SocketAddr, SocketAddr)> {
    poll_fn(|cx| {
        for (socket, local) in sockets {
            let mut rb = ReadBuf::new(buf);
            match socket.poll_recv_from(cx, &mut rb) {
                Poll::Ready(Ok(source)) => {
                    return Poll::Ready(Ok((rb.filled().len(), source, *local)));
                }
                // An ICMP "port unreachable" from a peer that went away surfaces here on
                // some systems; it is not the socket's failure.
                Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::ConnectionRefused => {
                    cx.waker().wake_by_ref();
                    return Poll::Pending;
                }
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => {}
            }
        }
        Poll::Pending
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn sockets_take_ports_from_the_range_until_it_is_full() {
        let ip = IpAddr::from([127, 0, 0, 1]);
        // A port that was free a moment ago.
        let probe = UdpSocket::bind((ip, 0)).await.expect("bind");
        let port = probe.local_addr().expect("addr").port();
        drop(probe);
        let range = Some((port, port));
        let a = bind(&[ip], range).await.expect("the port is free");
        assert_eq!(a[0].local_addr().expect("addr").port(), port);
        assert!(
            matches!(bind(&[ip], range).await, Err(WebRtcError::NoPort(_))),
            "the range is full"
        );
        drop(a);
        assert!(bind(&[ip], range).await.is_ok(), "free again once the session ends");
    }

    #[tokio::test]
    async fn a_datagram_on_any_socket_is_received_with_its_addresses() {
        let ip = IpAddr::from([127, 0, 0, 1]);
        let socks = bind(&[ip, ip], None).await.expect("bind");
        let socks: Vec<(UdpSocket, SocketAddr)> = socks
            .into_iter()
            .map(|s| {
                let a = s.local_addr().expect("addr");
                (s, a)
            })
            .collect();
        let peer = UdpSocket::bind((ip, 0)).await.expect("peer");
        peer.send_to(b"hello", socks[1].1).await.expect("send");
        let mut buf = [0u8; 64];
        let (n, from, to) = recv_any(&socks, &mut buf).await.expect("received");
        assert_eq!(&buf[..n], b"hello");
        assert_eq!(from, peer.local_addr().expect("peer addr"));
        assert_eq!(to, socks[1].1);
    }
}
