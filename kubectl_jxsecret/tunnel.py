"""A local port forwarded to the in-cluster Vault pod, with the `portforward` package.

We pick the pod ourselves (portforward takes a Service's *first* pod, ready or not) and pass the
container port (it ignores the Service's port mapping). It reads one kubeconfig file and no
KUBECONFIG list, so it gets a flattened single-context copy, credentials and all: in a file with no
name on disk (kubeconfig.nameless_file), so that nothing is left behind however the process ends.
"""

import errno
import os
import socket
import sys
import time
from dataclasses import dataclass

from .errors import JxSecretError, KubeError, first_line
from .kube.kubeconfig import flatten, nameless_file


class TunnelError(JxSecretError):
    pass


PROBE_TIMEOUT = 15  # seconds for Vault to answer the first request through a new tunnel
PLAIN_TO_TLS = b"HTTP request to an HTTPS server"  # what a Go TLS listener (Vault, OpenBao) answers plain HTTP


@dataclass(frozen=True)
class PodTarget:
    namespace: str
    pod: str | None  # a pod name, or None to pick a Ready pod of `service`
    service: str | None
    port: int  # the Service port (with `service`) or the container port (with `pod`)
    pod_only: bool = False  # the user named `pod`: no other pod will do, even if `service` has some


@dataclass(frozen=True)
class Pod:
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


def wait_for_pod(kube, target: PodTarget, timeout: float, stderr=sys.stderr) -> Pod:
    deadline = time.monotonic() + timeout
    said = ""
    while True:
        try:
            pod, why = find_pod(kube, target)
        except KubeError as e:
            if e.status != 403:
                raise
            raise TunnelError(f"{e}: a tunnel to Vault needs the rights to get pods and create pods/portforward in "
                              f"namespace {target.namespace}; or set VAULT_ADDR to a Vault address you can reach "
                              "directly") from None
        if pod:
            return pod
        if time.monotonic() >= deadline:
            raise TunnelError(f"{why} after waiting {timeout:.0f}s: check the Vault pods "
                              f"(kubectl get pods -n {target.namespace})")
        if why != said:
            print(f"waiting: {why}", file=stderr)
            said = why
        time.sleep(1)


def check_port_free(port: int) -> None:
    if port == 0:
        return
    with socket.socket() as s:
        # As the tunnel's own listener does: connections that just closed (TIME_WAIT) do not hold the port.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError as e:
            if e.errno == errno.EADDRINUSE:
                raise TunnelError(f"local port {port} is already in use: stop what listens there "
                                  "or pass --port 0 for a free port") from None
            raise


def whole_answer(answer: bytes) -> bool:
    """Enough to judge the probe's answer: a Go TLS listener's refusal of plain HTTP, or the headers and the whole
    Content-Length body. Vault closes the connection after it (HTTP/1.0), but the forwarder does not pass the
    close on: waiting for it costs the probe's whole read timeout (1 s)."""
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


class Tunnel:
    """Forward 127.0.0.1:<local_port> (0 = any free port) to `pod`; a context manager."""

    def __init__(self, kube, namespace: str, pod: Pod, local_port: int = 0, port_setting: str = "",
                 port_fix: str = "pass the port Vault listens on (8200 unless configured otherwise)"):
        self.kube, self.namespace, self.pod = kube, namespace, pod
        self.requested_port = local_port
        self.port_setting, self.port_fix = port_setting, port_fix  # for the message when nothing answers
        self.port = None
        self.scheme = "http"  # what Vault speaks there, as the probe found
        self._forwarder = None
        self._config_fd = None

    def __enter__(self):
        self.open()
        return self

    def __exit__(self, *exc):
        self.close()

    def open(self):
        check_port_free(self.requested_port)
        self._config_fd = nameless_file(flatten(self.kube.kubeconfig))
        # Through one forwarder only the first connection is quick (~5 ms: the API server connection its pod
        # check left open); each later one costs ~50 ms. So the probe has a forwarder of its own, and the
        # caller's first request the quick connection of the one that stays (bench/tunnel.py).
        try:
            self._forwarder = self.forwarder(0)
            self.port = self._forwarder.from_port
            self.scheme = self.probe()
            self._forwarder.stop()
            self._forwarder = self.forwarder(self.requested_port)
        except BaseException:
            self.close()
            raise
        self.port = self._forwarder.from_port

    def forwarder(self, local_port: int):
        from portforward import LogLevel, PortForwarder  # ~60 ms, only when a tunnel is needed

        os.lseek(self._config_fd, 0, os.SEEK_SET)  # where /dev/fd/N shares the offset, a reader left it at the end
        forwarder = PortForwarder(self.namespace, self.pod.name, local_port, self.pod.port,
                                  config_path=f"/dev/fd/{self._config_fd}", log_level=LogLevel.OFF,
                                  kube_context=self.kube.context, bind_ip="127.0.0.1")
        try:
            forwarder.forward()
        except (RuntimeError, ValueError) as e:
            raise TunnelError(f"cannot forward to pod {self.namespace}/{self.pod.name}:{self.pod.port}: "
                              f"{first_line(e)}") from None
        return forwarder

    def probe(self) -> str:
        """One request through the tunnel, and the scheme Vault speaks there. The forwarder accepts every
        local connection and only then tries the pod's port: where nothing listens, each connection would
        just close, empty."""
        where = f"port {self.pod.port} of pod {self.namespace}/{self.pod.name}" + \
            (f" ({self.port_setting})" if self.port_setting else "")
        answer = b""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=PROBE_TIMEOUT) as s:
                # Plain HTTP: a TLS listener answers it too (400, "HTTP request to an HTTPS server").
                s.sendall(b"GET /v1/sys/health HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
                while len(answer) < 512 and not whole_answer(answer) and (more := s.recv(512)):
                    answer += more
                    s.settimeout(1)  # it said something: do not wait long for the rest
        except socket.timeout:
            if not answer:
                raise TunnelError(f"{where} took the connection but said nothing within {PROBE_TIMEOUT}s: "
                                  f"{self.port_fix}") from None
        except OSError:
            pass  # refused or reset: what came before (if anything) counts
        if not answer:
            raise TunnelError(f"nothing answers on {where}: {self.port_fix}")
        return "https" if PLAIN_TO_TLS in answer else "http"

    def close(self):
        if self._forwarder is not None:
            self._forwarder.stop()
            self._forwarder = None
        if self._config_fd is not None:
            os.close(self._config_fd)
            self._config_fd = None
