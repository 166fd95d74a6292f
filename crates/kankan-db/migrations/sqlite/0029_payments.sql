-- Payments (kankan-billing): orders, the payment providers' events already processed, coupons,
-- redemption codes and their redemptions. An order keeps only what the privacy policy names —
-- the package bought (kind, sku, title), the device or SIM it is for, the amount and whether the
-- payment succeeded — plus the provider's opaque references needed for idempotency and refunds;
-- never card data nor anything from the payer's payment account. Amounts are integer minor
-- units of an ISO 4217 currency (upper case). Times are milliseconds since the Unix epoch (UTC),
-- named *_ms.

CREATE TABLE orders (
    id                      TEXT PRIMARY KEY,          -- UUIDv7
    account_id              TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    kind                    TEXT NOT NULL CHECK (kind IN ('plan', 'data')),
    sku                     TEXT NOT NULL,             -- the catalogue id
    target_kind             TEXT NOT NULL CHECK (target_kind IN ('device', 'sim')),
    target                  TEXT NOT NULL,             -- the device UID or the SIM's ICCID
    title                   TEXT NOT NULL,
    list_amount_minor       INTEGER NOT NULL CHECK (list_amount_minor >= 0),
    amount_minor            INTEGER NOT NULL CHECK (amount_minor >= 0), -- after the coupon
    currency                TEXT NOT NULL,
    coupon                  TEXT,                      -- the coupon's code, if one applied
    status                  TEXT NOT NULL CHECK (status IN ('pending', 'paid', 'failed', 'cancelled', 'refunded')),
    provider                TEXT NOT NULL,             -- stripe, alipay, wechat, code, coupon
    provider_ref            TEXT,                      -- the checkout (session id, out_trade_no)
    payment_ref             TEXT,                      -- the payment (payment intent, trade_no, transaction_id)
    refund_ref              TEXT,                      -- the provider's refund id
    created_at_ms           INTEGER NOT NULL,
    paid_at_ms              INTEGER,
    refunded_at_ms          INTEGER,
    fulfilled_at_ms         INTEGER,                   -- when the Fulfilment granted it
    updated_at_ms           INTEGER NOT NULL
);
CREATE INDEX orders_by_account ON orders (account_id, created_at_ms);
CREATE INDEX orders_by_payment ON orders (provider, payment_ref);

-- Every provider event applied (its id, per provider): a replay finds its row and changes
-- nothing.
CREATE TABLE billing_events (
    provider                TEXT NOT NULL,
    event_id                TEXT NOT NULL,
    order_id                TEXT NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    kind                    TEXT NOT NULL CHECK (kind IN ('paid', 'failed', 'refunded')),
    received_at_ms          INTEGER NOT NULL,
    PRIMARY KEY (provider, event_id)
);
CREATE INDEX billing_events_by_order ON billing_events (order_id);

-- Coupons: percent or amount off at checkout, limited uses (taken with one conditional UPDATE),
-- an expiry, optionally only for some SKUs.
CREATE TABLE coupons (
    code                    TEXT PRIMARY KEY,          -- what the user types (upper case)
    percent_off             INTEGER CHECK (percent_off BETWEEN 1 AND 100),
    amount_off_minor        INTEGER CHECK (amount_off_minor > 0),
    currency                TEXT,                      -- with amount_off_minor
    max_uses                INTEGER NOT NULL CHECK (max_uses > 0),
    used                    INTEGER NOT NULL DEFAULT 0,
    expires_at_ms           INTEGER,
    skus                    TEXT NOT NULL,             -- space-separated SKUs; empty: every SKU
    created_by              TEXT NOT NULL,             -- the staff member
    created_at_ms           INTEGER NOT NULL,
    CHECK ((percent_off IS NULL) <> (amount_off_minor IS NULL)),
    CHECK (used <= max_uses)
);

-- Redemption codes: a product (without target) given for nothing, limited uses, an expiry. The
-- code itself is a bearer secret: only its SHA-256 is kept.
CREATE TABLE redemption_codes (
    id                      TEXT PRIMARY KEY,          -- UUIDv7
    code_hash               BLOB NOT NULL UNIQUE,
    kind                    TEXT NOT NULL CHECK (kind IN ('plan', 'data')),
    sku                     TEXT NOT NULL,
    title                   TEXT NOT NULL,
    currency                TEXT NOT NULL,
    max_uses                INTEGER NOT NULL CHECK (max_uses > 0),
    used                    INTEGER NOT NULL DEFAULT 0,
    expires_at_ms           INTEGER,
    created_by              TEXT NOT NULL,
    created_at_ms           INTEGER NOT NULL,
    CHECK (used <= max_uses)
);

-- Each redemption: the code, the paid order of amount 0 it made.
CREATE TABLE redemptions (
    order_id                TEXT PRIMARY KEY REFERENCES orders (id) ON DELETE CASCADE,
    code_id                 TEXT NOT NULL REFERENCES redemption_codes (id) ON DELETE CASCADE,
    account_id              TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    redeemed_at_ms          INTEGER NOT NULL
);
CREATE INDEX redemptions_by_code ON redemptions (code_id);
