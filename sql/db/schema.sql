-- The schema as the database holds it, for `bookshop docs schema` (docs/schema.md): read from
-- the system catalogs, so the diagram can never disagree with the migrations that ran.

-- name: schema_key_columns()
-- Every column of the service's tables (schema public, yoyo's bookkeeping left out) that is
-- part of a primary key, a foreign key or a unique constraint, in table and column order,
-- with its type's short name and its roles. System catalogs only (small).
-- plan: seq-scan ok, the system catalogs of one schema: a few hundred rows
SELECT c.relname AS table_name,
       a.attname AS column_name,
       t.typname AS type_name,
       a.attnum AS position,
       bool_or(k.contype = 'p') AS is_primary,
       bool_or(k.contype = 'f') AS is_foreign,
       bool_or(k.contype = 'u') AS is_unique
FROM pg_class AS c
JOIN pg_namespace AS n ON n.oid = c.relnamespace
JOIN pg_attribute AS a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
JOIN pg_type AS t ON t.oid = a.atttypid
JOIN pg_constraint AS k ON k.conrelid = c.oid AND a.attnum = any(k.conkey) AND k.contype IN ('p', 'f', 'u')
WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
  AND c.relname NOT LIKE '\_yoyo%' AND c.relname <> 'yoyo_lock'
GROUP BY c.relname, a.attname, t.typname, a.attnum
ORDER BY c.relname, a.attnum;

-- name: schema_tables()
-- The service's tables (schema public, yoyo's bookkeeping left out), by name. System catalogs
-- only (small).
-- plan: seq-scan ok, the system catalogs of one schema: a few hundred rows
SELECT c.relname AS table_name
FROM pg_class AS c
JOIN pg_namespace AS n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
  AND c.relname NOT LIKE '\_yoyo%' AND c.relname <> 'yoyo_lock'
ORDER BY c.relname;

-- name: schema_foreign_keys()
-- Every foreign key between the service's tables: the referencing table and columns, the
-- referenced table, whether the referencing columns may be null (an optional relation) and
-- whether they are unique by themselves (one to one). System catalogs only (small).
-- plan: seq-scan ok, the system catalogs of one schema: a few hundred rows
SELECT src.relname AS from_table,
       dst.relname AS to_table,
       k.conname AS name,
       (SELECT array_agg(a.attname ORDER BY a.attnum)
        FROM pg_attribute AS a WHERE a.attrelid = k.conrelid AND a.attnum = any(k.conkey)) AS columns,
       EXISTS (SELECT 1 FROM pg_attribute AS a
               WHERE a.attrelid = k.conrelid AND a.attnum = any(k.conkey) AND NOT a.attnotnull) AS optional,
       EXISTS (SELECT 1 FROM pg_constraint AS u
               WHERE u.conrelid = k.conrelid AND u.contype IN ('p', 'u')
                 AND u.conkey::int2[] @> k.conkey AND u.conkey::int2[] <@ k.conkey) AS one_to_one
FROM pg_constraint AS k
JOIN pg_class AS src ON src.oid = k.conrelid
JOIN pg_class AS dst ON dst.oid = k.confrelid
JOIN pg_namespace AS n ON n.oid = src.relnamespace
WHERE k.contype = 'f' AND n.nspname = 'public'
ORDER BY src.relname, k.conname;
