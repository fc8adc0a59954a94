{{/*
The chart's name, or nameOverride.
*/}}
{{- define "tandem.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The prefix of every resource's name: the release name, with the chart's name unless the release
name already holds it ("tandem" gives tandem-enrollment, "staging" gives staging-tandem-enrollment).
*/}}
{{- define "tandem.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
The chart label: name and version.
*/}}
{{- define "tandem.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The labels on every resource of the release.
*/}}
{{- define "tandem.labels" -}}
helm.sh/chart: {{ include "tandem.chart" . }}
{{ include "tandem.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: tandem
{{- end }}

{{/*
The labels that select the release's pods.
*/}}
{{- define "tandem.selectorLabels" -}}
app.kubernetes.io/name: {{ include "tandem.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
The labels of one component: a service ("enrollment"), its migration ("enrollment-migration") or
the helm test ("test"). Call with (dict "root" $ "component" "enrollment").
*/}}
{{- define "tandem.componentLabels" -}}
{{ include "tandem.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/*
The labels that select one component's pods. Call with (dict "root" $ "component" "enrollment").
*/}}
{{- define "tandem.componentSelectorLabels" -}}
{{ include "tandem.selectorLabels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/*
Overlays one service's entry on serviceDefaults, in place: maps merge key by key, anything else
(false and 0 included, unlike sprig's mergeOverwrite) replaces. Call with
(dict "base" (deepCopy .Values.serviceDefaults) "over" (index .Values.services "enrollment")).
*/}}
{{- define "tandem.overlay" -}}
{{- range $key, $value := .over }}
{{- $current := index $.base $key }}
{{- if and (kindIs "map" $value) (kindIs "map" $current) }}
{{- include "tandem.overlay" (dict "base" $current "over" $value) }}
{{- else }}
{{- $_ := set $.base $key $value }}
{{- end }}
{{- end }}
{{- end }}

{{/*
A service's resource name: tandem-enrollment. Call with (dict "root" $ "name" "enrollment").
*/}}
{{- define "tandem.serviceFullname" -}}
{{- printf "%s-%s" (include "tandem.fullname" .root) .name | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
A service's image: registry/tandem-<service>@digest, else :tag (the chart's appVersion by default).
Call with (dict "root" $ "name" "enrollment" "service" $svc).
*/}}
{{- define "tandem.image" -}}
{{- $repository := printf "%s/tandem-%s" (trimSuffix "/" .root.Values.image.registry) .name }}
{{- if .service.image.digest }}
{{- printf "%s@%s" $repository .service.image.digest }}
{{- else }}
{{- printf "%s:%s" $repository (default .root.Chart.AppVersion (default .root.Values.image.tag .service.image.tag)) }}
{{- end }}
{{- end }}

{{/*
The CloudNativePG cluster that holds a service's database: tandem-<service>-db unless set.
Call with (dict "name" "enrollment" "service" $svc).
*/}}
{{- define "tandem.databaseCluster" -}}
{{- default (printf "tandem-%s-db" .name) .service.database.cluster }}
{{- end }}

{{/*
A service's settings that are not secret: the data of its ConfigMap, and the environment of its
migration Job (which runs before the ConfigMap exists). The names are ServiceSettings' fields,
upper-cased. Call with (dict "root" $ "name" "enrollment" "service" $svc).
*/}}
{{- define "tandem.settings" -}}
{{- $v := .root.Values }}
{{- $kafka := $v.kafka }}
SERVICE_NAME: {{ .name | quote }}
ENVIRONMENT: {{ $v.environment | quote }}
DATABASE_SCHEMA: {{ default (.name | replace "-" "_") .service.database.schema | quote }}
DATABASE_POOL_MIN: {{ .service.database.poolMin | quote }}
DATABASE_POOL_MAX: {{ .service.database.poolMax | quote }}
KAFKA_BOOTSTRAP_SERVERS: {{ $kafka.bootstrapServers | quote }}
KAFKA_TOPIC_PARTITIONS: {{ .service.kafka.partitions | quote }}
KAFKA_REPLICATION_FACTOR: {{ $kafka.topics.replicas | quote }}
KAFKA_IDEMPOTENT_PRODUCER: {{ $kafka.idempotentProducer | quote }}
KAFKA_SECURITY_PROTOCOL: {{ $kafka.securityProtocol | quote }}
{{- if hasPrefix "SASL_" $kafka.securityProtocol }}
KAFKA_SASL_MECHANISM: {{ $kafka.sasl.mechanism | quote }}
KAFKA_SASL_USERNAME: {{ default (printf "tandem-%s" .name) .service.kafka.username | quote }}
{{- end }}
{{- if $kafka.caSecret.name }}
KAFKA_SSL_CAFILE: "/etc/tandem/kafka-ca/ca.crt"
{{- end }}
RELAY_BATCH_SIZE: {{ .service.relay.batchSize | quote }}
RELAY_POLL_SECONDS: {{ .service.relay.pollSeconds | quote }}
RELAY_TOPIC_CHECK_SECONDS: {{ .service.relay.topicCheckSeconds | quote }}
RELAY_REPUBLISH_WHEN_TOPIC_LOST: {{ .service.relay.republishWhenTopicLost | quote }}
CONSUMER_MAX_ATTEMPTS: {{ .service.consumer.maxAttempts | quote }}
HTTP_MAX_IN_FLIGHT: {{ .service.http.maxInFlight | quote }}
{{- if $v.telemetry.otlpEndpoint }}
OTLP_ENDPOINT: {{ $v.telemetry.otlpEndpoint | quote }}
{{- end }}
OIDC_ROLES_CLAIM: {{ $v.oidc.rolesClaim | quote }}
OIDC_EMPLOYEE_CLAIM: {{ $v.oidc.employeeClaim | quote }}
HTTP_HOST: "0.0.0.0"
HTTP_PORT: "8000"
LOG_LEVEL: {{ $v.logging.level | quote }}
LOG_FORMAT: {{ $v.logging.format | quote }}
{{- include "tandem.serviceOwnSettings" . }}
{{- end }}

{{/*
Settings only one service reads, beside the kernel's: sessions' invitations by e-mail (SESSIONS_*,
its InvitationSettings) and where reporting's ops page finds every service (REPORTING_PEERS).
*/}}
{{- define "tandem.serviceOwnSettings" -}}
{{- $v := .root.Values }}
{{- if and (eq .name "sessions") $v.mail.smtpHost }}
SESSIONS_SMTP_HOST: {{ $v.mail.smtpHost | quote }}
SESSIONS_SMTP_PORT: {{ $v.mail.smtpPort | quote }}
SESSIONS_SMTP_STARTTLS: {{ $v.mail.starttls | quote }}
{{- if $v.mail.username }}
SESSIONS_SMTP_USERNAME: {{ $v.mail.username | quote }}
{{- end }}
SESSIONS_MAIL_FROM: {{ $v.mail.from | quote }}
SESSIONS_MAIL_ADDRESS: {{ $v.mail.addressTemplate | quote }}
{{- end }}
{{- if eq .name "reporting" }}
REPORTING_PEERS: {{ include "tandem.peers" .root | quote }}
{{- end }}
{{- end }}

{{/*
Every enabled service's in-cluster URL by name, as JSON (its Service, port 80).
*/}}
{{- define "tandem.peers" -}}
{{- $peers := dict }}
{{- range $name, $entry := .Values.services }}
{{- $svc := deepCopy $.Values.serviceDefaults }}
{{- include "tandem.overlay" (dict "base" $svc "over" $entry) }}
{{- if $svc.enabled }}
{{- $_ := set $peers $name (printf "http://%s" (include "tandem.serviceFullname" (dict "root" $ "name" $name))) }}
{{- end }}
{{- end }}
{{- toJson $peers }}
{{- end }}

{{/*
The secrets a service reads, as one projected volume of files named after its settings (see
SECRETS_DIR in tandem_kernel.settings): existing Secrets only, the chart creates none.
Call with (dict "root" $ "name" "enrollment" "service" $svc).
*/}}
{{- define "tandem.secretsVolume" -}}
{{- $v := .root.Values }}
- name: secrets
  projected:
    defaultMode: 0440
    sources:
      - secret:
          name: {{ default (printf "%s-app" (include "tandem.databaseCluster" .)) .service.database.existingSecret }}
          items:
            - key: {{ .service.database.secretKey }}
              path: database_url
      - secret:
          name: {{ $v.personalData.existingSecret }}
          items:
            - key: {{ $v.personalData.key }}
              path: personal_data_master_key
      - secret:
          name: {{ $v.oidc.existingSecret }}
          items:
            - key: {{ $v.oidc.issuerKey }}
              path: oidc_issuer
            - key: {{ $v.oidc.audienceKey }}
              path: oidc_audience
      {{- if hasPrefix "SASL_" $v.kafka.securityProtocol }}
      - secret:
          name: {{ default (printf "tandem-%s" .name) .service.kafka.existingSecret }}
          items:
            - key: {{ $v.kafka.sasl.passwordKey }}
              path: kafka_sasl_password
      {{- end }}
      {{- if and (eq .name "sessions") $v.mail.smtpHost $v.mail.existingSecret }}
      - secret:
          name: {{ $v.mail.existingSecret }}
          items:
            - key: {{ $v.mail.passwordKey }}
              path: sessions_smtp_password
      {{- end }}
{{- if $v.kafka.caSecret.name }}
- name: kafka-ca
  secret:
    secretName: {{ $v.kafka.caSecret.name }}
    defaultMode: 0444
    items:
      - key: {{ $v.kafka.caSecret.key }}
        path: ca.crt
{{- end }}
{{- end }}

{{/*
Where the secrets volumes are mounted in a service's container.
*/}}
{{- define "tandem.secretsMounts" -}}
- name: secrets
  mountPath: /run/secrets/tandem
  readOnly: true
{{- if .Values.kafka.caSecret.name }}
- name: kafka-ca
  mountPath: /etc/tandem/kafka-ca
  readOnly: true
{{- end }}
{{- end }}

{{/*
The pod-level security context every Tandem pod runs with.
*/}}
{{- define "tandem.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .Values.securityContext.runAsUser }}
runAsGroup: {{ .Values.securityContext.runAsGroup }}
fsGroup: {{ .Values.securityContext.runAsGroup }}
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/*
The container-level security context every Tandem container runs with.
*/}}
{{- define "tandem.containerSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .Values.securityContext.runAsUser }}
runAsGroup: {{ .Values.securityContext.runAsGroup }}
allowPrivilegeEscalation: false
privileged: false
readOnlyRootFilesystem: true
capabilities:
  drop: [ALL]
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/*
How long a service may take to stop once it gets SIGTERM: uvicorn waits up to 20 s for in-flight
requests (HTTP_DRAIN_SECONDS in tandem_kernel.cli), then FastStream up to 15 s for in-flight
messages (CONSUMER_DRAIN_SECONDS in tandem_kernel.kafka); tests/deploy checks the two agree.
*/}}
{{- define "tandem.drainSeconds" -}}
35
{{- end }}

{{/*
The chart's own checks of values that a JSON schema cannot express; each fails with what to change.
Call with (dict "root" $ "name" "enrollment" "service" $svc).
*/}}
{{- define "tandem.checkService" -}}
{{- $s := .service }}
{{- $drain := add $s.preStopSleepSeconds (include "tandem.drainSeconds" .) }}
{{- if lt (int $s.terminationGracePeriodSeconds) (int $drain) }}
{{- fail (printf "services.%s: terminationGracePeriodSeconds (%v) must cover preStopSleepSeconds + the %vs a service takes to drain (%v)" .name $s.terminationGracePeriodSeconds (include "tandem.drainSeconds" .) $drain) }}
{{- end }}
{{- if and $s.autoscaling.enabled (gt (int $s.autoscaling.minReplicas) (int $s.autoscaling.maxReplicas)) }}
{{- fail (printf "services.%s: autoscaling.minReplicas (%v) exceeds maxReplicas (%v)" .name $s.autoscaling.minReplicas $s.autoscaling.maxReplicas) }}
{{- end }}
{{- end }}

{{/*
The egress rule to the cluster's DNS.
*/}}
{{- define "tandem.dnsEgress" -}}
- to:
    {{- toYaml .Values.networkPolicy.dns.peers | nindent 4 }}
  ports:
    - port: {{ .Values.networkPolicy.dns.port }}
      protocol: UDP
    - port: {{ .Values.networkPolicy.dns.port }}
      protocol: TCP
{{- end }}

{{/*
The egress rule to a service's own database: the pods of its CloudNativePG cluster only.
Call with (dict "root" $ "name" "enrollment" "service" $svc).
*/}}
{{- define "tandem.databaseEgress" -}}
- to:
    - namespaceSelector:
        matchLabels:
          kubernetes.io/metadata.name: {{ default .root.Release.Namespace .service.database.namespace }}
      podSelector:
        matchLabels:
          cnpg.io/cluster: {{ include "tandem.databaseCluster" . }}
  ports:
    - port: {{ .root.Values.networkPolicy.database.port }}
      protocol: TCP
{{- end }}

{{/*
The chart's own checks of release-wide values that a JSON schema cannot express.
*/}}
{{- define "tandem.checkValues" -}}
{{- $topics := .Values.kafka.topics }}
{{- if gt (int $topics.minInsyncReplicas) (int $topics.replicas) }}
{{- fail (printf "kafka.topics.minInsyncReplicas (%v) exceeds replicas (%v): no write could ever be acknowledged" $topics.minInsyncReplicas $topics.replicas) }}
{{- end }}
{{- if and (gt (int $topics.replicas) 1) (eq (int $topics.minInsyncReplicas) (int $topics.replicas)) }}
{{- fail (printf "kafka.topics.minInsyncReplicas must be below replicas (%v): with every replica required, one broker down stops all writes" $topics.replicas) }}
{{- end }}
{{- if and (eq .Values.environment "production") (not .Values.kafka.idempotentProducer) }}
{{- fail "environment production needs kafka.idempotentProducer: the services refuse to start without it" }}
{{- end }}
{{- if and (eq .Values.environment "production") (eq .Values.kafka.securityProtocol "SASL_PLAINTEXT") }}
{{- fail "kafka.securityProtocol SASL_PLAINTEXT sends passwords in clear: use SASL_SSL in production" }}
{{- end }}
{{- end }}
