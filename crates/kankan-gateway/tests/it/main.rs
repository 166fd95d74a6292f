//! Integration tests of the gateway over real sockets: rumqttc and Mosquitto clients as
//! devices, the embedded broker, and a real Mosquitto broker for the external mode.

mod acl;
mod auth;
mod buffers;
mod external;
mod messaging;
mod mosquitto_tools;
mod presence;
mod support;
