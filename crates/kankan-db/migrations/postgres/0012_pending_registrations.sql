-- A registration's password waits with its code: registering an identifier whose account is
-- still pending never replaces that account's password; the password chosen with a code
-- applies only when that code is redeemed (the registrant has proven the identifier).

ALTER TABLE verification_codes ADD COLUMN password_hash TEXT COLLATE "C";  -- Argon2id PHC string to apply on redemption; NULL for resets, erased once consumed
