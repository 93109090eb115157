// The admin pages' pure helpers: the sensor id suggested by the onboarding wizard, and the
// generated passwords of the Users page.
import { describe, expect, it } from "vitest";
import { suggestSensorId } from "../src/pages/Onboard";
import { generatePassword, passwordProblem } from "../src/pages/Users";

describe("suggestSensorId", () => {
  it("makes a valid sensor id from a name", () => {
    expect(suggestSensorId("Lobby sensor")).toBe("lobby-sensor");
    expect(suggestSensorId("  Café — 2nd floor!! ")).toBe("cafe-2nd-floor");
    expect(suggestSensorId("rpi.01_A")).toBe("rpi.01_a");
    expect(suggestSensorId("***")).toBe("sensor-01");
    expect(suggestSensorId("x".repeat(100))).toHaveLength(64);
    for (const name of ["Lobby sensor", "Ünïcödé", "a/b\\c", "..dots.."]) expect(suggestSensorId(name)).toMatch(/^[A-Za-z0-9._-]{1,64}$/);
  });
});

describe("generatePassword", () => {
  it("is long, varied and accepted by the API's rule", () => {
    const seen = new Set<string>();
    for (let i = 0; i < 50; i++) {
      const p = generatePassword();
      expect(p).toHaveLength(20);
      expect(passwordProblem(p)).toBeNull();
      expect(p).not.toMatch(/[0O1lI]/);
      seen.add(p);
    }
    expect(seen.size).toBe(50);
  });

  it("checks the 8..1024 byte rule", () => {
    expect(passwordProblem("short")).not.toBeNull();
    expect(passwordProblem("é".repeat(513))).not.toBeNull();
    expect(passwordProblem("long enough")).toBeNull();
  });
});
