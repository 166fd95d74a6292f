-- Several nodes on one database: what used to live in one node's memory and must be shared.
-- Old nodes run with this schema unchanged (new tables and one nullable column only), so
-- nodes can be upgraded one at a time. Times are milliseconds since the Unix epoch (UTC).

-- Request throttles' fixed windows (kankan_accounts::risk::RateLimiter on a shared
-- database): one row per key and window length, counted with one atomic upsert; a window
-- that ended starts again at the next request, and the accounts sweeper deletes ended ones.
CREATE TABLE rate_windows (
    key        TEXT COLLATE "C" PRIMARY KEY,   -- e.g. 'login-ip:203.0.113.9/60'
    ends_at_ms BIGINT NOT NULL,
    count      BIGINT NOT NULL
);
CREATE INDEX rate_windows_ends ON rate_windows (ends_at_ms);

-- Work that one node at a time does (the RTSP bridge, announcements, retention, account
-- lifecycle): the node holding a lease renews it; another takes it over once it lapses.
CREATE TABLE node_leases (
    name        TEXT COLLATE "C" PRIMARY KEY,
    holder      TEXT COLLATE "C" NOT NULL,     -- the node's id (random per start)
    until_ms    BIGINT NOT NULL
);

-- The dispatch worker claims an event before queueing its deliveries, so two nodes never
-- dispatch the same event; a node that dies mid-dispatch leaves a claim that lapses.
ALTER TABLE events ADD COLUMN dispatch_claim_until_ms BIGINT;
