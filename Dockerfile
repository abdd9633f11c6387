# Production image. Its steps mirror the Makefile targets CI runs:
# `npm ci && npm run build` (GraphiQL assets) and `pip install .` (the app).

# --- GraphiQL assets, built from the pinned npm packages -------------------------------
FROM node:20-bookworm-slim AS assets
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY web ./web
RUN npm run build

# --- Python dependencies in a virtual environment ----------------------------------------
FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
RUN python -m venv /opt/venv
COPY pyproject.toml README.md ./
COPY schema ./schema
COPY resolvers ./resolvers
COPY db ./db
COPY server ./server
# Editable-style install from /app: the generic top-level names stay this repository's own.
RUN /opt/venv/bin/pip install -e .

# --- Runtime -------------------------------------------------------------------------------
FROM python:3.11-slim-bookworm
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    COMPENDIUM_HOST=0.0.0.0 \
    COMPENDIUM_PORT=8000 \
    COMPENDIUM_DATABASE_URL=sqlite:////data/compendium.db
RUN useradd --system --uid 10001 --home-dir /app compendium \
    && mkdir -p /data && chown compendium /data
WORKDIR /app
COPY --from=build /opt/venv /opt/venv
COPY --from=build /app /app
COPY alembic.ini schema.graphql ./
COPY --from=assets /src/server/static ./server/static
USER compendium
EXPOSE 8000
VOLUME ["/data"]
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
    CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status == 200 else 1)"
# Migrations run before serving; `compendium demo --if-empty` is for demo deployments only.
CMD ["sh", "-c", "compendium db upgrade && exec compendium serve"]
