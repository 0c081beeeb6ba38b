{{/* Name of the chart, cut to the 63 characters a label value allows. */}}
{{- define "lattice-agent.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name of the release's objects. */}}
{{- define "lattice-agent.fullname" -}}
{{- if contains .Chart.Name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{/* Labels selecting the cell's pods. */}}
{{- define "lattice-agent.selectorLabels" -}}
app.kubernetes.io/name: {{ include "lattice-agent.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Labels on every object. */}}
{{- define "lattice-agent.labels" -}}
{{ include "lattice-agent.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: lattice
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end }}

{{- define "lattice-agent.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "lattice-agent.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "lattice-agent.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/* The agent's own verbs on what it applies: server-side apply (create, patch), prune and
     removal (delete), drift watch (get, list, watch). */}}
{{- define "lattice-agent.applyVerbs" -}}
[get, list, watch, create, patch, delete]
{{- end }}
