"""Is an ExternalSecret populated, and if not, why? The one decision verify, wait and edit share
(jx-secret's VerifySecret), made from the ExternalSecret and a summary of its Secret.

Secret values never reach this module: a Secret is summarised as key -> "has a non-empty value".
"""

import enum
from typing import NamedTuple

from .externalsecret import ExternalSecret


class State(str, enum.Enum):
    POPULATED = "Populated"  # the Secret has every expected key, each non-empty
    STALE = "Stale"  # populated, but the operator reports it cannot sync: the values may be old
    SYNC_ERROR = "SyncError"  # the operator reports it cannot sync (its reason and message say why)
    SECRET_MISSING = "SecretMissing"  # the operator has reported, but there is no Secret
    KEYS_MISSING = "KeysMissing"  # the Secret exists; some expected keys are absent or empty
    INVALID = "Invalid"  # the spec itself cannot work (no data, malformed): the message says what
    UNKNOWN = "Unknown"  # no Secret and no status yet


POPULATED_STATES = (State.POPULATED, State.STALE)


class Location(NamedTuple):
    """Where a missing value belongs: property `property` of `key` in `store` (the ExternalSecret's remoteRef)."""

    secret_key: str
    store: str
    key: str
    property: str

    def to_dict(self) -> dict:
        return {"secretKey": self.secret_key, "store": self.store, "key": self.key, "property": self.property}


def secret_summary(secret: dict) -> dict[str, bool]:
    """key -> True if its value is non-empty. Looks at the encoded length only, never decodes."""
    data = secret.get("data") if isinstance(secret, dict) else None
    return {str(k): bool(v) for k, v in data.items()} if isinstance(data, dict) else {}


class Verdict(NamedTuple):
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
    missing_at: tuple[Location, ...] = ()  # where the missing values belong, for those the spec names
    secret_readable: bool = True  # False: RBAC hid the Secret; the state is the operator's word alone

    @property
    def populated(self) -> bool:
        return self.state in POPULATED_STATES

    def to_dict(self) -> dict:
        return {
            "namespace": self.namespace, "name": self.name, "apiVersion": self.api_version,
            "store": self.store, "secret": self.secret, "state": self.state.value,
            "populated": self.populated, "missingKeys": list(self.missing_keys),
            "missingAt": [loc.to_dict() for loc in self.missing_at],
            "reason": self.reason, "message": self.message, "detail": self.detail,
            "refreshTime": self.refresh_time, "secretReadable": self.secret_readable,
        }


def missing_keys(expected: tuple[str, ...] | None, secret: dict[str, bool] | None) -> tuple[str, ...]:
    if secret is None:
        return expected or ()
    if expected is None:  # dataFrom/templateFrom: whatever the Secret has must be non-empty
        return tuple(k for k, non_empty in secret.items() if not non_empty)
    return tuple(k for k in expected if not secret.get(k))


def evaluate(es: ExternalSecret, secret: dict[str, bool] | None, unreadable: str = "") -> Verdict:
    """The verdict for `es` given its Secret's summary (None = no such Secret).

    `unreadable` says why the Secret could not be looked at (e.g. RBAC): then the operator's own
    Ready condition is all there is to go by, and the verdict says so.
    Order matters: a spec that cannot work explains everything; the operator's error explains what is
    missing, but a Secret that still holds every key is populated, only stale; a complete Secret counts
    as populated even before the operator has written a status.
    """
    ready = es.ready
    reason, message = (ready.reason, ready.message) if ready else ("", "")
    base = dict(namespace=es.namespace, name=es.name, api_version=es.api_version, store=es.store,
                secret=es.target_name, reason=reason, message=message, refresh_time=es.refresh_time)
    problem = es.spec_problem
    if problem:
        return Verdict(state=State.INVALID, missing_keys=(), **{**base, "message": problem})
    if unreadable:
        by_operator = {"True": State.POPULATED, "False": State.SYNC_ERROR}.get(ready.status if ready else "", State.UNKNOWN)
        return Verdict(state=by_operator, missing_keys=(), secret_readable=False,
                       **{**base, "message": f"{message}; {unreadable}" if message else unreadable})
    missing = missing_keys(es.expected_keys, secret)
    complete = secret is not None and bool(secret) and not missing
    if ready is not None and ready.status == "False":
        state = State.STALE if complete else State.SYNC_ERROR
    elif secret is None:
        state = State.SECRET_MISSING if ready is not None else State.UNKNOWN
    elif not complete:
        state = State.KEYS_MISSING
    else:
        state = State.POPULATED
    return Verdict(state=state, missing_keys=missing, missing_at=locations(es, missing), **base)


def locations(es: ExternalSecret, missing: tuple[str, ...]) -> tuple[Location, ...]:
    """Where each missing key's value belongs in the store, as the spec's `data[]` says."""
    from .plan import refs_of

    wanted = set(missing)
    return tuple(Location(r.secret_key, f"{r.destination.store.kind}/{r.destination.store.name}", r.destination.key,
                          r.property) for r in refs_of(es)[0] if r.secret_key in wanted)
