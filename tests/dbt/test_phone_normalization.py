"""The dbt macro `normalize_phone` agrees with Google's libphonenumber.

Each vector (raw phone, country of its row's context) goes through the
macro's SQL on DuckDB, joined to seed `country_calling_codes` exactly as the
staging models join it, and is compared with
`phonenumbers.format_number(phonenumbers.parse(raw, country), E164)` for every
vector phonenumbers considers possible. The few where Segue deliberately
answers otherwise are listed with the reason.
"""

from __future__ import annotations

import phonenumbers
import pytest

VECTORS: list[tuple[str, str | None]] = [
    # GB: national, international, 00, (0), dashed, bare national digits, digits with the calling code
    ("07911 123456", "GB"),
    ("+44 7911 123456", "GB"),
    ("0044 7911 123456", "GB"),
    ("+44 (0)20 7946 0958", "GB"),
    ("020-7946-0958", "GB"),
    ("7911123456", "GB"),
    ("447911123456", "GB"),
    # US / CA: trunk prefix 1, IDD 011
    ("(202) 555-0143", "US"),
    ("202.555.0143", "US"),
    ("1-202-555-0143", "US"),
    ("+1 202 555 0143", "US"),
    ("011 44 20 7946 0958", "US"),
    ("2025550143", "US"),
    ("(416) 555-0199", "CA"),
    ("1 416 555 0199", "CA"),
    # IE
    ("085 123 4567", "IE"),
    ("01 234 5678", "IE"),
    ("+353 (0)85 123 4567", "IE"),
    ("00353 1 234 5678", "IE"),
    # DE: variable length
    ("030 1234567", "DE"),
    ("0151 23456789", "DE"),
    ("+49 (0)151 23456789", "DE"),
    ("0049 30 1234567", "DE"),
    # FR
    ("06 12 34 56 78", "FR"),
    ("+33 6 12 34 56 78", "FR"),
    ("612345678", "FR"),
    # AU: IDD 0011
    ("0412 345 678", "AU"),
    ("(02) 9876 5432", "AU"),
    ("0011 44 7911 123456", "AU"),
    # NL, ES, IT (no trunk prefix: the 0 is part of the number), BE, AT, CH, SE
    ("06 12345678", "NL"),
    ("020-123 4567", "NL"),
    ("612 345 678", "ES"),
    ("0034 912 345 678", "ES"),
    ("06 1234 5678", "IT"),
    ("312 345 6789", "IT"),
    ("+39 06 1234 5678", "IT"),
    ("0470 12 34 56", "BE"),
    ("02 123 45 67", "BE"),
    ("0664 1234567", "AT"),
    ("01 2345678", "AT"),
    ("044 668 18 00", "CH"),
    ("079 123 45 67", "CH"),
    ("070-123 45 67", "SE"),
    ("08-123 456 78", "SE"),
    # DK, NO, PL, PT: no trunk prefix
    ("20 12 34 56", "DK"),
    ("+45 20 12 34 56", "DK"),
    ("412 34 567", "NO"),
    ("512 345 678", "PL"),
    ("0048 512 345 678", "PL"),
    ("912 345 678", "PT"),
    # NZ, JP (IDD 010)
    ("021 123 4567", "NZ"),
    ("09-123 4567", "NZ"),
    ("090-1234-5678", "JP"),
    ("03-1234-5678", "JP"),
    ("010 44 20 7946 0958", "JP"),
    # no country for the row (a guest order, a consent): only international forms can be read
    ("+44 7911 123456", None),
    ("0044 7911 123456", None),
    ("07911 123456", None),
    # unreadable
    ("12345", "DE"),
    ("unknown", "GB"),
    ("+44", "GB"),
    ("", "GB"),
]

# Where Segue's documented rule answers otherwise than phonenumbers, and why.
DELIBERATE: dict[tuple[str, str | None], tuple[str | None, str]] = {
    ("0044 7911 123456", None): (
        "+447911123456",
        "00 is read as the international prefix even without a country (phonenumbers needs a region)",
    ),
    ("12345", "DE"): (
        None,
        "seed country_calling_codes keeps German national numbers to 6-11 digits, so that a number "
        "written with its calling code but no + is not taken for a national one",
    ),
}


def libphonenumber_e164(raw: str, country: str | None) -> tuple[str | None, bool]:
    """(E.164, possible) per phonenumbers; (None, False) when it cannot parse."""
    try:
        parsed = phonenumbers.parse(raw, country)
    except phonenumbers.NumberParseException:
        return None, False
    return (
        phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164),
        phonenumbers.is_possible_number(parsed),
    )


def _sql_literal(value: str | None) -> str:
    return "null" if value is None else "'" + value.replace("'", "''") + "'"


@pytest.fixture(scope="module")
def normalized(messy_build) -> dict[tuple[str, str | None], str | None]:
    values = ",\n".join(
        f"({index}, {_sql_literal(raw)}, {_sql_literal(country)})" for index, (raw, country) in enumerate(VECTORS)
    )
    sql = f"""
        with vectors as (
            select * from (values {values}) as v (vector_index, raw_phone, country)
        )
        select
            vectors.vector_index,
            {{{{ segue.normalize_phone('vectors.raw_phone', 'codes') }}}} as e164
        from vectors
        left join {{{{ ref('country_calling_codes') }}}} as codes
            on vectors.country = codes.country
    """
    rows = messy_build.dbt.show(sql)
    assert len(rows) == len(VECTORS)
    return {VECTORS[row["vector_index"]]: row["e164"] for row in rows}


def test_there_are_enough_vectors():
    assert len(VECTORS) >= 30
    assert len({country for _, country in VECTORS if country}) >= 20


@pytest.mark.parametrize(("raw", "country"), VECTORS, ids=[f"{c}:{r}" for r, c in VECTORS])
def test_macro_agrees_with_libphonenumber(normalized, raw, country):
    ours = normalized[(raw, country)]
    theirs, possible = libphonenumber_e164(raw, country)
    if (raw, country) in DELIBERATE:
        expected, _reason = DELIBERATE[(raw, country)]
        assert ours == expected
    elif possible:
        assert ours == theirs
    else:
        # phonenumbers cannot read it: neither may staging (null, is_phone_invalid).
        assert ours is None


def test_every_result_is_e164(normalized):
    for vector, e164 in normalized.items():
        if e164 is not None:
            assert e164.startswith("+") and e164[1:].isdigit() and 8 <= len(e164) - 1 <= 15, vector
