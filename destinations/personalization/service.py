"""The personalization store and its HTTP service: what the website asks about a visitor.

`ProfileStore` keeps one JSON document per customer (customer_key) in SQLite
(WAL mode: readers never wait for the sync's writer, the writer never waits
for readers) and an index of every identifier of the customer (email, phone,
customer_id, loyalty_id, anonymous_id) -> customer_key.

`ProfileService` serves it with starlette:

- `GET /v1/profiles/{identifier_type}/{identifier_value}` (header `X-Api-Key`
  = the read key): the customer's document, the same shape for every
  identifier type; 404 with a JSON body naming the identifier when unknown,
  400 for an unknown identifier type, 401 without the key;
- `PUT /v1/profiles` and `POST /v1/profiles/delete` (header `X-Api-Key` = the
  write key): the write API the sync engine calls through its ordinary HTTP
  transport (batches of at most MAX_WRITE_DOCUMENTS documents and
  MAX_WRITE_BYTES, each document accepted or rejected on its own, in one
  transaction, idempotent so a retried batch does no harm);
- `GET /health`.

`segue personalization serve` runs it; `segue emulators` mounts the same
service under `/personalization` with the emulator switches (CONTRACT §5).
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import threading
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

DEFAULT_DB = "./personalization.sqlite3"
MAX_WRITE_DOCUMENTS = 1_000
MAX_WRITE_BYTES = 5 * 1024 * 1024
API_KEY_HEADER = "X-Api-Key"  # starlette reads headers case-insensitively

# identifier_type in the URL -> the type stored (marts.customer_identifiers' names; a device is an anonymous_id)
URL_TYPES = {
    "email": "email",
    "phone": "phone",
    "customer_id": "customer_id",
    "loyalty_id": "loyalty_id",
    "device_id": "anonymous_id",
    "anonymous_id": "anonymous_id",
}
IDENTIFIER_TYPES = ("email", "phone", "customer_id", "loyalty_id", "anonymous_id")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
E164 = re.compile(r"^\+[1-9]\d{6,14}$")
PHONE_NOISE = re.compile(r"[\s().\-]")

UPSERT = "PUT /v1/profiles"
DELETE = "POST /v1/profiles/delete"
READ = "GET /v1/profiles/{identifier_type}/{identifier_value}"

SCHEMA = [
    """create table if not exists profiles (
        customer_key text primary key,
        document text not null,
        updated_at text not null)""",
    """create table if not exists identifiers (
        identifier_type text not null,
        identifier_value text not null,
        customer_key text not null,
        primary key (identifier_type, identifier_value)) without rowid""",
    "create index if not exists identifiers_by_customer on identifiers (customer_key)",
]


def normalize_identifier(identifier_type: str, value: str) -> str:
    """As staging writes it (CONTRACT §2): emails trimmed and lower-cased, phones E.164, ids trimmed."""
    value = value.strip()
    if identifier_type == "email":
        return value.lower()
    if identifier_type == "phone":
        value = PHONE_NOISE.sub("", value)
        return "+" + value[2:] if value.startswith("00") else value
    if identifier_type == "anonymous_id":
        return value.lower()
    return value


class DocumentError(ValueError):
    """A document the store refuses; the message names the field."""


def _string_list(document: dict[str, Any], path: str, value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise DocumentError(f"{path}: expected a list of non-empty strings, got {json.dumps(value)[:80]}")
    return value


def check_document(document: Any) -> tuple[str, list[tuple[str, str]]]:
    """The document's key and its normalized identifiers; DocumentError names the offending field."""
    if not isinstance(document, dict):
        raise DocumentError("document: expected a JSON object")
    key = document.get("customer_key")
    if not isinstance(key, str) or not key.strip():
        raise DocumentError("customer_key: required, a non-empty string")
    identifiers = document.get("identifiers") or {}
    if not isinstance(identifiers, dict):
        raise DocumentError("identifiers: expected an object of identifier type -> list of values")
    pairs: list[tuple[str, str]] = []
    for identifier_type, values in identifiers.items():
        if identifier_type not in IDENTIFIER_TYPES:
            raise DocumentError(f"identifiers.{identifier_type}: unknown identifier type (one of {IDENTIFIER_TYPES})")
        for raw in _string_list(document, f"identifiers.{identifier_type}", values):
            value = normalize_identifier(identifier_type, raw)
            if identifier_type == "email" and not EMAIL.match(value):
                raise DocumentError(f"identifiers.email: {raw!r} is not an email address")
            if identifier_type == "phone" and not E164.match(value):
                raise DocumentError(f"identifiers.phone: {raw!r} is not a phone number in E.164")
            pairs.append((identifier_type, value))
    if "segments" in document and document["segments"] is not None:
        _string_list(document, "segments", document["segments"])
    loyalty = document.get("loyalty")
    if loyalty is not None:
        if not isinstance(loyalty, dict):
            raise DocumentError("loyalty: expected an object")
        points = loyalty.get("points")
        if points is not None and (not isinstance(points, int | float) or isinstance(points, bool)):
            raise DocumentError(f"loyalty.points: expected a number, got {points!r}")
    action = document.get("next_action")
    if action is not None:
        if not isinstance(action, dict):
            raise DocumentError("next_action: expected an object or null")
        products = action.get("products")
        if products is not None and (
            not isinstance(products, list) or not all(isinstance(p, dict) and p.get("product_id") for p in products)
        ):
            raise DocumentError("next_action.products: expected a list of objects with a product_id")
    return key, pairs


class ProfileStore:
    """SQLite in WAL mode; one connection per thread, writes serialized by a lock."""

    def __init__(self, path: str | Path):
        self.path = str(path)
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._write_lock = threading.Lock()
        con = self._connection()
        with self._write_lock:
            mode = con.execute("pragma journal_mode = wal").fetchone()[0]
            if mode.lower() != "wal":
                raise RuntimeError(f"{self.path}: SQLite refused WAL mode (journal_mode is {mode})")
            for statement in SCHEMA:
                con.execute(statement)
            con.commit()

    def _connection(self) -> sqlite3.Connection:
        con = getattr(self._local, "con", None)
        if con is None:
            con = sqlite3.connect(self.path, timeout=30, check_same_thread=False)
            con.execute("pragma synchronous = normal")  # WAL: durable at checkpoints, never corrupt
            con.execute("pragma busy_timeout = 30000")
            self._local.con = con
        return con

    def journal_mode(self) -> str:
        return self._connection().execute("pragma journal_mode").fetchone()[0]

    def lookup_text(self, identifier_type: str, value: str) -> str | None:
        """The stored document as JSON text (served as is: no parse and re-serialize per request)."""
        row = (
            self._connection()
            .execute(
                "select p.document from identifiers as i join profiles as p on p.customer_key = i.customer_key "
                "where i.identifier_type = ? and i.identifier_value = ?",
                (identifier_type, value),
            )
            .fetchone()
        )
        return row[0] if row else None

    def lookup(self, identifier_type: str, value: str) -> dict[str, Any] | None:
        text = self.lookup_text(identifier_type, value)
        return json.loads(text) if text is not None else None

    def upsert(self, documents: list[Any]) -> list[dict[str, Any]]:
        """Write every valid document (one transaction); one result per document, in order."""
        results: list[dict[str, Any]] = []
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        con = self._connection()
        with self._write_lock:
            try:
                for index, document in enumerate(documents):
                    try:
                        key, pairs = check_document(document)
                    except DocumentError as exc:
                        key = document.get("customer_key") if isinstance(document, dict) else None
                        results.append({"index": index, "customer_key": key, "status": "rejected", "error": str(exc)})
                        continue
                    con.execute("delete from identifiers where customer_key = ?", (key,))
                    # An identifier now on this customer moves here (a re-resolved identity): the latest write wins.
                    con.executemany(
                        "insert or replace into identifiers values (?, ?, ?)", [(t, v, key) for t, v in pairs]
                    )
                    con.execute(
                        "insert or replace into profiles values (?, ?, ?)",
                        (key, json.dumps({**document, "updated_at": now}, separators=(",", ":")), now),
                    )
                    results.append({"index": index, "customer_key": key, "status": "ok"})
                con.commit()
            except BaseException:
                con.rollback()
                raise
        return results

    def delete(self, keys: Iterable[str]) -> int:
        keys = [(k,) for k in keys]
        con = self._connection()
        with self._write_lock:
            try:
                con.executemany("delete from identifiers where customer_key = ?", keys)
                deleted = con.executemany("delete from profiles where customer_key = ?", keys).rowcount
                con.commit()
            except BaseException:
                con.rollback()
                raise
        return deleted

    def reset(self) -> None:
        con = self._connection()
        with self._write_lock:
            con.execute("delete from identifiers")
            con.execute("delete from profiles")
            con.commit()

    def documents(self) -> Iterable[dict[str, Any]]:
        for (text,) in self._connection().execute("select document from profiles order by customer_key"):
            yield json.loads(text)

    def count(self) -> int:
        return self._connection().execute("select count(*) from profiles").fetchone()[0]

    def close(self) -> None:
        con = getattr(self._local, "con", None)
        if con is not None:
            con.close()
            self._local.con = None


def error(status: int, code: str, detail: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": {"status": status, "code": code, "detail": detail, **extra}}, status_code=status)


Gate = Callable[[str], Response | None]


class ProfileService:
    """The routes; `read_key`/`write_key` None means any non-empty key is accepted (the emulator)."""

    def __init__(
        self,
        store: ProfileStore,
        read_key: str | None,
        write_key: str | None,
        *,
        writes: bool = True,
        gate: Gate | None = None,
        lose_response: Callable[[], bool] | None = None,
    ):
        self.store, self.read_key, self.write_key = store, read_key, write_key
        self.writes, self.gate, self.lose_response = writes, gate, lose_response

    @staticmethod
    def _authorized(request: Request, key: str | None) -> bool:
        given = request.headers.get(API_KEY_HEADER, "").strip()
        return bool(given) and (key is None or given == key)

    async def read(self, request: Request) -> Response:
        if not self._authorized(request, self.read_key):
            return error(401, "not_authenticated", f"Send the read API key in the {API_KEY_HEADER} header.")
        if self.gate is not None:
            refused = self.gate(READ)
            if refused is not None:
                return refused
        url_type = request.path_params["identifier_type"]
        identifier_type = URL_TYPES.get(url_type)
        if identifier_type is None:
            return error(
                400, "unknown_identifier_type", f"identifier_type {url_type!r} is not one of {sorted(URL_TYPES)}."
            )
        raw = request.path_params["identifier_value"]
        value = normalize_identifier(identifier_type, raw)
        document = self.store.lookup_text(identifier_type, value)
        if document is None:
            return error(
                404,
                "profile_not_found",
                f"No customer holds {url_type} {value!r}.",
                identifier_type=url_type,
                identifier_value=value,
            )
        matched = json.dumps({"identifier_type": url_type, "identifier_value": value}, separators=(",", ":"))
        return Response(f'{{"matched":{matched},"profile":{document}}}', media_type="application/json")

    async def _write(self, request: Request, endpoint: str, handler) -> Response:
        if not self._authorized(request, self.write_key):
            return error(401, "not_authenticated", f"Send the write API key in the {API_KEY_HEADER} header.")
        body = await request.body()
        return await run_in_threadpool(self._write_sync, endpoint, handler, request, body)

    def _write_sync(self, endpoint: str, handler, request: Request, body: bytes) -> Response:
        if self.gate is not None:
            refused = self.gate(endpoint)
            if refused is not None:
                return refused
        if len(body) > MAX_WRITE_BYTES:
            return error(413, "payload_too_large", f"A request body holds at most {MAX_WRITE_BYTES:,} bytes.")
        if request.headers.get("content-type", "").split(";")[0] != "application/json":
            return error(415, "unsupported_media_type", "Content-Type must be application/json.")
        try:
            document = json.loads(body)
        except ValueError:
            return error(400, "invalid_json", "The request body is not valid JSON.")
        response = handler(document)
        if response.status_code < 300 and self.lose_response is not None and self.lose_response():
            from destinations.emulators import LostResponse

            return LostResponse()
        return response

    def _upsert(self, document: Any) -> Response:
        profiles = document.get("profiles") if isinstance(document, dict) else None
        if not isinstance(profiles, list) or not profiles:
            return error(400, "invalid_body", 'Body must be {"profiles": [document, ...]} with at least one document.')
        if len(profiles) > MAX_WRITE_DOCUMENTS:
            return error(400, "too_many_documents", f"At most {MAX_WRITE_DOCUMENTS:,} documents per request.")
        results = self.store.upsert(profiles)
        return JSONResponse({"results": results})

    def _delete(self, document: Any) -> Response:
        keys = document.get("customer_keys") if isinstance(document, dict) else None
        if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
            return error(400, "invalid_body", 'Body must be {"customer_keys": ["...", ...]}.')
        if len(keys) > MAX_WRITE_DOCUMENTS:
            return error(400, "too_many_documents", f"At most {MAX_WRITE_DOCUMENTS:,} keys per request.")
        return JSONResponse({"deleted": self.store.delete(keys), "requested": len(keys)})

    async def upsert(self, request: Request) -> Response:
        return await self._write(request, UPSERT, self._upsert)

    async def delete(self, request: Request) -> Response:
        return await self._write(request, DELETE, self._delete)

    async def health(self, request: Request) -> Response:
        return JSONResponse({"status": "ok", "journal_mode": self.store.journal_mode()})

    def routes(self) -> list[Route]:
        routes = [
            Route("/health", self.health, methods=["GET"]),
            Route("/v1/profiles/{identifier_type}/{identifier_value:path}", self.read, methods=["GET"]),
        ]
        if self.writes:
            routes += [
                Route("/v1/profiles", self.upsert, methods=["PUT"]),
                Route("/v1/profiles/delete", self.delete, methods=["POST"]),
            ]
        return routes


def store_path() -> str:
    return os.environ.get("PERSONALIZATION_DB") or DEFAULT_DB


def create_app(store: ProfileStore, read_key: str, write_key: str | None) -> Starlette:
    """The service `segue personalization serve` runs: writes only when a write key is configured."""
    if not read_key:
        raise ValueError("the read API key is empty (set PERSONALIZATION_READ_KEY)")
    service = ProfileService(store, read_key, write_key, writes=bool(write_key))
    app = Starlette(routes=service.routes())
    app.state.store = store
    return app


def app_from_env() -> Starlette:
    """uvicorn's factory for `segue personalization serve` (each worker process opens the store itself)."""
    read_key = os.environ.get("PERSONALIZATION_READ_KEY", "").strip()
    write_key = os.environ.get("PERSONALIZATION_API_KEY", "").strip() or None
    return create_app(ProfileStore(store_path()), read_key, write_key)
