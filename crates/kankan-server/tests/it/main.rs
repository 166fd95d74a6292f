//! Integration tests: the real server through its real HTTP port.

mod accounts;
mod admin;
mod bad_input;
mod browser;
mod browser_devices;
mod browser_live;
mod browser_playback;
mod browser_rtsp;
mod cli;
mod devices;
mod devices_authz;
mod devices_sim;
mod live;
mod openapi;
mod privacy;
mod recording;
mod recording_crash;
mod recording_input;
mod risk;
mod rtsp;
mod sessions;
