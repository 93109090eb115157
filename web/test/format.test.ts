// Number and time formatting, and the severity order every list uses.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { detectorLabel, formatCount, formatNumber, formatPercent, formatRelative, formatTime, severityRank, titleCase, worstSeverity } from "../src/lib/format";
import { SEVERITIES } from "../src/lib/types";

const NOW = Date.UTC(2026, 11, 3, 14, 5, 9);
const ago = (seconds: number) => NOW - seconds * 1000;

describe("formatCount", () => {
  it.each<[number, string]>([
    [0, "0"],
    [7, "7"],
    [999, "999"],
    [1000, "1,000"],
    [12345, "12,345"],
    [200000, "200,000"],
    [1234567, "1,234,567"],
    [-4321, "-4,321"],
    [1234.6, "1,235"],
  ])("%d → %s", (n, text) => {
    expect(formatCount(n)).toBe(text);
  });

  it("missing values are a dash", () => {
    expect(formatCount(null)).toBe("—");
    expect(formatCount(undefined)).toBe("—");
    expect(formatCount(Number.NaN)).toBe("—");
  });

  it("formatNumber and formatPercent", () => {
    expect(formatNumber(1234.5678)).toBe("1,234.57");
    expect(formatNumber(0.5, 3)).toBe("0.500");
    expect(formatNumber(null)).toBe("—");
    expect(formatPercent(12.345)).toBe("12.35 %");
    expect(formatPercent(undefined)).toBe("—");
  });
});

describe("formatRelative", () => {
  it.each<[number, string]>([
    [0, "just now"],
    [4, "just now"],
    [4.49, "just now"],
    [4.5, "5 s ago"],
    [5, "5 s ago"],
    [59, "59 s ago"],
    [59.4, "59 s ago"],
    [60, "1 min ago"],
    [119, "1 min ago"],
    [120, "2 min ago"],
    [3599, "59 min ago"],
    [3600, "1 h ago"],
    [86399, "23 h ago"],
    [86400, "1 d ago"],
    [30 * 86400, "30 d ago"],
    [-4, "just now"],
    [-5, "in 5 s"],
    [-300, "in 5 min"],
    [-7200, "in 2 h"],
    [-2 * 86400, "in 2 d"],
  ])("%d s before now → %s", (seconds, text) => {
    expect(formatRelative(ago(seconds), NOW)).toBe(text);
  });

  it("takes ISO strings too", () => {
    expect(formatRelative(new Date(ago(90)).toISOString(), NOW)).toBe("1 min ago");
    expect(formatRelative("2026-12-03T14:05:09.123456Z", NOW)).toBe("just now");
  });

  it("never, and a dash for garbage", () => {
    expect(formatRelative(null, NOW)).toBe("never");
    expect(formatRelative(undefined, NOW)).toBe("never");
    expect(formatRelative("not a time", NOW)).toBe("—");
  });
});

describe("formatTime", () => {
  // A zone with a non-whole-hour offset, so UTC and local time cannot agree by accident.
  const env = (globalThis as unknown as { process: { env: Record<string, string | undefined> } }).process.env;
  const savedTz = env.TZ;
  beforeAll(() => {
    env.TZ = "Asia/Kolkata";
  });
  afterAll(() => {
    if (savedTz === undefined) delete env.TZ;
    else env.TZ = savedTz;
  });

  it("the test runs in a non-UTC zone", () => {
    expect(new Date("2026-07-03T14:05:09Z").getTimezoneOffset()).toBe(-330);
  });

  it("UTC form", () => {
    expect(formatTime("2026-12-03T14:05:09Z", false)).toBe("2026-12-03 14:05:09 UTC");
    expect(formatTime("2026-01-02T03:04:05.678901+00:00", false)).toBe("2026-01-02 03:04:05 UTC");
    // An offset is converted to UTC.
    expect(formatTime("2026-12-31T23:30:00-02:00", false)).toBe("2027-01-01 01:30:00 UTC");
  });

  it("UTC is the default", () => {
    expect(formatTime("2026-12-03T14:05:09Z")).toBe("2026-12-03 14:05:09 UTC");
  });

  it("local form carries the offset", () => {
    const iso = "2026-07-03T14:05:09Z";
    const d = new Date(iso);
    const text = formatTime(iso, true);
    expect(text).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} [+-]\d{2}:\d{2}$/);
    const offset = -d.getTimezoneOffset();
    const sign = offset >= 0 ? "+" : "-";
    const hh = String(Math.floor(Math.abs(offset) / 60)).padStart(2, "0");
    const mm = String(Math.abs(offset) % 60).padStart(2, "0");
    expect(text.endsWith(` ${sign}${hh}:${mm}`)).toBe(true);
    // The wall-clock part and the offset name the same instant.
    const [date, time] = text.split(" ");
    expect(Date.parse(`${date}T${time}${sign}${hh}:${mm}`)).toBe(d.getTime());
    expect(text).toBe("2026-07-03 19:35:09 +05:30");
  });

  it("missing and unparsable", () => {
    expect(formatTime(null)).toBe("—");
    expect(formatTime(undefined)).toBe("—");
    expect(formatTime("")).toBe("—");
    expect(formatTime("garbage", false)).toBe("garbage");
  });
});

describe("severities", () => {
  it("severityRank: graver first, unknown last", () => {
    expect(SEVERITIES.map(severityRank)).toEqual([0, 1, 2, 3, 4]);
    expect(severityRank("bogus")).toBe(5);
    const sorted = ["low", "bogus", "critical", "info", "medium", "high"].sort((a, b) => severityRank(a) - severityRank(b));
    expect(sorted).toEqual(["critical", "high", "medium", "low", "info", "bogus"]);
  });

  it("worstSeverity: the gravest with a non-zero count", () => {
    expect(worstSeverity({ low: 3, high: 1, info: 9 })).toBe("high");
    expect(worstSeverity({ critical: 0, medium: 2 })).toBe("medium");
    expect(worstSeverity({ info: 1 })).toBe("info");
    expect(worstSeverity({ critical: 1, high: 5 })).toBe("critical");
    expect(worstSeverity({})).toBeNull();
    expect(worstSeverity({ critical: 0, high: 0 })).toBeNull();
    expect(worstSeverity({ bogus: 10 })).toBeNull();
  });
});

describe("labels", () => {
  it("titleCase", () => {
    expect(titleCase("false_positive")).toBe("False positive");
    expect(titleCase("usb_rubber_ducky")).toBe("Usb rubber ducky");
    expect(titleCase("")).toBe("");
  });

  it("detectorLabel", () => {
    expect(detectorLabel("usb")).toBe("USB");
    expect(detectorLabel("WIFI")).toBe("WiFi");
    expect(detectorLabel("airdrop")).toBe("AirDrop");
    expect(detectorLabel("lora")).toBe("lora");
  });
});
