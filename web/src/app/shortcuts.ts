// Keyboard first: "/" focuses the page's filter, g+<key> goes to a page (g o overview, g l live,
// g m map, g t threats, g e alerts, g s sensors, g u users, g a audit), "?" lists the keys. Pages add their
// own (j/k to move in lists, a to acknowledge, Esc to close panels) on their elements.
import { useEffect } from "react";
import { navigate } from "./router";

const GO: Record<string, string> = { o: "/", l: "/live", m: "/map", t: "/threats", e: "/alerts", s: "/sensors", u: "/users", a: "/audit" };

function typing(target: EventTarget | null): boolean {
  const el = target as HTMLElement | null;
  if (!el) return false;
  return el.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(el.tagName);
}

export function useShortcuts() {
  useEffect(() => {
    let pendingG = false;
    const onKey = (e: KeyboardEvent) => {
      if (e.ctrlKey || e.metaKey || e.altKey || typing(e.target)) return;
      if (pendingG) {
        pendingG = false;
        const to = GO[e.key];
        if (to) {
          e.preventDefault();
          navigate(to);
        }
        return;
      }
      if (e.key === "g") {
        pendingG = true;
        setTimeout(() => (pendingG = false), 1500);
      } else if (e.key === "/") {
        const filter = document.querySelector<HTMLElement>("[data-filter-focus]");
        if (filter) {
          e.preventDefault();
          filter.focus();
        }
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, []);
}
