"""Where the sample retailer's people live and shop: countries, stores, money, mail and phone plans.

Everything here is a fixed table, not randomness: the weights say how often a
country, a domain or a way of writing a phone number turns up, and the samplers
elsewhere draw from them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# The person's country. NL and ES have no stores: those people only shop online.
COUNTRIES = ("GB", "US", "DE", "FR", "IE", "AU", "NL", "ES")
COUNTRY_SHARES = np.array([0.50, 0.15, 0.10, 0.08, 0.05, 0.07, 0.03, 0.02])
COUNTRY_INDEX = {c: i for i, c in enumerate(COUNTRIES)}

CURRENCIES = ("GBP", "USD", "EUR", "AUD")
COUNTRY_CURRENCY = np.array([0, 1, 2, 2, 2, 3, 2, 2], dtype=np.int8)  # by COUNTRIES
# Price lists are set in GBP and converted at a fixed rate, then rounded to .99/.49.
FX_FROM_GBP = np.array([1.0, 1.27, 1.17, 1.93])

# Faker has no en_AU person provider; en_NZ's weighted lists are the closest match.
NAME_LOCALES = ("en_GB", "en_US", "de_DE", "fr_FR", "en_IE", "en_NZ", "nl_NL", "es_ES")

EMAIL_DOMAINS: dict[str, dict[str, float]] = {
    "GB": {
        "gmail.com": 35, "hotmail.co.uk": 15, "outlook.com": 10, "yahoo.co.uk": 9,
        "icloud.com": 10, "btinternet.com": 8, "sky.com": 6, "live.co.uk": 7,
    },
    "US": {
        "gmail.com": 45, "yahoo.com": 15, "hotmail.com": 9, "outlook.com": 10,
        "icloud.com": 13, "aol.com": 5, "comcast.net": 3,
    },
    "DE": {"gmail.com": 25, "gmx.de": 25, "web.de": 25, "t-online.de": 15, "outlook.de": 10},
    "FR": {"gmail.com": 35, "orange.fr": 20, "free.fr": 15, "hotmail.fr": 15, "laposte.net": 10, "sfr.fr": 5},
    "IE": {"gmail.com": 45, "hotmail.com": 15, "eircom.net": 15, "yahoo.ie": 10, "icloud.com": 15},
    "AU": {"gmail.com": 40, "bigpond.com": 20, "outlook.com": 15, "icloud.com": 15, "optusnet.com.au": 10},
    "NL": {"gmail.com": 40, "ziggo.nl": 20, "hotmail.nl": 15, "kpnmail.nl": 15, "outlook.com": 10},
    "ES": {"gmail.com": 45, "hotmail.es": 25, "yahoo.es": 15, "telefonica.net": 15},
}  # fmt: skip
# An address given up years ago: older providers, the same for every country.
OLD_EMAIL_DOMAINS = {"hotmail.com": 30, "yahoo.com": 25, "aol.com": 15, "live.com": 15, "mail.com": 15}

EMAIL_PLACEHOLDERS = ("test@test.com", "none@none.com", "noemail@example.com", "unknown")
PHONE_PLACEHOLDERS = ("0000000000", "1111111111", "unknown")


@dataclass(frozen=True)
class Store:
    store_id: str
    name: str
    city: str
    country: str
    timezone: str
    weight: float  # share of its country's shoppers who call it home
    has_kiosk: bool  # flagship stores have an in-store browsing kiosk


STORES: tuple[Store, ...] = (
    Store("S001", "Oxford Street", "London", "GB", "Europe/London", 5, True),
    Store("S002", "Covent Garden", "London", "GB", "Europe/London", 3, False),
    Store("S003", "Market Street", "Manchester", "GB", "Europe/London", 3, True),
    Store("S004", "Bullring", "Birmingham", "GB", "Europe/London", 2, False),
    Store("S005", "Briggate", "Leeds", "GB", "Europe/London", 2, False),
    Store("S006", "Buchanan Street", "Glasgow", "GB", "Europe/London", 2, False),
    Store("S007", "Princes Street", "Edinburgh", "GB", "Europe/London", 2, False),
    Store("S008", "Cabot Circus", "Bristol", "GB", "Europe/London", 2, False),
    Store("S009", "Liverpool ONE", "Liverpool", "GB", "Europe/London", 2, False),
    Store("S010", "St David's", "Cardiff", "GB", "Europe/London", 1, False),
    Store("S011", "Victoria Square", "Belfast", "GB", "Europe/London", 1, False),
    Store("S012", "Grafton Street", "Dublin", "IE", "Europe/Dublin", 3, True),
    Store("S013", "Opera Lane", "Cork", "IE", "Europe/Dublin", 1, False),
    Store("S014", "SoHo", "New York", "US", "America/New_York", 3, True),
    Store("S015", "Herald Square", "New York", "US", "America/New_York", 2, False),
    Store("S016", "Michigan Avenue", "Chicago", "US", "America/Chicago", 2, False),
    Store("S017", "The Grove", "Los Angeles", "US", "America/Los_Angeles", 2, False),
    Store("S018", "Kurfürstendamm", "Berlin", "DE", "Europe/Berlin", 3, True),
    Store("S019", "Kaufingerstraße", "Munich", "DE", "Europe/Berlin", 2, False),
    Store("S020", "Mönckebergstraße", "Hamburg", "DE", "Europe/Berlin", 2, False),
    Store("S021", "Le Marais", "Paris", "FR", "Europe/Paris", 3, True),
    Store("S022", "Presqu'île", "Lyon", "FR", "Europe/Paris", 1, False),
    Store("S023", "Pitt Street Mall", "Sydney", "AU", "Australia/Sydney", 3, True),
    Store("S024", "Bourke Street", "Melbourne", "AU", "Australia/Melbourne", 2, False),
    Store("S025", "Queen Street Mall", "Brisbane", "AU", "Australia/Brisbane", 1, False),
)
STORE_COUNTRY = np.array([COUNTRY_INDEX[s.country] for s in STORES], dtype=np.int8)
HAS_STORES = np.array([bool((i == STORE_COUNTRY).any()) for i in range(len(COUNTRIES))])


# --- phones -------------------------------------------------------------------------------------
# Mobile numbering plans as (calling code, national significant number length, leading digits).
# The leading digits were chosen so every number drawn is a valid mobile for phonenumbers
# (the tests check every true phone); GB skips 07700 900 (reserved for drama) and ranges
# phonenumbers treats as unassigned. US numbers are an area code, an exchange 200-999 but
# not 555, and four digits.
CALLING_CODES = ("44", "1", "49", "33", "353", "61", "31", "34")
NSN_LENGTH = (10, 10, 11, 9, 9, 9, 9, 9)
# fmt: off
_GB = (
    "740", "741", "742", "743", "744", "746", "747", "748", "749", "751", "753", "754", "755", "756",
    "757", "758", "759", "771", "772", "773", "774", "775", "776", "777", "780", "781", "784", "785",
    "786", "787", "788", "789", "790", "792", "794", "795", "796", "797", "798", "799",
)
# fmt: on
US_AREA_CODES = (
    "212",
    "646",
    "718",
    "917",
    "347",
    "312",
    "773",
    "415",
    "213",
    "310",
    "206",
    "617",
    "305",
    "404",
    "512",
    "702",
    "602",
    "303",
    "214",
    "713",
)  # fmt: skip
MOBILE_PREFIXES: tuple[tuple[str, ...], ...] = (
    _GB,
    US_AREA_CODES,
    ("151", "152", "157", "159", "160", "162", "163", "170", "171", "172", "173", "174", "175", "176",
     "177", "178", "179"),
    ("60", "61", "62", "64", "65", "66", "67", "68", "73", "74", "75", "76", "77", "78", "79"),
    ("83", "85", "86", "87", "89"),
    ("40", "41", "42", "43", "46"),
    ("61", "62", "63", "64", "65"),
    ("6", "71", "72", "73", "74"),
)  # fmt: skip


@dataclass(frozen=True)
class PhoneMask:
    """One way people write a number: '#' is the next digit of the NSN, '*' all the rest.

    `national` masks carry no country code, so they can only be read in the
    country of the row's context (CONTRACT §2); they are used only where the
    row has one.
    """

    country: str
    mask: str
    weight: float
    national: bool


_M = PhoneMask
PHONE_MASKS: tuple[PhoneMask, ...] = (
    _M("GB", "0#### ######", 30, True), _M("GB", "0*", 20, True), _M("GB", "0####-###-###", 3, True),
    _M("GB", "(0####) ######", 2, True), _M("GB", "44*", 2, True), _M("GB", "0#### ###### ", 2, True),
    _M("GB", "+44 #### ######", 15, False), _M("GB", "+44 (0)#### ######", 6, False),
    _M("GB", "0044 #### ######", 4, True), _M("GB", "+44*", 15, False),
    _M("US", "(###) ###-####", 30, True), _M("US", "###-###-####", 25, True), _M("US", "###.###.####", 5, True),
    _M("US", "*", 15, True), _M("US", "1 (###) ###-####", 3, True), _M("US", "1-###-###-####", 2, True),
    _M("US", "+1 ###-###-####", 10, False), _M("US", "+1 (###) ###-####", 3, False), _M("US", "+1*", 10, False),
    _M("DE", "0### ########", 35, True), _M("DE", "0###-*", 10, True), _M("DE", "0###/*", 10, True),
    _M("DE", "0*", 15, True), _M("DE", "+49 ### *", 15, False), _M("DE", "+49*", 10, False),
    _M("DE", "0049 ### *", 5, True),
    _M("FR", "0# ## ## ## ##", 40, True), _M("FR", "0#.##.##.##.##", 10, True), _M("FR", "0*", 20, True),
    _M("FR", "+33 # ## ## ## ##", 15, False), _M("FR", "+33*", 10, False),
    _M("FR", "0033 # ## ## ## ##", 5, True),
    _M("IE", "0## ### ####", 40, True), _M("IE", "0*", 25, True), _M("IE", "0##-#######", 5, True),
    _M("IE", "+353 ## ### ####", 15, False), _M("IE", "+353*", 10, False),
    _M("IE", "00353 ## ### ####", 5, True),
    _M("AU", "0### ### ###", 45, True), _M("AU", "0*", 25, True), _M("AU", "+61 ### ### ###", 15, False),
    _M("AU", "+61*", 15, False),
    _M("NL", "0# ########", 35, True), _M("NL", "0#-########", 15, True), _M("NL", "0*", 20, True),
    _M("NL", "+31 # ########", 15, False), _M("NL", "+31*", 10, False), _M("NL", "0031 # ########", 5, True),
    _M("ES", "### ## ## ##", 35, True), _M("ES", "### ### ###", 15, True), _M("ES", "*", 20, True),
    _M("ES", "+34 ### ## ## ##", 15, False), _M("ES", "+34*", 10, False), _M("ES", "0034 *", 5, True),
)  # fmt: skip


def e164_mask_ids() -> np.ndarray:
    """Per country, the id of its '+<code>*' mask: plain E.164, as ESPs and SMS tools store numbers."""
    out = np.zeros(len(COUNTRIES), dtype=np.int16)
    for i, country in enumerate(COUNTRIES):
        out[i] = next(k for k, m in enumerate(PHONE_MASKS) if m.country == country and m.mask.endswith("*")
                      and m.mask.startswith("+") and " " not in m.mask)  # fmt: skip
    return out
