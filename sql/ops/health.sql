-- Health: what /ready asks the database.

-- name: pending_migrations(ids)$
-- /ready's one round trip: which of the migrations the code ships (ids, read from migrations/ when
-- the app starts) are not applied here, in the code's order; an empty array when the schema is as
-- new as the code or newer. The application role may read _yoyo_migration's ids (db/admin.py).
-- plan: seq-scan ok on _yoyo_migration, yoyo's table holds one row per migration
SELECT coalesce(array_agg(code.id ORDER BY code.position), '{}')
FROM unnest(:ids::text[]) WITH ORDINALITY AS code (id, position)
WHERE NOT EXISTS (SELECT FROM _yoyo_migration AS applied WHERE applied.migration_id = code.id);
