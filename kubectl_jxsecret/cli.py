"""Command line: the parser tree, dispatch, and the ONE error -> exit-code map.

This module is on the path of `--help`, `version` and shell completion, so it imports only the
standard library: command modules (and kubernetes, hvac, questionary behind them)
are imported when their command runs.
"""

import argparse
import importlib
import os
import sys
from typing import NamedTuple

from .errors import ExitStatus, JxSecretError, UsageError, first_line, printable, redact
from .flags import HelpFormatter, add_command_parser, add_kube_flags, add_output_flag

# argparse passes each of its words through gettext, and every call searches the locale directories again
# for a catalogue no Python ships (the default domain's): ~50 searches per run, ~1.5 ms (more with LANG set),
# that always come back empty. Our help is English; argparse's words around it stay English too.
argparse._ = lambda message: message

PROG = "kubectl jxsecret"


class Environment:
    """Streams and process environment, replaceable by tests (httpie's Environment)."""

    def __init__(self, stdout=None, stderr=None, stdin=None, environ=None):
        # Looked up now, not at import: tests swap sys.stdout and friends.
        self.stdout = sys.stdout if stdout is None else stdout
        self.stderr = sys.stderr if stderr is None else stderr
        self.stdin = sys.stdin if stdin is None else stdin
        self.environ = os.environ if environ is None else environ

    def with_stdout(self, stdout) -> "Environment":
        return Environment(stdout, self.stderr, self.stdin, self.environ)

    @property
    def stdout_isatty(self) -> bool:
        return hasattr(self.stdout, "isatty") and self.stdout.isatty()

    @property
    def stdin_isatty(self) -> bool:
        """A person can answer prompts (edit): never prompt a pipe, /dev/null or CI."""
        return hasattr(self.stdin, "isatty") and self.stdin.isatty()

    @property
    def colors(self) -> bool:
        """Colour only for a person at a terminal, and never when NO_COLOR is set and not empty (no-color.org)."""
        return self.stdout_isatty and not self.environ.get("NO_COLOR") and self.environ.get("TERM") != "dumb"


# ------------------------------------------------------------------------------------------ parser

class Command(NamedTuple):
    """One subcommand, declared once: used by the parser, help and completion alike."""

    name: str
    help: str
    description: str
    examples: str
    module: str  # kubectl_jxsecret.commands.<module> provides add_arguments(parser) and run(args, env)
    kube_flags: bool = True  # takes --kubeconfig/--context/-n/...
    aliases: tuple = ()
    output_formats: tuple = ("table", "json", "yaml")


COMMANDS = [
    Command(
        name="verify", module="verify", aliases=("get",),
        help="show which ExternalSecrets are populated and which keys are missing",
        description="List every ExternalSecret (ESO external-secrets.io v1/v1beta1 and the legacy\n"
                    "kubernetes-client.io/v1), whether its Secret has every key with a value, and the\n"
                    "operator's reason when it has not. All namespaces unless -n is given.\n\n"
                    "Exit status: 0 all populated, 3 some not populated, 1 something could not be read.",
        examples="kubectl jxsecret verify\n"
                 "  kubectl jxsecret verify -n jx -f lighthouse\n"
                 "  kubectl jxsecret verify -o wide\n"
                 "  kubectl jxsecret verify -o json | jq '.[] | select(.populated | not)'",
        output_formats=("table", "wide", "json", "yaml", "name"),
    ),
    Command(
        name="wait", module="wait",
        help="wait until the selected ExternalSecrets are populated",
        description="Poll until every selected ExternalSecret is populated, printing each change.\n"
                    "On timeout, list what is still missing and why.\n\n"
                    "Exit status: 0 all populated, 3 timed out with some not populated, 1 error.",
        examples="kubectl jxsecret wait --timeout 10m\n"
                 "  kubectl jxsecret wait -n jx --mandatory\n"
                 "  kubectl jxsecret wait -f lighthouse --poll 5s",
        output_formats=(),
    ),
    Command(
        name="edit", module="edit", output_formats=(),
        help="ask for missing secret values, write them to the store, then have ESO sync them",
        description="Ask (masked) for the values the selected ExternalSecrets read (all namespaces unless -n):\n"
                    "by default only what their store lacks, for those not populated; with -f every value\n"
                    "of the matching ones, showing which are set; with -i pick the ExternalSecrets, then\n"
                    "the values. Each store value is asked once. Enter alone leaves a value as it is,\n"
                    "Alt-Enter starts a new line, @FILE reads a file; Ctrl-C skips a value, twice in a row\n"
                    "stops with nothing written. Then one merged write per store path, a force-sync of the\n"
                    "ExternalSecrets that read it, and which of them are populated. Needs a terminal: from\n"
                    "scripts use import.\n\n"
                    "Exit status: 0 written and populated (or nothing to do), 3 written but some not\n"
                    "populated, 1 error, 130 stopped (Ctrl-C twice).",
        examples="kubectl jxsecret edit\n"
                 "  kubectl jxsecret edit -n jx -f nexus\n"
                 "  kubectl jxsecret edit -f lighthouse -f tekton --dry-run\n"
                 "  kubectl jxsecret edit -i",
    ),
    Command(
        name="refresh", module="refresh", output_formats=(),
        help="ask ESO to sync the selected ExternalSecrets now, and wait until it has",
        description="Set ESO's force-sync annotation on the selected ExternalSecrets (all namespaces\n"
                    "unless -n), then wait until ESO reports a sync (or a failure) newer than the\n"
                    "request, printing each as it lands.\n\n"
                    "Exit status: 0 all synced, 3 some failed or did not sync in time, 1 error.",
        examples="kubectl jxsecret refresh -n jx -f lighthouse\n"
                 "  kubectl jxsecret refresh -l app=web --timeout 5m\n"
                 "  kubectl jxsecret refresh -n jx --no-wait",
    ),
    Command(
        name="ui", module="ui", output_formats=(),
        help="a live web view of verify, on this machine, until Ctrl-C",
        description="Serve a page on loopback (any free port) that lists every ExternalSecret as verify does,\n"
                    "updated live from watches on ExternalSecrets and Secrets: filter, counts per state,\n"
                    "grouping by namespace, and per row its data mapping, conditions, Warning events and\n"
                    "Secret key names (never values). Every request needs the random token of the printed\n"
                    "URL. --allow-refresh adds a Refresh (ESO force-sync) per row and per selection.\n\n"
                    "Exit status: 0 stopped by Ctrl-C or SIGTERM, 1 error.",
        examples="kubectl jxsecret ui\n"
                 "  kubectl jxsecret ui -n jx --no-browser\n"
                 "  kubectl jxsecret ui --port 8765 --allow-refresh",
    ),
    Command(
        name="export", module="export", output_formats=(),
        help="write the values behind the selected ExternalSecrets to a private file",
        description="Read every store path the selected ExternalSecrets read (all namespaces unless -n)\n"
                    "and write their values to FILE (mode 0600), in the layout import reads and jx secret\n"
                    "export wrote. --source cluster reads the synced Secrets instead of the stores.\n"
                    "Values go to a terminal only with an explicit -f -.",
        examples="kubectl jxsecret export -f secrets.yaml\n"
                 "  kubectl jxsecret export -n jx --filter lighthouse -f lighthouse.yaml\n"
                 "  kubectl jxsecret export --vault-addr https://old-vault:8200 -f old.yaml   # migrate: then import",
    ),
    Command(
        name="import", module="import_", output_formats=(),
        help="write a file of values into the stores, then have ESO sync them",
        description="Check the whole file first (YAML, every path read by a selected ExternalSecret,\n"
                    "every store readable and writable), then write each changed store path once,\n"
                    "merged; unchanged paths are not written. Then force-sync the ExternalSecrets that\n"
                    "read what was written and wait for them.\n\n"
                    "Exit status: 0 written and populated, 3 written but some not populated, 1 error.",
        examples="kubectl jxsecret import -f secrets.yaml --dry-run\n"
                 "  kubectl jxsecret import -f secrets.yaml\n"
                 "  kubectl jxsecret import -f old-jx-export.yaml --allow-unknown",
    ),
    Command(
        name="populate", module="populate", output_formats=(),
        help="fill missing values from the secret schemas: templates, generators, defaults",
        description="Fill the values the selected ExternalSecrets (all namespaces unless -n) lack, from their\n"
                    "Jenkins X secret schema (the schema-object annotation, --schema or --schema-dir): per\n"
                    "value a template, else the value set now (unless --overwrite), else a generator\n"
                    "(password, hmac, uuid, gitOperator.username/password), else defaultValue. Generators\n"
                    "run first, then templates, so templates read generated values. Every value is checked\n"
                    "against minLength/maxLength/pattern before the first write. Values that need a person\n"
                    "are named with the edit command that asks for them. Then one merged write per store\n"
                    "path, a force-sync, and which ExternalSecrets are populated.\n\n"
                    "Exit status: 0 written and populated (or nothing to do), 3 some not populated (or a value\n"
                    "needs a person), 1 error (nothing written when found before the first write).",
        examples="kubectl jxsecret populate --dry-run\n"
                 "  kubectl jxsecret populate -n jx\n"
                 "  kubectl jxsecret populate -n jx --schema-dir ~/jx3-versions --dir ~/my-cluster-repo\n"
                 "  kubectl jxsecret populate -f chartmuseum --overwrite",
    ),
    Command(
        name="rotate", module="rotate", output_formats=(),
        help="generate new values for the generated properties of an ExternalSecret",
        description="Generate a new value for every property of the ExternalSecrets named by -f whose schema\n"
                    "has a generator (or only those given with --property), write them, force-sync, wait,\n"
                    "and name what was rotated (never the values). A property without a generator is\n"
                    "refused: set it with edit.\n\n"
                    "Exit status: 0 rotated and populated, 3 rotated but some not populated, 1 error.",
        examples="kubectl jxsecret rotate -n jx -f chartmuseum\n"
                 "  kubectl jxsecret rotate -n jx -f lighthouse-hmac-token --property hmac\n"
                 "  kubectl jxsecret rotate -n jx -f nexus --dry-run",
    ),
    Command(
        name="new", module="new", kube_flags=False, output_formats=("yaml", "json"),
        help="write a new ESO ExternalSecret, with its Jenkins X schema",
        description="Print (or write into a Jenkins X --config-root, or --apply) an external-secrets.io/v1\n"
                    "ExternalSecret that reads one store path: a data entry per --data KEY[=PROPERTY], and per\n"
                    "property of NAME's object in --schema, whose schema goes in the\n"
                    "secret.jenkins-x.io/schema-object annotation so that populate, edit and rotate know the\n"
                    "values. Checked first by a server-side dry run against the cluster's ESO CRD when a cluster\n"
                    "answers, else by built-in rules. At a terminal, what is missing (store, keys) is asked for.",
        examples="kubectl jxsecret new nexus -n jx --store ClusterSecretStore/vault --schema secret-schema.yaml\n"
                 "  kubectl jxsecret new docker -n jx --store ClusterSecretStore/vault --key knative/docker "
                 "--data username --data password\n"
                 "  kubectl jxsecret new nexus -n jx --store ClusterSecretStore/vault --data password --config-root "
                 "config-root\n"
                 "  kubectl jxsecret new nexus -n jx --store ClusterSecretStore/vault --data password --apply",
    ),
    Command(
        name="convert", module="convert", kube_flags=False, output_formats=("yaml", "json"),
        help="turn Kubernetes Secret manifests into ESO ExternalSecrets (and their values into the store)",
        description="Read v1 Secret manifests (files, or directories of *.yaml/*.yml) and make an\n"
                    "external-secrets.io/v1 ExternalSecret of each, reading --store at jx secret convert's\n"
                    "paths (the Secret name with - as /, less a last segment equal to the key). Printed, written\n"
                    "to a Jenkins X --config-root, or applied. --populate writes the values the files hold to\n"
                    "the store: everything is checked first, and values are never printed. Checked against the\n"
                    "cluster's ESO CRD by a server-side dry run when a cluster answers, else by built-in rules.\n\n"
                    "Exit status: 0 done, 3 populated but some not synced, 1 error (nothing\n"
                    "written when found before the first write).",
        examples="kubectl jxsecret convert secret.yaml --store ClusterSecretStore/vault\n"
                 "  kubectl jxsecret convert config-root/namespaces/jx --store ClusterSecretStore/vault "
                 "--config-root config-root\n"
                 "  kubectl jxsecret convert secrets/ -n jx --store ClusterSecretStore/vault --populate --apply",
    ),
    Command(
        name="replicate", module="replicate", kube_flags=False, output_formats=(),
        help="copy the replica-source Secrets to the permanent Environments' namespaces",
        description="Copy the Secrets of --from (default jx) labelled secret.jenkins-x.io/replica-source=true\n"
                    "(-l, or --name) to the namespaces of the Permanent Jenkins X Environments in --from\n"
                    "(or --to). A copy is the source's data and type, labelled secret.jenkins-x.io/replica=true,\n"
                    "with its source and a content hash in annotations. Only copies replication made are\n"
                    "written (--force for others); copies that are up to date are not written at all;\n"
                    "--prune deletes copies whose source is gone. Copies of Secrets ESO makes are plain\n"
                    "Secrets: ESO does not manage them, run replicate again after a change. With --dir,\n"
                    "the ExternalSecret/Secret files of a GitOps config-root are copied instead.\n\n"
                    "Exit status: 0 every copy in place, 1 a target failed (the others are done),\n"
                    "3 a Secret that replication did not make kept a copy out.",
        examples="kubectl jxsecret replicate --dry-run\n"
                 "  kubectl jxsecret replicate --prune\n"
                 "  kubectl jxsecret replicate --name docker-config --to jx-preview --create-namespace\n"
                 "  kubectl jxsecret replicate --context-for production=prod-cluster\n"
                 "  kubectl jxsecret replicate --dir config-root",
    ),
    Command(
        name="copy", module="copy", kube_flags=False, output_formats=(),
        help="copy Secrets to other namespaces, once",
        description="Copy the named (or -l selected) Secrets of -n (default: the context's namespace) to each\n"
                    "--to namespace, with replicate's rules: only copies replication made are written\n"
                    "(--force for others), copies that are up to date are not written, --dry-run shows\n"
                    "the plan. Values are never printed.\n\n"
                    "Exit status: 0 every copy in place, 1 a target failed (the others are done),\n"
                    "3 a Secret that replication did not make kept a copy out.",
        examples="kubectl jxsecret copy docker-config -n jx --to jx-preview\n"
                 "  kubectl jxsecret copy -n jx -l app=registry --to team-a --to team-b --create-namespace\n"
                 "  kubectl jxsecret copy tls-cert -n jx --to web --dry-run",
    ),
    Command(
        name="vault", module="vault", kube_flags=False, output_formats=(),
        help="reach the in-cluster Vault: portforward, env, wait",
        description="Reach the Vault (or OpenBao) that runs inside the cluster from here.",
        examples="kubectl jxsecret vault portforward\n"
                 "  eval \"$(kubectl jxsecret vault env)\"\n"
                 "  kubectl jxsecret vault wait --timeout 5m",
    ),
    Command(
        name="completion", module="completion", kube_flags=False, output_formats=(),
        help="shell completion: scripts for bash, zsh, fish; install for krew",
        description="kubectl (>= 1.26) completes `kubectl jxsecret <TAB>` through kubectl_complete-jxsecret on PATH:\n"
                    "pip installs it, krew cannot (run completion install). The bash, zsh and fish scripts\n"
                    "complete kubectl-jxsecret called directly.",
        examples="kubectl jxsecret completion install\n"
                 "  source <(kubectl-jxsecret completion bash)\n"
                 "  kubectl-jxsecret completion fish | source",
    ),
    Command(
        name="version", module="version", kube_flags=False,
        help="print the plugin version",
        description="Print the version of kubectl-jxsecret and of the Python that runs it.",
        examples="kubectl jxsecret version\n  kubectl jxsecret version -o json",
    ),
]

ROOT_EXAMPLES = """\
  # Is every secret populated? (all namespaces)
  kubectl jxsecret verify

  # Wait until the mandatory Jenkins X secrets of namespace jx are populated
  kubectl jxsecret wait -n jx --mandatory

  # A tunnel to the in-cluster Vault, and the exports to use it
  kubectl jxsecret vault portforward
"""


class Parser(argparse.ArgumentParser):
    """argparse that raises UsageError instead of printing and exiting, so main() owns exit codes."""

    def error(self, message):
        raise UsageError(f"{message}\nsee '{self.prog} -h' for help")


def build_parser(only: str | None = None) -> Parser:
    """The whole tree; with `only` naming a command, just that command and its flags, so that a run or a
    completion imports one command module, not all of them (~70 ms); with "" (or a word that is no command),
    every command without flags, for the root help."""
    root = Parser(
        prog=PROG, formatter_class=HelpFormatter,
        description="Check, fill, sync and move the secrets of Jenkins X style clusters "
                    "(External Secrets Operator and Vault/OpenBao).",
        epilog=f"examples:\n{ROOT_EXAMPLES}\nUse '{PROG} <command> -h' for more about a command.",
    )
    root.add_argument("--debug", action="store_true", help="show tracebacks and debug details")
    sub = root.add_subparsers(dest="command", metavar="<command>", parser_class=Parser)
    spec = command_named(only) if only else None
    for cmd in [spec] if spec else COMMANDS:  # a command's run needs no other command's parser (~0.1 ms each)
        p = add_command_parser(sub, cmd.name, cmd.aliases, cmd.help, cmd.description, cmd.examples)
        p.set_defaults(command_spec=cmd)
        if only is not None and cmd is not spec:
            continue
        if cmd.kube_flags:
            add_kube_flags(p, cmd.output_formats)
        elif cmd.output_formats:
            add_output_flag(p, cmd.output_formats)
        command_module(cmd).add_arguments(p)
    return root


def command_named(name: str) -> Command | None:
    return next((cmd for cmd in COMMANDS if name in (cmd.name, *cmd.aliases)), None)


def first_word(args) -> str | None:
    """The command the user typed: the first word that is not a root flag."""
    return next((a for a in args if not a.startswith("-")), None)


def unknown_command(word: str) -> UsageError:
    import difflib

    names = [name for cmd in COMMANDS for name in (cmd.name, *cmd.aliases)] + ["help"]
    close = difflib.get_close_matches(word, names, n=1)
    hint = f': did you mean "{close[0]}"?' if close else ""
    return UsageError(f'unknown command "{word}" for "{PROG}"{hint}\nsee \'{PROG} -h\' for help')


def kubectl_booleans(parser: argparse.ArgumentParser, args: list[str]) -> list[str]:
    """kubectl's `--all-namespaces=true|false` spelling of switches, which argparse does not take."""
    parsers, switches = [parser], set()
    while parsers:
        for action in parsers.pop()._actions:
            if isinstance(action, argparse._StoreTrueAction):
                switches.update(action.option_strings)
            elif isinstance(action, argparse._SubParsersAction):
                parsers += action.choices.values()
    out = []
    for arg in args:
        name, eq, value = arg.partition("=")
        if eq and name in switches:
            if value.lower() not in ("true", "false"):
                raise UsageError(f'invalid value "{value}" for {name}: want true or false')
            out += [name] if value.lower() == "true" else []
        else:
            out.append(arg)
    return out


def command_module(cmd: Command):
    return importlib.import_module(f"{__package__}.commands.{cmd.module}")


# ------------------------------------------------------------------------------------------ main

def main(argv=None, env: Environment | None = None) -> int:
    argv = sys.argv if argv is None else argv
    env = env or Environment()
    if os.path.basename(argv[0]).startswith("kubectl_complete-"):
        return run_completion(argv[1:], env)
    if len(argv) > 1 and argv[1] == "__complete":
        return run_completion(argv[2:], env)
    debug = "--debug" in argv[1:]
    try:
        return dispatch(argv[1:], env)
    except KeyboardInterrupt:
        print("", file=env.stderr)
        return ExitStatus.INTERRUPTED
    except BrokenPipeError:
        # `kubectl jxsecret verify | head`: the reader left; not an error worth a traceback.
        # Point stdout at /dev/null so the interpreter's final flush does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return ExitStatus.OK
    except JxSecretError as e:
        if debug:
            print_traceback(e, env)
        print(error_line(e), file=env.stderr)
        return ExitStatus.USAGE if isinstance(e, UsageError) else ExitStatus.ERROR
    except Exception as e:
        if debug:
            print_traceback(e, env)
            return ExitStatus.ERROR
        # A bug of ours: still one line, and the way to see more.
        print(f"error: unexpected {type(e).__name__}: {printable(first_line(e))} "
              "(run with --debug for the traceback)", file=env.stderr)
        return ExitStatus.ERROR


def print_traceback(e: BaseException, env: Environment) -> None:
    """--debug: the traceback, credentials redacted (a library's message may quote a header or a kubeconfig)."""
    import traceback

    tokens = [env.environ.get(name) or "" for name in ("VAULT_TOKEN", "BAO_TOKEN")]
    print(redact("".join(traceback.format_exception(e)), tokens), end="", file=env.stderr)


def error_line(e: JxSecretError) -> str:
    """`error: <message>` on one line (messages echo what the user typed), then a usage error's help hint."""
    message, hint = str(e), ""
    head, sep, tail = message.rpartition("\nsee '")
    if sep:
        message, hint = head, sep + tail
    return f"error: {printable(message)}{hint}"


def dispatch(args, env) -> int:
    word = first_word(args)
    if word == "help":  # `help` and `help verify`, as kubectl and git have
        rest = [a for a in args if a != "help"]
        return dispatch((rest or []) + ["-h"], env) if first_word(rest) else dispatch(["-h"], env)
    spec = command_named(word) if word else None
    if word and spec is None:
        raise unknown_command(word)
    parser = build_parser(only=word or "")
    try:
        ns = parser.parse_args(kubectl_booleans(parser, args))
        if ns.command is None:
            parser.print_help(env.stdout)
            return ExitStatus.OK
        return int(command_module(spec).run(ns, env))
    except SystemExit as e:  # -h printed the help
        return int(e.code or 0)
    except UsageError as e:  # every usage error points at the help of the command it is about
        if "\nsee '" in str(e):
            raise
        raise UsageError(f"{e}\nsee '{PROG}{f' {spec.name}' if spec else ''} -h' for help") from None


def run_completion(args, env) -> int:
    from . import completion
    return completion.main(args, env, build_parser)


def run() -> None:
    """The program's entry point (console scripts, `python -m`, the krew archive); main() is for tests."""
    sys.exit(main())


if __name__ == "__main__":
    run()
