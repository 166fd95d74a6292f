-- Sound alarms: events of kind 'sound' (a loud noise or a sustained sound above the camera's
-- background level), with the loudest peak in dBFS; their duration is end - start.
--
-- SQLite cannot alter a CHECK constraint. A rebuild of the table would have to name every
-- column of every earlier step; instead the CHECK is widened in place, the procedure SQLite
-- documents for constraints that no existing row can violate ("Making Other Kinds Of Table
-- Schema Changes"): the stored CREATE TABLE text gains 'sound', and the schema is read again.
-- The column is added first, so that ALTER TABLE works on the text it parsed; its change of
-- the schema version makes every other connection read the new text too.

ALTER TABLE events ADD COLUMN level_db INTEGER;            -- sound: the loudest peak, dBFS (-100..0)
PRAGMA writable_schema = ON;
UPDATE sqlite_schema
    SET sql = replace(sql, 'CHECK (kind IN (''motion'', ''press'', ''loiter'', ''tamper''))',
                      'CHECK (kind IN (''motion'', ''press'', ''loiter'', ''tamper'', ''sound''))')
    WHERE type = 'table' AND name = 'events';
-- Had the text not matched (an earlier step worded the CHECK otherwise), stop here: abs()
-- of the smallest integer is an "integer overflow" error.
SELECT CASE WHEN sql LIKE '%''tamper'', ''sound''))%' THEN 0 ELSE abs(-9223372036854775807 - 1) END
    FROM sqlite_schema WHERE type = 'table' AND name = 'events';
PRAGMA writable_schema = RESET;
PRAGMA writable_schema = OFF;
