-- The job queue: enqueued by the service, claimed and finished by `bookshop worker`.

-- name: enqueue_job(queue, kind, payload, max_attempts, run_at)$
-- Queues a job due at run_at, or now when it is null; a trigger wakes idle workers when the
-- transaction commits if it is due, and an idle worker sleeps no later than the next due job.
INSERT INTO jobs (queue, kind, payload, max_attempts, run_at)
VALUES (:queue, :kind, :payload, :max_attempts, coalesce(:run_at::timestamptz, now()))
RETURNING id;

-- name: claim_jobs(queue, worker, lease_seconds, limit)
-- Claims up to limit due jobs of a queue, oldest first, skipping rows other workers hold:
-- queued jobs, and running jobs whose lease ran out (their worker died). Each claim counts as
-- an attempt and leases the job until run_at. jobs_claim_idx.
WITH due AS (
    SELECT id
    FROM jobs
    WHERE queue = :queue AND status IN ('queued', 'running') AND run_at <= now() AND attempts < max_attempts
    ORDER BY run_at, id
    LIMIT :limit
    FOR UPDATE SKIP LOCKED
)
UPDATE jobs AS j
SET status = 'running', attempts = j.attempts + 1, locked_at = now(), locked_by = :worker,
    run_at = now() + make_interval(secs => :lease_seconds)
FROM due
WHERE j.id = due.id
RETURNING j.id, j.kind, j.payload, j.attempts, j.max_attempts;

-- name: finish_job(id, worker, attempt)^
-- Marks a job done, in the handler's own transaction, if this worker's claim still holds; no
-- row when the lease ran out and another worker took the job (the caller then rolls back).
UPDATE jobs
SET status = 'done', locked_at = NULL, locked_by = NULL, last_error = NULL
WHERE id = :id AND status = 'running' AND locked_by = :worker AND attempts = :attempt
RETURNING id;

-- name: fail_job(id, worker, attempt, error, backoff_seconds)^
-- A failed attempt: queued again after an exponential backoff (backoff_seconds doubled per
-- attempt, capped at an hour, with jitter so failures do not retry in lockstep), or failed for
-- good once max_attempts is reached, the error kept either way. jobs_pkey.
UPDATE jobs
SET status = CASE WHEN attempts >= max_attempts THEN 'failed' ELSE 'queued' END,
    run_at = now() + make_interval(
        secs => least(:backoff_seconds::float8 * 2 ^ (attempts - 1), 3600) * (0.75 + random() / 2)
    ),
    locked_at = NULL, locked_by = NULL, last_error = left(:error, 2000)
WHERE id = :id AND status = 'running' AND locked_by = :worker AND attempts = :attempt
RETURNING id, status, attempts, run_at;

-- name: fail_abandoned_jobs(queue)
-- Running jobs whose lease ran out after their last allowed attempt (a job that kills its
-- worker every time): failed for good instead of claimed again. jobs_claim_idx.
UPDATE jobs
SET status = 'failed', locked_at = NULL, locked_by = NULL,
    last_error = coalesce(last_error || '; ', '') || 'the worker stopped answering during the last attempt'
WHERE queue = :queue AND status = 'running' AND run_at <= now() AND attempts >= max_attempts
RETURNING id, kind, attempts;

-- name: next_due_at(queue)$
-- When the queue's next job falls due (a retry's backoff, a lease), so an idle worker sleeps
-- no longer than that: jobs_claim_idx.
SELECT min(run_at) FROM jobs WHERE queue = :queue AND status IN ('queued', 'running');

-- name: list_jobs(after_id, limit)
-- Jobs of every status newest first, by keyset on id: jobs_pkey, walked backwards from the
-- newest (the greatest bigint when there is no cursor, so the bound is an index condition).
SELECT id, queue, kind, payload, status, attempts, max_attempts, run_at, locked_at, locked_by, last_error,
       created_at, updated_at
FROM jobs
WHERE id < coalesce(:after_id::bigint, 9223372036854775807)
ORDER BY id DESC
LIMIT :limit;

-- name: list_jobs_by_status(status, after_id, limit)
-- Jobs of one status newest first, by keyset on id: jobs_status_idx (status, id DESC), both
-- columns index conditions, so a rare status (failed) costs what a common one does.
SELECT id, queue, kind, payload, status, attempts, max_attempts, run_at, locked_at, locked_by, last_error,
       created_at, updated_at
FROM jobs
WHERE status = :status AND id < coalesce(:after_id::bigint, 9223372036854775807)
ORDER BY id DESC
LIMIT :limit;

-- name: get_job(id)^
-- One job: jobs_pkey.
SELECT id, queue, kind, payload, status, attempts, max_attempts, run_at, locked_at, locked_by, last_error,
       created_at, updated_at
FROM jobs
WHERE id = :id;

-- name: retry_job(id)^
-- Queues a failed job again now with its attempts reset, waking the workers; no row unless
-- it was failed. jobs_pkey.
UPDATE jobs
SET status = 'queued', attempts = 0, run_at = now()
WHERE id = :id AND status = 'failed'
RETURNING id, queue, kind, payload, status, attempts, max_attempts, run_at, locked_at, locked_by, last_error,
          created_at, updated_at;

-- name: count_jobs_by_status()
-- Queue depth for GET /metrics, read at every scrape: how many jobs are queued, running and
-- failed (dead letters), a row for each even when none. One count per status, each written
-- with its literal so the planner sees how rare that status is and counts it on
-- jobs_status_idx (index only) or jobs_claim_idx. Done jobs are left out: they pile up for
-- good, and counting them at every scrape would read all of them.
SELECT 'queued' AS status, count(*) AS jobs FROM jobs WHERE status = 'queued'
UNION ALL
SELECT 'running', count(*) FROM jobs WHERE status = 'running'
UNION ALL
SELECT 'failed', count(*) FROM jobs WHERE status = 'failed';
