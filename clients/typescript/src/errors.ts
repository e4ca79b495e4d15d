// Errors the client raises: the server's typed refusals, lost connections and broken frames.

import {
  ERROR_CODES,
  type AchievementDetails,
  type ErrorBody,
  type ErrorCode,
  type ErrorDetails,
  type FieldDetails,
  type FundsDetails,
  type HostDetails,
  type PlayersDetails,
  type ProgressDetails,
  type QuantityDetails,
  type RetryAfterDetails,
} from "./generated/protocol.js";

/** The server refused a request: one of the contract's error codes, with typed details. */
export class PzoError extends Error {
  override readonly name = "PzoError";
  readonly code: ErrorCode;
  readonly status: number;
  readonly retryable: boolean;
  readonly details: ErrorDetails;
  /** `/docs/errors#CODE`: what the code means and what to do about it. */
  readonly docs: string;
  /** The HTTP request id (`meta.request_id`), when the refusal came over HTTP. */
  readonly requestId: string | undefined;
  readonly body: ErrorBody;

  constructor(body: ErrorBody, requestId?: string) {
    super(`${body.code}: ${body.message}`);
    this.code = body.code;
    this.status = body.status;
    this.retryable = body.retryable;
    this.details = body.details;
    this.docs = body.docs;
    this.requestId = requestId;
    this.body = body;
  }
}

/**
 * The connection failed or closed before an answer came. A write may or may not have been
 * applied: retry it with the same `idempotency_key`.
 */
export class PzoConnectionError extends Error {
  override readonly name: string = "PzoConnectionError";
}

/** No answer came within the request timeout (the request may still be applied). */
export class PzoTimeoutError extends PzoConnectionError {
  override readonly name = "PzoTimeoutError";
}

/** The server sent something outside the contract: not JSON, an inexact integer, an unknown frame. */
export class PzoProtocolError extends Error {
  override readonly name = "PzoProtocolError";
}

/** Whether `value` is one of the contract's error codes. */
export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === "string" && Object.hasOwn(ERROR_CODES, value);
}

function hasKeys(details: ErrorDetails, keys: readonly string[]): boolean {
  const own = Object.keys(details);
  return own.length === keys.length && keys.every((key) => own.includes(key));
}

// Error details are a union of bare payloads (JSON carries no tag), told apart by their keys.
export const isFieldDetails = (d: ErrorDetails): d is FieldDetails => hasKeys(d, ["field", "reason"]);
export const isProgressDetails = (d: ErrorDetails): d is ProgressDetails => hasKeys(d, ["current", "required"]);
export const isFundsDetails = (d: ErrorDetails): d is FundsDetails =>
  hasKeys(d, ["currency_id", "balance", "required"]);
export const isQuantityDetails = (d: ErrorDetails): d is QuantityDetails =>
  hasKeys(d, ["item_id", "held", "requested"]);
export const isAchievementDetails = (d: ErrorDetails): d is AchievementDetails => hasKeys(d, ["achievement_id"]);
export const isHostDetails = (d: ErrorDetails): d is HostDetails => hasKeys(d, ["host_id"]);
export const isRetryAfterDetails = (d: ErrorDetails): d is RetryAfterDetails => hasKeys(d, ["retry_after_ms"]);
export const isPlayersDetails = (d: ErrorDetails): d is PlayersDetails =>
  hasKeys(d, ["players", "min_players", "max_players"]);
