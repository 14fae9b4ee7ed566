"""What the sync engine knows about a destination, and what a destination knows about the engine.

A destination package declares its capabilities as data (batch rows and bytes,
rate limits per endpoint, concurrency, whether it de-duplicates actions), turns
records into the vendor's requests, and classifies the vendor's answers. The
engine (`destinations.engine`) owns batching, rate limiting, retries, polling,
state and counting.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol


class Op(StrEnum):
    """What the engine asks a destination to do with a batch of records."""

    UPSERT = "upsert"  # create or update objects (upsert mode; mirror adds)
    ADD = "add"  # add members to the destination object (mirror)
    REMOVE = "remove"  # remove members Segue added (mirror)
    SEND = "send"  # deliver journey actions (actions), at most once


@dataclass(frozen=True)
class RateLimit:
    """A vendor's documented limit for one endpoint: a burst per second and a steady rate per minute."""

    burst_per_second: float
    steady_per_minute: float


@dataclass(frozen=True)
class Capabilities:
    max_batch_rows: dict[Op, int]
    max_batch_bytes: dict[Op, int]
    rate_limits: dict[str, RateLimit]  # endpoint name -> limit
    max_concurrency: int = 4
    # Per-operation override of max_concurrency: one-request-per-row operations (Klaviyo's Create
    # Event) need more requests in flight than big batches to reach the vendor's rate limit.
    max_concurrency_by_op: dict[Op, int] = field(default_factory=dict)
    # True when re-sending an action with the same key cannot deliver it twice
    # (Klaviyo de-duplicates events on unique_id): an outcome lost to a crash
    # or a dropped response is then resolved by re-sending.
    dedupes_actions: bool = False
    supported_modes: frozenset[str] = frozenset({"upsert", "mirror", "actions"})


@dataclass(slots=True)
class Record:
    """One row to deliver: its key and its destination fields (mapping applied)."""

    key: str
    fields: dict[str, Any]
    # What the plan says happened to the row: "add", "change", "remove" or "send" (None when built by hand).
    change: str | None = None
    # The destination's own encoding of the row, cached by it when sizing a batch uses the same bytes
    # as the request body (Klaviyo's profile JSON). Slots: no per-record __dict__ (100k rows a second).
    encoded: bytes | None = field(default=None, repr=False, compare=False)


@dataclass
class BatchOutcome:
    """Per-record result of one batch. Keys in none of the three were confirmed too (see `confirmed_keys`)."""

    confirmed: list[str] = field(default_factory=list)
    rejected: dict[str, tuple[str, str]] = field(default_factory=dict)  # key -> (vendor code, message)
    failed: dict[str, str] = field(default_factory=dict)  # key -> transient reason (retried next run)


@dataclass
class PendingJob:
    """An asynchronous vendor job the engine polls until it reports per-record outcomes."""

    job_id: str
    records: list[Record]
    detail: dict[str, Any] = field(default_factory=dict)


class RetriableError(Exception):
    """Nothing was done (429, 5xx before acting, connection refused): the batch may be retried."""

    def __init__(self, message: str, retry_after: float | None = None, code: str = "retriable"):
        super().__init__(message)
        self.retry_after = retry_after
        self.code = code


class OutcomeUnknown(Exception):
    """The request may have reached the vendor but its answer was lost (timeout, reset mid-response)."""


class FatalError(Exception):
    """Retrying cannot help (bad credentials, forbidden, malformed configuration): the sync fails."""


class ConfigError(ValueError):
    """A sync declaration or destination instance is wrong; the message names the model and field."""


class Transport(Protocol):
    def request(self, endpoint: str, method: str, url: str, **kwargs: Any) -> Any: ...


class Destination(Protocol):
    """One vendor. Instances are made per sync run by `destination_factory(instance, transport)`."""

    capabilities: Capabilities

    def validate_spec(self, spec: Any) -> list[str]:
        """Problems with a sync declaration for this vendor (object, mode, mapping field names)."""
        ...

    def encoded_size(self, op: Op, record: Record) -> int:
        """Bytes `record` adds to a request body (for byte-bounded batching)."""
        ...

    def deliver(self, op: Op, spec: Any, records: list[Record]) -> BatchOutcome | PendingJob:
        """Send one batch; raise RetriableError / OutcomeUnknown / FatalError for whole-batch failures."""
        ...

    def poll(self, job: PendingJob) -> BatchOutcome | None:
        """Outcome of an asynchronous job, or None while it is still running."""
        ...

    # Optional, for vendors that cannot de-duplicate actions but can be asked what they hold:
    #
    #   def reconcile(self, spec, records: list[Record], since: datetime | None) -> BatchOutcome | None
    #
    # After a send whose answer was lost (OutcomeUnknown), or for actions a crashed run left in
    # flight, the engine asks the vendor instead of reporting them unknown. `since` is when the
    # uncertain request was made (None: in an earlier run). The answer: `confirmed` = the vendor
    # holds the message (delivered), `rejected` = it refused it, `failed` = cannot tell yet (stays
    # in flight, asked again next run); every other key is known NOT to have reached the vendor and
    # is safe to send again. None: the vendor cannot tell at all (the keys stay unknown). A vendor
    # without the method keeps the "unknown, reported, never re-sent" path.


DestinationFactory = Callable[..., Destination]
