-- Jobs: a queue in a table, claimed with FOR UPDATE SKIP LOCKED. A claimed job is 'running'
-- and its run_at moves to the end of its lease (the visibility timeout): when a worker dies,
-- the lease runs out and the job is claimable again, through the same index as a queued job.
-- depends: 0012_events
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';

CREATE TABLE jobs (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    queue        text NOT NULL DEFAULT 'default' CHECK (queue ~ '^[a-z][a-z0-9_]{0,63}$'),
    kind         text NOT NULL CHECK (kind ~ '^[a-z][a-z0-9_]{0,63}$'),
    payload      jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(payload) = 'object'),
    status       text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'done', 'failed')),
    -- A bounded quantity (at most max_attempts), not a key or a counter that grows: 32 bits suffice.
    -- squawk-ignore prefer-bigint-over-int
    attempts     integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    -- A bounded quantity (1 to 100), not a key or a counter that grows: 32 bits suffice.
    -- squawk-ignore prefer-bigint-over-int
    max_attempts integer NOT NULL DEFAULT 5 CHECK (max_attempts BETWEEN 1 AND 100),
    run_at       timestamptz NOT NULL DEFAULT now(),  -- queued: not before; running: lease end
    locked_at    timestamptz,
    locked_by    text,
    last_error   text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT jobs_running_is_locked CHECK ((status = 'running') = (locked_by IS NOT NULL))
);

-- The claim query: the jobs of a queue that are due, oldest first. Done and failed jobs leave
-- the index, so it stays as small as the work still to do.
CREATE INDEX jobs_claim_idx ON jobs (queue, run_at, id) WHERE status IN ('queued', 'running');
-- GET /admin/jobs?status=: one status newest first, by keyset on id.
CREATE INDEX jobs_status_idx ON jobs (status, id DESC);

CREATE TRIGGER jobs_set_updated_at BEFORE UPDATE ON jobs
    FOR EACH ROW WHEN (OLD IS DISTINCT FROM NEW) EXECUTE FUNCTION set_updated_at();

-- Idle workers LISTEN on bookshop_jobs: a statement that makes jobs due now wakes them once per
-- queue at commit (a rolled-back one wakes no one), so they need not poll to start promptly.
-- Jobs due later (a retry's backoff) are found by the workers' polling instead.
CREATE FUNCTION notify_jobs_queued() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('bookshop_jobs', queue) FROM (SELECT DISTINCT queue FROM queued WHERE status = 'queued' AND run_at <= now()) AS queues;
    RETURN NULL;
END
$$;

CREATE TRIGGER jobs_notify_inserted AFTER INSERT ON jobs
    REFERENCING NEW TABLE AS queued
    FOR EACH STATEMENT EXECUTE FUNCTION notify_jobs_queued();
-- A job retried by staff is due again: the same wake-up (a transition table takes one event).
CREATE TRIGGER jobs_notify_requeued AFTER UPDATE ON jobs
    REFERENCING NEW TABLE AS queued
    FOR EACH STATEMENT EXECUTE FUNCTION notify_jobs_queued();
