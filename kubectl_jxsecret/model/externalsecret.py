"""ExternalSecret over every API we serve: ESO `external-secrets.io` v1/v1beta1 and the legacy
Kubernetes External Secrets `kubernetes-client.io/v1`. Keeps the raw dict (kr8s style) and
exposes what verify, wait and edit argue about. Malformed objects never raise: a missing field
reads as empty, so one broken object cannot stop a run over thousands.
"""

from typing import NamedTuple

ESO_GROUP = "external-secrets.io"
KES_GROUP = "kubernetes-client.io"
SCHEMA_ANNOTATION = "secret.jenkins-x.io/schema-object"


class Api(NamedTuple):
    group: str
    version: str
    plural: str = "externalsecrets"

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}"

    @property
    def legacy(self) -> bool:
        return self.group == KES_GROUP

    def path(self, namespace: str | None = None) -> str:
        scope = f"/namespaces/{namespace}" if namespace else ""
        return f"/apis/{self.group}/{self.version}{scope}/{self.plural}"


def served_resources(discovery: dict) -> dict[tuple[str, str], set[str]]:
    """(group, version) -> resource names, from an aggregated discovery answer (APIGroupDiscoveryList).

    A group version is not enough: ESO's group serves v1 for its stores even where ExternalSecret
    itself is only served as v1beta1, so we look at the resources of each version.
    """
    served = {}
    for group in discovery.get("items") or []:
        name = (group.get("metadata") or {}).get("name", "")
        for version in group.get("versions") or []:
            served[(name, version.get("version", ""))] = {r.get("resource") for r in version.get("resources") or []}
    return served


def pick_apis(served: dict[tuple[str, str], set[str]]) -> list[Api]:
    """The ExternalSecret APIs to list: ESO `v1` when served (ESO >= 0.16), else `v1beta1` (both show
    the same objects, so only one), plus the legacy KES API when its CRD is installed."""
    apis = []
    for version in ("v1", "v1beta1"):
        if "externalsecrets" in served.get((ESO_GROUP, version), ()):
            apis.append(Api(ESO_GROUP, version))
            break
    if "externalsecrets" in served.get((KES_GROUP, "v1"), ()):
        apis.append(Api(KES_GROUP, "v1"))
    return apis


def _dict(value) -> dict:
    return value if isinstance(value, dict) else {}


def _list(value) -> list:
    return value if isinstance(value, list) else []


class Condition(NamedTuple):
    status: str  # "True" | "False" | "Unknown"
    reason: str
    message: str


class ExternalSecret:
    def __init__(self, raw: dict):
        self.raw = raw
        self.meta = _dict(raw.get("metadata"))
        self.spec = _dict(raw.get("spec"))
        self.status = _dict(raw.get("status"))

    def __repr__(self):
        return f"ExternalSecret({self.namespace}/{self.name}, {self.api_version})"

    @property
    def api_version(self) -> str:
        return str(self.raw.get("apiVersion", ""))

    @property
    def legacy(self) -> bool:
        return self.api_version.startswith(KES_GROUP + "/")

    @property
    def namespace(self) -> str:
        return str(self.meta.get("namespace", ""))

    @property
    def name(self) -> str:
        return str(self.meta.get("name", ""))

    @property
    def uid(self) -> str:
        return str(self.meta.get("uid", ""))

    @property
    def annotations(self) -> dict:
        return _dict(self.meta.get("annotations"))

    @property
    def store(self) -> str:
        """`Kind/name` of the store (ESO), or the backend type (legacy KES)."""
        if self.legacy:
            return str(self.spec.get("backendType", ""))
        ref = _dict(self.spec.get("secretStoreRef"))
        if not ref.get("name"):
            return ""
        return f"{ref.get('kind') or 'SecretStore'}/{ref['name']}"

    @property
    def target_name(self) -> str:
        """The Secret this ExternalSecret writes: `spec.target.name`, defaulting to its own name."""
        if self.legacy:
            return self.name
        return str(_dict(self.spec.get("target")).get("name") or self.name)

    @property
    def expected_keys(self) -> tuple[str, ...] | None:
        """Secret keys that must be present, in spec order; None when the spec cannot tell
        (dataFrom, templateFrom): then every key the Secret has must be non-empty."""
        if self.legacy:
            return tuple(str(d["name"]) for d in _list(self.spec.get("data")) if isinstance(d, dict) and d.get("name"))
        data_keys = tuple(str(d["secretKey"]) for d in _list(self.spec.get("data"))
                          if isinstance(d, dict) and d.get("secretKey"))
        template = _dict(_dict(self.spec.get("target")).get("template"))
        if template.get("templateFrom") or self.spec.get("dataFrom"):
            return None
        if template.get("data"):
            # A template replaces the data keys with its own, unless it merges them in.
            template_keys = tuple(str(k) for k in template["data"])
            if template.get("mergePolicy") == "Merge":
                return template_keys + tuple(k for k in data_keys if k not in template_keys)
            return template_keys
        return data_keys

    @property
    def spec_problem(self) -> str:
        """What makes the spec unusable ("" when nothing does): the operator could never fill its Secret."""
        if not self.spec:
            return "it has no spec"
        data = self.spec.get("data")
        if data is not None and not isinstance(data, list):
            return "spec.data is not a list"
        if self.legacy:
            return "" if data else "spec.data is empty: there is nothing to sync"
        template = _dict(_dict(self.spec.get("target")).get("template"))
        if not (data or self.spec.get("dataFrom") or template.get("data") or template.get("templateFrom")):
            return "spec has neither data nor dataFrom (nor a template): there is nothing to sync"
        return ""

    @property
    def ready(self) -> Condition | None:
        """ESO's Ready condition; for legacy KES, its `status.status` ("SUCCESS" / "ERROR, ...")."""
        if self.legacy:
            text = str(self.status.get("status") or "")
            if not text:
                return None
            if text == "SUCCESS":
                return Condition("True", "SUCCESS", "")
            reason, _, message = text.partition(", ")
            return Condition("False", reason, message)
        for c in _list(self.status.get("conditions")):
            if isinstance(c, dict) and c.get("type") == "Ready":
                return Condition(str(c.get("status", "Unknown")), str(c.get("reason") or ""), str(c.get("message") or ""))
        return None

    @property
    def refresh_time(self) -> str:
        """When the operator last synced it (RFC 3339), or ""."""
        return str(self.status.get("lastSync" if self.legacy else "refreshTime") or "")

    @property
    def schema_annotation(self) -> str:
        return str(self.annotations.get(SCHEMA_ANNOTATION) or "")

    @property
    def mandatory(self) -> bool:
        """Jenkins X marks must-have secrets with `{"mandatory": true}` in the schema annotation."""
        import json

        try:
            schema = json.loads(self.schema_annotation or "{}")
        except ValueError:
            return False
        return isinstance(schema, dict) and schema.get("mandatory") is True
