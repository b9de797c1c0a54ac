-- transactional: false
-- squawk-disable-assume-in-transaction
-- Accounts (issue 13): look-alike emails name one account, the JSON a user stores is bounded,
-- and the live admins have an index of their own (the last one may not go: sql/accounts/users.sql).
--
-- Emails are compared by users.email_key, under a partial unique index among live users that
-- replaces the one on lower(email). The key is the email without the characters that show as
-- nothing, NFKC, Unicode full case folding, both Turkish i's as i, NFKC again
-- (src/bookshop/accounts/emails.py), so ı and i, ﬁ and fi, ß and ss, ad<U+200B>min and admin
-- collide.
-- The service computes it in Python and passes it with every INSERT and UPDATE of an email;
-- it is not a generated column because SQL cannot compute the same thing on every server:
-- PostgreSQL has no case folding before 18 (casefold()), and lower() is not folding (ß stays
-- ß) and follows the database's locale (under a libc "C" locale it lowers ASCII only). A
-- stored key is also data, not an index expression, so a server upgrade whose Unicode tables
-- change cannot leave the index out of step with the rows. What SQL can do, email_key_of()
-- below does: it fills the key of rows written before this migration and of writers that do
-- not give one (psql, bulk loads), and equals the service's key for ASCII addresses and the
-- cases above; it can differ for a few scripts (Cherokee, Greek with iota subscripts).
--
-- yoyo runs this file statement by statement in autocommit, so the timeouts are plain SET and
-- every statement may run again: when one fails (the unique index, on two live users whose
-- addresses are look-alikes; a validation, on a document past its bound), fix those rows and
-- apply again (docs/migrations.md says how to find them).
-- depends: 0018_venue_pricing
SET lock_timeout = '5s';
SET statement_timeout = '30min';

-- Bounded documents. The service refuses more than 16 KiB of compact JSON nested past 16
-- levels with a 400 naming the field; the bound here is what no writer gets past. It is on
-- the jsonb text form, which spaces its separators (up to 1.5 times the compact size) and
-- writes numbers out in full (1e308 as 309 digits), so it leaves room: a document the service
-- accepts fits unless its numbers are huge, and then this refusal is a 422 naming the
-- constraint. NOT VALID first, then VALIDATE: the check of the existing rows takes no lock
-- that stops writes.
-- The same statement adds the constraint again: dropping it first is what lets the file run twice.
-- squawk-ignore ban-drop-constraint
ALTER TABLE users DROP CONSTRAINT IF EXISTS users_preferences_size,
    ADD CONSTRAINT users_preferences_size CHECK (octet_length(preferences::text) <= 65536) NOT VALID;
ALTER TABLE users VALIDATE CONSTRAINT users_preferences_size;
-- The same statement adds the constraint again: dropping it first is what lets the file run twice.
-- squawk-ignore ban-drop-constraint
ALTER TABLE user_settings DROP CONSTRAINT IF EXISTS user_settings_value_size,
    ADD CONSTRAINT user_settings_value_size CHECK (octet_length(value::text) <= 65536) NOT VALID;
ALTER TABLE user_settings VALIDATE CONSTRAINT user_settings_value_size;

-- The key in SQL, as near the service's as SQL gets: the characters that show as nothing go
-- first (the default-ignorable code points, the same ranges as accounts/emails.py), lower()
-- does the folding for everything but ß (ss) and the final sigma ς (σ), the two foldings common
-- text meets that lowering does not make; the Turkish i's then become i as in the service
-- (lower() makes İ i, or i + U+0307).
CREATE OR REPLACE FUNCTION email_key_of(email text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
RETURN normalize(
    replace(replace(replace(replace(lower(normalize(regexp_replace(email,
        '[\u00AD\u034F\u061C\u115F\u1160\u17B4\u17B5\u180B-\u180F\u200B-\u200F\u202A-\u202E\u2060-\u206F'
        '\u3164\uFE00-\uFE0F\uFEFF\uFFA0\uFFF0-\uFFF8\U0001BCA0-\U0001BCA3\U0001D173-\U0001D17A'
        '\U000E0000-\U000E0FFF]', '', 'g'), NFKC)), 'ß', 'ss'), 'ς', 'σ'), 'i' || U&'\0307', 'i'), 'ı', 'i'),
    NFKC
);

ALTER TABLE users ADD COLUMN IF NOT EXISTS email_key text;

-- A writer that gives no key gets email_key_of()'s: on INSERT when the key is NULL, on UPDATE
-- when it is set to NULL or when the email changed to another address (by email_key_of) and
-- the key did not change with it. The service always gives the key, so its rows keep Python's.
CREATE OR REPLACE FUNCTION users_fill_email_key() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.email_key IS NULL
       OR (TG_OP = 'UPDATE' AND NEW.email_key = OLD.email_key
           AND email_key_of(NEW.email) IS DISTINCT FROM email_key_of(OLD.email)) THEN
        NEW.email_key := email_key_of(NEW.email);
    END IF;
    RETURN NEW;
END
$$;

CREATE OR REPLACE TRIGGER users_fill_email_key BEFORE INSERT OR UPDATE OF email, email_key ON users
    FOR EACH ROW EXECUTE FUNCTION users_fill_email_key();

-- The rows written before: in batches of 5000 along the primary key, each committed on its
-- own, so no transaction holds many row locks for long (sign-ins write users.last_login_at).
-- Rows written meanwhile have their key from the trigger.
DO $$
DECLARE
    after_id uuid := '00000000-0000-0000-0000-000000000000';
    last_id uuid;
BEGIN
    LOOP
        -- The 5000th id past the last batch; none when fewer remain, and this batch is the last.
        SELECT id INTO last_id FROM users WHERE id > after_id ORDER BY id OFFSET 4999 LIMIT 1;
        UPDATE users SET email_key = email_key_of(email)
        WHERE id > after_id AND (last_id IS NULL OR id <= last_id) AND email_key IS NULL;
        COMMIT;
        EXIT WHEN last_id IS NULL;
        after_id := last_id;
    END LOOP;
END
$$;

-- Not empty, and so not NULL: the validated check lets SET NOT NULL skip its own scan.
-- The same statement adds the constraint again: dropping it first is what lets the file run twice.
-- squawk-ignore ban-drop-constraint
ALTER TABLE users DROP CONSTRAINT IF EXISTS users_email_key_not_empty,
    ADD CONSTRAINT users_email_key_not_empty CHECK (email_key IS NOT NULL AND email_key <> '') NOT VALID;
ALTER TABLE users VALIDATE CONSTRAINT users_email_key_not_empty;
-- SET NOT NULL on a column that is already NOT NULL does nothing, so this too runs again.
-- squawk-ignore prefer-robust-stmts
ALTER TABLE users ALTER COLUMN email_key SET NOT NULL;

-- One live user per key. A failed concurrent build leaves an invalid index of that name behind,
-- which IF NOT EXISTS would take for done: drop it first (a no-op on the first run). The old
-- index on lower(email) stays until the new one is built, so some uniqueness always holds.
DROP INDEX CONCURRENTLY IF EXISTS users_email_key_live_key;
CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS users_email_key_live_key ON users (email_key)
    WHERE deleted_at IS NULL;
DROP INDEX CONCURRENTLY IF EXISTS users_email_live_key;

-- The live, active admins in id order: the rule that the last one may not be deleted, deactivated
-- or demoted locks them in this order (sql/accounts/users.sql). A handful of rows, whatever the
-- size of users.
DROP INDEX CONCURRENTLY IF EXISTS users_live_admins_idx;
CREATE INDEX CONCURRENTLY IF NOT EXISTS users_live_admins_idx ON users (id)
    WHERE role = 'admin' AND is_active AND deleted_at IS NULL;
