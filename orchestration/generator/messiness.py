"""How one true value is written differently on every row: the mess staging must clean.

The generator keeps one true email and one true phone per person (in the temp
`persons` table). Each raw row that shows them draws a *style* in numpy, and
SQL macros render true value + style into the string a form, a till or a
loader would have stored: mixed case, stray spaces, national or international
phone formats, or a placeholder typed by someone who did not want to give one.
Keeping the style as a number until the SQL step keeps numpy free of strings.
"""

from __future__ import annotations

import duckdb
import numpy as np

from orchestration.generator.geography import (
    COUNTRIES,
    EMAIL_PLACEHOLDERS,
    PHONE_MASKS,
    PHONE_PLACEHOLDERS,
    e164_mask_ids,
)
from orchestration.generator.sampling import BlockSampler

NEVER = np.iinfo(np.int64).min  # "changed at" of an email that never changed: every row is after it

# --- emails -------------------------------------------------------------------------------------
# 0 as typed, 1 "John.Smith@gmail.com", 2 "John.Smith@Gmail.com", 3 upper, 4 leading space,
# 5 trailing space, 6 capitalised + trailing space, 7 shouted local part, 8 spaces both sides.
EMAIL_STYLE_WEIGHTS = np.array([58, 14, 4, 3, 4, 8, 4, 2, 3], dtype=np.float64)
EMAIL_PLACEHOLDER_WEIGHTS = np.array([30, 25, 25, 20], dtype=np.float64)  # by EMAIL_PLACEHOLDERS
EMAIL_CURRENT, EMAIL_OLD, EMAIL_PLACEHOLDER0 = 0, 1, 2


def email_styles(rng: np.random.Generator, n: int) -> np.ndarray:
    """How each of n rows writes its address (see EMAIL_STYLE_WEIGHTS)."""
    return rng.choice(len(EMAIL_STYLE_WEIGHTS), size=n, p=EMAIL_STYLE_WEIGHTS / EMAIL_STYLE_WEIGHTS.sum()).astype(
        np.int8
    )


def email_kinds(
    rng: np.random.Generator, at_us: np.ndarray, changed_us: np.ndarray, placeholder_rate: float | np.ndarray
) -> np.ndarray:
    """Which address a row carries: the one current at the row's time, the old one, or a placeholder.

    `placeholder_rate` (a number or one per row) is the chance someone typed a
    placeholder instead of their address.
    """
    n = len(at_us)
    kind = np.where(np.asarray(at_us) < np.asarray(changed_us), EMAIL_OLD, EMAIL_CURRENT).astype(np.int8)
    ph = rng.random(n) < placeholder_rate
    if ph.any():
        p = EMAIL_PLACEHOLDER_WEIGHTS / EMAIL_PLACEHOLDER_WEIGHTS.sum()
        kind[ph] = EMAIL_PLACEHOLDER0 + rng.choice(len(EMAIL_PLACEHOLDERS), size=int(ph.sum()), p=p)
    return kind


def email_truth_sql(kind: str, persons: str = "p") -> str:
    """SQL for the true (normalized) address behind a row: `kind` is a column of the row."""
    whens = " ".join(f"when {EMAIL_PLACEHOLDER0 + i} then '{value}'" for i, value in enumerate(EMAIL_PLACEHOLDERS))
    return (
        f"case {kind} when {EMAIL_CURRENT} then {persons}.email when {EMAIL_OLD} then {persons}.old_email {whens} end"
    )


def email_sql(kind: str, style: str, persons: str = "p") -> str:
    """SQL for the address as the row shows it: the true one rendered in the row's `style`."""
    return f"render_email({email_truth_sql(kind, persons)}, {style})"


# --- phones -------------------------------------------------------------------------------------
PHONE_PLACEHOLDER0 = len(PHONE_MASKS)  # style ids after the masks are the placeholders
PHONE_PLACEHOLDER_WEIGHTS = np.array([45, 25, 30], dtype=np.float64)
E164_MASKS = e164_mask_ids()  # per country: '+<code>*'


class PhoneStyles:
    """Draws a mask (or a placeholder) per row, by the country of the number."""

    def __init__(self) -> None:
        self.mask_ids: list[np.ndarray] = []
        self.intl_ids: list[np.ndarray] = []
        all_weights, intl_weights = [], []
        for country in COUNTRIES:
            ids = [k for k, m in enumerate(PHONE_MASKS) if m.country == country]
            intl = [k for k in ids if not PHONE_MASKS[k].national]
            self.mask_ids.append(np.array(ids))
            self.intl_ids.append(np.array(intl))
            all_weights.append(np.array([PHONE_MASKS[k].weight for k in ids]))
            intl_weights.append(np.array([PHONE_MASKS[k].weight for k in intl]))
        self._all = BlockSampler(all_weights)
        self._intl = BlockSampler(intl_weights)
        self._all_ids = np.concatenate(self.mask_ids)
        self._intl_ids = np.concatenate(self.intl_ids)

    def sample(
        self,
        rng: np.random.Generator,
        country: np.ndarray,
        international_only: bool = False,
        placeholder_rate: float = 0.0,
    ) -> np.ndarray:
        """Mask ids for numbers of the given countries.

        `international_only` where the row has no country context (guest orders,
        anonymous identifies, consents): a national number could not be read there.
        """
        sampler, ids = (self._intl, self._intl_ids) if international_only else (self._all, self._all_ids)
        style = ids[sampler.sample(rng, country)].astype(np.int16)
        if placeholder_rate > 0:
            ph = rng.random(len(style)) < placeholder_rate
            p = PHONE_PLACEHOLDER_WEIGHTS / PHONE_PLACEHOLDER_WEIGHTS.sum()
            style[ph] = PHONE_PLACEHOLDER0 + rng.choice(len(PHONE_PLACEHOLDERS), size=int(ph.sum()), p=p)
        return style


def e164_styles(rng: np.random.Generator, styles: PhoneStyles, country: np.ndarray, e164_share: float) -> np.ndarray:
    """Mask ids for rows without country context: plain E.164 mostly, else another '+' format."""
    style = styles.sample(rng, country, international_only=True)
    plain = rng.random(len(country)) < e164_share
    style[plain] = E164_MASKS[country[plain]]
    return style


def mask_sql(mask: str, nsn: str) -> str:
    """A PhoneMask as a SQL expression over the NSN string column `nsn`."""
    parts: list[str] = []
    literal, position, i = "", 1, 0

    def flush() -> None:
        nonlocal literal
        if literal:
            parts.append("'" + literal.replace("'", "''") + "'")
            literal = ""

    while i < len(mask):
        if mask[i] == "#":
            j = i
            while j < len(mask) and mask[j] == "#":
                j += 1
            flush()
            parts.append(f"substr({nsn}, {position}, {j - i})")
            position += j - i
            i = j
        elif mask[i] == "*":
            flush()
            parts.append(f"substr({nsn}, {position})")
            i += 1
        else:
            literal += mask[i]
            i += 1
    flush()
    return " || ".join(parts)


# --- free text ----------------------------------------------------------------------------------
# 0 as is, 1 upper, 2 lower, 3 trailing space, 4 leading space, 5 capitalised.
TEXT_STYLE_WEIGHTS = np.array([92, 2.5, 2.5, 1.5, 0.5, 1.0])


def text_styles(rng: np.random.Generator, n: int, messy_share: float = 0.08) -> np.ndarray:
    w = TEXT_STYLE_WEIGHTS.copy()
    w[0] = 0
    w = w / w.sum() * messy_share
    w[0] = 1 - messy_share
    return rng.choice(len(w), size=n, p=w).astype(np.int8)


def install_macros(con: duckdb.DuckDBPyConnection) -> None:
    """Create the rendering macros on this connection (temporary: they vanish with it)."""
    cap = "lambda x: upper(x[1]) || x[2:]"
    con.execute(
        f"""
        create or replace temp macro cap_local(e) as
            case when contains(e, '@')
                then array_to_string(list_transform(string_split(split_part(e, '@', 1), '.'), {cap}), '.')
                     || '@' || split_part(e, '@', 2)
                else upper(e[1]) || e[2:] end
        """
    )
    con.execute(
        f"""
        create or replace temp macro cap_all(e) as
            case when contains(e, '@')
                then array_to_string(list_transform(string_split(split_part(e, '@', 1), '.'), {cap}), '.')
                     || '@' || upper(split_part(e, '@', 2)[1]) || split_part(e, '@', 2)[2:]
                else upper(e) end
        """
    )
    con.execute(
        """
        create or replace temp macro render_email(e, s) as
            case s
                when 0 then e
                when 1 then cap_local(e)
                when 2 then cap_all(e)
                when 3 then upper(e)
                when 4 then ' ' || e
                when 5 then e || ' '
                when 6 then cap_local(e) || ' '
                when 7 then upper(split_part(e, '@', 1)) || case when contains(e, '@')
                    then '@' || split_part(e, '@', 2) else '' end
                when 8 then '  ' || e || ' '
            end
        """
    )
    whens = [f"when {k} then {mask_sql(m.mask, 'nsn')}" for k, m in enumerate(PHONE_MASKS)]
    whens += [f"when {PHONE_PLACEHOLDER0 + j} then '{v}'" for j, v in enumerate(PHONE_PLACEHOLDERS)]
    con.execute(f"create or replace temp macro render_phone(nsn, s) as case s {' '.join(whens)} end")
    con.execute(
        """
        create or replace temp macro render_text(x, s) as
            case s
                when 0 then x
                when 1 then upper(x)
                when 2 then lower(x)
                when 3 then x || ' '
                when 4 then ' ' || x
                when 5 then upper(x[1]) || lower(x[2:])
            end
        """
    )
