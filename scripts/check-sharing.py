#!/usr/bin/env python3
"""Check DistillWatch sharing exports: STIX 2.1 bundles and MISP events.

Usage:
    scripts/check-sharing.py [--stix FILE ...] [--misp FILE ...]
                             [--fail-on-warnings] [--ignore CODES] [--quiet]

For each STIX bundle:
  * stix2-validator (the OASIS validator; every error fails, warnings are printed),
  * stix2.parse(..., allow_custom=True) of every object,
  * stix2-patterns on every indicator pattern (pattern_type "stix"),
  * DistillWatch's own rules: the TLP 2.0 marking definitions are the published OASIS
    objects unchanged; every marking and extension definition used is in the bundle;
    the DistillWatch extensions carry the properties their definitions promise;
    cyber-observable ids are the deterministic UUIDv5 of their ID contributing
    properties; references resolve inside the bundle; User-Agent patterns index the
    header list ('User-Agent'[*]).
For each MISP event (MISP core format, {"Event": {...}}):
  * pymisp.MISPEvent().load(...), with its log warnings counted as warnings,
  * attribute types and categories against MISP's describeTypes (PyMISP silently
    drops a wrong category), object templates (known, required relations, relation
    names, attribute types), TLP tags from MISP's tlp taxonomy.

Prints one line per finding (LEVEL, file, object id, check, message) and one summary
line per file; exits 1 when any file fails (an error, or a warning with
--fail-on-warnings), 2 on bad usage or missing packages.

Needs Python 3.9+ and: pip install stix2-validator==3.2.0 stix2 stix2-patterns pymisp
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import io
import json
import logging
import re
import sys
import uuid
import warnings
from dataclasses import dataclass, field

try:
    import jsonschema
    import stix2
    import stix2validator
    from pymisp import MISPEvent, MISPObject
    from pymisp.abstract import describe_types
    from stix2patterns.v21.pattern import Pattern
    from stix2patterns.validator import run_validator
except ImportError as exc:  # pragma: no cover - environment problem
    sys.stderr.write(
        f"check-sharing: missing package ({exc}).\n"
        "Install: python3 -m pip install stix2-validator==3.2.0 stix2 stix2-patterns pymisp\n"
    )
    sys.exit(2)

# --------------------------------------------------------------------------------------
# Published identifiers
# --------------------------------------------------------------------------------------

#: TLP 2.0 as OASIS published it (cti-stix-common-objects, extension-definition-specifications/
#: tlp-2.0): the marking objects carry no created_by_ref and no modified.
TLP2_EXTENSION = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"
TLP2 = {
    "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487": ("TLP:CLEAR", "clear"),
    "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb": ("TLP:GREEN", "green"),
    "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421": ("TLP:AMBER", "amber"),
    "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003": ("TLP:AMBER+STRICT", "amber+strict"),
    "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1": ("TLP:RED", "red"),
}


def tlp2_marking(marking_id: str) -> dict:
    name, level = TLP2[marking_id]
    return {
        "type": "marking-definition", "spec_version": "2.1", "id": marking_id,
        "created": "2022-10-01T00:00:00.000Z", "name": name,
        "extensions": {TLP2_EXTENSION: {"extension_type": "property-extension", "tlp_2_0": level}},
    }


#: TLP 1.0 markings are predefined by STIX 2.1 (§7.2.1.4) and may be referenced without
#: being carried.
TLP1 = {
    "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9",  # white
    "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da",  # green
    "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82",  # amber
    "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed",  # red
}

#: The STIX 2.1 namespace for deterministic cyber-observable ids (§2.9).
SCO_NAMESPACE = uuid.UUID("00abedb4-aa42-466c-9c01-fed23315a9b7")

STIX21_SCO_TYPES = {
    "artifact", "autonomous-system", "directory", "domain-name", "email-addr", "email-message",
    "file", "ipv4-addr", "ipv6-addr", "mac-addr", "mutex", "network-traffic", "process",
    "software", "url", "user-account", "windows-registry-key", "x509-certificate",
}

# --------------------------------------------------------------------------------------
# DistillWatch's extension definitions (their ids are published with every bundle)
# --------------------------------------------------------------------------------------

KEY_ID_RE = r"^[A-Za-z0-9._-]{1,64}$"

#: New SCO types: extension-definition id, ID contributing properties, JSON schema of the
#: object's own properties.
DW_SCO_TYPES = {
    "distillwatch-keyed-fingerprint": {
        "extension": "extension-definition--152f06a9-f364-5eb4-acef-00bfe13bf7f4",
        "id_contributing": ["key_id", "kind", "value"],
        "schema": {
            "type": "object",
            "required": ["algorithm", "key_id", "kind", "value"],
            "properties": {
                "algorithm": {"enum": ["keyed-minhash-lsh-64x2-siphash-2-4", "siphash-2-4"]},
                "key_id": {"type": "string", "pattern": KEY_ID_RE},
                "kind": {"enum": ["template-band", "system-prompt", "email-domain"]},
                "value": {"type": "string", "pattern": "^[0-9a-f]{16}$"},
            },
        },
    },
    "distillwatch-client-fingerprint": {
        "extension": "extension-definition--586cad59-a33a-52b3-8b81-e137b77d5792",
        "id_contributing": ["value"],
        "schema": {
            "type": "object",
            "required": ["value"],
            "properties": {
                "algorithm": {"enum": ["ja4", "ja4h", "ja3"]},
                "value": {"type": "string", "minLength": 1, "maxLength": 1024},
            },
        },
    },
}

#: Property extensions: extension-definition id -> (object types it may extend, JSON schema
#: of the extension's content).
DW_PROPERTY_EXTENSIONS = {
    "extension-definition--de1a511d-1f46-5202-aaf5-a1f8e11b0adb": ({"campaign"}, {
        "type": "object",
        "required": ["extension_type", "accounts", "exchanges", "output_tokens", "score", "capabilities"],
        "additionalProperties": False,
        "properties": {
            "extension_type": {"const": "property-extension"},
            "accounts": {"type": "integer", "minimum": 0},
            "exchanges": {"type": "integer", "minimum": 0},
            "output_tokens": {"type": "integer", "minimum": 0},
            "score": {"type": "number", "minimum": 0, "maximum": 1},
            "first_flagged": {"type": "string"},
            "evidence_kinds": {"type": "array", "items": {"type": "string", "pattern": "^[a-z0-9_]{1,64}$"}},
            "member_account_ids": {"type": "array", "items": {"type": "string"}},
            "capabilities": {
                "type": "object",
                "propertyNames": {"pattern": "^[a-z0-9_]{1,250}$"},
                "additionalProperties": {"type": "number", "minimum": 0, "maximum": 1},
            },
        },
    }),
}

# --------------------------------------------------------------------------------------
# Findings
# --------------------------------------------------------------------------------------

ERROR, WARNING, NOTE = "ERROR", "WARNING", "NOTE"


@dataclass
class Report:
    path: str
    kind: str
    quiet: bool = False
    counts: dict = field(default_factory=lambda: {ERROR: 0, WARNING: 0, NOTE: 0})
    objects: int = 0

    def add(self, level: str, obj_id: str, check: str, message: str) -> None:
        self.counts[level] += 1
        if self.quiet and level != ERROR:
            return
        message = " ".join(str(message).split())
        if len(message) > 400:
            message = message[:400] + " ..."
        print(f"{level:<7} {self.path}  {obj_id or '-'}  [{check}] {message}")

    def failed(self, fail_on_warnings: bool) -> bool:
        return self.counts[ERROR] > 0 or (fail_on_warnings and self.counts[WARNING] > 0)

    def summary(self, fail_on_warnings: bool) -> str:
        verdict = "FAIL" if self.failed(fail_on_warnings) else "PASS"
        c = self.counts
        return (f"{verdict} {self.path} ({self.kind}, {self.objects} objects): "
                f"{c[ERROR]} errors, {c[WARNING]} warnings, {c[NOTE]} notes")


def load_json(path: str, report: Report):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError) as exc:
        report.add(ERROR, "", "json", f"cannot read JSON: {exc}")
        return None


def uuid_version(identifier: str):
    try:
        return uuid.UUID(identifier.split("--", 1)[1]).version
    except (IndexError, ValueError, AttributeError):
        return None


# --------------------------------------------------------------------------------------
# STIX
# --------------------------------------------------------------------------------------

WARNING_RE = re.compile(r"^(?P<id>[a-z0-9-]+--[0-9a-fA-F-]{36}): \{(?P<code>\d+)\} (?P<msg>.*)$", re.S)
ERROR_RE = re.compile(r"^(?P<id>[a-z0-9-]+--[0-9a-fA-F-]{36}): (?P<msg>.*)$", re.S)


def run_stix_validator(path: str, bundle: dict, report: Report, ignore: set) -> None:
    by_id = {o.get("id"): o for o in bundle.get("objects", []) if isinstance(o, dict)}
    options = stix2validator.ValidationOptions(version="2.1")
    sink = io.StringIO()
    try:
        with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
            results = stix2validator.validate_file(path, options)
    except Exception as exc:  # the validator raises on unreadable schemas and the like
        report.add(ERROR, "", "stix2-validator", f"validator failed: {type(exc).__name__}: {exc}")
        return
    if results.fatal:
        report.add(ERROR, "", "stix2-validator", f"fatal: {results.fatal.message}")
    for result in results.object_results or []:
        for err in result.errors:
            text = getattr(err, "message", None) or str(err)
            m = ERROR_RE.match(text)
            report.add(ERROR, m["id"] if m else result.object_id, "stix2-validator",
                       m["msg"] if m else text)
        for text in result.warnings:
            m = WARNING_RE.match(text)
            if not m:
                report.add(WARNING, result.object_id, "stix2-validator", text)
                continue
            obj_id, code, msg = m["id"], m["code"], m["msg"]
            obj = by_id.get(obj_id, {})
            new_sco = any(isinstance(e, dict) and e.get("extension_type") == "new-sco"
                          for e in (obj.get("extensions") or {}).values())
            if code == "103" and new_sco and uuid_version(obj_id) == 5:
                # The validator knows only the STIX 2.1 SCO types, so it holds an
                # extension-defined SCO to the UUIDv4 rule of SDOs; §2.9 asks UUIDv5 of SCOs.
                report.add(NOTE, obj_id, "stix2-validator {103}",
                           "UUIDv5 id of an extension-defined SCO (validator limitation, not a problem)")
            elif code in ignore:
                report.add(NOTE, obj_id, f"stix2-validator {{{code}}}", f"ignored by --ignore: {msg}")
            else:
                report.add(WARNING, obj_id, f"stix2-validator {{{code}}}", msg)


def check_stix_parse(objects: list, report: Report) -> None:
    for obj in objects:
        try:
            stix2.parse(obj, allow_custom=True, version="2.1")
        except Exception as exc:
            report.add(ERROR, obj.get("id", ""), "stix2.parse", f"{type(exc).__name__}: {exc}")


def sco_deterministic_id(obj: dict, contributing: list):
    values = {p: obj[p] for p in contributing if p in obj}
    if not values:
        return None
    canonical = json.dumps(values, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return f"{obj['type']}--{uuid.uuid5(SCO_NAMESPACE, canonical)}"


def declared_sco_types(objects: list, ext_defs: dict) -> set:
    """Custom SCO types this bundle declares: an object of the type carries a new-sco
    extension whose definition is in the bundle, or the type is DistillWatch's and its
    definition is in the bundle."""
    types = {t for t, spec in DW_SCO_TYPES.items() if spec["extension"] in ext_defs}
    for obj in objects:
        for key, ext in (obj.get("extensions") or {}).items():
            if isinstance(ext, dict) and ext.get("extension_type") == "new-sco" and key in ext_defs:
                types.add(obj.get("type"))
    return types


def check_patterns(objects: list, report: Report, declared: set) -> None:
    header_without_index = re.compile(r"request_header\.'[^']+'(?!\s*\[)")
    for obj in objects:
        if obj.get("type") != "indicator" or obj.get("pattern_type") != "stix":
            continue
        pattern = obj.get("pattern")
        oid = obj.get("id", "")
        if not isinstance(pattern, str):
            report.add(ERROR, oid, "stix2-patterns", "pattern is not a string")
            continue
        version = obj.get("pattern_version") or obj.get("spec_version") or "2.1"
        errors = run_validator(pattern, stix_version=version)
        for err in errors:
            report.add(ERROR, oid, "stix2-patterns", err)
        if errors:
            continue
        for objtype in Pattern(pattern).inspect().comparisons:
            if objtype not in STIX21_SCO_TYPES and objtype not in declared:
                report.add(WARNING, oid, "pattern-types",
                           f"'{objtype}' is neither a STIX 2.1 SCO type nor declared by a new-sco "
                           "extension-definition in this bundle")
        if header_without_index.search(pattern):
            report.add(WARNING, oid, "pattern-http-header",
                       "http-request-ext request_header values are lists of strings (STIX 2.1 §6.12.2, "
                       "and the validator's schema): compare them with [*], e.g. "
                       "request_header.'User-Agent'[*] = '...'")


def check_stix_rules(objects: list, report: Report) -> None:
    ids = {}
    for obj in objects:
        ids.setdefault(obj.get("id"), []).append(obj)
    ext_defs = {o["id"]: o for o in objects if o.get("type") == "extension-definition" and "id" in o}

    for obj in objects:
        oid = obj.get("id", "")
        otype = obj.get("type", "")

        # TLP 2.0: exactly the published objects.
        if oid in TLP2 and obj != tlp2_marking(oid):
            extra = sorted(set(obj) - set(tlp2_marking(oid)))
            report.add(ERROR, oid, "tlp2",
                       "not the TLP 2.0 marking definition OASIS published under this id"
                       + (f" (extra properties: {', '.join(extra)})" if extra else "")
                       + "; copy it unchanged")

        # Markings used must travel with the bundle.
        refs = list(obj.get("object_marking_refs") or [])
        refs += [g.get("marking_ref") for g in obj.get("granular_markings") or [] if isinstance(g, dict)]
        for ref in refs:
            if ref and ref not in ids and ref not in TLP1:
                report.add(ERROR, oid, "markings", f"marking {ref} is referenced but not in the bundle")

        # References resolve inside the bundle.
        for key, value in obj.items():
            if key in ("object_marking_refs", "id") or not (key.endswith("_ref") or key.endswith("_refs")):
                continue
            for ref in value if isinstance(value, list) else [value]:
                if isinstance(ref, str) and ref not in ids:
                    report.add(WARNING, oid, "refs", f"{key} -> {ref} is not in this bundle")

        # Extensions: definition present, extension_type one it declares, our content valid.
        for key, ext in (obj.get("extensions") or {}).items():
            if not key.startswith("extension-definition--"):
                continue
            if key == TLP2_EXTENSION and otype == "marking-definition":
                continue
            ext_type = ext.get("extension_type") if isinstance(ext, dict) else None
            definition = ext_defs.get(key)
            if definition is None:
                report.add(WARNING, oid, "extensions", f"{key} is used but its extension-definition is not in the bundle")
            elif ext_type not in (definition.get("extension_types") or []):
                report.add(ERROR, oid, "extensions",
                           f"extension_type '{ext_type}' is not one of {definition.get('extension_types')} "
                           f"declared by {key}")
            if key in DW_PROPERTY_EXTENSIONS:
                allowed, schema = DW_PROPERTY_EXTENSIONS[key]
                if otype not in allowed:
                    report.add(ERROR, oid, "dw-extension", f"{key} applies to {sorted(allowed)}, not {otype}")
                for e in jsonschema.Draft7Validator(schema).iter_errors(ext):
                    where = "/".join(str(p) for p in e.absolute_path) or "(extension)"
                    report.add(ERROR, oid, "dw-extension", f"{where}: {e.message}")

        # DistillWatch SCO types: declared by their extension, properties as promised.
        if otype in DW_SCO_TYPES:
            spec = DW_SCO_TYPES[otype]
            ext = (obj.get("extensions") or {}).get(spec["extension"])
            if not (isinstance(ext, dict) and ext.get("extension_type") == "new-sco"):
                report.add(ERROR, oid, "dw-sco",
                           f"{otype} objects carry extensions.{spec['extension']}.extension_type = 'new-sco'")
            for e in jsonschema.Draft7Validator(spec["schema"]).iter_errors(obj):
                where = "/".join(str(p) for p in e.absolute_path) or "(object)"
                report.add(ERROR, oid, "dw-sco", f"{where}: {e.message}")
            for prop in ("created_by_ref", "created", "modified", "confidence"):
                if prop in obj:
                    report.add(ERROR, oid, "dw-sco", f"'{prop}' is not a property of cyber-observable objects")
            expected = sco_deterministic_id(obj, spec["id_contributing"])
            if expected and expected != oid:
                report.add(ERROR, oid, "sco-id",
                           f"id should be {expected} (UUIDv5 of {', '.join(spec['id_contributing'])})")
        elif otype in STIX21_SCO_TYPES and otype != "process":
            try:
                regenerated = stix2.parse({k: v for k, v in obj.items() if k != "id"},
                                          allow_custom=True, version="2.1")["id"]
            except Exception:
                regenerated = None  # stix2.parse reports the object itself
            if regenerated and uuid_version(regenerated) == 5 and regenerated != oid:
                report.add(WARNING, oid, "sco-id",
                           f"deterministic id of these ID contributing properties is {regenerated}")


def check_stix_file(path: str, args) -> Report:
    report = Report(path, "STIX 2.1 bundle", quiet=args.quiet)
    bundle = load_json(path, report)
    if bundle is None:
        return report
    if not isinstance(bundle, dict) or bundle.get("type") != "bundle" or not isinstance(bundle.get("objects"), list):
        report.add(ERROR, "", "bundle", "not a STIX bundle ({\"type\": \"bundle\", \"objects\": [...]})")
        return report
    objects = [o for o in bundle["objects"] if isinstance(o, dict)]
    report.objects = len(objects)
    run_stix_validator(path, bundle, report, args.ignore)
    check_stix_parse(objects, report)
    ext_defs = {o["id"]: o for o in objects if o.get("type") == "extension-definition" and "id" in o}
    check_patterns(objects, report, declared_sco_types(objects, ext_defs))
    check_stix_rules(objects, report)
    return report


# --------------------------------------------------------------------------------------
# MISP
# --------------------------------------------------------------------------------------

TLP_TAGS = {"tlp:" + v for v in ("clear", "white", "green", "amber", "amber+strict", "red", "ex:chr", "unclear")}


class _Collect(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def check_tags(tags: list, where: str, report: Report, need_tlp: bool) -> None:
    names = [t.get("name") if isinstance(t, dict) else None for t in tags or []]
    for n in names:
        if not n:
            report.add(ERROR, where, "misp-tags", "tag without a name")
    tlp = [n for n in names if n and n.lower().startswith("tlp:")]
    for n in tlp:
        if n.lower() not in TLP_TAGS:
            report.add(ERROR, where, "misp-tags", f"'{n}' is not in MISP's tlp taxonomy ({', '.join(sorted(TLP_TAGS))})")
    if len(tlp) > 1:
        report.add(WARNING, where, "misp-tags", f"several TLP tags: {', '.join(tlp)}")
    if need_tlp and not tlp:
        report.add(WARNING, where, "misp-tags", "event has no tlp: tag")


def check_misp_attribute(attr: dict, where: str, report: Report, template: dict | None = None) -> None:
    types = describe_types["types"]
    mapping = describe_types["category_type_mappings"]
    t, cat = attr.get("type"), attr.get("category")
    if t not in types:
        report.add(ERROR, where, "misp-attribute", f"unknown attribute type '{t}'")
        return
    if cat is not None and (cat not in mapping or t not in mapping[cat]):
        report.add(ERROR, where, "misp-attribute",
                   f"category '{cat}' does not allow type '{t}' (PyMISP drops such a category silently)")
    if attr.get("value") in (None, ""):
        report.add(ERROR, where, "misp-attribute", "empty value")
    if "to_ids" in attr and not isinstance(attr["to_ids"], bool):
        report.add(WARNING, where, "misp-attribute", f"to_ids should be a JSON boolean, not {attr['to_ids']!r}")
    if "distribution" in attr and str(attr["distribution"]) not in {"0", "1", "2", "3", "4", "5"}:
        report.add(ERROR, where, "misp-attribute", f"distribution {attr['distribution']!r} is not 0-5")
    if template is not None:
        rel = attr.get("object_relation")
        spec = template["attributes"].get(rel)
        if spec is None:
            report.add(ERROR, where, "misp-object", f"template '{template['name']}' has no relation '{rel}'")
        elif spec["misp-attribute"] != t:
            report.add(ERROR, where, "misp-object",
                       f"relation '{rel}' of '{template['name']}' takes type '{spec['misp-attribute']}', not '{t}'")
    check_tags(attr.get("Tag"), where, report, need_tlp=False)


def check_misp_file(path: str, args) -> Report:
    report = Report(path, "MISP event", quiet=args.quiet)
    data = load_json(path, report)
    if data is None:
        return report
    if isinstance(data, dict) and isinstance(data.get("response"), list) and data["response"]:
        data = data["response"][0]
    event = data.get("Event") if isinstance(data, dict) else None
    if not isinstance(event, dict):
        report.add(ERROR, "", "misp-event", 'not a MISP event ({"Event": {...}})')
        return report
    eid = f"event {event.get('uuid', '?')}"
    attributes = event.get("Attribute") or []
    objects = event.get("Object") or []
    report.objects = len(attributes) + len(objects)

    handler = _Collect()
    logger = logging.getLogger("pymisp")
    logger.addHandler(handler)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            loaded = MISPEvent()
            loaded.load(copy.deepcopy(data))  # load() pops keys from the dicts it is given
    except Exception as exc:
        report.add(ERROR, eid, "pymisp", f"MISPEvent().load failed: {type(exc).__name__}: {exc}")
        loaded = None
        caught = []
    finally:
        logger.removeHandler(handler)
    for msg in handler.messages:
        report.add(WARNING, eid, "pymisp", msg)
    for w in caught:
        report.add(WARNING, eid, "pymisp", f"{w.category.__name__}: {w.message}")

    for key in ("info", "uuid", "date"):
        if not event.get(key):
            report.add(ERROR, eid, "misp-event", f"'{key}' is required")
    check_tags(event.get("Tag"), eid, report, need_tlp=True)
    for a in attributes:
        check_misp_attribute(a, f"attribute {a.get('uuid', '?')}", report)
    for o in objects:
        where = f"object {o.get('uuid', '?')}"
        template = None
        if not o.get("name"):
            report.add(ERROR, where, "misp-object", "object without a name")
            continue
        mo = MISPObject(name=o["name"])
        try:
            mo.from_dict(**copy.deepcopy(o))
        except Exception as exc:
            report.add(ERROR, where, "misp-object", f"'{o['name']}' does not load: {type(exc).__name__}: {exc}")
        else:
            if not mo._known_template:
                report.add(WARNING, where, "misp-object",
                           f"'{o['name']}' is not a known MISP object template (or its template_uuid/"
                           "template_version differ from PyMISP's copy)")
            else:
                template = mo._definition
                try:
                    mo._validate()
                except Exception as exc:
                    report.add(ERROR, where, "misp-object", f"'{o['name']}': {exc}")
        for a in o.get("Attribute") or []:
            check_misp_attribute(a, f"{where} attribute {a.get('uuid', '?')}", report, template)
    return report


# --------------------------------------------------------------------------------------

def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description="Validate DistillWatch STIX 2.1 bundles and MISP events before sharing them.")
    parser.add_argument("--stix", nargs="+", default=[], metavar="FILE", help="STIX 2.1 bundle files")
    parser.add_argument("--misp", nargs="+", default=[], metavar="FILE", help="MISP event files (MISP core format)")
    parser.add_argument("--fail-on-warnings", action="store_true", help="warnings fail the file too")
    parser.add_argument("--ignore", default="", metavar="CODES",
                        help="comma-separated stix2-validator warning codes to report as notes only (e.g. 103)")
    parser.add_argument("-q", "--quiet", action="store_true", help="print errors and summaries only")
    args = parser.parse_args(argv)
    if not args.stix and not args.misp:
        parser.error("give at least one --stix or --misp file")
    args.ignore = {c.strip() for c in args.ignore.split(",") if c.strip()}

    reports = [check_stix_file(p, args) for p in args.stix] + [check_misp_file(p, args) for p in args.misp]
    for r in reports:
        print(r.summary(args.fail_on_warnings))
    failed = sum(r.failed(args.fail_on_warnings) for r in reports)
    print(f"check-sharing: {len(reports)} files checked, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
