//! Integration tests of kankan-notify against real servers on 127.0.0.1: a Python `smtpd`
//! sink for SMTP (see `smtp_sink.py`) and an axum stand-in for Twilio's REST API.

mod router;
mod smtp;
mod twilio;

/// A port on 127.0.0.1 that nothing listens on (bound once, then released).
pub fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    listener.local_addr().expect("local addr").port()
}
