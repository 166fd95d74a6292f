//! Integration tests of `kankan-cam` against the real embedded gateway: pairing by QR code and
//! by sound, desired settings, commands, firmware updates, reconnection, and the binary itself.

mod cli;
mod commands;
mod firmware;
mod pairing;
mod reconnect;
mod settings;
mod support;
