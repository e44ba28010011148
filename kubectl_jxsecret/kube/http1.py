"""HTTP/1.1 over one socket, as much of it as the API server's answers need: a request with a body of
known length, and an answer whose body has a Content-Length, is chunked, or ends with the connection;
optionally through a proxy's CONNECT tunnel and TLS.

Why not http.client: it imports the email package, ~7 ms of a ~70 ms verify, on every call.
Failures are OSErrors; ConnectionResetError where the connection ended early (the server closed a kept
connection, or cut an answer short), which is what a GET may be retried on.
"""

import socket
import ssl

from ..errors import ConfigError

MAX_LINE = 65536
NO_BODY = (204, 304)
SWITCHING_PROTOCOLS = 101


class Headers(dict):
    """Answer headers by lower-case name (a repeated header keeps its last value)."""

    def get(self, name, default=None):
        return super().get(name.lower(), default)


def read_head(fp) -> tuple[int, str, Headers]:
    """(status, reason, headers) of an answer; 1xx interim answers are skipped, but for 101 Switching Protocols:
    the answer to an upgrade, after which the connection speaks the new protocol."""
    while True:
        line = fp.readline(MAX_LINE + 1)
        if not line:
            raise ConnectionResetError("the server closed the connection without an answer")
        version, _, rest = line.decode("latin-1").strip().partition(" ")
        status, _, reason = rest.partition(" ")
        if not version.startswith("HTTP/1.") or not status.isdigit():
            raise OSError(f"not an HTTP answer: {line[:40]!r}")
        headers = Headers()
        while (line := fp.readline(MAX_LINE + 1)) not in (b"\r\n", b"\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        if not 100 <= int(status) < 200 or int(status) == SWITCHING_PROTOCOLS:
            return int(status), reason, headers


class Answer:
    """One answer: `status`, `headers`, the body by read() (all) or read1(n) (what has arrived, at most n bytes).
    `reusable`: the body was read to its end and the connection may carry the next request."""

    def __init__(self, fp, method: str):
        self.fp = fp
        self.status, self.reason, self.headers = read_head(fp)
        self.chunked = "chunked" in self.headers.get("transfer-encoding", "").lower()
        length = self.headers.get("content-length")
        self.left = None if self.chunked or length is None else int(length)  # None: until the chunks/EOF end
        self.keep_alive = self.headers.get("connection", "").lower() != "close" and (self.chunked or length is not None)
        self.done = method == "HEAD" or self.status in NO_BODY or self.left == 0
        self.chunk_left = 0

    @property
    def reusable(self) -> bool:
        return self.done and self.keep_alive

    def read(self) -> bytes:
        return b"".join(iter(lambda: self.read1(MAX_LINE * 16), b""))

    def read1(self, amount: int) -> bytes:
        if self.done:
            return b""
        if self.chunked:
            return self._chunk(amount)
        data = self.fp.read1(amount if self.left is None else min(amount, self.left))
        if self.left is not None:
            if not data:
                raise ConnectionResetError("the connection closed before the answer was complete")
            self.left -= len(data)
        self.done = not data or self.left == 0
        return data

    def _chunk(self, amount: int) -> bytes:
        if self.chunk_left == 0:
            size = self.fp.readline(MAX_LINE + 1).split(b";", 1)[0].strip()
            if not size:
                raise ConnectionResetError("the connection closed before the answer was complete")
            self.chunk_left = int(size, 16)
            if self.chunk_left == 0:  # the last chunk: trailers end at an empty line
                while self.fp.readline(MAX_LINE + 1) not in (b"\r\n", b"\n", b""):
                    pass
                self.done = True
                return b""
        data = self.fp.read1(min(amount, self.chunk_left))
        if not data:
            raise ConnectionResetError("the connection closed before the answer was complete")
        self.chunk_left -= len(data)
        if self.chunk_left == 0:
            self.fp.readline(MAX_LINE + 1)  # the CRLF after a chunk
        return data


class Connection:
    """One connection to `address` (the server, or the proxy), opened on the first request. With `tunnel`
    ((host, port), extra headers), a CONNECT to it first; with `tls` ((context, server name)), TLS then."""

    def __init__(self, address: tuple[str, int], timeout, tls=None, tunnel=None):
        self.address, self.timeout, self.tls, self.tunnel = address, timeout, tls, tunnel
        self.sock = self.fp = None

    def connect(self) -> None:
        host, port = self.address
        sock = socket.create_connection((without_idna(host), port), self.timeout)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self.tunnel:
                (host, port), headers = self.tunnel
                where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
                sock.sendall(head("CONNECT", where, where, headers.items()))
                with sock.makefile("rb") as fp:
                    status, reason, _ = read_head(fp)
                if status != 200:
                    raise OSError(f"the proxy answered {status} {reason} to CONNECT {where}".strip())
            if self.tls:
                context, server_name = self.tls
                sock = context.wrap_socket(sock, server_hostname=without_idna(server_name))
        except BaseException:
            sock.close()
            raise
        self.sock, self.fp = sock, sock.makefile("rb")

    def request(self, method: str, target: str, host: str, headers, body: bytes | None) -> Answer:
        if self.sock is None:
            self.connect()
        if body is not None:
            headers = [*headers, ("Content-Length", str(len(body)))]
        self.sock.sendall(head(method, target, host, headers) + (body or b""))
        return Answer(self.fp, method)

    def settimeout(self, timeout) -> None:
        self.sock.settimeout(timeout)

    def detach(self) -> tuple[socket.socket, bytes]:
        """The socket, given up by this connection after an upgrade, with what the buffered reader had already
        read of the new protocol (the server may speak it right behind its 101 answer)."""
        sock, fp = self.sock, self.fp
        self.sock = self.fp = None
        sock.setblocking(False)  # read1 returns the buffered bytes, or at most what the socket has now
        try:
            early = fp.read1(MAX_LINE) or b""
        except (BlockingIOError, ssl.SSLWantReadError):
            early = b""
        sock.setblocking(True)
        fp.close()  # the reader only: the socket stays open
        return sock, early

    def close(self) -> None:
        for part in (self.fp, self.sock):
            if part is not None:
                part.close()
        self.sock = self.fp = None


def without_idna(name: str) -> bytes | str:
    """An ASCII host name as bytes: getaddrinfo and ssl run every str through the idna codec, whose import
    (with stringprep and unicodedata) costs ~1.3 ms of a ~60 ms verify. Other names as they are."""
    return name.encode() if name.isascii() else name


def head(method: str, target: str, host: str, headers) -> bytes:
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host}"]
    for name, value in headers:
        if "\r" in value or "\n" in value or "\r" in name or "\n" in name:
            raise ConfigError(f"the request header {name.strip()!r} would hold a line break: fix the kubeconfig")
        lines.append(f"{name}: {value}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
