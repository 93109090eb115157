// Alerting's pure helpers: the alerts page's view ↔ URL, live alerts put on top, the navigation's
// unacknowledged count, the rule and destination forms turned into API bodies, the API's 422
// field errors keyed by field, and a command's JSON arguments.
import { describe, expect, it } from "vitest";
import {
  AlertBadge,
  EMPTY_DESTINATION_FORM,
  EMPTY_RULE_FORM,
  alertViewHref,
  apiFieldErrors,
  describeRule,
  destinationBody,
  parseAlertView,
  parseArgs,
  prependLive,
  ruleBody,
  ruleForm,
  splitList,
  type AlertView,
} from "../src/lib/alerts";
import { ApiError } from "../src/lib/api";
import type { Alert, AlertRule } from "../src/lib/types";

function alert(id: string, status: Alert["status"] = "firing"): Alert {
  return {
    id,
    rule_id: "r1",
    rule_name: "Rule",
    fired_at: "2026-12-03T06:40:01.500000Z",
    sensor_id: "s1",
    threat_ids: ["t1"],
    count: 1,
    status,
    acknowledged_by: status === "firing" ? null : "admin",
    acknowledged_at: null,
    summary: { severity: "high", threat_type: "rogue_ap" },
  };
}

describe("the alerts page's view in the URL", () => {
  it("round-trips every view and leaves defaults out", () => {
    expect(alertViewHref(parseAlertView(new URLSearchParams()))).toBe("/alerts");
    const views: AlertView[] = [
      { tab: "alerts", status: "firing", delivery: "", cursor: "" },
      { tab: "alerts", status: "", delivery: "", cursor: "MjAyNi0xMi0wMw.abc-1" },
      { tab: "outbox", status: "", delivery: "failed", cursor: "x" },
      { tab: "rules", status: "", delivery: "", cursor: "" },
    ];
    for (const v of views) {
      const href = alertViewHref(v);
      expect(parseAlertView(new URLSearchParams(href.split("?")[1] ?? ""))).toEqual(v);
    }
    expect(alertViewHref(views[0])).toBe("/alerts?status=firing");
  });

  it("drops values it does not know", () => {
    const v = parseAlertView(new URLSearchParams("tab=admin&status=open&delivery=lost&cursor=a%20b"));
    expect(v).toEqual({ tab: "alerts", status: "", delivery: "", cursor: "" });
  });
});

describe("prependLive", () => {
  const rows = [alert("b"), alert("a", "acknowledged")];
  it("puts a new alert on top of the first page", () => {
    expect(prependLive(rows, alert("c"), { status: "", cursor: "" }).map((a) => a.id)).toEqual(["c", "b", "a"]);
  });
  it("leaves the rows alone when the alert is listed, filtered out, or an older page is shown", () => {
    expect(prependLive(rows, alert("b"), { status: "", cursor: "" })).toBe(rows);
    expect(prependLive(rows, alert("c"), { status: "acknowledged", cursor: "" })).toBe(rows);
    expect(prependLive(rows, alert("c"), { status: "", cursor: "next" })).toBe(rows);
  });
  it("keeps at most `max` rows", () => {
    expect(prependLive(rows, alert("c"), { status: "", cursor: "" }, 2).map((a) => a.id)).toEqual(["c", "b"]);
  });
});

describe("AlertBadge", () => {
  it("counts the first page's firing alerts and the live ones, once each", () => {
    const badge = new AlertBadge();
    let notified = 0;
    badge.subscribe(() => (notified += 1));
    expect(badge.label).toBe("");
    badge.seed({ alerts: [alert("a"), alert("b")], next_cursor: null });
    expect(badge.label).toBe("2");
    badge.observe([alert("c")]);
    badge.observe([alert("c")]); // the same frame again (a replay) is not counted twice
    expect(badge.count).toBe(3);
    expect(notified).toBe(2);
  });

  it("drops acknowledged alerts, whether acknowledged here or seen so in a page read later", () => {
    const badge = new AlertBadge();
    badge.seed({ alerts: [alert("a"), alert("b"), alert("c")], next_cursor: null });
    badge.acknowledged("a");
    badge.acknowledged("zzz"); // unknown: no change
    badge.observe([alert("b", "acknowledged")]);
    expect(badge.count).toBe(1);
    badge.acknowledged("c");
    expect(badge.label).toBe("");
  });

  it("says the count is a floor when the first page had more", () => {
    const badge = new AlertBadge();
    badge.seed({ alerts: [alert("a"), alert("b")], next_cursor: "more" });
    expect(badge.label).toBe("2+");
  });
});

describe("ruleBody", () => {
  it("builds the API's body from the form: lists split, blanks left out, no threshold as null", () => {
    const built = ruleBody({ ...EMPTY_RULE_FORM, name: " Flipper ", min_severity: "critical", detector_types: "ble, usb,, ble", sensor_ids: "", destination_ids: ["d1"] });
    expect(built).toEqual({
      body: { name: "Flipper", enabled: true, match: { min_severity: "critical", detector_types: ["ble", "usb"] }, threshold: null, cooldown_seconds: 0, destination_ids: ["d1"] },
    });
  });

  it("an empty match matches every threat", () => {
    const built = ruleBody({ ...EMPTY_RULE_FORM, name: "all" });
    expect("body" in built && built.body.match).toEqual({});
  });

  it("carries a threshold, a score and a cooldown", () => {
    const built = ruleBody({ ...EMPTY_RULE_FORM, name: "burst", use_threshold: true, count: "3", window_seconds: "300", per: "fleet", min_score: "0.5", cooldown_seconds: "900" });
    expect(built).toMatchObject({ body: { match: { min_score: 0.5 }, threshold: { count: 3, window_seconds: 300, per: "fleet" }, cooldown_seconds: 900 } });
  });

  it("finds what the API would refuse, keyed by the body's path", () => {
    const built = ruleBody({ ...EMPTY_RULE_FORM, name: " ", min_score: "1.5", use_threshold: true, count: "0", window_seconds: "2.5", cooldown_seconds: "-1" });
    expect("errors" in built && Object.keys(built.errors).sort()).toEqual(["cooldown_seconds", "match.min_score", "name", "threshold.count", "threshold.window_seconds"]);
  });

  it("a rule read back into the form gives the same rule", () => {
    const rule: AlertRule = {
      id: "r",
      name: "Flipper Zero",
      enabled: false,
      match: { min_severity: "high", detector_types: ["ble"], threat_types: ["flipper_zero", "ble_spam"], sensor_ids: ["rpi-01"], min_score: 0.7 },
      threshold: { count: 3, window_seconds: 300, per: "sensor" },
      cooldown_seconds: 900,
      destination_ids: ["d1", "d2"],
      created_at: "",
      updated_at: "",
    };
    const built = ruleBody(ruleForm(rule));
    expect(built).toEqual({ body: { name: rule.name, enabled: false, match: rule.match, threshold: rule.threshold, cooldown_seconds: 900, destination_ids: ["d1", "d2"] } });
  });

  it("describes a rule in one line", () => {
    expect(describeRule({ match: {}, threshold: null, cooldown_seconds: 0 })).toBe("every threat · each one");
    expect(describeRule({ match: { min_severity: "critical", detector_types: ["ble"] }, threshold: { count: 3, window_seconds: 300, per: "sensor" }, cooldown_seconds: 900 })).toBe(
      "critical · detector ble · 3 within 5 min per sensor · then quiet 15 min",
    );
  });
});

describe("splitList", () => {
  it("splits on commas and line breaks, trims, drops blanks and repeats", () => {
    expect(splitList(" a, b\nc,,a ")).toEqual(["a", "b", "c"]);
    expect(splitList("")).toEqual([]);
  });
});

describe("destinationBody", () => {
  it("sends only the kind's fields", () => {
    expect(destinationBody({ ...EMPTY_DESTINATION_FORM, name: "SOC", kind: "webhook", url: "https://soc.example.org/h", secret: "s3", host: "ignored" })).toEqual({
      body: { name: "SOC", kind: "webhook", url: "https://soc.example.org/h", secret: "s3" },
    });
    expect(destinationBody({ ...EMPTY_DESTINATION_FORM, name: "PD", kind: "pagerduty", secret: "R0123" })).toEqual({ body: { name: "PD", kind: "pagerduty", routing_key: "R0123" } });
    expect(destinationBody({ ...EMPTY_DESTINATION_FORM, name: "SIEM", kind: "syslog", host: "siem", port: "6514", transport: "tls", format: "leef", ca_file: "/etc/ca.pem", url: "x" })).toEqual({
      body: { name: "SIEM", kind: "syslog", host: "siem", port: 6514, transport: "tls", format: "leef", ca_file: "/etc/ca.pem" },
    });
  });

  it("on an edit keeps the kind and a blank secret out (the stored one stays)", () => {
    expect(destinationBody({ ...EMPTY_DESTINATION_FORM, name: "SOC", kind: "webhook", url: "https://soc.example.org/h" }, true)).toEqual({ body: { name: "SOC", url: "https://soc.example.org/h" } });
    expect(destinationBody({ ...EMPTY_DESTINATION_FORM, name: "PD", kind: "pagerduty" }, true)).toEqual({ body: { name: "PD" } });
  });

  it("finds missing and malformed fields", () => {
    const check = (f: Partial<typeof EMPTY_DESTINATION_FORM>) => {
      const built = destinationBody({ ...EMPTY_DESTINATION_FORM, name: "x", ...f });
      return "errors" in built ? Object.keys(built.errors).sort() : [];
    };
    expect(check({ kind: "slack", url: "ftp://x" })).toEqual(["url"]);
    expect(check({ kind: "pagerduty" })).toEqual(["routing_key"]);
    expect(check({ kind: "syslog", host: "", port: "70000" })).toEqual(["host", "port"]);
    expect(check({ name: "", kind: "webhook", url: "https://ok.example" })).toEqual(["name"]);
  });
});

describe("apiFieldErrors", () => {
  it("keys the API's 422 errors by their path in the body", () => {
    const error = new ApiError(422, "x", [
      { loc: ["body", "match", "min_score"], msg: "Input should be less than or equal to 1", type: "less_than_equal" },
      { loc: ["body", "name"], msg: "Field required", type: "missing" },
      { loc: ["body", "name"], msg: "second", type: "x" },
    ]);
    expect(apiFieldErrors(error)).toEqual({ "match.min_score": "Input should be less than or equal to 1", name: "Field required" });
    const listed = new ApiError(422, "x", [{ loc: ["body", "match", "sensor_ids", "1"], msg: "Input should be a sensor id", type: "value_error" }]);
    expect(apiFieldErrors(listed)).toEqual({ "match.sensor_ids": "Input should be a sensor id (value 2)" });
    expect(apiFieldErrors(new Error("plain"))).toEqual({});
  });
});

describe("parseArgs", () => {
  it("accepts nothing or a JSON object", () => {
    expect(parseArgs("  ")).toEqual({});
    expect(parseArgs('{"detector": "ble", "n": 2}')).toEqual({ args: { detector: "ble", n: 2 } });
  });
  it("refuses what is not a JSON object, or too big", () => {
    for (const text of ["[1]", "42", '"s"', "null", "{bad"]) expect(parseArgs(text)).toHaveProperty("error");
    expect(parseArgs(JSON.stringify({ blob: "x".repeat(17 * 1024) }))).toEqual({ error: "At most 16 KiB as JSON" });
  });
});
