# One image per service: docker build -f deploy/Dockerfile --build-arg SERVICE=enrollment .
# (Not built on the development machines, which have no Docker engine; CI for images comes with the Helm chart.)
FROM python:3.11-slim AS build
ARG SERVICE
WORKDIR /src
COPY constraints.txt ./
COPY shared ./shared
COPY services/${SERVICE} ./services/${SERVICE}
RUN python -m venv /opt/tandem \
 && /opt/tandem/bin/pip install --no-cache-dir -c constraints.txt ./shared ./services/${SERVICE}

FROM python:3.11-slim
ARG SERVICE
ENV SERVICE_NAME=${SERVICE} HTTP_HOST=0.0.0.0 HTTP_PORT=8000 ENVIRONMENT=production PATH=/opt/tandem/bin:$PATH
COPY --from=build /opt/tandem /opt/tandem
RUN useradd --uid 10001 --no-create-home tandem
USER 10001
EXPOSE 8000
ENTRYPOINT ["sh", "-c", "exec tandem serve \"$SERVICE_NAME\""]
