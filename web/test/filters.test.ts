// Threat filters ↔ URL: the round trip parse(format(f)) == f over hand-written and ~500 seeded
// random valid filters, invalid values dropped, both list syntaxes, withFilter's cursor reset, and
// the API query's exact parameter names and time windows.
import { describe, expect, it } from "vitest";
import {
  COLUMNS,
  DEFAULT_COLUMNS,
  DEFAULT_FILTERS,
  PAGE_SIZES,
  RANGES,
  SORT_FIELDS,
  apiFilters,
  apiQuery,
  formatFilters,
  parseFilters,
  rangeWindow,
  withFilter,
  type Column,
  type Range,
  type ThreatFilters,
} from "../src/lib/filters";
import { buildQuery } from "../src/lib/api";
import { SEVERITIES, STATUSES } from "../src/lib/types";

const NOW = Date.UTC(2026, 11, 3, 12, 0, 0);
const UUID_A = "3f2a9c1e-8b7d-4e6f-9a0b-1c2d3e4f5a6b";

function filters(patch: Partial<ThreatFilters> = {}): ThreatFilters {
  return { ...DEFAULT_FILTERS, columns: [...DEFAULT_COLUMNS], ...patch };
}

/** mulberry32: small, seeded, good enough to generate test cases reproducibly. */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)];
  const chance = (p: number) => next() < p;
  /** A random non-empty subset of xs, unique, in a random order. */
  const subset = <T>(xs: readonly T[], max = xs.length): T[] => {
    const pool = [...xs];
    const out: T[] = [];
    const n = 1 + int(Math.min(max, pool.length));
    while (out.length < n) out.push(pool.splice(int(pool.length), 1)[0]);
    return out;
  };
  const text = (alphabet: string, min: number, max: number) => {
    const n = min + int(max - min + 1);
    let s = "";
    for (let i = 0; i < n; i++) s += alphabet[int(alphabet.length)];
    return s;
  };
  return { next, int, pick, chance, subset, text };
}

const LOWER = "abcdefghijklmnopqrstuvwxyz";
const ALNUM = LOWER + LOWER.toUpperCase() + "0123456789";
// What the parser accepts for free-text tokens (no comma: that separates list items).
const TOKEN_CHARS = ALNUM + "._:@ -";
const SENSOR_CHARS = ALNUM + "._-";
const CURSOR_CHARS = ALNUM + "_=.-";
const HEX = "0123456789abcdef";

function randomFilters(r: ReturnType<typeof prng>): ThreatFilters {
  const uniqueTexts = (alphabet: string, max: number, maxLen: number, lower = false) => {
    const out: string[] = [];
    const n = r.int(max + 1);
    while (out.length < n) {
      let t = r.text(alphabet, 1, maxLen);
      if (lower) t = t.toLowerCase();
      if (!out.includes(t)) out.push(t);
    }
    return out;
  };
  const time = () => {
    const ms = NOW - r.int(400 * 86_400_000);
    const forms = [
      new Date(ms).toISOString(),
      new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z"),
      new Date(ms).toISOString().replace("Z", "+00:00"),
      new Date(ms).toISOString().slice(0, 10),
      new Date(ms).toISOString().replace(/\.\d{3}Z$/, "+02:00"),
    ];
    return r.pick(forms);
  };
  const range = r.pick(RANGES) as Range;
  const uuid = () =>
    [8, 4, 4, 4, 12].map((n) => r.text(HEX, n, n)).join("-");
  return {
    severity: r.chance(0.5) ? r.subset(SEVERITIES) : [],
    detector_type: uniqueTexts(TOKEN_CHARS, 3, 20, true),
    threat_type: uniqueTexts(TOKEN_CHARS, 3, 40),
    sensor_id: uniqueTexts(SENSOR_CHARS, 4, 64),
    status: r.chance(0.5) ? r.subset(STATUSES) : [],
    assignee: r.pick([null, "", r.text(TOKEN_CHARS, 1, 30)]),
    is_acknowledged: r.pick([null, true, false]),
    range,
    from: range === "custom" && r.chance(0.8) ? time() : null,
    to: range === "custom" && r.chance(0.6) ? time() : null,
    sort_by: r.pick(SORT_FIELDS),
    sort_order: r.pick(["asc", "desc"] as const),
    page_size: r.pick(PAGE_SIZES),
    cursor: r.chance(0.4) ? r.text(CURSOR_CHARS, 1, 200) : null,
    columns: r.chance(0.4) ? [...DEFAULT_COLUMNS] : r.subset(COLUMNS),
    selected: r.chance(0.3) ? uuid() : null,
  };
}

describe("filters ↔ URL round trip", () => {
  const handWritten: [string, ThreatFilters][] = [
    ["defaults", filters()],
    ["one severity", filters({ severity: ["critical"] })],
    ["severities in a non-canonical order", filters({ severity: ["low", "critical", "high"] })],
    ["every list", filters({ severity: ["high"], detector_type: ["usb", "wifi"], threat_type: ["rogue_ap", "usb rubber ducky"], sensor_id: ["seed-0001", "sim-46678-4"], status: ["new", "false_positive"] })],
    ["unassigned", filters({ assignee: "" })],
    ["assigned to someone", filters({ assignee: "analyst1" })],
    ["an email-like assignee", filters({ assignee: "first.last@example.org" })],
    ["acknowledged", filters({ is_acknowledged: true })],
    ["not acknowledged", filters({ is_acknowledged: false })],
    ["a relative range", filters({ range: "24h" })],
    ["a custom range", filters({ range: "custom", from: "2026-11-01T00:00:00Z", to: "2026-11-02T12:30:00.250+01:00" })],
    ["a custom range open at the end", filters({ range: "custom", from: "2026-11-01T00:00:00Z" })],
    ["a custom range without bounds", filters({ range: "custom" })],
    ["a sort", filters({ sort_by: "threat_score", sort_order: "asc" })],
    ["a page size and a cursor", filters({ page_size: 200, cursor: "WyJ0aW1lc3RhbXAiLCJkZXNjIiwxNzk2MjY4MDE2NzA1NjQ4LDIwMDYxMl0" })],
    ["other columns", filters({ columns: ["severity", "location", "timestamp"] })],
    ["one column", filters({ columns: ["assignee"] })],
    ["all columns", filters({ columns: [...COLUMNS] })],
    ["a selected threat", filters({ selected: UUID_A })],
  ];

  it.each(handWritten)("%s", (_name, f) => {
    expect(parseFilters(formatFilters(f))).toEqual(f);
  });

  it("~500 seeded random valid filters", () => {
    const r = prng(20261203);
    for (let i = 0; i < 500; i++) {
      const f = randomFilters(r);
      const text = formatFilters(f);
      expect(parseFilters(text), `case ${i}: ${text}`).toEqual(f);
      // Formatting is stable: a parsed URL formats to itself.
      expect(formatFilters(parseFilters(text)), `case ${i}`).toBe(text);
    }
  });

  it("parse accepts the query string with or without ?, and URLSearchParams", () => {
    const f = filters({ severity: ["high"], range: "7d" });
    const text = formatFilters(f);
    expect(text.startsWith("?")).toBe(true);
    expect(parseFilters(text.slice(1))).toEqual(f);
    expect(parseFilters(new URLSearchParams(text))).toEqual(f);
  });

  it("defaults produce an empty query string, and the empty string parses to the defaults", () => {
    expect(formatFilters(filters())).toBe("");
    expect(formatFilters(DEFAULT_FILTERS)).toBe("");
    expect(parseFilters("")).toEqual(DEFAULT_FILTERS);
    expect(parseFilters("?")).toEqual(DEFAULT_FILTERS);
  });

  it("parse never shares the default columns array", () => {
    const f = parseFilters("");
    f.columns.push("location");
    expect(DEFAULT_FILTERS.columns).toEqual(DEFAULT_COLUMNS);
    expect(parseFilters("").columns).toEqual(DEFAULT_COLUMNS);
  });

  it("format writes lists comma-separated in a fixed parameter order", () => {
    const text = formatFilters(
      filters({ selected: UUID_A, severity: ["high", "low"], assignee: "", range: "1h", page_size: 25, sort_order: "asc", status: ["new"] }),
    );
    expect(text).toBe(`?severity=high%2Clow&status=new&assignee=&range=1h&sort_order=asc&page_size=25&threat=${UUID_A}`);
  });

  it("from/to are written only with the custom range", () => {
    expect(formatFilters(filters({ range: "24h", from: "2026-11-01T00:00:00Z", to: "2026-11-02T00:00:00Z" }))).toBe("?range=24h");
    expect(parseFilters("?range=24h&from=2026-11-01T00:00:00Z").from).toBeNull();
  });
});

describe("parseFilters drops invalid values", () => {
  it("unknown severities and statuses", () => {
    const f = parseFilters("?severity=critical,urgent,HIGH,high&status=new,closed");
    expect(f.severity).toEqual(["critical", "high"]);
    expect(f.status).toEqual(["new"]);
  });

  it("sensor ids with / or # or too long", () => {
    const f = parseFilters(`?sensor_id=seed-0001,a/b,c%23d,${"x".repeat(65)},${"y".repeat(64)},e f`);
    expect(f.sensor_id).toEqual(["seed-0001", "y".repeat(64)]);
  });

  it("a raw # ends the query (it is the fragment), so nothing after it is taken", () => {
    expect(parseFilters(new URL("http://x/threats?sensor_id=ab#cd&severity=high").search)).toEqual(filters({ sensor_id: ["ab"] }));
  });

  it("a threat that is not a UUID; an upper-case UUID is kept in lower case", () => {
    expect(parseFilters("?threat=not-a-uuid").selected).toBeNull();
    expect(parseFilters(`?threat=${UUID_A}x`).selected).toBeNull();
    expect(parseFilters("?threat=3f2a9c1e8b7d4e6f9a0b1c2d3e4f5a6b").selected).toBeNull();
    expect(parseFilters(`?threat=${UUID_A.toUpperCase()}`).selected).toBe(UUID_A);
  });

  it("unknown columns; only unknown columns fall back to the defaults", () => {
    expect(parseFilters("?columns=severity,bogus,timestamp").columns).toEqual(["severity", "timestamp"]);
    expect(parseFilters("?columns=bogus").columns).toEqual(DEFAULT_COLUMNS);
    expect(parseFilters("?columns=").columns).toEqual(DEFAULT_COLUMNS);
  });

  it("bad dates in a custom range", () => {
    const f = parseFilters("?range=custom&from=yesterday&to=2026-13-45T99:00:00Z");
    expect(f.range).toBe("custom");
    expect(f.from).toBeNull();
    expect(f.to).toBeNull();
    expect(parseFilters("?range=custom&from=2026-11-01&to=").to).toBeNull();
  });

  // Regression (filters.ts, isTime, fixed): `Date.parse` is lenient in V8: "1", "-1", "2026", "March 7",
  // "foo 1" and "2026/11/01" all parse, so a hand-edited `?range=custom&from=1` is kept, sent as
  // start_time=1, and the API answers 422 ("unparsable time"): the link breaks the page instead of
  // the bad value being dropped. (Checked against the dev server: start_time=1, "March 7" and
  // "2026/11/01" are 422; "2026-11-01", "2026-11-01T00:00:00", "...Z" are 200.)
  // Fix: accept only the ISO 8601 / RFC 3339 forms before Date.parse, e.g.
  //   /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/i.test(v) && !Number.isNaN(Date.parse(v))
  it("dates only Date.parse's leniency accepts (the API refuses them) are dropped", () => {
    for (const bad of ["1", "-1", "2026", "March 7", "foo 1", "2026/11/01"]) {
      const f = parseFilters(new URLSearchParams({ range: "custom", from: bad, to: bad }));
      expect([bad, f.from, f.to]).toEqual([bad, null, null]);
    }
    // The forms the API takes are kept.
    for (const good of ["2026-11-01", "2026-11-01T00:00:00", "2026-11-01T00:00:00Z", "2026-11-01T00:00:00.123456+02:00"]) {
      expect(parseFilters(new URLSearchParams({ range: "custom", from: good })).from).toBe(good);
    }
  });

  it("unknown range, sort, order, page size, acknowledgement; bad cursor and assignee", () => {
    const f = parseFilters(
      "?range=2w&sort_by=device_mac&sort_order=up&page_size=1000&is_acknowledged=yes&cursor=abc%2Fdef&assignee=a%2Cb%3Cscript%3E",
    );
    expect(f).toEqual(DEFAULT_FILTERS);
    expect(parseFilters("?page_size=50.0").page_size).toBe(50);
    expect(parseFilters("?page_size=7").page_size).toBe(50);
    expect(parseFilters(`?cursor=${"a".repeat(513)}`).cursor).toBeNull();
  });

  it("free-text tokens: too long or with control characters are dropped; detector types are lower-cased", () => {
    const f = parseFilters(`?threat_type=ok,${"t".repeat(129)},bad%0Aline&detector_type=USB,WiFi`);
    expect(f.threat_type).toEqual(["ok"]);
    expect(f.detector_type).toEqual(["usb", "wifi"]);
  });

  it("a hand-edited URL with everything wrong still parses to a usable filter", () => {
    const f = parseFilters("?severity=&status=,,&columns=,&page_size=&range=&threat=&cursor=&sort_by=");
    expect(f).toEqual(DEFAULT_FILTERS);
  });
});

describe("parseFilters list syntaxes", () => {
  it("comma-separated and repeated parameters both parse, and mix", () => {
    const comma = parseFilters("?severity=critical,high&sensor_id=seed-0001,seed-0002");
    const repeated = parseFilters("?severity=critical&severity=high&sensor_id=seed-0001&sensor_id=seed-0002");
    const mixed = parseFilters("?severity=critical&severity=high&sensor_id=seed-0001,seed-0002");
    expect(comma.severity).toEqual(["critical", "high"]);
    expect(comma.sensor_id).toEqual(["seed-0001", "seed-0002"]);
    expect(repeated).toEqual(comma);
    expect(mixed).toEqual(comma);
  });

  it("repeated values are kept once, empty items are skipped", () => {
    const f = parseFilters("?status=new,,new&status=resolved&status=new&threat_type=a,,b,a");
    expect(f.status).toEqual(["new", "resolved"]);
    expect(f.threat_type).toEqual(["a", "b"]);
  });

  it("the encoded comma (%2C) written by format splits like a plain one", () => {
    expect(parseFilters("?severity=critical%2Chigh").severity).toEqual(["critical", "high"]);
  });
});

describe("withFilter", () => {
  const paged = filters({ cursor: "abc", selected: UUID_A, severity: ["high"] });

  it.each<[string, Partial<ThreatFilters>]>([
    ["severity", { severity: ["critical"] }],
    ["status", { status: ["new"] }],
    ["sensor", { sensor_id: ["seed-0002"] }],
    ["assignee", { assignee: "" }],
    ["acknowledged", { is_acknowledged: false }],
    ["range", { range: "7d" as Range }],
    ["sort", { sort_by: "severity" }],
    ["order", { sort_order: "asc" }],
    ["page size", { page_size: 100 }],
  ])("a change of %s resets the cursor", (_name, patch) => {
    const next = withFilter(paged, patch);
    expect(next.cursor).toBeNull();
    expect(next).toMatchObject(patch);
    expect(next.selected).toBe(UUID_A);
  });

  it.each<[string, Partial<ThreatFilters>, string | null]>([
    ["selected", { selected: null }, "abc"],
    ["columns", { columns: ["severity"] as Column[] }, "abc"],
    ["cursor", { cursor: "def" }, "def"],
    ["selected and columns", { selected: UUID_A, columns: [...COLUMNS] }, "abc"],
  ])("a change of %s only keeps (or sets) the cursor", (_name, patch, cursor) => {
    const next = withFilter(paged, patch);
    expect(next.cursor).toBe(cursor);
    expect(next).toMatchObject({ ...patch, cursor });
    expect(next.severity).toEqual(["high"]);
  });

  it("does not modify its input", () => {
    const before = structuredClone(paged);
    withFilter(paged, { severity: ["low"] });
    expect(paged).toEqual(before);
  });

  // Regression: `patch.cursor ?? f.cursor` once turned an explicit `cursor: null` into the old
  // cursor, so "back to the first page" kept the current page.
  it("an explicit cursor: null goes back to the first page", () => {
    expect(withFilter(paged, { cursor: null }).cursor).toBeNull();
    expect(withFilter(paged, { severity: ["low"], cursor: null }).cursor).toBeNull();
  });

  it("a filter change that also sets a cursor keeps that cursor", () => {
    expect(withFilter(paged, { sort_by: "severity", cursor: "xyz" }).cursor).toBe("xyz");
  });
});

describe("apiQuery and rangeWindow", () => {
  const API_NAMES = [
    "severity",
    "detector_type",
    "threat_type",
    "sensor_id",
    "status",
    "assignee",
    "is_acknowledged",
    "start_time",
    "end_time",
    "sort_by",
    "sort_order",
    "page_size",
    "cursor",
  ];

  it("uses exactly the API's parameter names", () => {
    const f = filters({
      severity: ["high"],
      detector_type: ["usb"],
      threat_type: ["rogue_ap"],
      sensor_id: ["seed-0001"],
      status: ["new"],
      assignee: "analyst1",
      is_acknowledged: false,
      range: "custom",
      from: "2026-11-01T00:00:00Z",
      to: "2026-11-02T00:00:00Z",
      sort_by: "threat_score",
      sort_order: "asc",
      page_size: 100,
      cursor: "abc",
      columns: ["severity"],
      selected: UUID_A,
    });
    const q = apiQuery(f, NOW);
    expect(Object.keys(q).sort()).toEqual([...API_NAMES].sort());
    expect(q).toEqual({
      severity: ["high"],
      detector_type: ["usb"],
      threat_type: ["rogue_ap"],
      sensor_id: ["seed-0001"],
      status: ["new"],
      assignee: "analyst1",
      is_acknowledged: false,
      start_time: "2026-11-01T00:00:00Z",
      end_time: "2026-11-02T00:00:00Z",
      sort_by: "threat_score",
      sort_order: "asc",
      page_size: 100,
      cursor: "abc",
    });
    // Nothing of the view (range, from, to, columns, threat) reaches the API.
    const sent = new URLSearchParams(buildQuery(q).slice(1));
    for (const key of sent.keys()) expect(API_NAMES).toContain(key);
    expect(sent.getAll("severity")).toEqual(["high"]);
  });

  it("the defaults send only the sort and the page size", () => {
    expect(buildQuery(apiQuery(DEFAULT_FILTERS, NOW))).toBe("?sort_by=timestamp&sort_order=desc&page_size=50");
  });

  it("unassigned is sent as assignee= (empty), any assignee not at all", () => {
    expect(buildQuery(apiQuery(filters({ assignee: "" }), NOW))).toContain("assignee=&");
    expect(buildQuery(apiQuery(filters({ assignee: null }), NOW))).not.toContain("assignee");
  });

  it("apiFilters has the filters without sort, paging or cursor (for export and bulk)", () => {
    const q = apiFilters(filters({ cursor: "abc", range: "1h", sort_by: "severity" }), NOW);
    expect(Object.keys(q).sort()).toEqual(["assignee", "detector_type", "is_acknowledged", "sensor_id", "severity", "start_time", "status", "threat_type"]);
  });

  it.each<[Range, number]>([
    ["1h", 3_600_000],
    ["6h", 6 * 3_600_000],
    ["24h", 24 * 3_600_000],
    ["7d", 7 * 86_400_000],
    ["30d", 30 * 86_400_000],
    ["90d", 90 * 86_400_000],
  ])("range %s starts that long before now and has no end", (range, span) => {
    const w = rangeWindow({ range, from: null, to: null }, NOW);
    expect(w).toEqual({ start_time: new Date(NOW - span).toISOString() });
    expect(apiQuery(filters({ range }), NOW).start_time).toBe(new Date(NOW - span).toISOString());
  });

  it("fixed examples", () => {
    expect(rangeWindow({ range: "24h", from: null, to: null }, NOW).start_time).toBe("2026-12-02T12:00:00.000Z");
    expect(rangeWindow({ range: "7d", from: null, to: null }, NOW).start_time).toBe("2026-11-26T12:00:00.000Z");
  });

  it("all has no window; custom uses from/to as given", () => {
    expect(rangeWindow({ range: "all", from: null, to: null }, NOW)).toEqual({});
    expect(rangeWindow({ range: "custom", from: "2026-11-01T00:00:00Z", to: null }, NOW)).toEqual({ start_time: "2026-11-01T00:00:00Z", end_time: undefined });
    expect(buildQuery(rangeWindow({ range: "custom", from: null, to: null }, NOW))).toBe("");
  });

  it("every range is covered", () => {
    for (const range of RANGES) {
      const w = rangeWindow({ range, from: "2026-11-01T00:00:00Z", to: null }, NOW);
      if (range === "all") expect(w).toEqual({});
      else expect(w.start_time).toMatch(/^2026-/);
    }
  });
});
