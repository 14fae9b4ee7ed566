"""Klaviyo in the destination contract suite."""

from __future__ import annotations

import json

from tests.destinations.cases import DestinationCase
from tests.sync import conftest as sync
from tests.sync.openapi import validate_request


def _held(state: dict, mode: str) -> set[str]:
    if mode == "actions":
        return {m["action_id"] for m in state["messages"]}
    if mode == "mirror":
        by_id = {p["id"]: p.get("external_id") for p in state["profiles"]}
        return {by_id[pid] for pid in state["lists"].get("LIST1", [])}
    return {p["external_id"] for p in state["profiles"]}


def _validate(method: str, path: str, headers: dict, body) -> str:
    assert headers["Authorization"].startswith("Klaviyo-API-Key ")
    assert headers["revision"]
    assert headers["Content-Type"] == "application/vnd.api+json"
    return validate_request(method, path, json.loads(body) if isinstance(body, str | bytes) else body)


CASE = DestinationCase(
    name="klaviyo",
    prefix="/klaviyo",
    env=lambda base: {"KLAVIYO_BASE_URL": base, "KLAVIYO_API_KEY": sync.API_KEY},
    instance=sync.instance,
    spec=lambda mode, batch_rows: (
        sync.actions_spec(batch_rows) if mode == "actions" else sync.profiles_spec(mode, batch_rows)
    ),
    make_profiles=sync.make_profiles,
    make_actions=sync.make_actions,
    consents=lambda rows: [(r[9], r[4]) for r in rows],
    # An email Klaviyo cannot accept: the bulk import job reports it as an import error for that profile only.
    bad_profile=lambda i: (f"c{i:05d}", "not-an-email", None, f"Name{i}", "gold"),
    held_keys=_held,
    validate_request=_validate,
    expected_operations={"bulk_import_profiles", "remove_profiles_from_list", "create_event"},
    dedupes_actions=True,
    # An event whose profile email Klaviyo cannot accept: 400 for that event only.
    bad_action=lambda i: (*sync.make_actions(1, i)[0][:9], "not-an-email", False),
)
