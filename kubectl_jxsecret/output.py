"""Rendering: tables for people (colour only on a tty), JSON/YAML for scripts.

Commands return plain data; this module is the only place that decides how it looks.
"""

import json
import re
import time

from .errors import printable
from .model.duration import format_duration
from .model.status import State, Verdict

# ANSI colours by meaning, not by hue, so a command says "bad" and the theme decides.
_STYLES = {"good": "\x1b[32m", "bad": "\x1b[31m", "warn": "\x1b[33m", "dim": "\x1b[2m", "bold": "\x1b[1m"}
_RESET = "\x1b[0m"
_STYLE_CODE = re.compile("\x1b\\[[0-9;]*m")  # what style() adds: no width on a terminal


def count(n: int, noun: str, plural: str = "") -> str:
    """ "1 ExternalSecret", "2 ExternalSecrets"; "1 copy", "2 copies" with the plural given."""
    return f"{n} {noun if n == 1 else plural or noun + 's'}"


def style(text: str, meaning: str, colors: bool) -> str:
    return f"{_STYLES[meaning]}{text}{_RESET}" if colors and text else text


def dump(data, fmt: str, stream) -> None:
    """Write `data` as json or yaml, the machine-readable forms every command offers."""
    if fmt == "json":
        json.dump(data, stream, indent=2, sort_keys=False)
        stream.write("\n")
    elif fmt == "yaml":
        import yaml  # ~20 ms; only when asked for

        yaml.safe_dump(data, stream, sort_keys=False, default_flow_style=False)
    else:
        raise ValueError(f"not a data format: {fmt}")


def table(rows, headers, stream) -> None:
    """A kubectl-like table: upper-case headers, no borders, two spaces between left-aligned columns.
    Our own: importing tabulate (importlib.metadata, dataclasses, wcwidth) cost ~30 ms, half a verify."""
    if not rows:
        return
    lines = [[h.upper() for h in headers], *rows]
    widths = [max(map(width, column)) for column in zip(*lines)]
    for line in lines:
        stream.write("  ".join(cell + " " * (w - width(cell)) for cell, w in zip(line, widths)).rstrip() + "\n")


def width(cell: str) -> int:
    """The columns `cell` takes on a terminal: style codes none, East Asian wide characters two."""
    text = _STYLE_CODE.sub("", cell)
    if text.isascii():
        return len(text)
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 0 if unicodedata.combining(c) else 1 for c in text)


def one_line(text: str) -> str:
    """Free text (an operator's message, a Vault error) for a table cell: one line, nothing that drives the
    terminal."""
    return printable(" ".join(text.split()))


# ------------------------------------------------------------------------------------------ verdicts

STATE_STYLE = {State.POPULATED: "good", State.STALE: "warn", State.SYNC_ERROR: "bad", State.SECRET_MISSING: "bad",
               State.KEYS_MISSING: "warn", State.INVALID: "bad", State.UNKNOWN: "dim"}


def render_report(report, fmt: str, selection, env) -> None:
    """verify: a scan.Report of `selection` as a table (-o table|wide), names (-o name) or data (-o json|yaml)."""
    namespace = selection.namespace
    for warning in report.warnings:
        print(f"warning: {warning}", file=env.stderr)
    verdicts = report.verdicts
    if fmt in ("json", "yaml"):
        dump([v.to_dict() for v in verdicts], fmt, env.stdout)
        return
    if fmt == "name":
        for v in verdicts:
            print(f"externalsecret.{v.api_version.split('/')[0]}/{v.name}", file=env.stdout)
        return
    if not verdicts:
        print(f"No matching ExternalSecrets found {selection.describe()}.", file=env.stderr)
        return
    table(table_rows(verdicts, fmt == "wide", namespace is None, env.colors),
          table_headers(fmt == "wide", namespace is None), env.stdout)
    env.stdout.flush()
    env.stderr.write(summary(verdicts))


HINTS_SHOWN = 10  # a closing hint, not a second table: -o wide and -o json have every one


def summary(verdicts) -> str:
    """verify's closing lines, written in one piece: what is not populated, what is stale, where the
    missing values belong."""
    lines = []
    bad = [v for v in verdicts if not v.populated]
    if bad:
        lines.append(f"{len(bad)} of {count(len(verdicts), 'ExternalSecret')} not populated.")
    stale = [v for v in verdicts if v.state is State.STALE]
    if stale:
        lines.append(f"{count(len(stale), 'ExternalSecret')} populated but stale: ESO cannot sync "
                     f"{'it' if len(stale) == 1 else 'them'} (see -o wide).")
    where = [v for v in bad if v.missing_at and v.state in (State.SYNC_ERROR, State.KEYS_MISSING)]
    if where:
        lines.append("The missing values belong in their stores (fill them with kubectl jxsecret edit or import):")
        lines += [f"  {v.namespace}/{v.name}: {missing_at(v)}" for v in where[:HINTS_SHOWN]]
        if len(where) > HINTS_SHOWN:
            lines.append(f"  … and {len(where) - HINTS_SHOWN} more (-o wide shows them all)")
    return "".join(line + "\n" for line in lines)


def missing_at(v: Verdict) -> str:
    """`<store> <key>: <property>, ...; ...`: where a verdict's missing values belong, by store path."""
    paths: dict[tuple[str, str], list[str]] = {}
    for loc in v.missing_at:
        paths.setdefault((loc.store, loc.key), []).append(loc.property)
    return "; ".join(f"{store} {key}: {', '.join(props)}" for (store, key), props in paths.items())


def table_headers(wide: bool, with_namespace: bool) -> list[str]:
    headers = (["namespace"] if with_namespace else []) + ["name", "status", "missing keys", "reason"]
    if wide:
        headers += ["secret", "store", "last sync", "api version", "missing at", "message"]
    return headers


def table_rows(verdicts, wide: bool, with_namespace: bool, colors: bool) -> list[list[str]]:
    rows = []
    for v in verdicts:
        row = ([v.namespace] if with_namespace else []) + [
            v.name, style(v.state.value, STATE_STYLE[v.state], colors), ", ".join(v.missing_keys), one_line(v.reason)]
        if wide:
            row += [v.secret, v.store, v.refresh_time, v.api_version, missing_at(v),
                    one_line(": ".join(p for p in (v.message, v.detail) if p))]
        rows.append(row)
    return rows


def describe(v: Verdict) -> str:
    """One line for one verdict, with the operator's reason when it is not populated."""
    text = f"{v.namespace}/{v.name}: {v.state.value}"
    if v.missing_keys:
        text += f" (missing {', '.join(v.missing_keys)})"
    why = ": ".join(p for p in (v.reason, v.message, v.detail) if p)
    return f"{text}: {why}" if why and v.state is not State.POPULATED else text


# ------------------------------------------------------------------------------------------ wait

class WaitLog:
    """wait's progress as it happens: what it waits for, then each change, so a long wait reads as a
    log of what got fixed, each line with the time it was seen (a boot job's log shows how long each
    secret took). Flushed line by line: a log piped to a file or CI must not lag behind."""

    def __init__(self, env, clock=lambda: time.strftime("%H:%M:%S")):
        self.env, self.clock = env, clock

    def waiting(self, verdicts: list[Verdict]) -> None:
        """The first answer: the ones not populated yet (nothing when all are)."""
        waiting = [v for v in verdicts if not v.populated]
        if waiting:
            print(f"{self.clock()} waiting for {len(waiting)} of {count(len(verdicts), 'ExternalSecret')}:",
                  file=self.env.stdout)
            for v in waiting:
                print(f"  {describe(v)}", file=self.env.stdout)
            self.env.stdout.flush()

    def changed(self, verdicts: list[Verdict]) -> None:
        for v in verdicts:
            print(f"{self.clock()} {describe(v)}", file=self.env.stdout, flush=True)

    def warning(self, message: str) -> None:
        print(f"warning: {message}", file=self.env.stderr)


def render_wait_outcome(outcome, env) -> None:
    """How a wait ended (commands.wait.Outcome): all populated, or what is still missing and why."""
    if outcome.populated:
        n = len(outcome.verdicts)
        print("1 ExternalSecret populated" if n == 1 else f"all {n} ExternalSecrets populated", file=env.stdout,
              flush=True)
        return
    print(f"error: timed out after {format_duration(outcome.timeout)}; {len(outcome.waiting)} ExternalSecrets "
          "not populated:", file=env.stderr)
    for v in outcome.waiting:
        print(f"  {describe(v)}", file=env.stderr)


# ------------------------------------------------------------------------------------------ refresh

class SyncLog:
    """The force-sync of refresh (and of every writer's ending) as it happens."""

    def __init__(self, env):
        self.env = env

    def skipped(self, es, reason: str) -> None:
        print(f"note: {es.namespace}/{es.name} not refreshed: {reason}", file=self.env.stderr)

    def requested(self, pending, waiting: bool) -> None:
        if pending:
            what = "waiting for ESO to sync" if waiting else "ESO syncs them shortly"
            print(f"force-sync requested for {count(len(pending), 'ExternalSecret')}; {what}", file=self.env.stdout,
                  flush=True)

    def polled(self, message: str) -> None:
        """A collection RBAC lets us list but not watch: once, for refresh and every writer alike."""
        print(f"note: {message}", file=self.env.stderr)

    def landed(self, landed) -> None:
        text = "synced" if landed.synced else f"sync failed: {landed.message or landed.es.ready.message}"
        colour = "good" if landed.synced else "bad"
        print(f"{landed.key}: {style(text, colour, self.env.colors)}", file=self.env.stdout, flush=True)


def render_sync_outcome(outcome, env) -> None:
    """How a force-sync ended (resync.Outcome): what is still not synced when the time was up."""
    failed = [landed for landed in outcome.landed if not landed.synced]
    if failed:
        print(f"{count(len(failed), 'ExternalSecret')} of {len(outcome.landed) + len(outcome.pending)} failed to sync.",
              file=env.stderr)
    if outcome.pending:
        print(f"error: timed out after {format_duration(outcome.timeout)}; "
              f"{count(len(outcome.pending), 'ExternalSecret')} not synced yet:", file=env.stderr)
        for p in outcome.pending:
            print(f"  {p.es.namespace}/{p.es.name}", file=env.stderr)


# ------------------------------------------------------------------------------------------ writes

def render_writes(plans, written, env, dry_run: bool) -> None:
    """Per store path what was (or, with --dry-run, would be) written: properties, never values."""
    from .model.plan import summary

    failed = {w.plan.destination: w for w in written if w.error}
    untried = 0
    for p in plans:
        w = failed.get(p.destination)
        if not p.needs_write:
            print(f"unchanged: {p.destination}: {', '.join(p.changes)}", file=env.stdout)
        elif dry_run:
            print(f"would write: {summary(p)}", file=env.stdout)
        elif w and not w.tried:
            untried += 1
        elif w:
            print(f"error: {'not confirmed' if w.unconfirmed else 'not written'}: {p.destination}: {w.error}",
                  file=env.stderr)
        else:
            print(f"wrote: {summary(p)}", file=env.stdout)
    if untried:
        print(f"error: {count(untried, 'more store path')} not written: not tried once the store stopped answering; "
              "run the command again", file=env.stderr)
    if dry_run:
        print("dry run: nothing written", file=env.stderr)
    env.stdout.flush()


def render_populated(verdicts, env) -> None:
    """After a write and its sync: which ExternalSecrets hold every key now, and why the others do not."""
    done = [f"{v.namespace}/{v.name}" for v in verdicts if v.state is State.POPULATED]
    if done:
        print(f"populated: {', '.join(done)}", file=env.stdout)
    for v in verdicts:
        if v.state is not State.POPULATED:
            print(f"not populated: {describe(v)}", file=env.stderr)


# ------------------------------------------------------------------------------------------ replicate / copy

DONE = {"create": "created", "update": "updated", "unchanged": "unchanged", "skipped-foreign": "skipped-foreign",
        "prune": "pruned"}
ORDER = ("create", "created", "update", "updated", "unchanged", "skipped-foreign", "prune", "pruned", "failed")


def render_replication(outcome, env) -> None:
    """Per copy what was done (with --dry-run: the plan, in the plan's words), on stdout; failures on stderr,
    then one summary line there. Names, never values."""
    for note in outcome.notes:
        print(f"note: {note}", file=env.stderr)
    for target in outcome.created_namespaces:
        print(f"{'create' if outcome.dry_run else 'created'}: namespace {target}", file=env.stdout)
    counts: dict[str, int] = {}
    for step in outcome.steps:
        error = outcome.error_of(step)
        word = step.action.value if outcome.dry_run else DONE[step.action.value]
        if id(step) in outcome.untried:
            word = "failed"
        elif error:
            print(f"error: {step.where}: not {DONE[step.action.value]}: {error}", file=env.stderr)
            word = "failed"
        elif step.action.value == "skipped-foreign":
            print(f"{word}: {step.where}: {step.reason}", file=env.stdout)
        else:
            why = f" ({step.reason})" if step.reason else f" (from {step.source})" if step.action.writes else ""
            print(f"{word}: {step.where}{why}", file=env.stdout)
        counts[word] = counts.get(word, 0) + 1
    env.stdout.flush()
    if outcome.untried:
        print(f"error: {count(len(outcome.untried), 'more copy', 'more copies')} not written: not tried once the API "
              "server stopped answering; run the command again", file=env.stderr)
    for target, error in outcome.failed_targets.items():
        print(f"error: {target}: {error}", file=env.stderr)
    summary = ", ".join(f"{counts[word]} {word}" for word in ORDER if word in counts)
    if outcome.dry_run:
        print(f"dry run: nothing written ({summary or 'nothing to do'})", file=env.stderr)
    elif not outcome.writes and not outcome.failed:
        print(f"nothing to write: {summary or 'no copies'}", file=env.stderr)
    else:
        targets = len({s.target for s in outcome.steps}) + len(outcome.failed_targets)
        failed = f"; {count(len(outcome.failed_targets), 'target')} failed" if outcome.failed_targets else ""
        print(f"{summary or 'nothing done'} in {count(targets, 'namespace')}{failed}", file=env.stderr)
