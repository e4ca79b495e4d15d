//! Renders the TypeScript client's generated module (`protocol.ts`) from the wire types of the
//! `protocol` crate (through ts-rs) and the server's operations table, so the client's ops,
//! replies, events, errors and endpoints cannot drift from the server.
//!
//! ts-rs writes the payload structs. Everything whose JSON shape is written by hand in Rust (the
//! `named_union!` enums, events, frames, envelopes) is rendered here as discriminated unions.

#![forbid(unsafe_code)]

mod format;

use pzo_protocol::error::{ErrorBody, ErrorCode};
use pzo_protocol::limits;
use pzo_protocol::ts_rs::{Config, TS, TypeVisitor};
use pzo_protocol::{AMOUNT_MAX, BALANCE_MAX, Codec, EventData, Reply, Request, TsVariantVisitor};
use pzo_server::operations::{Auth, OPERATIONS, Operation};
use std::any::TypeId;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

/// The one file the generator writes, inside the output folder.
pub const FILE_NAME: &str = "protocol.ts";

/// The output folder, relative to the workspace root.
pub const DEFAULT_OUT_DIR: &str = "clients/typescript/src/generated";

/// Types that operations name but the `protocol` crate does not hold: the server's own answers
/// (`src/http/ops.rs`, `src/telemetry.rs`) and the two-way body of `POST /waitlist/status`
/// (`src/http/routes.rs`). Their shapes are pinned by the server's OpenAPI tests.
const SERVER_ONLY_TYPES: &[(&str, &str, &str)] = &[
    (
        "WaitlistStatusBody",
        "`{admit: n}` admits the next n waiting players; `{entry_id, status}` sets one entry.",
        "type WaitlistStatusBody = { admit: number, } | SetEntryStatusArgs;",
    ),
    (
        "WaitlistStatusUpdateReply",
        "`AdmitReply` for `{admit: n}`, `EntryReply` for `{entry_id, status}`.",
        "type WaitlistStatusUpdateReply = AdmitReply | EntryReply;",
    ),
    (
        "HealthReply",
        "`GET /health`: the process answers.",
        "type HealthReply = { status: string, uptime_secs: number, };",
    ),
    (
        "ReadyReply",
        "`GET /ready`: database reachable, migrations applied, journal healthy.",
        "type ReadyReply = { database: boolean, migrations: boolean, journal: boolean, last_seq: number, };",
    ),
    (
        "OpClass",
        "The latency profile of an operation; it picks the operation's SLO.",
        "type OpClass = \"Read\" | \"Write\" | \"Auth\" | \"Relay\" | \"Admin\" | \"Ops\";",
    ),
    (
        "Slo",
        "An operation's objective: latency percentiles, error budget and throughput.",
        "type Slo = { p50_ms: number, p99_ms: number, error_budget: number, throughput_rps: number, };",
    ),
    (
        "OperationSlo",
        "One operation's objective and how it does against it over the window.",
        "type OperationSlo = { operation: string, method: string | null, path: string | null, \
         ws_op: string | null, class: OpClass, objective: Slo, count: number, errors: number, \
         client_errors: number, p50_ms: number, p99_ms: number, max_ms: number, error_rate: number, \
         budget_left: number, passing: boolean, lifetime_count: number, lifetime_errors: number, \
         lifetime_client_errors: number, };",
    ),
    (
        "SloReport",
        "`GET /slo`: every operation's objective and its live compliance.",
        "type SloReport = { window_secs: number, generated_at: string, passing: boolean, \
         operations: Array<OperationSlo>, };",
    ),
    (
        "OpenApiDocument",
        "`GET /openapi.json`: the OpenAPI 3.1 document (plain JSON, not in the envelope).",
        "type OpenApiDocument = { openapi: string, paths: { [path: string]: unknown }, [key: string]: unknown, };",
    ),
    ("PrometheusText", "`GET /metrics`: the Prometheus text exposition format.", "type PrometheusText = string;"),
    ("HtmlPage", "`GET /docs`, `GET /docs/errors`, `GET /admin`: an HTML page.", "type HtmlPage = string;"),
];

/// Operations answered with something other than the JSON envelope.
const RAW_RESPONSES: &[&str] = &["PrometheusText", "OpenApiDocument", "HtmlPage"];
/// Operations that upgrade to a socket rather than answer.
const SOCKET_RESPONSE: &str = "WebSocketUpgrade";

/// Collects the declaration of every type reachable from the roots, once each.
struct Collector {
    cfg: Config,
    decls: BTreeMap<String, (TypeId, String)>,
    errors: Vec<String>,
}

impl Collector {
    fn add<T: TS + ?Sized + 'static>(&mut self) {
        if T::output_path().is_none() {
            return; // a primitive or a container: it has no declaration of its own
        }
        let name = T::ident(&self.cfg);
        match self.decls.get(&name) {
            Some((id, _)) if *id == TypeId::of::<T>() => return,
            Some(_) => {
                self.errors.push(format!("two Rust types are both named {name} in TypeScript"));
                return;
            }
            None => {}
        }
        let mut text = T::docs().map(|doc| format::doc_block(&doc, "")).unwrap_or_default();
        text.push_str("export ");
        text.push_str(&format::declaration(&T::decl(&self.cfg)));
        self.decls.insert(name, (TypeId::of::<T>(), text));
        T::visit_dependencies(self);
    }
}

impl TypeVisitor for Collector {
    fn visit<T: TS + 'static + ?Sized>(&mut self) {
        self.add::<T>();
    }
}

/// The variants of one `named_union!` enum: wire name and payload type name, in order.
struct Variants<'a> {
    collector: &'a mut Collector,
    list: Vec<(&'static str, String)>,
}

impl TsVariantVisitor for Variants<'_> {
    fn variant<T: TS + 'static>(&mut self, wire: &'static str) {
        self.list.push((wire, T::name(&self.collector.cfg)));
        self.collector.add::<T>();
    }
}

fn literal(text: &str) -> String {
    // A JSON string is a valid TypeScript string literal.
    serde_json::to_string(text).unwrap_or_default()
}

fn ws_operation(op: &str) -> Option<&'static Operation> {
    OPERATIONS.iter().find(|entry| entry.ws_op == Some(op))
}

/// Renders `protocol.ts`, or says why the tables disagree.
pub fn render() -> Result<String, String> {
    // The contract caps every integer at 2^53-1, so JSON numbers are exact `number`s.
    let mut collector =
        Collector { cfg: Config::new().with_large_int("number"), decls: BTreeMap::new(), errors: Vec::new() };
    let mut requests = Variants { collector: &mut collector, list: Vec::new() };
    Request::visit_ts_variants(&mut requests);
    let requests = requests.list;
    let mut replies = Variants { collector: &mut collector, list: Vec::new() };
    Reply::visit_ts_variants(&mut replies);
    let replies = replies.list;
    let mut events = Variants { collector: &mut collector, list: Vec::new() };
    EventData::visit_ts_variants(&mut events);
    let events = events.list;
    collector.add::<ErrorBody>();
    collector.add::<pzo_protocol::codec::Relay>();

    let mut errors = std::mem::take(&mut collector.errors);
    let mut known: BTreeSet<&str> = collector.decls.keys().map(String::as_str).collect();
    for (name, _, _) in SERVER_ONLY_TYPES {
        if !known.insert(name) {
            errors.push(format!("{name} is both a protocol type and a server-only type"));
        }
    }
    let reply_names: BTreeSet<&str> = replies.iter().map(|(_, name)| name.as_str()).collect();
    let ops = socket_ops(&requests, &reply_names, &mut errors);
    let http = http_endpoints(&known, &mut errors);
    if !errors.is_empty() {
        return Err(errors.join("\n"));
    }

    let mut out = String::new();
    out.push_str(HEADER);
    section(&mut out, "Payload types (ts-rs, from the protocol crate)");
    for (_, text) in collector.decls.values() {
        out.push_str(text);
        out.push_str("\n\n");
    }
    section(&mut out, "Server types outside the protocol crate");
    for (_, doc, decl) in SERVER_ONLY_TYPES {
        let _ = write!(out, "/** {doc} */\nexport {}\n\n", format::declaration(decl));
    }
    render_ops(&mut out, &ops);
    render_replies(&mut out, &replies);
    render_events(&mut out, &events);
    render_frames(&mut out);
    render_errors(&mut out);
    render_http(&mut out, &http);
    render_limits(&mut out);
    Ok(out.trim_end().to_owned() + "\n")
}

const HEADER: &str = "\
// Generated by `cargo run -p pzo-gen-ts` from the Rust `protocol` crate and the server's operations
// table (src/operations.rs). Do not edit: change the Rust types and run the generator again; CI
// runs it with `--check` and fails when this file is stale.
//
// Every integer on the wire is at most 2^53-1 (balances are capped there), so `number` is exact.
// Uuids are strings, instants are RFC 3339 strings, and `Option` fields are present with null.

";

fn section(out: &mut String, title: &str) {
    let _ = writeln!(out, "// ---- {title} ----\n");
}

/// One socket op: wire name, args type, reply type, admin only.
struct SocketOp {
    name: &'static str,
    args: String,
    reply: &'static str,
    admin: bool,
}

fn socket_ops(
    requests: &[(&'static str, String)],
    reply_names: &BTreeSet<&str>,
    errors: &mut Vec<String>,
) -> Vec<SocketOp> {
    let mut ops = Vec::new();
    for (name, args) in requests {
        let Some(entry) = ws_operation(name) else {
            errors.push(format!("socket op {name} has no row in the operations table"));
            continue;
        };
        if entry.request != Some(args.as_str()) {
            errors.push(format!("socket op {name}: the table says args {:?}, Request says {args}", entry.request));
        }
        if !reply_names.contains(entry.response) {
            errors.push(format!("socket op {name}: reply {} is not a Reply payload", entry.response));
        }
        ops.push(SocketOp { name, args: args.clone(), reply: entry.response, admin: entry.auth == Auth::Admin });
    }
    for entry in OPERATIONS.iter().filter(|entry| !entry.is_http()) {
        if !requests.iter().any(|(name, _)| Some(*name) == entry.ws_op) {
            errors.push(format!("{} is in the operations table but not a Request op", entry.name));
        }
    }
    ops
}

fn render_ops(out: &mut String, ops: &[SocketOp]) {
    section(out, "Socket ops (`{id, op, args}` frames) and the reply each answers with");
    let names: Vec<String> = ops.iter().map(|op| literal(op.name)).collect();
    let _ = writeln!(out, "export type OpName =\n  | {};\n", names.join("\n  | "));
    let _ = writeln!(out, "export const OP_NAMES: readonly OpName[] = [\n  {},\n];\n", names.join(",\n  "));
    let admin: Vec<String> = ops.iter().filter(|op| op.admin).map(|op| literal(op.name)).collect();
    out.push_str("/** Ops only the admin token may call (the admin console socket). */\n");
    let _ = writeln!(out, "export type AdminOpName =\n  | {};\n", admin.join("\n  | "));
    out.push_str("/** Ops a player socket may call. */\nexport type PlayerOpName = Exclude<OpName, AdminOpName>;\n\n");
    out.push_str("/** The args of each op. */\nexport interface OpArgs {\n");
    for op in ops {
        let _ = writeln!(out, "  {}: {};", literal(op.name), op.args);
    }
    out.push_str("}\n\n/** The reply payload (`data`) each op answers with. */\nexport interface OpReplies {\n");
    for op in ops {
        let _ = writeln!(out, "  {}: {};", literal(op.name), op.reply);
    }
    out.push_str("}\n\n/** A request: the op and its args. */\nexport type Op =\n");
    let members: Vec<String> =
        ops.iter().map(|op| format!("  | {{ op: {}, args: {} }}", literal(op.name), op.args)).collect();
    out.push_str(&members.join("\n"));
    out.push_str(
        ";\n\n/** A request frame as sent on the socket. */\nexport type ClientFrame = Op & { id: number };\n\n",
    );
    out.push_str("/** The TypeScript type name of each op's args, for runtime checks. */\n");
    out.push_str("export const OP_ARGS_TYPES = {\n");
    for op in ops {
        let _ = writeln!(out, "  {}: {},", literal(op.name), literal(&op.args));
    }
    out.push_str("} as const satisfies Record<OpName, string>;\n\n");
    out.push_str("/** The TypeScript type name of each op's reply, for runtime checks. */\n");
    out.push_str("export const OP_REPLY_TYPES = {\n");
    for op in ops {
        let _ = writeln!(out, "  {}: {},", literal(op.name), literal(op.reply));
    }
    out.push_str("} as const satisfies Record<OpName, string>;\n\n");
}

fn render_replies(out: &mut String, replies: &[(&'static str, String)]) {
    section(out, "Replies");
    let names: BTreeSet<&str> = replies.iter().map(|(_, name)| name.as_str()).collect();
    let names: Vec<&str> = names.into_iter().collect();
    out.push_str("/** Any successful reply payload (the `data` of a reply frame or an HTTP answer). */\n");
    let _ = writeln!(out, "export type ReplyData =\n  | {};\n", names.join("\n  | "));
}

fn render_events(out: &mut String, events: &[(&'static str, String)]) {
    section(out, "Events (`{event: {seq, type, at, data}}` pushes and `events.resume` pages)");
    let names: Vec<String> = events.iter().map(|(wire, _)| literal(wire)).collect();
    let _ = writeln!(out, "export type EventType =\n  | {};\n", names.join("\n  | "));
    let _ = writeln!(out, "export const EVENT_TYPES: readonly EventType[] = [\n  {},\n];\n", names.join(",\n  "));
    out.push_str("/** The data of each event type. */\nexport interface EventPayloads {\n");
    for (wire, data) in events {
        let _ = writeln!(out, "  {}: {};", literal(wire), data);
    }
    out.push_str("}\n\n");
    out.push_str(
        "/**\n * A committed event: its global sequence number, its type, its time (RFC 3339) and its\n \
         * typed data. A discriminated union: `switch (event.type)` narrows `event.data`.\n */\n",
    );
    out.push_str("export type PzoEvent =\n");
    let members: Vec<String> = events
        .iter()
        .map(|(wire, data)| format!("  | {{ seq: number, type: {}, at: string, data: {} }}", literal(wire), data))
        .collect();
    out.push_str(&members.join("\n"));
    out.push_str(";\n\n/** The event of one type. */\nexport type EventOf<T extends EventType> = Extract<PzoEvent, { type: T }>;\n\n");
    out.push_str("/** The TypeScript type name of each event's data, for runtime checks. */\n");
    out.push_str("export const EVENT_DATA_TYPES = {\n");
    for (wire, data) in events {
        let _ = writeln!(out, "  {}: {},", literal(wire), literal(data));
    }
    out.push_str("} as const satisfies Record<EventType, string>;\n\n");
}

fn render_frames(out: &mut String) {
    section(out, "Server frames");
    let _ = writeln!(
        out,
        "/** The socket subprotocol of JSON text frames. */\nexport const JSON_SUBPROTOCOL = {};\n",
        literal(Codec::JSON_PROTOCOL)
    );
    out.push_str(
        "/** A successful reply to the request whose `id` is `re`. */\n\
         export type ReplyOkFrame = { re: number, ok: true, data: ReplyData };\n\n\
         /** A refused request; `re` is absent when the frame had no readable id. */\n\
         export type ReplyErrorFrame = { re?: number, ok: false, error: ErrorBody };\n\n\
         export type EventFrame = { event: PzoEvent };\n\n\
         export type RelayFrame = { relay: Relay };\n\n\
         /** Every frame the server sends on a JSON socket. */\n\
         export type ServerFrame = ReplyOkFrame | ReplyErrorFrame | EventFrame | RelayFrame;\n\n",
    );
}

fn render_errors(out: &mut String) {
    section(out, "Error codes (one table: status, retryability, meaning)");
    out.push_str("export const ERROR_CODES = {\n");
    for code in ErrorCode::ALL {
        let _ = writeln!(
            out,
            "  {}: {{ status: {}, retryable: {}, meaning: {} }},",
            code.as_str(),
            code.status(),
            code.retryable(),
            literal(code.meaning())
        );
    }
    out.push_str(
        "} as const satisfies Record<ErrorCode, { status: number, retryable: boolean, meaning: string }>;\n\n",
    );
}

/// One HTTP endpoint of the operations table.
struct Endpoint {
    name: &'static str,
    body: Option<&'static str>,
    response: &'static str,
    created: bool,
}

fn http_endpoints(known: &BTreeSet<&str>, errors: &mut Vec<String>) -> Vec<Endpoint> {
    let mut endpoints = Vec::new();
    for entry in OPERATIONS.iter().filter(|entry| entry.is_http()) {
        if entry.response != SOCKET_RESPONSE && !known.contains(entry.response) {
            errors.push(format!("{}: reply type {} is unknown to the generator", entry.name, entry.response));
        }
        if let Some(body) = entry.request {
            if !known.contains(body) {
                errors.push(format!("{}: body type {body} is unknown to the generator", entry.name));
            }
        }
        endpoints.push(Endpoint {
            name: entry.name,
            body: entry.request,
            response: entry.response,
            created: entry.success_status() == 201,
        });
    }
    endpoints
}

fn render_http(out: &mut String, endpoints: &[Endpoint]) {
    section(out, "HTTP endpoints (`\"METHOD /path\"`, `{param}` for path parameters)");
    out.push_str(
        "export type Meta = { request_id: string, docs?: string };\n\n\
         /** Every JSON answer: `{ok: true, data, meta}` or `{ok: false, error, meta}`. */\n\
         export type Envelope<T> = { ok: true, data: T, meta: Meta } | { ok: false, error: ErrorBody, meta: Meta };\n\n",
    );
    let enveloped: Vec<&Endpoint> =
        endpoints.iter().filter(|e| e.response != SOCKET_RESPONSE && !RAW_RESPONSES.contains(&e.response)).collect();
    out.push_str("/** The `data` of each enveloped endpoint. */\nexport interface HttpReplies {\n");
    for endpoint in &enveloped {
        let _ = writeln!(out, "  {}: {};", literal(endpoint.name), endpoint.response);
    }
    out.push_str("}\n\nexport type HttpEndpoint = keyof HttpReplies;\n\n");
    out.push_str("/** The JSON body of each endpoint that takes one. */\nexport interface HttpBodies {\n");
    for endpoint in endpoints {
        if let Some(body) = endpoint.body {
            let _ = writeln!(out, "  {}: {};", literal(endpoint.name), body);
        }
    }
    out.push_str("}\n\n/** Endpoints that answer outside the envelope (text, HTML or a bare document). */\n");
    out.push_str("export interface HttpRawReplies {\n");
    for endpoint in endpoints.iter().filter(|e| RAW_RESPONSES.contains(&e.response)) {
        let _ = writeln!(out, "  {}: {};", literal(endpoint.name), endpoint.response);
    }
    out.push_str("}\n\nexport type HttpRawEndpoint = keyof HttpRawReplies;\n\n");
    let sockets: Vec<String> =
        endpoints.iter().filter(|e| e.response == SOCKET_RESPONSE).map(|e| literal(e.name)).collect();
    let _ = writeln!(
        out,
        "/** Endpoints that upgrade to a WebSocket. */\nexport type SocketEndpoint = {};\n",
        sockets.join(" | ")
    );
    out.push_str("/** The TypeScript type name of each enveloped endpoint's data, for runtime checks. */\n");
    out.push_str("export const HTTP_REPLY_TYPES = {\n");
    for endpoint in &enveloped {
        let _ = writeln!(out, "  {}: {},", literal(endpoint.name), literal(endpoint.response));
    }
    out.push_str("} as const satisfies Record<HttpEndpoint, string>;\n\n");
    let created: Vec<String> = endpoints.iter().filter(|e| e.created).map(|e| literal(e.name)).collect();
    let _ = writeln!(
        out,
        "/** Endpoints that answer 201 Created (the rest answer 200). */\nexport const HTTP_CREATED: readonly HttpEndpoint[] = [{}];\n",
        created.join(", ")
    );
}

fn render_limits(out: &mut String) {
    section(out, "Limits of the contract");
    let rows: [(&str, &str, String); 12] = [
        ("AMOUNT_MAX", "The largest amount or quantity one command may move.", AMOUNT_MAX.to_string()),
        (
            "BALANCE_MAX",
            "The largest balance or quantity held: 2^53-1, `Number.MAX_SAFE_INTEGER`.",
            BALANCE_MAX.to_string(),
        ),
        (
            "WS_FRAME_BYTES_MAX",
            "Largest socket frame the server reads (larger closes with 1009).",
            limits::WS_FRAME_BYTES_MAX.to_string(),
        ),
        ("HTTP_BODY_BYTES_MAX", "Largest HTTP request body.", limits::HTTP_BODY_BYTES_MAX.to_string()),
        (
            "RELAY_PAYLOAD_BYTES_MAX",
            "Largest payload `games.send` relays.",
            limits::RELAY_PAYLOAD_BYTES_MAX.to_string(),
        ),
        ("LIST_LIMIT_DEFAULT", "Default page size of every list.", limits::LIST_LIMIT_DEFAULT.to_string()),
        ("LIST_LIMIT_MAX", "Largest page size of every list.", limits::LIST_LIMIT_MAX.to_string()),
        ("RESUME_EVENTS_MAX", "Most events one `events.resume` page carries.", limits::RESUME_EVENTS_MAX.to_string()),
        (
            "WS_AUTH_TIMEOUT_SECS",
            "Seconds a socket may stay unauthenticated.",
            limits::WS_AUTH_TIMEOUT_SECS.to_string(),
        ),
        ("GAME_PLAYERS_MIN", "Fewest seats of a game lobby.", limits::GAME_PLAYERS_MIN.to_string()),
        ("GAME_PLAYERS_MAX", "Most seats of a game lobby.", limits::GAME_PLAYERS_MAX.to_string()),
        ("IDEMPOTENCY_KEY_BYTES_MAX", "Longest idempotency key.", limits::IDEMPOTENCY_KEY_BYTES_MAX.to_string()),
    ];
    for (name, doc, value) in rows {
        let _ = writeln!(out, "/** {doc} */\nexport const {name} = {value};\n");
    }
}
