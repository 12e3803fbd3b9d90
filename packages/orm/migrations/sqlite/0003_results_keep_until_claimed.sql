-- Migration 0003 (SQLite): results.keep_until_claimed, the claim key (a chord's `chord:<group>`) that
-- holds a success back from prune and from the `cached` expiry until claimOnce has taken it. NULL for
-- every other outcome, so existing rows need no backfill (ADD COLUMN of a nullable column without a
-- default rewrites no rows).
-- No index: prune and the expiry sweep test the column on rows they scan anyway, and reads on rows
-- they already found; the claims lookup per held row uses the claims primary key.
-- Placeholders: {{results}} is the configured table prefix, validated as a plain identifier before
-- substitution.
ALTER TABLE {{results}} ADD COLUMN keep_until_claimed TEXT;
