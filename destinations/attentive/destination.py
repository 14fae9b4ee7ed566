"""Attentive as a Segue destination (`attentive.json`, API v1, Bearer token).

- upsert, object `custom_attributes`: `POST /attributes/custom` per profile (`postCustomAttributes`):
  `user` (phone, email, externalIdentifiers.clientUserId) and `properties`;
- mirror, object `subscriptions/<MARKETING|TRANSACTIONAL>`: SMS subscriptions keyed by phone.
  Attentive texts a person whenever they are subscribed or unsubscribed, even when nothing
  changes ("already subscribed"), so every add first asks `GET /subscriptions?phone=` and
  subscribes (`POST /subscriptions` with the sign-up source) only someone not yet subscribed
  to that type; every removal unsubscribes (`POST /subscriptions/unsubscribe`, that type on
  TEXT only) only someone still subscribed;
- actions, object `event/<custom event type>`: `POST /events/custom` per action with
  `externalEventId` = action_id, which triggers the Attentive journeys listening for that
  type. Attentive ignores events older than 12 hours for journeys, so an action whose
  mapped `occurredAt` is older is rejected here (`stale_event`) instead of sent. Attentive
  documents no de-duplication on externalEventId and no way to list events: an uncertain
  send is reported unknown and never re-sent.

Rate limits are per endpoint (150 requests/s; subscribe 10/s, unsubscribe 5/s). Attentive
signals them in `x-ratelimit-limit` / `x-ratelimit-remaining` on every answer (no
Retry-After): when `remaining` drops below the requests it may have in flight (4), or a 429
comes, this destination paces that
endpoint across all worker threads (one request per 1 / limit seconds, each taking the next
free slot) until a second passes without such a signal.
"""

from __future__ import annotations

import random
import re
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from destinations.base import (
    BatchOutcome,
    Capabilities,
    ConfigError,
    FatalError,
    Op,
    PendingJob,
    RateLimit,
    Record,
    RetriableError,
)

DEFAULT_BASE_URL = "https://api.attentivemobile.com/v1"
CUSTOM_EVENTS = "POST /events/custom"
CUSTOM_ATTRIBUTES = "POST /attributes/custom"
SUBSCRIBE = "POST /subscriptions"
GET_SUBSCRIPTIONS = "GET /subscriptions"
UNSUBSCRIBE = "POST /subscriptions/unsubscribe"
RATE_LIMITS = {
    CUSTOM_EVENTS: RateLimit(150, 9_000),
    CUSTOM_ATTRIBUTES: RateLimit(150, 9_000),
    GET_SUBSCRIPTIONS: RateLimit(150, 9_000),
    SUBSCRIBE: RateLimit(10, 600),
    UNSUBSCRIBE: RateLimit(5, 300),
}
SUBSCRIPTION_TYPES = ("MARKETING", "TRANSACTIONAL")
BATCH = 50  # records per engine batch for the idempotent operations
PACE_HEADROOM = 0.8  # pace at 80% of the signalled limit: requests bunch up on the way
RECORD_TRIES = 6  # per record within a batch, on 429 / 503, before the engine retries the batch
USER_FIELDS = ("phone", "email", "clientUserId")
JOURNEY_WINDOW = timedelta(hours=12)
EVENT_TYPE_FORBIDDEN = re.compile(r"[\"'(){}\[\]\\|,]")
PROPERTY_KEY_FORBIDDEN = re.compile(r"[\"{}\[\]\\|]")


def user_of(fields: dict[str, Any]) -> dict[str, Any]:
    user: dict[str, Any] = {k: str(fields[k]) for k in ("phone", "email") if fields.get(k) is not None}
    if fields.get("clientUserId") is not None:
        user["externalIdentifiers"] = {"clientUserId": str(fields["clientUserId"])}
    return user


def properties_of(fields: dict[str, Any]) -> dict[str, Any]:
    return {k.removeprefix("properties."): v for k, v in fields.items() if k.startswith("properties.")}


class AttentiveDestination:
    capabilities = Capabilities(
        # One user per request. Upserts and subscription changes are idempotent (subscriptions are
        # checked first), so the engine hands them over in batches that share one state write and
        # whose records are retried one by one here; an action goes alone (never sent twice).
        max_batch_rows={Op.UPSERT: BATCH, Op.ADD: BATCH, Op.REMOVE: BATCH, Op.SEND: 1},
        max_batch_bytes={Op.UPSERT: 4 * 1024 * 1024, Op.ADD: 1024 * 1024, Op.REMOVE: 1024 * 1024, Op.SEND: 256 * 1024},
        rate_limits=RATE_LIMITS,
        max_concurrency=4,
        dedupes_actions=False,
    )

    # Pacing per (base URL, endpoint), shared by the worker threads: after Attentive says
    # x-ratelimit-remaining below our concurrency (or answers 429), requests go out one per
    # 1 / (0.8 x limit) seconds, each taking the next free slot, until a second passes without
    # such a signal.
    _pace: ClassVar[dict[tuple[str, str], dict[str, float]]] = {}
    _pace_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, instance, transport):
        self.instance = instance
        self.transport = transport
        self.base_url = instance.base_url(DEFAULT_BASE_URL)
        self._token = instance.credential("api_key")
        self.sign_up_source_id = instance.credential("sign_up_source_id")

    # -- declaration checks -------------------------------------------------------------------------
    @classmethod
    def validate_spec(cls, spec) -> list[str]:
        problems = []
        kind, _, name = spec.object.partition("/")
        expected = {"upsert": "custom_attributes", "mirror": "subscriptions", "actions": "event"}[spec.mode]
        example = {
            "custom_attributes": "custom_attributes",
            "subscriptions": "subscriptions/MARKETING",
            "event": "event/<custom event type>",
        }[expected]
        if kind != expected or (expected != "custom_attributes" and not name):
            problems.append(f"meta.sync.object: mode {spec.mode} on Attentive needs {example!r}, got {spec.object!r}")
        if expected == "subscriptions" and name and name not in SUBSCRIPTION_TYPES:
            problems.append(f"meta.sync.object: subscription type must be one of {SUBSCRIPTION_TYPES}, got {name!r}")
        if expected == "event" and EVENT_TYPE_FORBIDDEN.search(name):
            problems.append(f"meta.sync.object: event type {name!r} may not contain \" ' ( ) {{ }} [ ] \\ | ,")
        allowed = set(USER_FIELDS)
        if spec.mode == "actions":
            allowed |= {"externalEventId", "occurredAt"}
        for field in spec.mapping:
            head, _, rest = field.partition(".")
            if field in allowed or (head == "properties" and rest and spec.mode != "mirror"):
                if head == "properties" and PROPERTY_KEY_FORBIDDEN.search(rest):
                    problems.append(f'meta.sync.mapping.{field}: property names may not contain " {{ }} [ ] \\ |')
                continue
            problems.append(f"meta.sync.mapping.{field}: not an Attentive {spec.mode} field")
        if not any(f in spec.mapping for f in ("phone", "email")):
            problems.append("meta.sync.mapping: map phone or email (Attentive finds the user by them)")
        if spec.mode == "mirror" and spec.mapping.get("phone") != spec.primary_key:
            problems.append(
                f"meta.sync.mapping.phone: a subscription mirror maps phone to the primary key {spec.primary_key!r} "
                "(removals unsubscribe the number)"
            )
        if spec.mode == "actions" and spec.mapping.get("externalEventId") != spec.primary_key:
            problems.append(f"meta.sync.mapping.externalEventId: must be the primary key {spec.primary_key!r}")
        return problems

    # -- requests -------------------------------------------------------------------------------------
    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._token}", "Content-Type": "application/json"}

    def _wait_for(self, endpoint: str) -> None:
        """Take the next slot if the endpoint is being paced; sleep until it."""
        with self._pace_lock:
            pace = self._pace.get((self.base_url, endpoint))
            now = time.monotonic()
            if pace is None or now >= pace["until"]:
                return
            slot = max(now, pace["next"])
            pace["next"] = slot + pace["interval"]
        if slot > now:
            time.sleep(slot - now)

    def _hold_back(self, endpoint: str, limit: float) -> float:
        """Attentive said the endpoint is at its limit: pace it at `limit` per second for the next second."""
        interval = 1.0 / max(limit * PACE_HEADROOM, 1.0)
        with self._pace_lock:
            now = time.monotonic()
            pace = self._pace.setdefault((self.base_url, endpoint), {"next": now, "until": now, "interval": interval})
            pace["interval"] = interval
            pace["until"] = now + 1.0
            pace["next"] = max(pace["next"], now + interval)
        return interval

    def _documented(self, endpoint: str) -> float:
        return RATE_LIMITS[endpoint].burst_per_second * self.instance.rate_limit_scale

    def _call(self, endpoint: str, method: str, path: str, body: dict | None = None, params=None):
        self._wait_for(endpoint)
        try:
            response = self.transport.request(
                endpoint, method, self.base_url + path, json=body, params=params, headers=self._headers()
            )
        except RetriableError as exc:
            if exc.code == "http_429" and exc.retry_after is None:
                exc.retry_after = self._hold_back(endpoint, self._documented(endpoint))
            raise
        remaining = response.headers.get("x-ratelimit-remaining")
        if remaining is not None:
            try:
                # fewer left this second than requests we may have in flight: pace before they run out
                if float(remaining) < self.capabilities.max_concurrency:
                    limit = float(response.headers.get("x-ratelimit-limit") or self._documented(endpoint))
                    self._hold_back(endpoint, limit)
            except ValueError:
                pass
        return response

    @staticmethod
    def _error(response) -> tuple[str, str]:
        try:
            body = response.json()
            return str(body.get("code") or response.status_code), str(body.get("message") or body)
        except ValueError:
            return str(response.status_code), response.text[:200]

    def encoded_size(self, op: Op, record: Record) -> int:
        return len(str(record.fields)) + 256

    def event_body(self, spec, record: Record) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": spec.object.partition("/")[2],
            "user": user_of(record.fields),
            "externalEventId": str(record.fields.get("externalEventId") or record.key),
            "properties": properties_of(record.fields),
        }
        if record.fields.get("occurredAt") is not None:
            body["occurredAt"] = str(record.fields["occurredAt"])
        return body

    def _retrying(self, call):
        """An idempotent call, retried here on a retriable answer so the rest of its batch is not redone."""
        for attempt in range(RECORD_TRIES):
            try:
                return call()
            except RetriableError as exc:
                if attempt + 1 == RECORD_TRIES:
                    raise
                time.sleep(max(exc.retry_after or 0.0, random.uniform(0, 0.02 * 2**attempt)))
        raise AssertionError("unreachable")

    def deliver(self, op: Op, spec, records: list[Record]) -> BatchOutcome | PendingJob:
        outcome = BatchOutcome()
        for record in records:
            if op is Op.UPSERT:
                body = {"properties": properties_of(record.fields), "user": user_of(record.fields)}
                response = self._retrying(lambda b=body: self._call(CUSTOM_ATTRIBUTES, "POST", "/attributes/custom", b))
                self._settle(outcome, record, response)
            elif op is Op.SEND:
                stale = self._stale(record)
                if stale:
                    outcome.rejected[record.key] = ("stale_event", stale)
                    continue
                response = self._call(CUSTOM_EVENTS, "POST", "/events/custom", self.event_body(spec, record))
                self._settle(outcome, record, response)
            elif op in (Op.ADD, Op.REMOVE):
                self._retrying(lambda r=record: self._subscription(op, spec, r, outcome))
            else:
                raise ConfigError(f"Attentive does not support {op}")
        return outcome

    def _settle(self, outcome: BatchOutcome, record: Record, response) -> None:
        if response.status_code in (200, 201, 202, 204):
            outcome.confirmed.append(record.key)
        elif 400 <= response.status_code < 500:
            outcome.rejected[record.key] = self._error(response)
        else:
            raise FatalError(f"Attentive: unexpected HTTP {response.status_code}")

    @staticmethod
    def _stale(record: Record) -> str | None:
        value = record.fields.get("occurredAt")
        if value is None:
            return None
        try:
            occurred = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            return f"occurredAt {value!r} is not an ISO 8601 timestamp"
        if occurred.tzinfo is None:
            occurred = occurred.replace(tzinfo=UTC)
        if datetime.now(UTC) - occurred > JOURNEY_WINDOW:
            return f"occurredAt {value} is more than 12 hours old: Attentive would not trigger a journey"
        return None

    # -- subscriptions -----------------------------------------------------------------------------------
    def is_subscribed(self, phone: str, kind: str) -> bool:
        response = self._call(GET_SUBSCRIPTIONS, "GET", "/subscriptions", params={"phone": phone})
        if response.status_code == 404:
            return False
        if response.status_code != 200:
            code, message = self._error(response)
            raise FatalError(f"Attentive subscription lookup: HTTP {response.status_code} {code}: {message}")
        for item in response.json().get("subscriptionEligibilities") or []:
            subscription = item.get("subscription") or {}
            matches = subscription.get("type") == kind and subscription.get("channel") == "TEXT"
            if matches and (item.get("eligibility") or {}).get("isEligible"):
                return True
        return False

    def _subscription(self, op: Op, spec, record: Record, outcome: BatchOutcome) -> None:
        kind = spec.object.partition("/")[2]
        phone = str(record.fields.get("phone") or record.key)  # a departed row only has its key, the phone
        subscribed = self.is_subscribed(phone, kind)
        if op is Op.ADD and not subscribed:
            body: dict[str, Any] = {"user": {"phone": phone}, "signUpSourceId": self.sign_up_source_id}
            if record.fields.get("email") is not None:
                body["user"]["email"] = str(record.fields["email"])
            if record.fields.get("clientUserId") is not None:
                body["externalIdentifiers"] = {"clientUserId": str(record.fields["clientUserId"])}
            self._settle(outcome, record, self._call(SUBSCRIBE, "POST", "/subscriptions", body))
        elif op is Op.REMOVE and subscribed:
            body = {"user": {"phone": phone}, "subscriptions": [{"type": kind, "channel": "TEXT"}]}
            self._settle(outcome, record, self._call(UNSUBSCRIBE, "POST", "/subscriptions/unsubscribe", body))
        else:
            outcome.confirmed.append(record.key)  # already as wanted: asking again would text the person

    def poll(self, job: PendingJob) -> BatchOutcome | None:
        raise ConfigError("Attentive has no asynchronous jobs")
