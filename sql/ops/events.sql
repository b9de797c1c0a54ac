-- The audit log: who did what to which subject, appended in the transaction that did it.

-- name: record_event(actor, kind, subject, payload)!
-- Appends one event; the application role may insert into events and nothing else.
INSERT INTO events (actor, kind, subject, payload)
VALUES (:actor, :kind, :subject, :payload);

-- name: list_events(kind, since, until, after_id, limit)
-- Events in [since, until), newest first by keyset on id, of one kind or all. Ids rise with
-- time, so the usual plan walks events_pkey backwards from the newest (or from `after`) and
-- stops after `limit` rows in the window: cheap for recent windows, the default, but a window
-- far in the past walks every newer event first. For a narrow window the planner may instead
-- take the BRIN index on occurred_at, which reads only the window's block ranges.
SELECT id, occurred_at, actor, kind, subject, payload
FROM events
WHERE occurred_at >= :since AND occurred_at < :until
  AND (:kind::text IS NULL OR kind = :kind::text)
  AND id < coalesce(:after_id::bigint, 9223372036854775807)
ORDER BY id DESC
LIMIT :limit;
