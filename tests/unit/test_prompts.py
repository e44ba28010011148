"""The prompts edit asks, as real questionary prompts fed through prompt_toolkit's pipe input (the
`terminal` fixture): masking, new lines, files, picking with a search filter, Ctrl-C once and twice.
No cluster needed: edit's store and ESO side is tested in tests/integration/test_edit.py."""

import contextvars
import io
import secrets
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from kubectl_jxsecret import prompts
from kubectl_jxsecret.commands import edit
from kubectl_jxsecret.errors import JxSecretError, UsageError
from kubectl_jxsecret.model.plan import Destination, StoreRef
from kubectl_jxsecret.model.questions import Question

ENTER, CTRL_C, ALT_ENTER, BACKSPACE = "\r", "\x03", "\x1b\r", "\x7f"
PASTE_START, PASTE_END = "\x1b[200~", "\x1b[201~"


@pytest.fixture
def secret_file(tmp_path):
    path = tmp_path / "tls.crt"
    path.write_text("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
    return path


@pytest.mark.parametrize("typed, expected", [
    ("", None),
    ("s3cr3t", "s3cr3t"),
    ("  spaced  ", "  spaced  "),  # typed exactly
    ("@@home", "@home"),
    ("a@b", "a@b"),
])
def test_answer(typed, expected):
    assert prompts.answer(typed) == expected


def test_answer_from_a_file_is_its_exact_content(secret_file):
    assert prompts.answer(f"@{secret_file}") == secret_file.read_text()
    assert prompts.answer(f"@ {secret_file} ") == secret_file.read_text()


@pytest.mark.parametrize("content, error", [
    (None, "cannot read that file: No such file or directory (@@ for a value that starts with @)"),
    (b"", "that file is empty"),
    (b"\xff\xfe", "that file is not UTF-8 text"),
    (b"x" * (prompts.MAX_FILE_BYTES + 1), "that file is larger than 1 MiB: not a secret value"),
])
def test_answer_from_an_unusable_file(tmp_path, content, error):
    path = tmp_path / "value"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(prompts.FileError) as e:
        prompts.answer(f"@{path}")
    assert str(e.value) == error
    assert str(path) not in str(e.value)  # what was typed is never repeated: it may be a value


def test_answer_names_the_missing_file_name():
    with pytest.raises(prompts.FileError, match="^type a file name after @"):
        prompts.answer("@")


def test_secret_is_masked_on_the_screen(terminal):
    value = f"canary-{secrets.token_hex(8)}"
    terminal.type(value, ENTER)
    assert prompts.Prompter().secret("Nexus admin password", "(not set)") == value
    assert "? Nexus admin password  (not set) " + "*" * len(value) in terminal.shown
    assert value not in terminal.screen.getvalue()


def test_enter_alone_leaves_the_value_as_it_is(terminal):
    terminal.type(ENTER)
    assert prompts.Prompter().secret("q") is None


def test_a_default_is_in_the_input_masked_and_enter_takes_it(terminal):
    terminal.type(ENTER)
    assert prompts.Prompter().secret("Docker username", "(not set)", default="admin") == "admin"
    assert "? Docker username  (not set) *****" in terminal.shown
    assert "admin" not in terminal.screen.getvalue()


def test_an_erased_default_leaves_the_value_as_it_is(terminal):
    terminal.type(BACKSPACE * 5, ENTER)
    assert prompts.Prompter().secret("Docker username", default="admin") is None


def test_a_default_that_starts_with_an_at_is_that_text_not_a_file(terminal):
    terminal.type(ENTER)
    assert prompts.Prompter().secret("q", default="@home") == "@home"


def test_unmasked_shows_what_is_typed(terminal):
    terminal.type("jenkins-x-bot", ENTER)
    assert prompts.Prompter().secret("the pipeline username", "(not set)", mask=False) == "jenkins-x-bot"
    assert "? the pipeline username  (not set) jenkins-x-bot" in terminal.shown


def test_alt_enter_and_a_paste_make_several_lines(terminal):
    terminal.type("line1", ALT_ENTER, "line2", ENTER, PASTE_START, '{\r\n  "a": 1\r\n}', PASTE_END, ENTER)
    ask = prompts.Prompter()
    assert ask.secret("q") == "line1\nline2"
    assert ask.secret("q") == '{\n  "a": 1\n}'


def test_a_file_that_cannot_be_read_is_asked_again(terminal, secret_file, tmp_path):
    # The prompt runs in a thread (with the session's context) so that the screen can be looked at
    # between the keys: the error must be on it before the second try is typed.
    missing = f"@{tmp_path}/missing"
    with ThreadPoolExecutor(1) as pool:
        answer = pool.submit(contextvars.copy_context().run, prompts.Prompter().secret, "TLS certificate")
        terminal.pipe.send_text(missing + ENTER)
        wait_until(lambda: "cannot read that file: No such file or directory" in terminal.shown)
        terminal.pipe.send_text(BACKSPACE * len(missing) + f"@{secret_file}" + ENTER)
        assert answer.result(timeout=10) == secret_file.read_text()
    assert "missing" not in terminal.shown  # the typed text stays masked, in the error too


def test_a_value_the_check_refuses_is_asked_again_with_the_reason(terminal):
    refuse_short = lambda value: "is too short" if len(value) < 5 else ""  # noqa: E731
    with ThreadPoolExecutor(1) as pool:
        answer = pool.submit(contextvars.copy_context().run, prompts.Prompter().secret, "token", "", refuse_short)
        terminal.pipe.send_text("abc" + ENTER)
        wait_until(lambda: "refused: the value is too short" in terminal.shown)
        terminal.pipe.send_text("defgh" + ENTER)
        assert answer.result(timeout=10) == "abcdefgh"
    assert "abc" not in terminal.shown


def wait_until(check, timeout=10):
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "not shown in time"
        time.sleep(0.05)


def test_ctrl_c_and_ctrl_d_reach_the_caller(terminal):
    terminal.type(CTRL_C)
    ask = prompts.Prompter()
    with pytest.raises(KeyboardInterrupt):
        ask.secret("q")
    with pytest.raises(EOFError):  # the input is closed: what Ctrl-D on an empty line does too
        ask.secret("q")


def test_pick_with_a_search_filter(terminal):
    # Type to narrow to the hmac one, pick it; the one checked beforehand stays picked.
    terminal.type("hmac", " ", ENTER)
    choices = [("jx/lighthouse-oauth-token  populated", 0, True), ("jx/lighthouse-hmac-token  SyncError", 1, False),
               ("jx/nexus  populated", 2, False)]
    assert prompts.Prompter().pick("Which ExternalSecrets?", choices) == [0, 1]
    assert "type to filter" in terminal.shown


def test_pick_ctrl_c_reaches_the_caller(terminal):
    terminal.type(CTRL_C)
    with pytest.raises(KeyboardInterrupt):
        prompts.Prompter().pick("Which?", [("a", 0, False)])


def test_terminal_keeps_a_session_that_has_its_output(terminal):
    from prompt_toolkit.application.current import get_app_session

    ours = get_app_session().output
    with prompts.terminal():
        assert get_app_session().output is ours


# ------------------------------------------------------------------------------------------ edit's questions

def question(name, is_set=False, help_text=""):
    return Question(Destination(StoreRef("ClusterSecretStore", "vault"), "app"), name, f"jx/app.{name}", name,
                    help_text, is_set)


QUESTIONS = [question("a"), question("b", is_set=True, help_text="the b"), question("c")]


@pytest.mark.parametrize("keys, answered, skipped", [
    (["1", ENTER, "2", ENTER, "3", ENTER], {"a": "1", "b": "2", "c": "3"}, []),
    ([ENTER, ENTER, "3", ENTER], {"c": "3"}, []),  # Enter alone: left as it is
    ([CTRL_C, "2", ENTER, CTRL_C], {"b": "2"}, ["a", "c"]),  # Ctrl-C skips; an answer in between resets it
])
def test_ask_values(terminal, keys, answered, skipped):
    terminal.type(*keys)
    stderr = io.StringIO()
    answers = edit.ask_values(prompts.Prompter(), QUESTIONS, FakeEnv(stderr))
    assert {q.property: v for q, v in answers.items()} == answered
    assert stderr.getvalue().splitlines() == [edit.LEGEND] + [
        f"skipped jx/app.{name} (Ctrl-C again stops edit; nothing is written)" for name in skipped]
    shown = terminal.shown
    assert "? a  (not set)" in shown and "? b  (set; Enter keeps it) the b" in shown


def test_ctrl_c_twice_in_a_row_stops(terminal):
    terminal.type("1", ENTER, CTRL_C, CTRL_C)
    with pytest.raises(KeyboardInterrupt):
        edit.ask_values(prompts.Prompter(), QUESTIONS, FakeEnv(io.StringIO()))


class FakeEnv:
    def __init__(self, stderr):
        self.stderr = stderr


# ------------------------------------------------------------------------------------------ edit's options

def options(*argv):
    from kubectl_jxsecret.cli import build_parser

    return edit.Options.from_args(build_parser().parse_args(["edit", *argv]))


@pytest.mark.parametrize("argv, every_value, name_filter", [
    ([], False, ()),
    (["-l", "team=web"], False, ()),
    (["-f", "nexus"], True, ("nexus",)),
    (["-f", "nexus", "--filter", "hmac"], True, ("nexus", "hmac")),
    (["-i"], True, ()),
])
def test_options(argv, every_value, name_filter):
    o = options(*argv)
    assert (o.every_value, o.selection.name_filter) == (every_value, name_filter)


def test_no_terminal_is_refused_before_anything_else():
    o = options("--timeout", "90s")
    with pytest.raises(JxSecretError) as e:
        o.validate(stdin_isatty=False)
    assert str(e.value) == ("edit asks for values at a terminal, but stdin is not one: from a script or CI, put the "
                            "values in a file and run kubectl jxsecret import -f FILE")
    assert o.kube is None
    o.validate(stdin_isatty=True)
    assert o.timeout_seconds == 90


def test_a_bad_timeout_is_a_usage_error():
    with pytest.raises(UsageError, match="--timeout"):
        options("--timeout", "soon").validate(stdin_isatty=True)
