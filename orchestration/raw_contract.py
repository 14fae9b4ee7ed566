"""The raw input tables of CONTRACT.md section 2, as data.

Used by the generator (to write exactly these tables and columns) and by
`segue run` (to refuse a warehouse that lacks any of them, before building).
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

RAW_SCHEMA = "raw"

# table -> {column: DuckDB type}. Column order is the contract's order.
RAW_TABLES: dict[str, dict[str, str]] = {
    "customers": {
        "customer_id": "VARCHAR",
        "email": "VARCHAR",
        "phone": "VARCHAR",
        "first_name": "VARCHAR",
        "last_name": "VARCHAR",
        "country": "VARCHAR",
        "created_at": "TIMESTAMP",
        "updated_at": "TIMESTAMP",
    },
    "loyalty_members": {
        "loyalty_id": "VARCHAR",
        "customer_id": "VARCHAR",
        "email": "VARCHAR",
        "phone": "VARCHAR",
        "tier": "VARCHAR",
        "points_balance": "INTEGER",
        "home_store_id": "VARCHAR",
        "enrolled_at": "TIMESTAMP",
        "updated_at": "TIMESTAMP",
    },
    "identifies": {
        "message_id": "VARCHAR",
        "anonymous_id": "VARCHAR",
        "user_id": "VARCHAR",
        "email": "VARCHAR",
        "phone": "VARCHAR",
        "timestamp": "TIMESTAMP",
    },
    "events": {
        "event_id": "VARCHAR",
        "anonymous_id": "VARCHAR",
        "user_id": "VARCHAR",
        "event": "VARCHAR",
        "product_id": "VARCHAR",
        "quantity": "INTEGER",
        "price": "DOUBLE",
        "order_id": "VARCHAR",
        "revenue": "DOUBLE",
        "source": "VARCHAR",
        "timestamp": "TIMESTAMP",
    },
    "orders": {
        "order_id": "VARCHAR",
        "customer_id": "VARCHAR",
        "email": "VARCHAR",
        "phone": "VARCHAR",
        "status": "VARCHAR",
        "total_amount": "DOUBLE",
        "currency": "VARCHAR",
        "source": "VARCHAR",
        "ordered_at": "TIMESTAMP",
    },
    "order_lines": {
        "order_id": "VARCHAR",
        "line_number": "INTEGER",
        "product_id": "VARCHAR",
        "quantity": "INTEGER",
        "unit_price": "DOUBLE",
    },
    "pos_transactions": {
        "transaction_id": "VARCHAR",
        "store_id": "VARCHAR",
        "loyalty_id": "VARCHAR",
        "receipt_email": "VARCHAR",
        "phone": "VARCHAR",
        "total_amount": "DOUBLE",
        "currency": "VARCHAR",
        "transacted_at": "TIMESTAMP",
    },
    "pos_lines": {
        "transaction_id": "VARCHAR",
        "line_number": "INTEGER",
        "product_id": "VARCHAR",
        "quantity": "INTEGER",
        "unit_price": "DOUBLE",
    },
    "products": {
        "product_id": "VARCHAR",
        "name": "VARCHAR",
        "category": "VARCHAR",
        "brand": "VARCHAR",
        "price": "DOUBLE",
        "is_active": "BOOLEAN",
        "updated_at": "TIMESTAMP",
    },
    "inventory": {
        "product_id": "VARCHAR",
        "location_id": "VARCHAR",
        "quantity_on_hand": "INTEGER",
        "recorded_at": "TIMESTAMP",
    },
    "stores": {
        "store_id": "VARCHAR",
        "name": "VARCHAR",
        "city": "VARCHAR",
        "country": "VARCHAR",
        "timezone": "VARCHAR",
    },
    "consents": {
        "consent_id": "VARCHAR",
        "channel": "VARCHAR",
        "identifier_type": "VARCHAR",
        "identifier_value": "VARCHAR",
        "status": "VARCHAR",
        "source": "VARCHAR",
        "recorded_at": "TIMESTAMP",
    },
    "message_events": {
        "event_id": "VARCHAR",
        "message_id": "VARCHAR",
        "channel": "VARCHAR",
        "identifier_value": "VARCHAR",
        "event": "VARCHAR",
        "journey": "VARCHAR",
        "occurred_at": "TIMESTAMP",
    },
}


@dataclass(frozen=True)
class RawContractProblem:
    table: str
    column: str | None  # None: the whole table is missing

    def __str__(self) -> str:
        if self.column is None:
            return f"table {RAW_SCHEMA}.{self.table} is missing"
        return f"column {RAW_SCHEMA}.{self.table}.{self.column} is missing"


class RawContractError(RuntimeError):
    """The warehouse does not hold the raw tables of CONTRACT.md section 2."""

    def __init__(self, warehouse: str, problems: list[RawContractProblem] | str):
        self.problems = problems
        detail = problems if isinstance(problems, str) else "\n".join(f"  - {p}" for p in problems)
        super().__init__(
            f"warehouse {warehouse} does not hold Segue's raw inputs (CONTRACT.md section 2):\n{detail}\n"
            "Load them with your EL tool, or create a sample retailer with "
            "`segue generate --customers 20000 --seed 42`."
        )


def find_problems(con: duckdb.DuckDBPyConnection) -> list[RawContractProblem] | str:
    """Compare the raw schema of an open DuckDB connection with the contract."""
    rows = con.execute(
        "select table_name, column_name from information_schema.columns where table_schema = ?",
        [RAW_SCHEMA],
    ).fetchall()
    if not rows:
        return f"schema `{RAW_SCHEMA}` is missing or empty"
    present: dict[str, set[str]] = {}
    for table, column in rows:
        present.setdefault(table.lower(), set()).add(column.lower())
    problems: list[RawContractProblem] = []
    for table, columns in RAW_TABLES.items():
        if table not in present:
            problems.append(RawContractProblem(table, None))
            continue
        problems.extend(RawContractProblem(table, c) for c in columns if c not in present[table])
    return problems


def check_warehouse(warehouse: str) -> None:
    """Raise RawContractError naming every missing schema, table or column."""
    from pathlib import Path

    if not Path(warehouse).exists():
        raise RawContractError(warehouse, "the warehouse file does not exist")
    con = duckdb.connect(warehouse, read_only=True)
    try:
        problems = find_problems(con)
    finally:
        con.close()
    if problems:
        raise RawContractError(warehouse, problems)
