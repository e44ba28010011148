"""The local HTTP server of `kubectl jxsecret ui`: the page, its JSON, and a server-sent event stream.

Every request carries the per-run token: in the printed URL once (then traded for an HttpOnly,
SameSite=Strict cookie, as Jupyter does), else 403. The Host header must name the address we listen
on, so a web page cannot reach us through DNS rebinding. POSTs also need a custom header, which a
cross-site form cannot send. The page's files are package data: nothing is fetched from elsewhere.
"""

import hmac
import json
import queue
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources

STATIC = {"/": ("index.html", "text/html; charset=utf-8"), "/app.js": ("app.js", "text/javascript; charset=utf-8"),
          "/app.css": ("app.css", "text/css; charset=utf-8")}
HEARTBEAT = 15.0  # seconds between keep-alive comments on the event stream
CSP = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'"


class App:
    """What the handler serves: `live` (state.Live), `detail(ns, name)`, `refresh(items)` or None (read-only)."""

    def __init__(self, token: str, live, detail, refresh=None):
        self.token, self.live, self.detail, self.refresh = token, live, detail, refresh
        self.cookie = "jxsecret-ui"
        self.hosts: set[str] = set()


class Handler(BaseHTTPRequestHandler):
    server_version = "kubectl-jxsecret-ui"
    protocol_version = "HTTP/1.1"
    app: App = None  # set per server

    def log_message(self, format, *args):  # quiet: the terminal shows the URL, not a request log
        pass

    # ---------------------------------------------------------------- guards
    def authorized(self) -> bool:
        if (self.headers.get("Host") or "") not in self.app.hosts:
            return False
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
        given = (query.get("token") or [""])[0]
        if not given:
            for part in (self.headers.get("Cookie") or "").split(";"):
                name, _, value = part.strip().partition("=")
                if name == self.app.cookie:
                    given = value
        return bool(given) and hmac.compare_digest(given.encode(), self.app.token.encode())

    def deny(self):
        self.send_body(403, b"forbidden: open the URL that kubectl jxsecret ui printed (it carries the token)\n",
                       "text/plain; charset=utf-8")

    # ---------------------------------------------------------------- replies
    def send_body(self, status: int, body: bytes, content_type: str, extra=()):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("X-Frame-Options", "DENY")
        self.send_header("Content-Security-Policy", CSP)
        self.send_header("Referrer-Policy", "no-referrer")
        for name, value in extra:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def send_json(self, data, status=200):
        self.send_body(status, json.dumps(data).encode(), "application/json")

    # ---------------------------------------------------------------- routes
    def do_GET(self):
        if not self.authorized():
            return self.deny()
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query)
        if "token" in query:  # trade the token in the URL for a cookie, and drop it from the address bar
            cookie = f"{self.app.cookie}={self.app.token}; HttpOnly; SameSite=Strict; Path=/"
            return self.send_body(303, b"", "text/plain", [("Location", url.path or "/"), ("Set-Cookie", cookie)])
        if url.path in STATIC:
            name, content_type = STATIC[url.path]
            body = resources.files(__package__).joinpath("static", name).read_bytes()
            return self.send_body(200, body, content_type)
        if url.path == "/api/rows":
            return self.send_json({**self.app.live.snapshot(), "allowRefresh": self.app.refresh is not None})
        if url.path == "/api/detail":
            found = self.app.detail((query.get("namespace") or [""])[0], (query.get("name") or [""])[0])
            return self.send_json(found) if found else self.send_json({"error": "not found"}, 404)
        if url.path == "/api/events":
            return self.stream()
        self.send_json({"error": "not found"}, 404)

    def do_POST(self):
        if not self.authorized() or self.headers.get("X-Requested-By") != "jxsecret-ui":
            return self.deny()
        if urllib.parse.urlsplit(self.path).path != "/api/refresh":
            return self.send_json({"error": "not found"}, 404)
        if self.app.refresh is None:
            return self.send_json({"error": "read-only: start kubectl jxsecret ui with --allow-refresh"}, 403)
        try:
            length = int(self.headers.get("Content-Length") or 0)
            items = json.loads(self.rfile.read(min(length, 1 << 20)) or b"{}").get("items") or []
            pairs = [(str(i["namespace"]), str(i["name"])) for i in items]
        except (ValueError, KeyError, TypeError, AttributeError):
            return self.send_json({"error": "want {\"items\": [{\"namespace\": ..., \"name\": ...}]}"}, 400)
        try:
            return self.send_json(self.app.refresh(pairs))
        except Exception as e:  # an API error: the page shows it
            from ..errors import first_line

            return self.send_json({"error": first_line(e)}, 502)

    def stream(self):
        """Server-sent events: a snapshot, then each change as the watches report it."""
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        listener = self.app.live.subscribe()
        try:
            while True:
                try:
                    message = listener.get(timeout=HEARTBEAT)
                    chunk = f"data: {json.dumps(message)}\n\n"
                except queue.Empty:
                    chunk = ": keep-alive\n\n"
                self.wfile.write(chunk.encode())
                self.wfile.flush()
        except OSError:  # the page went away
            pass
        finally:
            self.app.live.unsubscribe(listener)
            self.close_connection = True


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def serve(app: App, address: str, port: int) -> Server:
    """A bound server (not yet serving): `server.server_address[1]` is the port, chosen by the OS for 0."""
    import socket

    handler = type("BoundHandler", (Handler,), {"app": app})
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    server = type("BoundServer", (Server,), {"address_family": family})((address, port), handler)
    bound = server.server_address[1]
    host = f"[{address}]" if ":" in address else address
    app.hosts = {f"{host}:{bound}"} | ({f"localhost:{bound}"} if address in ("127.0.0.1", "::1") else set())
    return server
