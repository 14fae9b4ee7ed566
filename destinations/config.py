"""Sync declarations (dbt `meta.sync` on `sync_` models) and destination instances (`destinations.yml`).

Validation happens twice, with the same messages: when the Dagster definitions
load (structure, columns, destination names) and before a sync runs or by
`segue syncs validate` (also credentials, read from the environment then).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from destinations.base import ConfigError

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DESTINATIONS_FILE = REPO_ROOT / "destinations.yml"
SYNC_MODEL_PATTERN = re.compile(r"^sync_(?P<destination>[a-z0-9]+)__(?P<name>[a-z0-9_]+)$")


class DestinationInstance(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    type: str
    base_url_env: str
    credentials: dict[str, str] = Field(default_factory=dict)  # credential name -> env var name
    # Multiplies the vendor's documented rate limits the engine keeps to (tests
    # and emulators scaled up; never above 1 against a real vendor).
    rate_limit_scale: float = Field(default=1.0, gt=0)

    def base_url(self, default: str) -> str:
        return (os.environ.get(self.base_url_env) or default).rstrip("/")

    def missing_credentials(self) -> list[str]:
        """Names of the environment variables this instance needs that are unset or empty."""
        return [env for env in self.credentials.values() if not os.environ.get(env, "").strip()]

    def credential(self, name: str) -> str:
        env = self.credentials[name]
        value = os.environ.get(env, "").strip()
        if not value:
            raise ConfigError(f"destination {self.name!r}: credential {name} is missing (set {env})")
        return value


UNCONFIGURED_SETTING = "SEGUE_UNCONFIGURED_DESTINATIONS"


def skip_unconfigured() -> bool:
    """SEGUE_UNCONFIGURED_DESTINATIONS=skip: a sync whose destination lacks a credential is skipped, not refused.

    The default, `fail`, refuses such a sync (and `segue run` exits non-zero); `skip`
    suits a project where only some destinations are set up (say only Klaviyo):
    those syncs are reported as not configured, send nothing and fail nothing.
    """
    value = os.environ.get(UNCONFIGURED_SETTING, "").strip().lower() or "fail"
    if value not in ("fail", "skip"):
        raise ConfigError(f"{UNCONFIGURED_SETTING}={value!r}: expected fail or skip")
    return value == "skip"


def unconfigured_destinations() -> dict[str, list[str]]:
    """Instances lacking credentials -> their unset variables, when SEGUE_UNCONFIGURED_DESTINATIONS=skip (else {})."""
    if not skip_unconfigured():
        return {}
    return {name: missing for name, inst in load_destinations().items() if (missing := inst.missing_credentials())}


class Thresholds(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # CONTRACT §6: a mirror plan removing more than this share of the members
    # Segue added is blocked; an upsert changing more than this share of the
    # rows synced before is blocked (a first sync never is).
    max_remove_share: float = Field(default=0.2, ge=0, le=1)
    max_change_share: float = Field(default=0.5, ge=0, le=1)


class SyncSpec(BaseModel):
    """One sync: what the `sync_` model's YAML says under `meta.sync`."""

    model_config = ConfigDict(extra="forbid")

    name: str  # the model name, e.g. sync_klaviyo__customers
    relation: str  # schema.table the engine reads
    columns: list[str] = Field(default_factory=list)  # columns declared in the model's YAML
    destination: str
    mode: Literal["upsert", "mirror", "actions"]
    primary_key: str
    mapping: dict[str, str]  # destination field -> model column
    object: str  # destination object: "profiles", "list/<id>", "event/<metric name>"
    schedule: str | None = None  # cron; the Dagster schedule issue reads it
    thresholds: Thresholds = Field(default_factory=Thresholds)
    batch_rows: int | None = Field(default=None, gt=0)  # below the destination's own maximum
    # actions mode: columns the engine needs besides the mapping
    scheduled_for_column: str = "scheduled_for"
    channel_column: str = "channel"
    address_column: str = "to_address"

    @field_validator("mapping")
    @classmethod
    def _mapping_not_empty(cls, value: dict[str, str]) -> dict[str, str]:
        if not value:
            raise ValueError("must map at least one destination field to a column")
        return value

    @property
    def mapped_columns(self) -> list[str]:
        return sorted(set(self.mapping.values()))

    def required_columns(self) -> list[str]:
        cols = {self.primary_key, *self.mapping.values()}
        if self.mode == "actions":
            cols |= {self.scheduled_for_column, self.channel_column, self.address_column}
        return sorted(cols)


def destinations_file() -> Path:
    return Path(os.environ.get("SEGUE_DESTINATIONS_FILE") or DEFAULT_DESTINATIONS_FILE)


def load_destinations(path: Path | None = None) -> dict[str, DestinationInstance]:
    path = path or destinations_file()
    if not path.exists():
        raise ConfigError(f"{path}: destinations file not found (set SEGUE_DESTINATIONS_FILE or create it)")
    data = yaml.safe_load(path.read_text()) or {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of destination name -> settings")
    out = {}
    for name, body in data.items():
        try:
            out[name] = DestinationInstance(name=name, **(body or {}))
        except (ValidationError, TypeError) as exc:
            raise ConfigError(f"{path}: destination {name!r}: {_pydantic_message(exc)}") from exc
    return out


def _pydantic_message(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'value'}: {e['msg']}" for e in exc.errors())
    return str(exc)


def spec_from_node(node: dict[str, Any]) -> SyncSpec:
    """Build a SyncSpec from a manifest node; ConfigError names the model and the field."""
    name = node["name"]
    meta = (node.get("config") or {}).get("meta") or node.get("meta") or {}
    body = meta.get("sync")
    if not isinstance(body, dict):
        raise ConfigError(f"model {name}: meta.sync is missing (every sync_ model declares its sync in YAML)")
    relation = f"{node.get('schema')}.{node.get('alias') or name}"
    columns = sorted((node.get("columns") or {}).keys())
    try:
        spec = SyncSpec(name=name, relation=relation, columns=columns, **body)
    except ValidationError as exc:
        fields = "; ".join(f"meta.sync.{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"model {name}: {fields}") from exc
    except TypeError as exc:
        raise ConfigError(f"model {name}: meta.sync: {exc}") from exc
    return spec


def check_spec(
    spec: SyncSpec,
    destinations: dict[str, DestinationInstance],
    *,
    credentials: bool,
    skip_unconfigured: bool = False,
) -> list[str]:
    """Every problem with `spec`, each naming the model and field. Empty: the sync may run.

    With `skip_unconfigured`, missing credentials are not problems (the caller skips the sync).
    """
    problems: list[str] = []
    where = f"model {spec.name}"
    match = SYNC_MODEL_PATTERN.match(spec.name)
    if not match:
        problems.append(f"{where}: name must be sync_<destination>__<name>")
    if not spec.columns:
        problems.append(f"{where}: declare the model's columns in its YAML (the mapping is checked against them)")
    else:
        declared = set(spec.columns)
        if spec.primary_key not in declared:
            problems.append(f"{where}: meta.sync.primary_key: column {spec.primary_key!r} is not a column of the model")
        for dest_field, column in sorted(spec.mapping.items()):
            if column not in declared:
                problems.append(f"{where}: meta.sync.mapping.{dest_field}: unknown column {column!r}")
        if spec.mode == "actions":
            for attr in ("scheduled_for_column", "channel_column", "address_column"):
                column = getattr(spec, attr)
                if column not in declared:
                    problems.append(f"{where}: meta.sync.{attr}: unknown column {column!r}")
    instance = destinations.get(spec.destination)
    if instance is None:
        known = ", ".join(sorted(destinations)) or "none"
        problems.append(f"{where}: meta.sync.destination: unknown destination {spec.destination!r} (known: {known})")
        return problems
    from destinations.registry import destination_class

    try:
        cls = destination_class(instance.type)
    except ConfigError as exc:
        problems.append(f"{where}: meta.sync.destination: {exc}")
        return problems
    if spec.mode not in cls.capabilities.supported_modes:
        problems.append(f"{where}: meta.sync.mode: {instance.type} does not support mode {spec.mode!r}")
    problems.extend(f"{where}: {p}" for p in cls.validate_spec(spec))
    if credentials and not skip_unconfigured:
        for env in instance.missing_credentials():
            problems.append(f"{where}: destination {instance.name!r}: missing credential, set {env}")
    return problems


def load_manifest(path: Path) -> dict[str, Any]:
    return json.loads(Path(path).read_text())


def sync_nodes(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    """Manifest nodes of models named sync_* (the declared syncs), by name."""
    nodes = [
        n
        for n in manifest.get("nodes", {}).values()
        if n.get("resource_type") == "model" and n.get("name", "").startswith("sync_")
    ]
    return sorted(nodes, key=lambda n: n["name"])


def load_specs(
    manifest: dict[str, Any], *, credentials: bool = False, skip_unconfigured: bool = False
) -> list[SyncSpec]:
    """Every declared sync, validated; ConfigError lists every problem found."""
    destinations = load_destinations()
    specs, problems = [], []
    for node in sync_nodes(manifest):
        try:
            spec = spec_from_node(node)
        except ConfigError as exc:
            problems.append(str(exc))
            continue
        problems.extend(check_spec(spec, destinations, credentials=credentials, skip_unconfigured=skip_unconfigured))
        specs.append(spec)
    if problems:
        raise ConfigError("invalid sync declarations:\n  " + "\n  ".join(problems))
    return specs
