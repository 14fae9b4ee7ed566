"""A local Braze for the demo and the tests, served under `/braze`.

The subset of the REST API Segue calls, with its documented shapes and limits:
`Authorization: Bearer <key>` (401 without), JSON bodies, 4 MB per request (413 beyond),
`/users/track` (≤75 objects per request across attributes, events and purchases; objects
without a user identifier or with an invalid email are skipped and named in `errors[]` by
`input_array` and `index` beside the processed counts; nothing valid: 400), the rate limits of
Braze's defaults answered with 429 and `X-RateLimit-Limit/Remaining/Reset` (UTC epoch seconds)
and no `Retry-After` (the headers ride on every answer), `/v2/subscription/status/set` (≤50
identifiers per list, emails and phones never in one request), `/users/delete` (≤50, one
identifier type) and `/campaigns/trigger/send` (≤50 recipients; a recipient with attributes
and `send_to_existing_only: false` is created first).
"""

from __future__ import annotations

import json
import math
import re
import threading
import time
import uuid
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from destinations.braze.destination import (
    CAMPAIGN_TRIGGER,
    MAX_IDS,
    MAX_PAYLOAD_BYTES,
    MAX_TRACK_OBJECTS,
    RATE_LIMITS,
    SUBSCRIPTION_SET,
    USERS_DELETE,
    USERS_TRACK,
)
from destinations.emulators import Emulator, Faults, LostResponse

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
IDENTIFIERS = ("external_id", "braze_id", "user_alias", "email", "phone")
NOTHING_VALID = "Valid data must be provided in the 'attributes', 'events', or 'purchases' fields."


def _id() -> str:
    return uuid.uuid4().hex[:24]


class BrazeEmulator(Emulator):
    prefix = "/braze"
    rate_limits = RATE_LIMITS

    def __init__(self, faults: Faults | None = None):
        self._local = threading.local()  # the endpoint a worker thread is answering (for 429 headers)
        super().__init__(faults)

    def reset_state(self) -> None:
        self.users: dict[str, dict[str, Any]] = {}  # braze_id -> attributes
        self.by_external: dict[str, str] = {}
        self.groups: dict[str, list[str]] = {}  # subscription group id -> braze ids subscribed
        self.messages: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []
        self.deleted: list[str] = []
        self.track_batches: list[int] = []  # objects per accepted /users/track request

    def state(self) -> dict[str, Any]:
        return {
            "profiles": [{"id": bid, **attrs} for bid, attrs in self.users.items()],
            "lists": {k: list(v) for k, v in self.groups.items()},
            "messages": list(self.messages),
            "events": list(self.events),
            "deleted": list(self.deleted),
            "track_batches": list(self.track_batches),
        }

    def error(self, status: int, code: str, detail: str) -> Response:
        return JSONResponse({"message": detail}, status_code=status)

    # -- rate-limit headers: Braze sends X-RateLimit-* and no Retry-After ---------------------------
    def _limit_headers(self, endpoint: str, wait: float | None = None) -> dict[str, str]:
        limit = self.rate_limits.get(endpoint)
        bucket = self.buckets.get(endpoint)
        if limit is None:
            return {}
        scale = self.faults.rate_limit_scale
        capacity = max(1.0, limit.burst_per_second * scale)
        tokens, rate = (bucket.tokens[0], bucket.rates[0][0]) if bucket else (capacity, capacity)
        now = time.time()
        if wait is None:
            reset = math.ceil(now + max(0.0, capacity - tokens) / rate)
        elif self.faults.retry_after is not None:
            reset = round(now + self.faults.retry_after, 3)  # the fault switch's override (tests)
        else:
            reset = math.ceil(now + wait)
        return {
            "X-RateLimit-Limit": str(int(capacity)),
            "X-RateLimit-Remaining": str(max(0, int(tokens))),
            "X-RateLimit-Reset": str(reset),
        }

    def throttled(self, wait: float) -> Response:
        with self.lock:
            self.throttled_responses += 1
        endpoint = getattr(self._local, "endpoint", USERS_TRACK)
        response = JSONResponse({"message": "Too Many Requests"}, status_code=429)
        response.headers.update(self._limit_headers(endpoint, wait))
        return response

    def routes(self) -> list[Route]:
        return [
            Route("/users/track", self._wrap(USERS_TRACK, self.track), methods=["POST"]),
            Route("/v2/subscription/status/set", self._wrap(SUBSCRIPTION_SET, self.subscription), methods=["POST"]),
            Route("/users/delete", self._wrap(USERS_DELETE, self.delete), methods=["POST"]),
            Route("/campaigns/trigger/send", self._wrap(CAMPAIGN_TRIGGER, self.trigger), methods=["POST"]),
        ]

    def _wrap(self, endpoint: str, handler):
        async def endpoint_fn(request: Request) -> Response:
            body = await request.body()
            return await run_in_threadpool(self._handle, endpoint, handler, request, body)

        return endpoint_fn

    def _handle(self, endpoint: str, handler, request: Request, body: bytes) -> Response:
        auth = request.headers.get("authorization", "")
        if not auth.startswith("Bearer ") or not auth.split(" ", 1)[1].strip():
            return self.error(401, "unauthorized", "Invalid or missing REST API key (Authorization: Bearer ...).")
        if request.headers.get("content-type", "").split(";")[0] != "application/json":
            return self.error(400, "invalid", "Content-Type must be application/json.")
        self._local.endpoint = endpoint
        refused = self.gate(endpoint)
        if refused is not None:
            return refused
        if len(body) > MAX_PAYLOAD_BYTES:
            return self.error(413, "too_large", "Request Entity Too Large: the payload limit is 4 MB.")
        try:
            document = json.loads(body)
            assert isinstance(document, dict)
        except (ValueError, AssertionError):
            return self.error(400, "invalid", "The request body must be a JSON object.")
        with self.lock:
            response = handler(document)
        response.headers.update(self._limit_headers(endpoint))
        if 200 <= response.status_code < 300 and self.lose_response():
            return LostResponse()
        return response

    # -- users -------------------------------------------------------------------------------------
    def _user(self, identity: dict[str, Any], create: bool = True) -> str | None:
        external_id = identity.get("external_id")
        if external_id is not None and str(external_id) in self.by_external:
            return self.by_external[str(external_id)]
        braze_id = identity.get("braze_id")
        if braze_id is not None and braze_id in self.users:
            return braze_id
        for field in ("email", "phone"):
            value = identity.get(field)
            if value is not None and external_id is None:
                match = next((b for b, u in self.users.items() if u.get(field) == value), None)
                if match:
                    return match
        if not create:
            return None
        bid = _id()
        self.users[bid] = {}
        if external_id is not None:
            self.users[bid]["external_id"] = str(external_id)
            self.by_external[str(external_id)] = bid
        return bid

    @staticmethod
    def _problem(item: dict[str, Any], kind: str) -> str | None:
        if not isinstance(item, dict) or not any(item.get(i) for i in IDENTIFIERS):
            return "Missing user identifier (external_id, braze_id, user_alias, email or phone)."
        email = item.get("email")
        if email is not None and not EMAIL.match(str(email)):
            return f"'email' is not a valid email address: {email!r}"
        if kind == "events" and (not item.get("name") or not item.get("time")):
            return "Events need 'name' and 'time'."
        return None

    def track(self, document: dict[str, Any]) -> Response:
        arrays = {k: document.get(k) or [] for k in ("attributes", "events", "purchases")}
        if not all(isinstance(v, list) for v in arrays.values()):
            return self.error(400, "invalid", "'attributes', 'events' and 'purchases' must be arrays.")
        total = sum(len(v) for v in arrays.values())
        if total > MAX_TRACK_OBJECTS:
            return self.error(400, "invalid", f"A request takes at most {MAX_TRACK_OBJECTS} objects; got {total}.")
        errors, processed = [], {}
        for array, items in arrays.items():
            processed[array] = 0
            for index, item in enumerate(items):
                problem = self._problem(item, array)
                if problem:
                    errors.append({"type": problem, "input_array": array, "index": index})
                    continue
                processed[array] += 1
                bid = self._user(item)
                if array == "attributes":
                    self.users[bid].update({k: v for k, v in item.items() if k not in ("braze_id", "user_alias")})
                elif array == "events":
                    properties = item.get("properties") or {}
                    event = {"braze_id": bid, "name": item["name"], "time": item["time"], "properties": properties}
                    self.events.append(event)
                    if properties.get("action_id") is not None:
                        to = self.users[bid].get("email")
                        self.messages.append({"action_id": properties["action_id"], "to": to, "event": item["name"]})
        if not any(processed.values()):
            return JSONResponse({"message": NOTHING_VALID, "errors": errors}, status_code=400)
        self.track_batches.append(total - len(errors))
        body: dict[str, Any] = {"message": "success"}
        body.update({f"{k}_processed": n for k, n in processed.items() if arrays[k]})
        if errors:
            body["errors"] = errors
        return JSONResponse(body, status_code=201)

    def subscription(self, document: dict[str, Any]) -> Response:
        groups = document.get("subscription_groups")
        if not isinstance(groups, list) or not groups:
            return self.error(400, "invalid", "'subscription_groups' must be a non-empty array.")
        kinds = {k for g in groups if isinstance(g, dict) for k in ("emails", "phones") if g.get(k)}
        if kinds == {"emails", "phones"}:
            return self.error(400, "invalid", "A request may not include both emails and phones.")
        for group in groups:
            if not isinstance(group, dict) or not group.get("subscription_group_id"):
                return self.error(400, "invalid", "Each subscription group needs a subscription_group_id.")
            if group.get("subscription_state") not in ("subscribed", "unsubscribed"):
                return self.error(400, "invalid", "subscription_state must be 'subscribed' or 'unsubscribed'.")
            lists = {k: group.get(k) or [] for k in ("external_ids", "emails", "phones")}
            if not any(lists.values()):
                return self.error(400, "invalid", "Include external_ids, emails or phones.")
            for key, values in lists.items():
                if len(values) > MAX_IDS:
                    return self.error(400, "invalid", f"'{key}' takes at most {MAX_IDS} values; got {len(values)}.")
        for group in groups:
            members = self.groups.setdefault(group["subscription_group_id"], [])
            users = [self._user({"external_id": x}, create=False) for x in group.get("external_ids") or []]
            for field, values in (("email", group.get("emails") or []), ("phone", group.get("phones") or [])):
                users += [b for b, u in self.users.items() if u.get(field) in set(values)]
            for bid in (u for u in users if u is not None):
                if group["subscription_state"] == "subscribed" and bid not in members:
                    members.append(bid)
                elif group["subscription_state"] == "unsubscribed" and bid in members:
                    members.remove(bid)
        return JSONResponse({"message": "success"}, status_code=201)

    def delete(self, document: dict[str, Any]) -> Response:
        kinds = [
            k
            for k in ("external_ids", "user_aliases", "braze_ids", "email_addresses", "phone_numbers")
            if k in document
        ]
        if len(kinds) != 1:
            return self.error(400, "invalid", "Include exactly one of external_ids, user_aliases, braze_ids, ...")
        values = document[kinds[0]]
        if not isinstance(values, list) or len(values) > MAX_IDS:
            return self.error(400, "invalid", f"'{kinds[0]}' must be an array of at most {MAX_IDS} values.")
        deleted = 0
        for value in values:
            bid = self.by_external.get(str(value)) if kinds[0] == "external_ids" else value
            if bid in self.users:
                attrs = self.users.pop(bid)
                self.by_external.pop(str(attrs.get("external_id")), None)
                for members in self.groups.values():
                    if bid in members:
                        members.remove(bid)
                self.deleted.append(str(attrs.get("external_id") or bid))
                deleted += 1
        return JSONResponse({"deleted": deleted, "message": "success"}, status_code=201)

    def trigger(self, document: dict[str, Any]) -> Response:
        campaign = document.get("campaign_id")
        recipients = document.get("recipients")
        if not campaign or not isinstance(campaign, str):
            return self.error(400, "invalid", "campaign_id is required.")
        if not isinstance(recipients, list) or not recipients:
            return self.error(400, "invalid", "recipients must be a non-empty array (or set broadcast).")
        if len(recipients) > MAX_IDS:
            return self.error(400, "invalid", f"At most {MAX_IDS} recipients per request; got {len(recipients)}.")
        for recipient in recipients:
            ids = [k for k in ("external_user_id", "user_alias", "braze_id", "email") if recipient.get(k)]
            if len(ids) != 1:
                return self.error(400, "invalid", "Each recipient needs exactly one of external_user_id, ...")
            if recipient.get("send_to_existing_only") is False and not recipient.get("attributes"):
                return self.error(400, "invalid", "send_to_existing_only false requires attributes.")
            email = (recipient.get("attributes") or {}).get("email")
            if email is not None and not EMAIL.match(str(email)):
                return self.error(400, "invalid", f"Invalid email attribute {email!r}.")
        dispatch_id = _id()
        shared = document.get("trigger_properties") or {}
        for recipient in recipients:
            identity = {"external_id": recipient.get("external_user_id"), "braze_id": recipient.get("braze_id")}
            create = recipient.get("send_to_existing_only") is False
            bid = self._user(identity, create=create)
            if bid is None:
                continue  # Braze answers success and sends nothing to a user it does not hold
            self.users[bid].update(recipient.get("attributes") or {})
            properties = {**shared, **(recipient.get("trigger_properties") or {})}
            self.messages.append(
                {
                    "action_id": properties.get("action_id"),
                    "to": self.users[bid].get("email"),
                    "campaign_id": campaign,
                    "dispatch_id": dispatch_id,
                    "external_id": self.users[bid].get("external_id"),
                    "trigger_properties": properties,
                }
            )
        return JSONResponse({"dispatch_id": dispatch_id, "message": "success"}, status_code=201)
