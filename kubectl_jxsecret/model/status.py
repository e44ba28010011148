"""Is an ExternalSecret populated, and if not, why? The one decision verify, wait and edit share
(jx-secret's VerifySecret), made from the ExternalSecret and a summary of its Secret.

Secret values never reach this module: a Secret is summarised as key -> "has a non-empty value".
"""

import enum
from dataclasses import dataclass

from .externalsecret import ExternalSecret


class State(str, enum.Enum):
    POPULATED = "Populated"  # the Secret has every expected key, each non-empty
    SYNC_ERROR = "SyncError"  # the operator reports it cannot sync (its reason and message say why)
    SECRET_MISSING = "SecretMissing"  # the operator has reported, but there is no Secret
    KEYS_MISSING = "KeysMissing"  # the Secret exists; some expected keys are absent or empty
    UNKNOWN = "Unknown"  # no Secret and no status yet, or the Secret could not be read


def secret_summary(secret: dict) -> dict[str, bool]:
    """key -> True if its value is non-empty. Looks at the encoded length only, never decodes."""
    data = secret.get("data") if isinstance(secret, dict) else None
    return {str(k): bool(v) for k, v in data.items()} if isinstance(data, dict) else {}


@dataclass(frozen=True)
class Verdict:
    namespace: str
    name: str
    api_version: str
    store: str
    secret: str
    state: State
    missing_keys: tuple[str, ...]
    reason: str = ""
    message: str = ""
    refresh_time: str = ""
    detail: str = ""  # the operator's latest Warning event: ESO puts the per-key cause there

    @property
    def populated(self) -> bool:
        return self.state is State.POPULATED

    def to_dict(self) -> dict:
        return {
            "namespace": self.namespace, "name": self.name, "apiVersion": self.api_version,
            "store": self.store, "secret": self.secret, "state": self.state.value,
            "populated": self.populated, "missingKeys": list(self.missing_keys),
            "reason": self.reason, "message": self.message, "detail": self.detail,
            "refreshTime": self.refresh_time,
        }


def missing_keys(expected: tuple[str, ...] | None, secret: dict[str, bool] | None) -> tuple[str, ...]:
    if secret is None:
        return expected or ()
    if expected is None:  # dataFrom/templateFrom: whatever the Secret has must be non-empty
        return tuple(k for k, non_empty in secret.items() if not non_empty)
    return tuple(k for k in expected if not secret.get(k))


def evaluate(es: ExternalSecret, secret: dict[str, bool] | None, unreadable: str = "") -> Verdict:
    """The verdict for `es` given its Secret's summary (None = no such Secret).

    `unreadable` says why the Secret could not be looked at (e.g. RBAC): then the state is Unknown.
    Order matters: the operator's own error explains everything below it, so it wins; a complete
    Secret counts as populated even before the operator has written a status.
    """
    ready = es.ready
    reason, message = (ready.reason, ready.message) if ready else ("", "")
    base = dict(namespace=es.namespace, name=es.name, api_version=es.api_version, store=es.store,
                secret=es.target_name, reason=reason, message=message, refresh_time=es.refresh_time)
    if unreadable:
        return Verdict(state=State.UNKNOWN, missing_keys=(), **{**base, "message": unreadable})
    missing = missing_keys(es.expected_keys, secret)
    if ready is not None and ready.status == "False":
        state = State.SYNC_ERROR
    elif secret is None:
        state = State.SECRET_MISSING if ready is not None else State.UNKNOWN
    elif missing or not secret:
        state = State.KEYS_MISSING
    else:
        state = State.POPULATED
    return Verdict(state=state, missing_keys=missing, **base)
