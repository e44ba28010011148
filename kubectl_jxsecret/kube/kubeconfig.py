"""kubeconfig resolution with kubectl's rules (client-go clientcmd), stdlib + PyYAML only.

This sits on the fast path (completion, --help of subcommands, every command's start-up), so it must
never import kubernetes, hvac or questionary, and imports PyYAML only for a file that
model.block_yaml cannot read. The python client gets the same path list and context from here; it does
not pick its own (its current-context merge is last-wins, see notes/ecosystem.md 4.2).
"""

import copy
import os
from collections.abc import Mapping, Sequence
from typing import NamedTuple

from ..errors import ConfigError
from ..model import block_yaml

# (list key, entry key) of the three named sections, in kubeconfig order.
_SECTIONS = (("clusters", "cluster"), ("contexts", "context"), ("users", "user"))
# Fields holding file paths that clientcmd resolves against the defining file's directory.
_PATH_FIELDS = {"cluster": ("certificate-authority",), "user": ("client-certificate", "client-key", "tokenFile")}


def kubeconfig_paths(flag: str | None, env: Mapping[str, str], home: str) -> list[str]:
    """The files kubectl would read, in priority order."""
    if flag:
        # An explicit --kubeconfig is never merged and must exist (kubectl: "stat ...: no such file").
        if not os.path.exists(flag):
            raise ConfigError(f"kubeconfig {flag} (from --kubeconfig) does not exist: fix the path")
        return [flag]
    value = env.get("KUBECONFIG", "")
    if value:
        # Like clientcmd: a set KUBECONFIG never falls back to ~/.kube/config, even if all entries are missing.
        return list(dict.fromkeys(p for p in value.split(os.pathsep) if p))
    return [os.path.join(home, ".kube", "config")]


def _resolve_paths(kind: str, body: dict, path: str) -> None:
    base = os.path.dirname(os.path.abspath(path))
    exec_ = body.get("exec") if kind == "user" else None
    exec_ = exec_ if isinstance(exec_, dict) else {}
    for field, holder in [(f, body) for f in _PATH_FIELDS.get(kind, ())] + [("command", exec_)]:
        if not isinstance(holder.get(field) or "", str):  # `client-key: 5`: kubectl refuses the file too
            raise ConfigError(f"kubeconfig {path}: {kind} field '{field}' must be a string: fix the file")
    for field in _PATH_FIELDS.get(kind, ()):
        value = body.get(field)
        if value and not os.path.isabs(value):
            body[field] = os.path.join(base, value)
    # A bare exec command ("aws") is looked up on PATH; only one with a slash is relative to the file.
    if "/" in (exec_.get("command") or "") and not os.path.isabs(exec_["command"]):
        exec_["command"] = os.path.join(base, exec_["command"])


def merge(configs: Sequence[tuple[str, dict]]) -> dict:
    """Merge parsed kubeconfigs: the first file naming an entry wins it whole (no field merge)."""
    merged: dict = {"clusters": [], "contexts": [], "users": [], "current-context": ""}
    seen: dict[str, set] = {section: set() for section, _ in _SECTIONS}
    for path, config in configs:
        for section, kind in _SECTIONS:
            entries = config.get(section) or []
            if not isinstance(entries, list):
                raise ConfigError(f"kubeconfig {path}: '{section}' must be a list: fix the file")
            in_file: set = set()
            for entry in entries:
                if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
                    raise ConfigError(f"kubeconfig {path}: every entry of '{section}' needs a name: fix the file")
                name = entry["name"]
                if name in in_file:  # clientcmd refuses duplicates inside one file
                    raise ConfigError(f'kubeconfig {path}: duplicate {kind} "{name}": remove one of them')
                in_file.add(name)
                if name in seen[section]:
                    continue  # shadowed by an earlier file
                seen[section].add(name)
                entry = copy.deepcopy(entry)
                body = entry.get(kind)
                if not isinstance(body, dict):
                    body = entry[kind] = {}
                _resolve_paths(kind, body, path)
                merged[section].append(entry)
        if not merged["current-context"]:
            merged["current-context"] = config.get("current-context") or ""
    return merged


def _entry(merged: dict, section: str, kind: str, name: str) -> dict | None:
    for entry in merged.get(section, ()):
        if entry["name"] == name:
            return entry[kind]
    return None


class Kubeconfig(NamedTuple):
    paths: tuple[str, ...]  # the files that were actually read, in order
    merged: dict
    context: str
    namespace: str
    namespace_from_flag: bool

    def _context(self) -> dict:
        return _entry(self.merged, "contexts", "context", self.context) or {}

    def cluster(self) -> dict:
        return _entry(self.merged, "clusters", "cluster", self._context().get("cluster", "")) or {}

    def user(self) -> dict:
        return _entry(self.merged, "users", "user", self._context().get("user", "")) or {}

    def contexts(self) -> list[str]:
        return [entry["name"] for entry in self.merged["contexts"]]


def _read(path: str) -> dict | None:
    """Parse one file; None if it does not exist (kubectl skips missing KUBECONFIG entries)."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        return None
    except OSError as e:
        raise ConfigError(f"cannot read kubeconfig {path}: {e.strerror}: check its permissions") from None
    except UnicodeDecodeError:
        raise ConfigError(f"kubeconfig {path} is not UTF-8 text: fix or remove the file") from None
    try:
        data = block_yaml.load(text)  # what kubectl writes, without PyYAML's import (~10 ms)
    except block_yaml.Unsupported:
        data = _parse_yaml(text, path)  # anything else, and every error message, is PyYAML's
    if data is None:
        return {}  # an empty file is an empty config, as in kubectl
    if not isinstance(data, dict):
        raise ConfigError(f"kubeconfig {path} is not a YAML mapping: fix or remove the file")
    return data


def _parse_yaml(text: str, path: str):
    import yaml

    # The C loader is ~10x faster on big kubeconfigs; fall back where libyaml is missing.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        return yaml.load(text, Loader=loader)
    except RecursionError:
        raise ConfigError(f"kubeconfig {path} is nested too deeply: fix or remove the file") from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise ConfigError(f"kubeconfig {path}{where} is not valid YAML: fix or remove the file") from None


def load(kubeconfig_flag=None, context_flag=None, namespace_flag=None, env=os.environ, home=None) -> Kubeconfig:
    home = home if home is not None else os.path.expanduser("~")
    loaded = [(p, c) for p in kubeconfig_paths(kubeconfig_flag, env, home) if (c := _read(p)) is not None]
    if not loaded:
        raise ConfigError("no kubeconfig found: set KUBECONFIG or pass --kubeconfig")
    paths = tuple(p for p, _ in loaded)
    where = ", ".join(paths)
    merged = merge(loaded)
    name = context_flag or merged["current-context"]
    if not name:
        raise ConfigError(f"no current context in {where}: pass --context or run kubectl config use-context")
    ctx = _entry(merged, "contexts", "context", name)
    if ctx is None:
        raise ConfigError(f'context "{name}" not found in {where}: see kubectl config get-contexts')
    for section, kind in (("clusters", "cluster"), ("users", "user")):
        ref = ctx.get(kind) or ""
        if not ref or _entry(merged, section, kind, ref) is None:
            raise ConfigError(f'context "{name}" refers to {kind} "{ref}" which is not defined in {where}: '
                              f"fix the context or add the {kind}")
    namespace = namespace_flag or ctx.get("namespace") or "default"
    if not isinstance(namespace, str):  # `namespace: 5` would become part of every request path
        raise ConfigError(f'context "{name}" in {where}: its namespace must be a string: fix the file')
    return Kubeconfig(paths, merged, name, namespace, bool(namespace_flag))
