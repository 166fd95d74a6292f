-- Cloud-storage plans and 4G data (kankan-plans).
--
-- device_limits: what the recording domain may keep of one device, written by kankan-plans
-- from the device's current entitlement; a device without a row follows the free tier the
-- operator configures (`[plans.free]`, else `recording.retention_days`). `kind` caps the
-- owner's recording mode ('continuous' | 'events' | 'card-only'), `since_ms` is when it
-- took effect (an events-only cap keeps only what events protect from then on).
CREATE TABLE device_limits (
    uid                     TEXT PRIMARY KEY REFERENCES devices (uid) ON DELETE CASCADE,
    kind                    TEXT NOT NULL,
    retention_days          INTEGER NOT NULL,
    quota_mib               INTEGER,                     -- NULL: only the account's quota
    since_ms                INTEGER NOT NULL
);
CREATE INDEX device_limits_by_retention ON device_limits (retention_days);

-- plan_entitlements: one row per paid plan order: the period it buys for one device
-- (the package, the device and the order: nothing of the payment itself). A renewal starts
-- where the device's last period ends ('scheduled' until then); another plan ends the
-- current one ('replaced') and starts now. Expiry, refund and unbinding end a period.
CREATE TABLE plan_entitlements (
    order_id                TEXT PRIMARY KEY,
    account_id              TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    uid                     TEXT NOT NULL REFERENCES devices (uid) ON DELETE CASCADE,
    sku                     TEXT NOT NULL,
    kind                    TEXT NOT NULL,
    retention_days          INTEGER NOT NULL,
    quota_mib               INTEGER,
    starts_at_ms            INTEGER NOT NULL,
    ends_at_ms              INTEGER NOT NULL,
    state                   TEXT NOT NULL,  -- 'scheduled' | 'active' | 'ended'
    end_reason              TEXT,           -- 'expired' | 'replaced' | 'refunded' | 'unbound'
    ended_at_ms             INTEGER,
    reminded_at_ms          INTEGER,
    created_at_ms           INTEGER NOT NULL
);
CREATE INDEX plan_entitlements_by_uid ON plan_entitlements (uid, state);
CREATE INDEX plan_entitlements_by_state ON plan_entitlements (state, ends_at_ms);
CREATE INDEX plan_entitlements_by_account ON plan_entitlements (account_id);

-- sim_topups: one row per paid 4G data order: the ICCID it tops up (a device identifier,
-- needed to activate the data with the carrier; shown masked), the allowance and its days
-- (policy: "traffic card ICCID, order information, and payment records").
CREATE TABLE sim_topups (
    order_id                TEXT PRIMARY KEY,
    account_id              TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    iccid                   TEXT NOT NULL,
    sku                     TEXT NOT NULL,
    allowance_kb            INTEGER NOT NULL,
    starts_at_ms            INTEGER NOT NULL,
    ends_at_ms              INTEGER NOT NULL,
    refunded_at_ms          INTEGER,
    created_at_ms           INTEGER NOT NULL
);
CREATE INDEX sim_topups_by_iccid ON sim_topups (iccid, ends_at_ms);
CREATE INDEX sim_topups_by_account ON sim_topups (account_id);
