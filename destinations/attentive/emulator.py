"""A local Attentive (API v1) for the demo and the tests, served under `/attentive`.

What Segue calls, with the shapes of `attentive.json`: `Authorization: Bearer` (401
without), JSON bodies; custom events (`type` without the forbidden characters, `user`
with an E.164 phone or an email, `externalEventId`; each accepted event is a triggered
journey message in the state), custom attributes (merged into the user's profile),
subscription eligibility lookup by phone or email, subscribe (needs `signUpSourceId`;
Attentive texts the person, and texts them again — "already subscribed" — when they
already were) and unsubscribe (texts the person every time, even if already
unsubscribed). Those texts are in the state under `notifications`, so a test can see a
re-subscribe. Rate limits per endpoint (150/s; subscribe 10/s; unsubscribe 5/s), with
`x-ratelimit-limit` and `x-ratelimit-remaining` on every answer including the 429, which
carries no Retry-After.
"""

from __future__ import annotations

import json
import re
import secrets
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from destinations.attentive.destination import (
    CUSTOM_ATTRIBUTES,
    CUSTOM_EVENTS,
    EVENT_TYPE_FORBIDDEN,
    GET_SUBSCRIPTIONS,
    RATE_LIMITS,
    SUBSCRIBE,
    SUBSCRIPTION_TYPES,
    UNSUBSCRIBE,
)
from destinations.emulators import Emulator, Faults, LostResponse

E164 = re.compile(r"^\+[1-9]\d{6,14}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class AttentiveEmulator(Emulator):
    prefix = "/attentive"
    rate_limits = RATE_LIMITS

    def __init__(self, faults: Faults | None = None, sign_up_source_type: str = "MARKETING"):
        self.sign_up_source_type = sign_up_source_type
        super().__init__(faults)

    def reset_state(self) -> None:
        self.profiles: dict[str, dict[str, Any]] = {}
        self.by_ident: dict[tuple[str, str], str] = {}
        self.subscriptions: dict[str, dict[str, bool]] = {t: {} for t in SUBSCRIPTION_TYPES}  # type -> phone -> on
        self.messages: list[dict[str, Any]] = []
        self.notifications: list[dict[str, Any]] = []

    def state(self) -> dict[str, Any]:
        return {
            "profiles": [{"id": pid, **p} for pid, p in self.profiles.items()],
            "lists": {t: sorted(p for p, on in subs.items() if on) for t, subs in self.subscriptions.items()},
            "messages": list(self.messages),
            "notifications": list(self.notifications),
        }

    def error(self, status: int, code: str, detail: str) -> Response:
        return JSONResponse({"code": code, "message": detail}, status_code=status)

    def throttled(self, wait: float) -> Response:
        with self.lock:
            self.throttled_responses += 1
        response = self.error(429, "TooManyRequests", "The user has sent too many requests in a given amount of time")
        if self.faults.retry_after is not None:  # only when a test asks for one: Attentive sends none
            response.headers["Retry-After"] = str(self.faults.retry_after)
        return response

    def routes(self) -> list[Route]:
        return [
            Route("/events/custom", self._wrap(CUSTOM_EVENTS, self.custom_event), methods=["POST"]),
            Route("/attributes/custom", self._wrap(CUSTOM_ATTRIBUTES, self.custom_attributes), methods=["POST"]),
            Route("/subscriptions", self._wrap(None, self.subscriptions_endpoint), methods=["GET", "POST"]),
            Route("/subscriptions/unsubscribe", self._wrap(UNSUBSCRIBE, self.unsubscribe), methods=["POST"]),
        ]

    def _wrap(self, endpoint: str | None, handler):
        async def endpoint_fn(request: Request) -> Response:
            body = await request.body()
            name = endpoint or (SUBSCRIBE if request.method == "POST" else GET_SUBSCRIPTIONS)
            return await run_in_threadpool(self._handle, name, handler, request, body)

        return endpoint_fn

    def _limit_headers(self, endpoint: str, response: Response) -> Response:
        limit = self.rate_limits[endpoint]
        bucket = self.buckets.get(endpoint)
        remaining = 0 if bucket is None else max(0, int(bucket.tokens[0]))
        response.headers["x-ratelimit-limit"] = str(int(limit.burst_per_second * self.faults.rate_limit_scale))
        response.headers["x-ratelimit-remaining"] = str(remaining)
        return response

    def _handle(self, endpoint: str, handler, request: Request, body: bytes) -> Response:
        auth = request.headers.get("authorization", "")
        if not auth.startswith("Bearer ") or not auth[7:].strip():
            return self.error(401, "Unauthorized", "Missing or invalid Bearer token.")
        if request.method == "POST" and request.headers.get("content-type", "").split(";")[0] != "application/json":
            return self.error(400, "InvalidParameter", "Content-Type must be application/json.")
        refused = self.gate(endpoint)
        if refused is not None:
            return self._limit_headers(endpoint, refused) if refused.status_code == 429 else refused
        try:
            document = json.loads(body) if body else None
        except ValueError:
            return self.error(400, "InvalidParameter", "Request body is not valid JSON.")
        with self.lock:
            response = handler(request, document)
        if response.status_code < 300 and request.method != "GET" and self.lose_response():
            return LostResponse()
        return self._limit_headers(endpoint, response)

    # -- users ---------------------------------------------------------------------------------------
    def _user_problem(self, user) -> str | None:
        if not isinstance(user, dict) or not (user.get("phone") or user.get("email")):
            return "user needs a phone (E.164) or an email"
        if user.get("phone") is not None and not E164.match(str(user["phone"])):
            return f"phone {user['phone']!r} is not in E.164 format"
        if user.get("email") is not None and not EMAIL.match(str(user["email"])):
            return f"email {user['email']!r} is not valid"
        return None

    def _profile(self, user: dict[str, Any], external: dict[str, Any] | None = None) -> str:
        client_id = (external or user.get("externalIdentifiers") or {}).get("clientUserId")
        idents = [("phone", user.get("phone")), ("email", user.get("email")), ("external_id", client_id)]
        pid = next((self.by_ident[(k, str(v))] for k, v in idents if v and (k, str(v)) in self.by_ident), None)
        if pid is None:
            pid = secrets.token_hex(8)
            self.profiles[pid] = {"phone": None, "email": None, "external_id": None, "properties": {}}
        profile = self.profiles[pid]
        for key, value in idents:
            if value:
                profile[key] = str(value)
                self.by_ident[(key, str(value))] = pid
        return pid

    # -- endpoints -----------------------------------------------------------------------------------
    def custom_event(self, request: Request, document) -> Response:
        if not isinstance(document, dict) or not document.get("type") or "user" not in document:
            return self.error(400, "InvalidParameter", "type and user are required.")
        if EVENT_TYPE_FORBIDDEN.search(str(document["type"])):
            return self.error(400, "InvalidParameter", f"Invalid custom event type {document['type']!r}.")
        problem = self._user_problem(document["user"])
        if problem:
            return self.error(400, "InvalidParameter", problem)
        pid = self._profile(document["user"])
        user = document["user"]
        self.messages.append(
            {
                "action_id": document.get("externalEventId"),
                "to": user.get("phone") or user.get("email"),
                "type": document["type"],
                "profile_id": pid,
                "properties": document.get("properties") or {},
                "occurred_at": document.get("occurredAt"),
            }
        )
        return Response(status_code=200)

    def custom_attributes(self, request: Request, document) -> Response:
        if not isinstance(document, dict) or not isinstance(document.get("properties"), dict):
            return self.error(400, "InvalidParameter", "properties (an object) and user are required.")
        problem = self._user_problem(document.get("user"))
        if problem:
            return self.error(400, "InvalidParameter", problem)
        pid = self._profile(document["user"])
        self.profiles[pid]["properties"].update(document["properties"])
        return Response(status_code=200)

    def subscriptions_endpoint(self, request: Request, document) -> Response:
        if request.method == "GET":
            return self.eligibility(request)
        if not isinstance(document, dict) or not document.get("signUpSourceId"):
            return self.error(400, "InvalidParameter", "user and signUpSourceId are required.")
        user = document.get("user")
        problem = self._user_problem(user)
        if problem:
            return self.error(400, "InvalidParameter", problem)
        self._profile(user, document.get("externalIdentifiers"))
        kind = self.sign_up_source_type
        phone = user.get("phone")
        responses = []
        if phone:
            already = self.subscriptions[kind].get(phone, False)
            self.subscriptions[kind][phone] = True
            text = "already_subscribed" if already else "welcome"
            self.notifications.append({"to": phone, "kind": text, "subscription": kind})
            responses.append(
                {
                    "subscription": {"type": kind, "channel": "TEXT"},
                    "subscriptionCreationStatus": "PREVIOUSLY_CREATED" if already else "NEWLY_CREATED",
                }
            )
        body = {"user": {k: v for k, v in user.items() if k in ("phone", "email")}, "subscriptionResponses": responses}
        if document.get("externalIdentifiers"):
            body["externalIdentifiers"] = document["externalIdentifiers"]
        return JSONResponse(body, status_code=202)

    def eligibility(self, request: Request) -> Response:
        phone, email = request.query_params.get("phone"), request.query_params.get("email")
        if not phone and not email:
            return self.error(400, "InvalidParameter", "phone or email is required.")
        if phone and ("phone", phone) not in self.by_ident:
            return self.error(404, "NotFound", "The specified resource was not found")
        items = []
        for kind, subs in self.subscriptions.items():
            if phone and phone in subs:
                items.append(
                    {"subscription": {"type": kind, "channel": "TEXT"}, "eligibility": {"isEligible": subs[phone]}}
                )
        return JSONResponse({"subscriptionEligibilities": items})

    def unsubscribe(self, request: Request, document) -> Response:
        user = (document or {}).get("user") if isinstance(document, dict) else None
        problem = self._user_problem(user)
        if problem:
            return self.error(400, "InvalidParameter", problem)
        wanted = document.get("subscriptions") or [{"type": t, "channel": "TEXT"} for t in SUBSCRIPTION_TYPES]
        phone = user.get("phone")
        responses = []
        for item in wanted:
            kind, channel = item.get("type"), item.get("channel")
            if kind not in SUBSCRIPTION_TYPES or channel not in ("TEXT", "EMAIL"):
                return self.error(400, "InvalidParameter", f"Invalid subscription {item!r}.")
            if channel != "TEXT" or not phone or phone not in self.subscriptions[kind]:
                continue
            was_on = self.subscriptions[kind][phone]
            self.subscriptions[kind][phone] = False
            self.notifications.append({"to": phone, "kind": "unsubscribed", "subscription": kind})
            responses.append(
                {
                    "subscription": {"type": kind, "channel": "TEXT"},
                    "subscriptionUnsubscribeStatus": "NEWLY_UNSUBSCRIBED" if was_on else "PREVIOUSLY_UNSUBSCRIBED",
                }
            )
        body = {"user": {k: v for k, v in user.items() if k in ("phone", "email")}, "subscriptionResponses": responses}
        return JSONResponse(body, status_code=202)
