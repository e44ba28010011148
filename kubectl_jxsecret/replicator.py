"""Copies of Secrets in other namespaces, on the cluster: what `replicate` and `copy` share.

Requests, whatever the number of Secrets: one LIST of the sources; per target one GET of the namespace,
one LIST of its replicas (label selector, full objects, to compare content) and one metadata-only LIST
of its Secret names (to find foreign Secrets in the way without reading their data). Then one write per
copy that is created, changed or pruned, 8 in flight; nothing for a copy that is up to date. A write that
meets a concurrent change (409) reads that one Secret again, plans again and retries. A target that
cannot be read or written is reported and the others are still done.
"""

from concurrent.futures import ThreadPoolExecutor

from .errors import JxSecretError, KubeError
from .model.replication import REPLICA_LABEL, Action, Step, Target, plan_target

IN_FLIGHT = 8
CONFLICT_RETRIES = 4


class Outcome:
    """What a run did (or, dry, would do): every step, which failed, and whole targets that failed."""

    def __init__(self, notes: list[str] | None = None, dry_run: bool = False):
        self.notes, self.dry_run = notes or [], dry_run
        self.steps: list[Step] = []
        self.errors: dict[int, str] = {}  # id(step) -> why its write failed
        self.untried: set[int] = set()  # id(step) of writes not sent: their API server stopped answering
        self.failed_targets: dict[Target, str] = {}
        self.created_namespaces: list[Target] = []

    def error_of(self, step: Step) -> str:
        return self.errors.get(id(step), "")

    @property
    def failed(self) -> bool:
        return bool(self.errors or self.untried or self.failed_targets)

    @property
    def writes(self) -> int:
        return sum(1 for s in self.steps if s.action.writes and not self.error_of(s))


def read_sources(kube, namespace: str, selector: str | None, names: list[str]) -> list[dict]:
    """The Secrets to copy: those of `namespace` matching `selector`, or named. A missing name is an error
    before anything is written."""
    query = {"labelSelector": selector} if selector else {}
    found = sorted(kube.list(f"/api/v1/namespaces/{namespace}/secrets", query), key=lambda s: s["metadata"]["name"])
    for s in found:
        s["metadata"].setdefault("namespace", namespace)
    if names:
        by_name = {s["metadata"]["name"]: s for s in found}
        missing = [n for n in names if n not in by_name]
        if missing:
            extra = f" with labels {selector}" if selector else ""
            raise JxSecretError(f"no Secret {', '.join(missing)} in namespace {namespace}{extra}: nothing copied")
        found = [by_name[n] for n in dict.fromkeys(names)]
    if not found:
        raise JxSecretError(f"no Secrets with labels {selector} in namespace {namespace}: nothing to copy")
    return found


def owned_by_eso(secret: dict) -> bool:
    return any(ref.get("kind") == "ExternalSecret" for ref in secret["metadata"].get("ownerReferences") or [])


def namespace_state(kube, namespace: str) -> str:
    """"present", "missing", or "unknown" (the user may not read namespaces: the writes will tell)."""
    try:
        kube.get(f"/api/v1/namespaces/{namespace}")
        return "present"
    except KubeError as e:
        if e.status == 404:
            return "missing"
        if e.status == 403:
            return "unknown"
        raise


def read_target(kube, namespace: str) -> dict[str, dict]:
    """name -> what the namespace holds under that name: full replicas, metadata of everything else."""
    from .kube.client import METADATA_ONLY

    path = f"/api/v1/namespaces/{namespace}/secrets"
    held = {s["metadata"]["name"]: s for s in kube.list(path, accept=METADATA_ONLY)}
    held.update({s["metadata"]["name"]: s for s in kube.list(path, {"labelSelector": f"{REPLICA_LABEL}=true"})})
    return held


def replicate(kubes: dict, sources: list[dict], targets: list[Target], from_namespace: str, *, force=False,
              prune=False, dry_run=False, create_namespace=False) -> Outcome:
    """Plan every target, then (unless dry) write what differs. `kubes`: context (None = the command's) -> Kube."""
    outcome = Outcome(dry_run=dry_run)
    planned: list[tuple[Target, list[Step]]] = []

    def plan_one(target):
        kube = kubes[target.context]
        created = False
        try:
            state = namespace_state(kube, target.namespace)
            if state == "missing":
                if not create_namespace:
                    why = f"namespace {target.namespace} does not exist (--create-namespace creates it)"
                    return target, None, why, False
                if not dry_run:
                    kube.request("POST", "/api/v1/namespaces",
                                 body={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": target.namespace}})
                created, held = True, {}
            else:
                held = read_target(kube, target.namespace)
        except KubeError as e:
            return target, None, str(e), created
        return target, plan_target(target, sources, held, from_namespace, force, prune), "", created

    with ThreadPoolExecutor(max_workers=IN_FLIGHT) as pool:
        for target, steps, error, created in pool.map(plan_one, targets):
            if created:
                outcome.created_namespaces.append(target)
            if error:
                outcome.failed_targets[target] = error
            else:
                planned.append((target, steps))
    outcome.steps = [s for _, steps in planned for s in steps]
    if dry_run:
        return outcome

    unreachable = set()  # contexts whose API server stopped answering: hundreds of writes would each fail

    def write_one(step):
        if step.target.context in unreachable:
            return step, None
        try:
            write(kubes[step.target.context], step, sources, from_namespace, force)
            return step, ""
        except KubeError as e:
            if e.status is None:  # no answer at all
                unreachable.add(step.target.context)
            return step, str(e)

    with ThreadPoolExecutor(max_workers=IN_FLIGHT) as pool:
        for step, error in pool.map(write_one, [s for s in outcome.steps if s.action.writes]):
            if error is None:
                outcome.untried.add(id(step))
            elif error:
                outcome.errors[id(step)] = error
    return outcome


def write(kube, step: Step, sources: list[dict], from_namespace: str, force: bool) -> None:
    """One step's write; on a conflict, read that Secret again, plan it again, and retry."""
    path = f"/api/v1/namespaces/{step.target.namespace}/secrets"
    current = step
    for attempt in range(CONFLICT_RETRIES):
        try:
            if current.action is Action.CREATE:
                kube.request("POST", path, body=current.body)
            elif current.action is Action.UPDATE:
                update(kube, f"{path}/{current.name}", current)
            elif current.action is Action.PRUNE:
                kube.request("DELETE", f"{path}/{current.name}",
                             body={"kind": "DeleteOptions", "apiVersion": "v1",
                                   "preconditions": {"resourceVersion": current.resource_version}})
            step.action = current.action  # what was finally done
            return
        except KubeError as e:
            if e.status == 404 and current.action is Action.CREATE:
                raise KubeError(f"namespace {step.target.namespace} does not exist (--create-namespace creates it)",
                                404) from None
            if e.status not in (409, 404) or attempt == CONFLICT_RETRIES - 1:
                raise
        try:
            held = {step.name: kube.get(f"{path}/{step.name}")}
        except KubeError as e:
            if e.status != 404:
                raise
            held = {}
        mine = [s for s in sources if s["metadata"]["name"] == step.name]
        again = plan_target(step.target, mine, held, from_namespace, force, prune=current.action is Action.PRUNE)
        if not again or not again[0].action.writes:
            step.action = again[0].action if again else Action.UNCHANGED
            step.reason = "changed by someone else meanwhile" if again else "already gone"
            return
        current = again[0]


def update(kube, path: str, step: Step) -> None:
    """PUT with the resourceVersion as precondition. A Secret's type cannot change in place: then delete
    (same precondition) and create."""
    try:
        kube.request("PUT", path, body=step.body)
    except KubeError as e:
        if e.status != 422 or "type" not in str(e):
            raise
        kube.request("DELETE", path, body={"kind": "DeleteOptions", "apiVersion": "v1",
                                           "preconditions": {"resourceVersion": step.resource_version}})
        body = dict(step.body, metadata={k: v for k, v in step.body["metadata"].items() if k != "resourceVersion"})
        kube.request("POST", path.rsplit("/", 1)[0], body=body)



def connect_all(kube_flags, contexts) -> dict:
    """The command's Kube (key None) and one per other kubeconfig context copies go through."""
    from .kube.client import Kube, connect
    from .kube.kubeconfig import load
    from .model.duration import parse_duration

    kubes = {None: connect(kube_flags)}
    for context in sorted(set(contexts)):
        kc = load(kubeconfig_flag=kube_flags.kubeconfig, context_flag=context)
        kubes[context] = Kube(kc, parse_duration(kube_flags.request_timeout, "--request-timeout"))
    return kubes


def eso_note(sources: list[dict]) -> list[str]:
    made = [s["metadata"]["name"] for s in sources if owned_by_eso(s)]
    if not made:
        return []
    shown = ", ".join(made[:5]) + (f" and {len(made) - 5} more" if len(made) > 5 else "")
    return [f"{shown}: made by ESO; the copies are plain Secrets with today's values, which ESO does not manage "
            "(run this again after a change)"]


def run_command(options, env) -> int:
    """replicate's and copy's run(): their Options validated, completed and run, the outcome rendered."""
    from . import output

    options.validate()
    options.complete()
    outcome = options.run()
    output.render_replication(outcome, env)
    return exit_status(outcome)


def exit_status(outcome: Outcome) -> int:
    """0 every copy in place, 1 a target or write failed, 3 a foreign Secret kept a copy out."""
    from .errors import ExitStatus

    if outcome.failed:
        return ExitStatus.ERROR
    if any(s.action is Action.SKIP_FOREIGN for s in outcome.steps):
        return ExitStatus.NOT_POPULATED
    return ExitStatus.OK
