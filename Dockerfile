# The CRLM CDS Hooks service: `cds-service serve` (gunicorn, CDS_HOST/CDS_PORT/CDS_WORKERS) as a non-root user.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY pyproject.toml README.md ./
COPY cds_service ./cds_service
COPY fhir_profiles ./fhir_profiles
RUN pip install . \
    && useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin cds \
    && mkdir -p /app/var \
    && chown cds /app/var

USER cds
ENV CDS_HOST=0.0.0.0 CDS_PORT=8080 CDS_WORKERS=2 CDS_DATABASE_URL=sqlite:////app/var/cds-service.sqlite3
EXPOSE 8080
VOLUME ["/app/var"]

HEALTHCHECK --interval=30s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('CDS_PORT', '8080'), timeout=2).status != 200)"]

CMD ["cds-service", "serve"]
