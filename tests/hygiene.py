"""Secret hygiene, suite-wide: a canary (a unique random value) seeded anywhere by a test must never come out
of the plugin, except in an export the user asked for.

The guard learns every canary a test seeds: `canary-...` (plain or base64) in what it applies with kubectl,
writes to OpenBao or puts in a file before a run, and those `mint` makes. Then it checks:
- each `kubectl jxsecret` run made through the testbed helpers: its stdout and stderr (error lines and
  tracebacks carry exception messages), the argument lists of the plugin and of every child it starts
  (`/proc/<pid>/cmdline`, sampled while it runs, tunnels included), the files left in its own TMPDIR, and the
  files it wrote under pytest's temporary directory (every tmp_path) but the export it was asked for
  (`export -f FILE`, `-f -` for stdout, `replicate --dir DIR`);
- plugin processes a test starts itself (Popen of `vault portforward`, `ui`, `wait`): their argument lists
  and their children's, sampled in the background;
- the message of an exception that escapes a test (in-process plugin code).
A leak in a run fails its test at once; every leak is listed at the end and fails the session.

Loaded as a plugin by tests/conftest.py; tests/hygiene_test.py proves that it catches each kind of leak.
"""

import base64
import os
import re
import secrets
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

CANARY = re.compile(r"canary-[0-9A-Za-z][0-9A-Za-z-]{7,}")
BASE64 = re.compile(r"[A-Za-z0-9+/]{16,}={0,2}")  # a Secret's `data` holds its canaries base64-encoded
PLUGIN = ("kubectl", "jxsecret")
SAMPLE_SECONDS = 0.05  # a /proc scan costs ~3 ms: 6% of a core while a plugin runs


@dataclass(frozen=True)
class Leak:
    test: str
    canary: str
    where: str
    command: str

    def __str__(self):
        return f"{self.test}: canary {self.canary} in {self.where} of `{self.command}`"


@dataclass
class Guard:
    canaries: set = field(default_factory=set)
    leaks: list = field(default_factory=list)
    test: str = "(session setup)"
    watched: Path | None = None  # pytest's base temporary directory: every tmp_path is below it
    runs: int = 0
    files: int = 0
    samples: int = 0
    pids: set = field(default_factory=set)  # every plugin process (or child) whose argument list was checked
    _files_seen: dict = field(default_factory=dict)
    _argvs_seen: dict = field(default_factory=dict)  # pid -> argument list, of the background watch

    def mint(self) -> str:
        canary = f"canary-{secrets.token_hex(8)}"
        self.canaries.add(canary)
        return canary

    def learn(self, *texts) -> None:
        """Take in the canaries a test seeds: in what it applies, writes or passes to a command of its own."""
        for text in texts:
            if isinstance(text, bytes):
                text = text.decode("utf-8", "replace")
            if isinstance(text, str):
                self.canaries.update(CANARY.findall(text))
                for chunk in BASE64.findall(text):
                    try:
                        self.canaries.update(CANARY.findall(base64.b64decode(chunk).decode()))
                    except ValueError:  # not base64 of text after all
                        pass

    def learn_payload(self, payload) -> None:
        """Canaries in a request body (OpenBao writes through hvac): strings at any depth."""
        if isinstance(payload, dict):
            for value in payload.values():
                self.learn_payload(value)
        elif isinstance(payload, (list, tuple)):
            for value in payload:
                self.learn_payload(value)
        else:
            self.learn(payload)

    # ------------------------------------------------------------------------------------------ a run

    def run(self, cmd: list, env: dict, input=None, timeout=120) -> subprocess.CompletedProcess:
        """A command of the test's; a `kubectl jxsecret` one is watched and checked."""
        cmd = [str(c) for c in cmd]
        if tuple(cmd[:2]) != PLUGIN:
            self.learn(input, *cmd)
            return subprocess.run(cmd, capture_output=True, text=True, env=env, input=input, timeout=timeout)
        self.learn_files()
        with tempfile.TemporaryDirectory(prefix="hygiene-tmp-") as tmp:
            result, argvs = self._watched(cmd, dict(env, TMPDIR=tmp), input, timeout)
            leftovers = [p for p in Path(tmp).rglob("*") if p.is_file()]
            self.check(cmd, result.stdout, result.stderr, argvs, leftovers, self.written_files())
        return result

    def _watched(self, cmd, env, input, timeout):
        """Run `cmd`, sampling the argument lists of it and its children until it ends."""
        argvs: dict[int, str] = {}
        done = threading.Event()
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE if input is not None else None,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)

        def sample():
            while not done.is_set():
                for pid in descendants(proc.pid):
                    argv = cmdline(pid)
                    if argv is not None:
                        self.pids.add(pid)
                        argvs.setdefault(pid, argv)
                        if argv != argvs[pid]:  # an exec: keep both
                            argvs[pid] = argvs[pid] + "\n" + argv
                self.samples += 1
                done.wait(SAMPLE_SECONDS)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        try:
            stdout, stderr = proc.communicate(input, timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            raise
        finally:
            done.set()
            sampler.join()
        return subprocess.CompletedProcess(cmd, proc.returncode, stdout, stderr), argvs

    def check(self, cmd, stdout, stderr, argvs, leftovers, written) -> list:
        """Every place a canary must not be; records and returns the leaks found, failing the test on one."""
        self.runs += 1
        args = cmd[len(PLUGIN):]
        asked = asked_for(args)
        places = {"stderr": stderr}
        if "-" not in asked:
            places["stdout"] = stdout
        for pid, argv in argvs.items():
            places[f"argument list of pid {pid} ({argv.split(chr(0))[0]})"] = argv
        for path in leftovers:
            self.files += 1
            places[f"file left in its TMPDIR: {path.name}"] = read(path)
        for path in written:
            self.files += 1
            if not any(path == p or p in path.parents for p in asked if p != "-"):
                places[f"file it wrote: {path}"] = read(path)
        found = [Leak(self.test, canary, where, " ".join(cmd)) for where, text in places.items()
                 for canary in sorted(self.canaries) if canary in text or encoded(canary) in text]
        self.leaks += found
        if found:
            raise AssertionError("secret hygiene: " + "; ".join(map(str, found)))
        return found

    def check_exception(self, test: str, error: BaseException) -> list:
        """An exception that escaped a test (in-process plugin code: cli.main, a store, a prompt) must not carry
        a canary either. An AssertionError is the test's own comparison, which may show what it compared."""
        if isinstance(error, AssertionError):
            return []
        text = " ".join(str(e) for e in (error, error.__cause__, error.__context__) if e is not None)
        found = [Leak(test, canary, f"message of {type(error).__name__}", "(in-process)")
                 for canary in sorted(self.canaries) if canary in text or encoded(canary) in text]
        self.leaks += found
        return found

    # ------------------------------------------------------------------------------------------ background

    def watch_processes(self, interval=0.2) -> None:
        """Sample, for the rest of the session, the argument lists of every plugin process a test starts itself
        (`subprocess.Popen` of `kubectl jxsecret vault portforward`, `ui`, `wait`, ...) and of their children.
        A leak seen here cannot fail its test (it is another thread's): it fails the session."""
        def watch():
            while True:
                try:
                    self.sample_plugin_processes(os.getpid())
                except OSError:  # /proc changed under us: next time
                    pass
                time.sleep(interval)

        threading.Thread(target=watch, name="hygiene-watch", daemon=True).start()

    def sample_plugin_processes(self, root: int) -> None:
        tree = children_of()
        plugin_roots = [pid for pid in descendants(root, tree)[1:] if "jxsecret" in (cmdline(pid) or "")]
        for pid in {p for top in plugin_roots for p in descendants(top, tree)}:
            argv = cmdline(pid)
            if argv is None or self._argvs_seen.get(pid) == argv:
                continue
            self._argvs_seen[pid] = argv
            self.pids.add(pid)
            self.leaks += [Leak(self.test, canary, f"argument list of pid {pid}", argv.replace("\0", " "))
                           for canary in sorted(self.canaries.copy()) if canary in argv or encoded(canary) in argv]
        self.samples += 1

    # ------------------------------------------------------------------------------------------ files

    def _snapshot(self) -> dict:
        if self.watched is None or not self.watched.is_dir():
            return {}
        found = {}
        for path in self.watched.rglob("*"):
            try:
                stat = path.stat()
            except OSError:  # gone meanwhile
                continue
            if path.is_file():
                found[path] = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
        return found

    def learn_files(self) -> None:
        """Files the test wrote since the last run (inputs for import, convert, ...): their canaries are seeded."""
        now = self._snapshot()
        for path, stamp in now.items():
            if self._files_seen.get(path) != stamp:
                self.learn(read(path))
        self._files_seen = now

    def written_files(self) -> list:
        """Files new or changed since learn_files(): written by the run."""
        now = self._snapshot()
        changed = [path for path, stamp in now.items() if self._files_seen.get(path) != stamp]
        self._files_seen = now
        return changed

    def summary(self) -> str:
        verdict = f"{len(self.leaks)} LEAK(S)" if self.leaks else "no leak"
        return (f"secret hygiene: {self.runs} plugin runs checked (stdout, stderr, argument lists of "
                f"{len(self.pids)} processes in {self.samples} samples, {self.files} files scanned), "
                f"{len(self.canaries)} canaries seeded: {verdict}")


def encoded(canary: str) -> str:
    return base64.b64encode(canary.encode()).decode()


def asked_for(args: list) -> set:
    """Where this command line asks for values to be written: "-" (stdout) or paths."""
    command = next((a for a in args if not a.startswith("-")), "")
    flags = {"export": ("-f", "--file"), "replicate": ("--dir",)}.get(command, ())
    found = set()
    for i, arg in enumerate(args):
        name, eq, value = arg.partition("=")
        if name in flags:
            value = value if eq else (args[i + 1] if i + 1 < len(args) else "")
            found.add(value if value == "-" else Path(value).resolve())
    return found


def children_of() -> dict:
    """pid -> its children's pids, from /proc."""
    children: dict[int, list] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                with open(f"/proc/{entry.name}/stat", "rb") as f:
                    stat = f.read()
            except OSError:
                continue
            ppid = int(stat[stat.rindex(b")") + 2:].split()[1])  # the name may hold spaces and parentheses
            children.setdefault(ppid, []).append(int(entry.name))
    return children


def descendants(root: int, children: dict | None = None) -> list:
    """`root` and every process below it."""
    children = children_of() if children is None else children
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo += children.get(pid, [])
    return found


def cmdline(pid: int) -> str | None:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().decode("utf-8", "replace") or None
    except OSError:
        return None


def read(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8", "replace")
    except OSError:
        return ""


# ------------------------------------------------------------------------------------------ the plugin

GUARD = Guard()


def pytest_runtest_setup(item):
    GUARD.test = item.nodeid


def pytest_exception_interact(node, call, report):
    if call.excinfo is not None:
        GUARD.check_exception(node.nodeid, call.excinfo.value)


def pytest_terminal_summary(terminalreporter):
    if GUARD.runs or GUARD.leaks:
        terminalreporter.write_line(GUARD.summary(), red=bool(GUARD.leaks), bold=bool(GUARD.leaks))
        for leak in GUARD.leaks:
            terminalreporter.write_line(f"  {leak}", red=True)


def pytest_sessionfinish(session):
    if GUARD.leaks:
        session.exitstatus = 1


