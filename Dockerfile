# The bookshop API. Build: docker build -t bookshop .  Run with docker-compose.yml, or give it
# DATABASE_URL (postgresql://…) and API_KEY_PEPPER; without DATABASE_URL it falls back to the
# embedded PostgreSQL server, which is meant for development only.
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_NO_CACHE=1 \
    UV_PYTHON_DOWNLOADS=never \
    PATH="/app/.venv/bin:$PATH"

RUN pip install --no-cache-dir uv

WORKDIR /app

# Dependencies first, from the lock file alone, so code changes do not reinstall them.
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-dev --no-install-project

# Then the project itself: the code plus the SQL it reads at run time (sql/, migrations/).
# uv installs it editable, so bookshop.paths finds sql/ and migrations/ under /app.
COPY . .
RUN uv sync --frozen --no-dev

# Code stays root-owned and read-only to the service; the user may only create files in /app
# (.demo-keys.txt from `bookshop seed demo`, .pgdata/ when no DATABASE_URL is given).
RUN useradd --create-home --uid 10001 --user-group bookshop \
    && chown bookshop:bookshop /app
USER bookshop

EXPOSE 8000

# The venv's console script, on PATH above: `bookshop migrate apply` etc. run the same way.
CMD ["bookshop", "serve", "--host", "0.0.0.0"]
