"""The job queue: jobs claimed with FOR UPDATE SKIP LOCKED by `bookshop worker`."""
