"""Open `vault portforward` tunnels, recorded so that `vault env` exports the address of one of ours and
never a port where something else might listen (it would be handed the cluster's Vault token).

Each tunnel writes one private file (0600, in a 0700 directory under $XDG_RUNTIME_DIR, else the user's
cache directory): where it forwards (API server, namespace, service, port, pod) and its local port;
nothing secret. It holds an exclusive lock on that file while it lives and removes the file when it
closes. A reader that can take the lock has found the record of a tunnel that died without cleaning up
(SIGKILL, a crash): the lock, unlike a pid, is never inherited by an unrelated process.
"""

import contextlib
import fcntl
import json
import os  # not tempfile nor pathlib: ~7 ms of imports (shutil, random) at every tunnel's start


def records_dir(environ) -> str:
    base = environ.get("XDG_RUNTIME_DIR") or environ.get("XDG_CACHE_HOME") or \
        os.path.join(environ.get("HOME") or os.path.expanduser("~"), ".cache")
    return os.path.join(base, "kubectl-jxsecret", "tunnels")


class TunnelRecord:
    """This process's tunnel, recorded until close()."""

    def __init__(self, info: dict, environ=os.environ):
        directory = records_dir(environ)
        os.makedirs(directory, mode=0o700, exist_ok=True)
        os.chmod(directory, 0o700)  # makedirs' mode is masked by the umask
        # A name never used before: a reader holding a dead record's file cannot remove a new one.
        name = f"{os.getpid()}-{os.urandom(6).hex()}"
        temporary = os.path.join(directory, f".{name}.tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)  # 0600 from the start
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            os.write(fd, json.dumps(dict(info, pid=os.getpid())).encode())
            # Readers only look at *.json: they never see a record before it is locked and complete.
            self.path = os.path.join(directory, f"{name}.json")
            os.rename(temporary, self.path)
        except BaseException:
            os.close(fd)
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise
        self.fd = fd

    def close(self) -> None:
        if self.fd is None:
            return
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)  # before the lock goes: no reader sees it unlocked and takes it for dead
        os.close(self.fd)
        self.fd = None


def live_records(environ=os.environ) -> list[dict]:
    """The records of tunnels that are still open; those left behind by dead ones are removed."""
    directory = records_dir(environ)
    found = []
    names = sorted(os.listdir(directory)) if os.path.isdir(directory) else []
    for path in (os.path.join(directory, name) for name in names if name.endswith(".json")):
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        except OSError:
            continue  # closed in between
        try:
            info = os.fstat(fd)
            if info.st_uid != os.getuid() or info.st_mode & 0o077:
                continue  # not written by us: never trust it
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:  # its tunnel holds it: alive
                try:
                    found.append(json.loads(os.read(fd, 65536)))
                except ValueError:
                    pass
            else:  # nobody holds it: the tunnel died without removing it
                with contextlib.suppress(OSError):
                    os.unlink(path)
        finally:
            os.close(fd)
    return found
