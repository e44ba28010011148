"""The file layout `export` writes and `import` reads: store paths as nested maps, properties as leaves.

    secret:                        # a Vault/OpenBao path is <mount>/<path>, as ESO resolves remoteRef.key
      knative:
        docker-user-pass:          # -> secret/knative/docker-user-pass
          username: bot
          password: "s3cr3t"
      pipelineUser:                # -> secret/pipelineUser
        token: |
          multi-line values are YAML block scalars

At every level, string values are properties of that level's path and maps are deeper paths; a path
may be written flat too (`secret/knative/docker-user-pass: {...}`). This is the layout Jenkins X's
`jx secret export` wrote, so its files import as they are. Values are taken exactly as written in
the file (an unquoted `0123` stays "0123"); anything but a plain value (a list, an empty value) is an
error naming its line. Pure: no I/O, the caller reads and writes the file.
"""

import yaml

HEADER = ("# kubectl jxsecret export: secret values by store path (<mount>/<path> for Vault/OpenBao).\n"
          "# Keep this file private (it is written 0600) and delete it when the migration is done.\n")


class LayoutError(ValueError):
    """A problem in the file, with the line it is on (1-based) when YAML gives one."""


def parse(text: str, source: str) -> dict[str, dict[str, str]]:
    """path -> {property: value}. Raises LayoutError naming `source` and the line."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except RecursionError:
        raise LayoutError(f"{source}: not valid YAML: nested too deeply") from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"{source}, line {mark.line + 1}" if mark else source
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise LayoutError(f"{where}: not valid YAML: {problem}") from None
    paths: dict[str, dict[str, str]] = {}
    if root is None:
        return paths
    if not isinstance(root, yaml.MappingNode):
        raise LayoutError(f"{source}, line {root.start_mark.line + 1}: expected a map of store paths")
    try:
        _walk(root, [], paths, source, ())
    except RecursionError:
        raise LayoutError(f"{source}: store paths nested too deeply") from None
    return paths


def _walk(node: yaml.MappingNode, path: list[str], paths: dict, source: str, above: tuple) -> None:
    for key_node, value_node in node.value:
        line = f"{source}, line {key_node.start_mark.line + 1}"
        if value_node is node or value_node in above:  # `a: &x {b: *x}`: an alias of a map around it
            raise LayoutError(f"{line}: refers to a map that holds it; expected a value or a map")
        if not isinstance(key_node, yaml.ScalarNode) or not key_node.value.strip("/"):
            raise LayoutError(f"{line}: expected a path segment or property name")
        key = key_node.value.strip("/")
        if isinstance(value_node, yaml.MappingNode):
            _walk(value_node, path + key.split("/"), paths, source, above + (node,))
        elif isinstance(value_node, yaml.ScalarNode) and value_node.tag != "tag:yaml.org,2002:null":
            if not path:
                raise LayoutError(f"{line}: {key!r} is a value at the top level; values belong under a store path")
            properties = paths.setdefault("/".join(path), {})
            if key in properties:
                raise LayoutError(f"{line}: {'/'.join(path)} has {key!r} twice")
            properties[key] = value_node.value
        else:
            what = "an empty value" if isinstance(value_node, yaml.ScalarNode) else "a list"
            raise LayoutError(f"{line}: {'/'.join(path + [key])} is {what}; expected a value or a map")


def render(paths: dict[str, dict[str, str]]) -> str:
    """The nested layout, paths sorted, values as YAML strings (quoted or block scalars as needed)."""
    tree: dict = {}
    for path in sorted(paths):  # a path before its sub-paths
        node, segments = tree, path.strip("/").split("/")
        for i, segment in enumerate(segments):
            if isinstance(node.get(segment), str):  # a property of that name: the rest goes flat,
                node = node.setdefault("/".join(segments[i:]) + "/", {})  # "/" to tell it apart
                break
            node = node.setdefault(segment, {})
        node.update(paths[path])
    return HEADER + yaml.dump(tree, Dumper=_StringDumper, default_flow_style=False, sort_keys=True,
                              allow_unicode=True, width=100)


class _StringDumper(yaml.SafeDumper):
    """Every value a string that reads back as itself: multi-line values as `|` blocks."""


def _represent_str(dumper, value):
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_StringDumper.add_representer(str, _represent_str)


def file_path(provider: str, config: dict, key: str) -> str:
    """How an export file names the store path of `remoteRef.key`: `<mount>/<path>` for Vault and
    OpenBao (ESO's rules, KV v2 unless the store says v1, as ESO assumes), the key itself elsewhere."""
    from .vault import kv_path

    if provider in ("vault", "openBao"):
        return str(kv_path(config.get("path"), config.get("version") or "v2", key))
    return key.strip("/")
