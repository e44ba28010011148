"""Shell completion through kubectl's plugin completion protocol (kubectl >= 1.26).

kubectl runs `kubectl_complete-jxsecret <words after the plugin name...> <word being completed>`
and reads one candidate per line (`value<TAB>description`), then `:<directive>` (Cobra's bits).
Every stdout line is a candidate, so nothing else may print here; on any internal failure we
still exit 0 with the Error directive, because a non-zero exit makes kubectl fall back to files.

Candidates come from the parser itself (commands, flags, choices), the kubeconfig (contexts) and,
for live names, `kubectl get -o name` (~35 ms; every auth plugin works) instead of importing the
kubernetes client (~0.3-0.7 s).
"""

import argparse
import shutil
import subprocess

# Cobra's ShellCompDirective bits.
DEFAULT, ERROR, NO_SPACE, NO_FILE_COMP = 0, 1, 2, 4
DEADLINE = 1  # seconds for a live lookup, then no candidates
EXTERNALSECRETS = "externalsecrets.external-secrets.io"


def main(words, env, build_parser) -> int:
    """`build_parser(only=COMMAND)` makes the command line's parser with that command's flags (cli passes its
    own: completion never imports cli); only the command being typed is built, as for a run."""
    words = list(words) or [""]
    command = next((w for w in words[:-1] if not w.startswith("-")), "")
    try:
        candidates, directive = complete(build_parser(only=command), words, env.environ)
    except Exception:  # completion must never break the user's shell
        candidates, directive = [], ERROR
    for value, description in candidates:
        env.stdout.write(f"{value}\t{description}\n" if description else f"{value}\n")
    env.stdout.write(f":{directive}\n")
    return 0


def complete(parser, words, environ):
    """(candidates, directive) for `words`, whose last element is the word being completed."""
    *done, current = words
    seen = {" command": ""}  # the command being typed (for values that depend on it), then the flags' values
    expecting = None  # the option action whose value comes next
    for word in done:
        if expecting is not None:
            seen[expecting.dest] = word
            expecting = None
        elif word.startswith("-"):
            name, has_value, value = word.partition("=")
            action = option_actions(parser).get(name)
            if action is not None and takes_value(action):
                if has_value:
                    seen[action.dest] = value
                else:
                    expecting = action
        elif word in subcommands(parser):
            parser = subcommands(parser)[word]
            seen[" command"] = seen[" command"] or word
    if expecting is not None:
        return values_for(expecting, current, "", seen, environ)
    if current.startswith("-") and "=" in current:
        name, _, prefix = current.partition("=")
        action = option_actions(parser).get(name)
        if action is None or not takes_value(action):
            return [], NO_FILE_COMP
        return values_for(action, prefix, f"{name}=", seen, environ)
    if current.startswith("-"):
        return flag_candidates(parser, current), NO_FILE_COMP
    names = next((a for a in parser._actions if a.dest in ("names", "secret_names") and not a.option_strings), None)
    if names is not None:  # verify NAME..., copy NAME...
        return values_for(names, current, "", seen, environ)
    paths = next((a for a in parser._actions if a.dest == "paths" and not a.option_strings), None)
    if paths is not None:  # convert PATH...
        return values_for(paths, current, "", seen, environ)
    return [(name, help) for name, help in listed_subcommands(parser) if name.startswith(current)], NO_FILE_COMP


def subcommands(root):
    for action in root._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def listed_subcommands(parser):
    """(name, help) of each subcommand, without aliases (they still work when typed)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return [(choice.dest, choice.help or "") for choice in action._choices_actions]
    return []


def option_actions(parser):
    return {opt: action for action in parser._actions for opt in action.option_strings}


def takes_value(action):
    return action.nargs != 0


def flag_candidates(parser, current):
    out = []
    for action in parser._actions:
        if action.help == argparse.SUPPRESS:
            continue
        long_names = [o for o in action.option_strings if o.startswith("--")] or action.option_strings
        for opt in long_names:
            if opt.startswith(current):
                out.append((opt, (action.help or "").split(" (default")[0]))
    return out


def values_for(action, prefix, insert, seen, environ):
    """Values for an option: its choices, or live names for the kubectl flags."""
    if action.choices:
        values = [str(c) for c in action.choices]
    elif action.dest in ("kubeconfig", "file", "schema", "schema_dir", "dir", "config_root", "vault_ca_cert", "paths"):
        return [], DEFAULT  # a file path: let the shell complete files
    elif action.dest == "context":
        values = contexts(seen, environ)
    elif action.dest == "to" and seen.get(" command") == "replicate":  # replicate's targets: the Environments'
        values = permanent_environment_namespaces(seen, environ)
    elif action.dest in ("namespace", "from_namespace", "to", "exclude"):
        values = kubectl_names("namespaces", seen, environ)
    elif action.dest in ("secret_names", "name"):  # copy NAME..., replicate --name: Secrets
        values = kubectl_names("secrets", seen, environ, namespaced=True)
    elif action.dest in ("filter", "names"):
        values = kubectl_names(EXTERNALSECRETS, seen, environ, namespaced=True)
    elif action.dest == "store":
        # Both kinds at once, so the whole lookup stays within one DEADLINE.
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(2) as pool:
            cluster = pool.submit(kubectl_names, "clustersecretstores.external-secrets.io", seen, environ)
            namespaced = pool.submit(kubectl_names, "secretstores.external-secrets.io", seen, environ, True)
            values = [f"ClusterSecretStore/{n}" for n in cluster.result()]
            values += [f"SecretStore/{n}" for n in namespaced.result()]
    else:
        return [], NO_FILE_COMP
    return [(insert + v, "") for v in values if v.startswith(prefix)], NO_FILE_COMP


def contexts(seen, environ):
    from .kube.kubeconfig import load

    return load(kubeconfig_flag=seen.get("kubeconfig"), env=environ).contexts()


def permanent_environment_namespaces(seen, environ):
    """The namespaces of the Permanent Jenkins X Environments in --from (default jx), as replicate copies to."""
    jsonpath = '{range .items[?(@.spec.kind=="Permanent")]}{.spec.namespace}{"\\n"}{end}'
    lines = kubectl_get(["environments.jenkins.io", f"--namespace={seen.get('from_namespace') or 'jx'}",
                         "-o", f"jsonpath={jsonpath}"], seen, environ)
    return sorted({line for line in lines if line})


def kubectl_names(resource, seen, environ, namespaced=False):
    """Names of a resource from the live cluster through kubectl (respects every auth plugin); namespaced
    ones from -n, else from every namespace. Within DEADLINE or nothing: a shell must never hang on TAB."""
    args = [resource, "-o", "name"]
    if namespaced:
        args.append(f"--namespace={seen['namespace']}" if seen.get("namespace") else "--all-namespaces")
    return sorted({line.split("/", 1)[-1] for line in kubectl_get(args, seen, environ) if line})


def kubectl_get(args, seen, environ):
    """`kubectl get ARGS` with the typed --kubeconfig/--context: its stdout lines, or none."""
    kubectl = environ.get("KUBECTL_PATH") or shutil.which("kubectl", path=environ.get("PATH"))
    if not kubectl:
        return []
    cmd = [kubectl, "get", *args, f"--request-timeout={DEADLINE}s"]
    for flag in ("kubeconfig", "context"):
        if seen.get(flag):
            cmd.append(f"--{flag}={seen[flag]}")
    try:
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=DEADLINE, env=dict(environ))
    except subprocess.TimeoutExpired:
        return []
    except OSError:
        return []
    if result.returncode != 0:
        return []
    return result.stdout.splitlines()
