//! ICE-TCP (RFC 6544) for browsers whose network lets no UDP out: with `webrtc.ice_tcp` each
//! session also listens on TCP, on each address, and offers a passive TCP host candidate. The
//! browser connects (its active candidate), and ICE checks, DTLS and SRTP then travel over the
//! connection, each packet framed by a 16-bit length (RFC 4571). A few connections per session
//! at most; each has a reader task feeding the session and a writer task it sends to, both
//! ended with the session.

use std::collections::HashMap;
use std::future::poll_fn;
use std::net::{IpAddr, SocketAddr};
use std::task::Poll;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::WebRtcError;

/// Connections one session accepts at most (a browser opens one per candidate pair it tries).
const MAX_CONNECTIONS: usize = 4;
/// Packets queued towards one connection before more are dropped (as UDP would lose them).
const QUEUE: usize = 512;

/// Listens on `ip`, on `port` if free (the session's UDP port), else a free one in `range`.
pub(crate) async fn listen(
    ip: IpAddr,
    port: u16,
    range: Option<(u16, u16)>,
) -> Result<TcpListener, WebRtcError> {
    if let Ok(l) = TcpListener::bind((ip, port)).await {
        return Ok(l);
    }
    let Some((lo, hi)) = range else {
        return TcpListener::bind((ip, 0))
            .await
            .map_err(|e| WebRtcError::NoPort(format!("tcp {ip}: {e}")));
    };
    for p in lo..=hi {
        if let Ok(l) = TcpListener::bind((ip, p)).await {
            return Ok(l);
        }
    }
    Err(WebRtcError::NoPort(format!("tcp {ip}: every port of {lo}-{hi} is taken")))
}

/// A packet that came in over a connection: its bytes, the peer and the listener's address.
pub(crate) type Packet = (Vec<u8>, SocketAddr, SocketAddr);

/// A session's listeners and connections.
pub(crate) struct Tcp {
    listeners: Vec<(TcpListener, SocketAddr)>,
    writers: HashMap<SocketAddr, mpsc::Sender<Vec<u8>>>,
    tasks: Vec<JoinHandle<()>>,
    incoming: mpsc::Sender<Packet>,
    received: mpsc::Receiver<Packet>,
}

impl Tcp {
    pub(crate) fn new(listeners: Vec<(TcpListener, SocketAddr)>) -> Tcp {
        let (incoming, received) = mpsc::channel(QUEUE);
        Tcp { listeners, writers: HashMap::new(), tasks: Vec::new(), incoming, received }
    }

    /// The listeners' addresses: the passive candidates.
    pub(crate) fn addrs(&self) -> Vec<SocketAddr> {
        self.listeners.iter().map(|(_, a)| *a).collect()
    }

    /// Waits for a connection (taken on, up to [`MAX_CONNECTIONS`]) or a packet.
    pub(crate) async fn next(&mut self) -> Packet {
        loop {
            let accepted = poll_fn(|cx| {
                // The session holds a sender itself, so this never ends.
                if let Poll::Ready(Some(p)) = self.received.poll_recv(cx) {
                    return Poll::Ready(Err(p));
                }
                for (l, local) in &self.listeners {
                    match l.poll_accept(cx) {
                        Poll::Ready(Ok((stream, peer))) => {
                            return Poll::Ready(Ok((stream, peer, *local)));
                        }
                        // A connection that failed while queued: try again at once.
                        Poll::Ready(Err(_)) => cx.waker().wake_by_ref(),
                        Poll::Pending => {}
                    }
                }
                Poll::Pending
            })
            .await;
            match accepted {
                Err(packet) => return packet,
                Ok((stream, peer, local)) => self.take(stream, peer, local),
            }
        }
    }

    fn take(&mut self, stream: TcpStream, peer: SocketAddr, local: SocketAddr) {
        self.tasks.retain(|t| !t.is_finished());
        if self.writers.len() >= MAX_CONNECTIONS {
            return;
        }
        let _ = stream.set_nodelay(true);
        let (mut rd, mut wr) = stream.into_split();
        let (tx, mut rx) = mpsc::channel::<Vec<u8>>(QUEUE);
        self.writers.insert(peer, tx);
        let incoming = self.incoming.clone();
        self.tasks.push(tokio::spawn(async move {
            let mut len = [0u8; 2];
            loop {
                if rd.read_exact(&mut len).await.is_err() {
                    return;
                }
                let mut buf = vec![0u8; usize::from(u16::from_be_bytes(len))];
                if rd.read_exact(&mut buf).await.is_err()
                    || incoming.send((buf, peer, local)).await.is_err()
                {
                    return;
                }
            }
        }));
        self.tasks.push(tokio::spawn(async move {
            while let Some(framed) = rx.recv().await {
                if wr.write_all(&framed).await.is_err() {
                    return;
                }
            }
        }));
    }

    /// Sends `contents` to `peer` over its connection; false if there is none. A full queue
    /// drops the packet, as a network might.
    pub(crate) fn send(&self, peer: SocketAddr, contents: &[u8]) -> bool {
        let Some(tx) = self.writers.get(&peer) else { return false };
        let Ok(len) = u16::try_from(contents.len()) else { return false };
        let mut framed = Vec::with_capacity(contents.len() + 2);
        framed.extend_from_slice(&len.to_be_bytes());
        framed.extend_from_slice(contents);
        let _ = tx.try_send(framed);
        true
    }
}

impl Drop for Tcp {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    use super::*;

    async fn tcp_on_loopback() -> (Tcp, SocketAddr) {
        let l = listen(IpAddr::from([127, 0, 0, 1]), 0, None).await.expect("listen");
        let addr = l.local_addr().expect("addr");
        (Tcp::new(vec![(l, addr)]), addr)
    }

    #[tokio::test]
    async fn packets_are_framed_by_their_length_both_ways() {
        let (mut tcp, addr) = tcp_on_loopback().await;
        let mut browser = TcpStream::connect(addr).await.expect("connect");
        let me = browser.local_addr().expect("addr");
        browser.write_all(&[0, 3, b'a', b'b', b'c', 0, 1, b'd']).await.expect("write");
        assert_eq!(tcp.next().await, (b"abc".to_vec(), me, addr));
        assert_eq!(tcp.next().await, (b"d".to_vec(), me, addr));
        assert!(tcp.send(me, b"hello"), "the connection is known");
        let mut got = [0u8; 7];
        browser.read_exact(&mut got).await.expect("read");
        assert_eq!(&got, b"\0\x05hello");
        let elsewhere: SocketAddr = "127.0.0.1:9".parse().expect("addr");
        assert!(!tcp.send(elsewhere, b"x"), "no connection to an active candidate's port 9");
    }

    #[tokio::test]
    async fn a_session_takes_a_few_connections_and_closes_the_rest() {
        let (mut tcp, addr) = tcp_on_loopback().await;
        let mut kept = Vec::new();
        for i in 0..=MAX_CONNECTIONS {
            let mut c = TcpStream::connect(addr).await.expect("connect");
            c.write_all(&[0, 1, u8::try_from(i).expect("small")]).await.expect("write");
            kept.push(c);
        }
        for _ in 0..MAX_CONNECTIONS {
            tcp.next().await;
        }
        // The last one was accepted and closed at once.
        let mut last = kept.pop().expect("one more");
        let mut buf = [0u8; 1];
        let read = tokio::time::timeout(std::time::Duration::from_secs(5), async {
            // Accepting it happens while the session waits for its next packet.
            tokio::select! {
                _ = tcp.next() => None,
                n = last.read(&mut buf) => Some(n),
            }
        })
        .await
        .expect("the connection is answered");
        assert!(matches!(read, Some(Ok(0)) | Some(Err(_))), "closed: {read:?}");
    }
}
