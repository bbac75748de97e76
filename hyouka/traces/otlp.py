"""Decoding OTLP/HTTP export requests (traces and logs), protobuf or JSON, gzip or not.

Both encodings become the same plain structures (:class:`Span`, :class:`LogRecord`) with
attribute values as Python values (``AnyValue`` arrays as lists, key-value lists as dicts,
bytes as hex), trace and span ids as lowercase hex. Protobuf is parsed by
``opentelemetry-proto``; OTLP/JSON (hex ids, int64 as strings, lowerCamelCase keys — snake_case
accepted too) is read here, since ``json_format`` would take the ids for base64.

A request that cannot be read at all (not protobuf, not JSON, a broken gzip stream, more than
:data:`DECODED_MAX` bytes once decompressed, more than :data:`ITEMS_MAX` spans or records) is
an :class:`OtlpError` with its HTTP status: nothing of it is stored. A span or record with a
broken id is rejected on its own (the OTLP partial-success answer counts it).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

DECODED_MAX = 32 * 1024 * 1024  # bytes of one request once decompressed
ITEMS_MAX = 20_000  # spans (or log records) in one request
PROTOBUF = "application/x-protobuf"
JSON = "application/json"


class OtlpError(Exception):
    """The whole request is refused: ``status`` (400, 413, 415) and a message saying why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(slots=True)
class Event:
    name: str
    time_ns: int
    attributes: dict[str, Any]


@dataclass(slots=True)
class Span:
    trace_id: str
    span_id: str
    parent_span_id: str | None
    name: str
    start_ns: int
    end_ns: int
    attributes: dict[str, Any]
    events: list[Event]
    status_code: int  # 0 unset, 1 ok, 2 error
    status_message: str
    resource: Mapping[str, Any]
    scope: str
    problem: str | None = None  # why it cannot be stored (a broken id): rejected


@dataclass(slots=True)
class LogRecord:
    trace_id: str
    span_id: str
    time_ns: int
    event_name: str
    body: Any
    attributes: dict[str, Any]
    resource: Mapping[str, Any]
    raw: bytes = field(repr=False, default=b"")  # what its hash is taken of
    problem: str | None = None


def media_type(content_type: str | None) -> str:
    kind = (content_type or "").split(";")[0].strip().lower()
    if kind in (PROTOBUF, "application/protobuf"):
        return PROTOBUF
    if kind == JSON:
        return JSON
    raise OtlpError(
        415,
        f"unsupported Content-Type '{content_type or ''}': send {PROTOBUF} or {JSON} (OTLP/HTTP)",
    )


def decompress(body: bytes, encoding: str | None) -> bytes:
    """The request body without its Content-Encoding (gzip, deflate or none), bounded."""
    kind = (encoding or "identity").strip().lower()
    if kind in ("", "identity"):
        return body
    if kind not in ("gzip", "deflate"):
        raise OtlpError(415, f"unsupported Content-Encoding '{encoding}': use gzip or none")
    wbits = 16 + zlib.MAX_WBITS if kind == "gzip" else zlib.MAX_WBITS
    inflater = zlib.decompressobj(wbits)
    try:
        out = inflater.decompress(body, DECODED_MAX + 1)
    except zlib.error as exc:
        raise OtlpError(400, f"the {kind} body cannot be decompressed: {exc}") from None
    if len(out) > DECODED_MAX or inflater.unconsumed_tail:
        raise OtlpError(413, f"the request is over {DECODED_MAX // (1024 * 1024)} MB decompressed")
    if not inflater.eof:
        raise OtlpError(400, f"the {kind} body is truncated")
    return out


# -- protobuf ---------------------------------------------------------------------------------


def _pb_value(value: Any) -> Any:
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [_pb_value(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: _pb_value(kv.value) for kv in value.kvlist_value.values}
    if kind == "bytes_value":
        return bytes(value.bytes_value).hex()
    return getattr(value, kind)


def _pb_attrs(items: Any) -> dict[str, Any]:
    return {kv.key: _pb_value(kv.value) for kv in items}


def _pb_id(raw: bytes, size: int, what: str) -> tuple[str, str | None]:
    if len(raw) != size or not any(raw):
        return raw.hex(), f"{what} must be {size} bytes, not all zero (got {len(raw)})"
    return raw.hex(), None


def _count(n: int, what: str) -> None:
    if n > ITEMS_MAX:
        raise OtlpError(413, f"the request holds {n} {what}: at most {ITEMS_MAX} per request")


def _needs_proto() -> None:
    try:
        import opentelemetry.proto  # noqa: F401
    except ImportError:
        raise OtlpError(
            415,
            "OTLP protobuf needs opentelemetry-proto on the server: pip install 'hyouka[otel]' "
            f"(or send {JSON})",
        ) from None


def _pb_parse(message: Any, body: bytes, what: str) -> Any:
    from google.protobuf.message import DecodeError

    try:
        return message.FromString(body)
    except (DecodeError, ValueError, RuntimeError) as exc:
        raise OtlpError(
            400, f"the body is not a valid OTLP {what} protobuf message: {exc}"
        ) from None


def spans_from_protobuf(body: bytes) -> list[Span]:
    _needs_proto()
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

    request = _pb_parse(ExportTraceServiceRequest, body, "ExportTraceServiceRequest")
    _count(sum(len(s.spans) for r in request.resource_spans for s in r.scope_spans), "spans")
    out: list[Span] = []
    for rs in request.resource_spans:
        resource = _pb_attrs(rs.resource.attributes)
        for ss in rs.scope_spans:
            scope = ss.scope.name
            for s in ss.spans:
                trace_id, p1 = _pb_id(s.trace_id, 16, "traceId")
                span_id, p2 = _pb_id(s.span_id, 8, "spanId")
                parent = bytes(s.parent_span_id).hex() or None
                events = [
                    Event(e.name, e.time_unix_nano, _pb_attrs(e.attributes)) for e in s.events
                ]
                out.append(
                    Span(
                        trace_id, span_id, parent, s.name, s.start_time_unix_nano,
                        s.end_time_unix_nano, _pb_attrs(s.attributes), events, s.status.code,
                        s.status.message, resource, scope, p1 or p2,
                    )
                )  # fmt: skip
    return out


def logs_from_protobuf(body: bytes) -> list[LogRecord]:
    _needs_proto()
    from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

    request = _pb_parse(ExportLogsServiceRequest, body, "ExportLogsServiceRequest")
    _count(sum(len(s.log_records) for r in request.resource_logs for s in r.scope_logs), "records")
    out: list[LogRecord] = []
    for rl in request.resource_logs:
        resource = _pb_attrs(rl.resource.attributes)
        for sl in rl.scope_logs:
            for r in sl.log_records:
                attrs = _pb_attrs(r.attributes)
                name = r.event_name or str(attrs.get("event.name") or "")
                body_value = _pb_value(r.body) if r.HasField("body") else None
                out.append(
                    LogRecord(
                        bytes(r.trace_id).hex(), bytes(r.span_id).hex(),
                        r.time_unix_nano or r.observed_time_unix_nano, name, body_value, attrs,
                        resource, r.SerializeToString(deterministic=True),
                    )
                )  # fmt: skip
    return out


# -- JSON -------------------------------------------------------------------------------------


def _get(obj: Mapping[str, Any], camel: str) -> Any:
    if camel in obj:
        return obj[camel]
    snake = "".join("_" + c.lower() if c.isupper() else c for c in camel)
    return obj.get(snake)


def _list(obj: Any, key: str, where: str) -> list[Any]:
    if not isinstance(obj, Mapping):
        raise OtlpError(400, f"{where}: expected a JSON object, got {type(obj).__name__}")
    value = _get(obj, key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise OtlpError(400, f"{where}.{key}: expected a list, got {type(value).__name__}")
    return value


def _obj(obj: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any]:
    value = _get(obj, key)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise OtlpError(400, f"{where}.{key}: expected a JSON object, got {type(value).__name__}")
    return value


def _json_value(value: Any, where: str) -> Any:
    if not isinstance(value, Mapping) or not value:
        return None
    for key, item in value.items():
        if key in ("stringValue", "string_value", "boolValue", "bool_value"):
            return item
        if key in ("intValue", "int_value"):
            try:
                return int(item)
            except (TypeError, ValueError):
                raise OtlpError(400, f"{where}: intValue {item!r} is not an integer") from None
        if key in ("doubleValue", "double_value"):
            try:
                return float(item)
            except (TypeError, ValueError):
                raise OtlpError(400, f"{where}: doubleValue {item!r} is not a number") from None
        if key in ("arrayValue", "array_value"):
            return [_json_value(v, where) for v in _list(item, "values", where)]
        if key in ("kvlistValue", "kvlist_value"):
            return _json_attrs(_list(item, "values", where), where)
        if key in ("bytesValue", "bytes_value"):
            return str(item)
    return None


def _json_attrs(items: list[Any], where: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for i, kv in enumerate(items):
        if not isinstance(kv, Mapping) or not isinstance(kv.get("key"), str):
            raise OtlpError(400, f"{where}.attributes[{i}]: expected {{'key': …, 'value': …}}")
        out[kv["key"]] = _json_value(kv.get("value"), f"{where}.attributes[{kv['key']}]")
    return out


def _json_int(value: Any, where: str) -> int:
    if value is None or value == "":
        return 0
    try:
        return int(value)
    except (TypeError, ValueError):
        raise OtlpError(400, f"{where}: {value!r} is not an integer") from None


def _json_id(value: Any, size: int, what: str) -> tuple[str, str | None]:
    text = str(value or "").lower()
    ok = len(text) == size * 2 and all(c in "0123456789abcdef" for c in text)
    if not ok or text.strip("0") == "":
        return text[: size * 2], f"{what} must be {size * 2} hex digits, not all zero"
    return text, None


def _json_doc(body: bytes, top: str) -> Mapping[str, Any]:
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise OtlpError(400, f"the body is not JSON: {exc}") from None
    if not isinstance(doc, Mapping):
        raise OtlpError(400, f"the body must be a JSON object with '{top}'")
    return doc


def _json_status(value: Any) -> int:
    if isinstance(value, str):
        return {"STATUS_CODE_OK": 1, "STATUS_CODE_ERROR": 2}.get(value.upper(), 0)
    return value if isinstance(value, int) else 0


def _json_spans(doc: Mapping[str, Any]) -> Iterator[Span]:
    for i, rs in enumerate(_list(doc, "resourceSpans", "")):
        where = f"resourceSpans[{i}]"
        resource = _json_attrs(
            _list(_obj(rs, "resource", where), "attributes", where + ".resource"), where
        )
        for j, ss in enumerate(_list(rs, "scopeSpans", where)):
            swhere = f"{where}.scopeSpans[{j}]"
            scope = str(_obj(ss, "scope", swhere).get("name") or "")
            for k, s in enumerate(_list(ss, "spans", swhere)):
                sp = f"{swhere}.spans[{k}]"
                trace_id, p1 = _json_id(_get(s, "traceId"), 16, "traceId")
                span_id, p2 = _json_id(_get(s, "spanId"), 8, "spanId")
                parent = str(_get(s, "parentSpanId") or "").lower() or None
                events = [
                    Event(
                        str(e.get("name") or ""),
                        _json_int(_get(e, "timeUnixNano"), f"{sp}.events[{n}].timeUnixNano"),
                        _json_attrs(_list(e, "attributes", f"{sp}.events[{n}]"), sp),
                    )
                    for n, e in enumerate(_list(s, "events", sp))
                ]
                status = _obj(s, "status", sp)
                yield Span(
                    trace_id, span_id, parent, str(s.get("name") or ""),
                    _json_int(_get(s, "startTimeUnixNano"), sp + ".startTimeUnixNano"),
                    _json_int(_get(s, "endTimeUnixNano"), sp + ".endTimeUnixNano"),
                    _json_attrs(_list(s, "attributes", sp), sp), events,
                    _json_status(status.get("code")), str(status.get("message") or ""),
                    resource, scope, p1 or p2,
                )  # fmt: skip


def spans_from_json(body: bytes) -> list[Span]:
    doc = _json_doc(body, "resourceSpans")
    out: list[Span] = []
    for span in _json_spans(doc):
        out.append(span)
        _count(len(out), "spans")
    return out


def logs_from_json(body: bytes) -> list[LogRecord]:
    doc = _json_doc(body, "resourceLogs")
    out: list[LogRecord] = []
    for i, rl in enumerate(_list(doc, "resourceLogs", "")):
        where = f"resourceLogs[{i}]"
        resource = _json_attrs(
            _list(_obj(rl, "resource", where), "attributes", where + ".resource"), where
        )
        for j, sl in enumerate(_list(rl, "scopeLogs", where)):
            for k, r in enumerate(_list(sl, "logRecords", f"{where}.scopeLogs[{j}]")):
                rw = f"{where}.scopeLogs[{j}].logRecords[{k}]"
                attrs = _json_attrs(_list(r, "attributes", rw), rw)
                name = str(_get(r, "eventName") or attrs.get("event.name") or "")
                time_ns = _json_int(_get(r, "timeUnixNano"), rw) or _json_int(
                    _get(r, "observedTimeUnixNano"), rw
                )
                out.append(
                    LogRecord(
                        str(_get(r, "traceId") or "").lower(), str(_get(r, "spanId") or "").lower(),
                        time_ns, name, _json_value(r.get("body"), rw + ".body"), attrs, resource,
                        orjson.dumps(r, option=orjson.OPT_SORT_KEYS),
                    )
                )  # fmt: skip
                _count(len(out), "records")
    return out


def decode_spans(body: bytes, content_type: str | None, encoding: str | None) -> list[Span]:
    kind = media_type(content_type)
    raw = decompress(body, encoding)
    return spans_from_protobuf(raw) if kind == PROTOBUF else spans_from_json(raw)


def decode_logs(body: bytes, content_type: str | None, encoding: str | None) -> list[LogRecord]:
    kind = media_type(content_type)
    raw = decompress(body, encoding)
    return logs_from_protobuf(raw) if kind == PROTOBUF else logs_from_json(raw)
