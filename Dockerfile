# syntax=docker/dockerfile:1
# Build stage: a virtual environment with the service and its dependencies.
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
COPY pyproject.toml README.md /src/
COPY app /src/app
RUN /opt/venv/bin/pip install /src

# Runtime stage: the venv, the migrations, models and ruleset, a non-root user.
FROM python:3.11-slim
# LightGBM needs the OpenMP runtime.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libgomp1 \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home /srv/clientscore clientscore
COPY --from=build /opt/venv /opt/venv
WORKDIR /srv/clientscore
COPY alembic.ini ./
COPY migrations ./migrations
COPY models ./models
COPY rules ./rules
# Promotions and ruleset activations write pointer files next to the versions; mount volumes
# over models/ and rules/ to keep them across containers.
RUN mkdir -p var && chown -R clientscore var models rules
USER clientscore
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    OMP_NUM_THREADS=1 \
    CLIENTSCORE_DATABASE_URL=sqlite:///./var/clientscore.db
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status != 200)"]
CMD ["clientscore", "serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "2"]
