"""What the page shows, as the JSON the server sends: pure, no I/O, tested with tables.

A row is a verdict (model.status: the same decision verify makes) plus the key the page tracks it
by; a detail is the ExternalSecret's data mapping, its conditions, its latest Warning events and
its Secret's key names. Values never get here: a Secret arrives as key -> "non-empty".
"""

from ..model.externalsecret import ExternalSecret
from ..model.plan import refs_of
from ..model.status import State, Verdict

EVENTS_SHOWN = 5


def row_key(namespace: str, name: str, api_version: str) -> str:
    return f"{api_version}/{namespace}/{name}"


def row(verdict: Verdict) -> dict:
    data = verdict.to_dict()
    data["key"] = row_key(verdict.namespace, verdict.name, verdict.api_version)
    return data


def counts(rows) -> dict[str, int]:
    """State -> number of rows, every state named (0 included), in State order."""
    found = {state.value: 0 for state in State}
    for r in rows:
        found[r["state"]] = found.get(r["state"], 0) + 1
    return found


def mapping(es: ExternalSecret) -> list[dict]:
    """Secret key -> store key/property, from `data[]`; what has no property-level mapping says why."""
    refs, unwritable = refs_of(es)
    rows = [{"secretKey": r.secret_key, "store": f"{r.destination.store.kind}/{r.destination.store.name}",
             "key": r.destination.key, "property": r.property, "note": ""} for r in refs]
    return rows + [{"secretKey": "", "store": "", "key": "", "property": "", "note": u.reason} for u in unwritable]


def events(raw_events, uid: str) -> list[dict]:
    """The latest Warning events about `uid`, newest first."""
    mine = [e for e in raw_events if (e.get("involvedObject") or {}).get("uid") == uid]
    mine.sort(key=lambda e: e.get("lastTimestamp") or e.get("eventTime") or "", reverse=True)
    return [{"time": e.get("lastTimestamp") or e.get("eventTime") or "", "reason": str(e.get("reason") or ""),
             "message": str(e.get("message") or "").strip(), "count": int(e.get("count") or 1)}
            for e in mine[:EVENTS_SHOWN]]


def detail(es: ExternalSecret, secret: dict[str, bool] | None, verdict: Verdict, raw_events) -> dict:
    conditions = [{"type": str(c.get("type") or ""), "status": str(c.get("status") or ""),
                   "reason": str(c.get("reason") or ""), "message": str(c.get("message") or ""),
                   "lastTransitionTime": str(c.get("lastTransitionTime") or "")}
                  for c in es.status.get("conditions") or [] if isinstance(c, dict)]
    return {"row": row(verdict), "mapping": mapping(es), "conditions": conditions,
            "events": events(raw_events, es.uid), "secret": es.target_name,
            "secretKeys": None if secret is None else [{"name": k, "empty": not v} for k, v in sorted(secret.items())]}
