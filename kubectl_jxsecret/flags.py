"""The flags commands share, declared once: kubectl's kube flags, -o/--output, the selection of
ExternalSecrets, and the way every (sub)command parser is made.

Standard library only: this module is on the path of `--help` and shell completion.
"""

import argparse
import os
import sys
from typing import NamedTuple


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    def __init__(self, prog):
        # argparse makes a formatter for every flag it adds, and without a width imports shutil to ask the
        # terminal (~2 ms of every start-up: zlib, bz2, lzma); the same width (less argparse's 2), without it.
        super().__init__(prog, max_help_position=32, width=terminal_columns() - 2)


def terminal_columns() -> int:
    """shutil.get_terminal_size().columns: $COLUMNS, else the width of the terminal on stdout, else 80."""
    try:
        columns = int(os.environ.get("COLUMNS", ""))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns
        except (AttributeError, ValueError, OSError):  # no stdout, or not a terminal
            columns = 0
    return columns or 80


def add_command_parser(subparsers, name, aliases, help, description, examples) -> argparse.ArgumentParser:
    """One (sub)command's parser, the same way at every level of the tree."""
    p = subparsers.add_parser(name, aliases=list(aliases), help=help, description=description,
                              epilog=f"examples:\n  {examples}", formatter_class=HelpFormatter)
    # --debug is accepted after the command too; SUPPRESS keeps a root-level --debug.
    p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    return p


def add_kube_flags(parser: argparse.ArgumentParser, output_formats, namespace_help: str = "only this namespace",
                   all_namespaces: bool = True) -> None:
    """kubectl's own flag names and meanings, so muscle memory works. Commands for which -n is not a
    filter (vault: Vault's own namespace) say what it is, and take no -A."""
    g = parser.add_argument_group("kubectl flags")
    g.add_argument("--kubeconfig", metavar="PATH", help="path to the kubeconfig file (default: $KUBECONFIG, ~/.kube/config)")
    g.add_argument("--context", metavar="NAME", help="the kubeconfig context to use (default: its current-context)")
    g.add_argument("-n", "--namespace", metavar="NS", help=namespace_help)
    if all_namespaces:
        g.add_argument("-A", "--all-namespaces", action="store_true", help="all namespaces")
    g.add_argument("--request-timeout", metavar="DURATION", default="30s",
                   help="how long to wait for one API request, e.g. 10s, 1m (default: 30s; 0 = no limit)")
    if output_formats:
        add_output_flag(parser, output_formats)


def add_output_flag(parser: argparse.ArgumentParser, output_formats) -> None:
    parser.add_argument("-o", "--output", choices=output_formats, default=output_formats[0], metavar="FORMAT",
                        help=f"output format: {'|'.join(output_formats)} (default: {output_formats[0]})")


def add_selection_flags(parser: argparse.ArgumentParser, short_filter: bool = True,
                        filter_help: str = "only ExternalSecrets whose name contains TEXT (repeatable: any of them)"
                        ) -> None:
    """The flags that choose ExternalSecrets (scan.Selection). Commands that read or write a file
    keep -f for --file (as jx secret import/export did) and spell the filter out."""
    parser.add_argument("-l", "--selector", metavar="SELECTOR",
                        help="label selector, e.g. secret.jenkins-x.io/replica-source=true")
    parser.add_argument(*(["-f"] if short_filter else []), "--filter", metavar="TEXT", action="append",
                        help=filter_help)


def add_vault_flags(parser: argparse.ArgumentParser):
    """How to reach Vault, for every command that uses it. No token flag: argv is visible to all (ps)."""
    g = parser.add_argument_group("vault flags (default: VAULT_* / BAO_* variables, then the cluster)")
    g.add_argument("--vault-addr", metavar="URL", help="Vault address, e.g. https://vault.example.com:8200")
    g.add_argument("--vault-ca-cert", metavar="PATH", help="PEM file of the CA that signed Vault's certificate")
    g.add_argument("--vault-namespace", metavar="NS", help="Vault Enterprise / OpenBao namespace (not Kubernetes)")
    return g


def add_writer_flags(parser: argparse.ArgumentParser, dry_run_help: str) -> None:
    """What every command that fills stores takes (edit, import): a dry run, how long to wait for ESO to
    sync what was written, and how to reach Vault."""
    parser.add_argument("--dry-run", action="store_true", help=dry_run_help)
    parser.add_argument("--timeout", default="2m", metavar="DURATION",
                        help="how long to wait for ESO to sync what was written (default: 2m)")
    add_vault_flags(parser)


def add_schema_flags(parser: argparse.ArgumentParser, generators: bool = True) -> None:
    """Where secret schemas come from (edit, populate, rotate), and what their generators read."""
    g = parser.add_argument_group("schema flags (default: each ExternalSecret's secret.jenkins-x.io/schema-object "
                                  "annotation)")
    g.add_argument("--schema", metavar="FILE",
                   help="a secret-schema.yaml whose objects are named after ExternalSecrets")
    g.add_argument("--schema-dir", metavar="DIR",
                   help="a version stream or cluster repository: DIR/charts/<repo>/<chart>/secret-schema.yaml, the "
                        "chart from the ExternalSecret's Helm labels")
    if generators:
        g.add_argument("--boot-secret-namespace", default="jx", metavar="NS",
                       help="namespace of Secret jx-boot, which the gitOperator.* generators read (default: jx)")


def vault_flags(args) -> dict:
    """The --vault-* values, as stores.discovery.gather() takes them."""
    return {"address": args.vault_addr, "ca_cert": args.vault_ca_cert, "namespace": args.vault_namespace}


class KubeFlags(NamedTuple):
    """The kube flags' values as typed, which kube.client.connect() resolves into a client.

    -A/--all-namespaces is not here: it chooses what to look at (scan.Selection), not how to connect.
    """

    kubeconfig: str | None = None
    context: str | None = None
    namespace: str | None = None
    request_timeout: str = "30s"

    @classmethod
    def from_args(cls, args) -> "KubeFlags":
        return cls(args.kubeconfig, args.context, args.namespace, args.request_timeout)
