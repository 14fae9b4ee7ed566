"""Settings from the environment (CONTRACT.md section 1), read at run time, never at import."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

DEFAULT_WAREHOUSE = "./warehouse.duckdb"


class SettingsError(ValueError):
    """A setting holds a value Segue cannot use."""


# Schemas Segue reads or writes. DuckDB names a file's catalog after the file's stem, so a
# warehouse called `raw.duckdb` makes every `raw.<table>` ambiguous (catalog or schema?).
SEGUE_SCHEMAS = frozenset(
    {"raw", "truth", "staging", "identity", "profiles", "segments", "journeys", "syncs", "reference", "marts", "segue"}
)


def check_warehouse_name(path: str | Path) -> None:
    """Refuse a DuckDB file whose name collides with one of Segue's schemas."""
    stem = Path(path).name.split(".", 1)[0].lower()
    if stem in SEGUE_SCHEMAS:
        raise SettingsError(
            f"warehouse file {str(path)!r}: DuckDB names its catalog {stem!r}, the same as Segue's schema "
            f"{stem!r}, so `{stem}.<table>` would be ambiguous; rename the file (for example {stem}_warehouse.duckdb)"
        )


def warehouse_path() -> str:
    """SEGUE_WAREHOUSE as an absolute path (default ./warehouse.duckdb)."""
    path = str(Path(os.environ.get("SEGUE_WAREHOUSE") or DEFAULT_WAREHOUSE).expanduser().resolve())
    check_warehouse_name(path)
    return path


def parse_as_of(value: str, *, field: str = "SEGUE_AS_OF") -> datetime:
    """Parse an ISO 8601 instant into a naive UTC datetime (microseconds dropped).

    A value without a zone is taken as UTC; one with an offset is converted.
    """
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise SettingsError(f"{field}={value!r} is not an ISO 8601 timestamp (example: 2026-11-20T12:00:00Z)") from exc
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed.replace(microsecond=0)


def as_of() -> datetime | None:
    """SEGUE_AS_OF as naive UTC, or None when unset (then the real clock counts)."""
    raw = os.environ.get("SEGUE_AS_OF", "").strip()
    return parse_as_of(raw) if raw else None


def as_of_or_now() -> datetime:
    return as_of() or datetime.now(UTC).replace(tzinfo=None, microsecond=0)


_ON = frozenset({"1", "true", "yes", "on"})
_OFF = frozenset({"0", "false", "no", "off"})

# The on/off settings and their defaults when unset or empty (README, "Settings").
FLAGS = {
    "SEGUE_STAGING_INCREMENTAL": False,
    "SEGUE_IDENTITY_INCREMENTAL": False,
    "SEGUE_AUTOMATION": False,
    "SEGUE_GX_DATA_DOCS": True,
}


def flag(name: str) -> bool:
    """An on/off setting: on/off, true/false, 1/0 or yes/no (any case); unset or empty is its default.

    Anything else is refused with the setting named, so a typo never quietly means off.
    """
    raw = os.environ.get(name, "")
    value = raw.strip().lower()
    if not value:
        return FLAGS[name]
    if value in _ON:
        return True
    if value in _OFF:
        return False
    raise SettingsError(f"{name}={raw!r} is neither on nor off (on/off, true/false, 1/0, yes/no)")


def check_flags() -> None:
    """Refuse a bad on/off setting before anything runs."""
    for name in FLAGS:
        flag(name)


def staging_incremental() -> bool:
    """SEGUE_STAGING_INCREMENTAL: stage the two event tables incrementally (dbt var `staging_incremental`)."""
    return flag("SEGUE_STAGING_INCREMENTAL")


def identity_incremental() -> bool:
    """SEGUE_IDENTITY_INCREMENTAL: re-resolve only what changed in the identity graph (dbt var identity_incremental)."""
    return flag("SEGUE_IDENTITY_INCREMENTAL")


def automation_on() -> bool:
    """SEGUE_AUTOMATION: schedules and sensors start running under `dagster dev`."""
    return flag("SEGUE_AUTOMATION")


def gx_data_docs() -> bool:
    """SEGUE_GX_DATA_DOCS: build Great Expectations Data Docs for each check (on by default)."""
    return flag("SEGUE_GX_DATA_DOCS")


def dbt_vars() -> dict[str, object]:
    """The dbt vars the settings imply; empty when all are defaults, so dbt's parse cache holds."""
    values: dict[str, object] = {}
    instant = as_of()
    if instant is not None:
        values["as_of"] = format_as_of(instant)
    if staging_incremental():
        values["staging_incremental"] = True
    if identity_incremental():
        values["identity_incremental"] = True
    return values


def format_as_of(value: datetime) -> str:
    """The canonical text form passed to dbt and stored with results."""
    return value.strftime("%Y-%m-%dT%H:%M:%S")
