#!/usr/bin/python3
"""A STIX 2.1 bundle validator written from the specification (OASIS STIX Version 2.1, CS03), for
the properties the Honeyman export uses. No STIX validator package exists here.

stix_validator.py <bundle.json>   prints each problem and exits 1 if there is any

validate(bundle) -> list of problems (empty: valid). Checked:
- the bundle: type "bundle", id "bundle--<UUID>", objects a list (§8);
- common properties (§3.2, §2.9): type and id on every object, id "<type>--<RFC 4122 UUID>",
  no duplicate ids; SDOs and SROs: spec_version "2.1", created and modified RFC 3339 UTC
  timestamps at millisecond precision, modified >= created; SCOs: spec_version "2.1" if present;
- type-specific required properties: identity (name), attack-pattern (name), observed-data
  (first_observed, last_observed >= first_observed, number_observed 1..999,999,999, object_refs
  non-empty), sighting (sighting_of_ref; count 0..999,999,999; last_seen >= first_seen),
  mac-addr (colon-separated lower-case MAC-48), ipv4-addr / ipv6-addr (valid addresses),
  domain-name, artifact (payload_bin or url, not both);
- SCO ids of mac-addr, ipv4-addr, ipv6-addr, domain-name: UUIDv5 in namespace
  00abedb4-aa42-466c-9c01-fed23315a9b7 over the JCS text of {"value": ...} (§2.9);
- every *_ref / *_refs resolves to an object of the bundle, and of an allowed type:
  created_by_ref -> identity; sighting_of_ref -> an SDO; observed_data_refs -> observed-data;
  where_sighted_refs -> identity or location; object_refs of observed-data -> SCOs or SROs.
"""
import ipaddress
import json
import re
import sys
import uuid

SDO_TYPES = {
    "attack-pattern", "campaign", "course-of-action", "grouping", "identity", "incident",
    "indicator", "infrastructure", "intrusion-set", "location", "malware", "malware-analysis",
    "note", "observed-data", "opinion", "report", "threat-actor", "tool", "vulnerability",
}
SRO_TYPES = {"relationship", "sighting"}
SCO_TYPES = {
    "artifact", "autonomous-system", "directory", "domain-name", "email-addr", "email-message",
    "file", "ipv4-addr", "ipv6-addr", "mac-addr", "mutex", "network-traffic", "process",
    "software", "url", "user-account", "windows-registry-key", "x509-certificate",
}
SCO_NAMESPACE = uuid.UUID("00abedb4-aa42-466c-9c01-fed23315a9b7")
UUID_RE = r"[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"
ID_RE = re.compile(r"^([a-z0-9][a-z0-9-]*[a-z0-9])--(" + UUID_RE + r")$")
TIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")
MILLIS_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
MAC_RE = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")
DOMAIN_RE = re.compile(r"^(?=.{1,253}$)([A-Za-z0-9_-]{1,63})(\.[A-Za-z0-9_-]{1,63})*$")
# A reference property -> the types it may point to (None: any type).
REF_TARGETS = {
    "created_by_ref": {"identity"},
    "sighting_of_ref": SDO_TYPES,
    "observed_data_refs": {"observed-data"},
    "where_sighted_refs": {"identity", "location"},
    "object_marking_refs": {"marking-definition"},
}
MAX_COUNT = 999_999_999


def _time(problems, where, obj, name, millis=False):
    value = obj.get(name)
    if not isinstance(value, str) or not TIME_RE.match(value):
        problems.append(f"{where}: {name} {value!r} is not an RFC 3339 UTC timestamp (…Z)")
        return None
    if millis and not MILLIS_RE.match(value):
        problems.append(f"{where}: {name} {value!r} must be precise to the millisecond")
    return value


def _order(problems, where, obj, first, last, millis=False):
    a = _time(problems, where, obj, first, millis)
    b = _time(problems, where, obj, last, millis)
    # Same precision and format: the text order is the time order.
    if a and b and a.ljust(30, "0") > b.ljust(30, "0"):
        problems.append(f"{where}: {last} {b} is before {first} {a}")


def _jcs_value_id(type_, value):
    name = json.dumps({"value": value}, separators=(",", ":"), ensure_ascii=False)
    return f"{type_}--{uuid.uuid5(SCO_NAMESPACE, name)}"


def _check_sco(problems, where, o):
    t = o["type"]
    if "spec_version" in o and o["spec_version"] != "2.1":
        problems.append(f"{where}: spec_version {o['spec_version']!r}, expected '2.1'")
    value = o.get("value")
    if t == "mac-addr" and not (isinstance(value, str) and MAC_RE.match(value)):
        problems.append(f"{where}: mac-addr value {value!r} is not a lower-case colon MAC-48")
    if t in ("ipv4-addr", "ipv6-addr"):
        try:
            ip = ipaddress.ip_network(value, strict=False)
            if ip.version != (4 if t == "ipv4-addr" else 6):
                raise ValueError
        except (ValueError, TypeError):
            problems.append(f"{where}: {t} value {value!r} is not a valid address")
    if t == "domain-name" and not (isinstance(value, str) and DOMAIN_RE.match(value)):
        problems.append(f"{where}: domain-name value {value!r} is not a domain name")
    if t in ("mac-addr", "ipv4-addr", "ipv6-addr", "domain-name") and isinstance(value, str):
        expected = _jcs_value_id(t, value)
        if o["id"] != expected:
            problems.append(f"{where}: id is not the deterministic UUIDv5 of its value "
                            f"(expected {expected})")
    if t == "artifact" and ("payload_bin" in o) == ("url" in o):
        problems.append(f"{where}: artifact needs exactly one of payload_bin and url")


def _check_sdo_sro(problems, where, o):
    if o.get("spec_version") != "2.1":
        problems.append(f"{where}: spec_version {o.get('spec_version')!r}, expected '2.1'")
    _order(problems, where, o, "created", "modified", millis=True)
    t = o["type"]
    if t in ("identity", "attack-pattern", "malware", "tool", "threat-actor", "location"):
        if t != "location" and not isinstance(o.get("name"), str):
            problems.append(f"{where}: {t} requires a name")
    if t == "observed-data":
        _order(problems, where, o, "first_observed", "last_observed")
        n = o.get("number_observed")
        if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= MAX_COUNT:
            problems.append(f"{where}: number_observed {n!r} not in 1..999999999")
        refs = o.get("object_refs")
        if not isinstance(refs, list) or not refs:
            problems.append(f"{where}: observed-data requires a non-empty object_refs")
    if t == "sighting":
        if "sighting_of_ref" not in o:
            problems.append(f"{where}: sighting requires sighting_of_ref")
        if "count" in o:
            c = o["count"]
            if not isinstance(c, int) or isinstance(c, bool) or not 0 <= c <= MAX_COUNT:
                problems.append(f"{where}: count {c!r} not in 0..999999999")
        if "first_seen" in o and "last_seen" in o:
            _order(problems, where, o, "first_seen", "last_seen")


def _references(o):
    for name, value in o.items():
        if name.endswith("_refs") and isinstance(value, list):
            for v in value:
                yield name, v
        elif name.endswith("_ref"):
            yield name, value


def validate(bundle):
    problems = []
    if not isinstance(bundle, dict) or bundle.get("type") != "bundle":
        return ["the document is not a bundle (type 'bundle')"]
    m = ID_RE.match(bundle.get("id", "")) if isinstance(bundle.get("id"), str) else None
    if not m or m.group(1) != "bundle":
        problems.append(f"bundle: id {bundle.get('id')!r} is not bundle--<UUID>")
    objects = bundle.get("objects")
    if not isinstance(objects, list):
        return problems + ["bundle: objects is not a list"]
    by_id = {}
    for i, o in enumerate(objects):
        where = f"objects[{i}]"
        if not isinstance(o, dict) or not isinstance(o.get("type"), str):
            problems.append(f"{where}: not an object with a type")
            continue
        where += f" ({o['type']})"
        oid = o.get("id")
        m = ID_RE.match(oid) if isinstance(oid, str) else None
        if not m or m.group(1) != o["type"]:
            problems.append(f"{where}: id {oid!r} is not {o['type']}--<UUID>")
            continue
        if oid in by_id:
            problems.append(f"{where}: duplicate id {oid}")
        by_id[oid] = o
        if o["type"] in SCO_TYPES:
            _check_sco(problems, where, o)
        elif o["type"] in SDO_TYPES or o["type"] in SRO_TYPES:
            _check_sdo_sro(problems, where, o)
        else:
            problems.append(f"{where}: unknown object type {o['type']!r}")
    for i, o in enumerate(objects):
        if not isinstance(o, dict) or o.get("id") not in by_id:
            continue
        where = f"objects[{i}] ({o['type']})"
        for name, ref in _references(o):
            target = by_id.get(ref) if isinstance(ref, str) else None
            if target is None:
                problems.append(f"{where}: {name} {ref!r} does not resolve inside the bundle")
                continue
            allowed = REF_TARGETS.get(name)
            if name == "object_refs" and o["type"] == "observed-data":
                allowed = SCO_TYPES | SRO_TYPES
            if allowed is not None and target["type"] not in allowed:
                problems.append(f"{where}: {name} points to a {target['type']}, "
                                f"allowed: {', '.join(sorted(allowed))}")
    return problems


def main():
    with open(sys.argv[1]) as f:
        bundle = json.load(f)
    problems = validate(bundle)
    for p in problems[:50]:
        print("STIX:", p)
    count = len(bundle.get("objects", [])) if isinstance(bundle, dict) else 0
    print(f"stix_validator: {count} objects, {len(problems)} problem(s)")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
