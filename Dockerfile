# syntax=docker/dockerfile:1
# The bookshop API. Build: docker build -t bookshop .  Run it with docker-compose.yml, or give it
# DATABASE_URL (postgresql://…, as the application role) and API_KEY_PEPPER. The image has no
# embedded PostgreSQL (the `embedded` extra is left out): it always connects to a server of yours.
#
# Pinned: the base image by tag and digest (the digest as public Dockerfiles pin this tag; the
# machines this was written on have no Docker engine to pull it), and uv by version.
ARG PYTHON_IMAGE=python:3.11.13-slim-bookworm@sha256:86adf8dbadc3d6e82ee5dd2c74bec2e1c2467cdad47886280501df722372d2e1
ARG UV_VERSION=0.13.9

# Builder: uv installs the locked dependencies and the project, built as a wheel, into /app/.venv.
FROM ${PYTHON_IMAGE} AS builder
ARG UV_VERSION
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_NO_CACHE=1 \
    UV_PYTHON_DOWNLOADS=never \
    UV_PYTHON=/usr/local/bin/python3 \
    UV_PROJECT_ENVIRONMENT=/app/.venv
RUN pip install --no-cache-dir "uv==${UV_VERSION}"
WORKDIR /src
# Dependencies first, from the lock file alone, so a code change does not reinstall them.
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-dev --no-install-project
# Then the project: not editable, so the wheel's copy of sql/ and migrations/ is what runs and
# nothing in the venv points back at /src.
COPY README.md ./
COPY src/ src/
COPY sql/ sql/
COPY migrations/ migrations/
RUN uv sync --frozen --no-dev --no-editable

# Runtime: the same Python and the venv, nothing else of the repository (no tests, bench, docs,
# dev tools or uv).
FROM ${PYTHON_IMAGE} AS runtime
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PATH="/app/.venv/bin:$PATH"
# Owned by root (uv wrote it as root, 644/755): the service can run the code and SQL, never replace them.
COPY --from=builder --chown=0:0 /app/.venv /app/.venv
WORKDIR /app
# A numeric user (no name to resolve, never root): Kubernetes' runAsNonRoot can verify it.
USER 10001:10001

EXPOSE 8000
# Ready means the database answers and has every migration this code ships (GET /ready).
HEALTHCHECK --interval=10s --timeout=5s --start-period=15s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('PORT', '8000') + '/ready', timeout=3)"]

# The venv's console script, on PATH above: `bookshop migrate apply` etc. run the same way.
CMD ["bookshop", "serve", "--host", "0.0.0.0"]
