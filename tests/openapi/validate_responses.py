#!/usr/bin/python3
"""Keeps the OpenAPI document true (issue #12).

validate_responses.py <honeyman binary> <responses dir>

Starts the binary on a throwaway SQLite store, reads the document it serves, and checks:
1. every answer the integration suites recorded (tests/support/http_client.cpp writes them to
   <dir>/responses-*.jsonl) has a documented status (or falls under `default`), a documented media
   type, and a JSON body that validates against the documented schema (JSON Schema 2020-12);
2. every operation (= every route: the document is built from the route table) has a tag and a
   documented success answer with its media type;
3. every documented operation is routed: called without a credential it is not answered
   404 "Not Found" (no route) or 405;
4. every documented query parameter with a checkable type (integer, boolean, enum, date-time,
   pattern) is one the handler reads: an invalid value is answered 422 at ["query", <name>].
Prints what it checked and ends with `N passed, M failed`.
"""
import glob
import json
import os
import re
import sys
import urllib.parse

from jsonschema import Draft202012Validator, RefResolver

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from honeyman_server import Server, http  # noqa: E402

binary, responses_dir = sys.argv[1], sys.argv[2]
failures = []
passed = 0


def fail(text):
    failures.append(text)


server = Server(binary)
base = server.base
try:
    status, ctype, raw = http("GET", base + "/api/v2/openapi.json")
    assert status == 200, f"GET /api/v2/openapi.json answered {status}"
    doc = json.loads(raw)
    token = server.login()

    # Operations, most literal template first: /threats/stats would win over /threats/{id}.
    operations = []
    for template, item in doc["paths"].items():
        parts = re.split(r"\{[^/]+\}", template)
        pattern = "^" + "[^/]+".join(re.escape(part) for part in parts) + "/?$"
        for method, op in item.items():
            operations.append((template.count("{"), method.upper(), template, re.compile(pattern), op))
    operations.sort(key=lambda o: o[0])

    def find_operation(method, path):
        for _, m, template, pattern, op in operations:
            if m == method and pattern.match(path):
                return template, op
        return None, None

    resolver = RefResolver.from_schema(doc)
    validators = {}

    def validator(schema):
        key = json.dumps(schema, sort_keys=True)
        if key not in validators:
            validators[key] = Draft202012Validator(schema, resolver=resolver)
        return validators[key]

    # --- 1. Recorded answers.
    seen_ops, unrouted, checked = set(), 0, 0
    files = sorted(glob.glob(os.path.join(responses_dir, "responses-*.jsonl")))
    for path in files:
        for line in open(path):
            r = json.loads(line)
            template, op = find_operation(r["method"], r["path"])
            if op is None:
                unrouted += 1  # 404/405 for paths no route has, the WebSocket handshake, ...
                continue
            seen_ops.add((r["method"], template))
            answer = op["responses"].get(str(r["status"])) or op["responses"].get("default")
            where = f'{r["method"]} {r["path"]} -> {r["status"]}'
            if answer is None:
                fail(f"{where}: status not documented for {r['method']} {template}")
                continue
            content = answer.get("content", {})
            media = r["content_type"].split(";")[0].strip()
            if content and media and media not in content:
                fail(f"{where}: media type {media!r}, documented {sorted(content)}")
                continue
            if "body" not in r or media != "application/json":
                checked += 1
                continue
            schema = content.get("application/json", {}).get("schema")
            if schema is None:
                fail(f"{where}: JSON body but no schema documented")
                continue
            try:
                body = json.loads(r["body"])
            except ValueError:
                fail(f"{where}: body is not JSON: {r['body'][:120]!r}")
                continue
            errors = sorted(validator(schema).iter_errors(body), key=lambda e: list(e.path))
            if errors:
                e = errors[0]
                fail(f"{where}: {e.message} at {list(e.absolute_path)} (schema {list(e.schema_path)})")
            else:
                checked += 1
    total_ops = len(operations)
    print(f"validate_responses: {checked} recorded answers of {len(seen_ops)}/{total_ops} "
          f"operations match the document ({len(files)} files; {unrouted} unrouted answers skipped)")
    if not files:
        fail(f"no recorded answers in {responses_dir}: HONEYMAN_RECORD_RESPONSES not set?")
    for _, method, template, _, _ in operations:
        if (method, template) not in seen_ops:
            print(f"  not exercised by any suite: {method} {template}")
    passed += 1 if checked else 0

    # --- 2. Every route documents itself: a group, and a success answer with its media type.
    for _, method, template, _, op in operations:
        success = [code for code in op["responses"] if code.startswith("2")]
        described = all("content" in op["responses"][code] for code in success)
        if op.get("tags") in (None, ["Other"]) or not success or not described:
            fail(f"{method} {template}: no tag or no documented success answer "
                 f"(its router.add() needs an http::RouteDoc)")
        else:
            passed += 1

    # --- 3. Every documented operation is routed.
    for _, method, template, _, op in operations:
        path = re.sub(r"\{[^/]+\}", "00000000-0000-4000-8000-000000000000", template)
        status, _, raw = http(method, base + path)
        unrouted_answer = status == 405 or (status == 404 and b'"Not Found"' in raw)
        if unrouted_answer:
            fail(f"documented {method} {template} is not routed ({status})")
        else:
            passed += 1

    # --- 4. Documented query parameters are read by their handler.
    def invalid_value(schema):
        if "$ref" in schema:
            schema = doc["components"]["schemas"][schema["$ref"].split("/")[-1]]
        if schema.get("type") == "array":
            return invalid_value(schema["items"])
        if schema.get("type") == "integer":
            return "not-a-number"
        if schema.get("type") == "boolean":
            return "maybe"
        if "enum" in schema or schema.get("format") == "date-time" or "pattern" in schema:
            return "no such value!"
        return None

    for _, method, template, _, op in operations:
        if method != "GET" or "{" in template:
            continue
        for p in op.get("parameters", []):
            if p["in"] != "query":
                continue
            value = invalid_value(p["schema"])
            if value is None:
                continue
            url = f"{base}{template}?{p['name']}={urllib.parse.quote(value)}"
            status, _, raw = http("GET", url, headers={"Authorization": f"Bearer {token}"})
            detail = json.loads(raw).get("detail") if status == 422 else None
            locs = [e.get("loc") for e in detail] if isinstance(detail, list) else []
            if ["query", p["name"]] in locs:
                passed += 1
            else:
                fail(f"GET {template}?{p['name']}={value!r}: expected 422 at "
                     f"['query', {p['name']!r}], got {status} {raw[:160]!r}")
finally:
    server.stop()

for f in failures[:40]:
    print("FAILED:", f)
if len(failures) > 40:
    print(f"... and {len(failures) - 40} more")
print(f"{passed} passed, {len(failures)} failed")
sys.exit(1 if failures else 0)
