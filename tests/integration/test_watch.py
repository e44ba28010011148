"""kube/watch.py against the real API server: a LIST, then changes as they happen, a watch the server
ends reopened from the last resourceVersion (no second LIST), and one from a version the server no longer
has (410 Gone) answered by a new LIST."""

import threading
import time

import pytest

from kubectl_jxsecret.flags import KubeFlags
from kubectl_jxsecret.kube.client import connect
from kubectl_jxsecret.kube.watch import Reflector, follow

pytestmark = pytest.mark.integration


def until(check, timeout=15):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    raise AssertionError(f"condition not met within {timeout}s")


def test_a_watch_lists_then_follows_and_resumes_after_the_server_ends_it(testbed, namespace):
    testbed.kubectl("create", "configmap", "before", "-n", namespace)
    kube = connect(KubeFlags(kubeconfig=testbed.kubeconfig))
    resets, events, connection, stop = [], [], [], threading.Event()
    mark = testbed.audit_mark()
    follow(kube, f"/api/v1/namespaces/{namespace}/configmaps",
           lambda items: resets.append(sorted(i["metadata"]["name"] for i in items)),
           lambda kind, obj: events.append((kind, obj["metadata"]["name"], obj["metadata"]["resourceVersion"])),
           lambda ok, message: connection.append(ok), stop=stop, watch_seconds=1)
    try:
        until(lambda: resets)
        testbed.kubectl("create", "configmap", "during", "-n", namespace)
        until(lambda: [e for e in events if e[:2] == ("ADDED", "during")])
        time.sleep(2.5)  # the server ends each watch after 1 s: reopened from where it was, twice or more
        testbed.kubectl("delete", "configmap", "during", "-n", namespace)
        until(lambda: [e for e in events if e[:2] == ("DELETED", "during")])
    finally:
        stop.set()
    assert resets == [["before"]]  # no kube-controller-manager here: no kube-root-ca.crt
    assert [e[:2] for e in events] == [("ADDED", "during"), ("DELETED", "during")]
    assert connection == []
    requests = [uri for verb, uri in testbed.requests_since(mark) if f"/namespaces/{namespace}/configmaps" in uri]
    lists = [uri for uri in requests if "watch=1" not in uri]
    watches = [uri for uri in requests if "watch=1" in uri]
    assert len(lists) == 1
    # The audit log records a watch when it ends: the first ended after 1 s, and the next resumed from the
    # resourceVersion of the last change it had seen.
    assert f"resourceVersion={events[0][2]}&" in watches[1]


def test_a_watch_from_a_version_too_old_lists_again(testbed, namespace):
    """410 Gone: ExternalSecrets' watch cache began when their CRD was made, long after resourceVersion 1."""
    testbed.apply({"apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
                   "metadata": {"name": "before", "namespace": namespace},
                   "spec": {"secretStoreRef": {"kind": "ClusterSecretStore", "name": "vault"}, "data": []}})
    kube = connect(KubeFlags(kubeconfig=testbed.kubeconfig))
    path = f"/apis/external-secrets.io/v1/namespaces/{namespace}/externalsecrets"
    resets, connection, stop = [], [], threading.Event()
    mark = testbed.audit_mark()
    reflector = Reflector(kube, path, lambda items: resets.append(sorted(i["metadata"]["name"] for i in items)),
                          lambda kind, obj: None, lambda ok, message: connection.append(ok), stop=stop)
    reflector.version = "1"  # as if it had listed long ago: the watch is refused with 410 Gone
    reflector.start()
    try:
        until(lambda: resets)
    finally:
        stop.set()
    assert (resets, connection) == ([["before"]], [])
    requests = [uri for verb, uri in testbed.requests_since(mark) if uri.startswith(path)]
    assert "resourceVersion=1&" in requests[0] and "watch=1" in requests[0]
    assert "watch=1" not in requests[1]  # then a LIST
