"""Attentive in the destination contract suite: custom attributes, a TEXT subscription mirror, custom events."""

from __future__ import annotations

from datetime import datetime

from destinations.config import DestinationInstance, SyncSpec
from tests.destinations.cases import DestinationCase
from tests.sync import conftest as sync
from tests.sync.openapi import validate_request

API_KEY = "attentive-test-token"
SIGN_UP_SOURCE = "123456"


def env(base: str) -> dict[str, str]:
    return {"ATTENTIVE_BASE_URL": base, "ATTENTIVE_API_KEY": API_KEY, "ATTENTIVE_SIGN_UP_SOURCE_ID": SIGN_UP_SOURCE}


def instance(scale: float = 100.0) -> DestinationInstance:
    return DestinationInstance(
        name="attentive",
        type="attentive",
        base_url_env="ATTENTIVE_BASE_URL",
        credentials={"api_key": "ATTENTIVE_API_KEY", "sign_up_source_id": "ATTENTIVE_SIGN_UP_SOURCE_ID"},
        rate_limit_scale=scale,
    )


def spec(mode: str, batch_rows: int | None = None) -> SyncSpec:
    common = dict(
        relation="syncs.test_profiles",
        columns=sync.PROFILE_COLUMNS,
        destination="attentive",
        mode=mode,
        batch_rows=batch_rows,
    )
    if mode == "upsert":
        return SyncSpec(
            name="sync_attentive__test_attributes",
            primary_key="customer_id",
            object="custom_attributes",
            mapping={
                "clientUserId": "customer_id",
                "email": "email",
                "phone": "phone",
                "properties.first_name": "first_name",
                "properties.tier": "tier",
            },
            **common,
        )
    if mode == "mirror":
        return SyncSpec(
            name="sync_attentive__test_subscribers",
            primary_key="phone",
            object="subscriptions/MARKETING",
            mapping={"phone": "phone", "clientUserId": "customer_id"},
            **common,
        )
    return SyncSpec(
        name="sync_attentive__test_events",
        relation="syncs.test_actions",
        columns=sync.ACTION_COLUMNS,
        destination="attentive",
        mode="actions",
        primary_key="action_id",
        object="event/Segue Journey Step",
        mapping={
            "externalEventId": "action_id",
            "phone": "to_address",
            "properties.journey": "journey",
            "properties.step": "step",
        },
        batch_rows=batch_rows,
    )


def make_profiles(n: int, start: int = 0, tier: str = "gold") -> list[tuple]:
    return [
        (f"c{i:05d}", f"person{i}@example.com", f"+1415556{i:04d}", f"Name{i}", tier) for i in range(start, start + n)
    ]


def make_actions(n: int, start: int = 0, scheduled_for: datetime = datetime(2026, 11, 20, 9, 0)) -> list[tuple]:
    return [
        (
            f"a{i:05d}",
            f"k{i}",
            "browse_abandonment",
            "nudge_1",
            "sms",
            "attentive",
            "send",
            None,
            scheduled_for,
            f"+1415557{i:04d}",
            False,
        )
        for i in range(start, start + n)
    ]


def bad_action(i: int) -> tuple:
    row = list(make_actions(1, i)[0])
    row[9] = "0415 557 000"  # not E.164: Attentive refuses this event only
    return tuple(row)


def _held(state: dict, mode: str) -> set[str]:
    if mode == "actions":
        return {m["action_id"] for m in state["messages"]}
    if mode == "mirror":
        by_phone = {p["phone"]: p.get("external_id") for p in state["profiles"]}
        return {by_phone[phone] for phone in state["lists"].get("MARKETING", [])}
    return {p["external_id"] for p in state["profiles"] if p.get("external_id") and p["properties"]}


def _validate(method: str, path: str, headers: dict, body) -> str:
    assert headers["Authorization"] == f"Bearer {API_KEY}"
    assert headers["Content-Type"] == "application/json"
    return validate_request(method, path, body, vendor="attentive")


CASE = DestinationCase(
    name="attentive",
    prefix="/attentive",
    env=env,
    instance=instance,
    spec=spec,
    make_profiles=make_profiles,
    make_actions=make_actions,
    consents=lambda rows: [(r[9], r[4]) for r in rows],
    # A phone Attentive cannot read: that user's attributes are refused, the others land.
    bad_profile=lambda i: (f"c{i:05d}", f"person{i}@example.com", "555-0100", f"Name{i}", "gold"),
    bad_action=bad_action,
    held_keys=_held,
    validate_request=_validate,
    expected_operations={"postCustomAttributes", "addSubscriptions", "unsubscribeSubscriptions", "postCustomEvents"},
    dedupes_actions=False,
)
