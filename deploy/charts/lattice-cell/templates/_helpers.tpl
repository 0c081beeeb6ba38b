{{/* Name of the chart, cut to the 63 characters a label value allows. */}}
{{- define "lattice-cell.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name of the release's objects. */}}
{{- define "lattice-cell.fullname" -}}
{{- if contains .Chart.Name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{/* Labels selecting the cell's pods. */}}
{{- define "lattice-cell.selectorLabels" -}}
app.kubernetes.io/name: {{ include "lattice-cell.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Labels on every object. */}}
{{- define "lattice-cell.labels" -}}
{{ include "lattice-cell.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: lattice
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end }}

{{- define "lattice-cell.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "lattice-cell.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "lattice-cell.image" -}}
{{- $repository := ternary .Values.image.embeddedRepository .Values.image.repository (eq .Values.database.mode "embedded") }}
{{- printf "%s:%s" $repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/* HTTP scheme of the REST API (probes, scrapes). */}}
{{- define "lattice-cell.httpScheme" -}}
{{- if has "--insecure-http" .Values.http.insecureFlags }}HTTP{{ else }}HTTPS{{ end }}
{{- end }}

{{/* The pod template shared by the Deployment (external Postgres) and the StatefulSet (embedded). */}}
{{- define "lattice-cell.podTemplate" -}}
{{- $fullname := include "lattice-cell.fullname" . -}}
metadata:
  labels:
    {{- include "lattice-cell.selectorLabels" . | nindent 4 }}
    {{- with .Values.podLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- with .Values.podAnnotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  serviceAccountName: {{ include "lattice-cell.serviceAccountName" . }}
  # The cell never calls a Kubernetes API.
  automountServiceAccountToken: false
  {{- with .Values.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.priorityClassName }}
  priorityClassName: {{ . }}
  {{- end }}
  securityContext:
    {{- toYaml .Values.podSecurityContext | nindent 4 }}
  containers:
    - name: cell
      image: {{ include "lattice-cell.image" . }}
      imagePullPolicy: {{ .Values.image.pullPolicy }}
      args:
        - --data-dir=/var/lib/lattice
        - --http-listen=0.0.0.0:{{ .Values.http.port }}
        - --grpc-listen=0.0.0.0:{{ .Values.grpc.port }}
        {{- range .Values.grpc.serverNames }}
        - --server-name={{ . }}
        {{- end }}
        - --server-name={{ $fullname }}.{{ .Release.Namespace }}.svc
        - --server-name={{ $fullname }}.{{ .Release.Namespace }}.svc.cluster.local
        - --server-name={{ $fullname }}
        {{- with .Values.grpc.advertiseUrl }}
        - --advertise-url={{ . }}
        {{- end }}
        {{- if .Values.dev }}
        - --dev
        {{- end }}
        {{- if .Values.secrets.existingSecret }}
        - --ca-key-file=/etc/lattice/secrets/{{ .Values.secrets.caKeyKey }}
        - --admin-token-file=/etc/lattice/secrets/{{ .Values.secrets.adminTokenKey }}
        {{- end }}
        {{- if .Values.http.tls.enabled }}
        - {{ .Values.http.tls.certFlag }}=/etc/lattice/http-tls/tls.crt
        - {{ .Values.http.tls.keyFlag }}=/etc/lattice/http-tls/tls.key
        {{- else }}
        {{- range .Values.http.insecureFlags }}
        - {{ . }}
        {{- end }}
        {{- end }}
        - --agent-cert-ttl={{ .Values.agentCertTTL }}
        - --token-ttl-secs={{ .Values.tokenTTLSeconds }}
        - --heartbeat-interval-secs={{ .Values.heartbeatIntervalSeconds }}
        - --trust-domain={{ .Values.trustDomain }}
        - --compliance-retention={{ .Values.complianceRetention }}
        - --log-format={{ .Values.logFormat }}
        {{- range .Values.extraArgs }}
        - {{ . }}
        {{- end }}
      env:
        - name: RUST_LOG
          value: {{ .Values.logLevel | quote }}
        {{- if eq .Values.database.mode "external" }}
        - name: DATABASE_URL
          valueFrom:
            secretKeyRef:
              name: {{ required "database.external.secretName is required when database.mode is external (a Secret holding the Postgres URL)" .Values.database.external.secretName }}
              key: {{ .Values.database.external.secretKey }}
        {{- end }}
        {{- with .Values.extraEnv }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      ports:
        - name: http
          containerPort: {{ .Values.http.port }}
          protocol: TCP
        - name: grpc
          containerPort: {{ .Values.grpc.port }}
          protocol: TCP
      livenessProbe:
        httpGet:
          path: /healthz
          port: http
          scheme: {{ include "lattice-cell.httpScheme" . }}
        {{- toYaml .Values.probes.liveness | nindent 8 }}
      readinessProbe:
        httpGet:
          path: /healthz
          port: http
          scheme: {{ include "lattice-cell.httpScheme" . }}
        {{- toYaml .Values.probes.readiness | nindent 8 }}
      resources:
        {{- toYaml .Values.resources | nindent 8 }}
      securityContext:
        {{- toYaml .Values.securityContext | nindent 8 }}
      volumeMounts:
        - name: data
          mountPath: /var/lib/lattice
        - name: tmp
          mountPath: /tmp
        {{- if .Values.secrets.existingSecret }}
        - name: secrets
          mountPath: /etc/lattice/secrets
          readOnly: true
        {{- end }}
        {{- if .Values.http.tls.enabled }}
        - name: http-tls
          mountPath: /etc/lattice/http-tls
          readOnly: true
        {{- end }}
  volumes:
    {{- if eq .Values.database.mode "external" }}
    # Only the CA certificate copy (and dev keys) live here: the store is external.
    - name: data
      emptyDir: {}
    {{- end }}
    - name: tmp
      emptyDir: {}
    {{- if .Values.secrets.existingSecret }}
    - name: secrets
      secret:
        secretName: {{ .Values.secrets.existingSecret }}
        defaultMode: 0440
    {{- end }}
    {{- if .Values.http.tls.enabled }}
    - name: http-tls
      secret:
        secretName: {{ required "http.tls.secretName is required when http.tls.enabled is true" .Values.http.tls.secretName }}
        defaultMode: 0440
    {{- end }}
  {{- with .Values.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.affinity }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}

{{/* Fails unless the CA key and admin token have a source. */}}
{{- define "lattice-cell.checkSecrets" -}}
{{- if and (not .Values.dev) (not .Values.secrets.existingSecret) }}
{{- fail "secrets.existingSecret is required (a Secret with the CA key and the admin token) unless dev is true" }}
{{- end }}
{{- end }}
