"""Sync declarations are refused, naming the model and the field, before any request."""

import pytest

from destinations.base import ConfigError
from destinations.config import check_spec, load_destinations, load_specs, spec_from_node
from tests.sync.conftest import PROFILE_COLUMNS, instance, profiles_spec


def node(name="sync_klaviyo__people", sync=None, columns=PROFILE_COLUMNS):
    sync = (
        sync
        if sync is not None
        else {
            "destination": "klaviyo",
            "mode": "upsert",
            "primary_key": "customer_id",
            "object": "profiles",
            "mapping": {"external_id": "customer_id", "email": "email"},
        }
    )
    return {
        "name": name,
        "resource_type": "model",
        "schema": "syncs",
        "config": {"meta": {"sync": sync}},
        "columns": {c: {"name": c} for c in columns},
    }


def problems(spec, credentials=True):
    return check_spec(spec, {"klaviyo": instance()}, credentials=credentials)


def test_a_valid_declaration_passes(monkeypatch):
    monkeypatch.setenv("KLAVIYO_API_KEY", "k")
    spec = spec_from_node(node())
    assert spec.relation == "syncs.sync_klaviyo__people"
    assert problems(spec) == []


def test_unknown_column_is_named(monkeypatch):
    monkeypatch.setenv("KLAVIYO_API_KEY", "k")
    spec = profiles_spec(mapping={"external_id": "customer_id", "email": "e_mail"})
    assert problems(spec) == ["model sync_klaviyo__test_profiles: meta.sync.mapping.email: unknown column 'e_mail'"]


def test_missing_primary_key_is_named():
    with pytest.raises(ConfigError, match=r"model sync_klaviyo__people: meta\.sync\.primary_key: Field required"):
        spec_from_node(
            node(sync={"destination": "klaviyo", "mode": "upsert", "object": "profiles", "mapping": {"email": "email"}})
        )
    spec = profiles_spec(primary_key="id")
    assert any("meta.sync.primary_key: column 'id' is not a column" in p for p in problems(spec, False))


def test_unknown_destination_and_bad_mode_are_named():
    spec = profiles_spec(destination="mailchimp")
    assert problems(spec, False) == [
        "model sync_klaviyo__test_profiles: meta.sync.destination: unknown destination 'mailchimp' (known: klaviyo)"
    ]
    with pytest.raises(ConfigError, match=r"meta\.sync\.mode: Input should be 'upsert', 'mirror' or 'actions'"):
        spec_from_node(node(sync={**node()["config"]["meta"]["sync"], "mode": "replace"}))


def test_missing_credential_is_named(monkeypatch):
    monkeypatch.delenv("KLAVIYO_API_KEY", raising=False)
    assert problems(profiles_spec()) == [
        "model sync_klaviyo__test_profiles: destination 'klaviyo': missing credential, set KLAVIYO_API_KEY"
    ]


def test_klaviyo_specific_rules():
    assert any(
        "needs object 'list/<list id>'" in p for p in problems(profiles_spec(mode="mirror", object="VIP"), False)
    )
    bad_field = profiles_spec(mapping={"external_id": "customer_id", "favourite": "tier"})
    assert any("meta.sync.mapping.favourite: not a Klaviyo profile field" in p for p in problems(bad_field, False))
    mirror = profiles_spec(mode="mirror", mapping={"email": "email", "external_id": "email"})
    assert any("a mirror maps external_id to the primary key" in p for p in problems(mirror, False))


def test_model_without_meta_sync_and_undeclared_columns():
    with pytest.raises(ConfigError, match=r"model sync_klaviyo__people: meta\.sync is missing"):
        spec_from_node({**node(), "config": {"meta": {}}})
    spec = spec_from_node(node(columns=[]))
    assert any("declare the model's columns in its YAML" in p for p in problems(spec, False))


def test_load_specs_collects_every_problem(monkeypatch, tmp_path):
    manifest = {"nodes": {"a": node("sync_klaviyo__a", columns=["email"]), "b": node("sync_klaviyo__b")}}
    with pytest.raises(ConfigError) as info:
        load_specs(manifest, credentials=False)
    assert "model sync_klaviyo__a: meta.sync.primary_key" in str(info.value)
    assert "sync_klaviyo__b" not in str(info.value)


def test_destinations_file_is_validated(tmp_path, monkeypatch):
    path = tmp_path / "destinations.yml"
    path.write_text("klaviyo:\n  type: klaviyo\n  base_url_env: KLAVIYO_BASE_URL\n  api_key: oops\n")
    with pytest.raises(ConfigError, match=r"destination 'klaviyo': api_key: Extra inputs are not permitted"):
        load_destinations(path)
    assert {"klaviyo", "twilio", "attentive"} <= set(load_destinations())  # the repository's own file
