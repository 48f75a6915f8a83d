# syntax=docker/dockerfile:1
#
# The ordergate gateway as a container image.
#
#   docker build -t ordergate .
#   docker run --rm -p 8000:8000 -v ordergate-data:/data ordergate
#
# Without DATABASE_URL it runs on the embedded SQLite default, kept under /data (mount a volume there).
# docker-compose.yml runs two replicas against PostgreSQL and Redis instead.

# --- builder: wheels for the project and every dependency --------------------------------------------
FROM python:3.11-slim AS builder

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
# README.md is optional (the glob may match nothing); pyproject.toml names it as the long description.
COPY pyproject.toml README.md* ./
COPY ordergate ./ordergate
RUN pip wheel --wheel-dir /wheels .

# --- runtime: the installed wheels, no compiler, no source tree, not root ------------------------------
FROM python:3.11-slim AS runtime

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DATABASE_URL=sqlite+aiosqlite:////data/ordergate.db

RUN groupadd --system --gid 10001 ordergate \
    && useradd --system --uid 10001 --gid ordergate --home-dir /app --no-create-home \
       --shell /usr/sbin/nologin ordergate

# Installed offline from the builder's wheels, bind-mounted so they never become a layer of this image.
RUN --mount=type=bind,from=builder,source=/wheels,target=/wheels \
    pip install --no-index --find-links=/wheels ordergate

WORKDIR /app
# /app is the working directory (a relative SQLite path lands here); /data holds the default database.
RUN mkdir -p /data && chown ordergate:ordergate /app /data

USER ordergate

EXPOSE 8000

# Liveness only: /healthz answers while the process is up (/readyz also needs the database).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; r = urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4); sys.exit(0 if r.status == 200 else 1)"]

CMD ["ordergate", "serve", "--host", "0.0.0.0", "--port", "8000"]
