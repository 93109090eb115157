// The overview's and the map's pure parts: the range/period URL round trip and its fallbacks,
// live threats added to the trend's buckets (existing ones, new hours appended, old ones ignored),
// the map's sqrt radius scale and the projection's placement of known cities.
import { describe, expect, it } from "vitest";
import { PERIODS_FOR, TIME_RANGES, parseRange, rangeStart, withRange } from "../src/components/RangePicker";
import { addLiveToBuckets, mergeLiveBuckets, type SevCounts } from "../src/components/TrendChart";
import { MAP_HEIGHT, MAP_WIDTH, project } from "../src/components/WorldMap";
import { radiusFor } from "../src/pages/MapPage";
import type { Trends } from "../src/lib/types";

const H = 3_600_000;
const counts = (c: Partial<SevCounts>): SevCounts => ({ critical: 0, high: 0, medium: 0, low: 0, info: 0, ...c });

describe("range in the URL", () => {
  it("defaults when absent or invalid, keeps valid values", () => {
    expect(parseRange(new URLSearchParams(""), "7d")).toEqual({ range: "7d", period: "hourly" });
    expect(parseRange(new URLSearchParams("range=30d"), "7d")).toEqual({ range: "30d", period: "daily" });
    expect(parseRange(new URLSearchParams("range=30d&period=weekly"), "7d")).toEqual({ range: "30d", period: "weekly" });
    expect(parseRange(new URLSearchParams("range=1y&period=yearly"), "24h")).toEqual({ range: "24h", period: "hourly" });
    // A period that does not suit the range falls back to the range's default.
    expect(parseRange(new URLSearchParams("range=90d&period=hourly"), "7d")).toEqual({ range: "90d", period: "daily" });
  });

  it("round-trips every range and period, leaving defaults out and other parameters in", () => {
    for (const range of TIME_RANGES)
      for (const period of PERIODS_FOR[range]) {
        const q = withRange(new URLSearchParams("sensor=seed-0008"), { range, period }, "7d");
        const back = new URLSearchParams(q);
        expect(parseRange(back, "7d")).toEqual({ range, period });
        expect(back.get("sensor")).toBe("seed-0008");
        expect(back.has("range")).toBe(range !== "7d");
        expect(back.has("period")).toBe(period !== PERIODS_FOR[range][0]);
      }
  });

  it("starts the window range-length before now", () => {
    const now = Date.UTC(2026, 11, 3, 12);
    expect(rangeStart("24h", now)).toBe("2026-12-02T12:00:00.000Z");
    expect(rangeStart("7d", now)).toBe("2026-11-26T12:00:00.000Z");
  });
});

describe("live threats in the trend", () => {
  const t0 = Date.UTC(2026, 11, 3, 10);
  const trends: Trends = {
    period: "hourly",
    start_time: new Date(t0).toISOString(),
    end_time: new Date(t0 + 2 * H + 600_000).toISOString(),
    data_points: [0, 1, 2].map((i) => ({ timestamp: new Date(t0 + i * H).toISOString().replace(".000Z", ".000000Z"), count: 10, severity: { critical: 1, high: 2, medium: 3, low: 4, info: 0 } })),
  };

  it("adds to the bucket holding the threat and appends a new hour", () => {
    const minutes = new Map<number, SevCounts>([
      [t0 + 2 * H + 15 * 60_000, counts({ critical: 2, info: 1 })],
      [t0 + 3 * H + 60_000, counts({ low: 5 })],
      [t0 + 30 * 60_000, counts({ high: 1 })],
    ]);
    const d = addLiveToBuckets({ base: null, adds: new Map() }, trends, H, minutes, t0 + 3 * H + 120_000);
    const merged = mergeLiveBuckets(trends, d.adds, H);
    expect(merged).toHaveLength(4);
    expect(merged[0].severity.high).toBe(3);
    expect(merged[0].count).toBe(11);
    expect(merged[2].severity.critical).toBe(3);
    expect(merged[2].severity.info).toBe(1);
    expect(merged[2].count).toBe(13);
    expect(merged[3]).toEqual({ timestamp: new Date(t0 + 3 * H).toISOString(), count: 5, severity: counts({ low: 5 }) });
  });

  it("ignores threats before the window or far in the future, and accumulates across flushes", () => {
    const early = new Map([[t0 - 2 * H, counts({ info: 1 })]]);
    const future = new Map([[t0 + 48 * H, counts({ info: 1 })]]);
    let d = addLiveToBuckets({ base: null, adds: new Map() }, trends, H, early, t0 + 2 * H);
    d = addLiveToBuckets(d, trends, H, future, t0 + 2 * H);
    expect(d.adds.size).toBe(0);
    expect(mergeLiveBuckets(trends, d.adds, H)).toBe(trends.data_points);
    const one = new Map([[t0 + 2 * H, counts({ medium: 1 })]]);
    d = addLiveToBuckets(d, trends, H, one, t0 + 2 * H);
    d = addLiveToBuckets(d, trends, H, one, t0 + 2 * H);
    expect(mergeLiveBuckets(trends, d.adds, H)[2].severity.medium).toBe(5);
  });
});

describe("map", () => {
  it("scales radius by the square root of the count, clamped", () => {
    expect(radiusFor(0, 100)).toBe(4);
    expect(radiusFor(100, 100)).toBe(20);
    expect(radiusFor(25, 100)).toBeCloseTo(12);
    expect(radiusFor(1e9, 100)).toBe(20);
    expect(radiusFor(5, 0)).toBe(4);
  });

  it("places cities where they belong and refuses impossible positions", () => {
    const tokyo = project(35.7, 139.7)!;
    const london = project(51.5, -0.1)!;
    const sydney = project(-33.9, 151.2)!;
    expect(tokyo[0]).toBeGreaterThan(MAP_WIDTH * 0.8);
    expect(Math.abs(london[0] - MAP_WIDTH / 2)).toBeLessThan(10);
    expect(sydney[1]).toBeGreaterThan(tokyo[1]);
    for (const [x, y] of [tokyo, london, sydney]) {
      expect(x).toBeGreaterThan(0);
      expect(y).toBeGreaterThan(0);
      expect(y).toBeLessThan(MAP_HEIGHT);
    }
    expect(project(91, 0)).toBeNull();
    expect(project(Number.NaN, 0)).toBeNull();
  });
});
