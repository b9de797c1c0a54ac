-- Diagnostics: what GET /admin/diagnostics and `bookshop doctor` report. Every query reads the
-- system catalogs and statistics views (pg_*), which the application role may read; it is a
-- member of pg_read_all_stats (the bootstrap grants it) so pg_stat_activity and
-- pg_stat_statements show every role's sessions and statements, not only its own. The user
-- tables are never scanned, except yoyo's _yoyo_migration (one row per migration).
--
-- "An index serves a foreign key" means, here and in every query below that asks it: the index
-- is valid and not partial, its method can look up equality on its leading key columns (btree,
-- hash, or gist, which btree_gist gives equality), and its first n key columns are the n
-- columns of the foreign key in any order. The checks a foreign key makes (deleting or
-- re-keying a referenced row looks for referencing rows with `WHERE a = $1 AND b = $2`) are
-- equalities on all its columns, so the order of those leading columns does not matter, and
-- columns after them do not hurt; a partial index cannot answer for the rows its predicate
-- leaves out, and an expression is not a column.

-- name: unindexed_foreign_keys()
-- Foreign keys no index serves (the rule above): each one turns a delete of a referenced row
-- into a scan of the referencing table. Reads pg_constraint and pg_index only.
SELECT
    fk.conrelid::regclass::text AS table_name,
    fk.conname::text AS constraint_name,
    array(
        SELECT a.attname::text
        FROM unnest(fk.conkey) WITH ORDINALITY AS k (attnum, position)
        JOIN pg_attribute a ON a.attrelid = fk.conrelid AND a.attnum = k.attnum
        ORDER BY k.position
    ) AS columns,
    fk.confrelid::regclass::text AS referenced_table,
    pg_relation_size(fk.conrelid) AS table_bytes
FROM pg_constraint fk
JOIN pg_namespace n ON n.oid = fk.connamespace
WHERE fk.contype = 'f'
  AND n.nspname <> 'information_schema' AND n.nspname !~ '^pg_'
  AND NOT EXISTS (
      SELECT 1
      FROM pg_index i
      JOIN pg_class ic ON ic.oid = i.indexrelid
      JOIN pg_am am ON am.oid = ic.relam
      WHERE i.indrelid = fk.conrelid
        AND i.indisvalid AND i.indpred IS NULL
        AND am.amname IN ('btree', 'hash', 'gist')
        AND i.indnkeyatts >= cardinality(fk.conkey)
        AND (string_to_array(i.indkey::text, ' ')::int2[])[1 : cardinality(fk.conkey)] @> fk.conkey
        AND (string_to_array(i.indkey::text, ' ')::int2[])[1 : cardinality(fk.conkey)] <@ fk.conkey
  )
ORDER BY table_name, constraint_name;

-- name: unused_indexes()
-- Indexes no scan has used since the statistics were reset (idx_scan = 0), largest first. Left
-- out: indexes that enforce something (unique and primary keys, exclusion constraints, any
-- index a constraint names) and indexes that serve a foreign key (the rule above), whose scans
-- come from deletes that may be rare but must not scan the table. Reads pg_stat_user_indexes.
SELECT
    s.relid::regclass::text AS table_name,
    s.indexrelid::regclass::text AS index_name,
    pg_relation_size(s.indexrelid) AS index_bytes,
    pg_get_indexdef(s.indexrelid) AS definition
FROM pg_stat_user_indexes s
JOIN pg_index i ON i.indexrelid = s.indexrelid
WHERE s.idx_scan = 0
  AND NOT i.indisunique AND NOT i.indisexclusion
  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
  AND NOT EXISTS (
      SELECT 1
      FROM pg_constraint fk
      JOIN pg_class ic ON ic.oid = i.indexrelid
      JOIN pg_am am ON am.oid = ic.relam
      WHERE fk.contype = 'f' AND fk.conrelid = i.indrelid
        AND i.indisvalid AND i.indpred IS NULL
        AND am.amname IN ('btree', 'hash', 'gist')
        AND i.indnkeyatts >= cardinality(fk.conkey)
        AND (string_to_array(i.indkey::text, ' ')::int2[])[1 : cardinality(fk.conkey)] @> fk.conkey
        AND (string_to_array(i.indkey::text, ' ')::int2[])[1 : cardinality(fk.conkey)] <@ fk.conkey
  )
ORDER BY index_bytes DESC, index_name;

-- name: duplicate_indexes()
-- Indexes another index of the same table makes unnecessary, with the one that covers them.
-- "duplicate": same method, key columns and expressions, operator classes, collations, sort
-- options, INCLUDE columns and predicate; of each pair the one to drop is reported: not the one
-- a constraint names, else not the unique one, else the newer. "redundant": a plain-column btree,
-- neither unique nor with INCLUDE columns, whose keys are the leading keys of another btree with
-- the same predicate, which answers every lookup it does. Reads pg_index only.
WITH idx AS (
    SELECT
        i.indexrelid, i.indrelid, ic.relam, i.indisunique, i.indnkeyatts, i.indnatts,
        string_to_array(i.indkey::text, ' ')::int2[] AS keys,
        string_to_array(i.indclass::text, ' ')::oid[] AS opclasses,
        string_to_array(i.indcollation::text, ' ')::oid[] AS collations,
        string_to_array(i.indoption::text, ' ')::int2[] AS options,
        coalesce(pg_get_expr(i.indexprs, i.indrelid), '') AS expressions,
        coalesce(pg_get_expr(i.indpred, i.indrelid), '') AS predicate,
        EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid) AS constrains,
        am.amname = 'btree' AS is_btree
    FROM pg_index i
    JOIN pg_class ic ON ic.oid = i.indexrelid
    JOIN pg_namespace n ON n.oid = ic.relnamespace
    JOIN pg_am am ON am.oid = ic.relam
    WHERE i.indisvalid AND n.nspname <> 'information_schema' AND n.nspname !~ '^pg_'
), pairs AS (
    SELECT
        a.indexrelid, b.indexrelid AS covering_indexrelid,
        CASE WHEN a.keys = b.keys AND a.indnkeyatts = b.indnkeyatts THEN 'duplicate' ELSE 'redundant' END AS kind
    FROM idx a
    JOIN idx b ON b.indrelid = a.indrelid AND b.indexrelid <> a.indexrelid
      AND b.relam = a.relam AND b.predicate = a.predicate
    WHERE (
        a.keys = b.keys AND a.indnkeyatts = b.indnkeyatts AND a.opclasses = b.opclasses
        AND a.collations = b.collations AND a.options = b.options AND a.expressions = b.expressions
        AND (a.constrains::int, a.indisunique::int, b.indexrelid) < (b.constrains::int, b.indisunique::int, a.indexrelid)
    ) OR (
        a.is_btree AND NOT a.indisunique AND a.indnatts = a.indnkeyatts AND a.expressions = ''
        AND a.indnkeyatts < b.indnkeyatts
        AND a.keys = b.keys[1 : a.indnkeyatts]
        AND a.opclasses = b.opclasses[1 : a.indnkeyatts]
        AND a.collations = b.collations[1 : a.indnkeyatts]
        AND a.options = b.options[1 : a.indnkeyatts]
    )
)
SELECT DISTINCT ON (p.indexrelid)
    i.indrelid::regclass::text AS table_name,
    p.indexrelid::regclass::text AS index_name,
    p.kind,
    p.covering_indexrelid::regclass::text AS covered_by,
    pg_relation_size(p.indexrelid) AS index_bytes,
    pg_get_indexdef(p.indexrelid) AS definition,
    pg_get_indexdef(p.covering_indexrelid) AS covered_by_definition
FROM pairs p
JOIN pg_index i ON i.indexrelid = p.indexrelid
ORDER BY p.indexrelid, p.kind, p.covering_indexrelid;

-- name: table_bloat(limit)
-- Estimated table bloat, most wasted bytes first, without pgstattuple: the catalog estimate of
-- ioguix's pgsql-bloat-estimation (table_bloat.sql). The size a table would have packed at its
-- fillfactor comes from its row count (pg_class.reltuples) and the average width and null
-- fraction of its columns (pg_stats, so only ANALYZEd tables whose columns the role may read),
-- plus the tuple header, alignment and page header; what the table holds beyond that is bloat.
-- `reliable` is false when a column has no statistics. Reads pg_class, pg_attribute, pg_stats.
WITH columns AS (
    SELECT
        t.oid AS table_oid,
        t.reltuples,
        t.relpages + coalesce(toast.relpages, 0) AS pages,
        coalesce(toast.reltuples, 0) AS toast_tuples,
        coalesce(substring(array_to_string(t.reloptions, ' ') FROM 'fillfactor=([0-9]+)')::int, 100) AS fillfactor,
        current_setting('block_size')::numeric AS block_size,
        count(*) AS column_count,
        count(s.attname) AS columns_with_stats,
        max(coalesce(s.null_frac, 0)) AS max_null_frac,
        sum((1 - coalesce(s.null_frac, 0)) * coalesce(s.avg_width, 0)) AS data_width,
        bool_or(a.atttypid = 'pg_catalog.name'::regtype) AS has_name_column
    FROM pg_class t
    JOIN pg_namespace n ON n.oid = t.relnamespace
    JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum > 0 AND NOT a.attisdropped
    LEFT JOIN pg_class toast ON toast.oid = t.reltoastrelid
    LEFT JOIN pg_stats s ON s.schemaname = n.nspname AND s.tablename = t.relname
        AND s.attname = a.attname AND NOT s.inherited
    WHERE t.relkind = 'r' AND t.reltuples >= 0 AND t.relpages > 0
      AND n.nspname <> 'information_schema' AND n.nspname !~ '^pg_'
    GROUP BY t.oid, t.reltuples, t.relpages, toast.relpages, toast.reltuples, t.reloptions
    HAVING count(s.attname) > 0
), tuples AS (
    SELECT
        *,
        -- heap tuple header (23 bytes, plus the null bitmap when a column has nulls), padded to
        -- MAXALIGN (8 on 64-bit servers), plus the data padded to MAXALIGN, plus its line pointer
        4 + ceil((23 + CASE WHEN max_null_frac > 0 THEN (7 + column_count) / 8 ELSE 0 END) / 8.0) * 8
          + ceil(data_width / 8.0) * 8 AS tuple_bytes
    FROM columns
), estimate AS (
    SELECT
        *,
        ceil(reltuples / floor((block_size - 24) * fillfactor / (100 * tuple_bytes))) + ceil(toast_tuples / 4)
          AS expected_pages
    FROM tuples
)
SELECT
    table_oid::regclass::text AS table_name,
    (pages * block_size)::bigint AS table_bytes,
    (greatest(pages - expected_pages, 0) * block_size)::bigint AS bloat_bytes,
    CASE WHEN pages > expected_pages THEN round(((pages - expected_pages) / pages)::numeric, 3)::float8 ELSE 0 END AS bloat_ratio,
    columns_with_stats = column_count AND NOT has_name_column AS reliable
FROM estimate
ORDER BY bloat_bytes DESC, table_bytes DESC, table_name
LIMIT :limit;

-- name: index_bloat(limit)
-- Estimated btree index bloat, most wasted bytes first, without pgstattuple: the catalog
-- estimate of ioguix's pgsql-bloat-estimation (btree_bloat.sql). The pages a freshly built
-- index would need at its fillfactor (90 by default) come from its tuple count and the average
-- width of its columns (pg_stats of the table, or of the index for an expression), plus the
-- index tuple header, alignment, page header and btree special space. Other methods are not
-- estimated. Reads pg_index, pg_class, pg_attribute, pg_stats.
WITH columns AS (
    SELECT
        ic.oid AS index_oid,
        i.indrelid AS table_oid,
        ic.reltuples,
        ic.relpages AS pages,
        coalesce(substring(array_to_string(ic.reloptions, ' ') FROM 'fillfactor=([0-9]+)')::int, 90) AS fillfactor,
        current_setting('block_size')::numeric AS block_size,
        count(*) AS column_count,
        count(s.attname) AS columns_with_stats,
        max(coalesce(s.null_frac, 0)) AS max_null_frac,
        sum((1 - coalesce(s.null_frac, 0)) * coalesce(s.avg_width, 0)) AS data_width,
        bool_or(a.atttypid = 'pg_catalog.name'::regtype) AS has_name_column
    FROM pg_index i
    JOIN pg_class ic ON ic.oid = i.indexrelid
    JOIN pg_class t ON t.oid = i.indrelid
    JOIN pg_namespace n ON n.oid = ic.relnamespace
    JOIN pg_am am ON am.oid = ic.relam AND am.amname = 'btree'
    JOIN pg_attribute a ON a.attrelid = ic.oid AND a.attnum > 0
    LEFT JOIN pg_stats s ON s.schemaname = n.nspname AND NOT s.inherited AND (
        (s.tablename = t.relname AND s.attname = pg_get_indexdef(ic.oid, a.attnum, true))
        OR (s.tablename = ic.relname AND s.attname = a.attname)
    )
    WHERE i.indisvalid AND ic.relpages > 0 AND ic.reltuples >= 0
      AND n.nspname <> 'information_schema' AND n.nspname !~ '^pg_'
    GROUP BY ic.oid, i.indrelid, ic.reltuples, ic.relpages, ic.reloptions
    HAVING count(s.attname) > 0
), tuples AS (
    SELECT
        *,
        -- index tuple header (8 bytes; with a null bitmap when a column has nulls) padded to
        -- MAXALIGN, plus the data padded to MAXALIGN, plus its line pointer
        4 + ceil((8 + CASE WHEN max_null_frac > 0 THEN 4 ELSE 0 END) / 8.0) * 8
          + ceil(data_width / 8.0) * 8 AS tuple_bytes
    FROM columns
), estimate AS (
    SELECT
        *,
        -- a metapage, plus the leaf pages: 24 bytes of page header and 16 of btree special space
        1 + ceil(reltuples / floor((block_size - 24 - 16) * fillfactor / (100 * tuple_bytes))) AS expected_pages
    FROM tuples
)
SELECT
    table_oid::regclass::text AS table_name,
    index_oid::regclass::text AS index_name,
    (pages * block_size)::bigint AS index_bytes,
    (greatest(pages - expected_pages, 0) * block_size)::bigint AS bloat_bytes,
    CASE WHEN pages > expected_pages THEN round(((pages - expected_pages) / pages)::numeric, 3)::float8 ELSE 0 END AS bloat_ratio,
    columns_with_stats = column_count AND NOT has_name_column AS reliable
FROM estimate
ORDER BY bloat_bytes DESC, index_bytes DESC, index_name
LIMIT :limit;

-- name: database_statistics()^
-- The database's name, the share of block reads served from shared buffers since the
-- statistics were reset (cache hit ratio) for the user tables' heap and for their indexes (null
-- before the first read), and when the statistics were last reset (null: never, since the
-- database was made). Reads pg_statio_user_tables / _indexes and pg_stat_database.
SELECT
    current_database()::text AS database,
    (SELECT sum(heap_blks_hit)::float8 / nullif(sum(heap_blks_hit) + sum(heap_blks_read), 0)
     FROM pg_statio_user_tables) AS heap_ratio,
    (SELECT sum(idx_blks_hit)::float8 / nullif(sum(idx_blks_hit) + sum(idx_blks_read), 0)
     FROM pg_statio_user_indexes) AS index_ratio,
    (SELECT stats_reset FROM pg_stat_database WHERE datname = current_database()) AS stats_reset;

-- name: slow_sessions(threshold_seconds)
-- This database's sessions running one statement for longer than the threshold, or idle inside
-- an open transaction for longer than it (holding locks and snapshots), longest first; the
-- caller's own session left out. The query text is as sent, truncated. Reads pg_stat_activity.
SELECT
    CASE WHEN state = 'active' THEN 'long_running' ELSE 'idle_in_transaction' END AS kind,
    pid,
    usename::text AS user_name,
    application_name,
    state,
    extract(epoch FROM now() - CASE WHEN state = 'active' THEN query_start ELSE state_change END)::float8 AS seconds,
    extract(epoch FROM now() - xact_start)::float8 AS transaction_seconds,
    wait_event_type,
    wait_event,
    left(query, 500) AS query
FROM pg_stat_activity
WHERE datname = current_database()
  AND backend_type = 'client backend'
  AND pid <> pg_backend_pid()
  AND (
      (state = 'active' AND query_start < now() - make_interval(secs => :threshold_seconds::float8))
      OR (state IN ('idle in transaction', 'idle in transaction (aborted)')
          AND state_change < now() - make_interval(secs => :threshold_seconds::float8))
  )
ORDER BY seconds DESC;

-- name: statement_statistics_installed()$
-- Whether pg_stat_statements is created in this database (pg_extension), so that the slowest
-- statements can be asked for at all.
SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements');

-- name: slowest_statements(order_by, limit)
-- This database's statements by mean execution time ('mean') or by total time ('total'), from
-- pg_stat_statements: PostgreSQL normalizes their text (constants become $1, $2, …), so no
-- parameter value appears. Raises "must be loaded via shared_preload_libraries" when the
-- library is not preloaded.
SELECT
    queryid AS query_id,
    pg_get_userbyid(userid)::text AS user_name,
    query,
    calls,
    total_exec_time AS total_ms,
    mean_exec_time AS mean_ms,
    rows
FROM pg_stat_statements
WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
ORDER BY CASE WHEN :order_by::text = 'total' THEN total_exec_time ELSE mean_exec_time END DESC, queryid
LIMIT :limit;

-- name: applied_migrations()
-- The ids of the migrations yoyo applied here, oldest first; the application role may read
-- these two columns of _yoyo_migration and no other (db/migrations.py grants them on apply).
-- plan: seq-scan ok on _yoyo_migration, yoyo's table holds one row per migration
SELECT migration_id
FROM _yoyo_migration
ORDER BY applied_at_utc, migration_id;
