"""`kubectl jxsecret edit`: ask for the values the selected ExternalSecrets read, write them into their
stores, then have ESO sync them and say which are populated.

Which values: by default the ones the store lacks, for the ExternalSecrets that are not populated; with
-f every value of the matching ExternalSecrets; with -i the ones picked. Each store value is asked once
(model.questions). Everything that can be checked comes before the first question: the terminal, the
cluster, every store path read and every store willing to take the write. Answers stay in memory until
one merged write per store path (writer.py); Ctrl-C twice in a row stops with nothing written.
An ExternalSecret whose schema is malformed is named and not asked about (its rules are unknown); the
others are, and the exit status is 1. A malformed --schema FILE stops edit before the cluster is asked.
"""

from .. import output
from ..errors import ExitStatus, JxSecretError
from ..flags import KubeFlags, add_schema_flags, add_selection_flags, add_writer_flags, vault_flags
from ..model.duration import parse_duration
from ..model.externalsecret import ExternalSecret
from ..model.plan import refs_of
from ..model.questions import Question, questions, wanted
from ..model.status import State, Verdict
from ..scan import Report, Selection, judge, select_some
from ..schemas import Schemas, skipped_summary, with_schemas

NO_TERMINAL = ("edit asks for values at a terminal, but stdin is not one: from a script or CI, put the values "
               "in a file and run kubectl jxsecret import -f FILE")
LEGEND = ("Values are hidden as you type. Enter alone leaves a value as it is; Alt-Enter starts a new line; "
          "@FILE reads the value from FILE; Ctrl-C skips a value, twice in a row stops without writing anything.")


def add_arguments(parser):
    add_selection_flags(parser)
    parser.add_argument("-i", "--interactive", action="store_true",
                        help="pick the ExternalSecrets, then the values to edit")
    add_schema_flags(parser, generators=False)
    add_writer_flags(parser, "ask, then show which store paths and properties would change (never the values); "
                             "write nothing")


class Options:
    def __init__(self, kube_flags: KubeFlags, selection: Selection, interactive: bool = False, dry_run: bool = False,
                 timeout: str = "2m", vault: dict | None = None, schema_file: str | None = None,
                 schema_dir: str | None = None):
        self.kube_flags, self.selection, self.interactive = kube_flags, selection, interactive
        self.dry_run, self.timeout, self.vault = dry_run, timeout, vault or {}
        self.schema_file, self.schema_dir = schema_file, schema_dir
        self.timeout_seconds, self.schemas = 0.0, Schemas()  # from validate()
        self.kube = None  # the API client (kube.client.Kube), from complete()
        self.current: dict = {}  # what the stores hold, from ask(); never printed
        self.skipped: list = []  # ExternalSecrets whose schema is malformed

    @classmethod
    def from_args(cls, args) -> "Options":
        return cls(KubeFlags.from_args(args), Selection.from_args(args), args.interactive, args.dry_run, args.timeout,
                   vault_flags(args), args.schema, args.schema_dir)

    @property
    def every_value(self) -> bool:
        """-f and -i offer every value, set or not; the default only what the stores lack."""
        return bool(self.selection.name_filter) or self.interactive

    def validate(self, stdin_isatty: bool) -> None:
        """A mistyped duration, no terminal to ask at, or a --schema file that is not one is refused before
        the cluster is asked."""
        self.timeout_seconds = parse_duration(self.timeout, "--timeout")
        if not stdin_isatty:
            raise JxSecretError(NO_TERMINAL)
        self.schemas = Schemas(self.schema_file, self.schema_dir)

    def complete(self) -> None:
        from ..kube.client import connect

        self.kube = connect(self.kube_flags)

    def run(self, env, ask) -> int:
        """`ask` is a prompts.Prompter."""
        status = self.edit(env, ask)
        if self.skipped:
            print(skipped_summary(self.skipped), file=env.stderr)
            return status if status == ExitStatus.INTERRUPTED else ExitStatus.ERROR
        return status

    def edit(self, env, ask) -> int:
        from ..writer import Stores, finish, prepare, readers_of, write

        externalsecrets, report = select_some(self.kube, self.selection, "edit")
        # Stores open on first use: when nothing is due, none is.
        with Stores(self.kube, self.vault, env.environ, env.stderr) as stores:
            try:
                answers = self.ask(externalsecrets, report, stores, ask, env)
            except KeyboardInterrupt:
                print("aborted: nothing written", file=env.stderr)
                return ExitStatus.INTERRUPTED
            except EOFError:
                raise JxSecretError("the terminal closed its input (Ctrl-D) before every question was answered: "
                                    "nothing written") from None
            if not answers:
                return ExitStatus.OK
            plans = prepare(stores, wanted(answers), self.current)  # read once, before the questions
            written = [] if self.dry_run else write(stores, plans)
        output.render_writes(plans, written, env, self.dry_run)
        if self.dry_run:
            return ExitStatus.OK
        return finish(self.kube, written, readers_of(externalsecrets, wanted(answers)), self.timeout_seconds, env)

    def ask(self, externalsecrets: list[ExternalSecret], report: Report, stores, ask, env) -> dict[Question, str]:
        """Everything up to the last answer: which ExternalSecrets, which values, the stores' say, the
        values. {} when there is nothing to write (and it says why)."""
        verdicts = None
        if self.interactive or not self.selection.name_filter:
            verdicts = judge(self.kube, externalsecrets, self.selection.namespace is None, report)
        for warning in report.warnings:
            print(f"warning: {warning}", file=env.stderr)
        candidates = self.candidates(externalsecrets, verdicts, ask, env)
        if not candidates:
            return {}
        found, schemas = [], {}  # schemas: by id(), as the questions ask for them by ExternalSecret
        for es, schema in with_schemas(candidates, self.schemas, env, self.skipped):
            schemas[id(es)] = schema
            refs, unwritable = refs_of(es)
            for u in unwritable:
                print(f"note: {u.namespace}/{u.name}: {u.reason}: not asked", file=env.stderr)
            found.append((es, refs))
        destinations = sorted({ref.destination for _, refs in found for ref in refs})
        if not destinations:
            if not self.skipped:
                print("nothing to edit: the selected ExternalSecrets read no property edit can write", file=env.stdout)
            return {}
        self.current = {d: stores.read(d) for d in destinations}  # a store that fails stops us here
        asked = questions(found, self.current, only_missing=not self.every_value, schema_of=lambda es: schemas[id(es)])
        if not self.every_value:
            note_held_but_not_synced(found, asked, env)
        if not asked:
            print("nothing to edit: the stores hold every value the selected ExternalSecrets read", file=env.stdout)
            return {}
        if self.interactive:
            asked = [asked[i] for i in ask.pick("Which values?", [
                (f"{q.name}  ({q.status})  {q.destination} {q.property}", i, not q.is_set)
                for i, q in enumerate(asked)])]
            if not asked:
                print("nothing picked: nothing written", file=env.stdout)
                return {}
        check_writable(stores, asked)  # before the first value is typed
        answers = ask_values(ask, asked, env)
        if not answers:
            print("nothing written: no value entered", file=env.stdout)
        return answers

    def candidates(self, externalsecrets: list[ExternalSecret], verdicts: list[Verdict] | None, ask, env):
        """The ExternalSecrets whose values are offered: picked (-i), all that match (-f), or the ones
        not populated."""
        if self.interactive:
            picked = ask.pick("Which ExternalSecrets?", [(f"{es.namespace}/{es.name}  {state(v)}", i, False)
                                                          for i, (es, v) in enumerate(zip(externalsecrets, verdicts))])
            if not picked:
                print("nothing picked: nothing written", file=env.stdout)
            return [externalsecrets[i] for i in picked]
        if verdicts is None:
            return externalsecrets
        # A Stale one counts too: ESO cannot refresh it, usually because its store lost a value.
        chosen = [es for es, v in zip(externalsecrets, verdicts) if v.state is not State.POPULATED]
        if not chosen:
            print(f"nothing to edit: {output.count(len(externalsecrets), 'ExternalSecret')} selected, all populated "
                  "(-f NAME offers every value of NAME)", file=env.stdout)
        return chosen


def state(v: Verdict) -> str:
    if v.state is State.POPULATED:
        return "populated"
    return v.state.value + (f", missing {', '.join(v.missing_keys)}" if v.missing_keys else "")


def note_held_but_not_synced(found, asked: list[Question], env) -> None:
    """A not-populated ExternalSecret whose store holds every value it reads needs ESO, not edit: say so."""
    reading = {name for q in asked for name in q.readers}
    for es, refs in found:
        if refs and f"{es.namespace}/{es.name}" not in reading:
            print(f"note: {es.namespace}/{es.name} is not populated, but its store holds every value it reads: "
                  f"kubectl jxsecret refresh -n {es.namespace} -f {es.name}", file=env.stderr)


def check_writable(stores, asked: list[Question]) -> None:
    keys: dict = {}
    for q in asked:
        keys.setdefault(q.destination.store, []).append(q.destination.key)
    for store, store_keys in keys.items():
        stores[store].check_writable(list(dict.fromkeys(store_keys)))


def ask_values(ask, asked: list[Question], env) -> dict[Question, str]:
    """A value for each question, masked unless its schema says noMask. Enter alone leaves it as it is (or
    takes the schema's defaultValue, for a value not set); Ctrl-C skips it, and a second Ctrl-C at the very
    next question raises KeyboardInterrupt: the whole edit stops, nothing written."""
    print(LEGEND, file=env.stderr, flush=True)
    answers, skipped_last = {}, False
    for q in asked:
        if q.is_set:
            state = "set; Enter keeps it"
        else:
            state = "not set; Enter takes the schema's defaultValue" if q.default else "not set"
        if not q.mask:  # the schema's noMask; LEGEND says values are hidden, so this one says otherwise
            state += "; shown as you type"
        instruction = f"({state})" + (f" {q.help}" if q.help else "")
        try:
            value = ask.secret(q.message, instruction, check=q.problem, default=q.default, mask=q.mask)
        except KeyboardInterrupt:
            if skipped_last:
                raise
            skipped_last = True
            print(f"skipped {q.name} (Ctrl-C again stops edit; nothing is written)", file=env.stderr, flush=True)
            continue
        skipped_last = False
        if value is not None:
            answers[q] = value
    return answers


def run(args, env) -> int:
    from .. import prompts

    options = Options.from_args(args)
    options.validate(env.stdin_isatty)
    options.complete()
    with prompts.terminal():
        return options.run(env, prompts.Prompter())
