from datetime import datetime

import pytest

from orchestration import settings


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-20T12:00:00Z", datetime(2026, 11, 20, 12)),
        ("2026-11-20T12:00:00", datetime(2026, 11, 20, 12)),
        ("2026-11-20 12:00:00.123456", datetime(2026, 11, 20, 12)),
        ("2026-11-20T13:30:00+01:30", datetime(2026, 11, 20, 12)),
        ("2026-11-20", datetime(2026, 11, 20)),
    ],
)
def test_as_of_is_naive_utc(text, expected):
    assert settings.parse_as_of(text) == expected


def test_bad_as_of_names_the_setting():
    with pytest.raises(settings.SettingsError, match=r"--as-of='yesterday' is not an ISO 8601"):
        settings.parse_as_of("yesterday", field="--as-of")


def test_warehouse_default_and_override(monkeypatch, tmp_path):
    monkeypatch.delenv("SEGUE_WAREHOUSE", raising=False)
    monkeypatch.chdir(tmp_path)
    assert settings.warehouse_path() == str(tmp_path / "warehouse.duckdb")
    monkeypatch.setenv("SEGUE_WAREHOUSE", "other/w.duckdb")
    assert settings.warehouse_path() == str(tmp_path / "other" / "w.duckdb")
