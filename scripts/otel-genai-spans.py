#!/usr/bin/env python3
"""Replay a DistillWatch traffic file as OpenTelemetry GenAI spans, using the real OTel SDK.

Each exchange record of a traffic file (JSON Lines, optionally gzip; see
shared/spec/traffic-format.md) becomes one GenAI client span, following the OTel GenAI
semantic conventions (https://opentelemetry.io/docs/specs/semconv/gen-ai/gen-ai-spans/):

  * name "{operation} {model}", kind CLIENT, start = the record's time, end = start +
    latency_ms (end = start when latency_ms is missing), integer nanoseconds;
  * the child of a non-GenAI span (kind SERVER, "POST /v1/chat/completions", same start
    and end), so a receiver has to tell GenAI spans from other spans; every record is its
    own trace;
  * resource service.name=llm-gateway;
  * gen_ai.* / http / client / user_agent / user.id attributes from the record's fields
    (omitted when the field is absent or null), gen_ai.system_instructions and
    gen_ai.input.messages as JSON strings in the semconv "parts" format, and the traffic
    format's own field names for fields that have no semconv name (request_id,
    api_key_id, asn, country, client_fingerprint, thinking, tool_count);
  * status >= 400 gives span status ERROR and error.type=str(status).

The spans are exported by a real OTel exporter, chosen with --exporter:

  proto-http  opentelemetry-exporter-otlp-proto-http (OTLP/HTTP, protobuf body)
  json-http   opentelemetry-exporter-otlp-json-http  (OTLP/HTTP, JSON body)
  json-file   opentelemetry-exporter-otlp-json-file  (OTLP JSON Lines, one export a line)

Only the chosen exporter's package is imported, so the script runs in a venv that has
just that exporter (proto-http and the json exporters pin different versions of their
shared packages and cannot live in one venv).

Spans go through a BatchSpanProcessor (--batch-size spans per export). Nothing is
dropped: the script never lets more spans wait than the processor's queue holds (it
flushes synchronously before that), flushes at the end, and counts every export's
result; it exits 1 if any export failed or any span was not exported. Malformed input
lines (bad JSON, missing time or account_id, wrong types) are reported with their line
number and skipped, as the traffic format requires. A one-line summary goes to stderr.

Usage:
  otel-genai-spans.py TRAFFIC [--exporter proto-http|json-http|json-file]
                      [--endpoint URL] [--header NAME=VALUE ...] [--gzip]
                      [--out PATH] [--limit N] [--batch-size N] [--timeout SECONDS]

Examples:
  /tmp/otel-venv/bin/python scripts/otel-genai-spans.py traffic.jsonl.gz \\
      --exporter proto-http --endpoint http://127.0.0.1:4318/v1/traces --gzip \\
      --header 'Authorization=Bearer x'
  /tmp/otel-json-venv/bin/python scripts/otel-genai-spans.py traffic.jsonl.gz \\
      --exporter json-file --out spans.jsonl

--endpoint is the full URL including /v1/traces (default http://localhost:4318/v1/traces).
--out is for json-file (default stdout; the file is truncated first, and a name ending in
.gz is written gzip-compressed). --gzip is for the http exporters. Exit status: 0 when
every span was exported, 1 when an export failed, 2 on bad arguments or an unreadable file.
"""
from __future__ import annotations

import argparse
import calendar
import contextlib
import gzip
import io
import itertools
import json
import re
import sys
import threading
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import IO, Any, Iterator, Sequence

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanLimits, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SpanExporter,
    SpanExportResult,
)
from opentelemetry.sdk.trace.sampling import ALWAYS_ON
from opentelemetry.trace import SpanKind, Status, StatusCode

EXPORTERS = ("proto-http", "json-http", "json-file")
DEFAULT_ENDPOINT = "http://localhost:4318/v1/traces"
SERVICE_NAME = "llm-gateway"
PROVIDER_NAME = "openai"
SCOPE_NAME = "distillwatch.otel-genai-spans"
PARENT_NAME = "POST /v1/chat/completions"
PARENT_PATH = "/v1/chat/completions"
MALFORMED_SHOWN = 20  # malformed lines reported one by one; the rest only counted


# --------------------------------------------------------------------------- input


class MalformedRecord(ValueError):
    """A traffic line that cannot be used (bad JSON, missing or mistyped field)."""


# Epoch numbers: the unit follows from the magnitude for times between 2000 and 2100
# (traffic format revision 1.1); anything outside every range is rejected.
_EPOCH_2000 = 946_684_800
_EPOCH_2100 = 4_102_444_800
_EPOCH_UNITS = ((1, "s"), (10**3, "ms"), (10**6, "us"), (10**9, "ns"))

_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?"
    r"(?:([Zz])|([+-])(\d{2}):(\d{2}))"
)


def parse_time_ns(value: Any) -> int:
    """Return a traffic `time` value as integer nanoseconds since the epoch, exactly."""
    if isinstance(value, str):
        m = _RFC3339.fullmatch(value.strip())
        if not m:
            raise MalformedRecord(f"time {value!r} is not RFC 3339 with an offset")
        year, month, day, hour, minute, second = (int(m.group(i)) for i in range(1, 7))
        if not (1 <= month <= 12 and 1 <= day <= 31 and hour <= 23 and minute <= 59 and second <= 60):
            raise MalformedRecord(f"time {value!r} is out of range")
        seconds = calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0))
        if m.group(9):
            offset = (int(m.group(10)) * 60 + int(m.group(11))) * 60
            seconds -= offset if m.group(9) == "+" else -offset
        fraction = (m.group(7) or "")[:9].ljust(9, "0")
        return seconds * 10**9 + int(fraction)
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        raise MalformedRecord(f"time {value!r} is neither a string nor a number")
    for scale, _unit in _EPOCH_UNITS:
        if _EPOCH_2000 * scale <= value < _EPOCH_2100 * scale:
            return int((Decimal(value) * (10**9 // scale)).to_integral_value())
    raise MalformedRecord(f"epoch time {value} is outside 2000-2100 in s, ms, us and ns")


# field -> accepted JSON types (after parsing floats as Decimal); bool is never an int here
_FIELD_TYPES: dict[str, tuple[type, ...]] = {
    "account_id": (str,),
    "request_id": (str,),
    "api_key_id": (str,),
    "model": (str,),
    "operation": (str,),
    "input_tokens": (int,),
    "output_tokens": (int,),
    "reasoning_tokens": (int,),
    "max_tokens": (int,),
    "temperature": (int, Decimal),
    "stream": (bool,),
    "thinking": (bool,),
    "tool_count": (int,),
    "message_count": (int,),
    "finish_reason": (str,),
    "status": (int,),
    "latency_ms": (int, Decimal),
    "client_ip": (str,),
    "asn": (int,),
    "country": (str,),
    "user_agent": (str,),
    "client_fingerprint": (str,),
    "system": (str,),
    "prompt": (str,),
}


def validate(record: Any) -> dict:
    """Check a decoded line against the traffic format; null counts as absent."""
    if not isinstance(record, dict):
        raise MalformedRecord("line is not a JSON object")
    for required in ("time", "account_id"):
        if record.get(required) is None:
            raise MalformedRecord(f"missing {required}")
    for name, types in _FIELD_TYPES.items():
        value = record.get(name)
        if value is None:
            continue
        is_bool = isinstance(value, bool)
        if (bool in types) != is_bool or not isinstance(value, types):
            raise MalformedRecord(f"{name} has the wrong type ({type(value).__name__})")
    return record


@contextlib.contextmanager
def open_text(path: str) -> Iterator[IO[str]]:
    """Open a traffic file as text (gzip recognised by its magic bytes; '-' is stdin)."""
    with contextlib.ExitStack() as stack:
        raw = sys.stdin.buffer if path == "-" else stack.enter_context(open(path, "rb"))
        if raw.peek(2)[:2] == b"\x1f\x8b":
            raw = stack.enter_context(gzip.GzipFile(fileobj=raw))
        yield io.TextIOWrapper(raw, encoding="utf-8")


@dataclass
class InputStats:
    lines: int = 0
    records: int = 0
    malformed: int = 0


def read_records(path: str, stats: InputStats) -> Iterator[tuple[dict, int]]:
    """Yield (record, start time in ns) for every valid line; report malformed ones."""
    with open_text(path) as text:
        for number, line in enumerate(text, start=1):
            stats.lines = number
            if not line.strip():
                continue
            try:
                record = validate(json.loads(line, parse_float=Decimal))
                start_ns = parse_time_ns(record["time"])
            except (ValueError, MalformedRecord) as error:  # JSONDecodeError is a ValueError
                stats.malformed += 1
                if stats.malformed <= MALFORMED_SHOWN:
                    print(f"{path}:{number}: malformed line skipped: {error}", file=sys.stderr)
                continue
            stats.records += 1
            yield record, start_ns


# --------------------------------------------------------------------------- spans


def input_messages(message_count: int | None, prompt: str | None) -> list[dict]:
    """The request's messages in the semconv parts format; only the last one has text."""
    count = max(1, message_count if message_count is not None else 1)
    last_parts = [] if prompt is None else [{"type": "text", "content": prompt}]
    messages = []
    for index in range(count):
        from_end = count - 1 - index  # 0 = the last (user) message
        if from_end == 0:
            messages.append({"role": "user", "parts": last_parts})
        else:
            role = "assistant" if from_end % 2 == 1 else "user"
            messages.append({"role": role, "parts": [{"type": "text", "content": "(earlier turn)"}]})
    return messages


def to_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def genai_attributes(record: dict) -> dict[str, Any]:
    """The GenAI span's attributes; a field that is absent or null gives no attribute."""
    get = record.get
    attributes: dict[str, Any] = {
        "gen_ai.operation.name": get("operation") or "chat",
        "gen_ai.provider.name": PROVIDER_NAME,
    }

    def put(key: str, value: Any, convert=None) -> None:
        if value is not None:
            attributes[key] = convert(value) if convert else value

    put("gen_ai.request.model", get("model"))
    put("gen_ai.request.max_tokens", get("max_tokens"), int)
    put("gen_ai.request.temperature", get("temperature"), float)  # JSON 1 must stay a double
    put("gen_ai.request.stream", get("stream"), bool)
    put("gen_ai.usage.input_tokens", get("input_tokens"), int)
    put("gen_ai.usage.output_tokens", get("output_tokens"), int)
    put("gen_ai.usage.reasoning.output_tokens", get("reasoning_tokens"), int)
    put("gen_ai.response.finish_reasons", get("finish_reason"), lambda reason: [str(reason)])
    put("http.response.status_code", get("status"), int)
    put("client.address", get("client_ip"))
    put("user_agent.original", get("user_agent"))
    put("user.id", get("account_id"))
    put("gen_ai.system_instructions", get("system"),
        lambda text: to_json([{"type": "text", "content": text}]))
    if get("message_count") is not None or get("prompt") is not None:
        # A request without messages (an embeddings call) records none.
        attributes["gen_ai.input.messages"] = to_json(input_messages(get("message_count"), get("prompt")))
    # no semconv name: the traffic format's own field names
    put("request_id", get("request_id"))
    put("api_key_id", get("api_key_id"))
    put("asn", get("asn"), int)
    put("country", get("country"))
    put("client_fingerprint", get("client_fingerprint"))
    put("thinking", get("thinking"), bool)
    put("tool_count", get("tool_count"), int)
    status = get("status")
    if status is not None and status >= 400:
        attributes["error.type"] = str(status)
    return attributes


def emit_spans(tracer: trace.Tracer, record: dict, start_ns: int) -> None:
    """Start and end the SERVER parent and the GenAI CLIENT child of one record."""
    latency = record.get("latency_ms")
    end_ns = start_ns if latency is None else start_ns + int((Decimal(latency) * 10**6).to_integral_value())
    parent = tracer.start_span(
        PARENT_NAME,
        kind=SpanKind.SERVER,
        start_time=start_ns,
        attributes={"http.request.method": "POST", "url.path": PARENT_PATH},
    )
    attributes = genai_attributes(record)
    model = record.get("model")
    name = attributes["gen_ai.operation.name"] + (f" {model}" if model else "")
    child = tracer.start_span(
        name,
        context=trace.set_span_in_context(parent),
        kind=SpanKind.CLIENT,
        start_time=start_ns,
        attributes=attributes,
    )
    if "error.type" in attributes:
        child.set_status(Status(StatusCode.ERROR))
    child.end(end_time=end_ns)
    parent.end(end_time=end_ns)


# --------------------------------------------------------------------------- export


class CountingExporter(SpanExporter):
    """Wraps the real exporter and records every export's outcome.

    BatchSpanProcessor throws away the result of SpanExporter.export, so this is the only
    place a failed export can be seen.
    """

    def __init__(self, inner: SpanExporter):
        self.inner = inner
        self.exports = 0
        self.failures = 0
        self.spans = 0
        self.genai_spans = 0
        self.failed_spans = 0
        self._lock = threading.Lock()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        try:
            result = self.inner.export(spans)
        except Exception as error:  # pylint: disable=broad-exception-caught
            print(f"export raised {type(error).__name__}: {error}", file=sys.stderr)
            result = SpanExportResult.FAILURE
        genai = sum(1 for span in spans if "gen_ai.operation.name" in (span.attributes or {}))
        with self._lock:
            self.exports += 1
            if result is SpanExportResult.SUCCESS:
                self.spans += len(spans)
                self.genai_spans += genai
            else:
                self.failures += 1
                self.failed_spans += len(spans)
        return result

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.inner.force_flush(timeout_millis)


@dataclass
class ExportTarget:
    exporter: SpanExporter
    closers: list = field(default_factory=list)  # run after the exporter's shutdown


def build_exporter(args: argparse.Namespace) -> ExportTarget:
    """Import and construct only the exporter that was asked for."""
    if args.exporter == "proto-http":
        # pylint: disable=import-outside-toplevel
        from opentelemetry.exporter.otlp.proto.http import Compression
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        return ExportTarget(OTLPSpanExporter(
            endpoint=args.endpoint,
            headers=args.headers,
            timeout=args.timeout,
            compression=Compression.Gzip if args.gzip else Compression.NoCompression,
        ))
    if args.exporter == "json-http":
        from opentelemetry.exporter.otlp.common.http import Compression
        from opentelemetry.exporter.otlp.json.http import OTLPSpanExporter

        return ExportTarget(OTLPSpanExporter(
            endpoint=args.endpoint,
            headers=args.headers,
            timeout=args.timeout,
            compression=Compression.GZIP if args.gzip else Compression.NONE,
        ))
    from opentelemetry.exporter.otlp.json.file import FileSpanExporter

    # FileSpanExporter(path) appends to an existing file; open the stream ourselves to
    # start from an empty file (and to allow gzip).
    if args.out in (None, "-"):
        return ExportTarget(FileSpanExporter(stream=sys.stdout))
    if args.out.endswith(".gz"):
        stream = gzip.open(args.out, "wt", encoding="utf-8")
    else:
        stream = open(args.out, "w", encoding="utf-8")
    return ExportTarget(FileSpanExporter(stream=stream), closers=[stream.close])


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Replay a DistillWatch traffic file as OpenTelemetry GenAI spans.",
        epilog="See the docstring at the top of this script for the span contract.",
    )
    parser.add_argument("traffic", help="traffic file (JSON Lines, optionally gzip; - for stdin)")
    parser.add_argument("--exporter", choices=EXPORTERS, default="proto-http")
    parser.add_argument("--endpoint", default=DEFAULT_ENDPOINT,
                        help=f"full OTLP/HTTP traces URL (default {DEFAULT_ENDPOINT})")
    parser.add_argument("--header", action="append", default=[], metavar="NAME=VALUE",
                        help="extra HTTP header, repeatable (e.g. Authorization=Bearer x)")
    parser.add_argument("--gzip", action="store_true", help="gzip request bodies (http exporters)")
    parser.add_argument("--out", help="output file for json-file (default stdout; .gz = gzip)")
    parser.add_argument("--limit", type=int, help="stop after N records")
    parser.add_argument("--batch-size", type=int, default=512, help="spans per export (default 512)")
    parser.add_argument("--timeout", type=float, default=10.0,
                        help="seconds per HTTP export, retries included (default 10)")
    args = parser.parse_args(argv)
    if args.batch_size < 1:
        parser.error("--batch-size must be at least 1")
    if args.limit is not None and args.limit < 0:
        parser.error("--limit must not be negative")
    if args.exporter == "json-file" and (args.gzip or args.header or args.endpoint != DEFAULT_ENDPOINT):
        parser.error("--gzip, --header and --endpoint are for the http exporters "
                     "(json-file: name --out FILE.gz for a gzip file)")
    if args.exporter != "json-file" and args.out:
        parser.error("--out is for --exporter json-file")
    args.headers = {}
    for pair in args.header:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            parser.error(f"--header {pair!r}: expected NAME=VALUE")
        args.headers[name.strip()] = value
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        target = build_exporter(args)
    except ImportError as error:
        print(f"--exporter {args.exporter}: its package is not installed in this Python "
              f"({sys.executable}): {error}", file=sys.stderr)
        return 2
    counter = CountingExporter(target.exporter)

    # Two spans a record. The processor's queue drops its oldest span when full (only a
    # log warning says so), so the loop below flushes synchronously before the next record
    # could overflow it: the queue never holds more spans than were emitted since the last
    # flush. The queue size is a multiple of the batch size, so with an even batch size
    # the flushes fall on batch boundaries and every export but the last is full.
    queue_size = args.batch_size * max(4, -(-2048 // args.batch_size))
    processor = BatchSpanProcessor(
        counter,
        max_queue_size=queue_size,
        max_export_batch_size=args.batch_size,
        schedule_delay_millis=5000,
    )
    provider = TracerProvider(
        resource=Resource.create({"service.name": SERVICE_NAME}),
        sampler=ALWAYS_ON,
        # explicit limits, so OTEL_*_LIMIT variables cannot truncate prompts or drop attributes
        span_limits=SpanLimits(max_span_attributes=128, max_attribute_length=SpanLimits.UNSET),
        shutdown_on_exit=False,
    )
    provider.add_span_processor(processor)
    tracer = provider.get_tracer(SCOPE_NAME)

    stats = InputStats()
    emitted = 0
    since_flush = 0
    started = time.monotonic()
    status = 0
    try:
        for record, start_ns in itertools.islice(read_records(args.traffic, stats), args.limit):
            emit_spans(tracer, record, start_ns)
            emitted += 2
            since_flush += 2
            if since_flush + 2 > queue_size:
                processor.force_flush()
                since_flush = 0
    except (OSError, EOFError, UnicodeDecodeError) as error:
        print(f"{args.traffic}: cannot read: {error}", file=sys.stderr)
        status = 2
    finally:
        processor.force_flush()
        provider.shutdown()  # shuts the processor and the exporter down
        for close in target.closers:
            close()
    elapsed = time.monotonic() - started

    missing = emitted - counter.spans - counter.failed_spans
    print(
        f"otel-genai-spans: exporter={args.exporter} records={stats.records} "
        f"malformed={stats.malformed} spans_exported={counter.spans} "
        f"(genai={counter.genai_spans}) exports={counter.exports} failures={counter.failures} "
        f"failed_spans={counter.failed_spans} not_exported={missing} seconds={elapsed:.2f}",
        file=sys.stderr,
    )
    if status:
        return status
    return 1 if counter.failures or missing else 0


if __name__ == "__main__":
    sys.exit(main())
