"""The one exception hierarchy and the exit codes; cli.main maps the one to the other.

Messages are single lines that name the thing and the fix. They never contain
secret values: callers pass names, paths and keys, never data.
"""

import enum


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
