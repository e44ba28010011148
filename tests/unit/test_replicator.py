"""A write that meets a concurrent change (409) reads that one Secret again, plans again and retries.

The API server cannot be made to lose a race on cue, so this one path runs against a recorded stand-in."""

import copy

import pytest

from kubectl_jxsecret.errors import KubeError
from kubectl_jxsecret.model.replication import Action, Target, plan_target, replica_of
from kubectl_jxsecret.replicator import write

SOURCE = {"metadata": {"name": "db", "namespace": "jx"}, "type": "Opaque", "data": {"k": "djI="}}
T = Target("jx-staging")


class Racing:
    """Answers the first write with 409 and, when read again, what the other writer left."""

    def __init__(self, now):
        self.now, self.calls, self.raced = now, [], False

    def request(self, method, path, query=None, body=None, **kw):
        self.calls.append((method, path, (body or {}).get("metadata", {}).get("resourceVersion")))
        if not self.raced:
            self.raced = True
            raise KubeError("the object has been modified", 409)
        return {}

    def get(self, path, *a):
        self.calls.append(("GET", path, None))
        if self.now is None:
            raise KubeError("not found", 404)
        return copy.deepcopy(self.now)


def held(data, version):
    s = replica_of(dict(SOURCE, data=data), "jx-staging")
    s["metadata"]["resourceVersion"] = version
    return s


@pytest.mark.parametrize("before, now, calls, action", [
    # changed meanwhile by someone else: updated again on top of their version
    (held({"k": "djE="}, "5"), held({"k": "b3RoZXI="}, "6"),
     [("PUT", "/api/v1/namespaces/jx-staging/secrets/db", "5"), ("GET", "/api/v1/namespaces/jx-staging/secrets/db", None),
      ("PUT", "/api/v1/namespaces/jx-staging/secrets/db", "6")], Action.UPDATE),
    # another run wrote the same content meanwhile: nothing left to do
    (held({"k": "djE="}, "5"), held({"k": "djI="}, "6"),
     [("PUT", "/api/v1/namespaces/jx-staging/secrets/db", "5"), ("GET", "/api/v1/namespaces/jx-staging/secrets/db", None)],
     Action.UNCHANGED),
    # created by someone else between the read and our create: updated on top of it
    (None, held({"k": "djE="}, "3"),
     [("POST", "/api/v1/namespaces/jx-staging/secrets", None), ("GET", "/api/v1/namespaces/jx-staging/secrets/db", None),
      ("PUT", "/api/v1/namespaces/jx-staging/secrets/db", "3")], Action.UPDATE),
])
def test_a_conflict_is_planned_again_and_retried(before, now, calls, action):
    [step] = plan_target(T, [SOURCE], {"db": before} if before else {}, "jx")
    kube = Racing(now)
    write(kube, step, [SOURCE], "jx", force=False)
    assert (kube.calls, step.action) == (calls, action)
