"""`replicate --dir`: the files side of replication, in a GitOps checkout (see model/replica_files.py).

Reads `CONFIG_ROOT/namespaces/<from>/` (sources and Environment files) and each target folder, then
writes only the files whose text would change, each through a temporary file (same mode as its source:
a Secret file stays as private as it was). No cluster access.
"""

import os
import tempfile

import yaml

from .errors import JxSecretError
from .model.replica_files import is_source, plan_files
from .model.replication import Action, Environment, Target, environment_targets
from .replicator import Outcome


def yaml_files(folder: str) -> dict[str, str]:
    """relative path -> text of every .yaml/.yml file under `folder` (none if it does not exist)."""
    found = {}
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        for name in sorted(files):
            if name.endswith((".yaml", ".yml")):
                path = os.path.join(root, name)
                with open(path, encoding="utf-8") as f:
                    found[os.path.relpath(path, folder)] = f.read()
    return found


def documents(text: str) -> list:
    try:
        return [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError:
        return []


def replicate(config_root: str, from_namespace: str, requirements, names, to, exclude, *, force=False, prune=False,
              dry_run=False) -> Outcome:
    source_dir = os.path.join(config_root, "namespaces", from_namespace)
    if not os.path.isdir(source_dir):
        raise JxSecretError(f"{source_dir} is not a folder: pass the config-root of a GitOps repository to --dir")
    files = yaml_files(source_dir)
    sources, environments, notes = {}, [], []
    for path, text in files.items():
        docs = documents(text)
        environments += [Environment.from_object(d) for d in docs
                         if isinstance(d, dict) and d.get("kind") == "Environment"
                         and str(d.get("apiVersion", "")).startswith("jenkins.io/")]
        if len(docs) == 1 and is_source(docs[0], requirements, names):
            sources[path] = docs[0]
        elif len(docs) > 1 and any(is_source(d, requirements, names) for d in docs):
            notes.append(f"{path}: holds {len(docs)} documents; only one-object files are replicated")
    if names:
        missing = sorted(set(names) - {(d.get("metadata") or {}).get("name") for d in sources.values()})
        if missing:
            raise JxSecretError(f"no ExternalSecret or Secret file for {', '.join(missing)} under {source_dir}: "
                                "nothing copied")
    if not sources:
        raise JxSecretError(f"no matching ExternalSecret or Secret files under {source_dir}: nothing to copy")
    if to:
        targets = [Target(ns) for ns in dict.fromkeys(to) if ns not in exclude]
    else:
        targets, skipped = environment_targets(environments, {}, exclude, from_namespace)
        notes += skipped
        if not environments:
            notes.append(f"no Environment files under {source_dir} (pass --to NS)")
    outcome = Outcome(notes=notes, dry_run=dry_run)
    for target in targets:
        folder = os.path.join(config_root, "namespaces", target.namespace)
        outcome.steps += plan_files(target, sources, yaml_files(folder), from_namespace, force, prune)
    if dry_run:
        return outcome
    for step in outcome.steps:
        if step.action.writes:
            try:
                write(os.path.join(config_root, "namespaces", step.target.namespace, step.name), step,
                      os.path.join(source_dir, step.name))
            except OSError as e:
                outcome.errors[id(step)] = f"{e.strerror}: {e.filename}"
    return outcome


def write(path: str, step, source_path: str) -> None:
    if step.action is Action.PRUNE:
        os.remove(path)
        return
    os.makedirs(os.path.dirname(path), exist_ok=True)
    mode = os.stat(source_path).st_mode & 0o777 if os.path.exists(source_path) else 0o644
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".jxsecret-replica-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(step.body["text"])
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
