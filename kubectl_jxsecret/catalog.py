"""Which store paths the selected ExternalSecrets read, named as export files name them
(model.transfer.file_path), with the ExternalSecrets that read each: what import and export share.

One GET per (Cluster)SecretStore; no store is connected to here.
"""

from dataclasses import dataclass, field

from .errors import JxSecretError
from .model.externalsecret import ExternalSecret
from .model.plan import Destination, StoreRef, destinations_of
from .model.transfer import file_path


@dataclass
class Entry:
    destination: Destination  # where a write to this path goes (the first ExternalSecret's spelling)
    readers: list[ExternalSecret] = field(default_factory=list)


@dataclass
class Catalog:
    entries: dict[str, Entry] = field(default_factory=dict)  # file path -> entry
    paths: dict[Destination, str] = field(default_factory=dict)  # and back
    problems: list[str] = field(default_factory=list)  # stores that could not be looked up, and why

    def readers(self) -> dict[Destination, list[ExternalSecret]]:
        return {e.destination: e.readers for e in self.entries.values()}


def build(kube, externalsecrets: list[ExternalSecret]) -> Catalog:
    from .stores import get_store, provider_of

    catalog, providers = Catalog(), {}
    for es in externalsecrets:
        for destination in destinations_of(es):
            ref: StoreRef = destination.store
            if ref not in providers:
                try:
                    providers[ref] = provider_of(get_store(kube, ref.kind, ref.name, ref.namespace))
                except JxSecretError as e:
                    providers[ref] = None
                    catalog.problems.append(f"{es.namespace}/{es.name}: {e}")
            if providers[ref] is None:
                continue
            path = catalog.paths[destination] = file_path(*providers[ref], destination.key)
            entry = catalog.entries.setdefault(path, Entry(destination))
            if es not in entry.readers:
                entry.readers.append(es)
    return catalog
