"""Validate and apply ExternalSecrets we made (new, convert): against the cluster's own ESO CRD schema with a
server-side dry run when a cluster is reachable, else against model.convert.builtin_problems.

Apply is create, or a merge patch of what we set when the object exists (fields others set, such as
ESO's force-sync annotation, are kept), as kubectl apply would. A dry run takes the same path with
`dryRun=All`, so what it accepts is what the apply does.
"""

from typing import NamedTuple

from .errors import ConfigError, JxSecretError, KubeError, first_line
from .model.convert import builtin_problems
from .model.externalsecret import ESO_GROUP

VERSION = "v1"


class Validation(NamedTuple):
    kube: object  # the client when the cluster answered, else None
    how: str  # what was used, for the one line that says so


def namespace_of(manifest: dict, kube=None) -> str:
    """The manifest's namespace; where it names none, kubectl's: the context's (or -n), else default."""
    return manifest["metadata"].get("namespace") or (kube.kubeconfig.namespace if kube else "") or "default"


def path_of(manifest: dict, kube, named: bool = False) -> str:
    meta = manifest["metadata"]
    ns = namespace_of(manifest, kube)
    base = f"/apis/{ESO_GROUP}/{VERSION}/namespaces/{ns}/externalsecrets"
    return f"{base}/{meta['name']}" if named else base


def label(manifest: dict, kube=None) -> str:
    return f"{namespace_of(manifest, kube)}/{manifest['metadata']['name']}"


def apply_one(kube, manifest: dict, dry_run: bool) -> tuple[str, dict]:
    """("created" | "configured", the object as the server has it). KubeError for what it refused."""
    query = {"dryRun": "All"} if dry_run else None
    try:
        return "created", kube.request("POST", path_of(manifest, kube), query, body=manifest)
    except KubeError as e:
        if e.status != 409:
            raise KubeError(f"externalsecret {label(manifest, kube)}: {e}", e.status) from None
    try:
        return "configured", kube.request("PATCH", path_of(manifest, kube, named=True), query, body=manifest,
                                          content_type="application/merge-patch+json")
    except KubeError as e:
        raise KubeError(f"externalsecret {label(manifest, kube)}: {e}", e.status) from None


def connect(kube_flags, environ):
    """The cluster of the kube flags (kubectl's rules, from `environ`), or a ConfigError/KubeError."""
    from .kube.client import Kube
    from .kube.kubeconfig import load
    from .model.duration import parse_duration

    kc = load(kubeconfig_flag=kube_flags.kubeconfig, context_flag=kube_flags.context,
              namespace_flag=kube_flags.namespace, env=environ)
    return Kube(kc, parse_duration(kube_flags.request_timeout, "--request-timeout"))


def validate(manifests: list[dict], kube_flags, environ, mode: str, sources: list[str] | None = None,
             why_not: str = "") -> Validation:
    """Check every manifest: mode "server" (dry run, a cluster needed), "local" (built-in rules), or "auto"
    (the dry run when the cluster answers, else the built-in rules). Raises JxSecretError naming the object
    (and its source, when given) for the first refusal; nothing is written either way. `why_not`: why the
    cluster was not asked, for the line that says how they were checked."""
    kube = None
    if mode != "local":
        try:
            kube = connect(kube_flags, environ)
            served = kube.get(f"/apis/{ESO_GROUP}/{VERSION}")
        except (ConfigError, KubeError) as e:
            if isinstance(e, KubeError) and e.status == 404:
                served = {}
            elif mode == "server":
                raise JxSecretError(f"cannot validate against the cluster: {first_line(e)}") from None
            else:
                kube, why_not = None, f"no cluster: {first_line(e)}"
        if kube is not None and "externalsecrets" not in {r.get("name") for r in served.get("resources") or []}:
            raise JxSecretError(f'the cluster (context "{kube.context}") does not serve {ESO_GROUP}/{VERSION} '
                                "ExternalSecrets: install or upgrade the External Secrets Operator (>= 0.16)")
    for i, manifest in enumerate(manifests):
        origin = f" (from {sources[i]})" if sources else ""
        if kube is None:
            problems = builtin_problems(manifest)
            if problems:
                raise JxSecretError(f"externalsecret {label(manifest)}{origin}: {problems[0]}")
        else:
            try:
                apply_one(kube, manifest, dry_run=True)
            except KubeError as e:
                if e.status == 403 and mode == "auto":  # may not create them here: the rules we know, then
                    return validate(manifests, kube_flags, environ, "local", sources, f"dry run forbidden: {e}")
                raise JxSecretError(f"{e}{origin}") from None
    if kube is not None:
        return Validation(kube, f'validated by a server-side dry run (context "{kube.context}")')
    return Validation(None, "validated by the built-in rules" + (f" ({why_not})" if why_not else ""))
