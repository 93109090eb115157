// Keyboard for focusable table rows: j/k or the arrows move to the previous/next focusable row,
// Enter opens the row.
import type { KeyboardEvent } from "react";

/** Moves the focus to the previous/next focusable row (j/k, arrows); Enter opens the row. */
export function rowKeys(e: KeyboardEvent<HTMLTableRowElement>, open: () => void) {
  if (e.target !== e.currentTarget) return;
  if (e.key === "Enter") {
    e.preventDefault();
    open();
    return;
  }
  const down = e.key === "j" || e.key === "ArrowDown";
  const up = e.key === "k" || e.key === "ArrowUp";
  if (!down && !up) return;
  let next = (down ? e.currentTarget.nextElementSibling : e.currentTarget.previousElementSibling) as HTMLElement | null;
  while (next && !next.hasAttribute("tabindex")) next = (down ? next.nextElementSibling : next.previousElementSibling) as HTMLElement | null;
  if (next) {
    e.preventDefault();
    next.focus();
  }
}
