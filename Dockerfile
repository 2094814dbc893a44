# syntax=docker/dockerfile:1
# The sandboxed Python executor: one process per container, non-root, read-only root.
#
#   docker build -t executor .
#   docker run --rm -p 8030:8030 --init --read-only --cap-drop ALL \
#     --security-opt no-new-privileges --security-opt seccomp=seccomp.json \
#     -e EXECUTOR_API_TOKEN_FILE=/run/secrets/executor_token \
#     -v "$PWD/token:/run/secrets/executor_token:ro" executor
#
# The interpreter version is the one CI tests on (3.11); bump both together.

ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm

# ---------------------------------------------------------------- build: the virtualenv
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
COPY requirements.lock /tmp/requirements.lock
# Every distribution pinned and checked against its hash (pip-compile --generate-hashes).
RUN python -m venv /opt/venv \
 && /opt/venv/bin/pip install --no-deps --require-hashes -r /tmp/requirements.lock
# The data tier (numpy, pandas, matplotlib: docs/data.md) only in the image built with
# --build-arg DATA_TIER=1 (tag it executor:data): about 150 MB more, and a second template.
ARG DATA_TIER=0
COPY requirements-data.txt /tmp/requirements-data.txt
RUN if [ "$DATA_TIER" = 1 ]; then /opt/venv/bin/pip install --no-deps -r /tmp/requirements-data.txt; fi
# The worker's C extensions (src/worker/interpreter_repairs/, _output.c, _fastguards.c, in pyproject.toml),
# compiled with the venv's setuptools (3.11's venv has it): only the built modules go on to
# the runtime stage, not the compiler.
# libc6-dev is left to apt: it must match the base image's libc6, whatever its point release.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends gcc=4:12.2.0-3 libc6-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /build
COPY pyproject.toml /build/pyproject.toml
COPY src/ /build/src/
RUN /opt/venv/bin/python -m src.build_extensions --require

# ---------------------------------------------------------------- runtime
FROM ${PYTHON_IMAGE}
# tini reaps what is orphaned (workers of a template that died) when this container
# runs without --init; libseccomp2 is in the base image (apt depends on it).
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini=0.19.0-1+b3 \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 executor \
 && useradd --system --uid 10001 --gid executor --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin executor
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY src/ /app/src/
COPY --from=build /build/src/worker/_*.so /app/src/worker/
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    EXECUTOR_DOCS_ENABLED=false
USER 10001:10001
EXPOSE 8030
# /health is 200 when healthy or degraded, 503 when unhealthy: no curl needed.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import sys, urllib.request as u; sys.exit(u.urlopen('http://127.0.0.1:8030/health', timeout=4).status != 200)"]
ENTRYPOINT ["tini", "--"]
# The README's run command (`python -m src` is the sandboxed-executor console script), on
# every interface of the container: connection deadlines (headers, body, a client that
# stops reading), at most 256 open connections (503 beyond), idle keep-alive connections
# closed after 5 s, no Server header. X-Forwarded-For is not trusted (the per-IP limit and
# the audit log use the peer address): behind a proxy, add --forwarded-allow-ips=<its address>.
CMD ["python", "-m", "src", "--host", "0.0.0.0", "--port", "8030"]
