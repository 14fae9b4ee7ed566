"""`segue import online-retail PATH`: the UCI Online Retail logs as Segue's raw contract.

The UCI "Online Retail" (2010-12-01 .. 2011-12-09) and "Online Retail II"
(2009-12-01 .. 2011-12-09, one sheet per year) data sets are the invoice
lines of a UK online gift retailer (CC BY 4.0, D. Chen, London South Bank
University). Each row is one invoice line:
InvoiceNo/Invoice, StockCode, Description, Quantity, InvoiceDate,
UnitPrice/Price, CustomerID/"Customer ID", Country.

Everything is done by DuckDB SQL over `read_parquet` (no Python loop over
rows), in one transaction: the `raw` schema is dropped and recreated with
exactly the contract's tables and types (orchestration/raw_contract.py), so a
failure leaves no half-imported retailer. The mapping, column by column, with the decisions behind it, is the table
in orchestration/importers/README.md (and README.md, "Segue on a real
retailer"). In short:

- one order per invoice number. Digits only: a sale (`completed`). `C` +
  digits: a cancellation (credit note), `cancelled`, holding what was
  cancelled as positive quantities and amount. Anything else (`A563185`,
  "Adjust bad debt") and a sale invoice whose every line has a negative
  quantity (stock write-offs: "damaged", "lost", "check"): status
  `adjustment`, which staging quarantines as `unknown status` (and its lines
  as `negative quantity` or `orphan line`): kept with the reason, never
  counted.
- order_lines: line_number is the line's place in its file; product_id the
  trimmed, upper-cased StockCode; quantity and unit_price as in the source
  (zero prices kept; a negative quantity outside a cancellation is
  quarantined by staging as `negative quantity`).
- orders.total_amount = sum(Quantity * UnitPrice) of the invoice;
  ordered_at its first line's InvoiceDate, read as UK local time and
  converted to UTC; currency GBP; source web.
- customers: one per CustomerID (without its `.0`), country (ISO alpha-2 by
  COUNTRY_CODES) the one on most of their lines, created_at/updated_at their
  first/last invoice. Lines without a CustomerID are guest orders.
- products: one per stock code: the name used on most sale lines, the most
  common positive price, a category from CATEGORY_RULES (keywords of the
  name; none for service codes and unmatched names).

Identity: the data has no email, phone, name or loyalty card. The customer
id is the only identifier: each CustomerID is one customer, and a guest
order (no CustomerID) belongs to nobody. Nothing else is invented: stores,
POS, loyalty, identifies, events, inventory, consents and message events
are created empty. Without consents no email or sms is ever sent (every such
journey step is `suppressed`), and without inventory cross-sell finds no
in-stock product to recommend.

Two files that overlap (Online Retail II's 2009-2010 sheet ends 2010-12-09,
Online Retail starts 2010-12-01; the 1,088 invoices of those nine days are
identical in both) are imported once: an invoice number present in several
files is taken from the file whose data ends latest.

`sample_customers` keeps a deterministic subset (for tests and quick looks):
the N customers with the smallest md5 of their id, all their invoices, and no
guest invoices.
"""

from __future__ import annotations

import contextlib
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from orchestration.raw_contract import RAW_SCHEMA, RAW_TABLES

CURRENCY = "GBP"
ORDER_SOURCE = "web"
DEFAULT_SOURCE_TIMEZONE = "Europe/London"

# Source column names per role; the first present in a file is used.
COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "invoice": ("InvoiceNo", "Invoice"),
    "stock_code": ("StockCode",),
    "description": ("Description",),
    "quantity": ("Quantity",),
    "invoice_date": ("InvoiceDate",),
    "unit_price": ("UnitPrice", "Price"),
    "customer": ("CustomerID", "Customer ID"),
    "country": ("Country",),
}

# The data's country names -> ISO 3166-1 alpha-2. A name missing here (or
# mapped to None: no single country) leaves the country null.
COUNTRY_CODES: dict[str, str | None] = {
    "Australia": "AU",
    "Austria": "AT",
    "Bahrain": "BH",
    "Belgium": "BE",
    "Bermuda": "BM",
    "Brazil": "BR",
    "Canada": "CA",
    "Channel Islands": None,  # Jersey (JE) and Guernsey (GG): not one country
    "Cyprus": "CY",
    "Czech Republic": "CZ",
    "Denmark": "DK",
    "EIRE": "IE",
    "European Community": None,
    "Finland": "FI",
    "France": "FR",
    "Germany": "DE",
    "Greece": "GR",
    "Hong Kong": "HK",
    "Iceland": "IS",
    "Israel": "IL",
    "Italy": "IT",
    "Japan": "JP",
    "Korea": "KR",
    "Lebanon": "LB",
    "Lithuania": "LT",
    "Malta": "MT",
    "Netherlands": "NL",
    "Nigeria": "NG",
    "Norway": "NO",
    "Poland": "PL",
    "Portugal": "PT",
    "RSA": "ZA",
    "Saudi Arabia": "SA",
    "Singapore": "SG",
    "Spain": "ES",
    "Sweden": "SE",
    "Switzerland": "CH",
    "Thailand": "TH",
    "USA": "US",
    "United Arab Emirates": "AE",
    "United Kingdom": "GB",
    "Unspecified": None,
    "West Indies": None,  # several countries
}

# Stock codes that are charges or bookkeeping, not goods: never categorized.
SERVICE_CODE_PATTERN = r"^(POST|DOT|C2|M|D|S|B|CRUK|PADS|BANK CHARGES|AMAZONFEE|ADJUST[0-9]*|TEST[0-9]*|GIFT_.*)$"

# (category, pattern over the upper-cased product name). The first matching
# rule wins; a name no rule matches has no category. The data has no
# category of its own: these are an explicit, reviewable reading of the
# product names (the import prints how many products and lines they cover).
CATEGORY_RULES: list[tuple[str, str]] = [
    ("christmas", r"\b(CHRISTMAS|XMAS|ADVENT|SANTA|REINDEER|NATIVITY|SNOWMAN)\b"),
    ("party and gift wrap", r"\b(PARTY|BUNTING|BIRTHDAY|WRAP|BALLOONS?|CONFETTI|GIFT TAGS?|RIBBONS?|DOILIES)\b"),
    ("candles and lighting", r"\b(CANDLES?|T-LIGHTS?|TEA ?LIGHTS?|LANTERNS?|LIGHTS?|LAMP|NIGHTLIGHT|LED)\b"),
    ("bags", r"\b(BAGS?|TOTE|SHOPPER|PURSE|RUCKSACK|BACKPACK)\b"),
    (
        "kitchen and dining",
        r"\b(MUGS?|CUPS?|SAUCERS?|PLATES?|BOWLS?|TEAPOT|TEA|COFFEE|CAKE|CAKESTAND|BAKING|SPOONS?|CUTLERY|"
        r"JUG|TUMBLERS?|BEAKERS?|LUNCH|APRON|OVEN|KITCHEN|EGG|TRAY|NAPKINS?|TEA TOWELS?|CHOPPING|COASTERS?|"
        r"PLACEMATS?|BOTTLE|STRAWS|COOKIE CUTTERS?|MOULDS?|JAM|DISH|BREAD|PANTRY|RECIPE|LARDER)\b",
    ),
    (
        "stationery",
        r"\b(CARDS?|NOTEBOOK|NOTEPAD|PENS?|PENCILS?|STICKERS?|ENVELOPES?|PAPER|TAPE|CALENDAR|DIARY|ERASER|"
        r"RULER|CHALK|JOURNAL|STAMPS?|STATIONERY|ERASERS?|MEMO|TISSUES)\b",
    ),
    (
        "toys and games",
        r"\b(TOYS?|GAMES?|PUZZLES?|JIGSAW|DOLLY|DOLLS?|SKIPPING|PLAYHOUSE|SPACEBOY|DOMINOES|TEDDY|CRAYONS|"
        r"COLOURING|MARBLES|SOLDIERS?|BUILDING BLOCK|FELTCRAFT|SPINNING TOPS?|BINGO|LADDERS|KNITTING|"
        r"MODELLING|PAINT SET|GLIDERS?|SEWING KIT)\b",
    ),
    ("storage", r"\b(BOX|BOXES|TINS?|BASKETS?|STORAGE|JARS?|DRAWERS?|CRATE|HAMPER|TRUNK)\b"),
    ("garden and outdoor", r"\b(GARDEN|PLANTS?|PLANTER|WATERING|BIRD|BIRDHOUSE|POTS?|PARASOL|PICNIC)\b"),
    (
        "jewellery and accessories",
        r"\b(NECKLACE|EARRINGS?|BRACELET|RING|HAIR|CLIPS?|BROOCH|UMBRELLA|SCARF|GLOVES|HAT|CHARM|WALLET|"
        r"KEYRING|KEY RING|KEY FOB|HANDBAG|HAND WARMER|FAN)\b",
    ),
    (
        "home decor",
        r"\b(FRAMES?|SIGNS?|CLOCK|CUSHION|MIRROR|DOORMAT|HOOKS?|HANGERS?|VASE|ORNAMENTS?|DECORATIONS?|"
        r"WREATH|GARLAND|HEARTS?|BLANKET|THROW|DOORSTOP|PLAQUE|CHALKBOARD|WALL|HOLDER|CURTAIN|DOORKNOB)\b",
    ),
]


class OnlineRetailError(ValueError):
    """The source cannot be imported (missing file, unknown columns...); the message says which."""


@dataclass
class ImportSummary:
    files: list[str]
    source_lines: int  # lines read from all files
    overlapping_invoices: int  # invoice numbers present in more than one file
    overlapping_lines: int  # lines of those invoices taken from the older file: imported once, not twice
    lines: int  # lines imported (source_lines - overlapping_lines, or the sample's lines)
    orders_by_status: dict[str, int]
    guest_orders: int
    customers: int
    products: int
    categorized_products: int
    categorized_lines: int
    lines_by_outcome: dict[str, int]  # what staging will do with each order line
    revenue_completed: float  # sum of completed orders' total_amount
    revenue_cancelled: float  # sum of cancelled orders' total_amount (positive: what was cancelled)
    revenue_adjustments: float  # sum of adjustment orders' total_amount
    countries_without_code: dict[str, int]  # source name -> lines
    first_order_at: object
    last_order_at: object
    sample_customers: int | None = None
    elapsed_s: float = 0.0
    raw_counts: dict[str, int] = field(default_factory=dict)


def find_files(path: str | Path) -> list[Path]:
    """PATH is one parquet file or a folder of them."""
    root = Path(path)
    if root.is_file():
        return [root]
    if root.is_dir():
        files = sorted(p for p in root.iterdir() if p.suffix.lower() == ".parquet" and p.is_file())
        if not files:
            raise OnlineRetailError(f"{root} holds no .parquet file")
        return files
    raise OnlineRetailError(f"{root} does not exist")


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _source_select(con: duckdb.DuckDBPyConnection, index: int, file: Path) -> str:
    """One file's lines with uniform column names (the two releases name three columns differently)."""
    location = _literal(str(file))
    try:
        columns = {row[0] for row in con.execute(f"describe select * from read_parquet({location})").fetchall()}
    except duckdb.Error as exc:
        raise OnlineRetailError(f"{file}: not a readable parquet file ({exc})") from exc
    picked: dict[str, str] = {}
    for role, aliases in COLUMN_ALIASES.items():
        found = next((a for a in aliases if a in columns), None)
        if found is None:
            raise OnlineRetailError(
                f"{file}: no column {' or '.join(aliases)} (has {', '.join(sorted(columns))}); "
                "expected the UCI Online Retail or Online Retail II layout"
            )
        picked[role] = _quote(found)
    return f"""
        select
            {index} as file_index,
            {_literal(file.name)} as file_name,
            file_row_number as file_row,
            nullif(trim(cast({picked["invoice"]} as varchar)), '') as invoice,
            nullif(upper(trim(cast({picked["stock_code"]} as varchar))), '') as product_id,
            nullif(trim(cast({picked["description"]} as varchar)), '') as description,
            try_cast({picked["quantity"]} as bigint) as quantity,
            try_cast({picked["invoice_date"]} as timestamp) as local_at,
            try_cast({picked["unit_price"]} as double) as unit_price,
            cast(cast(try_cast({picked["customer"]} as double) as bigint) as varchar) as customer_id,
            nullif(trim(cast({picked["country"]} as varchar)), '') as country_name
        from read_parquet({location}, file_row_number = true)
    """


def _values(rows: list[tuple[object, ...]]) -> str:
    def lit(value: object) -> str:
        if value is None:
            return "null"
        if isinstance(value, int):
            return str(value)
        return _literal(str(value))

    return ", ".join("(" + ", ".join(lit(v) for v in row) + ")" for row in rows)


def _build(
    con: duckdb.DuckDBPyConnection, files: list[Path], source_timezone: str, sample: int | None
) -> tuple[int, int]:
    """Fill the raw tables; return (invoices found in several files, their lines read twice)."""
    union = "\nunion all\n".join(_source_select(con, i, f) for i, f in enumerate(files))
    con.execute(f"create temp table source_lines as {union}")
    con.execute(
        "create temp table country_codes (country_name varchar, country varchar); "
        f"insert into country_codes values {_values(list(COUNTRY_CODES.items()))}"
    )
    con.execute(
        "create temp table category_rules (rule_order integer, category varchar, pattern varchar); "
        "insert into category_rules values " + _values([(i, c, p) for i, (c, p) in enumerate(CATEGORY_RULES)])
    )
    # An invoice number found in several files comes from the file whose data ends latest (the newer release).
    con.execute(
        """
        create temp table lines as
        with
        file_rank as (
            select file_index, row_number() over (order by max(local_at) desc nulls last, min(file_name)) as file_rank
            from source_lines group by file_index
        ),
        owner as (
            select invoice, arg_min(file_index, file_rank) as file_index, count(distinct file_index) as files
            from source_lines join file_rank using (file_index)
            group by invoice
        )
        select source_lines.*, owner.files > 1 as is_overlap
        from source_lines
        join owner
            on source_lines.invoice is not distinct from owner.invoice
            and source_lines.file_index = owner.file_index
        """
    )
    overlap_invoices, kept_lines = con.execute(
        "select count(distinct invoice) filter (where is_overlap), count(*) from lines"
    ).fetchone()
    overlap = (overlap_invoices, con.execute("select count(*) from source_lines").fetchone()[0] - kept_lines)
    if sample is not None:
        con.execute(
            """
            delete from lines where customer_id is null or customer_id not in (
                select customer_id from (select distinct customer_id from lines where customer_id is not null)
                order by md5(customer_id), customer_id limit ?
            )
            """,
            [sample],
        )
    con.execute(
        f"""
        create temp table invoices as
        select
            invoice,
            case
                when regexp_matches(upper(invoice), '^C[0-9]+$') then 'cancelled'
                when not regexp_matches(invoice, '^[0-9]+$') then 'adjustment'
                when bool_and(quantity < 0) then 'adjustment'
                else 'completed'
            end as status,
            min(customer_id) as customer_id,
            count(distinct customer_id) as customer_ids,
            sum(quantity * unit_price) as signed_amount,
            timezone('UTC', timezone({_literal(source_timezone)}, min(local_at))) as ordered_at
        from lines
        group by invoice
        """
    )
    con.execute(
        f"""
        insert into {RAW_SCHEMA}.orders by name
        select
            invoice as order_id,
            customer_id,
            status,
            case when status = 'cancelled' then -signed_amount else signed_amount end as total_amount,
            {_literal(CURRENCY)} as currency,
            {_literal(ORDER_SOURCE)} as source,
            ordered_at
        from invoices
        """
    )
    con.execute(
        f"""
        insert into {RAW_SCHEMA}.order_lines by name
        select
            lines.invoice as order_id,
            row_number() over (partition by lines.invoice order by lines.file_row) as line_number,
            lines.product_id,
            case when invoices.status = 'cancelled' then -lines.quantity else lines.quantity end as quantity,
            lines.unit_price
        from lines
        join invoices on lines.invoice is not distinct from invoices.invoice
        """
    )
    con.execute(
        f"""
        insert into {RAW_SCHEMA}.customers by name
        with
        located as (
            select lines.customer_id, country_codes.country, count(*) as lines, max(lines.local_at) as last_at
            from lines left join country_codes using (country_name)
            where lines.customer_id is not null
            group by all
        ),
        ranked as (
            select *, row_number() over (
                partition by customer_id
                order by country is not null desc, lines desc, last_at desc, country
            ) as country_rank
            from located
        ),
        seen as (
            select customer_id, min(local_at) as first_at, max(local_at) as last_at
            from lines where customer_id is not null group by customer_id
        )
        select
            seen.customer_id,
            ranked.country,
            timezone('UTC', timezone({_literal(source_timezone)}, seen.first_at)) as created_at,
            timezone('UTC', timezone({_literal(source_timezone)}, seen.last_at)) as updated_at
        from seen join ranked on seen.customer_id = ranked.customer_id and ranked.country_rank = 1
        """
    )
    con.execute(
        f"""
        insert into {RAW_SCHEMA}.products by name
        with
        sale_lines as (
            select lines.*
            from lines join invoices on lines.invoice is not distinct from invoices.invoice
            where invoices.status = 'completed' and lines.quantity > 0
        ),
        names as (
            select
                lines.product_id,
                lines.description,
                row_number() over (
                    partition by lines.product_id
                    order by
                        count(sale_lines.file_row) desc,
                        count(*) desc,
                        max(lines.local_at) desc,
                        lines.description
                ) as name_rank
            from lines
            left join sale_lines
                on lines.file_index = sale_lines.file_index and lines.file_row = sale_lines.file_row
            where lines.product_id is not null and lines.description is not null
            group by lines.product_id, lines.description
        ),
        prices as (
            select
                product_id,
                unit_price,
                row_number() over (
                    partition by product_id order by count(*) desc, max(local_at) desc, unit_price desc
                ) as price_rank
            from sale_lines
            where product_id is not null and unit_price > 0
            group by product_id, unit_price
        ),
        seen as (
            select product_id, max(local_at) as last_at
            from lines where product_id is not null group by product_id
        ),
        categorized as (
            select
                names.product_id,
                min_by(category_rules.category, category_rules.rule_order) as category
            from names
            join category_rules
                on regexp_matches(upper(names.description), category_rules.pattern)
            where names.name_rank = 1
                and not regexp_matches(names.product_id, {_literal(SERVICE_CODE_PATTERN)})
            group by names.product_id
        )
        select
            seen.product_id,
            names.description as name,
            categorized.category,
            prices.unit_price as price,
            true as is_active,
            timezone('UTC', timezone({_literal(source_timezone)}, seen.last_at)) as updated_at
        from seen
        left join names on seen.product_id = names.product_id and names.name_rank = 1
        left join prices on seen.product_id = prices.product_id and prices.price_rank = 1
        left join categorized on seen.product_id = categorized.product_id
        """
    )
    return overlap


def _summarize(
    con: duckdb.DuckDBPyConnection, files: list[Path], sample: int | None, overlap: tuple[int, int]
) -> ImportSummary:
    one = lambda sql: con.execute(sql).fetchone()  # noqa: E731
    source_lines = one("select count(*) from source_lines")[0]
    overlapping_invoices, overlapping_lines = overlap
    statuses = dict(con.execute(f"select status, count(*) from {RAW_SCHEMA}.orders group by 1 order by 1").fetchall())
    guest_orders = one(f"select count(*) from {RAW_SCHEMA}.orders where customer_id is null")[0]
    revenue = dict(
        con.execute(f"select status, coalesce(sum(total_amount), 0) from {RAW_SCHEMA}.orders group by 1").fetchall()
    )
    products, categorized = one(f"select count(*), count(category) from {RAW_SCHEMA}.products")
    categorized_lines = one(
        f"""select count(*) from {RAW_SCHEMA}.order_lines l
            join {RAW_SCHEMA}.products p using (product_id) where p.category is not null"""
    )[0]
    outcomes = dict(
        con.execute(
            f"""
            select
                case
                    when o.status not in ('completed', 'cancelled', 'refunded')
                        then 'quarantined: line of an ' || o.status || ' invoice'
                    when l.quantity < 0 then 'quarantined: negative quantity'
                    when o.status = 'cancelled' then 'cancelled order line'
                    when l.unit_price = 0 then 'sale line at price 0 (kept)'
                    when l.product_id is null then 'sale line without stock code (kept)'
                    else 'sale line'
                end as outcome,
                count(*)
            from {RAW_SCHEMA}.order_lines l
            join {RAW_SCHEMA}.orders o on l.order_id is not distinct from o.order_id
            group by 1 order by 2 desc
            """
        ).fetchall()
    )
    without_code = dict(
        con.execute(
            """
            select coalesce(lines.country_name, '(empty)'), count(*)
            from lines left join country_codes using (country_name)
            where country_codes.country is null
            group by 1 order by 2 desc
            """
        ).fetchall()
    )
    first_at, last_at = one(f"select min(ordered_at), max(ordered_at) from {RAW_SCHEMA}.orders")
    return ImportSummary(
        files=[str(f) for f in files],
        source_lines=source_lines,
        overlapping_invoices=overlapping_invoices,
        overlapping_lines=int(overlapping_lines),
        lines=one("select count(*) from lines")[0],
        orders_by_status=statuses,
        guest_orders=guest_orders,
        customers=one(f"select count(*) from {RAW_SCHEMA}.customers")[0],
        products=products,
        categorized_products=categorized,
        categorized_lines=categorized_lines,
        lines_by_outcome=outcomes,
        revenue_completed=float(revenue.get("completed", 0.0)),
        revenue_cancelled=float(revenue.get("cancelled", 0.0)),
        revenue_adjustments=float(revenue.get("adjustment", 0.0)),
        countries_without_code=without_code,
        first_order_at=first_at,
        last_order_at=last_at,
        sample_customers=sample,
        raw_counts={t: one(f'select count(*) from {RAW_SCHEMA}."{t}"')[0] for t in RAW_TABLES},
    )


def import_online_retail(
    path: str | Path,
    warehouse: str,
    *,
    sample_customers: int | None = None,
    source_timezone: str = DEFAULT_SOURCE_TIMEZONE,
) -> ImportSummary:
    """(Re)create schema `raw` in `warehouse` from the Online Retail parquet file(s) at `path`.

    Other schemas are left alone except `truth` (a generated retailer's
    truth, which would not describe this one), which is dropped.
    """
    if sample_customers is not None and sample_customers < 1:
        raise OnlineRetailError("--sample-customers must be at least 1")
    if not re.fullmatch(r"[A-Za-z0-9_+\-/]+", source_timezone):
        raise OnlineRetailError(f"--source-timezone {source_timezone!r} is not a time zone name")
    files = find_files(path)
    started = time.perf_counter()
    con = duckdb.connect(warehouse)
    try:
        con.execute("set enable_progress_bar = false")
        con.execute("begin")
        try:
            con.execute("drop schema if exists truth cascade")
            con.execute(f"drop schema if exists {RAW_SCHEMA} cascade")
            con.execute(f"create schema {RAW_SCHEMA}")
            for table, columns in RAW_TABLES.items():
                cols = ", ".join(f'"{name}" {type_}' for name, type_ in columns.items())
                con.execute(f'create table {RAW_SCHEMA}."{table}" ({cols})')
            overlap = _build(con, files, source_timezone, sample_customers)
            summary = _summarize(con, files, sample_customers, overlap)
            con.execute("commit")
        except BaseException:
            with contextlib.suppress(duckdb.Error):
                con.execute("rollback")
            raise
    except duckdb.Error as exc:
        raise OnlineRetailError(f"import failed: {exc}") from exc
    finally:
        con.close()
    summary.elapsed_s = time.perf_counter() - started
    return summary
