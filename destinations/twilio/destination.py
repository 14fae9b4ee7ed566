"""Twilio Programmable Messaging as a Segue destination (API 2010-04-01, `twilio_api_v2010.json`).

- actions only, object `messages`: Messages create (`CreateMessage`), one form-encoded
  `POST /2010-04-01/Accounts/{AccountSid}/Messages.json` per action, HTTP Basic auth with
  the Account SID and auth token, `To` and `Body` (≤ 1,600 characters) from the mapping,
  the sender as `MessagingServiceSid` (a sender starting with `MG`) or `From`, and a
  `StatusCallback` URL carrying the action id (`?action_id=<id>`).
- Per-record answers: 201 delivered (queued at Twilio); 400 with Twilio's error `code`
  rejected with that code (21610: the recipient texted STOP; never retried, and the next dbt
  build withdraws SMS consent for the number: models/staging/segue/stg_segue__sms_opt_outs);
  429 (20429, too many concurrent requests: never processed) retried by the engine.
- Twilio has no idempotency key. An uncertain send (`OutcomeUnknown`) is reconciled: the
  messages sent to that `To` are listed (`ListMessage`, paged) and one with the same
  `Body` and sender created since the uncertain request means delivered; none means the
  request never reached Twilio and the action is safe to send again.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlencode

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

DEFAULT_BASE_URL = "https://api.twilio.com"
API = "/2010-04-01/Accounts/{sid}/Messages.json"
MAX_BODY = 1_600
OPTED_OUT = "21610"  # "Attempt to send to unsubscribed recipient": the number replied STOP
CREATE = "POST Messages.json"
LIST = "GET Messages.json"
LIST_PAGE_SIZE = 1_000  # the spec's PageSize maximum
LIST_MAX_PAGES = 20  # beyond this many messages to one number, reconcile says "cannot tell"
CLOCK_SLACK = timedelta(minutes=5)  # Twilio's clock against ours when matching date_created
# Twilio limits concurrent REST requests per account (429 / 20429) rather than a rate; the
# engine keeps to `max_concurrency` requests in flight. A generous request rate caps runaway loops.
RATE_LIMITS = {CREATE: RateLimit(100, 6_000), LIST: RateLimit(100, 6_000)}
MESSAGE_FIELDS = {"To", "Body", "MediaUrl", "ValidityPeriod", "ShortenUrls", "SmartEncoded", "SendAsMms"}


class TwilioDestination:
    capabilities = Capabilities(
        max_batch_rows={Op.SEND: 1},
        max_batch_bytes={Op.SEND: 64 * 1024},
        rate_limits=RATE_LIMITS,
        max_concurrency=4,
        dedupes_actions=False,
        supported_modes=frozenset({"actions"}),
    )

    def __init__(self, instance, transport):
        self.instance = instance
        self.transport = transport
        self.base_url = instance.base_url(DEFAULT_BASE_URL)
        self.account_sid = instance.credential("account_sid")
        token = instance.credential("auth_token")
        self._auth = "Basic " + base64.b64encode(f"{self.account_sid}:{token}".encode()).decode()
        sender = instance.credential("sender")
        self.sender = {"MessagingServiceSid": sender} if sender.startswith("MG") else {"From": sender}
        self.status_callback = instance.credential("status_callback_url")

    # -- declaration checks -------------------------------------------------------------------------
    @classmethod
    def validate_spec(cls, spec) -> list[str]:
        problems = []
        if spec.mode != "actions" or spec.object != "messages":
            problems.append(
                f"meta.sync.object: Twilio takes mode actions with object 'messages', got {spec.mode} {spec.object!r}"
            )
        for field in spec.mapping:
            if field not in MESSAGE_FIELDS:
                problems.append(
                    f"meta.sync.mapping.{field}: not a Twilio message parameter ({', '.join(sorted(MESSAGE_FIELDS))})"
                )
        for required in ("To", "Body"):
            if required not in spec.mapping:
                problems.append(f"meta.sync.mapping.{required}: required (the recipient's E.164 phone and the text)")
        return problems

    # -- requests -------------------------------------------------------------------------------------
    @property
    def messages_path(self) -> str:
        return API.format(sid=self.account_sid)

    def _headers(self) -> dict[str, str]:
        return {"Authorization": self._auth, "Accept": "application/json"}

    def callback_url(self, action_id: str) -> str:
        separator = "&" if "?" in self.status_callback else "?"
        return f"{self.status_callback}{separator}{urlencode({'action_id': action_id})}"

    def form(self, record: Record) -> dict[str, Any]:
        form: dict[str, Any] = {k: v for k, v in record.fields.items() if v is not None}
        form.update(self.sender)
        form["StatusCallback"] = self.callback_url(record.key)
        return form

    def encoded_size(self, op: Op, record: Record) -> int:
        return len(urlencode(self.form(record), doseq=True))

    @staticmethod
    def _error(response) -> tuple[str, str]:
        try:
            body = response.json()
            return str(body.get("code") or response.status_code), str(body.get("message"))
        except ValueError:
            return str(response.status_code), response.text[:200]

    def deliver(self, op: Op, spec, records: list[Record]) -> BatchOutcome | PendingJob:
        if op is not Op.SEND:
            raise ConfigError(f"Twilio does not support {op}")
        outcome = BatchOutcome()
        for record in records:
            body = record.fields.get("Body")
            if body is not None and len(str(body)) > MAX_BODY:
                outcome.rejected[record.key] = ("body_too_long", f"Body has {len(str(body))} characters (max 1,600)")
                continue
            response = self.transport.request(
                CREATE, "POST", self.base_url + self.messages_path, data=self.form(record), headers=self._headers()
            )
            if response.status_code == 201:
                outcome.confirmed.append(record.key)
            elif 400 <= response.status_code < 500:
                outcome.rejected[record.key] = self._error(response)
            else:
                raise FatalError(f"Twilio Messages create: unexpected HTTP {response.status_code}")
        return outcome

    def poll(self, job: PendingJob) -> BatchOutcome | None:
        raise ConfigError("Twilio has no asynchronous jobs")

    # -- reconciling an uncertain send -----------------------------------------------------------------
    def reconcile(self, spec, records: list[Record], since: datetime | None) -> BatchOutcome:
        """Ask Twilio which of these actions it holds: list the messages sent to each `To`.

        Twilio's Message resource does not echo the StatusCallback URL, so the action is
        recognised by what identifies its text: same `To`, same `Body`, same sender, created no
        earlier than the uncertain request (`since`; None: any time). `DateSent` is not used as
        the filter: a just-created message is `queued` with a null `date_sent`, which is exactly
        the message an uncertain send leaves behind.
        """
        outcome = BatchOutcome()
        for record in records:
            to = record.fields.get("To")
            if not to:
                continue  # nothing could have been sent without a recipient
            messages = self._messages_to(str(to))
            if messages is None:
                outcome.failed[record.key] = f"more than {LIST_MAX_PAGES} pages of messages to {to}"
            elif any(self._same(record, m, since) for m in messages):
                outcome.confirmed.append(record.key)
        return outcome

    def _messages_to(self, to: str) -> list[dict] | None:
        url: str | None = self.base_url + self.messages_path
        params: dict[str, Any] | None = {"To": to, "PageSize": LIST_PAGE_SIZE}
        found: list[dict] = []
        for _ in range(LIST_MAX_PAGES):
            response = self.transport.request(LIST, "GET", url, params=params, headers=self._headers())
            if response.status_code != 200:
                code, message = self._error(response)
                raise FatalError(f"Twilio message list: HTTP {response.status_code} {code}: {message}")
            page = response.json()
            found.extend(page.get("messages") or [])
            next_uri = page.get("next_page_uri")
            if not next_uri:
                return found
            url, params = self.base_url + next_uri, None
        return None

    def _same(self, record: Record, message: dict, since: datetime | None) -> bool:
        if message.get("direction", "outbound-api") != "outbound-api":
            return False
        if (message.get("body") or "") != str(record.fields.get("Body") or ""):
            return False
        sender = self.sender.get("MessagingServiceSid") or self.sender.get("From")
        if sender not in (message.get("messaging_service_sid"), message.get("from")):
            return False
        if since is not None and message.get("date_created"):
            created = parsedate_to_datetime(message["date_created"])
            if created < since.astimezone(UTC) - CLOCK_SLACK:
                return False
        return True
