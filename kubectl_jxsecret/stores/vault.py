"""Vault and OpenBao KV (v1 and v2) through hvac, with writes that never lose an update.

A write merges into what is there: read, merge, write with check-and-set (KV v2), and on a
concurrent change read again and retry. KV v1 has no check-and-set; there the window between
read and write is as small as we can make it, and the README says so.
"""

import contextlib
import random
import time
import urllib.parse

from ..errors import SettingError, StoreError, first_line
from ..model import vault as model
from ..model.vault import KvPath, VaultSettings

CAS_ATTEMPTS = 8


class VaultStore:
    parallel_writes = 8  # paths are independent, and check-and-set guards each one

    def __init__(self, address: str, settings: VaultSettings, name: str = "", path: str | None = None,
                 version: str | None = None, via: str = ""):
        import hvac  # ~120 ms; only for commands that talk to Vault

        self.address = address  # where requests go: settings.address, or a tunnel to it
        self.settings = settings
        self.via = via  # "pod jx-vault/vault-0" when `address` is a tunnel
        # Messages name the Vault the user means, never the tunnel's 127.0.0.1 port.
        self.shown = settings.address.value if settings.address else address
        self.name = name or self.shown
        self.store_path, self.store_version = path, version
        verify = settings.ca_cert.value if settings.ca_cert else True
        # Through a tunnel, TLS is to 127.0.0.1, but Vault's certificate names the service.
        session = named_host_session(urllib.parse.urlsplit(self.shown).hostname, verify) \
            if via and address.startswith("https:") else None
        self.client = hvac.Client(url=address, token=settings.token.value if settings.token else None,
                                  verify=verify, namespace=settings.namespace.value if settings.namespace else None,
                                  timeout=30, session=session)
        self._versions: dict[str, int] = {}
        self._read_before: dict[KvPath, tuple[dict | None, int]] = {}  # what read() saw, for write()

    # ------------------------------------------------------------------ paths

    def locate(self, key: str) -> KvPath:
        """ESO's path for `key`; the KV version from the store spec, else asked of the mount."""
        from ..model.vault import kv_path

        kv = kv_path(self.store_path, self.store_version or "v2", key)
        if self.store_version:
            return kv
        return KvPath(kv.mount, kv.path, self.mount_version(kv.mount))

    def mount_version(self, mount: str) -> int:
        """KV version of a mount, via sys/internal/ui/mounts (readable by any token that may use it,
        unlike sys/mounts); like the vault CLI's `kv` commands do."""
        import hvac.exceptions

        if mount not in self._versions:
            with self.errors("read the mount", f"{mount}/"):
                try:
                    answer = self.client.adapter.get(f"/v1/sys/internal/ui/mounts/{mount}")
                except hvac.exceptions.InvalidPath:
                    answer = None
                except hvac.exceptions.Forbidden:
                    # Vault answers 403 both for "no such mount" and "not yours": a usable token tells.
                    self.client.auth.token.lookup_self()
                    raise StoreError(f"Vault at {self.shown} has no KV mount at {mount}/ that this token may use: "
                                     "check the store's path and the token's policy") from None
            data = answer.get("data") if isinstance(answer, dict) else None
            if not data or data.get("type") not in ("kv", "generic"):
                raise StoreError(f"Vault at {self.shown} has no KV mount at {mount}/: check the store's path")
            self._versions[mount] = 2 if (data.get("options") or {}).get("version") == "2" else 1
        return self._versions[mount]

    # ------------------------------------------------------------------ read and write

    def read(self, key: str) -> dict[str, str] | None:
        """The properties stored at `key`, or None if there is nothing there. Remembered (with the KV v2
        version) for a write that follows: check-and-set makes a stale copy safe, never lost."""
        kv = self.locate(key)
        self._read_before[kv] = self._read(kv)
        return self._read_before[kv][0]

    def _read(self, kv: KvPath) -> tuple[dict | None, int]:
        """(data or None, KV v2 version or 0)."""
        import hvac.exceptions

        with self.errors("read", kv):
            try:
                if kv.version == 1:
                    return self.client.secrets.kv.v1.read_secret(kv.path, mount_point=kv.mount)["data"], 0
                answer = self.client.secrets.kv.v2.read_secret_version(kv.path, mount_point=kv.mount,
                                                                       raise_on_deleted_version=False)
            except hvac.exceptions.InvalidPath:
                return None, 0
        data, meta = answer["data"]["data"], answer["data"]["metadata"]
        # A soft-deleted latest version reads as no data, but check-and-set must still name it.
        return data, int(meta.get("version") or 0)

    def check_writable(self, keys: list[str]) -> None:
        """Ask Vault what this token may do at each path (sys/capabilities-self, one request for all),
        before any write."""
        paths = {kv: f"{kv.mount}/data/{kv.path}" if kv.version == 2 else str(kv) for kv in map(self.locate, keys)}
        with self.errors("check the token's rights on", ", ".join(map(str, paths))):
            answer = self.client.adapter.post("/v1/sys/capabilities-self", json={"paths": list(paths.values())})
        granted = answer.get("data") or {}
        for kv, api_path in paths.items():
            if not set(granted.get(api_path) or []) & {"create", "update", "root"}:
                raise StoreError(self.forbidden_message("write", kv))

    def write(self, key: str, values: dict[str, str]) -> None:
        """Merge `values` into the properties at `key`; other properties are kept."""
        import hvac.exceptions

        kv = self.locate(key)
        before = self._read_before.pop(kv, None)
        if kv.version == 1:
            current, _ = self._read(kv)
            with self.errors("write", kv):
                self.client.secrets.kv.v1.create_or_update_secret(kv.path, {**(current or {}), **values},
                                                                  mount_point=kv.mount)
            return
        for attempt in range(CAS_ATTEMPTS):
            if attempt:
                time.sleep(random.uniform(0, 0.02 * 2 ** attempt))  # jitter, so writers stop colliding
            current, version = before if (attempt == 0 and before) else self._read(kv)
            if attempt and before:
                taken = model.changed_meanwhile(before[0], current, values)
                if taken:
                    raise StoreError(f"{kv}: {', '.join(taken)} changed by another writer since it was read; "
                                     "not written: run the command again")
            try:
                with self.errors("write", kv, passthrough=(hvac.exceptions.InvalidRequest,)):
                    self.client.secrets.kv.v2.create_or_update_secret(kv.path, {**(current or {}), **values},
                                                                      cas=version, mount_point=kv.mount)
                return
            except hvac.exceptions.InvalidRequest as e:
                if "check-and-set" not in str(e):
                    raise StoreError(f"Vault refused the write to {kv}: {first_line(e)}") from None
                # Someone wrote in between: read their version and merge again.
        raise StoreError(f"{kv} kept changing under concurrent writers ({CAS_ATTEMPTS} attempts); "
                         "nothing was overwritten: retry")

    def health(self) -> dict:
        """sys/health, answered whatever the state (sealed, standby, uninitialised)."""
        with self.errors("check the health of", "sys/health"):
            return self.client.sys.read_health_status(method="GET", standby_ok=True, sealed_code=200,
                                                      uninit_code=200, performance_standby_code=200)

    # ------------------------------------------------------------------ errors

    @contextlib.contextmanager
    def errors(self, action: str, where, passthrough=()):
        """hvac and requests failures as one-line errors that name the thing and the fix; a wrong
        setting (scheme, CA) is a SettingError, which no waiting can cure."""
        import hvac.exceptions
        import requests

        try:
            yield
        except passthrough:
            raise
        except hvac.exceptions.VaultDown:
            raise StoreError(f"Vault at {self.shown} is sealed: {model.STATE_HINTS['sealed']}, and retry") from None
        except (hvac.exceptions.Forbidden, hvac.exceptions.Unauthorized):
            raise StoreError(self.forbidden_message(action, where)) from None
        except hvac.exceptions.InvalidRequest as e:
            if "HTTP request to an HTTPS server" in str(e):
                raise self.scheme_error("https") from None
            raise StoreError(f"Vault could not {action} {where}: {first_line(e)}") from None
        except requests.exceptions.SSLError as e:
            reason = tls_reason(e)
            if reason == PLAIN_HTTP:
                raise self.scheme_error("http") from None
            ca = self.settings.ca_cert
            if reason == HOST_MISMATCH:
                raise SettingError(f"TLS error talking to Vault at {self.shown}: its certificate is for another host "
                                   "name: use the name it was issued for in the address") from None
            if ca:
                raise SettingError(f"TLS error talking to Vault at {self.shown}: {reason} with the CA file {ca.value} "
                                   f"({ca.source}): give the CA that signed Vault's certificate") from None
            raise SettingError(f"TLS error talking to Vault at {self.shown}: {reason}: pass the Vault CA with "
                               "--vault-ca-cert or VAULT_CACERT") from None
        except (requests.exceptions.ConnectionError, requests.exceptions.ChunkedEncodingError):
            if self.address.startswith("http:") and speaks_tls(self.address):
                raise self.scheme_error("https") from None
            if self.via:
                raise StoreError(f"cannot reach Vault at {self.shown} through the tunnel to {self.via}: "
                                 "did the pod restart? retry") from None
            # A local address is often a tunnel that was closed.
            tunnel = " (an in-cluster Vault needs kubectl jxsecret vault portforward)" \
                if model.is_loopback(self.shown) else ""
            raise StoreError(f"cannot reach Vault at {self.shown}: is it running, and is the address right?{tunnel}") \
                from None
        except requests.exceptions.Timeout:
            raise StoreError(f"Vault at {self.shown} did not answer within 30s") from None
        except requests.exceptions.RequestException as e:
            raise StoreError(f"Vault at {self.shown} could not {action} {where}: {first_line(e)}") from None
        except hvac.exceptions.VaultError as e:
            raise StoreError(f"Vault could not {action} {where}: {first_line(e)}") from None

    def scheme_error(self, scheme: str) -> SettingError:
        """Vault answers `scheme` where the address says the other one."""
        setting = self.settings.address
        said = setting.value.split(":", 1)[0]
        spoken = "HTTPS" if scheme == "https" else "plain HTTP"
        return SettingError(f"{setting.source} {setting.value} uses {said}, but Vault there answers {spoken}: "
                            f"use {model.with_scheme(setting.value, scheme)}")

    def forbidden_message(self, action, where) -> str:
        """Tell an invalid token apart from a valid one that the policy does not allow."""
        import hvac.exceptions

        if self.settings.token is None:
            return (f"Vault at {self.shown} needs a token: set VAULT_TOKEN or log in (vault/bao login)")
        source = self.settings.token.source
        try:
            self.client.auth.token.lookup_self()
        except (hvac.exceptions.Forbidden, hvac.exceptions.Unauthorized):
            return (f"Vault rejected the token from {source}: it is invalid or expired; "
                    "log in again or set VAULT_TOKEN")
        except Exception:  # lookup-self itself denied or failed: the token is at least usable
            pass
        return (f"the Vault token from {source} may not {action} {where} (permission denied by its policy): "
                "use a token whose policy allows it")


PLAIN_HTTP = "plain HTTP"
HOST_MISMATCH = "hostname mismatch"
# What OpenSSL says when the other side answers a TLS hello in plain HTTP.
PLAIN_HTTP_SIGNS = ("wrong version number", "packet length too long", "unknown protocol", "record layer failure")


def tls_reason(e: Exception) -> str:
    text = str(e)
    if any(sign in text for sign in PLAIN_HTTP_SIGNS):
        return PLAIN_HTTP
    if "hostname mismatch" in text.lower() or "IP address mismatch" in text:  # OpenSSL: "Hostname mismatch"
        return HOST_MISMATCH
    for known in ("certificate verify failed", "self-signed certificate"):
        if known in text:
            return known
    return "TLS handshake failed"


def named_host_session(server_name: str, verify):
    """A requests session whose TLS sends `server_name` (SNI) and checks the certificate against it,
    whatever host it connects to; `verify` as requests takes it (hvac takes a session's own over its)."""
    import requests
    from requests.adapters import HTTPAdapter

    class NamedHost(HTTPAdapter):
        def init_poolmanager(self, *args, **kwargs):
            super().init_poolmanager(*args, server_hostname=server_name, **kwargs)

    session = requests.Session()
    session.verify = verify
    session.mount("https://", NamedHost())
    return session


def speaks_tls(address: str) -> bool:
    """Does the server at this http:// address complete a TLS handshake (so wants https://)?"""
    import socket
    import ssl
    import urllib.parse

    url = urllib.parse.urlsplit(address)
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE  # only asking which protocol it speaks
    try:
        with socket.create_connection((url.hostname, url.port or 80), timeout=5) as raw:
            with context.wrap_socket(raw, server_hostname=url.hostname):
                return True
    except (OSError, ssl.SSLError):
        return False
