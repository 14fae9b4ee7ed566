"""The signed webhook in the destination contract suite: bodies validate against its own published schema."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema

from destinations import webhook
from destinations.config import DestinationInstance, SyncSpec
from tests.destinations.cases import DestinationCase
from tests.sync import conftest as sync

SECRET = "whsec_contract_suite"
SCHEMA = json.loads((Path(webhook.__file__).parent / "payload.schema.json").read_text())
LIST = "segment/vip"


def instance(scale: float = 100.0) -> DestinationInstance:
    return DestinationInstance(
        name="webhook",
        type="webhook",
        base_url_env="WEBHOOK_URL",
        credentials={"url": "WEBHOOK_URL", "secret": "WEBHOOK_SECRET"},
        rate_limit_scale=scale,
    )


def spec(mode: str, batch_rows: int | None) -> SyncSpec:
    if mode == "actions":
        return SyncSpec(
            name="sync_webhook__test_actions",
            relation="syncs.test_actions",
            columns=sync.ACTION_COLUMNS,
            destination="webhook",
            mode="actions",
            primary_key="action_id",
            mapping={
                "action_id": "action_id",
                "to": "to_address",
                "channel": "channel",
                "journey": "journey",
                "step": "step",
                "scheduled_for": "scheduled_for",
            },
            object="journey_actions",
            batch_rows=batch_rows,
        )
    return SyncSpec(
        name="sync_webhook__test_profiles" if mode == "upsert" else "sync_webhook__test_list",
        relation="syncs.test_profiles",
        columns=sync.PROFILE_COLUMNS,
        destination="webhook",
        mode=mode,
        primary_key="customer_id",
        mapping={c: c for c in sync.PROFILE_COLUMNS},
        object="customers" if mode == "upsert" else LIST,
        batch_rows=batch_rows,
    )


def held(state: dict, mode: str) -> set[str]:
    if mode == "actions":
        return {m["action_id"] for m in state["messages"]}
    if mode == "mirror":
        return set(state["lists"].get(LIST, []))
    return {p["external_id"] for p in state["profiles"]}


def validate(method: str, path: str, headers: dict, body) -> str:
    assert (method, path) == ("POST", "/receive")
    payload = webhook.verify(SECRET, headers, body)
    jsonschema.validate(payload, SCHEMA)
    assert headers["Idempotency-Key"] == payload["delivery_id"]
    return payload["mode"]


CASE = DestinationCase(
    name="webhook",
    prefix="/webhook",
    env=lambda base: {"WEBHOOK_URL": f"{base}/receive", "WEBHOOK_SECRET": SECRET},
    instance=instance,
    spec=spec,
    make_profiles=sync.make_profiles,
    make_actions=sync.make_actions,
    consents=lambda rows: [(r[9], r[4]) for r in rows],
    # The receiver rejects a record whose email is not an address, in its 2xx answer.
    bad_profile=lambda i: (f"c{i:05d}", "not-an-email", None, f"Name{i}", "gold"),
    held_keys=held,
    validate_request=validate,
    expected_operations={"upsert", "mirror", "actions"},
    dedupes_actions=True,
)
