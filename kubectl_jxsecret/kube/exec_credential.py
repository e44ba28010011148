"""Credentials from a kubeconfig `exec` plugin (gke-gcloud-auth-plugin, aws eks get-token, kubelogin, ...),
run as kubectl runs them (client-go plugin/pkg/client/auth/exec): KUBERNETES_EXEC_INFO in, an
ExecCredential on stdout, kept until its expirationTimestamp.

A plugin that fails stops the command with one line naming it, as kubectl does: a request never goes
out without the credentials the kubeconfig asked for (the kubernetes client logs the failure and sends
the request anonymous). Standard library only; the plugin's stderr becomes part of that line unless the
plugin may talk to the user (a terminal, interactiveMode not Never), where it is left on the terminal.
"""

import base64
import datetime
import json
import os
import subprocess
import sys
import threading

from ..errors import ConfigError, first_line

API_VERSIONS = ("client.authentication.k8s.io/v1", "client.authentication.k8s.io/v1beta1")
EXPIRY_MARGIN = datetime.timedelta(seconds=5)  # never start a request with a token about to expire


class Credential:
    """What the plugin gave. Not a NamedTuple: a tuple would hand the token to anything that prints or unpacks it."""

    def __init__(self, token: str | None = None, cert: bytes | None = None, key: bytes | None = None,
                 expiry: datetime.datetime | None = None):
        self.token = token
        self.cert, self.key = cert, key  # PEM client certificate and key, when the plugin gives those instead
        self.expiry = expiry


def credential_of(stdout: str, api_version: str, command: str) -> Credential:
    """The plugin's ExecCredential as a Credential; ValueError (kubectl's words where it has some) if unusable."""
    try:
        answer = json.loads(stdout)
    except ValueError:
        raise ValueError(f"executable {command} printed no ExecCredential JSON on stdout") from None
    if not isinstance(answer, dict) or answer.get("kind") != "ExecCredential":
        raise ValueError(f"executable {command} printed no ExecCredential JSON on stdout")
    if answer.get("apiVersion") != api_version:
        raise ValueError(f"exec plugin is configured to use API version {api_version}, "
                         f"plugin returned version {answer.get('apiVersion')}")
    status = answer.get("status") if isinstance(answer.get("status"), dict) else {}
    token, cert, key = status.get("token"), status.get("clientCertificateData"), status.get("clientKeyData")
    if not token and not (cert and key):
        raise ValueError(f"executable {command} returned neither a token nor a client certificate and key")
    expiry = None
    if status.get("expirationTimestamp"):
        try:
            expiry = datetime.datetime.fromisoformat(str(status["expirationTimestamp"]).replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"executable {command} returned an invalid expirationTimestamp") from None
        if expiry.tzinfo is None:
            expiry = expiry.replace(tzinfo=datetime.timezone.utc)
    if token:
        return Credential(token=token, expiry=expiry)
    return Credential(cert=cert.encode(), key=key.encode(), expiry=expiry)


def cluster_info(cluster: dict) -> dict:
    """spec.cluster of KUBERNETES_EXEC_INFO, for plugins with provideClusterInfo."""
    info = {"server": cluster.get("server", "")}
    for field in ("tls-server-name", "insecure-skip-tls-verify", "proxy-url", "disable-compression"):
        if cluster.get(field):
            info[field] = cluster[field]
    ca = cluster.get("certificate-authority-data")
    if not ca and cluster.get("certificate-authority"):
        try:
            with open(cluster["certificate-authority"], "rb") as f:
                ca = base64.b64encode(f.read()).decode()
        except OSError as e:
            raise ConfigError(f"cannot read the certificate authority {cluster['certificate-authority']}: "
                              f"{e.strerror}: fix the kubeconfig") from None
    if ca:
        info["certificate-authority-data"] = ca
    for extension in cluster.get("extensions") or []:
        if extension.get("name") == "client.authentication.k8s.io/exec":
            info["config"] = extension.get("extension")
    return info


class ExecPlugin:
    """One kubeconfig user's exec plugin: `get()` runs it when there is no unexpired credential yet."""

    def __init__(self, spec: dict, cluster: dict, context: str, stdin=None):
        self.spec, self.cluster, self.context = spec, cluster, context
        self.command = spec.get("command") or ""
        self.stdin = stdin if stdin is not None else sys.stdin
        self._credential: Credential | None = None
        self._lock = threading.Lock()  # parallel requests share one run of the plugin

    def fail(self, message: str, fix: str = "") -> ConfigError:
        return ConfigError(f'getting credentials: {message} (context "{self.context}")' + (f": {fix}" if fix else ""))

    def get(self) -> Credential:
        with self._lock:
            now = datetime.datetime.now(datetime.timezone.utc)
            credential = self._credential
            if credential is None or (credential.expiry and credential.expiry - EXPIRY_MARGIN <= now):
                self._credential = self._run()
            return self._credential

    def forget(self) -> None:
        """The API server rejected the credential (401): the next get() asks the plugin again."""
        with self._lock:
            self._credential = None

    def _interactive(self) -> bool:
        mode = self.spec.get("interactiveMode") or "IfAvailable"
        terminal = hasattr(self.stdin, "isatty") and self.stdin.isatty()
        if mode == "Always" and not terminal:
            raise self.fail("exec plugin cannot support interactive mode: standard input is not a terminal")
        return mode != "Never" and terminal

    def _run(self) -> Credential:
        api_version = self.spec.get("apiVersion") or ""
        if api_version not in API_VERSIONS:
            raise self.fail(f'exec plugin: invalid apiVersion "{api_version}"',
                            f"use {' or '.join(API_VERSIONS)} in the kubeconfig user")
        if not self.command:
            raise self.fail("exec plugin: the kubeconfig user's exec has no command", "fix the kubeconfig user")
        interactive = self._interactive()
        spec = {"interactive": interactive}
        if self.spec.get("provideClusterInfo"):
            spec["cluster"] = cluster_info(self.cluster)
        env = dict(os.environ)
        env.update({e["name"]: str(e.get("value", "")) for e in self.spec.get("env") or [] if e.get("name")})
        env["KUBERNETES_EXEC_INFO"] = json.dumps({"apiVersion": api_version, "kind": "ExecCredential", "spec": spec})
        argv = [self.command, *map(str, self.spec.get("args") or [])]
        try:
            done = subprocess.run(argv, env=env, stdout=subprocess.PIPE, text=True,
                                  stdin=None if interactive else subprocess.DEVNULL,
                                  stderr=None if interactive else subprocess.PIPE)
        except FileNotFoundError:
            # kubectl prints the plugin's installHint too: it says where to get the plugin.
            hint = self.spec.get("installHint") or ""
            raise self.fail(f"exec: executable {self.command} not found",
                            first_line(hint) if hint.strip() else "install it, or fix the user in the kubeconfig") \
                from None
        except OSError as e:  # not executable, a directory, a bad interpreter line, ...
            raise self.fail(f"exec: executable {self.command} cannot be run: {e.strerror}") from None
        if done.returncode != 0:
            said = next((line.strip() for line in (done.stderr or "").splitlines() if line.strip()), "")
            raise self.fail(f"exec: executable {self.command} failed with exit code {done.returncode}"
                            + (f": {said}" if said else ""))
        try:
            return credential_of(done.stdout, api_version, self.command)
        except ValueError as e:
            message = str(e)
            raise self.fail(message if message.startswith("exec plugin") else f"exec: {message}") from None
