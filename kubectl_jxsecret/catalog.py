"""Which store paths the selected ExternalSecrets read, named as export files name them
(model.transfer.file_path), with the ExternalSecrets that read each: what import and export share.

One GET per (Cluster)SecretStore; no store is connected to here.
"""

from .errors import JxSecretError
from .model.externalsecret import ExternalSecret
from .model.plan import Destination, StoreRef, destinations_of
from .model.transfer import file_path


class Entry:
    def __init__(self, destination: Destination):
        self.destination = destination  # where a write to this path goes (the first ExternalSecret's spelling)
        self.readers: list[ExternalSecret] = []


class Catalog:
    def __init__(self):
        self.entries: dict[str, Entry] = {}  # file path -> entry
        self.paths: dict[Destination, str] = {}  # and back
        self.problems: list[str] = []  # stores that could not be looked up, and why

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
