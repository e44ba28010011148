"""What generators and templates read from the cluster and the stores (populate, rotate): Secret keys,
values behind other ExternalSecrets, the jx-boot Secret, and jx-requirements.yml.

Values read here are kept in memory for the run and never printed; what is missing is a TemplateError
(or generators.Unavailable) naming the Secret, ExternalSecret and key, never a silent "".
"""

import base64
from pathlib import Path

from .errors import KubeError
from .model.externalsecret import ExternalSecret
from .model.generators import Unavailable
from .model.plan import refs_of
from .model.templates import Lookup, TemplateError

REQUIREMENTS = "jx-requirements.yml"


class SecretReader:
    """Secret keys by (namespace, name), each Secret fetched once."""

    def __init__(self, kube):
        self.kube, self._secrets = kube, {}

    def key(self, namespace: str, name: str, key: str) -> str | None:
        """The key's value; None when the Secret or the key is absent or empty."""
        if (namespace, name) not in self._secrets:
            try:
                self._secrets[(namespace, name)] = self.kube.get(f"/api/v1/namespaces/{namespace}/secrets/{name}")
            except KubeError as e:
                if e.status != 404:
                    raise
                self._secrets[(namespace, name)] = None
        secret = self._secrets[(namespace, name)]
        encoded = ((secret or {}).get("data") or {}).get(key)
        return base64.b64decode(encoded).decode("utf-8") if encoded else None


class GitOperator:
    """The gitOperator.* generators: keys `username` / `password` of Secret jx-boot."""

    def __init__(self, secrets: SecretReader, namespace: str):
        self.secrets, self.namespace = secrets, namespace

    def __call__(self, key: str) -> str:
        value = self.secrets.key(self.namespace, "jx-boot", key)
        if value is None:
            raise Unavailable(f"Secret {self.namespace}/jx-boot has no {key} (--boot-secret-namespace to look "
                              "elsewhere)")
        return value


class ClusterLookup(Lookup):
    """Template lookups for an ExternalSecret in `namespace`: `secret` reads Secrets (a name without
    `ns.` is in that namespace); `extsecret` reads the store value behind the named ExternalSecret's
    data[] entry with that secretKey, preferring what this run has `planned` to write there."""

    def __init__(self, kube, secrets: SecretReader, stores, known: list[ExternalSecret], planned: dict, current: dict,
                 namespace: str):
        self.kube, self.secrets, self.stores, self.planned, self.current = kube, secrets, stores, planned, current
        self.known = {(es.namespace, es.name): es for es in known}
        self.namespace = namespace

    def secret(self, namespace: str, name: str, key: str) -> str:
        namespace = namespace or self.namespace
        value = self.secrets.key(namespace, name, key)
        if value is None:
            raise TemplateError(f"Secret {namespace}/{name} has no value for {key}")
        return value

    def extsecret(self, name: str, key: str) -> str:
        es = self.external_secret(name)
        ref = next((r for r in refs_of(es)[0] if r.secret_key == key), None)
        if ref is None:
            raise TemplateError(f"ExternalSecret {self.namespace}/{name} has no data entry {key} with a property")
        planned = self.planned.get((ref.destination, ref.property))
        if planned:
            return planned
        if ref.destination not in self.current:
            self.current[ref.destination] = self.stores.read(ref.destination)
        value = (self.current[ref.destination] or {}).get(ref.property)
        if not value:
            raise TemplateError(f"the store holds no value for {self.namespace}/{name}.{key} "
                                f"({ref.destination} {ref.property})")
        return value

    def external_secret(self, name: str) -> ExternalSecret:
        found = self.known.get((self.namespace, name))
        if found is not None:
            return found
        api_version = next(iter(self.known.values())).api_version if self.known else "external-secrets.io/v1"
        try:
            raw = self.kube.get(f"/apis/{api_version}/namespaces/{self.namespace}/externalsecrets/{name}")
        except KubeError as e:
            if e.status != 404:
                raise
            raise TemplateError(f"no ExternalSecret {self.namespace}/{name}") from None
        raw.setdefault("apiVersion", api_version)
        self.known[(self.namespace, name)] = found = ExternalSecret(raw)
        return found


def requirements(start: str) -> tuple[dict, str]:
    """Template data from the first jx-requirements.yml in `start` or a directory above it: ({"Requirements":
    its spec (or the whole file for the old layout), with jx's defaults}, the file) or ({}, "")."""
    import yaml

    here = Path(start).resolve()
    for directory in (here, *here.parents):
        path = directory / REQUIREMENTS
        if path.is_file():
            try:
                doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            except (OSError, yaml.YAMLError) as e:
                raise TemplateError(f"cannot read {path}: {e}") from None
            spec = doc.get("spec", doc) if isinstance(doc, dict) else {}
            spec = dict(spec) if isinstance(spec, dict) else {}
            spec.setdefault("storage", {})
            cluster = spec["cluster"] = dict(spec.get("cluster") or {})
            cluster.setdefault("registry", "")
            return {"Requirements": spec}, str(path)
    return {}, ""


def makers(kube, stores, known: list[ExternalSecret], current: dict, planned: dict, boot_namespace: str,
           start_dir: str):
    """(generate(prop), render(target)) for model.populate.decide, reading the cluster and the stores."""
    from .model import generators, templates

    secrets = SecretReader(kube)
    git_operator = GitOperator(secrets, boot_namespace)
    data, found = None, ""

    def generate(prop):
        return generators.generate(prop, git_operator)

    def render(target):
        nonlocal data, found
        if data is None:  # the file is looked for when a template first needs it
            data, found = requirements(start_dir)
        lookup = ClusterLookup(kube, secrets, stores, known, planned, current, target.ref.namespace)
        try:
            return templates.render(target.prop.template, lookup, data)
        except TemplateError as e:
            if ".Requirements" in str(e) and not found:
                raise TemplateError(f"{e}: no {REQUIREMENTS} in {start_dir} or a directory above it (--dir)") from None
            raise

    return generate, render
