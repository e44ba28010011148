"""The end every filling command shares (edit, import, populate, rotate): read what each
store path holds, make sure the store would take the write, plan, write each changed path once
(merged), then have ESO sync the ExternalSecrets that read those paths and say which are populated.

Nothing is written before every path has been read and every store has said it would accept the
write: a sealed Vault, a read-only token or an RBAC refusal stops the command before the first write.
"""

import contextlib
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

from . import output
from .errors import ExitStatus, JxSecretError, KubeError
from .model.externalsecret import ExternalSecret
from .model.status import State
from .model.plan import Change, Destination, PathPlan, StoreRef, plan
from .resync import refresh
from .scan import Selection, collect, discover


# Requests in flight at once: a tunnelled request costs ~20 ms of round trips, not work.
PARALLEL = 8


class Stores(contextlib.ExitStack):
    """Each store opened once per command, on first use (a Vault tunnel is opened once), closed together."""

    def __init__(self, kube, vault_flags: dict, environ, stderr=sys.stderr):
        super().__init__()
        self.kube, self.vault_flags, self.environ, self.stderr = kube, vault_flags, environ, stderr
        self._open = {}

    def __getitem__(self, ref: StoreRef):
        from .stores import open_store

        if ref not in self._open:
            self._open[ref] = self.enter_context(open_store(self.kube, ref.kind, ref.name, ref.namespace or "default",
                                                            self.vault_flags, self.environ, self.stderr))
        return self._open[ref]

    def read(self, destination: Destination) -> dict[str, str] | None:
        return self[destination.store].read(destination.key)


def read_all(stores: Stores, destinations: list[Destination]) -> dict[Destination, dict[str, str] | None]:
    """What each of `destinations` holds now, read in parallel."""
    for ref in sorted({d.store for d in destinations}):
        stores[ref]  # opened one by one (a tunnel each), before the reads fan out
    with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
        return dict(zip(destinations, pool.map(stores.read, destinations)))


def prepare(stores: Stores, wanted: dict[Destination, dict[str, str]], current=None) -> list[PathPlan]:
    """The plan for `wanted`, after reading each path (unless `current` has it) and checking each store
    would accept the writes it needs. Raises a StoreError before anything is written."""
    current = dict(current or {})
    current.update(read_all(stores, [d for d in wanted if d not in current]))
    plans = plan(wanted, current)
    keys_by_store: dict[StoreRef, list[str]] = {}
    for p in plans:
        if p.needs_write:
            keys_by_store.setdefault(p.destination.store, []).append(p.destination.key)
    for store, keys in keys_by_store.items():
        stores[store].check_writable(keys)
    return plans


class Written(NamedTuple):
    plan: PathPlan
    error: str = ""  # why the write failed; "" when it was written
    unconfirmed: bool = False  # failed, and the path could not be read back: the write may have landed
    tried: bool = True  # False: not sent, its store had stopped answering


def write(stores: Stores, plans: list[PathPlan]) -> list[Written]:
    """One merged write per path that changes; a failure is recorded and the others still go ahead, unless the
    store stopped answering: then the writes to it not yet sent are not tried (hundreds of paths would each
    fail, 30 s apiece when it hangs). Paths of one store are written in parallel where the store allows
    (`parallel_writes`: Vault paths are independent; a fake store is one object, so its writes would only
    collide)."""
    failing: set[StoreRef] = set()

    def one(p: PathPlan) -> Written:
        if p.destination.store in failing:
            return Written(p, "not tried: the store stopped answering", tried=False)
        changed = {k: v for k, v in p.values.items() if p.changes[k] is not Change.UNCHANGED}
        try:
            stores[p.destination.store].write(p.destination.key, changed)
            return Written(p)
        except JxSecretError as e:
            return read_back(p, changed, str(e))

    def read_back(p: PathPlan, changed: dict, error: str) -> Written:
        """A failed write, as the path now tells: a cut connection (a tunnel whose pod or API server went away)
        can lose the answer of a write that landed."""
        try:
            now = stores.read(p.destination) or {}
        except JxSecretError:
            failing.add(p.destination.store)
            return Written(p, error, unconfirmed=True)
        return Written(p) if all(now.get(k) == v for k, v in changed.items()) else Written(p, error)

    by_store: dict[StoreRef, list[PathPlan]] = {}
    for p in plans:
        if p.needs_write:
            by_store.setdefault(p.destination.store, []).append(p)
    results = []
    for ref, store_plans in by_store.items():
        with ThreadPoolExecutor(max_workers=getattr(stores[ref], "parallel_writes", 1)) as pool:
            results += pool.map(one, store_plans)
    return results


def readers_of(externalsecrets: list[ExternalSecret], destinations) -> dict[Destination, list[ExternalSecret]]:
    """Which of `externalsecrets` read each of `destinations`: the ones to force-sync after a write there."""
    from .model.plan import destinations_of

    reads = [(es, set(destinations_of(es))) for es in externalsecrets]
    return {d: [es for es, paths in reads if d in paths] for d in destinations}


def finish(kube, written: list[Written], readers: dict[Destination, list[ExternalSecret]], timeout: float,
           env) -> int:
    """After the writes: force-sync the ExternalSecrets that read a written path, wait, and report
    which of them are populated now. The exit status of the whole command."""
    ok = [w for w in written if not w.error]
    affected = {(es.namespace, es.name): es for w in ok for es in readers.get(w.plan.destination, [])}
    done = True
    if affected:
        try:
            outcome = refresh(kube, sorted(affected.values(), key=lambda e: (e.namespace, e.name)), timeout,
                              output.SyncLog(env))
        except KubeError as e:  # the API server went away, or RBAC allows no force-sync: the writes stand
            raise KubeError(f"could not force-sync the ExternalSecrets that read what was written: {e}; ESO syncs "
                            "them at their refreshInterval, or run kubectl jxsecret refresh", e.status) from None
        output.render_sync_outcome(outcome, env)
        namespaces = {ns for ns, _ in affected}
        # In their one namespace when they share it: a user may have no right to list across namespaces.
        within = namespaces.pop() if len(namespaces) == 1 else None
        report = collect(kube, discover(kube), Selection(namespace=within, only=frozenset(affected)))
        output.render_populated(report.verdicts, env)
        # Done when ESO took the new values in: a Stale Secret still holds the old ones.
        done = outcome.synced and all(v.state is State.POPULATED for v in report.verdicts)
    if len(ok) < len(written):
        return ExitStatus.ERROR
    return ExitStatus.OK if done else ExitStatus.NOT_POPULATED
