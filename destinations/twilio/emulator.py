"""A local Twilio (API 2010-04-01, Messages) for the demo and the tests, served under `/twilio`.

What Segue calls, as `twilio_api_v2010.json` describes it: Messages create (form-encoded,
HTTP Basic auth with the Account SID in the path and the credentials, `To`, `Body` ≤ 1,600
characters or `MediaUrl`, `From` or `MessagingServiceSid`, optional `StatusCallback`), and
the message list (`To`, `From`, `DateSent`, `DateSent<`, `DateSent>` filters, `PageSize` ≤
1,000, `Page`/`PageToken` paging with `next_page_uri`). Twilio's errors: 20003 (401),
21211 (invalid To), 21602 (no Body), 21603/21606 (no sender), 21604 (no To), 21617 (Body
over 1,600), 21610 (the recipient texted STOP). Twilio's documented opt-out keywords
(STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT, and START/UNSTOP/YES to opt back in) reach
it through `POST /__emulator__/inbound` (form or JSON `From`, `Body`), the way a reply
would. Twilio limits concurrent requests per account rather than a rate: more than
`max_concurrent` requests in flight (× the fault switch's `rate_limit_scale`) get 429 with
code 20429 and no Retry-After. Messages start `queued` (null `date_sent`) and are `sent`
`send_delay` seconds later.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import threading
import time
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from destinations.emulators import Emulator, Faults, LostResponse
from destinations.twilio.destination import CREATE, LIST, MAX_BODY

E164 = re.compile(r"^\+[1-9]\d{6,14}$")
ACCOUNT = re.compile(r"^AC[0-9a-fA-F]{32}$")
SERVICE = re.compile(r"^MG[0-9a-fA-F]{32}$")
STOP_WORDS = {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "STOP ALL", "REVOKE", "OPTOUT"}
START_WORDS = {"START", "UNSTOP", "YES"}
FORM = "application/x-www-form-urlencoded"
CODES = {"throttled": 20429, "emulated_fault": 20500, "not_authenticated": 20003}


def _sid(prefix: str) -> str:
    return prefix + secrets.token_hex(16)


def _rfc2822(ts: float | None) -> str | None:
    return None if ts is None else format_datetime(datetime.fromtimestamp(ts, UTC), usegmt=False)


class TwilioEmulator(Emulator):
    prefix = "/twilio"
    rate_limits = {}  # noqa: RUF012 - Twilio limits concurrency, not rate (see class docstring)

    def __init__(self, faults: Faults | None = None, max_concurrent: int = 8, send_delay: float = 0.2):
        self.max_concurrent, self.send_delay = max_concurrent, send_delay
        self.in_flight: dict[str, int] = {}
        self.flight_lock = threading.Lock()
        super().__init__(faults)

    def reset_state(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self.stopped: set[str] = set()
        self.inbound: list[dict[str, Any]] = []

    def _status(self, message: dict[str, Any]) -> dict[str, Any]:
        sent = time.time() >= message["_created"] + self.send_delay
        return {**message, "status": "sent" if sent else "queued", "_sent": message["_created"] + self.send_delay}

    def state(self) -> dict[str, Any]:
        messages = []
        for raw in self.messages:
            m = self._status(raw)
            messages.append(
                {
                    "action_id": m["_action_id"],
                    "to": m["to"],
                    "sid": m["sid"],
                    "body": m["body"],
                    "from": m["from"],
                    "messaging_service_sid": m["messaging_service_sid"],
                    "status": m["status"],
                    "status_callback": m["_status_callback"],
                }
            )
        return {"profiles": [], "lists": {"stop": sorted(self.stopped)}, "messages": messages}

    def error(self, status: int, code: str | int, detail: str) -> Response:
        number = CODES.get(code, code) if isinstance(code, str) else code
        body = {
            "code": number,
            "message": detail,
            "more_info": f"https://www.twilio.com/docs/errors/{number}",
            "status": status,
        }
        return JSONResponse(body, status_code=status)

    def throttled(self, wait: float) -> Response:
        with self.lock:
            self.throttled_responses += 1
        response = self.error(429, "throttled", "Too Many Requests")
        if self.faults.retry_after is not None:  # only when a test asks for one: Twilio sends none
            response.headers["Retry-After"] = str(self.faults.retry_after)
        return response

    def routes(self) -> list[Route]:
        return [
            Route("/2010-04-01/Accounts/{account}/Messages.json", self._endpoint, methods=["GET", "POST"]),
            Route("/__emulator__/inbound", self._inbound, methods=["POST"]),
        ]

    async def _endpoint(self, request: Request) -> Response:
        body = await request.body()
        return await run_in_threadpool(self._handle, request, body)

    def _account(self, request: Request) -> tuple[str | None, Response | None]:
        account = request.path_params["account"]
        auth = request.headers.get("authorization", "")
        try:
            user, _, token = base64.b64decode(auth.removeprefix("Basic ")).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            user, token = "", ""
        if not auth.startswith("Basic ") or not token or user != account or not ACCOUNT.match(account):
            return None, self.error(401, "not_authenticated", "Authenticate")
        return account, None

    def _handle(self, request: Request, body: bytes) -> Response:
        account, refused = self._account(request)
        if refused is not None:
            return refused
        endpoint = CREATE if request.method == "POST" else LIST
        limit = max(1, int(self.max_concurrent * self.faults.rate_limit_scale))
        with self.flight_lock:
            busy = self.in_flight.get(account, 0) >= limit
            if not busy:
                self.in_flight[account] = self.in_flight.get(account, 0) + 1
        if busy:
            with self.lock:
                self.requests[endpoint] = self.requests.get(endpoint, 0) + 1
            return self.throttled(0)
        try:
            refused = self.gate(endpoint)
            if refused is not None:
                return refused
            if request.method == "GET":
                with self.lock:
                    return self.list_messages(request, account)
            if request.headers.get("content-type", "").split(";")[0] != FORM:
                return self.error(400, 20001, f"Content-Type must be {FORM}")
            form = {k: v[-1] for k, v in parse_qs(body.decode(), keep_blank_values=True).items()}
            with self.lock:
                response = self.create_message(request, account, form)
            if response.status_code == 201 and self.lose_response():
                return LostResponse()
            return response
        finally:
            with self.flight_lock:
                self.in_flight[account] -= 1

    # -- Messages create -------------------------------------------------------------------------------
    def create_message(self, request: Request, account: str, form: dict[str, str]) -> Response:
        to = form.get("To", "")
        if not to:
            return self.error(400, 21604, "A 'To' phone number is required.")
        if not E164.match(to):
            return self.error(400, 21211, f"The 'To' number {to} is not a valid phone number.")
        service, sender = form.get("MessagingServiceSid"), form.get("From")
        if not service and not sender:
            return self.error(400, 21603, "A 'From' phone number is required.")
        if service and not SERVICE.match(service):
            return self.error(400, 21606, f"Invalid MessagingServiceSid {service}.")
        text = form.get("Body", "")
        if not text and not form.get("MediaUrl"):
            return self.error(400, 21602, "Message body is required.")
        if len(text) > MAX_BODY:
            return self.error(400, 21617, "The concatenated message body exceeds the 1600 character limit.")
        callback = form.get("StatusCallback")
        if callback and urlsplit(callback).scheme not in ("http", "https"):
            return self.error(400, 21609, f"Invalid StatusCallback url {callback}.")
        if to in self.stopped:
            return self.error(400, 21610, "Attempt to send to unsubscribed recipient")
        action_id = (parse_qs(urlsplit(callback).query).get("action_id") or [None])[0] if callback else None
        message = {
            "sid": _sid("SM"),
            "account_sid": account,
            "to": to,
            "from": sender,
            "messaging_service_sid": service,
            "body": text,
            "direction": "outbound-api",
            "_created": time.time(),
            "_action_id": action_id,
            "_status_callback": callback,
        }
        self.messages.append(message)
        return JSONResponse(self._resource(message), status_code=201)

    def _resource(self, raw: dict[str, Any]) -> dict[str, Any]:
        m = self._status(raw)
        segments = max(1, -(-len(m["body"]) // 153)) if len(m["body"]) > 160 else 1
        uri = f"/2010-04-01/Accounts/{m['account_sid']}/Messages/{m['sid']}.json"
        return {
            "account_sid": m["account_sid"],
            "api_version": "2010-04-01",
            "body": m["body"],
            "date_created": _rfc2822(m["_created"]),
            "date_sent": _rfc2822(m["_sent"]) if m["status"] == "sent" else None,
            "date_updated": _rfc2822(m["_sent"] if m["status"] == "sent" else m["_created"]),
            "direction": m["direction"],
            "error_code": None,
            "error_message": None,
            "from": m["from"],
            "messaging_service_sid": m["messaging_service_sid"],
            "num_media": "0",
            "num_segments": str(segments),
            "price": None,
            "price_unit": "USD",
            "sid": m["sid"],
            "status": m["status"],
            "subresource_uris": {"media": uri.replace(".json", "/Media.json")},
            "to": m["to"],
            "uri": uri,
        }

    # -- Messages list ---------------------------------------------------------------------------------
    @staticmethod
    def _date_filter(value: str, op: str):
        try:
            day = datetime.strptime(value.strip()[:10], "%Y-%m-%d").date()
        except ValueError:
            return None
        return lambda sent: sent is not None and {"=": sent == day, "<": sent <= day, ">": sent >= day}[op]

    def list_messages(self, request: Request, account: str) -> Response:
        query = request.query_params
        try:
            size = int(query.get("PageSize", "50"))
            page = int(query.get("Page", "0"))
        except ValueError:
            return self.error(400, 20001, "PageSize and Page must be integers.")
        if not 1 <= size <= 1000:
            return self.error(400, 20001, "PageSize must be between 1 and 1000.")
        tests = []
        for name, op in (("DateSent", "="), ("DateSent<", "<"), ("DateSent>", ">")):
            if name in query:
                test = self._date_filter(query[name], op)
                if test is None:
                    return self.error(400, 20001, f"Invalid {name} {query[name]!r}: expected YYYY-MM-DD.")
                tests.append(test)
        rows = []
        for raw in reversed(self.messages):  # newest first
            m = self._status(raw)
            if m["account_sid"] != account:
                continue
            if "To" in query and m["to"] != query["To"]:
                continue
            if "From" in query and m["from"] != query["From"]:
                continue
            sent_day = datetime.fromtimestamp(m["_sent"], UTC).date() if m["status"] == "sent" else None
            if not all(test(sent_day) for test in tests):
                continue
            rows.append(raw)
        start = page * size
        chunk = rows[start : start + size]
        base = f"/2010-04-01/Accounts/{account}/Messages.json"
        filters = {k: v for k, v in query.items() if k in ("To", "From", "DateSent", "DateSent<", "DateSent>")}

        def uri(n: int) -> str:
            return f"{base}?{urlencode({**filters, 'PageSize': size, 'Page': n})}"

        has_next = start + size < len(rows)
        return JSONResponse(
            {
                "messages": [self._resource(m) for m in chunk],
                "end": start + max(0, len(chunk) - 1),
                "first_page_uri": uri(0),
                "next_page_uri": f"{uri(page + 1)}&PageToken=PA{page + 1}" if has_next else None,
                "page": page,
                "page_size": size,
                "previous_page_uri": uri(page - 1) if page > 0 else None,
                "start": start,
                "uri": f"{base}?{urlencode({**filters, 'PageSize': size, 'Page': page})}",
            }
        )

    # -- replies (the opt-out keywords) ----------------------------------------------------------------
    async def _inbound(self, request: Request) -> Response:
        raw = await request.body()
        if request.headers.get("content-type", "").startswith("application/json"):
            form = json.loads(raw or b"{}")
        else:
            form = {k: v[-1] for k, v in parse_qs(raw.decode()).items()}
        sender, text = form.get("From", ""), str(form.get("Body", "")).strip().upper()
        if not E164.match(sender):
            return self.error(400, 21211, f"Invalid From {sender!r}.")
        with self.lock:
            self.inbound.append({"from": sender, "body": text})
            if text in STOP_WORDS:
                self.stopped.add(sender)
            elif text in START_WORDS:
                self.stopped.discard(sender)
        return JSONResponse({"from": sender, "opted_out": sender in self.stopped})
