#!/usr/bin/env python3
"""Renders the kustomizations under deploy/ and validates them offline: no cluster, no network.

    python3 deploy/validate.py              # what `make deploy-check` runs (and `make test` before it)
    python3 deploy/validate.py --root DIR   # the same checks on a copy of deploy/ (DIR holds base/, ...)
    python3 deploy/validate.py --print deploy/base   # the rendered YAML of a target (or any overlay folder)

For each target (base, inference-extension, adapter-sync):
  1. render it with `kubectl kustomize` when kubectl is installed, and always with the small offline renderer
     below (resources, components, strategic-merge patches, images); when both ran their output must agree;
  2. validate every object of a built-in kind with kubernetes-validate (strict: unknown fields are errors)
     against the oldest and the newest Kubernetes version this deployment supports;
  3. check InferencePool (inference.networking.k8s.io/v1) and HTTPRoute (gateway.networking.k8s.io/v1)
     against their documented fields;
  4. check what the manifests mean: probes on /health at the container port, non-root, read-only root,
     the API key from a Secret, the HPA's queue-depth metric, the pool selecting the model-server pods, ...
Then it breaks copies on purpose (in memory, and one file in a copied tree) and requires each to be refused,
so a check that can no longer fail is noticed. Exit status 1 on any error.
"""

import argparse
import copy
import os
import re
import shutil
import subprocess
import sys
import tempfile

import yaml

try:
    import kubernetes_validate
except ImportError:  # pragma: no cover - the Makefile installs it
    sys.exit("deploy/validate.py needs kubernetes-validate: python3 -m pip install -r deploy/requirements.txt")

DEPLOY = os.path.dirname(os.path.abspath(__file__))
ROOT = DEPLOY                    # the tree being checked (--root)
# Oldest: native preStop sleep is on by default from 1.30 (sidecar init containers from 1.29).
K8S_VERSIONS = ["1.30.0", kubernetes_validate.latest_version()]

MODEL_SERVER = "tandem"          # Deployment and container name
CONTAINER_PORT = 8000
ADAPTERS_PATH = "/app/adapters"
SERVER_DRAIN_SECONDS = 30        # ServerConfiguration.shutdownGracePeriod: SIGTERM waits this long at most
SERVER_UID = 10001               # the Dockerfile's tandem user
QUEUE_METRIC = "vllm:num_requests_waiting"             # as the server exports it
HPA_METRIC = "vllm_num_requests_waiting"               # as prometheus-adapter serves it (deploy/README.md)
POOL_GROUP = "inference.networking.k8s.io"
ROUTE_GROUP = "gateway.networking.k8s.io"

# What each target must contain, and must not.
TARGETS = {
    "base": {"requires": ["Deployment/tandem", "Service/tandem", "PersistentVolumeClaim/tandem-adapters",
                          "PodDisruptionBudget/tandem", "HorizontalPodAutoscaler/tandem"],
             "forbids": []},
    "inference-extension": {"requires": ["Deployment/tandem", "InferencePool/tandem", "HTTPRoute/tandem",
                                         "Deployment/tandem-epp", "Service/tandem-epp",
                                         "ServiceAccount/tandem-epp", "ConfigMap/tandem-epp"],
                            "forbids": []},
    "adapter-sync": {"requires": ["Deployment/tandem", "InferencePool/tandem", "HTTPRoute/tandem"],
                     "forbids": ["PersistentVolumeClaim/tandem-adapters"]},
}


class RenderError(Exception):
    pass


# ---- offline renderer ----------------------------------------------------------------------------------
# The subset of kustomize these kustomizations use. Anything else is refused, never silently ignored.

# Strategic-merge keys of the list fields a pod patch touches (from the Kubernetes API's patchMergeKey).
MERGE_KEYS = {"containers": "name", "initContainers": "name", "ephemeralContainers": "name", "volumes": "name",
              "volumeMounts": "mountPath", "env": "name", "ports": "containerPort", "imagePullSecrets": "name"}
KUSTOMIZATION_FIELDS = {"apiVersion", "kind", "resources", "components", "patches", "images"}


def load_documents(path):
    with open(path, encoding="utf-8") as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]


def kustomization_file(directory):
    for name in ("kustomization.yaml", "kustomization.yml", "Kustomization"):
        path = os.path.join(directory, name)
        if os.path.isfile(path):
            return path
    raise RenderError(f"{directory}: no kustomization.yaml")


def object_id(obj):
    return f"{obj.get('kind')}/{obj.get('metadata', {}).get('name')}"


def strip_directives(value):
    if isinstance(value, dict):
        return {k: strip_directives(v) for k, v in value.items() if not k.startswith("$") and v is not None}
    if isinstance(value, list):
        return [strip_directives(v) for v in value]
    return value


def merge_list(base, patch, key, where):
    out = [copy.deepcopy(item) for item in base]
    for item in patch:
        if not isinstance(item, dict) or key not in item:
            raise RenderError(f"{where}: list item without merge key {key!r}")
        at = next((i for i, b in enumerate(out) if b.get(key) == item[key]), None)
        if item.get("$patch") == "delete":
            if at is not None:
                del out[at]
        elif at is None:
            out.append(strip_directives(item))
        else:
            out[at] = strategic_merge(out[at], item, f"{where}[{item[key]}]")
    return out


def strategic_merge(base, patch, where=""):
    """Kubernetes strategic merge: maps merge, null deletes, named lists merge by key, other lists replace."""
    if not isinstance(patch, dict) or not isinstance(base, dict):
        return strip_directives(patch)
    directive = patch.get("$patch")
    if directive == "replace":
        return strip_directives(patch)
    if directive not in (None, "merge"):
        raise RenderError(f"{where}: unsupported $patch: {directive}")
    out = copy.deepcopy(base)
    for key, value in patch.items():
        if key.startswith("$"):
            continue
        if value is None:
            out.pop(key, None)
        elif key in out and isinstance(value, list) and isinstance(out[key], list) and key in MERGE_KEYS:
            out[key] = merge_list(out[key], value, MERGE_KEYS[key], f"{where}.{key}")
        elif key in out:
            out[key] = strategic_merge(out[key], value, f"{where}.{key}")
        else:
            out[key] = strip_directives(value)
    return out


def apply_patches(objects, patches, directory):
    for entry in patches:
        if set(entry) - {"path", "patch"}:
            raise RenderError(f"{directory}: patch fields {sorted(set(entry) - {'path', 'patch'})} unsupported")
        docs = load_documents(os.path.join(directory, entry["path"])) if "path" in entry \
            else [d for d in yaml.safe_load_all(entry["patch"]) if d]
        for patch in docs:
            if not isinstance(patch, dict):
                raise RenderError(f"{directory}: only strategic-merge patches are supported offline")
            wanted = object_id(patch)
            at = [i for i, o in enumerate(objects) if object_id(o) == wanted]
            if not at:
                raise RenderError(f"{directory}: patch target {wanted} not found")
            if patch.get("$patch") == "delete":
                del objects[at[0]]
            else:
                objects[at[0]] = strategic_merge(objects[at[0]], patch, wanted)


def pod_spec(obj):
    if obj.get("kind") in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"):
        return obj.get("spec", {}).get("template", {}).get("spec", {})
    if obj.get("kind") == "Pod":
        return obj.get("spec", {})
    return None


def all_containers(spec):
    return list(spec.get("initContainers", [])) + list(spec.get("containers", []))


def image_name(image):
    name = image.split("@", 1)[0]
    return name.rsplit(":", 1)[0] if ":" in name.rsplit("/", 1)[-1] else name


def apply_images(objects, images):
    for obj in objects:
        spec = pod_spec(obj)
        for container in all_containers(spec) if spec else []:
            for entry in images:
                if image_name(container["image"]) != entry["name"]:
                    continue
                new = entry.get("newName", entry["name"])
                if "digest" in entry:
                    container["image"] = f"{new}@{entry['digest']}"
                elif "newTag" in entry:
                    container["image"] = f"{new}:{entry['newTag']}"
                else:
                    tag = container["image"][len(image_name(container["image"])):]
                    container["image"] = new + tag


def render_offline(directory):
    path = kustomization_file(directory)
    (k,) = load_documents(path)
    unknown = set(k) - KUSTOMIZATION_FIELDS
    if unknown:
        raise RenderError(f"{path}: fields {sorted(unknown)} are not supported by the offline renderer")
    if k.get("kind", "Kustomization") != "Kustomization":
        raise RenderError(f"{path}: kind {k.get('kind')}, expected Kustomization")
    objects = []
    for resource in k.get("resources", []):
        full = os.path.normpath(os.path.join(directory, resource))
        objects += render_offline(full) if os.path.isdir(full) else load_documents(full)
    seen = set()
    for obj in objects:
        if object_id(obj) in seen:
            raise RenderError(f"{path}: {object_id(obj)} defined twice")
        seen.add(object_id(obj))
    for comp in k.get("components", []):
        comp_dir = os.path.normpath(os.path.join(directory, comp))
        objects = apply_component(objects, comp_dir)
    apply_patches(objects, k.get("patches", []), directory)
    apply_images(objects, k.get("images", []))
    return objects


def apply_component(objects, comp_dir):
    path = kustomization_file(comp_dir)
    (k,) = load_documents(path)
    if k.get("kind") != "Component":
        raise RenderError(f"{path}: a component must have kind Component")
    unknown = set(k) - KUSTOMIZATION_FIELDS
    if unknown:
        raise RenderError(f"{path}: fields {sorted(unknown)} are not supported by the offline renderer")
    objects = list(objects)
    for resource in k.get("resources", []):
        objects += load_documents(os.path.join(comp_dir, resource))
    apply_patches(objects, k.get("patches", []), comp_dir)
    apply_images(objects, k.get("images", []))
    return objects


def render_kubectl(directory):
    kubectl = shutil.which("kubectl")
    if not kubectl:
        return None
    run = subprocess.run([kubectl, "kustomize", directory], capture_output=True, text=True, timeout=60)
    if run.returncode != 0:
        raise RenderError(f"kubectl kustomize {directory}: {run.stderr.strip()}")
    return [d for d in yaml.safe_load_all(run.stdout) if d is not None]


def canonical(value):
    """Order-insensitive form for comparing two renderings: objects by id, named lists by name."""
    if isinstance(value, dict):
        return {k: canonical(v) for k, v in value.items()}
    if isinstance(value, list):
        items = [canonical(v) for v in value]
        if items and all(isinstance(i, dict) and "name" in i for i in items):
            return sorted(items, key=lambda i: str(i["name"]))
        return items
    return value


def render(directory):
    """Returns (objects, how). Both renderers run when kubectl exists; they must agree."""
    offline = render_offline(directory)
    rendered = render_kubectl(directory)
    if rendered is None:
        return offline, "offline renderer (no kubectl)"
    by_id = {object_id(o): canonical(o) for o in rendered}
    mine = {object_id(o): canonical(o) for o in offline}
    if by_id != mine:
        differ = sorted(i for i in set(by_id) | set(mine) if by_id.get(i) != mine.get(i))
        raise RenderError(f"{directory}: kubectl kustomize and the offline renderer differ on {differ}")
    return rendered, "kubectl kustomize = offline renderer"


# ---- small schema language for the two CRD kinds ------------------------------------------------------

def s_string(min_len=0, max_len=None, pattern=None, enum=None):
    def check(value, path):
        if not isinstance(value, str):
            return [f"{path}: must be a string"]
        errors = []
        if len(value) < min_len or (max_len is not None and len(value) > max_len):
            errors.append(f"{path}: length {len(value)} outside [{min_len}, {max_len}]")
        if pattern and not re.fullmatch(pattern, value):
            errors.append(f"{path}: {value!r} does not match {pattern}")
        if enum and value not in enum:
            errors.append(f"{path}: {value!r} is not one of {enum}")
        return errors
    return check


def s_int(minimum, maximum):
    def check(value, path):
        if not isinstance(value, int) or isinstance(value, bool):
            return [f"{path}: must be an integer"]
        return [] if minimum <= value <= maximum else [f"{path}: {value} outside [{minimum}, {maximum}]"]
    return check


def s_object(fields, required=(), rule=None, open_fields=False):
    def check(value, path):
        if not isinstance(value, dict):
            return [f"{path}: must be an object"]
        errors = [f"{path}.{k}: unknown field" for k in value if k not in fields and not open_fields]
        errors += [f"{path}.{k}: required" for k in required if k not in value]
        for k, sub in fields.items():
            if k in value:
                errors += sub(value[k], f"{path}.{k}")
        if rule and not errors:
            errors += rule(value, path)
        return errors
    return check


def s_array(item, min_items=0, max_items=None, unique_by=None):
    def check(value, path):
        if not isinstance(value, list):
            return [f"{path}: must be a list"]
        errors = []
        if len(value) < min_items or (max_items is not None and len(value) > max_items):
            errors.append(f"{path}: {len(value)} items outside [{min_items}, {max_items}]")
        for i, v in enumerate(value):
            errors += item(v, f"{path}[{i}]")
        if unique_by and not errors:
            keys = [unique_by(v) for v in value]
            if len(keys) != len(set(keys)):
                errors.append(f"{path}: entries must be unique")
        return errors
    return check


def s_map(key_check, value_check, min_props=0, max_props=None):
    def check(value, path):
        if not isinstance(value, dict):
            return [f"{path}: must be a map"]
        errors = []
        if len(value) < min_props or (max_props is not None and len(value) > max_props):
            errors.append(f"{path}: {len(value)} entries outside [{min_props}, {max_props}]")
        for k, v in value.items():
            errors += key_check(k, f"{path} key") + value_check(v, f"{path}.{k}")
        return errors
    return check


def s_any(value, path):
    return []


DNS_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
GROUP = r"^$|^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
KIND = r"[a-zA-Z]([-a-zA-Z0-9]*[a-zA-Z0-9])?"
LABEL_KEY = r"(" + DNS_LABEL + r"(\." + DNS_LABEL + r")*/)?([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9]"
LABEL_VALUE = r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?"
DURATION = r"([0-9]{1,5}(h|m|s|ms)){1,4}"
METADATA = s_object({"name": s_string(1, 253, DNS_LABEL + r"(\." + DNS_LABEL + r")*"),
                     "namespace": s_string(1, 63, DNS_LABEL), "labels": s_any, "annotations": s_any},
                    required=("name",))
PORT = s_object({"number": s_int(1, 65535)}, required=("number",))


def picker_needs_port(ref, path):
    if ref.get("kind", "Service") == "Service" and "port" not in ref:
        return [f"{path}.port: required when kind is Service (the default)"]
    return []


# InferencePool, inference.networking.k8s.io/v1 (api/v1/inferencepool_types.go, shared_types.go). The API
# made endpointPickerRef optional in v1.5, but most gateways still require it, and this deployment has one.
INFERENCE_POOL = s_object({
    "apiVersion": s_string(enum=[f"{POOL_GROUP}/v1"]), "kind": s_string(enum=["InferencePool"]),
    "metadata": METADATA,
    "spec": s_object({
        "selector": s_object({"matchLabels": s_map(s_string(1, 253, LABEL_KEY), s_string(0, 63, LABEL_VALUE),
                                                    min_props=1, max_props=64)},
                             required=("matchLabels",)),
        "targetPorts": s_array(PORT, min_items=1, max_items=8, unique_by=lambda p: p["number"]),
        "appProtocol": s_string(enum=["http", "kubernetes.io/h2c"]),
        "endpointPickerRef": s_object({
            "group": s_string(0, 253, GROUP), "kind": s_string(1, 63, KIND), "name": s_string(1, 253),
            "port": PORT, "failureMode": s_string(enum=["FailOpen", "FailClose"]),
        }, required=("name",), rule=picker_needs_port),
    }, required=("selector", "targetPorts", "endpointPickerRef")),
}, required=("apiVersion", "kind", "metadata", "spec"))

# HTTPRoute, gateway.networking.k8s.io/v1 (Gateway API standard channel).
PARENT_REF = s_object({"group": s_string(0, 253, GROUP), "kind": s_string(1, 63, KIND),
                       "namespace": s_string(1, 63, DNS_LABEL), "name": s_string(1, 253),
                       "sectionName": s_string(1, 253), "port": s_int(1, 65535)}, required=("name",))
BACKEND_REF = s_object({"group": s_string(0, 253, GROUP), "kind": s_string(1, 63, KIND),
                        "namespace": s_string(1, 63, DNS_LABEL), "name": s_string(1, 253),
                        "port": s_int(1, 65535), "weight": s_int(0, 1000000),
                        "filters": s_array(s_object({"type": s_string(1)}, ("type",), open_fields=True))},
                       required=("name",))
ROUTE_MATCH = s_object({
    "path": s_object({"type": s_string(enum=["Exact", "PathPrefix", "RegularExpression"]),
                      "value": s_string(1, 1024, r"/.*")}),
    "headers": s_array(s_object({"type": s_string(enum=["Exact", "RegularExpression"]), "name": s_string(1, 256),
                                 "value": s_string(1, 4096)}, ("name", "value")), max_items=16),
    "queryParams": s_array(s_object({"type": s_string(enum=["Exact", "RegularExpression"]),
                                     "name": s_string(1, 256), "value": s_string(1, 1024)}, ("name", "value")),
                           max_items=16),
    "method": s_string(enum=["GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"]),
})
HTTP_ROUTE = s_object({
    "apiVersion": s_string(enum=[f"{ROUTE_GROUP}/v1"]), "kind": s_string(enum=["HTTPRoute"]),
    "metadata": METADATA,
    "spec": s_object({
        "parentRefs": s_array(PARENT_REF, min_items=1, max_items=32),
        "hostnames": s_array(s_string(1, 253), max_items=16),
        "rules": s_array(s_object({
            "name": s_string(1, 253, DNS_LABEL),
            "matches": s_array(ROUTE_MATCH, max_items=64),
            "filters": s_array(s_object({"type": s_string(1)}, ("type",), open_fields=True), max_items=16),
            "backendRefs": s_array(BACKEND_REF, max_items=16),
            "timeouts": s_object({"request": s_string(pattern=DURATION),
                                  "backendRequest": s_string(pattern=DURATION)}),
            "retry": s_any, "sessionPersistence": s_any,
        }), min_items=1, max_items=16),
    }),
}, required=("apiVersion", "kind", "metadata", "spec"))

CRD_SCHEMAS = {(f"{POOL_GROUP}/v1", "InferencePool"): INFERENCE_POOL,
               (f"{ROUTE_GROUP}/v1", "HTTPRoute"): HTTP_ROUTE}


def schema_errors(objects):
    errors = []
    for obj in objects:
        where = object_id(obj)
        key = (obj.get("apiVersion"), obj.get("kind"))
        if key in CRD_SCHEMAS:
            errors += [f"{where}: {e}" for e in CRD_SCHEMAS[key](obj, "")]
            continue
        group = str(obj.get("apiVersion", "")).rpartition("/")[0]
        if group in (POOL_GROUP, ROUTE_GROUP) or group.endswith(".x-k8s.io"):
            errors.append(f"{where}: {obj.get('apiVersion')} has no schema here")
            continue
        for version in K8S_VERSIONS:
            try:
                kubernetes_validate.validate(obj, version, strict=True)
            except kubernetes_validate.ValidationError as e:
                path = ".".join(str(p) for p in e.path)
                errors.append(f"{where}: Kubernetes {version}: {path}: {e.message}")
            except kubernetes_validate.SchemaNotFoundError:
                errors.append(f"{where}: Kubernetes {version} has no {obj.get('apiVersion')} {obj.get('kind')}")
    return errors


# ---- what the manifests mean ---------------------------------------------------------------------------

def find(objects, kind, name=None):
    hits = [o for o in objects if o.get("kind") == kind and (name is None or o["metadata"]["name"] == name)]
    return hits[0] if name is not None and hits else (None if name is not None else hits)


def selects(match_labels, labels):
    return bool(match_labels) and all(labels.get(k) == v for k, v in match_labels.items())


def pod_labels(deployment):
    return deployment["spec"]["template"].get("metadata", {}).get("labels", {})


def container_port(container, port):
    """The number a probe or Service port refers to (by name or number), or None."""
    for p in container.get("ports", []):
        if port in (p.get("name"), p.get("containerPort")):
            return p["containerPort"]
    return None


def quantity(value):
    """CPU cores or bytes from a Kubernetes quantity ("2", "500m", "1536Mi", "1Gi")."""
    units = {"m": 1e-3, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "k": 1e3, "M": 1e6, "G": 1e9}
    match = re.fullmatch(r"([0-9.]+)([A-Za-z]*)", str(value))
    if not match or match.group(2) not in units and match.group(2):
        raise ValueError(f"bad quantity {value!r}")
    return float(match.group(1)) * units.get(match.group(2), 1)


def arg_value(args, flag):
    for i, a in enumerate(args):
        if a == flag and i + 1 < len(args):
            return args[i + 1]
        if a.startswith(flag + "="):
            return a.split("=", 1)[1]
    return None


def effective(spec, container, field):
    value = container.get("securityContext", {}).get(field)
    return spec.get("securityContext", {}).get(field) if value is None else value


def check_security(name, spec, errors):
    for c in all_containers(spec):
        where = f"{name} container {c['name']}"
        sc = c.get("securityContext", {})
        if effective(spec, c, "runAsNonRoot") is not True:
            errors.append(f"{where}: runAsNonRoot must be true")
        if effective(spec, c, "runAsUser") == 0:
            errors.append(f"{where}: runAsUser 0 is root")
        if sc.get("readOnlyRootFilesystem") is not True:
            errors.append(f"{where}: readOnlyRootFilesystem must be true")
        if sc.get("allowPrivilegeEscalation") is not False:
            errors.append(f"{where}: allowPrivilegeEscalation must be false")
        if sc.get("privileged"):
            errors.append(f"{where}: must not be privileged")
        if "ALL" not in sc.get("capabilities", {}).get("drop", []):
            errors.append(f"{where}: capabilities.drop must contain ALL")
        if sc.get("capabilities", {}).get("add"):
            errors.append(f"{where}: adds capabilities")


def probe_seconds(probe):
    return probe.get("periodSeconds", 10) * probe.get("failureThreshold", 3)


def check_model_server(objects, errors):
    dep = find(objects, "Deployment", MODEL_SERVER)
    if dep is None:
        return
    spec = pod_spec(dep)
    name = f"Deployment/{MODEL_SERVER}"
    server = next((c for c in spec.get("containers", []) if c["name"] == MODEL_SERVER), None)
    if server is None:
        errors.append(f"{name}: no container named {MODEL_SERVER}")
        return
    args = server.get("args", [])
    if container_port(server, "http") != CONTAINER_PORT:
        errors.append(f"{name}: container port 'http' must be {CONTAINER_PORT}")
    if arg_value(args, "--port") != str(CONTAINER_PORT):
        errors.append(f"{name}: --port {arg_value(args, '--port')} is not the container port {CONTAINER_PORT}")
    if arg_value(args, "--host") != "0.0.0.0":
        errors.append(f"{name}: --host must be 0.0.0.0 (the default 127.0.0.1 is unreachable from the pod IP)")

    for kind in ("startupProbe", "readinessProbe", "livenessProbe"):
        probe = server.get(kind)
        get = (probe or {}).get("httpGet")
        if not get:
            errors.append(f"{name}: {kind} must be an httpGet probe")
            continue
        if get.get("path") != "/health":
            errors.append(f"{name}: {kind} path {get.get('path')!r} must be /health")
        if container_port(server, get.get("port")) != CONTAINER_PORT:
            errors.append(f"{name}: {kind} port {get.get('port')!r} is not the server's port {CONTAINER_PORT}")
        if get.get("scheme", "HTTP") != "HTTP":
            errors.append(f"{name}: {kind} must use HTTP")
    if server.get("startupProbe") and probe_seconds(server["startupProbe"]) < 120:
        errors.append(f"{name}: startupProbe allows {probe_seconds(server['startupProbe'])} s; the model load "
                      "needs at least 120")
    if server.get("readinessProbe") and probe_seconds(server["readinessProbe"]) > 15:
        errors.append(f"{name}: readinessProbe takes {probe_seconds(server['readinessProbe'])} s to notice a "
                      "pod that stopped serving (at most 15)")
    if server.get("livenessProbe") and probe_seconds(server["livenessProbe"]) < 30:
        errors.append(f"{name}: livenessProbe restarts (and reloads the model) after "
                      f"{probe_seconds(server['livenessProbe'])} s; allow at least 30")

    pre_stop = server.get("lifecycle", {}).get("preStop", {})
    sleep = pre_stop.get("sleep", {}).get("seconds")
    command = pre_stop.get("exec", {}).get("command", [])
    if sleep is None and len(command) == 2 and command[0].endswith("sleep") and command[1].isdigit():
        sleep = int(command[1])
    if not sleep or sleep < 5:
        errors.append(f"{name}: preStop must sleep >= 5 s so gateways stop routing before SIGTERM stops accepting")
    grace = spec.get("terminationGracePeriodSeconds", 30)
    if grace < (sleep or 0) + SERVER_DRAIN_SECONDS:
        errors.append(f"{name}: terminationGracePeriodSeconds {grace} < preStop {sleep} s + the server's "
                      f"{SERVER_DRAIN_SECONDS} s drain")

    check_security(name, spec, errors)
    if effective(spec, server, "runAsUser") != SERVER_UID:
        errors.append(f"{name}: the server must run as uid {SERVER_UID} (the image's tandem user)")
    volumes = {v["name"]: v for v in spec.get("volumes", [])}
    mounts = {m["mountPath"]: m for m in server.get("volumeMounts", [])}
    if "emptyDir" not in volumes.get(mounts.get("/tmp", {}).get("name"), {}):
        errors.append(f"{name}: /tmp must be an emptyDir (the root filesystem is read-only)")
    if spec.get("automountServiceAccountToken") is not False:
        errors.append(f"{name}: the server needs no service account token (automountServiceAccountToken: false)")

    key = [e for e in server.get("env", []) if e["name"] == "TANDEM_API_KEY"]
    ref = key[0].get("valueFrom", {}).get("secretKeyRef", {}) if key else {}
    if not key or "value" in key[0] or not ref.get("name") or not ref.get("key"):
        errors.append(f"{name}: TANDEM_API_KEY must come from a Secret (valueFrom.secretKeyRef name and key)")
    if ref.get("optional"):
        errors.append(f"{name}: the API key Secret must not be optional (the server would run without a key)")
    if any(a == "--api-key" or a.startswith("--api-key=") for a in args + server.get("command", [])):
        errors.append(f"{name}: --api-key on the command line puts the key in the pod spec")

    res = server.get("resources", {})
    try:
        req, lim = res.get("requests", {}), res.get("limits", {})
        if quantity(req.get("cpu", 0)) != 2 or quantity(lim.get("cpu", 0)) != 2:
            errors.append(f"{name}: cpu requests and limits must be 2 (whole CPUs for the engine's threads)")
        if quantity(req.get("memory", 0)) < 2**30:
            errors.append(f"{name}: memory request below 1Gi (model, KV pages and adapters)")
        if quantity(lim.get("memory", 0)) < quantity(req.get("memory", 0)):
            errors.append(f"{name}: memory limit below the request")
    except ValueError as e:
        errors.append(f"{name}: {e}")

    check_adapters(objects, name, spec, server, args, volumes, errors)

    hpa = [h for h in find(objects, "HorizontalPodAutoscaler") if h["spec"]["scaleTargetRef"]["name"] == MODEL_SERVER]
    if hpa and "replicas" in dep["spec"]:
        errors.append(f"{name}: spec.replicas fights the HorizontalPodAutoscaler; leave it unset")


def check_adapters(objects, name, spec, server, args, volumes, errors):
    if arg_value(args, "--adapters") != ADAPTERS_PATH:
        errors.append(f"{name}: --adapters must be {ADAPTERS_PATH}")
    mount = next((m for m in server.get("volumeMounts", []) if m["mountPath"] == ADAPTERS_PATH), None)
    if mount is None:
        errors.append(f"{name}: nothing mounted at {ADAPTERS_PATH}")
        return
    if mount.get("readOnly") is not True:
        errors.append(f"{name}: the server only reads {ADAPTERS_PATH}; mount it readOnly")
    volume = volumes.get(mount["name"], {})
    if "persistentVolumeClaim" in volume:
        claim = find(objects, "PersistentVolumeClaim", volume["persistentVolumeClaim"]["claimName"])
        if claim is None:
            errors.append(f"{name}: adapters claim {volume['persistentVolumeClaim']['claimName']} is not rendered")
        elif "ReadWriteMany" not in claim["spec"].get("accessModes", []):
            errors.append(f"{name}: the adapters claim must be ReadWriteMany (shared by every replica)")
    elif "emptyDir" in volume:
        writers = [c for c in spec.get("initContainers", []) if c.get("restartPolicy") == "Always"
                   and any(m["name"] == mount["name"] and not m.get("readOnly") for m in c.get("volumeMounts", []))]
        if not writers:
            errors.append(f"{name}: an emptyDir adapters volume needs a sidecar (restartPolicy Always) filling it")
        for c in writers:
            if not c.get("startupProbe"):
                errors.append(f"{name} container {c['name']}: needs a startupProbe (first sync before the server)")
    else:
        errors.append(f"{name}: adapters volume must be a ReadWriteMany claim or a synced emptyDir")


def check_service_pdb_hpa(objects, errors):
    dep = find(objects, "Deployment", MODEL_SERVER)
    if dep is None:
        return
    labels = pod_labels(dep)
    server = next(c for c in pod_spec(dep)["containers"] if c["name"] == MODEL_SERVER)
    svc = find(objects, "Service", MODEL_SERVER)
    if svc is not None:
        if not selects(svc["spec"].get("selector"), labels):
            errors.append("Service/tandem: selector does not match the Deployment's pod labels")
        for p in svc["spec"]["ports"]:
            if container_port(server, p.get("targetPort", p["port"])) != CONTAINER_PORT:
                errors.append(f"Service/tandem: port {p['port']} does not reach container port {CONTAINER_PORT}")
    hpa = find(objects, "HorizontalPodAutoscaler", MODEL_SERVER)
    min_replicas = hpa["spec"].get("minReplicas", 1) if hpa else 1
    pdb = find(objects, "PodDisruptionBudget", MODEL_SERVER)
    if pdb is not None:
        if not selects(pdb["spec"].get("selector", {}).get("matchLabels"), labels):
            errors.append("PodDisruptionBudget/tandem: selector does not match the Deployment's pod labels")
        if "maxUnavailable" not in pdb["spec"] and "minAvailable" not in pdb["spec"]:
            errors.append("PodDisruptionBudget/tandem: needs maxUnavailable or minAvailable")
        available = pdb["spec"].get("minAvailable")
        if isinstance(available, int) and available >= min_replicas:
            errors.append("PodDisruptionBudget/tandem: minAvailable >= minReplicas blocks every node drain")
    if hpa is None:
        return
    where = "HorizontalPodAutoscaler/tandem"
    if hpa["apiVersion"] != "autoscaling/v2":
        errors.append(f"{where}: must be autoscaling/v2")
    target = hpa["spec"]["scaleTargetRef"]
    if (target.get("apiVersion"), target.get("kind"), target.get("name")) != ("apps/v1", "Deployment", MODEL_SERVER):
        errors.append(f"{where}: scaleTargetRef must be the apps/v1 Deployment {MODEL_SERVER}")
    if min_replicas < 2:
        errors.append(f"{where}: minReplicas below 2 leaves nothing serving while a replica drains")
    pods = [m["pods"] for m in hpa["spec"].get("metrics", []) if m.get("type") == "Pods"]
    if not any(p["metric"]["name"] == HPA_METRIC and p["target"]["type"] == "AverageValue" for p in pods):
        errors.append(f"{where}: needs a Pods metric {HPA_METRIC} (AverageValue), the queue depth")
    check_adapter_rule(errors)


def check_adapter_rule(errors):
    """deploy/README.md's prometheus-adapter rule must serve the HPA's metric from the server's gauge."""
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        blocks = re.findall(r"```yaml\n(.*?)```", f.read(), re.S)
    rules = [r for b in blocks for r in (yaml.safe_load(b) or {}).get("rules", [])
             if isinstance(r, dict) and "seriesQuery" in r]
    ok = [r for r in rules if QUEUE_METRIC in r["seriesQuery"] and r.get("name", {}).get("as") == HPA_METRIC
          and QUEUE_METRIC in r.get("metricsQuery", "")]
    if not ok:
        errors.append(f"deploy/README.md: no prometheus-adapter rule serving {QUEUE_METRIC} as {HPA_METRIC}")


def check_inference_extension(objects, errors):
    pools = find(objects, "InferencePool")
    dep = find(objects, "Deployment", MODEL_SERVER)
    for pool in pools:
        where = f"InferencePool/{pool['metadata']['name']}"
        spec = pool["spec"]
        selector = spec["selector"]["matchLabels"]
        if dep is None or not selects(selector, pod_labels(dep)):
            errors.append(f"{where}: selector {selector} does not match the {MODEL_SERVER} pods")
        for other in find(objects, "Deployment"):
            if other is not dep and selects(selector, pod_labels(other)):
                errors.append(f"{where}: selector also matches Deployment/{other['metadata']['name']}")
        if dep is not None:
            server = next(c for c in pod_spec(dep)["containers"] if c["name"] == MODEL_SERVER)
            for p in spec["targetPorts"]:
                if container_port(server, p["number"]) is None:
                    errors.append(f"{where}: target port {p['number']} is not a port of the {MODEL_SERVER} container")
        check_picker(objects, pool, errors)
    for route in find(objects, "HTTPRoute"):
        where = f"HTTPRoute/{route['metadata']['name']}"
        refs = [b for r in route["spec"]["rules"] for b in r.get("backendRefs", [])]
        if not refs:
            errors.append(f"{where}: no backendRefs")
        for b in refs:
            if (b.get("group"), b.get("kind")) != (POOL_GROUP, "InferencePool"):
                errors.append(f"{where}: backendRef {b['name']} must be an {POOL_GROUP} InferencePool")
                continue
            pool = find(objects, "InferencePool", b["name"])
            if pool is None:
                errors.append(f"{where}: InferencePool {b['name']} is not rendered")
            elif "port" in b and b["port"] not in [p["number"] for p in pool["spec"]["targetPorts"]]:
                errors.append(f"{where}: port {b['port']} is not a target port of InferencePool {b['name']}")


def check_picker(objects, pool, errors):
    ref = pool["spec"]["endpointPickerRef"]
    where = f"InferencePool/{pool['metadata']['name']}"
    svc = find(objects, "Service", ref["name"]) if ref.get("kind", "Service") == "Service" else None
    if svc is None:
        errors.append(f"{where}: endpointPickerRef Service {ref['name']} is not rendered")
        return
    port = next((p for p in svc["spec"]["ports"] if p["port"] == ref.get("port", {}).get("number")), None)
    if port is None:
        errors.append(f"{where}: endpointPickerRef port {ref.get('port')} is not a port of Service/{ref['name']}")
        return
    epps = [d for d in find(objects, "Deployment") if selects(svc["spec"].get("selector"), pod_labels(d))]
    if len(epps) != 1:
        errors.append(f"Service/{ref['name']}: must select exactly one Deployment (the picker), selects {len(epps)}")
        return
    epp = epps[0]
    name = f"Deployment/{epp['metadata']['name']}"
    spec = pod_spec(epp)
    container = spec["containers"][0]
    if container_port(container, port.get("targetPort", port["port"])) != 9002:
        errors.append(f"Service/{ref['name']}: port {port['port']} must reach the picker's ext-proc port 9002")
    args = container.get("args", [])
    if arg_value(args, "--pool-name") != pool["metadata"]["name"]:
        errors.append(f"{name}: --pool-name must be {pool['metadata']['name']}")
    if arg_value(args, "--pool-group") not in (None, POOL_GROUP):
        errors.append(f"{name}: --pool-group must be {POOL_GROUP}")
    env = {e["name"]: e for e in container.get("env", [])}
    if arg_value(args, "--pool-namespace") is None and \
            env.get("NAMESPACE", {}).get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") != "metadata.namespace":
        errors.append(f"{name}: without --pool-namespace the picker needs NAMESPACE from metadata.namespace")
    deprecated = [a for a in args if re.match(r"--(total-queued-requests|total-running-requests|"
                                              r"kv-cache-usage-percentage|lora-info|cache-info)-metric", a)]
    if deprecated:
        errors.append(f"{name}: {deprecated} are refused by the picker since v1.5 (and Tandem needs no override)")
    if image_name(container["image"]) == container["image"] or container["image"].endswith(":latest"):
        errors.append(f"{name}: pin the picker image to a release tag")
    check_security(name, spec, errors)
    check_picker_config(objects, name, spec, container, args, errors)
    check_picker_rbac(objects, name, spec, errors)


def check_picker_config(objects, name, spec, container, args, errors):
    config = arg_value(args, "--config-file")
    mount = next((m for m in container.get("volumeMounts", [])
                  if config and config.startswith(m["mountPath"].rstrip("/") + "/")), None)
    volume = next((v for v in spec.get("volumes", []) if mount and v["name"] == mount["name"]), {})
    cm = find(objects, "ConfigMap", volume.get("configMap", {}).get("name", "")) if volume else None
    key = os.path.basename(config or "")
    if cm is None or key not in cm.get("data", {}):
        errors.append(f"{name}: --config-file {config} is not a key of a mounted ConfigMap")
        return
    picker_config = yaml.safe_load(cm["data"][key])
    if picker_config.get("kind") != "EndpointPickerConfig" or not picker_config.get("schedulingProfiles"):
        errors.append(f"ConfigMap/{cm['metadata']['name']}: {key} must be an EndpointPickerConfig with a profile")
    plugins = {p.get("name", p["type"]) for p in picker_config.get("plugins", [])}
    for profile in picker_config.get("schedulingProfiles", []):
        for ref in profile.get("plugins", []):
            if ref["pluginRef"] not in plugins:
                errors.append(f"ConfigMap/{cm['metadata']['name']}: profile {profile['name']} refers to "
                              f"undeclared plugin {ref['pluginRef']}")


def check_picker_rbac(objects, name, spec, errors):
    account = spec.get("serviceAccountName")
    if find(objects, "ServiceAccount", account or "") is None:
        errors.append(f"{name}: ServiceAccount {account} is not rendered")
        return
    granted = set()
    for binding in find(objects, "RoleBinding"):
        if not any(s.get("kind") == "ServiceAccount" and s["name"] == account for s in binding.get("subjects", [])):
            continue
        role = find(objects, binding["roleRef"]["kind"], binding["roleRef"]["name"])
        for rule in (role or {}).get("rules", []):
            for group in rule.get("apiGroups", []):
                for resource in rule.get("resources", []):
                    for verb in rule.get("verbs", []):
                        granted.add((group, resource, verb))
    for group, resource in (("", "pods"), (POOL_GROUP, "inferencepools")):
        missing = [v for v in ("get", "list", "watch") if (group, resource, v) not in granted]
        if missing:
            errors.append(f"{name}: ServiceAccount {account} may not {missing} {resource}")


def check_images(objects, errors):
    for obj in objects:
        spec = pod_spec(obj)
        for c in all_containers(spec) if spec else []:
            if image_name(c["image"]) == MODEL_SERVER:
                continue
            if ":" not in c["image"].rsplit("/", 1)[-1] and "@" not in c["image"] or c["image"].endswith(":latest"):
                errors.append(f"{object_id(obj)} container {c['name']}: pin image {c['image']} to a release")


def semantic_errors(objects, target):
    errors = []
    ids = {object_id(o) for o in objects}
    errors += [f"{target}: {i} missing" for i in TARGETS[target]["requires"] if i not in ids]
    errors += [f"{target}: {i} must not be rendered" for i in TARGETS[target]["forbids"] if i in ids]
    for check in (check_model_server, check_service_pdb_hpa, check_inference_extension, check_images):
        try:
            check(objects, errors)
        except (KeyError, TypeError, StopIteration, AttributeError) as e:
            errors.append(f"{target}: {check.__name__} could not read the manifests ({type(e).__name__}: {e})")
    return errors


def line_errors(root):
    errors = []
    for folder, _, files in os.walk(root):
        for f in files:
            if f.endswith((".yaml", ".yml", ".md", ".py")):
                path = os.path.join(folder, f)
                with open(path, encoding="utf-8") as fh:
                    for n, line in enumerate(fh, 1):
                        if len(line.rstrip("\n")) > 120:
                            errors.append(f"{os.path.relpath(path, root)}:{n}: longer than 120 columns")
    return errors


def validate(objects, target):
    return schema_errors(objects) + semantic_errors(objects, target)


# ---- broken copies: every check must still be able to fail -------------------------------------------

def _dep(objs, name=MODEL_SERVER):
    return find(objs, "Deployment", name)


def _server(objs):
    return next(c for c in pod_spec(_dep(objs))["containers"] if c["name"] == MODEL_SERVER)


def _env(objs, var):
    return next(e for e in _server(objs)["env"] if e["name"] == var)


def _set_arg(objs, deployment, flag, value):
    args = pod_spec(_dep(objs, deployment))["containers"][0]["args"]
    args[args.index(flag) + 1] = value


BREAKAGES = [
    ("inference-extension", "readiness probe on /healthz", "/health",
     lambda o: _server(o)["readinessProbe"]["httpGet"].__setitem__("path", "/healthz")),
    ("inference-extension", "startup probe on another port", "startupProbe port",
     lambda o: _server(o)["startupProbe"]["httpGet"].__setitem__("port", 8080)),
    ("inference-extension", "writable root filesystem", "readOnlyRootFilesystem",
     lambda o: _server(o)["securityContext"].__setitem__("readOnlyRootFilesystem", False)),
    ("inference-extension", "running as root", "runAsUser 0",
     lambda o: _server(o)["securityContext"].__setitem__("runAsUser", 0)),
    ("inference-extension", "capabilities kept", "capabilities.drop",
     lambda o: _server(o)["securityContext"].pop("capabilities")),
    ("inference-extension", "API key as a literal", "secretKeyRef",
     lambda o: _env(o, "TANDEM_API_KEY").update(value="sk-123")),
    ("inference-extension", "grace period shorter than preStop + drain", "terminationGracePeriodSeconds",
     lambda o: pod_spec(_dep(o)).__setitem__("terminationGracePeriodSeconds", 30)),
    ("inference-extension", "replicas fixed under an HPA", "fights the HorizontalPodAutoscaler",
     lambda o: _dep(o)["spec"].__setitem__("replicas", 3)),
    ("inference-extension", "HPA on another metric", HPA_METRIC,
     lambda o: find(o, "HorizontalPodAutoscaler", MODEL_SERVER)["spec"]["metrics"][0]["pods"]["metric"]
     .__setitem__("name", "tandem_queue_depth")),
    ("inference-extension", "pool selector off the pod labels", "does not match the tandem pods",
     lambda o: find(o, "InferencePool", "tandem")["spec"]["selector"]["matchLabels"]
     .__setitem__("app.kubernetes.io/name", "vllm")),
    ("inference-extension", "pool with the v1alpha2 field", "unknown field",
     lambda o: find(o, "InferencePool", "tandem")["spec"].__setitem__("targetPortNumber", 8000)),
    ("inference-extension", "pool without targetPorts", "targetPorts: required",
     lambda o: find(o, "InferencePool", "tandem")["spec"].pop("targetPorts")),
    ("inference-extension", "picker ref on the health port", "endpointPickerRef port",
     lambda o: find(o, "InferencePool", "tandem")["spec"]["endpointPickerRef"].update(port={"number": 9003})),
    ("inference-extension", "route to a Service instead of the pool", f"must be an {POOL_GROUP} InferencePool",
     lambda o: find(o, "HTTPRoute", "tandem")["spec"]["rules"][0]["backendRefs"][0].update(group="", kind="Service")),
    ("inference-extension", "picker watching another pool", "--pool-name",
     lambda o: _set_arg(o, "tandem-epp", "--pool-name", "other-pool")),
    ("inference-extension", "containerPort as a string (schema)", "containerPort",
     lambda o: _server(o)["ports"][0].__setitem__("containerPort", "8000")),
    ("inference-extension", "misspelt probe field (strict schema)", "livenessProb",
     lambda o: _server(o).__setitem__("livenessProb", _server(o)["livenessProbe"])),
    ("inference-extension", "adapters mounted writable", "mount it readOnly",
     lambda o: next(m for m in _server(o)["volumeMounts"] if m["mountPath"] == ADAPTERS_PATH).pop("readOnly")),
    ("inference-extension", "picker may not watch pods", "may not",
     lambda o: find(o, "Role", "tandem-epp")["rules"].pop(0)),
    ("adapter-sync", "sync sidecar without its startup probe", "needs a startupProbe",
     lambda o: pod_spec(_dep(o))["initContainers"][0].pop("startupProbe")),
    ("adapter-sync", "emptyDir adapters that nothing fills", "needs a sidecar",
     lambda o: pod_spec(_dep(o)).pop("initContainers")),
    ("adapter-sync", "sync sidecar as root", "runAsNonRoot",
     lambda o: pod_spec(_dep(o))["initContainers"][0]["securityContext"].update(runAsNonRoot=False, runAsUser=0)),
]


def self_test(rendered):
    """Each breakage must be refused, with an error that names it."""
    failures = []
    for target, description, expect, mutate in BREAKAGES:
        objs = copy.deepcopy(rendered[target])
        mutate(objs)
        errors = validate(objs, target)
        if not any(expect in e for e in errors):
            failures.append(f"self-test: {description} was not refused with {expect!r} (got {errors[:3]})")
    return failures


def broken_tree_test(root):
    """A copy of the tree with one file broken must fail end to end (rendering included)."""
    with tempfile.TemporaryDirectory() as tmp:
        copy_root = os.path.join(tmp, "deploy")
        shutil.copytree(root, copy_root)
        path = os.path.join(copy_root, "base", "deployment.yaml")
        with open(path, encoding="utf-8") as f:
            text = f.read()
        with open(path, "w", encoding="utf-8") as f:
            f.write(text.replace("path: /health", "path: /healthz", 1))
        objects, _ = render(os.path.join(copy_root, "inference-extension"))
        if not any("/health" in e for e in validate(objects, "inference-extension")):
            return ["self-test: a copy of deploy/ with base/deployment.yaml probing /healthz passed validation"]
    return []


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default=DEPLOY, help="the deploy/ folder to check (default: this one)")
    parser.add_argument("--print", dest="show", metavar="TARGET",
                        help="print the rendered YAML of TARGET (base, ... or a kustomization folder)")
    parser.add_argument("--no-self-test", action="store_true", help="skip the broken-copy checks")
    options = parser.parse_args()
    global ROOT
    ROOT = os.path.abspath(options.root)

    if options.show:
        # A target name (base) or a kustomization folder (deploy/base, or an overlay of your own).
        folder = options.show if os.path.isdir(options.show) else os.path.join(options.root, options.show)
        try:
            objects, how = render(folder)
        except (RenderError, OSError, yaml.YAMLError) as e:
            print(f"deploy/validate.py: {e}", file=sys.stderr)
            return 1
        print(f"# {options.show}: {how}")
        print(yaml.safe_dump_all(objects, sort_keys=False), end="")
        return 0

    passed, failed = 0, 0
    rendered = {}
    print(f"schemas: Kubernetes {' and '.join(K8S_VERSIONS)} (kubernetes-validate {kubernetes_validate.__version__}, "
          "strict), InferencePool v1, HTTPRoute v1 (hand-written)")
    for target in TARGETS:
        try:
            objects, how = render(os.path.join(options.root, target))
        except (RenderError, OSError, yaml.YAMLError) as e:
            print(f"FAIL {target}: {e}")
            failed += 1
            continue
        rendered[target] = objects
        errors = validate(objects, target)
        print(f"{'ok  ' if not errors else 'FAIL'} {target}: {len(objects)} objects, {how}")
        for e in errors:
            print(f"       {e}")
        passed, failed = (passed + 1, failed) if not errors else (passed, failed + 1)

    errors = line_errors(options.root)
    print(f"{'ok  ' if not errors else 'FAIL'} line length: every file under deploy/ within 120 columns")
    for e in errors:
        print(f"       {e}")
    passed, failed = (passed + 1, failed) if not errors else (passed, failed + 1)

    if not options.no_self_test and set(rendered) == set(TARGETS):
        errors = self_test(rendered) + broken_tree_test(options.root)
        print(f"{'ok  ' if not errors else 'FAIL'} self-test: {len(BREAKAGES)} broken copies and one broken "
              "file each refused")
        for e in errors:
            print(f"       {e}")
        passed, failed = (passed + 1, failed) if not errors else (passed, failed + 1)

    print(f"deploy checks: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
