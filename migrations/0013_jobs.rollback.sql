SET LOCAL lock_timeout = '5s';

DROP TABLE jobs;
DROP FUNCTION notify_jobs_queued();
