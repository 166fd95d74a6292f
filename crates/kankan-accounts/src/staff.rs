//! Staff login with a second factor, always: a TOTP code after the password. A staff member
//! without one enrols at their first login (a single-use enrolment token, 10 minutes) and gets
//! a session only once a code from the new secret is confirmed. The secret is sealed under the
//! server data key (staff have no account key); a time step is accepted once.
//!
//! Also the console's staff management: list, role changes, disabling (ending the sessions),
//! resetting a second factor.

use std::time::Duration;

use kankan_base::{ErrorKind, StaffId, Timestamp};
use kankan_crypto::{TokenHash, random_token, totp};
use kankan_db::StaffMember;

use super::admin::{STAFF_SESSION, StaffPrincipal};
use super::{Accounts, ClientInfo};
use crate::{CoreError, risk};
use kankan_core::StaffRole;

/// How long an enrolment stays open.
pub const ENROLMENT_TTL: Duration = Duration::from_secs(10 * 60);
/// Steps either side of now a code may be from (clock drift of the authenticator).
const SKEW_STEPS: u64 = 1;
/// The issuer authenticator apps show.
const ISSUER: &str = "Kankan staff";

/// What a correct password leads to.
#[derive(Debug)]
pub enum StaffLogin {
    /// The second factor was right too: a session's bearer token.
    Session { token: String, staff: StaffPrincipal },
    /// No second factor yet: enrol it, then confirm with a code.
    Enrol(StaffEnrolment),
}

/// An enrolment in progress: the secret is shown once, here.
#[derive(Debug)]
pub struct StaffEnrolment {
    pub token: String,
    pub otpauth_uri: String,
    /// The secret in base32, for typing into an authenticator.
    pub secret: String,
    /// The otpauth URI as a QR code (SVG).
    pub qr_svg: String,
    pub expires_at: Timestamp,
}

fn sf(kind: ErrorKind, code: &'static str, message: &str) -> CoreError {
    CoreError::SecondFactor { kind, code, message: message.into() }
}

fn sealed_purpose(id: StaffId) -> String {
    format!("staff-totp:{id}")
}

fn unix_secs(t: Timestamp) -> u64 {
    u64::try_from(t.0 / 1000).unwrap_or(0)
}

impl Accounts {
    /// Logs a staff member in: password, then the second factor (`code`); a staff member
    /// without one gets an enrolment instead of a session. Every attempt counts against the
    /// name's throttle and lockout; only a complete login clears the failures.
    pub async fn staff_login(
        &self,
        username: &str,
        password: &str,
        code: Option<&str>,
        client: &ClientInfo,
    ) -> Result<StaffLogin, CoreError> {
        let s = &self.inner;
        s.limiter.check(&format!("login-ip:{}", client.network()), s.limits.login_per_ip).await?;
        // Throttled and locked out like users' logins, keyed on the name as it is looked up
        // (so "Admin " and "admin" share one count), whether or not a staff member has it.
        let username = username.trim();
        let idx = s.keyring.blind_index("staff-login", &username.to_lowercase()).to_vec();
        s.throttle_index("staff-login", &idx, s.limits.login_per_identifier).await?;
        let rule = risk::lockout_rule(&s.cfg);
        let count = s.store.count_login_attempt(&idx, s.now(), rule).await?;
        if let Some(retry_after) = risk::locked_for(&count, rule, s.now()) {
            tracing::warn!(ip = %client.ip, "staff login refused: locked out");
            return Err(CoreError::AccountLocked { retry_after });
        }
        let staff = s.store.staff_by_username(username).await?;
        let ok =
            s.check_password(password, staff.as_ref().map(|st| st.password_hash.as_str())).await?;
        let Some(staff) = staff.filter(|_| ok) else {
            tracing::warn!(ip = %client.ip, "failed staff login");
            return Err(CoreError::InvalidCredentials);
        };
        let member = s.store.staff_member(staff.id).await?.ok_or(CoreError::InvalidCredentials)?;
        if member.disabled_at.is_some() {
            tracing::warn!(ip = %client.ip, "staff login refused: disabled");
            return Err(CoreError::InvalidCredentials);
        }
        let Some(sealed) = s.store.staff_totp(staff.id).await? else {
            return Ok(StaffLogin::Enrol(self.start_enrolment(&member).await?));
        };
        let code = code.map(str::trim).filter(|c| !c.is_empty()).ok_or_else(|| {
            sf(
                ErrorKind::Unauthenticated,
                "second-factor-required",
                "give the code from your authenticator app",
            )
        })?;
        let secret = s.keyring.open_server_data(&sealed_purpose(staff.id), &sealed.secret_enc)?;
        let step = totp::verify(&secret, code, unix_secs(s.now()), SKEW_STEPS);
        let fresh = match step {
            Some(step) => s.store.use_staff_totp_step(staff.id, step).await?,
            None => false,
        };
        if !fresh {
            tracing::warn!(ip = %client.ip, "staff login refused: wrong or used code");
            return Err(invalid_code());
        }
        s.store.clear_login_failures(&idx).await?;
        self.open_staff_session(&member, client).await
    }

    async fn start_enrolment(&self, member: &StaffMember) -> Result<StaffEnrolment, CoreError> {
        let s = &self.inner;
        let secret = totp::generate_secret()?;
        let sealed = s.keyring.seal_server_data(&sealed_purpose(member.id), &secret)?;
        let (token, hash) = random_token()?;
        let expires_at = s.now().plus(ENROLMENT_TTL);
        s.store.insert_staff_enrolment(&hash.0, member.id, &sealed, expires_at).await?;
        let otpauth_uri = totp::otpauth_uri(ISSUER, &member.username, &secret);
        let qr = qrcode::QrCode::with_error_correction_level(&otpauth_uri, qrcode::EcLevel::M)
            .map_err(|e| CoreError::Internal(format!("enrolment QR code: {e}")))?;
        let qr_svg = qr.render::<qrcode::render::svg::Color<'_>>().min_dimensions(240, 240).build();
        Ok(StaffEnrolment {
            token,
            otpauth_uri,
            secret: totp::base32_encode(&secret),
            qr_svg,
            expires_at,
        })
    }

    /// Confirms an enrolment with a code from the new secret and opens the first session.
    /// The enrolment is used once; wrong codes are throttled on the staff member's name.
    pub async fn confirm_staff_enrolment(
        &self,
        enrolment: &str,
        code: &str,
        client: &ClientInfo,
    ) -> Result<StaffLogin, CoreError> {
        let s = &self.inner;
        s.limiter.check(&format!("login-ip:{}", client.network()), s.limits.login_per_ip).await?;
        let hash = TokenHash::of(enrolment);
        let gone = || {
            sf(
                ErrorKind::Unauthenticated,
                "enrolment-expired",
                "this enrolment has ended: log in again to start another",
            )
        };
        let (staff_id, sealed) =
            s.store.staff_enrolment(&hash.0, s.now()).await?.ok_or_else(gone)?;
        let member = s.store.staff_member(staff_id).await?.ok_or_else(gone)?;
        let idx = s.keyring.blind_index("staff-login", &member.username.to_lowercase()).to_vec();
        s.throttle_index("staff-login", &idx, s.limits.login_per_identifier).await?;
        let rule = risk::lockout_rule(&s.cfg);
        let count = s.store.count_login_attempt(&idx, s.now(), rule).await?;
        if let Some(retry_after) = risk::locked_for(&count, rule, s.now()) {
            return Err(CoreError::AccountLocked { retry_after });
        }
        if member.disabled_at.is_some() {
            return Err(gone());
        }
        let secret = s.keyring.open_server_data(&sealed_purpose(staff_id), &sealed)?;
        let step =
            totp::verify(&secret, code, unix_secs(s.now()), SKEW_STEPS).ok_or_else(invalid_code)?;
        if !s.store.finish_staff_enrolment(&hash.0, staff_id, &sealed, step).await? {
            return Err(gone());
        }
        s.store.clear_login_failures(&idx).await?;
        tracing::info!(staff = %member.username, "staff second factor enrolled");
        self.open_staff_session(&member, client).await
    }

    async fn open_staff_session(
        &self,
        member: &StaffMember,
        client: &ClientInfo,
    ) -> Result<StaffLogin, CoreError> {
        let s = &self.inner;
        let role = StaffRole::parse(&member.role).ok_or(CoreError::InvalidCredentials)?;
        let (token, hash) = random_token()?;
        let now = s.now();
        s.store.insert_staff_session(member.id, &hash.0, now, now.plus(STAFF_SESSION)).await?;
        tracing::info!(staff = %member.username, ip = %client.ip, "staff login");
        let staff = StaffPrincipal { id: member.id, username: member.username.clone(), role };
        Ok(StaffLogin::Session { token, staff })
    }

    /// Ends a staff session.
    pub async fn staff_logout(&self, token: &str) -> Result<(), CoreError> {
        Ok(self.inner.store.delete_staff_session(&TokenHash::of(token).0).await?)
    }

    /// Removes a staff member's second factor: they enrol again at their next login.
    pub async fn reset_staff_second_factor(&self, username: &str) -> Result<StaffId, CoreError> {
        let s = &self.inner;
        let staff = s
            .store
            .staff_by_username(username.trim())
            .await?
            .ok_or(CoreError::NotFound("staff member"))?;
        s.store.clear_staff_totp(staff.id).await?;
        Ok(staff.id)
    }

    /// Every staff member, by user name.
    pub async fn staff_members(&self) -> Result<Vec<StaffMember>, CoreError> {
        Ok(self.inner.store.staff_members().await?)
    }

    pub async fn staff_member(&self, id: StaffId) -> Result<StaffMember, CoreError> {
        self.inner.store.staff_member(id).await?.ok_or(CoreError::NotFound("staff member"))
    }

    /// Changes a staff member's role (their sessions hold the new role at once). A staff
    /// member cannot change their own role.
    pub async fn set_staff_role(
        &self,
        by: StaffId,
        id: StaffId,
        role: StaffRole,
    ) -> Result<(), CoreError> {
        if by == id {
            return Err(CoreError::StaffForbidden("changing your own role"));
        }
        if !self.inner.store.set_staff_role(id, role.name()).await? {
            return Err(CoreError::NotFound("staff member"));
        }
        Ok(())
    }

    /// Disables a staff member: their sessions end and they cannot log in. Not oneself.
    pub async fn disable_staff(&self, by: StaffId, id: StaffId) -> Result<(), CoreError> {
        if by == id {
            return Err(CoreError::StaffForbidden("disabling yourself"));
        }
        let s = &self.inner;
        self.staff_member(id).await?;
        s.store.disable_staff(id, s.now()).await?;
        Ok(())
    }
}

fn invalid_code() -> CoreError {
    sf(ErrorKind::Unauthenticated, "second-factor-invalid", "the code is wrong or was used already")
}
