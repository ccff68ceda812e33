# dmq_tools: the origin guide's application image (HTTP app, worker, scheduler: one image).
#   docker build -t dmq .            # from the repository alone
#   docker compose up                # app (worker off) + worker + redis, see compose.yaml
# The command decides the role: `dmq serve` (HTTP on :8080, plus a worker when
# QUEUE_WORKER_ENABLED=true) or `dmq worker` (the built-in tasks).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DMQ_API_HOST=0.0.0.0 \
    DMQ_API_PORT=8080 \
    MEDIA_ROOT=/app/media

WORKDIR /src
COPY pyproject.toml README.md ./
COPY dmq_tools ./dmq_tools
RUN pip install ".[api,images,pandas]" && rm -rf /src

# an unprivileged user owning only the media root
RUN useradd --create-home --uid 10001 dmq && mkdir -p /app/media && chown dmq:dmq /app/media
USER dmq
WORKDIR /app
VOLUME ["/app/media"]
EXPOSE 8080

HEALTHCHECK --interval=30s --timeout=5s --start-period=10s \
  CMD python -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:8080/api/health', timeout=4)" || exit 1

CMD ["dmq", "serve"]
