"""A local Klaviyo (revision 2026-07-15) for the demo and the tests, served under `/klaviyo`.

The subset of the real API Segue calls, with its documented shapes and limits:
JSON:API bodies and `application/vnd.api+json`, `Authorization: Klaviyo-API-Key`
and `revision` on every call (401 / 400 without), bulk profile import jobs
(≤10,000 profiles, ≤5 MB → 413; async: `processing` until polled, then
`complete` with per-record import errors for invalid emails or phone numbers
and profiles without an identifier), list membership add/remove by profile id
(≤1,000), profile lookup by `any(field,[...])`/`equals(field,"...")` filters,
Create Event with de-duplication on `unique_id`, and the per-endpoint rate
limits of the spec (`x-klaviyo-ratelimit`), answered with 429 and Retry-After.
"""

from __future__ import annotations

import json
import random
import re
from typing import Any

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from destinations.emulators import Emulator, Faults, LostResponse
from destinations.klaviyo.destination import (
    BULK_IMPORT,
    BULK_IMPORT_GET,
    CREATE_EVENT,
    GET_PROFILES,
    JSON_API,
    LIST_REMOVE,
    MAX_IMPORT_BYTES,
    MAX_IMPORT_PROFILES,
    RATE_LIMITS,
)

LIST_ADD = "POST /api/lists/{id}/relationships/profiles"
# Single-profile calls Segue does not make; other tools do (drt-core: create, then update on 409).
CREATE_PROFILE = "POST /api/profiles"
UPDATE_PROFILE = "PATCH /api/profiles/{id}"
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
E164 = re.compile(r"^\+[1-9]\d{6,14}$")
FILTER = re.compile(r"^(any|equals)\((email|phone_number|external_id|id),(.*)\)$")
ERRORS_PAGE = 100


IDENTIFIERS = ("external_id", "email", "phone_number")
_ids = random.Random()  # seeded from os.urandom: ids differ between runs, 104 random bits each


def _id() -> str:
    """A 26-character id like Klaviyo's (uuid4 cost ~12 us a profile in a 10,000-profile job; this ~1 us)."""
    return f"{_ids.getrandbits(104):026X}"


class KlaviyoEmulator(Emulator):
    prefix = "/klaviyo"
    rate_limits = {  # noqa: RUF012
        **RATE_LIMITS,
        LIST_ADD: RATE_LIMITS[LIST_REMOVE],
        CREATE_PROFILE: RATE_LIMITS[GET_PROFILES],  # the spec: 75/s burst, 750/m steady for all three
        UPDATE_PROFILE: RATE_LIMITS[GET_PROFILES],
    }

    def __init__(self, faults: Faults | None = None, job_polls_before_complete: int = 1):
        self.job_polls_before_complete = job_polls_before_complete
        super().__init__(faults)

    def reset_state(self) -> None:
        self.profiles: dict[str, dict[str, Any]] = {}
        self.by_ident: dict[tuple[str, str], str] = {}
        self.lists: dict[str, list[str]] = {}
        self.messages: list[dict[str, Any]] = []
        self.unique_ids: set[str] = set()
        self.jobs: dict[str, dict[str, Any]] = {}

    def state(self) -> dict[str, Any]:
        profiles = []
        for pid, attributes in self.profiles.items():
            profile = {"id": pid, **attributes}
            profile["phone"] = attributes.get("phone_number")
            profiles.append(profile)
        return {
            "profiles": profiles,
            "lists": {k: list(v) for k, v in self.lists.items()},
            "messages": list(self.messages),
            "jobs": {k: {x: y for x, y in v.items() if x != "errors"} for k, v in self.jobs.items()},
        }

    def error(self, status: int, code: str, detail: str) -> Response:
        error = {"id": _id(), "status": status, "code": code, "title": code.replace("_", " "), "detail": detail}
        body = {"errors": [{**error, "source": {"pointer": "/data/"}}]}
        return JSONResponse(body, status_code=status, media_type=JSON_API)

    def routes(self) -> list[Route]:
        return [
            Route("/api/profile-bulk-import-jobs", self._wrap(BULK_IMPORT, self.bulk_import), methods=["POST"]),
            Route("/api/profile-bulk-import-jobs/{job_id}", self._wrap(BULK_IMPORT_GET, self.get_job), methods=["GET"]),
            Route(
                "/api/profile-bulk-import-jobs/{job_id}/import-errors",
                self._wrap(BULK_IMPORT_GET, self.get_import_errors),
                methods=["GET"],
            ),
            Route("/api/profiles", self._wrap(GET_PROFILES, self.get_profiles), methods=["GET"]),
            # Klaviyo answers with and without the trailing slash; Starlette would redirect instead.
            *[
                Route(path, self._wrap(CREATE_PROFILE, self.create_profile), methods=["POST"])
                for path in ("/api/profiles", "/api/profiles/")
            ],
            *[
                Route(path, self._wrap(UPDATE_PROFILE, self.update_profile), methods=["PATCH"])
                for path in ("/api/profiles/{profile_id}", "/api/profiles/{profile_id}/")
            ],
            Route(
                "/api/lists/{list_id}/relationships/profiles",
                self._wrap(None, self.list_members),
                methods=["POST", "DELETE"],
            ),
            Route("/api/events", self._wrap(CREATE_EVENT, self.create_event), methods=["POST"]),
        ]

    def _wrap(self, endpoint: str | None, handler):
        async def endpoint_fn(request: Request) -> Response:
            body = await request.body()
            name = endpoint or (LIST_ADD if request.method == "POST" else LIST_REMOVE)
            return await run_in_threadpool(self._handle, name, handler, request, body)

        return endpoint_fn

    def _handle(self, endpoint: str, handler, request: Request, body: bytes) -> Response:
        auth = request.headers.get("authorization", "")
        if not auth.startswith("Klaviyo-API-Key ") or not auth.split(" ", 1)[1].strip():
            return self.error(401, "not_authenticated", "Missing or invalid Klaviyo-API-Key authorization.")
        if not request.headers.get("revision"):
            return self.error(400, "invalid", "The revision header is required.")
        content_type = request.headers.get("content-type", "").split(";")[0]
        accepted = (JSON_API,) if self.faults.strict_content_type else (JSON_API, "application/json")
        if request.method in ("POST", "PATCH", "DELETE") and body and content_type not in accepted:
            return self.error(415, "unsupported_media_type", f"Content-Type must be {JSON_API}.")
        refused = self.gate(endpoint)
        if refused is not None:
            return refused
        try:
            document = orjson.loads(body) if body else None
        except ValueError:
            return self.error(400, "invalid", "Request body is not valid JSON.")
        with self.lock:
            response = handler(request, document, len(body))
        if response.status_code < 300 and request.method != "GET" and self.lose_response():
            return LostResponse()
        return response

    # -- profiles ----------------------------------------------------------------------------------
    def _upsert_profile(self, attributes: dict[str, Any]) -> str:
        by_ident = self.by_ident
        pid = None
        for ident in IDENTIFIERS:
            value = attributes.get(ident)
            if value is not None:
                pid = by_ident.get((ident, value if value.__class__ is str else str(value)))
                if pid is not None:
                    break
        if pid is None:
            pid = _id()
            profile = self.profiles[pid] = {}
        else:
            profile = self.profiles[pid]
        for key, value in attributes.items():
            if value is None:
                continue
            if (key == "properties" or key == "location") and value.__class__ is dict:
                held = profile.get(key)
                if held is None:
                    profile[key] = dict(value)
                else:
                    held.update(value)
            else:
                profile[key] = value
        for ident in IDENTIFIERS:
            value = profile.get(ident)
            if value is not None:
                by_ident[(ident, value if value.__class__ is str else str(value))] = pid
        return pid

    @staticmethod
    def _profile_problem(attributes: dict[str, Any]) -> tuple[str, str] | None:
        email = attributes.get("email")
        phone = attributes.get("phone_number")
        if not (email or phone or attributes.get("external_id")):
            return "invalid", "A profile needs an email, phone_number or external_id."
        if email is not None and not EMAIL.match(str(email)):
            return "invalid", f"Invalid email address {email!r}."
        if phone is not None and not E164.match(str(phone)):
            return "invalid", f"Invalid phone number {phone!r}; expected E.164."
        return None

    def bulk_import(self, request: Request, document, size: int) -> Response:
        if size > MAX_IMPORT_BYTES:
            return self.error(413, "payload_too_large", "The maximum allowed payload size is 5MB.")
        try:
            data = document["data"]
            assert data["type"] == "profile-bulk-import-job"
            profiles = data["attributes"]["profiles"]["data"]
            lists = [x["id"] for x in (data.get("relationships") or {}).get("lists", {}).get("data", [])]
        except (KeyError, TypeError, AssertionError):
            return self.error(400, "invalid", "Body must be a profile-bulk-import-job document.")
        if not profiles or len(profiles) > MAX_IMPORT_PROFILES:
            return self.error(400, "invalid", "A job takes 1 to 10,000 profiles.")
        job_id = _id()
        errors = []
        completed = 0
        for index, item in enumerate(profiles):
            attributes = item.get("attributes") or {}
            problem = self._profile_problem(attributes)
            if problem:
                errors.append(
                    {
                        "type": "import-error",
                        "id": _id(),
                        "attributes": {
                            "code": problem[0],
                            "title": "Invalid input.",
                            "detail": problem[1],
                            "source": {"pointer": f"/data/attributes/profiles/data/{index}"},
                            "original_payload": attributes,
                        },
                    }
                )
                continue
            pid = self._upsert_profile(attributes)
            completed += 1
            for list_id in lists:
                members = self.lists.setdefault(list_id, [])
                if pid not in members:
                    members.append(pid)
        self.jobs[job_id] = {
            "status": "processing",
            "total_count": len(profiles),
            "completed_count": completed,
            "failed_count": len(errors),
            "polls": 0,
            "errors": errors,
            "lists": lists,
        }
        return JSONResponse({"data": self._job_resource(job_id)}, status_code=202, media_type=JSON_API)

    def _job_resource(self, job_id: str) -> dict[str, Any]:
        job = self.jobs[job_id]
        return {
            "type": "profile-bulk-import-job",
            "id": job_id,
            "attributes": {
                "status": job["status"],
                "created_at": "2026-01-01T00:00:00+00:00",
                "total_count": job["total_count"],
                "completed_count": job["completed_count"] if job["status"] == "complete" else 0,
                "failed_count": job["failed_count"] if job["status"] == "complete" else 0,
                "completed_at": None,
                "expires_at": None,
                "started_at": None,
            },
            "links": {"self": f"/api/profile-bulk-import-jobs/{job_id}"},
        }

    def get_job(self, request: Request, document, size: int) -> Response:
        job_id = request.path_params["job_id"]
        job = self.jobs.get(job_id)
        if job is None:
            return self.error(404, "not_found", f"No job {job_id}.")
        job["polls"] += 1
        if job["polls"] > self.job_polls_before_complete:
            job["status"] = "complete"
        return JSONResponse({"data": self._job_resource(job_id)}, media_type=JSON_API)

    def get_import_errors(self, request: Request, document, size: int) -> Response:
        job_id = request.path_params["job_id"]
        job = self.jobs.get(job_id)
        if job is None:
            return self.error(404, "not_found", f"No job {job_id}.")
        start = int(request.query_params.get("page[cursor]", "0"))
        page = job["errors"][start : start + ERRORS_PAGE]
        base = str(request.url).split("?")[0]
        links = {"self": str(request.url)}
        if start + ERRORS_PAGE < len(job["errors"]):
            links["next"] = f"{base}?page[cursor]={start + ERRORS_PAGE}"
        return JSONResponse({"data": page, "links": links}, media_type=JSON_API)

    def get_profiles(self, request: Request, document, size: int) -> Response:
        text = request.query_params.get("filter", "")
        match = FILTER.match(text)
        if not match:
            return self.error(400, "invalid", f"Unsupported filter {text!r}.")
        operator, field, raw = match.groups()
        try:
            values = json.loads(raw)
        except ValueError:
            return self.error(400, "invalid", f"Malformed filter value {raw!r}.")
        values = values if operator == "any" else [values]
        if len(values) > 100:
            return self.error(400, "invalid", "any() takes at most 100 values.")
        found = []
        for value in values:
            pid = value if field == "id" and value in self.profiles else self.by_ident.get((field, str(value)))
            if pid is not None:
                found.append(
                    {
                        "type": "profile",
                        "id": pid,
                        "attributes": dict(self.profiles[pid]),
                        "links": {"self": f"{request.base_url}api/profiles/{pid}/"},
                    }
                )
        return JSONResponse({"data": found, "links": {"self": str(request.url)}}, media_type=JSON_API)

    def _lookup(self, attributes: dict[str, Any]) -> str | None:
        for ident in ("external_id", "email", "phone_number"):
            value = attributes.get(ident)
            if value is not None and (ident, str(value)) in self.by_ident:
                return self.by_ident[(ident, str(value))]
        return None

    def _profile_resource(self, pid: str) -> dict[str, Any]:
        return {"type": "profile", "id": pid, "attributes": dict(self.profiles[pid])}

    def create_profile(self, request: Request, document, size: int) -> Response:
        """Create Profile: 201, or 409 `duplicate_profile` naming the existing id in meta."""
        try:
            attributes = document["data"]["attributes"]
            assert document["data"]["type"] == "profile"
        except (KeyError, TypeError, AssertionError):
            return self.error(400, "invalid", "Body must be a profile document.")
        problem = self._profile_problem(attributes)
        if problem:
            return self.error(400, problem[0], problem[1])
        existing = self._lookup(attributes)
        if existing is not None:
            response = self.error(409, "duplicate_profile", "A profile already exists with one of these identifiers.")
            body = json.loads(response.body)
            body["errors"][0]["meta"] = {"duplicate_profile_id": existing}
            return JSONResponse(body, status_code=409, media_type=JSON_API)
        pid = self._upsert_profile(attributes)
        return JSONResponse({"data": self._profile_resource(pid)}, status_code=201, media_type=JSON_API)

    def update_profile(self, request: Request, document, size: int) -> Response:
        pid = request.path_params["profile_id"]
        if pid not in self.profiles:
            return self.error(404, "not_found", f"No profile {pid}.")
        try:
            attributes = document["data"]["attributes"]
            assert document["data"]["type"] == "profile" and document["data"]["id"] == pid
        except (KeyError, TypeError, AssertionError):
            return self.error(400, "invalid", "Body must be a profile document whose id matches the path.")
        profile = self.profiles[pid]
        for key, value in attributes.items():
            if key in ("properties", "location") and isinstance(value, dict):
                profile.setdefault(key, {}).update(value)
            elif value is not None:
                profile[key] = value
        for ident in ("external_id", "email", "phone_number"):
            if profile.get(ident) is not None:
                self.by_ident[(ident, str(profile[ident]))] = pid
        return JSONResponse({"data": self._profile_resource(pid)}, media_type=JSON_API)

    def list_members(self, request: Request, document, size: int) -> Response:
        list_id = request.path_params["list_id"]
        try:
            ids = [x["id"] for x in document["data"] if x["type"] == "profile"]
        except (KeyError, TypeError):
            return self.error(400, "invalid", "Body must be {'data': [{'type': 'profile', 'id': ...}]}.")
        if len(ids) > 1000:
            return self.error(400, "invalid", "At most 1,000 profiles per request.")
        unknown = [pid for pid in ids if pid not in self.profiles]
        if unknown:
            return self.error(400, "invalid", f"Unknown profile ids {unknown[:3]}.")
        members = self.lists.setdefault(list_id, [])
        if request.method == "POST":
            members.extend(pid for pid in ids if pid not in members)
        else:
            self.lists[list_id] = [pid for pid in members if pid not in set(ids)]
        return Response(status_code=204)

    # -- events ------------------------------------------------------------------------------------
    def create_event(self, request: Request, document, size: int) -> Response:
        try:
            attributes = document["data"]["attributes"]
            assert document["data"]["type"] == "event"
            metric = attributes["metric"]["data"]["attributes"]["name"]
            profile = attributes["profile"]["data"].get("attributes") or {}
            properties = attributes["properties"]
        except (KeyError, TypeError, AssertionError):
            return self.error(400, "invalid", "Body must be an event document with properties, metric and profile.")
        problem = self._profile_problem(profile)
        if problem:
            return self.error(400, problem[0], problem[1])
        unique_id = attributes.get("unique_id")
        if unique_id is not None and unique_id in self.unique_ids:
            return Response(status_code=202)  # Klaviyo ignores an event whose unique_id it already holds
        pid = self._upsert_profile(profile)
        if unique_id is not None:
            self.unique_ids.add(unique_id)
        self.messages.append(
            {
                "action_id": unique_id,
                "to": profile.get("email") or profile.get("phone_number"),
                "metric": metric,
                "profile_id": pid,
                "properties": properties,
                "time": attributes.get("time"),
            }
        )
        return Response(status_code=202)
