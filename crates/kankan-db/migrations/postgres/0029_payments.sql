-- Payments (kankan-billing): orders, the payment providers' events already processed, coupons,
-- redemption codes and their redemptions. An order keeps only what the privacy policy names —
-- the package bought (kind, sku, title), the device or SIM it is for, the amount and whether the
-- payment succeeded — plus the provider's opaque references needed for idempotency and refunds;
-- never card data nor anything from the payer's payment account. Amounts are integer minor
-- units of an ISO 4217 currency (upper case). Times are milliseconds since the Unix epoch (UTC),
-- named *_ms.

CREATE TABLE orders (
    id                      TEXT COLLATE "C" PRIMARY KEY,          -- UUIDv7
    account_id              TEXT COLLATE "C" NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    kind                    TEXT COLLATE "C" NOT NULL CHECK (kind IN ('plan', 'data')),
    sku                     TEXT COLLATE "C" NOT NULL,             -- the catalogue id
    target_kind             TEXT COLLATE "C" NOT NULL CHECK (target_kind IN ('device', 'sim')),
    target                  TEXT COLLATE "C" NOT NULL,             -- the device UID or the SIM's ICCID
    title                   TEXT COLLATE "C" NOT NULL,
    list_amount_minor       BIGINT NOT NULL CHECK (list_amount_minor >= 0),
    amount_minor            BIGINT NOT NULL CHECK (amount_minor >= 0), -- after the coupon
    currency                TEXT COLLATE "C" NOT NULL,
    coupon                  TEXT COLLATE "C",                      -- the coupon's code, if one applied
    status                  TEXT COLLATE "C" NOT NULL CHECK (status IN ('pending', 'paid', 'failed', 'cancelled', 'refunded')),
    provider                TEXT COLLATE "C" NOT NULL,             -- stripe, alipay, wechat, code, coupon
    provider_ref            TEXT COLLATE "C",                      -- the checkout (session id, out_trade_no)
    payment_ref             TEXT COLLATE "C",                      -- the payment (payment intent, trade_no, transaction_id)
    refund_ref              TEXT COLLATE "C",                      -- the provider's refund id
    created_at_ms           BIGINT NOT NULL,
    paid_at_ms              BIGINT,
    refunded_at_ms          BIGINT,
    fulfilled_at_ms         BIGINT,                   -- when the Fulfilment granted it
    updated_at_ms           BIGINT NOT NULL
);
CREATE INDEX orders_by_account ON orders (account_id, created_at_ms);
CREATE INDEX orders_by_payment ON orders (provider, payment_ref);

-- Every provider event applied (its id, per provider): a replay finds its row and changes
-- nothing.
CREATE TABLE billing_events (
    provider                TEXT COLLATE "C" NOT NULL,
    event_id                TEXT COLLATE "C" NOT NULL,
    order_id                TEXT COLLATE "C" NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    kind                    TEXT COLLATE "C" NOT NULL CHECK (kind IN ('paid', 'failed', 'refunded')),
    received_at_ms          BIGINT NOT NULL,
    PRIMARY KEY (provider, event_id)
);
CREATE INDEX billing_events_by_order ON billing_events (order_id);

-- Coupons: percent or amount off at checkout, limited uses (taken with one conditional UPDATE),
-- an expiry, optionally only for some SKUs.
CREATE TABLE coupons (
    code                    TEXT COLLATE "C" PRIMARY KEY,          -- what the user types (upper case)
    percent_off             BIGINT CHECK (percent_off BETWEEN 1 AND 100),
    amount_off_minor        BIGINT CHECK (amount_off_minor > 0),
    currency                TEXT COLLATE "C",                      -- with amount_off_minor
    max_uses                BIGINT NOT NULL CHECK (max_uses > 0),
    used                    BIGINT NOT NULL DEFAULT 0,
    expires_at_ms           BIGINT,
    skus                    TEXT COLLATE "C" NOT NULL,             -- space-separated SKUs; empty: every SKU
    created_by              TEXT COLLATE "C" NOT NULL,             -- the staff member
    created_at_ms           BIGINT NOT NULL,
    CHECK ((percent_off IS NULL) <> (amount_off_minor IS NULL)),
    CHECK (used <= max_uses)
);

-- Redemption codes: a product (without target) given for nothing, limited uses, an expiry. The
-- code itself is a bearer secret: only its SHA-256 is kept.
CREATE TABLE redemption_codes (
    id                      TEXT COLLATE "C" PRIMARY KEY,          -- UUIDv7
    code_hash               BYTEA NOT NULL UNIQUE,
    kind                    TEXT COLLATE "C" NOT NULL CHECK (kind IN ('plan', 'data')),
    sku                     TEXT COLLATE "C" NOT NULL,
    title                   TEXT COLLATE "C" NOT NULL,
    currency                TEXT COLLATE "C" NOT NULL,
    max_uses                BIGINT NOT NULL CHECK (max_uses > 0),
    used                    BIGINT NOT NULL DEFAULT 0,
    expires_at_ms           BIGINT,
    created_by              TEXT COLLATE "C" NOT NULL,
    created_at_ms           BIGINT NOT NULL,
    CHECK (used <= max_uses)
);

-- Each redemption: the code, the paid order of amount 0 it made.
CREATE TABLE redemptions (
    order_id                TEXT COLLATE "C" PRIMARY KEY REFERENCES orders (id) ON DELETE CASCADE,
    code_id                 TEXT COLLATE "C" NOT NULL REFERENCES redemption_codes (id) ON DELETE CASCADE,
    account_id              TEXT COLLATE "C" NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    redeemed_at_ms          BIGINT NOT NULL
);
CREATE INDEX redemptions_by_code ON redemptions (code_id);
