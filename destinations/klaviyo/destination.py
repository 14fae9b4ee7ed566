"""Klaviyo as a Segue destination (API revision 2026-07-15, JSON:API).

- upsert, object `profiles`: Bulk Import Profiles jobs (≤10,000 profiles, ≤5 MB),
  polled until complete, per-record failures read from the job's import errors;
- mirror, object `list/<list id>`: adds ride on the bulk import job's `lists`
  relationship; removals look the profile ids up by external_id
  (`GET /api/profiles?filter=any(external_id,[...])`, 100 per request) and
  `DELETE /api/lists/{id}/relationships/profiles`;
- actions, object `event/<metric name>`: Create Event, one per action, with
  `unique_id` = action_id (Klaviyo ignores a repeated unique_id, so an action
  whose answer was lost is safely re-sent).
"""

from __future__ import annotations

import json
from typing import Any

import orjson

from destinations.base import (
    BatchOutcome,
    Capabilities,
    ConfigError,
    FatalError,
    Op,
    PendingJob,
    RateLimit,
    Record,
)

REVISION = "2026-07-15"
DEFAULT_BASE_URL = "https://a.klaviyo.com"
JSON_API = "application/vnd.api+json"
MAX_IMPORT_PROFILES = 10_000
MAX_IMPORT_BYTES = 5 * 1024 * 1024
ENVELOPE_BYTES = 2_048  # the job body around the profiles, with room to spare
PROFILE_FIELDS = {
    "email",
    "phone_number",
    "external_id",
    "first_name",
    "last_name",
    "organization",
    "locale",
    "title",
    "image",
}
LOCATION_FIELDS = {"address1", "address2", "city", "country", "latitude", "longitude", "region", "zip", "timezone"}
IDENTIFIERS = ("external_id", "email", "phone_number")
EVENT_FIELDS = {"unique_id", "time", "value", "value_currency", *IDENTIFIERS}

BULK_IMPORT = "POST /api/profile-bulk-import-jobs"
BULK_IMPORT_GET = "GET /api/profile-bulk-import-jobs"
GET_PROFILES = "GET /api/profiles"
LIST_REMOVE = "DELETE /api/lists/{id}/relationships/profiles"
CREATE_EVENT = "POST /api/events"

# The spec's x-klaviyo-ratelimit per endpoint (burst per second, steady per minute).
RATE_LIMITS = {
    BULK_IMPORT: RateLimit(10, 150),
    BULK_IMPORT_GET: RateLimit(10, 150),
    GET_PROFILES: RateLimit(75, 750),
    LIST_REMOVE: RateLimit(10, 150),
    CREATE_EVENT: RateLimit(350, 3500),
}


class _ProfileEncoder:
    """Field values (in the order of `names`) -> the profile object's JSON, as `profile_object` builds it.

    The dotted names become a tree once ("properties.tier" under "properties"); encoding a profile
    then writes each non-null value with orjson after its precomputed `"key":` prefix. A value
    orjson refuses (an integer past 64 bits) is written by the stdlib encoder instead.
    """

    HEAD = b'{"type":"profile","attributes":'

    def __init__(self, names: tuple[str, ...]):
        tree: dict[str, Any] = {}
        for index, name in enumerate(names):
            node = tree
            *heads, leaf = name.split(".")
            for head in heads:
                node = node.setdefault(head, {})
            node[leaf] = index
        self.tree = self._compile(tree)

    @classmethod
    def _compile(cls, node: dict[str, Any]) -> list[tuple[bytes, Any]]:
        return [
            (orjson.dumps(key) + b":", value if isinstance(value, int) else cls._compile(value))
            for key, value in node.items()
        ]

    @staticmethod
    def _value(value: Any) -> bytes:
        try:
            return orjson.dumps(value)
        except TypeError:
            return json.dumps(value, separators=(",", ":")).encode()

    def _object(self, node: list[tuple[bytes, Any]], values: tuple) -> bytes | None:
        parts = []
        for prefix, child in node:
            if child.__class__ is int:
                value = values[child]
                if value is not None:
                    parts.append(prefix + self._value(value))
            else:
                inner = self._object(child, values)
                if inner is not None:
                    parts.append(prefix + inner)
        return b"{" + b",".join(parts) + b"}" if parts else None

    def __call__(self, values: tuple) -> bytes:
        return self.HEAD + (self._object(self.tree, values) or b"{}") + b"}"


# Field names of a record (in order) -> its compiled encoder; a sync's records share one.
_ENCODERS: dict[tuple[str, ...], _ProfileEncoder] = {}


def _set_path(target: dict[str, Any], field: str, value: Any) -> None:
    head, _, rest = field.partition(".")
    if rest:
        _set_path(target.setdefault(head, {}), rest, value)
    else:
        target[head] = value


class KlaviyoDestination:
    capabilities = Capabilities(
        max_batch_rows={Op.UPSERT: MAX_IMPORT_PROFILES, Op.ADD: MAX_IMPORT_PROFILES, Op.REMOVE: 100, Op.SEND: 1},
        max_batch_bytes={
            Op.UPSERT: MAX_IMPORT_BYTES - ENVELOPE_BYTES,
            Op.ADD: MAX_IMPORT_BYTES - ENVELOPE_BYTES,
            Op.REMOVE: MAX_IMPORT_BYTES,
            Op.SEND: MAX_IMPORT_BYTES,
        },
        rate_limits=RATE_LIMITS,
        max_concurrency=4,
        # One event per request at ~0.1-0.2 s each: 4 in flight reach 20-40/s, below the 58/s steady limit.
        # Import jobs: a worker holds its job until a poll says complete (two polls, >= 1.25 s at the
        # engine's poll schedule), so 4 workers left 10 jobs waiting in three rounds; 8 keep the job
        # endpoint's 10/s burst busy. Klaviyo documents no cap on jobs in progress.
        max_concurrency_by_op={Op.SEND: 24, Op.UPSERT: 8, Op.ADD: 8},
        dedupes_actions=True,
    )

    def __init__(self, instance, transport):
        self.instance = instance
        self.transport = transport
        self.base_url = instance.base_url(DEFAULT_BASE_URL)
        self._api_key = instance.credential("api_key")

    # -- declaration checks -------------------------------------------------------------------------
    @classmethod
    def validate_spec(cls, spec) -> list[str]:
        problems = []
        kind, _, name = spec.object.partition("/")
        expected = {"upsert": "profiles", "mirror": "list", "actions": "event"}[spec.mode]
        if kind != expected or (kind != "profiles" and not name):
            example = {"profiles": "profiles", "list": "list/<list id>", "event": "event/<metric name>"}[expected]
            problems.append(
                f"meta.sync.object: mode {spec.mode} on Klaviyo needs object {example!r}, got {spec.object!r}"
            )
        for field in spec.mapping:
            if spec.mode == "actions":
                ok = field in EVENT_FIELDS or field.startswith("properties.")
            else:
                head, _, rest = field.partition(".")
                ok = field in PROFILE_FIELDS or (head == "location" and rest in LOCATION_FIELDS)
                ok = ok or (head == "properties" and bool(rest))
            if not ok:
                problems.append(
                    f"meta.sync.mapping.{field}: not a Klaviyo {'event' if spec.mode == 'actions' else 'profile'} field"
                )
        if not any(i in spec.mapping for i in IDENTIFIERS):
            problems.append("meta.sync.mapping: map at least one of external_id, email, phone_number")
        if spec.mode == "mirror" and spec.mapping.get("external_id") != spec.primary_key:
            problems.append(
                f"meta.sync.mapping.external_id: a mirror maps external_id to the primary key {spec.primary_key!r} "
                "(removals look profiles up by it)"
            )
        if spec.mode == "actions" and spec.mapping.get("unique_id") != spec.primary_key:
            problems.append(f"meta.sync.mapping.unique_id: must be the primary key {spec.primary_key!r} (at most once)")
        return problems

    # -- requests -------------------------------------------------------------------------------------
    def _headers(self) -> dict[str, str]:
        return {
            "Authorization": f"Klaviyo-API-Key {self._api_key}",
            "revision": REVISION,
            "Accept": JSON_API,
            "Content-Type": JSON_API,
        }

    def _call(self, endpoint: str, method: str, path: str, body: dict | bytes | None = None, params=None):
        data = body if isinstance(body, bytes) or body is None else json.dumps(body, separators=(",", ":"))
        return self.transport.request(
            endpoint, method, self.base_url + path, data=data, params=params, headers=self._headers()
        )

    @staticmethod
    def profile_object(record: Record) -> dict[str, Any]:
        attributes: dict[str, Any] = {}
        for field, value in record.fields.items():
            if value is not None:
                _set_path(attributes, field, value)
        return {"type": "profile", "attributes": attributes}

    @staticmethod
    def _profile_json(record: Record) -> bytes:
        """The profile's JSON (UTF-8), encoded once: sizing the batch and building the job body share it.

        The same object as `profile_object` (fields without a value left out, dotted fields nested),
        written by an encoder compiled once per set of field names (`_ProfileEncoder`): no dict per
        profile, orjson for the values.
        """
        cached = record.encoded
        if cached is None:
            fields = record.fields
            names = tuple(fields)
            encoder = _ENCODERS.get(names)
            if encoder is None:
                encoder = _ENCODERS[names] = _ProfileEncoder(names)
            cached = record.encoded = encoder(tuple(fields.values()))
        return cached

    def encoded_size(self, op: Op, record: Record) -> int:
        if op in (Op.UPSERT, Op.ADD):
            return len(self._profile_json(record)) + 1
        return len(str(record.key)) + 64

    def import_body(self, records: list[Record], list_id: str | None) -> dict[str, Any]:
        attributes = {"profiles": {"data": [self.profile_object(r) for r in records]}}
        data: dict[str, Any] = {"type": "profile-bulk-import-job", "attributes": attributes}
        if list_id:
            data["relationships"] = {"lists": {"data": [{"type": "list", "id": list_id}]}}
        return {"data": data}

    def import_body_text(self, records: list[Record], list_id: str | None) -> bytes:
        """`import_body(...)` as JSON (UTF-8), joined from the profiles' cached JSON."""
        profiles = b",".join([self._profile_json(r) for r in records])
        relationships = b""
        if list_id:
            relationships = b',"relationships":' + orjson.dumps({"lists": {"data": [{"type": "list", "id": list_id}]}})
        return (
            b'{"data":{"type":"profile-bulk-import-job","attributes":{"profiles":{"data":['
            + profiles
            + b"]}}"
            + relationships
            + b"}}"
        )

    def event_body(self, spec, record: Record) -> dict[str, Any]:
        metric = spec.object.partition("/")[2]
        fields = dict(record.fields)
        profile = {k: fields.pop(k) for k in IDENTIFIERS if k in fields and fields[k] is not None}
        for k in IDENTIFIERS:
            fields.pop(k, None)
        attributes: dict[str, Any] = {"properties": {}}
        for field, value in fields.items():
            if value is not None:
                _set_path(attributes, field, value)
        attributes["metric"] = {"data": {"type": "metric", "attributes": {"name": metric}}}
        attributes["profile"] = {"data": {"type": "profile", "attributes": profile}}
        return {"data": {"type": "event", "attributes": attributes}}

    @staticmethod
    def remove_body(profile_ids: list[str]) -> dict[str, Any]:
        return {"data": [{"type": "profile", "id": pid} for pid in profile_ids]}

    @staticmethod
    def _errors(response) -> tuple[str, str]:
        try:
            error = response.json()["errors"][0]
            return str(error.get("code") or response.status_code), str(error.get("detail") or error.get("title"))
        except (ValueError, KeyError, IndexError, TypeError):
            return str(response.status_code), response.text[:200]

    def deliver(self, op: Op, spec, records: list[Record]) -> BatchOutcome | PendingJob:
        if not records:
            return BatchOutcome()
        if op in (Op.UPSERT, Op.ADD):
            list_id = spec.object.partition("/")[2] if op is Op.ADD else None
            response = self._call(
                BULK_IMPORT, "POST", "/api/profile-bulk-import-jobs", self.import_body_text(records, list_id)
            )
            if response.status_code != 202:
                code, message = self._errors(response)
                raise FatalError(f"Klaviyo refused the bulk import job: HTTP {response.status_code} {code}: {message}")
            return PendingJob(job_id=response.json()["data"]["id"], records=records)
        if op is Op.REMOVE:
            return self._remove(spec, records)
        if op is Op.SEND:
            outcome = BatchOutcome()
            for record in records:
                response = self._call(CREATE_EVENT, "POST", "/api/events", self.event_body(spec, record))
                if response.status_code == 202:
                    outcome.confirmed.append(record.key)
                else:
                    outcome.rejected[record.key] = self._errors(response)
            return outcome
        raise ConfigError(f"Klaviyo does not support {op}")

    def _remove(self, spec, records: list[Record]) -> BatchOutcome:
        list_id = spec.object.partition("/")[2]
        # validate_spec makes external_id the primary key, so a departed row's key is its external_id
        quoted = ",".join(json.dumps(r.key) for r in records)
        response = self._call(
            GET_PROFILES,
            "GET",
            "/api/profiles",
            params={"filter": f"any(external_id,[{quoted}])", "page[size]": "100", "fields[profile]": "external_id"},
        )
        if response.status_code != 200:
            code, message = self._errors(response)
            raise FatalError(f"Klaviyo profile lookup failed: HTTP {response.status_code} {code}: {message}")
        ids = [p["id"] for p in response.json().get("data", [])]
        if ids:
            response = self._call(
                LIST_REMOVE, "DELETE", f"/api/lists/{list_id}/relationships/profiles", self.remove_body(ids)
            )
            if response.status_code != 204:
                code, message = self._errors(response)
                return BatchOutcome(rejected={r.key: (code, message) for r in records})
        # A profile Klaviyo no longer holds is not in the list either: removed.
        return BatchOutcome(confirmed=[r.key for r in records])

    def poll(self, job: PendingJob) -> BatchOutcome | None:
        response = self._call(BULK_IMPORT_GET, "GET", f"/api/profile-bulk-import-jobs/{job.job_id}")
        if response.status_code != 200:
            code, message = self._errors(response)
            raise FatalError(f"Klaviyo job {job.job_id}: HTTP {response.status_code} {code}: {message}")
        attributes = response.json()["data"]["attributes"]
        status = attributes["status"]
        if status in ("queued", "processing"):
            return None
        if status == "cancelled":
            return BatchOutcome(failed={r.key: f"Klaviyo cancelled import job {job.job_id}" for r in job.records})
        rejected: dict[str, tuple[str, str]] = {}
        if attributes.get("failed_count"):
            rejected = self._import_errors(job)
        return BatchOutcome(confirmed=[r.key for r in job.records if r.key not in rejected], rejected=rejected)

    def _import_errors(self, job: PendingJob) -> dict[str, tuple[str, str]]:
        lookup: dict[tuple[str, str], str] = {}
        for record in job.records:
            for ident in IDENTIFIERS:
                value = record.fields.get(ident)
                if value is not None:
                    lookup.setdefault((ident, str(value)), record.key)
        rejected: dict[str, tuple[str, str]] = {}
        path = f"/api/profile-bulk-import-jobs/{job.job_id}/import-errors"
        url: str | None = self.base_url + path
        while url:
            response = self.transport.request(BULK_IMPORT_GET, "GET", url, headers=self._headers())
            if response.status_code != 200:
                _code, message = self._errors(response)
                raise FatalError(f"Klaviyo import errors of job {job.job_id}: HTTP {response.status_code} {message}")
            document = response.json()
            for error in document.get("data", []):
                attributes = error["attributes"]
                payload = attributes.get("original_payload") or {}
                key = next(
                    (lookup[(i, str(payload[i]))] for i in IDENTIFIERS if (i, str(payload.get(i))) in lookup), None
                )
                if key is not None:
                    rejected[key] = (attributes["code"], attributes["detail"])
            url = (document.get("links") or {}).get("next")
        return rejected
