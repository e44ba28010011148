"""Which ExternalSecrets ESO would act on after a force-sync (resync.skip_reason)."""

import pytest

from kubectl_jxsecret.model.externalsecret import ExternalSecret
from kubectl_jxsecret.resync import Pending, landing, skip_reason, warning_entry

SYNCED = {"syncedResourceVersion": "1-abc"}


def es(spec=None, status=None, api_version="external-secrets.io/v1"):
    return ExternalSecret({"apiVersion": api_version, "metadata": {"name": "x", "namespace": "jx"},
                           "spec": spec or {}, "status": status or {}})


@pytest.mark.parametrize("obj, reason", [
    (es(), ""),
    (es({"refreshInterval": "1h"}, SYNCED), ""),
    (es({"refreshInterval": "0s"}), ""),  # never synced yet: ESO syncs it
    (es({"refreshInterval": "0s"}, SYNCED), "refreshInterval 0: ESO synced it once and will not again (recreate it to sync)"),
    (es({"refreshInterval": "0"}, SYNCED), "refreshInterval 0: ESO synced it once and will not again (recreate it to sync)"),
    (es({"refreshInterval": "soon"}, SYNCED), ""),  # not ours to judge: ESO's webhook would have refused it
    (es({"refreshPolicy": "CreatedOnce"}), ""),
    (es({"refreshPolicy": "CreatedOnce"}, SYNCED), "refreshPolicy CreatedOnce: ESO synced it once and will not again"),
    (es({"refreshPolicy": "OnChange"}, SYNCED), ""),  # an annotation change is a change
    (es(api_version="kubernetes-client.io/v1"), "a legacy kubernetes-client.io ExternalSecret: its operator has no force-sync"),
])
def test_skip_reason(obj, reason):
    assert skip_reason(obj) == reason


def ready(status, synced="1-abc", message="could not get secret data from provider"):
    return es(status={"syncedResourceVersion": synced,
                      "conditions": [{"type": "Ready", "status": status, "message": message}]})


BEFORE = Pending(ready("False"), frozenset({"10"}))  # failing before the request, with event 10
OLD_EVENT = {"10": ("2026-11-29T10:00:00Z", "old failure")}
NEW_EVENT = {**OLD_EVENT, "42": ("2026-11-29T10:00:05Z", "key apps/x: Secret does not exist")}


@pytest.mark.parametrize("now, warnings, expected", [
    (None, {}, (False, "deleted while waiting")),
    (ready("True", synced="2-def"), {}, (True, "")),  # a new sync since the request
    (ready("True"), {}, None),  # Ready, but the sync from before the request
    (ready("False"), OLD_EVENT, None),  # the failure from before the request
    (ready("False"), NEW_EVENT, (False, "key apps/x: Secret does not exist")),
    (ready("False"), {**OLD_EVENT, "43": ("2026-11-29T10:00:05Z", "")},
     (False, "could not get secret data from provider")),  # an event without a message: Ready's
])
def test_landing(now, warnings, expected):
    landed = landing(BEFORE, now, warnings)
    assert (landed if landed is None else (landed.synced, landed.message)) == expected


def test_a_warning_event_entry():
    event = {"involvedObject": {"uid": "u1"}, "metadata": {"resourceVersion": "7"},
             "lastTimestamp": "2026-11-29T10:00:00Z", "message": " failed \n"}
    assert warning_entry(event) == ("u1", "7", ("2026-11-29T10:00:00Z", "failed"))
