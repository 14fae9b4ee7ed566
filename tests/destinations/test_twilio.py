"""Twilio specifics: STOP replies (21610) become rejections and consent withdrawals, uncertain sends are
reconciled from the message list, the account's concurrency limit (429 / 20429) is retried, and the
emulator's message list filters and pages the way the spec says."""

from __future__ import annotations

import base64
import threading
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import duckdb
import jinja2
import pytest
import requests

from destinations.engine import run_sync
from destinations.state import ensure_state, ledger_intent
from destinations.twilio.destination import TwilioDestination
from tests.destinations.cases import twilio as case
from tests.sync.conftest import AS_OF, FAST, query, write_actions
from tests.sync.openapi import validate_parameters, validate_response

REPO = Path(__file__).resolve().parents[2]
MESSAGES = f"/2010-04-01/Accounts/{case.ACCOUNT_SID}/Messages.json"
AUTH = {"Authorization": "Basic " + base64.b64encode(f"{case.ACCOUNT_SID}:{case.AUTH_TOKEN}".encode()).decode()}


class Twilio:
    def __init__(self, base: str):
        self.base = base

    def state(self) -> dict:
        return requests.get(f"{self.base}/__emulator__/state", timeout=5).json()

    def faults(self, **settings) -> None:
        # every setting explicit: the server is shared by the session and earlier tests change it
        body = {"error_rate": 0.0, "error_status": 503, "lost_response_rate": 0.0, "latency_ms": 0}
        body.update({"rate_limit_scale": 100.0, "retry_after": None, "seed": 1, **settings})
        requests.post(f"{self.base}/__emulator__/faults", json=body, timeout=5).raise_for_status()

    def reply(self, phone: str, text: str) -> None:
        requests.post(f"{self.base}/__emulator__/inbound", data={"From": phone, "Body": text}, timeout=5)

    def send(self, to: str, body: str, callback: str | None = None) -> requests.Response:
        form = {"To": to, "Body": body, "MessagingServiceSid": case.SERVICE_SID}
        if callback:
            form["StatusCallback"] = callback
        return requests.post(f"{self.base}{MESSAGES}", data=form, headers=AUTH, timeout=5)


@pytest.fixture
def twilio(emulator, monkeypatch) -> Twilio:
    base = f"{emulator.url}/twilio"
    requests.post(f"{base}/__emulator__/reset", timeout=5).raise_for_status()
    t = Twilio(base)
    t.faults(seed=1)
    for key, value in case.env(base).items():
        monkeypatch.setenv(key, value)
    return t


def sync(warehouse: Path, settings=FAST):
    return run_sync(case.spec("actions"), case.instance(100.0), str(warehouse), AS_OF, settings=settings)


def write(warehouse: Path, rows: list[tuple]) -> None:
    write_actions(warehouse, rows, consents=case.CASE.consents(rows))


class _Relation:
    database, schema, identifier = None, "segue", "action_deliveries"

    def __str__(self) -> str:
        return "segue.action_deliveries"


def render_model(path: Path, table_exists: bool) -> str:
    """The model's SQL with the few dbt macros it uses stubbed (DuckDB types), to run on a small warehouse."""
    types = SimpleNamespace(type_string=lambda: "varchar", type_timestamp=lambda: "timestamp")
    adapter = SimpleNamespace(get_relation=lambda **_: object() if table_exists else None)
    context = {"source": lambda *_: _Relation(), "adapter": adapter, "execute": True, "dbt": types}
    return jinja2.Environment().from_string(path.read_text()).render(**context)


def test_a_number_that_replied_stop_is_rejected_with_21610_never_retried_and_withdraws_consent(twilio, tmp_path):
    warehouse = tmp_path / "w.duckdb"
    rows = case.make_actions(4)
    write(warehouse, rows)
    twilio.reply(case.phone(2), "stop")
    assert twilio.state()["lists"]["stop"] == [case.phone(2)]
    result = sync(warehouse)
    assert (result.succeeded, result.rejected, result.failed, result.unknown) == (3, 1, 0, 0)
    [(status, error, to)] = query(
        warehouse, "select status, last_error, to_address from segue.action_deliveries where action_id = 'a00002'"
    )
    assert status == "rejected" and error.startswith("21610: ") and to == case.phone(2)
    assert sorted(m["action_id"] for m in twilio.state()["messages"]) == ["a00000", "a00001", "a00003"]
    again = sync(warehouse)
    assert (again.sent, again.requests) == (0, 0), "a 21610 is permanent: never retried"

    model = REPO / "dbt_project/models/staging/segue/stg_segue__sms_opt_outs.sql"
    con = duckdb.connect(str(warehouse))
    try:
        opt_outs = con.execute(
            f"select action_id, channel, identifier_type, identifier_value from ({render_model(model, True)})"
        ).fetchall()
        empty = con.execute(f"select count(*) from ({render_model(model, False)})").fetchall()
    finally:
        con.close()
    assert opt_outs == [("a00002", "sms", "phone", case.phone(2))]
    assert empty == [(0,)]


def test_a_lost_answer_is_reconciled_from_the_message_list_and_nothing_is_sent_twice(twilio, tmp_path):
    warehouse = tmp_path / "w.duckdb"
    write(warehouse, case.make_actions(6))
    twilio.faults(lost_response_rate=1.0)  # every send reaches Twilio, every answer is lost
    result = sync(warehouse)
    assert (result.succeeded, result.unknown, result.failed) == (6, 0, 0)
    state = twilio.state()
    assert sorted(m["action_id"] for m in state["messages"]) == [f"a{i:05d}" for i in range(6)]
    assert state["requests"] == {"POST Messages.json": 6, "GET Messages.json": 6}
    assert {m["status_callback"] for m in state["messages"]} == {
        f"{case.CALLBACK}?action_id=a{i:05d}" for i in range(6)
    }

    twilio.faults(error_rate=1.0, error_status=500)  # refused before acting, but the client cannot know
    write(warehouse, case.make_actions(8))
    stuck = sync(warehouse, settings=FAST)
    assert (stuck.succeeded, stuck.unknown) == (0, 2)  # Twilio could not be asked either: still in flight
    in_flight = "select count(*) from segue.sync_send_ledger where status = 'pending' and in_flight"
    assert query(warehouse, in_flight)[0][0] == 2
    twilio.faults()
    assert sync(warehouse).succeeded == 2  # asked first: not at Twilio, so sent now
    sent = [m["action_id"] for m in twilio.state()["messages"]]
    assert sorted(sent) == [f"a{i:05d}" for i in range(8)], "every action exactly once"


def test_actions_a_crashed_run_left_in_flight_are_asked_about_before_anything_is_resent(twilio, tmp_path):
    warehouse = tmp_path / "w.duckdb"
    rows = case.make_actions(3)
    write(warehouse, rows)
    # A crashed run: intent written for all three, the request for a00001 reached Twilio, then SIGKILL.
    con = duckdb.connect(str(warehouse))
    try:
        ensure_state(con)
        ledger_intent(con, "sync_twilio__test_sms", "twilio", [r[0] for r in rows], [r[9] for r in rows], AS_OF)
    finally:
        con.close()
    assert twilio.send(rows[1][9], rows[1][3]).status_code == 201
    result = sync(warehouse)
    assert (result.succeeded, result.unknown) == (3, 0)
    state = twilio.state()
    assert sorted(m["to"] for m in state["messages"]) == sorted(r[9] for r in rows), "a00001 was not sent again"
    statuses = dict(query(warehouse, "select action_id, status from segue.action_deliveries"))
    assert statuses == {r[0]: "delivered" for r in rows}


def test_over_the_accounts_concurrency_twilio_answers_429_20429_and_the_engine_retries(twilio, tmp_path):
    twilio.faults(rate_limit_scale=1 / 8, latency_ms=150)  # one request in flight per account
    answers: list[requests.Response] = []
    threads = [threading.Thread(target=lambda i=i: answers.append(twilio.send(case.phone(i), "hi"))) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    throttled = [a for a in answers if a.status_code == 429]
    assert throttled and len(throttled) < 4
    assert throttled[0].json()["code"] == 20429 and "Retry-After" not in throttled[0].headers
    requests.post(f"{twilio.base}/__emulator__/reset", timeout=5)
    twilio.faults(rate_limit_scale=1 / 8, latency_ms=30)
    warehouse = tmp_path / "w.duckdb"
    write(warehouse, case.make_actions(8))
    # Four engine threads against one slot: a batch may meet many 429s in a row (no Retry-After to wait for).
    result = sync(warehouse, settings=replace(FAST, max_attempts=30))
    assert (result.succeeded, result.failed) == (8, 0)
    state = twilio.state()
    assert state["throttled_responses"] > 0, "four workers against one slot must have met the limit"
    assert sorted(m["action_id"] for m in state["messages"]) == [f"a{i:05d}" for i in range(8)]


def test_the_message_list_filters_and_pages_as_the_spec_says(twilio, emulator, monkeypatch):
    monkeypatch.setattr(emulator.app.state.emulators["twilio"], "send_delay", 60.0)  # all stay queued
    created = twilio.send(case.phone(1), "first")
    assert created.status_code == 201
    validate_response("POST", MESSAGES, 201, created.json(), vendor="twilio")
    assert created.json()["status"] == "queued" and created.json()["date_sent"] is None
    for i in range(4):
        twilio.send(case.phone(1), f"more {i}")
    twilio.send(case.phone(2), "other")
    params = {"To": case.phone(1), "PageSize": 2}
    validate_parameters("GET", MESSAGES, params, vendor="twilio")
    url, bodies, pages = f"{twilio.base}{MESSAGES}", [], 0
    while url:
        page = requests.get(url, params=params if pages == 0 else None, headers=AUTH, timeout=5)
        validate_response("GET", MESSAGES, 200, page.json(), vendor="twilio")
        bodies += [m["body"] for m in page.json()["messages"]]
        nxt = page.json()["next_page_uri"]
        url, pages = (twilio.base + nxt if nxt else None), pages + 1
    assert pages == 3 and bodies == ["more 3", "more 2", "more 1", "more 0", "first"]  # newest first
    today = datetime.now(UTC).date().isoformat()
    queued = requests.get(url := f"{twilio.base}{MESSAGES}", params={"DateSent": today}, headers=AUTH, timeout=5)
    assert queued.json()["messages"] == [], "a queued message has no date_sent yet"
    monkeypatch.setattr(emulator.app.state.emulators["twilio"], "send_delay", 0.0)  # now all are sent
    sent = requests.get(url, params={"DateSent": today, "To": case.phone(2)}, headers=AUTH, timeout=5).json()
    assert [m["body"] for m in sent["messages"]] == ["other"] and sent["messages"][0]["status"] == "sent"
    assert requests.get(url, params={"To": case.phone(1)}, timeout=5).status_code == 401


def test_the_emulator_checks_what_twilio_checks(twilio):
    assert twilio.send("+1555", "x").json()["code"] == 21211
    assert twilio.send(case.phone(1), "x" * 1601).json()["code"] == 21617
    assert twilio.send(case.phone(1), "").json()["code"] == 21602
    no_sender = requests.post(f"{twilio.base}{MESSAGES}", data={"To": case.phone(1), "Body": "x"}, headers=AUTH)
    assert no_sender.json()["code"] == 21603
    twilio.reply(case.phone(3), "STOP")
    assert twilio.send(case.phone(3), "x").json()["code"] == 21610
    twilio.reply(case.phone(3), "START")
    assert twilio.send(case.phone(3), "x").status_code == 201


def test_declarations_and_long_bodies_are_refused_before_any_request(twilio, tmp_path):
    spec = case.spec("actions")
    assert TwilioDestination.validate_spec(spec.model_copy(update={"mapping": {"To": "to_address"}}))
    assert TwilioDestination.validate_spec(spec.model_copy(update={"object": "calls"}))
    assert not TwilioDestination.validate_spec(spec)
    warehouse = tmp_path / "w.duckdb"
    rows = case.make_actions(2)
    rows[0] = (*rows[0][:3], "y" * 1601, *rows[0][4:])
    write(warehouse, rows)
    result = sync(warehouse)
    assert (result.rejected, result.succeeded, result.requests) == (1, 1, 1)
