"""A local port forwarded to the in-cluster Vault pod: 127.0.0.1:<port>, each connection relayed over a
port-forward stream of its own (kube/portforward.py), by plain threads.

We pick the pod ourselves (a Ready one behind the Service, or the one named) and forward to its container
port (a Service's port mapping is resolved here: the API server forwards to pods, not Services).
"""

import errno
import select
import socket
import sys
import threading
import time
from typing import NamedTuple

from .errors import JxSecretError, KubeError


class TunnelError(JxSecretError):
    pass


PROBE_TIMEOUT = 15  # seconds for Vault to answer the first request through a new tunnel
LOCAL_READ = 65536  # bytes taken from a local connection at a time
MAX_PROBE_ANSWER = 4096  # Vault's health answer is ~0.5 KiB
FIRST_STREAM_TTL = 5  # seconds the probe's stream waits for the first local connection
CLOSE_TIMEOUT = 5  # seconds for the pod's last bytes, once the local side of a connection closed
PLAIN_TO_TLS = b"HTTP request to an HTTPS server"  # what a Go TLS listener (Vault, OpenBao) answers plain HTTP


class PodTarget(NamedTuple):
    namespace: str
    pod: str | None  # a pod name, or None to pick a Ready pod of `service`
    service: str | None
    port: int  # the Service port (with `service`) or the container port (with `pod`)
    pod_only: bool = False  # the user named `pod`: no other pod will do, even if `service` has some


class Pod(NamedTuple):
    name: str
    uid: str
    port: int  # the container port to forward to


def pod_ready(pod: dict) -> bool:
    status = pod.get("status") or {}
    return status.get("phase") == "Running" and any(
        c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or [])


def container_port(pod: dict, target_port) -> int | None:
    """A Service targetPort (number or name) as the pod's container port."""
    if isinstance(target_port, int) or str(target_port).isdigit():
        return int(target_port)
    for container in (pod.get("spec") or {}).get("containers") or []:
        for port in container.get("ports") or []:
            if port.get("name") == target_port:
                return int(port["containerPort"])
    return None


def find_pod(kube, target: PodTarget) -> tuple[Pod | None, str]:
    """(the Ready pod to forward to, or None with the reason it is not there yet)."""
    ns = target.namespace
    only_the_pod = target.pod_only or not target.service
    if target.pod:
        try:
            pod = kube.get(f"/api/v1/namespaces/{ns}/pods/{target.pod}")
        except KubeError as e:
            if e.status != 404:
                raise
            if only_the_pod:
                return None, f"pod {ns}/{target.pod} does not exist"
        else:
            if pod_ready(pod):
                return Pod(target.pod, pod["metadata"]["uid"], target.port), ""
            if only_the_pod:
                return None, f"pod {ns}/{target.pod} is not Ready"
    try:
        service = kube.get(f"/api/v1/namespaces/{ns}/services/{target.service}")
    except KubeError as e:
        if e.status == 404:
            if target.pod:
                return None, f"neither pod {ns}/{target.pod} nor service {ns}/{target.service} exists"
            return None, f"service {ns}/{target.service} does not exist"
        raise
    spec = service.get("spec") or {}
    selector = spec.get("selector") or {}
    if not selector:
        return None, f"service {ns}/{target.service} has no selector to find its pods"
    mapping = next((p for p in spec.get("ports") or [] if p.get("port") == target.port), None)
    if mapping is None:
        return None, f"service {ns}/{target.service} has no port {target.port}"
    pods = list(kube.list(f"/api/v1/namespaces/{ns}/pods",
                          {"labelSelector": ",".join(f"{k}={v}" for k, v in sorted(selector.items()))}))
    for pod in sorted(pods, key=lambda p: p["metadata"]["name"] != target.pod):  # the named pod first
        port = container_port(pod, mapping.get("targetPort", target.port))
        if pod_ready(pod) and port:
            return Pod(pod["metadata"]["name"], pod["metadata"]["uid"], port), ""
    return None, f"no Ready pod behind service {ns}/{target.service} ({len(pods)} pods)"


def rights_needed(namespace: str) -> str:
    return (f"a tunnel to Vault needs the rights to get pods, and to get and create pods/portforward, in namespace "
            f"{namespace}; or set VAULT_ADDR to a Vault address you can reach directly")


def wait_for_pod(kube, target: PodTarget, timeout: float, stderr=sys.stderr) -> Pod:
    deadline = time.monotonic() + timeout
    said = ""
    while True:
        try:
            pod, why = find_pod(kube, target)
        except KubeError as e:
            if e.status != 403:
                raise
            raise TunnelError(f"{e}: {rights_needed(target.namespace)}") from None
        if pod:
            return pod
        if time.monotonic() >= deadline:
            raise TunnelError(f"{why} after waiting {timeout:.0f}s: check the Vault pods "
                              f"(kubectl get pods -n {target.namespace})")
        if why != said:
            print(f"waiting: {why}", file=stderr)
            said = why
        time.sleep(1)


def listen(port: int) -> socket.socket:
    """The tunnel's listening socket on 127.0.0.1:`port` (0: a free one)."""
    listener = socket.socket()
    # Connections that just closed (TIME_WAIT, a tunnel closed a moment ago) do not hold the port.
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind(("127.0.0.1", port))
        listener.listen(socket.SOMAXCONN)
    except OSError as e:
        listener.close()
        if e.errno == errno.EADDRINUSE:
            raise TunnelError(f"local port {port} is already in use: stop what listens there "
                              "or pass --port 0 for a free port") from None
        raise
    return listener


def whole_answer(answer: bytes) -> bool:
    """Enough to judge the probe's answer: a Go TLS listener's refusal of plain HTTP, or the headers and the whole
    Content-Length body. Nothing else ends it: Vault keeps the connection (HTTP/1.1), and where a server closes
    one, the port-forward protocol does not pass that on; waiting would cost the probe's read timeout (1 s)."""
    head, blank, body = answer.partition(b"\r\n\r\n")
    if not blank:
        return False
    if PLAIN_TO_TLS in answer:
        return True
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length" and value.strip().isdigit():
            return len(body) >= int(value)
    return False


def keeps_connection(answer: bytes) -> bool:
    """Whether an HTTP/1.1 answer left its connection ready for the next request: all of it here, no more than
    its Content-Length, and no `Connection: close`."""
    head, blank, body = answer.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    if not blank or not lines[0].startswith(b"HTTP/1.1 "):
        return False
    headers = {name.strip().lower(): value.strip() for name, _, value in (line.partition(b":") for line in lines[1:])}
    length = headers.get(b"content-length", b"")
    return length.isdigit() and len(body) == int(length) and headers.get(b"connection", b"").lower() != b"close"


class Tunnel:
    """Forward 127.0.0.1:<local_port> (0 = any free port) to `pod`; a context manager. Its threads are daemons:
    a tunnel never keeps the process alive, and close() ends every connection at once."""

    def __init__(self, kube, namespace: str, pod: Pod, local_port: int = 0, port_setting: str = "",
                 port_fix: str = "pass the port Vault listens on (8200 unless configured otherwise)"):
        self.kube, self.namespace, self.pod = kube, namespace, pod
        self.requested_port = local_port
        self.port_setting, self.port_fix = port_setting, port_fix  # for the message when nothing answers
        self.port = None
        self.scheme = "http"  # what Vault speaks there, as the probe found
        self._forward = None
        self._listener = None
        self._accepting = None
        self._relays: dict[socket.socket, object] = {}  # local connection -> its PodStream (None while opening)
        self._first = None  # (the probe's stream, until when it may be handed out)
        self._lock = threading.Lock()

    def __enter__(self):
        self.open()
        return self

    def __exit__(self, *exc):
        self.close()

    def open(self):
        from .kube.portforward import PortForward

        self._forward = PortForward(self.kube, self.namespace, self.pod.name, self.pod.port)
        self._listener = listen(self.requested_port)
        try:
            self.scheme = self.probe()
        except BaseException:
            self.close()
            raise
        self.port = self._listener.getsockname()[1]
        self._accepting = threading.Thread(target=self._accept, args=(self._listener,), name="tunnel-accept",
                                           daemon=True)
        self._accepting.start()

    def stream(self, timeout):
        """A new stream to the pod's port, or TunnelError."""
        try:
            return self._forward.open_stream(timeout)
        except KubeError as e:
            # Refused for want of `create` (next to `get`), the API server's message names no verb: the hint does.
            why = f"{str(e).rstrip(': ')}: {rights_needed(self.namespace)}" if e.status == 403 else str(e)
            raise TunnelError(f"cannot forward to pod {self.namespace}/{self.pod.name}:{self.pod.port}: {why}") \
                from None

    def probe(self) -> str:
        """One request through a stream to the pod, and the scheme Vault speaks there. The API server accepts the
        stream and only then tries the pod's port: where nothing listens, the stream just ends, empty. Where
        Vault keeps the connection open after its answer, the stream waits for the first local connection."""
        where = f"port {self.pod.port} of pod {self.namespace}/{self.pod.name}" + \
            (f" ({self.port_setting})" if self.port_setting else "")
        answer = b""
        stream = self.stream(PROBE_TIMEOUT)
        try:
            stream.sock.settimeout(PROBE_TIMEOUT)
            # Plain HTTP: a TLS listener answers it too (400, "HTTP request to an HTTPS server").
            stream.send(b"GET /v1/sys/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            while len(answer) < MAX_PROBE_ANSWER and not whole_answer(answer) and \
                    (more := stream.receive()) is not None:
                answer += more
                if answer:
                    stream.sock.settimeout(1)  # it said something: do not wait long for the rest
        except socket.timeout:
            if not answer:
                stream.close()
                raise TunnelError(f"{where} took the connection but said nothing within {PROBE_TIMEOUT}s: "
                                  f"{self.port_fix}") from None
        except (OSError, ValueError):
            pass  # cut, or garbled: what came before (if anything) counts
        if keeps_connection(answer) and not stream.ended:
            self._first = stream, time.monotonic() + FIRST_STREAM_TTL
        else:
            stream.close()
        if not answer:
            raise TunnelError(f"nothing answers on {where}: {self.port_fix}")
        return "https" if PLAIN_TO_TLS in answer else "http"

    def first_stream(self):
        """The probe's stream, if Vault still keeps its connection for us: saves the first local connection the
        opening of a stream (~8 ms). Vault closes idle connections after minutes (http_idle_timeout), but the
        port-forward protocol would not tell us: past FIRST_STREAM_TTL it is not handed out."""
        with self._lock:
            first, self._first = self._first, None
        if first is None:
            return None
        stream, deadline = first
        # Anything from the server now is its end (an error, a close): Vault has nothing to say unasked.
        if time.monotonic() < deadline and not stream.pending() and not select.select([stream.sock], [], [], 0)[0]:
            return stream
        stream.close()
        return None

    def _accept(self, listener: socket.socket):
        try:
            listener.settimeout(FIRST_STREAM_TTL if self._first else None)
            while True:
                try:
                    local, _ = listener.accept()
                except socket.timeout:  # no one came for the probe's stream
                    if stream := self.first_stream():
                        stream.close()
                    listener.settimeout(None)
                    continue
                with self._lock:
                    if self._listener is None:
                        local.close()
                        return
                    self._relays[local] = None
                threading.Thread(target=self._relay, args=(local,), name="tunnel-relay", daemon=True).start()
        except OSError:  # the listener was closed
            return

    def _relay(self, local: socket.socket):
        """Carry one local connection to the pod and back until either side ends it. One thread does both
        directions (a TLS connection is never read and written by two threads at once); a write that waits
        for a slow reader holds the other direction meanwhile, which request-and-answer protocols never mind."""
        stream = None
        try:
            stream = self.first_stream() or self.stream(self.kube.timeout)
            with self._lock:
                if local not in self._relays:  # closed while the stream opened
                    return
                self._relays[local] = stream
            stream.sock.settimeout(None)
            sockets = [local, stream.sock]
            while True:
                ready = [stream.sock] if stream.pending() else \
                    select.select(sockets, [], [], CLOSE_TIMEOUT if stream.closing else None)[0]
                if not ready:  # the server never answered our close
                    return
                if local in ready:
                    if data := local.recv(LOCAL_READ):
                        stream.send(data)
                    else:  # the local side is done: so is the stream, once the pod's last bytes are in
                        stream.finish()
                        sockets.remove(local)
                if stream.sock in ready:
                    data = stream.receive()
                    if data is None:
                        return
                    local.sendall(data)
        except (JxSecretError, OSError, ValueError):
            return  # the local connection just closes: its client sees the tunnel cut, as when a pod goes
        finally:
            with self._lock:
                self._relays.pop(local, None)
            if stream:
                stream.close()
            shut(local)
            local.close()

    def close(self):
        with self._lock:
            listener, self._listener = self._listener, None
            relays, self._relays = self._relays, {}
            first, self._first = self._first, None
        if first is not None:
            first[0].close()
        if listener is not None:
            shut(listener)  # wakes the accept() of the other thread: a close() alone would not free the port
            listener.close()
        if self._accepting is not None:
            self._accepting.join(1)
            self._accepting = None
        for local, stream in relays.items():
            shut(local)  # their threads wake up and close them
            if stream is not None:
                stream.shutdown()


def shut(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:  # not connected (any more)
        pass
