"""Twilio in the destination contract suite: journey SMS as Messages create, actions mode only."""

from __future__ import annotations

import base64
from datetime import datetime

from destinations.config import DestinationInstance, SyncSpec
from tests.destinations.cases import DestinationCase
from tests.sync import conftest as sync
from tests.sync.openapi import validate_request

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "twilio-test-token"
SERVICE_SID = "MG" + "fedcba9876543210" * 2
CALLBACK = "https://hooks.example.com/twilio/status"


def env(base: str) -> dict[str, str]:
    return {
        "TWILIO_BASE_URL": base,
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_SENDER": SERVICE_SID,
        "TWILIO_STATUS_CALLBACK_URL": CALLBACK,
    }


def instance(scale: float = 100.0) -> DestinationInstance:
    return DestinationInstance(
        name="twilio",
        type="twilio",
        base_url_env="TWILIO_BASE_URL",
        credentials={
            "account_sid": "TWILIO_ACCOUNT_SID",
            "auth_token": "TWILIO_AUTH_TOKEN",
            "sender": "TWILIO_SENDER",
            "status_callback_url": "TWILIO_STATUS_CALLBACK_URL",
        },
        rate_limit_scale=scale,
    )


def spec(mode: str, batch_rows: int | None = None) -> SyncSpec | None:
    if mode != "actions":
        return None
    return SyncSpec(
        name="sync_twilio__test_sms",
        relation="syncs.test_actions",
        columns=sync.ACTION_COLUMNS,
        destination="twilio",
        mode="actions",
        primary_key="action_id",
        mapping={"To": "to_address", "Body": "step"},
        object="messages",
        batch_rows=batch_rows,
    )


def phone(i: int) -> str:
    return f"+1415555{i:04d}"


def make_actions(n: int, start: int = 0, scheduled_for: datetime = datetime(2026, 11, 20, 9, 0)) -> list[tuple]:
    return [
        (
            f"a{i:05d}",
            f"k{i}",
            "cart_abandonment",
            f"Your cart misses you ({i}). Reply STOP to opt out.",
            "sms",
            "twilio",
            "send",
            None,
            scheduled_for,
            phone(i),
            False,
        )
        for i in range(start, start + n)
    ]


def bad_action(i: int) -> tuple:
    row = list(make_actions(1, i)[0])
    row[9] = "+1555"  # not a phone number: Twilio 21211, for this message only
    return tuple(row)


def _validate(method: str, path: str, headers: dict, body) -> str:
    user, _, token = base64.b64decode(headers["Authorization"].removeprefix("Basic ")).decode().partition(":")
    assert (user, token) == (ACCOUNT_SID, AUTH_TOKEN)
    return validate_request(method, path, body, vendor="twilio")


CASE = DestinationCase(
    name="twilio",
    prefix="/twilio",
    env=env,
    instance=instance,
    spec=spec,
    make_profiles=sync.make_profiles,
    make_actions=make_actions,
    consents=lambda rows: [(r[9], r[4]) for r in rows],
    bad_profile=None,
    bad_action=bad_action,
    held_keys=lambda state, mode: {m["action_id"] for m in state["messages"]},
    validate_request=_validate,
    expected_operations={"CreateMessage"},
    dedupes_actions=False,
)
