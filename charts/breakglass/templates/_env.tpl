{{/* The daemon's environment: every setting the chart owns. Secrets come
from the Secret by reference, never as literal values. */}}
{{- define "breakglass.ownEnv" -}}
- name: BREAKGLASS_LISTEN
  value: "0.0.0.0:8080"
- name: BREAKGLASS_SCRIPTS_DIR
  value: /etc/breakglass/scripts
- name: BREAKGLASS_DATA_DIR
  value: /data
{{- if .Values.runbooks.enabled }}
- name: BREAKGLASS_RUNBOOKS_DIR
  value: /etc/breakglass/runbooks
{{- end }}
- name: BREAKGLASS_KEY_PATH
  value: /secrets/breakglass/private_key
- name: BREAKGLASS_KNOWN_HOSTS
  value: /secrets/breakglass/known_hosts
{{- if .Values.secrets.journalHmac }}
- name: BREAKGLASS_JOURNAL_HMAC_KEY_PATH
  value: /secrets/breakglass/journal_hmac_key
{{- end }}
- name: BREAKGLASS_DEVVM_HOST
  value: {{ required "targets.devvm.host: give the devvm's IPv4 address" .Values.targets.devvm.host | quote }}
- name: BREAKGLASS_DEVVM_PORT
  value: {{ .Values.targets.devvm.port | quote }}
- name: BREAKGLASS_DEVVM_USER
  value: {{ .Values.targets.devvm.user | quote }}
{{- with .Values.targets.pve.host }}
- name: BREAKGLASS_PVE_HOST
  value: {{ . | quote }}
- name: BREAKGLASS_PVE_PORT
  value: {{ $.Values.targets.pve.port | quote }}
- name: BREAKGLASS_PVE_USER
  value: {{ $.Values.targets.pve.user | quote }}
{{- end }}
- name: BREAKGLASS_MODEL
  value: {{ .Values.model.name | quote }}
- name: ANTHROPIC_BASE_URL
  value: {{ .Values.model.baseUrl | quote }}
- name: {{ ternary "ANTHROPIC_API_KEY" "ANTHROPIC_AUTH_TOKEN" (eq .Values.secrets.modelCredential "apiKey") }}
  valueFrom:
    secretKeyRef:
      name: {{ include "breakglass.secretName" . }}
      key: {{ .Values.secrets.keys.modelCredential }}
- name: API_BEARER_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ include "breakglass.secretName" . }}
      key: {{ .Values.secrets.keys.bearerToken }}
{{- if and .Values.ingress.enabled .Values.ingress.authProxy.enabled }}
- name: BREAKGLASS_TRUSTED_USER_HEADER
  value: {{ .Values.ingress.authProxy.userHeader | quote }}
{{- end }}
{{- if .Values.metrics.enabled }}
- name: BREAKGLASS_METRICS_LISTEN
  value: {{ printf "0.0.0.0:%d" (int .Values.metrics.port) | quote }}
{{- end }}
- name: BREAKGLASS_LOG_LEVEL
  value: {{ .Values.daemon.logLevel | quote }}
- name: BREAKGLASS_LOG_FORMAT
  value: {{ .Values.daemon.logFormat | quote }}
- name: BREAKGLASS_PVE_VERB_TIMEOUT_SECONDS
  value: {{ .Values.daemon.pveVerbTimeoutSeconds | quote }}
- name: BREAKGLASS_COMMAND_TIMEOUT_SECONDS
  value: {{ .Values.daemon.commandTimeoutSeconds | quote }}
- name: BREAKGLASS_SSH_CONNECT_TIMEOUT_SECONDS
  value: {{ .Values.daemon.sshConnectTimeoutSeconds | quote }}
- name: BREAKGLASS_SSH_STANDBY
  value: {{ ternary "on" "off" .Values.daemon.sshStandby | quote }}
- name: BREAKGLASS_TURN_TIMEOUT_SECONDS
  value: {{ .Values.daemon.turnTimeoutSeconds | quote }}
- name: BREAKGLASS_CONFIRM_TIMEOUT_SECONDS
  value: {{ .Values.daemon.confirmTimeoutSeconds | quote }}
- name: BREAKGLASS_MAX_SESSIONS
  value: {{ .Values.daemon.maxSessions | quote }}
- name: BREAKGLASS_MAX_JOURNAL_BYTES
  value: {{ .Values.daemon.maxJournalBytes | int64 | quote }}
- name: BREAKGLASS_LUA_MEMORY_TOTAL_MB
  value: {{ include "breakglass.luaMemoryTotalMiB" . | quote }}
- name: BREAKGLASS_LUA_MEMORY_MB
  value: {{ .Values.daemon.luaMemoryMiB | quote }}
{{- end }}

{{/* The chart's settings, then extraEnv, which may not set one of them
again: with two values for a name, which one wins is easy to misread. */}}
{{- define "breakglass.env" -}}
{{- $own := include "breakglass.ownEnv" . }}
{{- $names := list }}
{{- range fromYamlArray $own }}
{{- $names = append $names .name }}
{{- end }}
{{- range .Values.extraEnv }}
{{- if has .name $names }}
{{- fail (printf "extraEnv: %s is set by the chart; use its value in values.yaml instead" .name) }}
{{- end }}
{{- end }}
{{- $own }}
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}
