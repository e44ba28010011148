"""Which ExternalSecrets ESO would act on after a force-sync (resync.skip_reason)."""

import pytest

from kubectl_jxsecret.model.externalsecret import ExternalSecret
from kubectl_jxsecret.resync import skip_reason

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
