//! Integration tests of kankan-notify against real servers on 127.0.0.1: kankan-testkit's
//! SMTP sink (Python's `smtpd`) and Twilio stand-in (axum), and Python's `http_ece` decrypting
//! our Web Push bodies (`scripts/webpush_decrypt.py`).

mod router;
mod smtp;
mod twilio;
mod webpush;
