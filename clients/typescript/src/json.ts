// JSON with exact integers: the contract caps every integer at 2^53-1, so an integer past
// `Number.MAX_SAFE_INTEGER` is refused both ways instead of being rounded silently.

import { PzoProtocolError } from "./errors.js";

function isInexact(value: number): boolean {
  return Number.isInteger(value) && !Number.isSafeInteger(value);
}

/** Parses a frame or body; throws `PzoProtocolError` on bad JSON or an integer past 2^53-1. */
export function parseJson(text: string): unknown {
  try {
    const parsed: unknown = JSON.parse(text, (_key: string, value: unknown): unknown => {
      if (typeof value === "number" && isInexact(value)) {
        throw new PzoProtocolError(`the server sent an integer past 2^53-1 (${value}); it cannot be exact`);
      }
      return value;
    });
    return parsed;
  } catch (error) {
    if (error instanceof PzoProtocolError) throw error;
    throw new PzoProtocolError(`the server sent invalid JSON: ${text.slice(0, 120)}`);
  }
}

/** Serializes a request; throws `RangeError` for NaN, infinities and integers past 2^53-1. */
export function stringifyJson(value: unknown): string {
  return JSON.stringify(value, (key: string, item: unknown): unknown => {
    if (typeof item === "number" && (!Number.isFinite(item) || isInexact(item))) {
      throw new RangeError(`${key || "value"} = ${item} is not an exact JSON number (integers stop at 2^53-1)`);
    }
    return item;
  });
}

/** Whether `value` is a plain JSON object (not null, not an array). */
export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
