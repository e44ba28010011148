"""Follow a collection as it changes: one LIST, then a watch from its resourceVersion (client-go's
reflector, small). The watch streams one JSON event per line; when it ends (the server's
timeoutSeconds) it is reopened from the last resourceVersion seen, bookmarks included; when that
version is too old (410 Gone) the collection is listed again. Idle, that is one request per
`WATCH_SECONDS`, not a LIST per poll.

Where RBAC allows the LIST but not the watch, the collection is listed again every `poll` seconds
instead (`on_note` hears of it once). A LIST refused outright (401, 403, 404) ends the reflector when
the caller gives `on_failure`: retrying would not change the answer.
"""

import json
import random
import threading
from collections.abc import Callable

from ..errors import KubeError, first_line

WATCH_SECONDS = 300  # the server ends a watch after this long; we reopen it from where it was
PAGE_SIZE = 500


class Gone(Exception):
    """The resourceVersion we watch from is no longer in the server's window: list again."""


def listing(kube, path: str, query: dict | None = None, transform=lambda item: item) -> tuple[list, str]:
    """(every item, through `transform`, page by page; the LIST's resourceVersion)."""
    query = dict(query or {}, limit=PAGE_SIZE)
    items, version = [], ""
    while True:
        page = kube.get(path, query)
        items += [transform(item) for item in page.get("items") or []]
        meta = page.get("metadata") or {}
        version = version or str(meta.get("resourceVersion") or "")
        if not meta.get("continue"):
            return items, version
        query["continue"] = meta["continue"]


def describe(path: str) -> str:
    """What a collection path holds, for messages: `secrets in namespace jx`, `externalsecrets.external-secrets.io
    in all namespaces`."""
    parts = path.strip("/").split("/")
    group = "" if parts[0] == "api" else parts[1]
    resource = parts[-1] + (f".{group}" if group else "")
    namespace = parts[parts.index("namespaces") + 1] if "namespaces" in parts[:-1] else ""
    return f"{resource} in namespace {namespace}" if namespace else f"{resource} in all namespaces"


def decode(line: bytes) -> tuple[str, dict, str]:
    """(type, object, resourceVersion to resume from) of one watch line; raises Gone on 410."""
    event = json.loads(line)
    kind, obj = str(event.get("type") or ""), event.get("object") or {}
    if kind == "ERROR":
        if obj.get("code") == 410:
            raise Gone(obj.get("message") or "resourceVersion too old")
        raise KubeError(f"watch failed: {obj.get('message') or obj}", obj.get("code"))
    return kind, obj, str((obj.get("metadata") or {}).get("resourceVersion") or "")


def lines(response):
    """The lines of a streamed response as they arrive (chunks need not end at a line)."""
    buffer = b""
    for chunk in response.stream(64 * 1024):
        buffer += chunk
        *complete, buffer = buffer.split(b"\n")
        yield from (line for line in complete if line.strip())
    if buffer.strip():
        yield buffer


class Reflector:
    """Keep `on_reset(items)` / `on_event(type, obj)` told about the collection at `path` until `stop` is set.

    `on_connection(ok, message)` hears when the API server stops answering and when it answers again.
    `transform` turns each object into what is kept (e.g. a Secret into its key names), as soon as it is read.
    `on_note(message)` hears once that the watch is forbidden and the collection is polled instead;
    `on_failure(error)`, if given, that the LIST itself is refused (401, 403, 404): the reflector then ends.
    """

    def __init__(self, kube, path: str, on_reset: Callable, on_event: Callable, on_connection: Callable,
                 query: dict | None = None, transform=lambda obj: obj, stop: threading.Event | None = None,
                 watch_seconds: int = WATCH_SECONDS, poll: float = 2.0, on_note: Callable = lambda message: None,
                 on_failure: Callable | None = None):
        self.kube, self.path, self.query = kube, path, dict(query or {})
        self.on_reset, self.on_event, self.on_connection = on_reset, on_event, on_connection
        self.on_note, self.on_failure = on_note, on_failure
        self.transform = transform
        self.stop = stop or threading.Event()
        self.watch_seconds, self.poll = watch_seconds, poll
        self.version = ""
        self.connected = True
        self.polling = False  # the watch is forbidden: LIST every `poll` seconds

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self.run, name=f"watch {self.path}", daemon=True)
        thread.start()
        return thread

    def run(self) -> None:
        delay = 0.5
        while not self.stop.is_set():
            try:
                if not self.version:
                    try:
                        items, self.version = listing(self.kube, self.path, self.query, self.transform)
                    except KubeError as e:
                        if self.on_failure and e.status in (401, 403, 404):
                            self.on_failure(e)
                            return
                        raise
                    self.on_reset(items)
                    self.connected_again()
                if self.polling:
                    self.stop.wait(self.poll)
                    self.version = ""
                    continue
                self.watch()
                delay = 0.5
            except Gone:
                self.version = ""  # relist
            except Exception as e:  # unreachable, refused, cut off: a watch thread must not die
                if isinstance(e, KubeError) and e.status == 410:
                    self.version = ""
                    continue
                if isinstance(e, KubeError) and e.status == 403 and self.version:
                    # Listed, but not allowed to watch: poll, as the LIST is allowed.
                    self.polling = True
                    self.on_note(f"cannot watch {describe(self.path)}: forbidden; listing them every "
                                 f"{self.poll:g}s instead")
                    continue
                if self.connected:
                    self.connected = False
                    self.on_connection(False, first_line(e))
                self.stop.wait(delay * (1 + random.random() / 4))
                delay = min(delay * 2, 5.0)

    def connected_again(self) -> None:
        if not self.connected:
            self.connected = True
            self.on_connection(True, "")

    def watch(self) -> None:
        from .transport import Unreachable

        query = dict(self.query, watch="1", resourceVersion=self.version, allowWatchBookmarks="true",
                     timeoutSeconds=str(self.watch_seconds))
        response = self.kube.stream(self.path, query, read_timeout=self.watch_seconds + 30)
        self.connected_again()
        try:
            for line in lines(response):
                if self.stop.is_set():
                    return
                kind, obj, version = decode(line)
                if kind != "BOOKMARK":
                    self.on_event(kind, self.transform(obj))
                if version:
                    self.version = version
        except (Unreachable, OSError) as e:  # the stream cut: its reason ("the connection closed ...") names no server
            raise KubeError(f"lost the watch of {describe(self.path)} at the API server {self.kube.server} "
                            f"(context \"{self.kube.context}\"): {first_line(e)}") from None
        finally:
            response.release_conn()


def follow(kube, path, on_reset, on_event, on_connection, **kw) -> Reflector:
    """Start a Reflector in a daemon thread; set its `stop` to end it."""
    reflector = Reflector(kube, path, on_reset, on_event, on_connection, **kw)
    reflector.start()
    return reflector

