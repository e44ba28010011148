"""A thin REST layer: JSON in, dicts out, over the transport the kubeconfig user needs.

No generated API classes or pydantic models (`CoreV1Api` alone costs ~0.7 s to import); the
kubernetes client is only loaded for auth-provider users (see transport.py). Every failure becomes a
one-line KubeError that names the server, the context and, where it can, the fix. Retries are
client-go's, whatever the transport: an answer 429 or 5xx with Retry-After is asked again after that
many seconds, a GET whose connection was cut after 1 s, at most MAX_RETRIES times.
"""

import json
import time
import urllib.parse
from collections.abc import Iterator

from .. import __version__
from ..errors import ConfigError, KubeError, first_line
from .kubeconfig import Kubeconfig

USER_AGENT = f"kubectl-jxsecret/{__version__}"
AGGREGATED_DISCOVERY = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
METADATA_ONLY = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json"
PAGE_SIZE = 500  # kubectl's chunk size: bounded memory whatever the object count
MAX_RETRIES = 10  # client-go's


class Kube:
    def __init__(self, kc: Kubeconfig, request_timeout: float = 30.0, user_agent: str = USER_AGENT):
        from .transport import transport_for

        self.user_agent = user_agent  # the API audit log counts requests by it
        self.kubeconfig = kc
        self.context = kc.context
        self.server = kc.cluster().get("server", "")
        if not self.server:
            raise ConfigError(f'context "{kc.context}" has a cluster without a server: fix the kubeconfig')
        self.timeout = request_timeout or None
        self.transport = transport_for(kc)

    def get(self, path: str, query: dict | None = None, accept: str = "application/json") -> dict:
        return self.request("GET", path, query, accept=accept)

    def request(self, method: str, path: str, query: dict | None = None, body=None,
                content_type: str = "application/json", accept: str = "application/json") -> dict:
        headers = {"Accept": accept, "User-Agent": self.user_agent}
        if body is not None:
            headers["Content-Type"] = content_type
        response = self.send(method, path, query, headers, body, self.timeout, preload=True)
        if not 200 <= response.status < 300:
            raise api_error(response.status, response.data, method, path, self.context)
        return json.loads(response.data) if response.data else {}

    def stream(self, path: str, query: dict | None = None, read_timeout: float | None = None):
        """An open response to read as it arrives (a watch); the caller closes it (release_conn). `read_timeout`:
        the longest silence before the read fails (the server's watch timeoutSeconds plus a margin)."""
        headers = {"Accept": "application/json", "User-Agent": self.user_agent}
        response = self.send("GET", path, query, headers, None, read_timeout, preload=False)
        if not 200 <= response.status < 300:
            data = response.read()
            response.release_conn()
            raise api_error(response.status, data, "GET", path, self.context)
        return response

    def send(self, method, path, query, headers, body, timeout, preload):
        from .transport import Unreachable

        url = self.transport.host + path
        if query:
            url += "?" + urllib.parse.urlencode({k: v for k, v in query.items() if v not in (None, "")})
        for attempt in range(MAX_RETRIES + 1):
            try:
                response = self.transport.request(method, url, headers, body, timeout, preload=preload)
            except Unreachable as e:
                if not (e.reset and method == "GET" and attempt < MAX_RETRIES):
                    via = f" through the proxy {e.proxy}" if e.proxy else ""
                    raise KubeError(f"cannot reach the API server {self.server}{via} (context \"{self.context}\"): "
                                    f"{connection_reason(e)}: check that the cluster is up and the context is right"
                                    ) from None
                time.sleep(1)
                continue
            wait = retry_after(response.status, response.headers.get("Retry-After"))
            if wait is None or attempt == MAX_RETRIES:
                return response
            if not preload:
                response.read()
                response.release_conn()
            time.sleep(wait)

    def served_resources(self, groups: tuple[str, ...]) -> dict[tuple[str, str], set[str]]:
        """(group, version) -> resource names, in ONE request where the server has aggregated
        discovery (Kubernetes >= 1.30); older servers get one more GET per version of `groups`."""
        from ..model.externalsecret import served_resources

        answer = self.get("/apis", accept=f"{AGGREGATED_DISCOVERY},application/json")
        if answer.get("kind") == "APIGroupDiscoveryList":
            return served_resources(answer)
        served = {}
        for group in answer.get("groups") or []:
            if group.get("name") not in groups:
                continue
            for version in group.get("versions") or []:
                resources = self.get(f"/apis/{version['groupVersion']}").get("resources") or []
                served[(group["name"], version["version"])] = {r.get("name") for r in resources}
        return served

    def list(self, path: str, query: dict | None = None, accept: str = "application/json") -> Iterator[dict]:
        """Every item of a LIST, fetched PAGE_SIZE at a time (limit/continue). accept=METADATA_ONLY lists
        names, labels and annotations without the objects' data."""
        query = dict(query or {}, limit=PAGE_SIZE)
        while True:
            page = self.get(path, query, accept)
            yield from page.get("items") or []
            token = (page.get("metadata") or {}).get("continue")
            if not token:
                return
            query["continue"] = token


def api_error(status: int, body: bytes, method: str, path: str, context: str) -> KubeError:
    """The API server's own Status message (it names the user, verb and resource), one line."""
    try:
        message = json.loads(body).get("message") or ""
    except (ValueError, AttributeError):
        message = ""
    message = first_line(message) if message else f"{method} {path}: HTTP {status}"
    if status == 401:
        message = f'unauthorized (context "{context}"): the credentials were rejected; log in again or fix the kubeconfig user'
    elif status == 403 and not message.startswith("forbidden"):
        message = f"forbidden: {message}"
    return KubeError(message, status)


def retry_after(status: int, header: str | None) -> int | None:
    """Seconds to wait before asking again (client-go's checkWait): 429 and 5xx answers with a Retry-After
    in whole seconds; None: do not ask again."""
    if status != 429 and status < 500:
        return None
    try:
        return max(int((header or "").strip()), 0)
    except ValueError:
        return None


def connection_reason(e: Exception) -> str:
    """The useful words of a connection failure (refused, timeout, TLS), without the library's wrapping."""
    text = str(e)
    for known in ("Connection refused", "timed out", "Name or service not known", "certificate verify failed",
                  "No route to host"):
        if known in text:
            return known.lower()
    return first_line(text)


def connect(flags) -> Kube:
    """The Kube of the command line's kubectl flags: a flags.KubeFlags, or parsed args (same names)."""
    from ..model.duration import parse_duration
    from .kubeconfig import load

    kc = load(kubeconfig_flag=flags.kubeconfig, context_flag=flags.context, namespace_flag=flags.namespace)
    return Kube(kc, parse_duration(flags.request_timeout, "--request-timeout"))
