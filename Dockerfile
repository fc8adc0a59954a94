# One image per service, all built from this file (see deploy/README.md, "Images"):
#
#   make wheelhouse                     # build/wheelhouse: every pinned wheel, built on the host
#   docker build --build-arg SERVICE=enrollment -t tandem-enrollment:1.0.0 .
#
# The build installs only from the wheelhouse (no package index, no compiler), so the same wheels
# give the same image offline; the final stage holds the base image's Python and a virtualenv with
# the service, its dependencies and nothing to install or build with. It runs as uid 10001 on a
# read-only root filesystem: /tmp is the only path it writes (a tmpfs or emptyDir in practice).
ARG BASE_IMAGE=python:3.11-slim-bookworm

FROM ${BASE_IMAGE} AS build
ARG SERVICE
WORKDIR /build
COPY constraints.txt ./
COPY build/wheelhouse/ ./wheelhouse/
# pip refuses anything not in the wheelhouse; then the virtualenv's own installers go, so the
# final image cannot install anything.
RUN test -n "${SERVICE}" || { echo "build with --build-arg SERVICE=<name>" >&2; exit 1; } \
 && python3 -m venv /opt/tandem \
 && /opt/tandem/bin/python -m pip install --no-cache-dir --no-index --find-links=./wheelhouse \
      --constraint constraints.txt ./wheelhouse/tandem_${SERVICE}-*.whl \
 && /opt/tandem/bin/python -m pip uninstall --yes pip setuptools

FROM ${BASE_IMAGE}
ARG SERVICE
LABEL org.opencontainers.image.title="tandem-${SERVICE}" \
      org.opencontainers.image.description="Tandem's ${SERVICE} service" \
      org.opencontainers.image.licenses="Proprietary"
# The base's own installer goes too (python:3.11-slim ships pip; Debian's python3 does not).
RUN if python3 -m pip --version >/dev/null 2>&1; then python3 -m pip uninstall --yes pip setuptools wheel; fi \
 && groupadd --system --gid 10001 tandem \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin tandem
COPY --from=build /opt/tandem /opt/tandem
ENV PATH=/opt/tandem/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    SERVICE_NAME=${SERVICE} \
    ENVIRONMENT=production \
    HTTP_HOST=0.0.0.0 \
    HTTP_PORT=8000
USER 10001:10001
WORKDIR /tmp
VOLUME ["/tmp"]
EXPOSE 8000
# For plain Docker; Kubernetes uses the chart's probes instead.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s \
  CMD ["python", "-c", "import os, urllib.request as r; r.urlopen('http://127.0.0.1:%s/healthz' % os.environ['HTTP_PORT'], timeout=2)"]
ENTRYPOINT ["tandem"]
CMD ["serve"]
