//! Who may log in to the embedded broker.

use rumqttc::{ConnectReturnCode, ConnectionError};

use crate::support::{A, B, SECRET_A, TestGateway};

fn refused(r: Result<crate::support::Device, ConnectionError>) -> ConnectReturnCode {
    match r {
        Err(ConnectionError::ConnectionRefused(code)) => code,
        Err(e) => panic!("failed, but not with a refusal: {e}"),
        Ok(_) => panic!("the login was accepted"),
    }
}

#[tokio::test]
async fn device_with_its_secret_connects() {
    let gw = TestGateway::start().await;
    gw.device(A, SECRET_A).connect().await.expect("device A logs in");
    assert_eq!(gw.handle.stats().auth_failures, 0);
}

#[tokio::test]
async fn wrong_secret_is_refused() {
    let gw = TestGateway::start().await;
    let code = refused(gw.device(A, "not-the-secret").connect().await);
    assert_eq!(code, ConnectReturnCode::BadUserNamePassword);
    // B's secret does not open A either.
    refused(gw.device(A, crate::support::SECRET_B).connect().await);
    assert_eq!(gw.handle.stats().auth_failures, 2);
}

#[tokio::test]
async fn anonymous_login_is_refused() {
    let gw = TestGateway::start().await;
    let code = refused(gw.device(A, SECRET_A).anonymous().connect().await);
    assert_eq!(code, ConnectReturnCode::NotAuthorized);
    assert_eq!(gw.handle.stats().auth_failures, 1);
}

#[tokio::test]
async fn client_id_other_than_the_username_is_refused() {
    let gw = TestGateway::start().await;
    // A's own credentials, but posing as B's session.
    refused(gw.device(A, SECRET_A).client_id(B).connect().await);
    refused(gw.device(A, SECRET_A).client_id("something-else").connect().await);
    assert!(!gw.handle.is_connected(A) && !gw.handle.is_connected(B));
}

#[tokio::test]
async fn malformed_uid_is_refused_without_asking_the_server() {
    let gw = TestGateway::start().await;
    refused(gw.device("kk-lower", "x").connect().await);
    assert_eq!(gw.handle.stats().auth_failures, 1);
}
