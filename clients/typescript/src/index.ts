// The `@pzo/client` package: the typed client and every generated protocol type.

export * from "./generated/protocol.js";
export { PzoClient, type PzoClientOptions } from "./client.js";
export { HTTP_METHODS, PzoHttp, type Answer, type CallOptions, type FetchLike, type HttpOptions, type Query, type Validate } from "./http.js";
export {
  DEFAULT_BACKOFF,
  PzoSocket,
  QUEUED_REQUESTS_MAX,
  RESUME_PAGES_MAX,
  SEEN_SEQS_MAX,
  SOCKET_PATHS,
  backoffDelay,
  socketUrl,
  type ArgsOf,
  type BackoffOptions,
  type SocketOptions,
  type SocketState,
  type StateChange,
  type WebSocketConstructor,
  type WebSocketLike,
} from "./socket.js";
export {
  PzoConnectionError,
  PzoError,
  PzoProtocolError,
  PzoTimeoutError,
  isAchievementDetails,
  isErrorCode,
  isFieldDetails,
  isFundsDetails,
  isHostDetails,
  isPlayersDetails,
  isProgressDetails,
  isQuantityDetails,
  isRetryAfterDetails,
} from "./errors.js";
export { parseJson, stringifyJson } from "./json.js";
