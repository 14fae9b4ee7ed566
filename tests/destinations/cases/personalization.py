"""The personalization API in the destination contract suite (its write API, mounted in `segue emulators`)."""

from __future__ import annotations

import json

from destinations.config import DestinationInstance, SyncSpec
from destinations.personalization.service import check_document
from tests.destinations.cases import DestinationCase
from tests.sync import conftest as sync

API_KEY = "personalization-test-key"


def instance(scale: float = 100.0) -> DestinationInstance:
    return DestinationInstance(
        name="personalization",
        type="personalization",
        base_url_env="PERSONALIZATION_BASE_URL",
        credentials={"api_key": "PERSONALIZATION_API_KEY"},
        rate_limit_scale=scale,
    )


def spec(mode: str, batch_rows: int | None) -> SyncSpec | None:
    if mode == "actions":
        return None  # the next on-site action rides in the document; nothing is sent
    return SyncSpec(
        name=f"sync_personalization__test_{mode}",
        relation="syncs.test_profiles",
        columns=sync.PROFILE_COLUMNS,
        destination="personalization",
        mode=mode,
        primary_key="customer_id",
        mapping={
            "customer_key": "customer_id",
            "identifiers.customer_id": "customer_id",
            "identifiers.email": "email",
            "identifiers.phone": "phone",
            "profile.first_name": "first_name",
            "loyalty.tier": "tier",
        },
        object="profiles",
        batch_rows=batch_rows,
    )


def validate_request(method: str, path: str, headers: dict, body) -> str:
    """The service's own contract (service.check_document) stands in for a vendor spec."""
    assert headers["X-Api-Key"] and headers["Content-Type"] == "application/json"
    document = json.loads(body)
    if (method, path) == ("PUT", "/v1/profiles"):
        assert 1 <= len(document["profiles"]) <= 1000
        for profile in document["profiles"]:
            check_document(profile)
        return "upsert_profiles"
    if (method, path) == ("POST", "/v1/profiles/delete"):
        assert document["customer_keys"] and all(isinstance(k, str) for k in document["customer_keys"])
        return "delete_profiles"
    raise AssertionError(f"not a personalization write API call: {method} {path}")


CASE = DestinationCase(
    name="personalization",
    prefix="/personalization",
    env=lambda base: {"PERSONALIZATION_BASE_URL": base, "PERSONALIZATION_API_KEY": API_KEY},
    instance=instance,
    spec=spec,
    make_profiles=sync.make_profiles,
    make_actions=None,
    consents=lambda rows: [],
    # An email the store cannot index: that document is rejected, the rest of the batch is written.
    bad_profile=lambda i: (f"c{i:05d}", "not-an-email", None, f"Name{i}", "gold"),
    held_keys=lambda state, mode: {p["id"] for p in state["profiles"]},
    validate_request=validate_request,
    expected_operations={"upsert_profiles", "delete_profiles"},
)
