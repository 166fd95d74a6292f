//! The device loop's side of its log ([`crate::devlog`]): what it writes there, and the
//! `logs-upload` command (the log posted to `/ingest/v1/{uid}/logs/{request}` with the device's
//! own credentials).

use super::Device;
use crate::devlog::DevLog;

impl Device {
    /// The device's log (its tasks write to it; tests read it).
    pub fn log(&self) -> DevLog {
        self.log.clone()
    }

    /// Writes a line to the device's log, at the device's clock.
    pub(super) fn note(&self, what: &str) {
        self.log.record(self.cfg.clock.now().as_millis(), what);
    }

    /// Posts the log for `request` in the background; why it cannot, if it cannot start.
    pub(super) fn upload_logs(&mut self, request: String) -> Result<(), String> {
        let Some(base) = self.cfg.ingest_url.clone() else {
            self.note("logs upload refused: no ingest URL");
            return Err("no ingest URL".into());
        };
        let http = match &self.cfg.http {
            Some(c) => c.clone(),
            None => crate::tls::http_client(&base, self.pin).map_err(|e| e.to_string())?,
        };
        let secret = self.fw.state.secret.clone();
        let secret = secret.unwrap_or_else(|| self.cfg.secret.expose().to_string());
        let uid = self.cfg.uid.clone();
        self.note(&format!("logs upload {request} starting"));
        let text = self.log.text();
        let log = self.log.clone();
        let clock = self.cfg.clock.clone();
        tokio::spawn(async move {
            let url = format!("{}/ingest/v1/{uid}/logs/{request}", base.trim_end_matches('/'));
            let sent = http
                .post(url)
                .basic_auth(&uid, Some(&secret))
                .header("content-type", "text/plain; charset=utf-8")
                .body(text)
                .send()
                .await;
            let outcome = match sent {
                Ok(r) if r.status().is_success() => "done".to_string(),
                Ok(r) => format!("refused: {}", r.status()),
                Err(e) => format!("failed: {e}"),
            };
            tracing::info!(%uid, %request, %outcome, "logs upload");
            log.record(clock.now().as_millis(), &format!("logs upload {request} {outcome}"));
        });
        Ok(())
    }
}
