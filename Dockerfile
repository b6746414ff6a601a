# One image for every process: web services, worker, scheduler and migrations.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY pyproject.toml README.md alembic.ini ./
COPY shared ./shared
COPY services ./services
RUN pip install --no-cache-dir . \
    && useradd --system --uid 10001 --home /app seminare
USER seminare

EXPOSE 8000 8001
CMD ["gunicorn", "--bind", "0.0.0.0:8000", "services.registration:create_app()"]
