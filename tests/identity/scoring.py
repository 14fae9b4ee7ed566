"""Scoring the identity map (marts.customer_identifiers) against the generator's truth.

Pairwise precision and recall over identifiers: every unordered pair of
identifiers that some raw row shows (truth.identifiers.appears_in_raw) and
that belong to exactly one person (shared_kind is null) is either "together"
in the truth (same person) and/or in the map (same customer_key). An
identifier missing from the map counts as a customer of its own. Shared
identifiers (placeholders, kiosks, household phones, family devices) have no
single true person, so they are scored separately: none may merge people.
All counting happens in SQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

# Raw evidence, independent of the models: every staging record's identifiers
# (the columns CONTRACT §2 lists), to tell which of a person's identifiers
# the raw data connects at all.
RECORDS = """
    select 'c' || customer_id as record, customer_id, null as loyalty_id, email, phone, null as anonymous_id
        from staging.stg_shop__customers
    union all select 'l' || loyalty_id, customer_id, loyalty_id, email, phone, null from staging.stg_loyalty__members
    union all select 'i' || message_id, customer_id, null, email, phone, anonymous_id
        from staging.stg_segment__identifies
    union all select 'p' || transaction_id, null, loyalty_id, email, phone, null from staging.stg_pos__transactions
    union all select 'o' || order_id, customer_id, null, email, phone, null from staging.stg_shop__orders
    union all select 'e' || min(event_id), customer_id, null, null, null, anonymous_id
        from staging.stg_segment__events group by customer_id, anonymous_id
    union all select 'x' || e.event_id, o.customer_id, null, o.email, o.phone, e.anonymous_id
        from staging.stg_segment__events e join staging.stg_shop__orders o using (order_id)
"""

UNIVERSE = """
    with truth as (
        select identifier_type, identifier_value, min(person_id) as person_id
        from truth.identifiers
        where appears_in_raw
        group by identifier_type, identifier_value
        having count(*) = 1 and bool_and(shared_kind is null)
    )
    select
        truth.identifier_type,
        truth.identifier_value,
        truth.person_id,
        coalesce(map.customer_key, 'missing:' || truth.identifier_type || ':' || truth.identifier_value)
            as customer_key,
        map.customer_key is null as is_missing
    from truth
    left join marts.customer_identifiers as map
        on map.identifier_type = truth.identifier_type
        and map.identifier_value = truth.identifier_value
"""


@dataclass(frozen=True)
class IdentityScore:
    identifiers: int
    missing: int
    true_pairs: int
    predicted_pairs: int
    correct_pairs: int
    people_merged_by_shared: int
    shared_identifiers_linking: int
    linkable_true_pairs: int
    linkable_correct_pairs: int

    @property
    def precision(self) -> float:
        return self.correct_pairs / self.predicted_pairs if self.predicted_pairs else 1.0

    @property
    def recall(self) -> float:
        return self.correct_pairs / self.true_pairs if self.true_pairs else 1.0

    @property
    def linkable_recall(self) -> float:
        """Recall over the pairs raw data connects at all (records chaining two of the person's identifiers)."""
        return self.linkable_correct_pairs / self.linkable_true_pairs if self.linkable_true_pairs else 1.0

    def __str__(self) -> str:
        return (
            f"identity map vs truth: precision {self.precision:.4f}, recall {self.linkable_recall:.4f} over the "
            f"{self.linkable_true_pairs:,} pairs raw rows connect ({self.recall:.4f} over all "
            f"{self.true_pairs:,} pairs of identifiers raw shows, some of them on no row with another identifier); "
            f"{self.correct_pairs:,} correct of {self.predicted_pairs:,} predicted pairs "
            f"over {self.identifiers:,} identifiers, {self.missing:,} missing from the map; "
            f"customers merging people through a placeholder or kiosk: {self.people_merged_by_shared}; "
            f"placeholders in the map: {self.shared_identifiers_linking}"
        )


def score(warehouse: Path | str) -> IdentityScore:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        con.execute(f"create temp table scored as {UNIVERSE}")
        identifiers, missing = con.execute("select count(*), count(*) filter (where is_missing) from scored").fetchone()
        pairs = "coalesce(sum(n * (n - 1) / 2), 0)"
        (true_pairs,) = con.execute(
            f"select {pairs} from (select count(*) n from scored group by person_id)"
        ).fetchone()
        (predicted,) = con.execute(
            f"select {pairs} from (select count(*) n from scored group by customer_key)"
        ).fetchone()
        (correct,) = con.execute(
            f"select {pairs} from (select count(*) n from scored group by person_id, customer_key)"
        ).fetchone()
        # Placeholders must not be in the map at all (they belong to no customer).
        (shared_linking,) = con.execute(
            """
            select count(*) from (
                select distinct t.identifier_type, t.identifier_value
                from truth.identifiers t
                join marts.customer_identifiers m using (identifier_type, identifier_value)
                where t.shared_kind = 'placeholder'
            )
            """
        ).fetchone()
        # Customers whose people differ and that contain a placeholder or kiosk identifier.
        (merged_by_shared,) = con.execute(
            """
            with bad as (
                select distinct m.customer_key
                from truth.identifiers t
                join marts.customer_identifiers m using (identifier_type, identifier_value)
                where t.shared_kind in ('placeholder', 'kiosk')
            )
            select count(*) from (
                select s.customer_key from scored s join bad using (customer_key)
                group by s.customer_key having count(distinct s.person_id) > 1
            )
            """
        ).fetchone()
        linkable_true, linkable_correct = _linkable_pairs(con)
    finally:
        con.close()
    return IdentityScore(
        identifiers=int(identifiers),
        missing=int(missing),
        true_pairs=int(true_pairs),
        predicted_pairs=int(predicted),
        correct_pairs=int(correct),
        people_merged_by_shared=int(merged_by_shared),
        shared_identifiers_linking=int(shared_linking),
        linkable_true_pairs=linkable_true,
        linkable_correct_pairs=linkable_correct,
    )


def _linkable_pairs(con: duckdb.DuckDBPyConnection) -> tuple[int, int]:
    """True pairs whose identifiers raw rows connect through the person's own identifiers, and how many the map has.

    Connected components of the person's evidence graph by label propagation
    in SQL; the Python loop runs once per pass (until nothing changes), never
    per identifier.
    """
    con.execute(f"create temp table evidence_records as {RECORDS}")
    unpivot = " union all ".join(
        f"select record, '{column}' as identifier_type, {column} as identifier_value "
        f"from evidence_records where {column} is not null"
        for column in ("customer_id", "loyalty_id", "email", "phone", "anonymous_id")
    )
    con.execute(
        f"""
        create temp table evidence_nodes as
        select distinct r.record, s.identifier_type || ':' || s.identifier_value as node, s.person_id
        from ({unpivot}) r
        join scored s on s.identifier_type = r.identifier_type and s.identifier_value = r.identifier_value
        """
    )
    con.execute(
        """
        create temp table evidence_edges as
        select distinct a.node as a, b.node as b
        from evidence_nodes a join evidence_nodes b
          on a.record = b.record and a.person_id = b.person_id and a.node <> b.node
        """
    )
    con.execute(
        "create temp table labels as select identifier_type || ':' || identifier_value as node, "
        "identifier_type || ':' || identifier_value as label from scored"
    )
    while True:
        con.execute(
            """
            create or replace temp table next_labels as
            with stepped as (
                select l.node, least(l.label, coalesce(min(n.label), l.label)) as label
                from labels l left join evidence_edges e on e.a = l.node left join labels n on n.node = e.b
                group by l.node, l.label
            )
            select s.node, least(s.label, j.label) as label from stepped s join stepped j on j.node = s.label
            """
        )
        (changed,) = con.execute(
            "select count(*) from labels l join next_labels n using (node) where l.label <> n.label"
        ).fetchone()
        con.execute("create or replace temp table labels as select * from next_labels")
        if not changed:
            break
    pairs = "coalesce(sum(n * (n - 1) / 2), 0)"
    joined = "from scored s join labels l on l.node = s.identifier_type || ':' || s.identifier_value"
    (true_pairs,) = con.execute(
        f"select {pairs} from (select count(*) n {joined} group by s.person_id, l.label)"
    ).fetchone()
    (correct,) = con.execute(
        f"select {pairs} from (select count(*) n {joined} group by s.person_id, l.label, s.customer_key)"
    ).fetchone()
    return int(true_pairs), int(correct)


if __name__ == "__main__":  # pragma: no cover - handy by hand
    import sys

    print(score(sys.argv[1]))
