"""The one exception hierarchy and the exit codes; cli.main maps the one to the other.

Messages are single lines that name the thing and the fix. They never contain
secret values: callers pass names, paths and keys, never data.
"""

import enum
import re

# Characters that end a line or drive the terminal (str.splitlines breaks at all of these).
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


class ExitStatus(enum.IntEnum):
    OK = 0
    ERROR = 1  # a failure we explain in one line
    USAGE = 2  # the command line is wrong
    NOT_POPULATED = 3  # verify/wait: some ExternalSecret is not populated
    INTERRUPTED = 130  # Ctrl-C


class JxSecretError(Exception):
    """Any failure we expect and explain: printed as `error: <message>`, exit 1."""


class UsageError(JxSecretError):
    """The command line itself is wrong: exit 2 with a `see -h` hint."""


class ConfigError(JxSecretError):
    """kubeconfig missing or inconsistent (unknown context, no cluster, bad YAML)."""


class KubeError(JxSecretError):
    """The Kubernetes API refused or failed a request."""

    def __init__(self, message, status=None):
        super().__init__(message)
        self.status = status


class StoreError(JxSecretError):
    """The secret store (Vault/OpenBao, ...) refused or failed a request."""


class SettingError(JxSecretError):
    """A setting (flag, variable, store field, file) is wrong: waiting or retrying cannot help."""


def first_line(error) -> str:
    """The first line of an error (or of any text): library errors often carry chains and dumps."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def printable(text: str) -> str:
    """`text` with control characters escaped (`\\n`, `\\x1b`): what a user typed, echoed in a message, keeps
    the message on one line and cannot move the cursor or recolour the terminal."""
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


# Where a library's message can quote a credential: a request's headers, a kubeconfig, a token's own shape.
# A pattern, not compiled here: only --debug needs it, and compiling it costs every run 0.5 ms (re caches it).
_CREDENTIALS = (
    r"(?i)(\b(?:x-vault-token|authorization|token|password|client-key-data)[\"']?\s*[:=]\s*[\"']?"
    r"(?:(?:bearer|basic)\s+)?|\b(?:bearer|basic)\s+)[^\s\"',}]+"
    r"|\bhv[sbr]\.[\w-]{20,}")


def redact(text: str, known=()) -> str:
    """`text` (a --debug traceback) without credentials: the `known` ones (the process's tokens) and any that
    looks like one. Values never reach an exception message in the first place (see above)."""
    for secret in sorted((k for k in known if len(k) >= 4), key=len, reverse=True):
        text = text.replace(secret, "<redacted>")
    return re.sub(_CREDENTIALS, lambda m: (m.group(1) or "") + "<redacted>", text)
