-- updated_at never moves back. The trigger stamps a change with now(), its transaction's start:
-- a transaction that began before another's change and commits after it (the batched write of
-- key use, accounts/key_use.py, touching users.last_login_at) stamped the row earlier than the
-- change it followed, so a client saw updated_at go backwards. The later of now() and the
-- stamp the row already has keeps it in commit order.
-- depends: 0019_email_keys
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';

CREATE OR REPLACE FUNCTION set_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := greatest(now(), OLD.updated_at);
    RETURN NEW;
END
$$;
