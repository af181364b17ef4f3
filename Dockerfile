# syntax=docker/dockerfile:1
# One image for every role: `serve` (default) or `worker`, e.g.
#   docker run -e DATABASE_URL=… -e REDIS_URL=… -p 8080:8080 shopflow
#   docker run -e DATABASE_URL=… -e REDIS_URL=… shopflow worker

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY shopflow ./shopflow
COPY workers ./workers
RUN python -m venv /opt/shopflow \
 && /opt/shopflow/bin/pip install --upgrade pip \
 && /opt/shopflow/bin/pip install .

FROM python:3.11-slim
ENV PATH=/opt/shopflow/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    SHOPFLOW_ENV=production \
    SHOPFLOW_CONFIG_FILE=/app/config/default.toml
RUN useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin shopflow
WORKDIR /app
COPY --from=build /opt/shopflow /opt/shopflow
COPY config ./config
USER 10001
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(f'http://127.0.0.1:{os.environ.get(\"PORT\", \"8080\")}/healthz', timeout=2)"]
ENTRYPOINT ["shopflow"]
CMD ["serve"]
