"""`segue explain IDENTIFIER`: which customer an identifier resolved to, and why.

Reads the identity models of a built warehouse (read-only, closed at once):

- `marts.customer_identifiers`: the identifier's customer and the customer's
  other identifiers;
- `identity.int_identity__edges`: the observations (table, row id, time)
  that tie two identifiers; the chain printed is a shortest path, through the
  customer's own identifiers, from the one asked about to each other one;
- `identity.identity_rule_hits` and `identity.int_identity__observations`:
  the rules that stopped a link (a blocked value, a shared device or phone,
  a per-customer limit, a priority loss) touching this customer.

The input is normalized as staging normalizes (CONTRACT §2): emails trimmed
and lower-cased, phones to E.164 (a number without + is tried in each
country the warehouse knows), ids trimmed, anonymous_id compared without
regard to case. Only one customer's identifiers and edges are read, so the
path search below walks a bounded graph (at most var
identity_max_component_size identifiers), never the whole identity map.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import duckdb

IDENTIFIER_TYPES = ("customer_id", "loyalty_id", "email", "phone", "anonymous_id")
REQUIRED_TABLES = (
    ("marts", "customer_identifiers"),
    ("identity", "int_identity__edges"),
    ("identity", "int_identity__observations"),
    ("identity", "identity_rule_hits"),
)
UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


class ExplainError(Exception):
    """The identifier is unknown, ambiguous, or the warehouse has no identity map: exit 2."""


@dataclass(frozen=True)
class Observation:
    source_table: str
    record_id: str
    observed_at: datetime | None

    def __str__(self) -> str:
        when = self.observed_at.isoformat(sep=" ", timespec="seconds") if self.observed_at else "time unknown"
        return f"{self.source_table} {self.record_id} @ {when}"


@dataclass(frozen=True)
class Hop:
    """One link of a chain: `source` and `target` were seen together on `evidence[0]` (and `records` rows in all)."""

    source: str
    target: str
    evidence: Observation
    records: int


@dataclass(frozen=True)
class RuleHit:
    rule: str
    identifier: str
    detail: str
    other: str | None
    observations: int


@dataclass
class Explanation:
    identifier_type: str
    identifier_value: str
    customer_key: str | None
    blocked_reason: str | None = None
    is_shared: bool = False
    identifiers: list[tuple[str, str, datetime | None, datetime | None]] = field(default_factory=list)
    chains: dict[str, list[Hop]] = field(default_factory=dict)
    rule_hits: list[RuleHit] = field(default_factory=list)

    @property
    def node(self) -> str:
        return f"{self.identifier_type}:{self.identifier_value}"

    def lines(self) -> list[str]:
        out = [f"{self.identifier_type} {self.identifier_value}"]
        if self.customer_key is None:
            out.append(f"  resolves to no customer: blocked value ({self.blocked_reason}); it never links anything")
        else:
            shared = " (shared identifier: it links nothing, so it is a customer of its own)" if self.is_shared else ""
            out.append(f"  customer_key {self.customer_key}{shared}")
            out.append(f"  identifiers of this customer ({len(self.identifiers)}):")
            for id_type, value, first, last in self.identifiers:
                span = f"{_when(first)} .. {_when(last)}"
                out.append(f"    {id_type:<13} {value}   seen {span}")
            if self.chains:
                out.append("  how they link (each hop: two identifiers on one record):")
                for target, hops in self.chains.items():
                    out.append(f"    {self.node} -> {target}")
                    for hop in hops:
                        more = f" (+{hop.records - 1} more records)" if hop.records > 1 else ""
                        out.append(f"      {hop.source} = {hop.target}: {hop.evidence}{more}")
        if self.rule_hits:
            out.append("  rules that stopped a link:")
            for hit in self.rule_hits:
                other = f" -> {hit.other}" if hit.other else ""
                out.append(f"    [{hit.rule}] {hit.identifier}{other}: {hit.detail} ({hit.observations} records)")
        else:
            out.append("  rules that stopped a link: none")
        return out


def _when(value: datetime | None) -> str:
    return value.isoformat(sep=" ", timespec="seconds") if value else "?"


def candidates(identifier: str, identifier_type: str | None, countries: list[str]) -> list[tuple[str, str]]:
    """(type, normalized value) pairs the input may mean, normalized as staging does."""
    text = identifier.strip()
    if not text:
        raise ExplainError("the identifier is empty")
    if identifier_type is not None and identifier_type not in IDENTIFIER_TYPES:
        raise ExplainError(f"--type must be one of {', '.join(IDENTIFIER_TYPES)}, not {identifier_type!r}")
    types = [identifier_type] if identifier_type else _guess_types(text)
    found: list[tuple[str, str]] = []
    for kind in types:
        if kind == "email":
            found.append(("email", text.lower()))
        elif kind == "phone":
            found.extend(("phone", number) for number in _phone_candidates(text, countries))
        elif kind == "anonymous_id":
            found.append(("anonymous_id", text.lower()))
        else:
            found.append((kind, text))
    return list(dict.fromkeys(found))


def _guess_types(text: str) -> list[str]:
    if "@" in text:
        return ["email"]
    if UUID_RE.match(text):
        return ["anonymous_id"]
    digits = re.sub(r"[^0-9]", "", text)
    if re.fullmatch(r"[+0-9 ().\-/]+", text) and len(digits) >= 6:
        return ["phone", "customer_id", "loyalty_id", "anonymous_id"]
    return ["customer_id", "loyalty_id", "anonymous_id"]


def _phone_candidates(text: str, countries: list[str]) -> list[str]:
    import phonenumbers

    numbers: list[str] = []
    regions = [None] if text.startswith("+") else [None, *countries]
    for region in regions:
        try:
            parsed = phonenumbers.parse(text if region or text.startswith("+") else "+" + text, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_possible_number(parsed):
            numbers.append(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164))
    return list(dict.fromkeys(numbers))


def explain(
    identifier: str, identifier_type: str | None = None, warehouse: str | Path = "warehouse.duckdb"
) -> Explanation:
    path = Path(warehouse)
    if not path.exists():
        raise ExplainError(f"warehouse {path} does not exist (run `segue run` first, or pass --warehouse)")
    con = duckdb.connect(str(path), read_only=True)
    try:
        _check_tables(con, path)
        countries = (
            [
                row[0]
                for row in con.execute(
                    "select distinct country from reference.country_calling_codes order by 1"
                ).fetchall()
            ]
            if _has_table(con, "reference", "country_calling_codes")
            else []
        )
        wanted = candidates(identifier, identifier_type, countries)
        matches = _lookup(con, wanted)
        if not matches:
            blocked = _blocked(con, wanted)
            if blocked:
                (kind, value, reason) = blocked[0]
                result = Explanation(kind, value, None, blocked_reason=reason)
                result.rule_hits = _rule_hits(con, [f"{kind}:{value}"], None)
                return result
            tried = ", ".join(f"{kind} {value}" for kind, value in wanted)
            raise ExplainError(f"unknown identifier {identifier!r}: no customer has it (looked for {tried})")
        if len(matches) > 1:
            options = "; ".join(f"{kind} {value}" for kind, value, *_ in matches)
            raise ExplainError(
                f"{identifier!r} is ambiguous, it matches: {options}. "
                "Pass --type (and, for a phone, its +country code)."
            )
        kind, value, customer_key, is_shared = matches[0]
        result = Explanation(kind, value, customer_key, is_shared=bool(is_shared))
        result.identifiers = con.execute(
            """
            select identifier_type, identifier_value, first_seen_at, last_seen_at
            from marts.customer_identifiers where customer_key = ?
            order by case identifier_type when 'customer_id' then 1 when 'loyalty_id' then 2 when 'email' then 3
                     when 'phone' then 4 else 5 end, first_seen_at, identifier_value
            """,
            [customer_key],
        ).fetchall()
        nodes = [f"{t}:{v}" for t, v, _, _ in result.identifiers]
        result.chains = _chains(con, result.node, nodes)
        result.rule_hits = _rule_hits(con, nodes, customer_key)
        return result
    finally:
        con.close()


def _has_table(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    return bool(
        con.execute(
            "select count(*) from information_schema.tables where table_schema = ? and table_name = ?", [schema, table]
        ).fetchone()[0]
    )


def _check_tables(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    missing = [f"{s}.{t}" for s, t in REQUIRED_TABLES if not _has_table(con, s, t)]
    if missing:
        raise ExplainError(f"{path} has no identity map ({', '.join(missing)} missing): run `segue run` first")


def _lookup(con: duckdb.DuckDBPyConnection, wanted: list[tuple[str, str]]) -> list[tuple]:
    if not wanted:
        return []
    con.execute("create temp table wanted (identifier_type varchar, identifier_value varchar)")
    con.executemany("insert into wanted values (?, ?)", wanted)
    return con.execute(
        """
        select m.identifier_type, m.identifier_value, m.customer_key, m.is_shared
        from marts.customer_identifiers m join wanted w
          on m.identifier_type = w.identifier_type
         and (m.identifier_value = w.identifier_value
              or (m.identifier_type = 'anonymous_id' and lower(m.identifier_value) = lower(w.identifier_value)))
        order by 1, 2
        """
    ).fetchall()


def _blocked(con: duckdb.DuckDBPyConnection, wanted: list[tuple[str, str]]) -> list[tuple]:
    return con.execute(
        """
        select distinct o.identifier_type, o.identifier_value, o.blocked_reason
        from identity.int_identity__observations o join wanted w
          on o.identifier_type = w.identifier_type and lower(o.identifier_value) = lower(w.identifier_value)
        where o.blocked_reason is not null
        order by 1, 2
        """
    ).fetchall()


def _chains(con: duckdb.DuckDBPyConnection, start: str, nodes: list[str]) -> dict[str, list[Hop]]:
    """Shortest chain of observations from `start` to every other identifier of the customer."""
    con.execute("create or replace temp table customer_nodes (node_id varchar)")
    con.executemany("insert into customer_nodes values (?)", [(n,) for n in nodes])
    rows = con.execute(
        """
        select e.higher_node_id, e.lower_node_id,
               arg_min(e.source_table, e.observed_at), arg_min(e.record_id, e.observed_at), min(e.observed_at), count(*)
        from identity.int_identity__edges e
        join customer_nodes a on a.node_id = e.higher_node_id
        join customer_nodes b on b.node_id = e.lower_node_id
        group by 1, 2
        order by 1, 2
        """
    ).fetchall()
    neighbours: dict[str, list[tuple[str, Observation, int]]] = {}
    for higher, lower, table, record, when, count in rows:
        evidence = Observation(table, record, when)
        neighbours.setdefault(higher, []).append((lower, evidence, count))
        neighbours.setdefault(lower, []).append((higher, evidence, count))
    parent: dict[str, tuple[str, Observation, int]] = {}
    queue = deque([start])
    seen = {start}
    while queue:
        node = queue.popleft()
        for other, evidence, count in neighbours.get(node, []):
            if other not in seen:
                seen.add(other)
                parent[other] = (node, evidence, count)
                queue.append(other)
    chains: dict[str, list[Hop]] = {}
    for node in nodes:
        if node == start or node not in parent:
            continue
        hops: list[Hop] = []
        current = node
        while current != start:
            previous, evidence, count = parent[current]
            hops.append(Hop(previous, current, evidence, count))
            current = previous
        chains[node] = list(reversed(hops))
    return chains


def _rule_hits(con: duckdb.DuckDBPyConnection, nodes: list[str], customer_key: str | None) -> list[RuleHit]:
    con.execute("create or replace temp table hit_nodes (node_id varchar)")
    con.executemany("insert into hit_nodes values (?)", [(n,) for n in nodes])
    rows = con.execute(
        """
        -- link rules on the customer's identifiers, or links into this customer that were stopped
        select rule, identifier_type || ':' || identifier_value, detail, other_identifier, observation_count
        from identity.identity_rule_hits
        where rule != 'blocked_value'
          and (identifier_type || ':' || identifier_value in (select node_id from hit_nodes)
               or (? is not null and other_customer_key = ?))
        union all
        -- blocked values seen on the same records as the customer's identifiers (or the value itself)
        select 'blocked_value', b.node_id, b.blocked_reason,
               null, count(distinct b.source_table || b.record_id)
        from identity.int_identity__observations b
        where b.blocked_reason is not null
          and (b.node_id in (select node_id from hit_nodes)
               or exists (select 1 from identity.int_identity__observations o
                          where o.source_table = b.source_table and o.record_id = b.record_id
                            and o.node_id in (select node_id from hit_nodes) and o.blocked_reason is null))
        group by b.node_id, b.blocked_reason
        order by 1, 2, 4
        """,
        [customer_key, customer_key],
    ).fetchall()
    return [RuleHit(rule, ident, detail, other, int(count)) for rule, ident, detail, other, count in rows]
