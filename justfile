# Everyday tasks. `uv run just --list` shows them; every recipe runs from this folder.

# Serve the API (embedded PostgreSQL, migrated and seeded, unless DATABASE_URL is set)
serve:
    uv run bookshop serve

# Run the tests; extra arguments go to pytest (e.g. `just test -k keys -x`)
test *args:
    uv run pytest {{args}}

# Fuzz every operation with schemathesis as each kind of caller, on a fresh database (default: 5 minutes each)
fuzz seconds="300":
    FUZZ_SECONDS={{seconds}} uv run pytest tests/test_fuzz.py -s -p no:cacheprovider

# Lint and check formatting without changing files
lint:
    uv run ruff check . && uv run ruff format --check .

# Format the code and apply ruff's safe fixes
fmt:
    uv run ruff format . && uv run ruff check --fix .

# Type-check with mypy (strict, configured in pyproject.toml)
typecheck:
    uv run mypy

# Everything CI runs: lint, typecheck, then the tests
check: lint typecheck test

# Apply every pending migration
migrate:
    uv run bookshop migrate apply

# Roll back the newest migrations (default: one)
rollback count="1":
    uv run bookshop migrate rollback --count {{count}}

# Create the next numbered migration pair: migrations/NNNN_<slug>.sql and NNNN_<slug>.rollback.sql
new-migration slug:
    #!/usr/bin/env bash
    set -euo pipefail
    slug='{{slug}}'
    [[ "$slug" =~ ^[a-z0-9][a-z0-9_]*$ ]] || { echo "slug must be lower_snake_case, got: $slug" >&2; exit 1; }
    shopt -s nullglob
    highest=0 previous=""
    for path in migrations/[0-9][0-9][0-9][0-9]_*.sql; do
        name=$(basename "$path"); number=$((10#${name:0:4}))
        if [[ "$name" != *.rollback.sql ]] && (( number >= highest )); then previous=${name%.sql}; fi
        if (( number > highest )); then highest=$number; fi
    done
    printf -v id '%04d_%s' $((highest + 1)) "$slug"
    up="migrations/$id.sql" down="migrations/$id.rollback.sql"
    if [[ -e "$up" || -e "$down" ]]; then echo "$up or $down already exists" >&2; exit 1; fi
    { [[ -n "$previous" ]] && echo "-- depends: $previous"
      echo "SET LOCAL lock_timeout = '5s';"
      echo "SET LOCAL statement_timeout = '60s';"
      echo; } > "$up"
    { echo "SET LOCAL lock_timeout = '5s';"; echo; } > "$down"
    echo "created $up"
    echo "created $down"

# Open psql on the database (DATABASE_URL, or the embedded server)
psql:
    uv run bookshop db psql

# Print the database URL (DATABASE_URL, or the embedded server's)
db-url:
    uv run bookshop db url

# Stop the embedded PostgreSQL server
db-stop:
    uv run bookshop db stop

# Seed the demo data set into an empty database
seed:
    uv run bookshop seed demo
