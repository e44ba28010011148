"""The questionary adapter: the only module that reads from a terminal.

Each method asks one thing and returns the answer. Ctrl-C raises KeyboardInterrupt and a closed input
(Ctrl-D) EOFError: what they mean is the command's call. Prompts draw on the terminal through
prompt_toolkit's current app session, which tests replace with a pipe input (ecosystem notes §6).

A secret answer is masked as it is typed (unless the caller says it is no secret). Enter alone means
"leave it as it is" (None), or takes the default the prompt starts with; Alt-Enter (or Esc then Enter)
starts a new line, and a paste keeps its newlines, so certificates and JSON fit; `@PATH` reads the value
from a file (`@@…` for a value that really starts with @).
"""

import contextlib
import os

FILE_PREFIX = "@"
MAX_FILE_BYTES = 1 << 20  # a secret value, not a disk image: `@/dev/zero` must not hang
# questionary's own hint names <ctrl-a> twice with a search filter (invert is <ctrl-i>).
PICK_KEYS = "(type to filter, <up>/<down> to move, <space> to pick, <ctrl-a> all, <enter> to go on)"


class FileError(ValueError):
    """An `@PATH` answer whose file cannot be used. The message never repeats what was typed: a value
    that starts with @ by mistake would otherwise be shown on the screen."""


def answer(text: str) -> str | None:
    """What a typed answer means: None for nothing typed, a file's exact content for `@PATH`, `@x` for
    `@@x`, else the text itself."""
    if text == "":
        return None
    if text.startswith(FILE_PREFIX * 2):
        return text[1:]
    if not text.startswith(FILE_PREFIX):
        return text
    path = os.path.expanduser(text[1:].strip())
    if not path:
        raise FileError("type a file name after @ (or @@ for a value that starts with @)")
    try:
        with open(path, "rb") as f:
            content = f.read(MAX_FILE_BYTES + 1)
    except OSError as e:
        raise FileError(f"cannot read that file: {e.strerror} (@@ for a value that starts with @)") from None
    if len(content) > MAX_FILE_BYTES:
        raise FileError("that file is larger than 1 MiB: not a secret value")
    try:
        value = content.decode("utf-8")
    except UnicodeDecodeError:
        raise FileError("that file is not UTF-8 text") from None
    if not value:
        raise FileError("that file is empty")
    return value


@contextlib.contextmanager
def terminal():
    """Prompts go to the terminal even when stdout is redirected (`edit > log`): to stderr then, if that
    is one. A session that already has an output (tests: pipe input, captured screen) is kept."""
    from prompt_toolkit.application.current import create_app_session, get_app_session
    from prompt_toolkit.output.defaults import create_output

    # create_app_session inherits the caller's input/output when given None; prompt_toolkit itself
    # looks at `_output` the same way to tell "set" from "not created yet".
    output = None if get_app_session()._output is not None else create_output(always_prefer_tty=True)
    with create_app_session(output=output):
        yield


class Prompter:
    """The questions a command asks, with questionary."""

    def pick(self, message: str, choices: list[tuple[str, object, bool]]) -> list:
        """Several of `choices` ((title, value, checked) each), with a search filter: type to narrow."""
        import questionary

        return questionary.checkbox(
            message, choices=[questionary.Choice(title, value=value, checked=checked)
                              for title, value, checked in choices],
            use_search_filter=True, use_jk_keys=False, instruction=PICK_KEYS).unsafe_ask()

    def secret(self, message: str, instruction: str = "", check=None, default: str = "",
               mask: bool = True) -> str | None:
        """A value (see answer()), masked unless `mask` is False; None when nothing was typed. `default` is
        in the input when the prompt opens (masked too): Enter takes it, erasing it leaves the value as it is.
        An unreadable `@PATH`, or a value `check(value)` finds a problem with (the schema's minLength/
        maxLength/pattern), is refused on the spot with the reason, and the prompt stays for another try."""
        import questionary
        from prompt_toolkit.key_binding import KeyBindings

        keys = KeyBindings()

        @keys.add("escape", "enter")
        def _newline(event):
            event.current_buffer.insert_text("\n")

        resolved: dict[str, str | None] = {}

        def validate(text):
            try:
                resolved[text] = answer(text)
            except FileError as e:
                return str(e)
            problem = check(resolved[text]) if check and resolved[text] is not None else ""
            return f"refused: the value {problem}" if problem else True

        if default.startswith(FILE_PREFIX):  # a default of "@x" is that text, not a file
            default = FILE_PREFIX + default
        text = questionary.text(message, default=default, instruction=instruction or None, validate=validate,
                                key_bindings=keys, validate_while_typing=False, is_password=mask).unsafe_ask()
        return resolved[text] if text in resolved else answer(text)

    def text(self, message: str, default: str = "", check=None) -> str:
        """A line of plain text (not a secret: names, paths); `check(text)` returns why it is refused ("" = fine),
        and the prompt stays for another try."""
        import questionary

        def validate(text):
            problem = check(text) if check else ""
            return problem or True

        return questionary.text(message, default=default, validate=validate).unsafe_ask()
