"""A stream to a pod's port through the API server: `GET .../pods/{pod}/portforward?ports={port}` upgraded to a
WebSocket (subprotocol v4.channel.k8s.io, what kube-rs speaks too), one per forwarded connection.

The upgrade goes through the light transport (transport.py): its TLS context, proxy (CONNECT), credentials,
impersonation headers and exec plugins, and the connection the last request left open. Auth-provider users
have their requests carried by the kubernetes client, which cannot hand over a connection: their
WebSocket goes through a light transport to the same cluster, with the client's Authorization header.
"""

import base64
import os
import socket
import urllib.parse

from ..errors import KubeError
from ..model import websocket as ws
from .client import api_error, connection_reason
from .http1 import SWITCHING_PROTOCOLS
from .transport import HEAVY_USER_FIELDS, LightTransport, Unreachable

RECEIVE_SIZE = 65536


class PodStream:
    """Bytes to a pod's port and back, over one upgraded connection. Not shared between threads: one reads
    and writes it (the relay's select loop, or the probe); another may only shutdown() it."""

    def __init__(self, sock, early: bytes, port: int):
        self.sock = sock
        self.decoder = ws.Decoder()
        self.channels = ws.PortChannels(port)
        self.early = early  # what came right behind the 101 answer: the first thing receive() takes
        self.closing = False  # our close frame is sent
        self.ended = False  # the server closed the WebSocket, or the connection

    def pending(self) -> bool:
        """Bytes already here that select() cannot see: TLS data decrypted but not read, or the early bytes."""
        return bool(self.early) or (hasattr(self.sock, "pending") and self.sock.pending() > 0)

    def send(self, data: bytes) -> None:
        self._send(ws.BINARY, self.channels.data_message(data))

    def receive(self) -> bytes | None:
        """The pod's data out of one read of the connection (blocks until it has something): maybe b"" (that read
        held only the port, a ping, ...); None once the stream has ended."""
        if self.ended:
            return None
        data, self.early = self.early or self.sock.recv(RECEIVE_SIZE), b""
        if not data:
            self.ended = True
            return None
        received = []
        for opcode, payload in self.decoder.feed(data):
            if opcode == ws.BINARY:
                # What the error channel says (nothing listens on the port, ...) comes right before the end of the
                # stream: the tunnel's messages say what that means for the user.
                channel, body = self.channels.receive(payload)
                if channel == ws.DATA_CHANNEL:
                    received.append(body)
            elif opcode == ws.PING:
                self._send(ws.PONG, payload)
            elif opcode == ws.CLOSE:
                self.finish(ws.close_reason(payload)[0] or ws.NORMAL_CLOSURE)  # the close is answered in kind
                self.ended = True
            elif opcode == ws.TEXT:
                raise ws.ProtocolError("a text message on a binary channel protocol")
        if received or not self.ended:
            return b"".join(received)
        return None

    def finish(self, code: int = ws.NORMAL_CLOSURE) -> None:
        """Our close frame (once): nothing more comes from us; what the pod still sends may come until the
        server closes too. The v4 channel protocol has no other way to say the local side stopped writing."""
        if not self.closing:
            self.closing = True
            self._send(ws.CLOSE, ws.close_payload(code))

    def shutdown(self) -> None:
        """End the connection now, from any thread: a read or select() on it returns."""
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:  # already closed by the other side
            pass

    def close(self) -> None:
        self.shutdown()
        self.sock.close()

    def _send(self, opcode: int, payload: bytes) -> None:
        self.sock.sendall(ws.client_frame(opcode, payload, os.urandom(4)))


class PortForward:
    """Streams to `port` of one pod, opened one at a time (open_stream)."""

    def __init__(self, kube, namespace: str, pod: str, port: int):
        self.kube, self.port = kube, port
        self.path = f"/api/v1/namespaces/{namespace}/pods/{pod}/portforward"
        self.transport = kube.transport
        if not isinstance(self.transport, LightTransport):
            user = {k: v for k, v in kube.kubeconfig.user().items() if k not in (*HEAVY_USER_FIELDS, "exec")}
            self.transport = LightTransport(kube.kubeconfig.cluster(), user, kube.context)

    def open_stream(self, timeout: float | None) -> PodStream:
        """A new stream; KubeError when the API server refuses (with its status) or cannot be reached."""
        kube, key = self.kube, base64.b64encode(os.urandom(16)).decode("ascii")
        headers = {"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
                   "Sec-WebSocket-Key": key, "Sec-WebSocket-Protocol": ws.PORT_FORWARD_PROTOCOL,
                   "User-Agent": kube.user_agent}
        if self.transport is not kube.transport and (authorization := kube.transport.credentials()):
            headers["Authorization"] = authorization  # the auth-provider's token, refreshed when it expires
        url = f"{self.transport.host}{self.path}?{urllib.parse.urlencode({'ports': self.port})}"
        try:
            response = self.transport.request("GET", url, headers, None, timeout, preload=False)
        except Unreachable as e:
            via = f" through the proxy {e.proxy}" if e.proxy else ""
            raise KubeError(f"cannot reach the API server {kube.server}{via}: {connection_reason(e)}") from None
        if response.status != SWITCHING_PROTOCOLS:
            raise api_error(response.status, response.read(), "GET", self.path, kube.context)
        connection, response.connection = response.connection, None  # ours now, never back in the transport's pool
        answer = response.headers
        if (answer.get("upgrade", "").lower() != "websocket" or answer.get("sec-websocket-accept") != ws.accept_key(key)
                or answer.get("sec-websocket-protocol") != ws.PORT_FORWARD_PROTOCOL):
            connection.close()
            raise KubeError(f"the API server {kube.server} answered the port-forward upgrade without a "
                            f"{ws.PORT_FORWARD_PROTOCOL} WebSocket")
        sock, early = connection.detach()
        return PodStream(sock, early, self.port)
