"""OTLP/HTTP receivers: ``POST /v1/traces`` and ``POST /v1/logs`` (OpenTelemetry exporters and
the Collector's ``otlphttp`` exporter send here unchanged).

Authenticated with a project API key (``hyouka apikeys add``) as ``X-API-Key: hk_…`` or
``Authorization: Bearer hk_…``; a wrong key counts toward the per-address limit of sign-in
links (429 beyond; a valid key is accepted without reading the limit). Answers follow
OTLP/HTTP: 200 with an ``Export…ServiceResponse`` in the request's encoding (a
``partial_success`` counting rejected spans and why), or a 4xx with a
``google.rpc.Status``; 503 (retryable, ``Retry-After``) when the database cannot take the write.
A 200 is sent only after the transaction holding the spans committed.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from sqlalchemy.exc import DBAPIError

from hyouka.humans import api_key_by_secret, record_signin_failure, signin_blocked
from hyouka.traces.ingest import Outcome
from hyouka.traces.otlp import PROTOBUF, OtlpError
from hyouka.web.context import call_db, web
from hyouka.web.routes_api import ApiError
from hyouka.web.security import client_address

log = logging.getLogger("uvicorn.error")
router = APIRouter()

_GRPC = {400: 3, 401: 16, 403: 7, 404: 5, 413: 8, 415: 3, 429: 8, 503: 14}


def _is_protobuf(request: Request) -> bool:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    return kind in (PROTOBUF, "application/protobuf")


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _status_protobuf(code: int, message: str) -> bytes:
    """``google.rpc.Status{code, message}`` encoded by hand (two fields)."""
    text = message.encode("utf-8")
    return b"\x08" + _varint(code) + b"\x12" + _varint(len(text)) + text


def _failure(request: Request, status: int, message: str) -> Response:
    code = _GRPC.get(status, 2)
    headers = {"retry-after": "2"} if status == 503 else {}
    if status == 401:
        headers["www-authenticate"] = "Bearer"
    if _is_protobuf(request):
        return Response(_status_protobuf(code, message), status, headers, media_type=PROTOBUF)
    body = orjson.dumps({"code": code, "message": message})
    return Response(body, status, headers, media_type="application/json")


def _answer(request: Request, outcome: Outcome, kind: str) -> Response:
    text = outcome.message(kind if kind == "spans" else "log records")
    if outcome.rejected:
        log.warning("hyouka: OTLP %s", text)
    if _is_protobuf(request):  # the package is there: the request was parsed with it
        if kind == "spans":
            from opentelemetry.proto.collector.trace.v1 import trace_service_pb2 as tpb

            message: Any = tpb.ExportTraceServiceResponse()
            if outcome.rejected or text:
                message.partial_success.rejected_spans = outcome.rejected
                message.partial_success.error_message = text
        else:
            from opentelemetry.proto.collector.logs.v1 import logs_service_pb2 as lpb

            message = lpb.ExportLogsServiceResponse()
            if outcome.rejected or text:
                message.partial_success.rejected_log_records = outcome.rejected
                message.partial_success.error_message = text
        return Response(message.SerializeToString(), 200, media_type=PROTOBUF)
    partial: dict[str, Any] = {}
    if outcome.rejected or text:
        field = "rejectedSpans" if kind == "spans" else "rejectedLogRecords"
        partial = {"partialSuccess": {field: outcome.rejected, "errorMessage": text}}
    return Response(orjson.dumps(partial), 200, media_type="application/json")


def _key_id(request: Request, secret: str | None) -> int | None:
    """The API key's id; None (401) or ApiError 429 when refused.

    The key is looked up first: a valid 256-bit secret was not guessed, so the per-address
    failure limit is read only for a wrong key (one query per export instead of two; an
    exporter sends several requests a second)."""
    ctx = web(request)
    if secret:
        found = api_key_by_secret(ctx.store, ctx.project, secret)
        if found is not None:
            return found.id
    address = client_address(request)
    if signin_blocked(ctx.store, address, ctx.settings.signin_limit):
        raise ApiError(429, "error.too_many_attempts")
    if secret:
        record_signin_failure(ctx.store, address, ctx.settings.signin_limit)
    return None


async def _authenticated(request: Request) -> int | Response:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    secret = request.headers.get("x-api-key") or (
        token.strip() if scheme.lower() == "bearer" else None
    )
    try:
        found = await call_db(request, _key_id, request, secret)
    except ApiError as exc:
        return _failure(request, exc.status, _REASONS[429])
    if found is None:
        return _failure(request, 401, _REASONS[401])
    return found


_REASONS = {
    401: "a valid project API key is required (X-API-Key header; hyouka apikeys add)",
    429: "too many failed attempts from this address: wait and retry",
}


async def _export(request: Request, kind: str) -> Response:
    who = await _authenticated(request)
    if isinstance(who, Response):
        return who
    body = await request.body()
    traces = web(request).front.traces
    content_type = request.headers.get("content-type")
    encoding = request.headers.get("content-encoding")
    try:
        if kind == "spans":
            outcome = await run_in_threadpool(
                traces.ingest_spans, body, content_type, encoding, who
            )
        else:
            outcome = await run_in_threadpool(traces.ingest_logs, body, content_type, encoding)
    except OtlpError as exc:
        return _failure(request, exc.status, exc.message)
    except DBAPIError as exc:
        # nothing was committed: the exporter keeps the batch and retries
        log.warning("hyouka: OTLP %s not stored (database): %s", kind, exc)
        return _failure(request, 503, "the store cannot take the write now: retry")
    return _answer(request, outcome, kind)


@router.post("/v1/traces", include_in_schema=False)
async def otlp_traces(request: Request) -> Response:
    return await _export(request, "spans")


@router.post("/v1/logs", include_in_schema=False)
async def otlp_logs(request: Request) -> Response:
    return await _export(request, "logs")
