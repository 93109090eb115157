#!/usr/bin/python3
"""The test of the test: stix_validator accepts a well-formed bundle and rejects each hand-made
broken one with a message that names the problem. Standard library only; no server."""
import copy
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from stix_validator import validate, _jcs_value_id  # noqa: E402

DEPLOY = "identity--05f97c75-4be3-5516-b708-ad7631f5998d"
SENSOR = "identity--bc7f2251-370c-5723-bc7c-cb1f2e18a862"
PATTERN = "attack-pattern--e25703b8-bd2e-5abf-bf8f-fecf5315674f"
MAC = _jcs_value_id("mac-addr", "02:1b:61:f5:e5:ce")
OBSERVED = "observed-data--26cf6867-2f31-5804-9f10-02bbedd4f585"
SIGHTING = "sighting--26cf6867-2f31-5804-9f10-02bbedd4f585"
T0, T1 = "2020-01-01T00:00:00.000Z", "2026-08-08T14:06:00.000Z"


def sdo(type_, id_, **props):
    o = {"type": type_, "spec_version": "2.1", "id": id_, "created": T0, "modified": T0}
    o.update(props)
    return o


def good():
    return {"type": "bundle", "id": "bundle--90ec0ca0-d1a1-46b2-a264-02e1d3806735", "objects": [
        sdo("identity", DEPLOY, name="Honeyman", identity_class="system"),
        sdo("identity", SENSOR, name="sensor-a", identity_class="system", created_by_ref=DEPLOY),
        sdo("attack-pattern", PATTERN, name="ble_spam"),
        {"type": "mac-addr", "spec_version": "2.1", "id": MAC, "value": "02:1b:61:f5:e5:ce"},
        sdo("observed-data", OBSERVED, created=T1, modified=T1, first_observed=T1,
            last_observed=T1, number_observed=1, object_refs=[MAC]),
        sdo("sighting", SIGHTING, created=T1, modified=T1, sighting_of_ref=PATTERN,
            observed_data_refs=[OBSERVED], where_sighted_refs=[SENSOR], count=1),
    ]}


def by_id(bundle, id_):
    return next(o for o in bundle["objects"] if o["id"] == id_)


def breaks():
    """(name, mutation, a word the message must contain)"""
    def drop(id_, prop):
        return lambda b: by_id(b, id_).pop(prop)

    def put(id_, prop, value):
        return lambda b: by_id(b, id_).__setitem__(prop, value)

    return [
        ("missing spec_version", drop(PATTERN, "spec_version"), "spec_version"),
        ("wrong spec_version", put(SENSOR, "spec_version", "2.0"), "spec_version"),
        ("bad id", put(PATTERN, "id", "attack-pattern--not-a-uuid"), "is not attack-pattern--"),
        ("id of another type", put(PATTERN, "id", "malware--e25703b8-bd2e-5abf-bf8f-fecf5315674f"),
         "is not attack-pattern--"),
        ("dangling ref", put(SIGHTING, "where_sighted_refs",
                             ["identity--11111111-1111-4111-8111-111111111111"]),
         "does not resolve"),
        ("timestamp without Z", put(OBSERVED, "created", "2026-08-08T14:06:00.000"), "RFC 3339"),
        ("timestamp not millisecond", put(OBSERVED, "modified", "2026-08-08T14:06:00Z"),
         "millisecond"),
        ("modified before created", put(OBSERVED, "modified", "2019-01-01T00:00:00.000Z"),
         "before"),
        ("sighting_of_ref to an SCO", put(SIGHTING, "sighting_of_ref", MAC), "points to a mac-addr"),
        ("where_sighted_refs to an SDO", put(SIGHTING, "where_sighted_refs", [PATTERN]),
         "points to a attack-pattern"),
        ("missing sighting_of_ref", drop(SIGHTING, "sighting_of_ref"), "sighting_of_ref"),
        ("empty object_refs", put(OBSERVED, "object_refs", []), "object_refs"),
        ("object_refs to an SDO", put(OBSERVED, "object_refs", [SENSOR]), "points to a identity"),
        ("number_observed 0", put(OBSERVED, "number_observed", 0), "number_observed"),
        ("last_observed before first", put(OBSERVED, "last_observed", "2020-01-01T00:00:00Z"),
         "before"),
        ("identity without name", drop(SENSOR, "name"), "requires a name"),
        ("attack-pattern without name", drop(PATTERN, "name"), "requires a name"),
        ("upper-case MAC", put(MAC, "value", "02:1B:61:F5:E5:CE"), "MAC-48"),
        ("SCO id not deterministic", put(MAC, "value", "02:1b:61:f5:e5:cf"), "deterministic"),
        ("duplicate id", lambda b: b["objects"].append(copy.deepcopy(by_id(b, PATTERN))),
         "duplicate"),
        ("created_by_ref to a non-identity", put(SIGHTING, "created_by_ref", PATTERN),
         "created_by_ref points to a attack-pattern"),
        ("not a bundle", lambda b: b.__setitem__("type", "report"), "not a bundle"),
        ("bad bundle id", lambda b: b.__setitem__("id", "bundle-123"), "bundle--<UUID>"),
    ]


def main():
    failures = []
    problems = validate(good())
    if problems:
        failures.append(f"the good bundle was rejected: {problems}")
    for name, mutate, word in breaks():
        bundle = good()
        mutate(bundle)
        problems = validate(bundle)
        if not problems:
            failures.append(f"{name}: accepted")
        elif not any(word in p for p in problems):
            failures.append(f"{name}: rejected, but no message mentions {word!r}: {problems}")
        else:
            print(f"ok: {name}: {problems[0]}")
    for f in failures:
        print("FAILED:", f)
    print(f"{len(breaks()) + 1 - len(failures)} passed, {len(failures)} failed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
