"""Braze in the destination contract suite (Braze publishes no OpenAPI spec: no body validation here)."""

from __future__ import annotations

from destinations.config import DestinationInstance, SyncSpec
from tests.destinations.cases import DestinationCase
from tests.sync import conftest as sync

GROUP = "SG1"


def instance(scale: float = 100.0) -> DestinationInstance:
    return DestinationInstance(
        name="braze",
        type="braze",
        base_url_env="BRAZE_BASE_URL",
        credentials={"api_key": "BRAZE_API_KEY"},
        rate_limit_scale=scale,
    )


def spec(mode: str, batch_rows: int | None) -> SyncSpec:
    if mode == "actions":
        return SyncSpec(
            name="sync_braze__test_actions",
            relation="syncs.test_actions",
            columns=sync.ACTION_COLUMNS,
            destination="braze",
            mode="actions",
            primary_key="action_id",
            mapping={
                "external_user_id": "customer_key",
                "attributes.email": "to_address",
                "trigger_properties.action_id": "action_id",
                "trigger_properties.journey": "journey",
                "trigger_properties.step": "step",
            },
            object="campaign/CAMPAIGN1",
            batch_rows=batch_rows,
        )
    return SyncSpec(
        name="sync_braze__test_profiles" if mode == "upsert" else "sync_braze__test_group",
        relation="syncs.test_profiles",
        columns=sync.PROFILE_COLUMNS,
        destination="braze",
        mode=mode,
        primary_key="customer_id",
        mapping={
            "external_id": "customer_id",
            "email": "email",
            "phone": "phone",
            "first_name": "first_name",
            "custom.tier": "tier",
        },
        object="users" if mode == "upsert" else f"subscription_group/{GROUP}",
        batch_rows=batch_rows,
    )


def held(state: dict, mode: str) -> set[str]:
    if mode == "actions":
        return {m["action_id"] for m in state["messages"]}
    by_id = {p["id"]: p.get("external_id") for p in state["profiles"]}
    if mode == "mirror":
        return {by_id[bid] for bid in state["lists"].get(GROUP, [])}
    # Users the profile sync wrote (it alone sets `tier`); campaign recipients create users too.
    return {p.get("external_id") for p in state["profiles"] if "tier" in p}


CASE = DestinationCase(
    name="braze",
    prefix="/braze",
    env=lambda base: {"BRAZE_BASE_URL": base, "BRAZE_API_KEY": sync.API_KEY},
    instance=instance,
    spec=spec,
    make_profiles=sync.make_profiles,
    make_actions=sync.make_actions,
    consents=lambda rows: [(r[9], r[4]) for r in rows],
    # An email Braze cannot accept: /users/track skips that object and names it in errors[] (2xx).
    bad_profile=lambda i: (f"c{i:05d}", "not-an-email", None, f"Name{i}", "gold"),
    held_keys=held,
    dedupes_actions=False,
)
