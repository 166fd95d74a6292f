//! The blob store contract, run against every store Kankan can use: the local directory and
//! a real S3 server (moto).

mod contract;
