{{/* The chart name, or nameOverride. */}}
{{- define "breakglass.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Object name prefix: fullnameOverride, else RELEASE-NAME unless the release
name already holds NAME. Cut to 63 characters, the DNS label limit. */}}
{{- define "breakglass.fullname" -}}
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

{{- define "breakglass.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Where every namespaced object goes. */}}
{{- define "breakglass.namespace" -}}
{{- if .Values.namespace.create }}
{{- required "namespace.name: name the namespace the chart creates" .Values.namespace.name }}
{{- else }}
{{- .Release.Namespace }}
{{- end }}
{{- end }}

{{/* Labels on every object. */}}
{{- define "breakglass.labels" -}}
helm.sh/chart: {{ include "breakglass.chart" . }}
app.kubernetes.io/name: {{ include "breakglass.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: breakglass
{{- end }}

{{/* The daemon's pods. The component keeps the helm test pod out of the
Deployment's selector, the Service and the NetworkPolicy. */}}
{{- define "breakglass.selectorLabels" -}}
app.kubernetes.io/name: {{ include "breakglass.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: server
{{- end }}

{{/* Labels of the daemon's pods: no helm.sh/chart, so that a new chart
version that changes only the scripts (hot-reloaded) does not restart the
pod. podLabels cannot replace the selector labels. */}}
{{- define "breakglass.podLabels" -}}
{{- $own := include "breakglass.selectorLabels" . | fromYaml }}
{{- $_ := set $own "app.kubernetes.io/version" .Chart.AppVersion }}
{{- $_ = set $own "app.kubernetes.io/part-of" "breakglass" }}
{{- toYaml (merge $own .Values.podLabels) }}
{{- end }}

{{- define "breakglass.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "breakglass.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name: name the existing ServiceAccount (serviceAccount.create is false)" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "breakglass.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* The Secret the pod reads, whichever source fills it. */}}
{{- define "breakglass.secretName" -}}
{{- if eq .Values.secrets.source "existingSecret" }}
{{- required "secrets.existingSecret: name the Secret (secrets.source is existingSecret)" .Values.secrets.existingSecret }}
{{- else }}
{{- printf "%s-secrets" (include "breakglass.fullname" .) }}
{{- end }}
{{- end }}

{{- define "breakglass.scriptsConfigMapName" -}}
{{- default (printf "%s-scripts" (include "breakglass.fullname" .)) .Values.scripts.existingConfigMap }}
{{- end }}

{{- define "breakglass.runbooksConfigMapName" -}}
{{- default (printf "%s-runbooks" (include "breakglass.fullname" .)) .Values.runbooks.existingConfigMap }}
{{- end }}

{{/* The script set's paths relative to its root, as a JSON list: the
chart's files/lua (a link to the repository's lua/), or scripts.files for an
operator's ConfigMap. */}}
{{- define "breakglass.scriptPaths" -}}
{{- $paths := list }}
{{- if and .Values.scripts.files (not .Values.scripts.existingConfigMap) }}
{{- fail "scripts.files lists the files of an operator's ConfigMap: set scripts.existingConfigMap too, or empty the list" }}
{{- end }}
{{- if .Values.scripts.files }}
{{- $paths = .Values.scripts.files }}
{{- else }}
{{- range $path, $_ := .Files.Glob "files/lua/**" }}
{{- $paths = append $paths (trimPrefix "files/lua/" $path) }}
{{- end }}
{{- end }}
{{- if not $paths }}
{{- fail "scripts: the script set is empty (files/lua holds no file and scripts.files is empty)" }}
{{- end }}
{{- toJson (sortAlpha $paths) }}
{{- end }}

{{/* A ConfigMap key cannot hold "/": a path's key writes it as ".". Two paths
with one key, or a key Kubernetes refuses, stop the render. */}}
{{- define "breakglass.scriptKeys" -}}
{{- $keys := dict }}
{{- range include "breakglass.scriptPaths" . | fromJsonArray }}
{{- $key := replace "/" "." . }}
{{- if not (regexMatch "^[-._a-zA-Z0-9]{1,253}$" $key) }}
{{- fail (printf "scripts: %q cannot be a ConfigMap key (letters, digits, '-', '_', '.' and '/' only)" .) }}
{{- end }}
{{- if hasKey $keys $key }}
{{- fail (printf "scripts: %q and %q both become the ConfigMap key %q; rename one" (get $keys $key) . $key) }}
{{- end }}
{{- $_ := set $keys $key . }}
{{- end }}
{{- toJson $keys }}
{{- end }}

{{/* The scripts volume: the ConfigMap as a directory, its keys put back into
the tree. Never mounted with subPath: the daemon watches the kubelet's
..data link swap to reload edits. */}}
{{- define "breakglass.scriptsVolume" -}}
configMap:
  name: {{ include "breakglass.scriptsConfigMapName" . }}
  items:
    {{- range $key, $path := include "breakglass.scriptKeys" . | fromJson }}
    - key: {{ $key | quote }}
      path: {{ $path | quote }}
    {{- end }}
{{- end }}

{{/* Pod and container security contexts, shared by the daemon and the
helm test pod; both pass Pod Security restricted. */}}
{{- define "breakglass.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
fsGroup: 65532
fsGroupChangePolicy: OnRootMismatch
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{- define "breakglass.containerSecurityContext" -}}
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
privileged: false
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop:
    - ALL
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{- define "breakglass.resources" -}}
requests:
  cpu: {{ .Values.resources.cpu | quote }}
  memory: {{ .Values.resources.memory | quote }}
limits:
  cpu: {{ .Values.resources.cpu | quote }}
  memory: {{ .Values.resources.memory | quote }}
{{- end }}

{{/* resources.memory in MiB (it is given in Mi or Gi). */}}
{{- define "breakglass.memoryMiB" -}}
{{- $m := toString .Values.resources.memory }}
{{- if hasSuffix "Gi" $m }}{{ mul (trimSuffix "Gi" $m | int) 1024 }}
{{- else if hasSuffix "Mi" $m }}{{ trimSuffix "Mi" $m | int }}
{{- else }}{{ fail (printf "resources.memory: give it in Mi or Gi (not %q), so the Lua budget can be checked against it" $m) }}
{{- end }}
{{- end }}

{{/* The Lua budget, refused when it could take more than half the pod: the
daemon's own buffers (streams, journals, the model's answers) need the rest. */}}
{{- define "breakglass.luaMemoryTotalMiB" -}}
{{- $pod := include "breakglass.memoryMiB" . | int }}
{{- $lua := .Values.daemon.luaMemoryTotalMiB | int }}
{{- if gt (mul $lua 2) $pod }}
{{- fail (printf "daemon.luaMemoryTotalMiB: %d MiB is more than half of resources.memory (%s); lower it or raise the pod's memory" $lua .Values.resources.memory) }}
{{- end }}
{{- $lua }}
{{- end }}

{{/* The kubelet's wait between SIGTERM and SIGKILL, from the power-verb limit
itself so the two cannot drift apart. */}}
{{- define "breakglass.terminationGracePeriodSeconds" -}}
{{- add (int .Values.daemon.pveVerbTimeoutSeconds) (int .Values.daemon.terminationGraceMarginSeconds) }}
{{- end }}
