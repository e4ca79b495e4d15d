//! The OpenAPI 3.1 document served at `/openapi.json`, generated from the operations table and
//! hand-written JSON Schemas of the protocol types, with each operation's SLO as `x-slo`.

use crate::operations::{Auth, EVENT_DELIVERY_SLO, OPERATIONS, OpClass, Operation, Slo};
use pzo_protocol::limits::{
    ADMIT_WAVE_MAX, DISPLAY_NAME_CHARS_MAX, DISPLAY_NAME_CHARS_MIN, EMAIL_BYTES_MAX, GAME_NAME_CHARS_MAX,
    GAME_PLAYERS_MAX, GAME_PLAYERS_MIN, GAME_RESULTS_MAX, IDEMPOTENCY_KEY_BYTES_MAX, LIST_LIMIT_DEFAULT,
    LIST_LIMIT_MAX, PASSWORD_BYTES_MAX, PASSWORD_CHARS_MIN, RELAY_PAYLOAD_BYTES_MAX, RESUME_EVENTS_MAX,
    WS_AUTH_TIMEOUT_SECS, WS_FRAME_BYTES_MAX,
};
use pzo_protocol::{AMOUNT_MAX, BALANCE_MAX, ErrorCode, EventData};
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use std::sync::OnceLock;

/// The document as JSON text. It depends only on compiled-in tables, so it is built once.
pub fn document() -> String {
    static DOCUMENT: OnceLock<String> = OnceLock::new();
    DOCUMENT
        .get_or_init(|| {
            // Plain structs with string keys always serialize; the unit test checks the output.
            serde_json::to_string_pretty(&build()).unwrap_or_default()
        })
        .clone()
}

// ---------------------------------------------------------------------------------------------
// The document's typed shape (JSON only: never bincode, so `skip_serializing_if` is safe).

/// A JSON object whose keys keep their insertion order (the table's order reads better than
/// alphabetical order, and schema properties follow the Rust field order).
struct OrderedMap<V>(Vec<(String, V)>);

impl<V> OrderedMap<V> {
    fn new() -> Self {
        Self(Vec::new())
    }
    fn insert(&mut self, key: impl Into<String>, value: V) {
        self.0.push((key.into(), value));
    }
    fn entry_or_insert_with(&mut self, key: &str, make: impl FnOnce() -> V) -> &mut V {
        let position = match self.0.iter().position(|(k, _)| k == key) {
            Some(position) => position,
            None => {
                self.0.push((key.to_owned(), make()));
                self.0.len() - 1
            }
        };
        &mut self.0[position].1
    }
}

impl<V: Serialize> Serialize for OrderedMap<V> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (key, value) in &self.0 {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

#[derive(Serialize)]
struct Document {
    openapi: &'static str,
    info: Info,
    servers: Vec<ServerObject>,
    tags: Vec<Tag>,
    paths: OrderedMap<PathItem>,
    components: Components,
    #[serde(rename = "x-websocket")]
    websocket: WebSocketInfo,
    #[serde(rename = "x-websocket-ops")]
    websocket_ops: Vec<WebSocketOp>,
}

#[derive(Serialize)]
struct Info {
    title: &'static str,
    version: &'static str,
    description: &'static str,
    license: License,
}

#[derive(Serialize)]
struct License {
    name: &'static str,
    identifier: &'static str,
}

#[derive(Serialize)]
struct ServerObject {
    url: &'static str,
}

#[derive(Serialize)]
struct Tag {
    name: &'static str,
    description: &'static str,
}

#[derive(Serialize, Default)]
struct PathItem {
    #[serde(skip_serializing_if = "Option::is_none")]
    get: Option<OperationObject>,
    #[serde(skip_serializing_if = "Option::is_none")]
    post: Option<OperationObject>,
    #[serde(skip_serializing_if = "Option::is_none")]
    patch: Option<OperationObject>,
    #[serde(skip_serializing_if = "Option::is_none")]
    delete: Option<OperationObject>,
}

#[derive(Serialize)]
struct OperationObject {
    #[serde(rename = "operationId")]
    operation_id: &'static str,
    summary: &'static str,
    description: String,
    tags: [&'static str; 1],
    security: Vec<SecurityRequirement>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    parameters: Vec<Parameter>,
    #[serde(rename = "requestBody", skip_serializing_if = "Option::is_none")]
    request_body: Option<RequestBody>,
    responses: OrderedMap<ResponseOrRef>,
    #[serde(rename = "externalDocs")]
    external_docs: ExternalDocs,
    #[serde(rename = "x-slo")]
    slo: Slo,
    #[serde(rename = "x-class")]
    class: OpClass,
}

/// One way to authenticate; each field present names a scheme with no scopes.
#[derive(Serialize)]
struct SecurityRequirement {
    #[serde(rename = "playerToken", skip_serializing_if = "Option::is_none")]
    player: Option<[&'static str; 0]>,
    #[serde(rename = "adminToken", skip_serializing_if = "Option::is_none")]
    admin: Option<[&'static str; 0]>,
}

#[derive(Serialize)]
struct Parameter {
    name: &'static str,
    #[serde(rename = "in")]
    location: &'static str,
    required: bool,
    description: &'static str,
    schema: Schema,
}

#[derive(Serialize)]
struct RequestBody {
    required: bool,
    content: OrderedMap<MediaType>,
}

#[derive(Serialize)]
struct MediaType {
    schema: Schema,
}

#[derive(Serialize)]
struct Response {
    description: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    headers: Option<OrderedMap<Header>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    content: Option<OrderedMap<MediaType>>,
    #[serde(rename = "x-error-codes", skip_serializing_if = "Vec::is_empty")]
    error_codes: Vec<&'static str>,
}

/// A response written in place, or a reference to a shared one in `components.responses`.
#[derive(Serialize)]
#[serde(untagged)]
enum ResponseOrRef {
    Inline(Response),
    Ref {
        #[serde(rename = "$ref")]
        reference: String,
    },
}

#[derive(Serialize)]
struct Header {
    #[serde(rename = "$ref", skip_serializing_if = "Option::is_none")]
    reference: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    schema: Option<Schema>,
}

#[derive(Serialize)]
struct ExternalDocs {
    url: String,
}

#[derive(Serialize)]
struct Components {
    schemas: OrderedMap<Schema>,
    /// Error answers, one per set of codes sharing a status, shared by the operations.
    responses: OrderedMap<Response>,
    #[serde(rename = "securitySchemes")]
    security_schemes: OrderedMap<SecurityScheme>,
    headers: OrderedMap<Header>,
}

#[derive(Serialize)]
struct SecurityScheme {
    #[serde(rename = "type")]
    kind: &'static str,
    scheme: &'static str,
    description: &'static str,
}

#[derive(Serialize)]
struct WebSocketInfo {
    path: &'static str,
    admin_path: &'static str,
    subprotocols: [&'static str; 2],
    request_frame: &'static str,
    reply_frame: &'static str,
    event_frame: &'static str,
    relay_frame: &'static str,
    frame_bytes_max: usize,
    auth_timeout_secs: u64,
    event_types: &'static [&'static str],
    event_delivery_slo: Slo,
}

#[derive(Serialize)]
struct WebSocketOp {
    op: &'static str,
    summary: &'static str,
    service: &'static str,
    auth: Auth,
    class: OpClass,
    args: Schema,
    reply: Schema,
    errors: Vec<&'static str>,
    #[serde(rename = "x-slo")]
    slo: Slo,
    docs: String,
}

// ---------------------------------------------------------------------------------------------
// JSON Schema (2020-12, as OpenAPI 3.1 uses it), built by small typed helpers.

#[derive(Serialize, Clone, Default)]
struct Schema {
    #[serde(rename = "$ref", skip_serializing_if = "Option::is_none")]
    reference: Option<String>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    kind: Option<SchemaType>,
    #[serde(skip_serializing_if = "Option::is_none")]
    format: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'static str>,
    #[serde(rename = "const", skip_serializing_if = "Option::is_none")]
    constant: Option<Literal>,
    #[serde(rename = "enum", skip_serializing_if = "Vec::is_empty")]
    enumeration: Vec<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    minimum: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    maximum: Option<i64>,
    #[serde(rename = "minLength", skip_serializing_if = "Option::is_none")]
    min_length: Option<usize>,
    #[serde(rename = "maxLength", skip_serializing_if = "Option::is_none")]
    max_length: Option<usize>,
    #[serde(rename = "maxItems", skip_serializing_if = "Option::is_none")]
    max_items: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    default: Option<Literal>,
    #[serde(skip_serializing_if = "Option::is_none")]
    items: Option<Box<Schema>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    properties: Option<OrderedMap<Schema>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    required: Vec<&'static str>,
    #[serde(rename = "oneOf", skip_serializing_if = "Vec::is_empty")]
    one_of: Vec<Schema>,
    #[serde(rename = "anyOf", skip_serializing_if = "Vec::is_empty")]
    any_of: Vec<Schema>,
    #[serde(rename = "allOf", skip_serializing_if = "Vec::is_empty")]
    all_of: Vec<Schema>,
    #[serde(rename = "additionalProperties", skip_serializing_if = "Option::is_none")]
    additional_properties: Option<bool>,
}

impl Clone for OrderedMap<Schema> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

/// `"type"`: one type, or a type and `"null"`.
#[derive(Serialize, Clone, Copy)]
#[serde(untagged)]
enum SchemaType {
    One(&'static str),
    OrNull([&'static str; 2]),
}

/// A literal for `const` and `default`.
#[derive(Serialize, Clone, Copy)]
#[serde(untagged)]
enum Literal {
    Bool(bool),
    Int(i64),
    Text(&'static str),
}

impl Schema {
    fn typed(kind: &'static str) -> Self {
        Self { kind: Some(SchemaType::One(kind)), ..Self::default() }
    }
    fn describe(mut self, text: &'static str) -> Self {
        self.description = Some(text);
        self
    }
    /// An object that refuses properties it does not list.
    fn closed(mut self) -> Self {
        self.additional_properties = Some(false);
        self
    }
    fn range(mut self, min: i64, max: i64) -> Self {
        self.minimum = Some(min);
        self.maximum = Some(max);
        self
    }
    fn length(mut self, min: usize, max: usize) -> Self {
        self.min_length = Some(min);
        self.max_length = Some(max);
        self
    }
    fn default_value(mut self, value: Literal) -> Self {
        self.default = Some(value);
        self
    }
    /// The same schema, also accepting `null`.
    fn or_null(self) -> Self {
        match self.kind {
            Some(SchemaType::One(kind)) if self.reference.is_none() && self.enumeration.is_empty() => {
                Self { kind: Some(SchemaType::OrNull([kind, "null"])), ..self }
            }
            _ => Self { one_of: vec![self, Self::typed("null")], ..Self::default() },
        }
    }
}

fn string() -> Schema {
    Schema::typed("string")
}
fn uuid() -> Schema {
    Schema { format: Some("uuid"), ..string() }
}
fn date_time() -> Schema {
    Schema { format: Some("date-time"), ..string() }
}
fn boolean() -> Schema {
    Schema::typed("boolean")
}
fn number() -> Schema {
    Schema { format: Some("double"), ..Schema::typed("number") }
}
fn int64() -> Schema {
    Schema { format: Some("int64"), ..Schema::typed("integer") }
}
/// A count or sequence number: never negative, and below 2^53 so TypeScript numbers stay exact.
fn count() -> Schema {
    int64().range(0, BALANCE_MAX)
}
/// An amount or quantity a command moves (SPEC section 5).
fn amount() -> Schema {
    int64().range(1, AMOUNT_MAX).describe("An integer in 1..=10^12; anything else answers AMOUNT_OUT_OF_RANGE.")
}
fn slug() -> Schema {
    string().describe("A catalog slug such as `gold`.")
}
fn idempotency_key() -> Schema {
    string().length(1, IDEMPOTENCY_KEY_BYTES_MAX).describe("A retry with the same key returns the first answer.")
}
fn list_limit() -> Schema {
    int64().range(1, i64::from(LIST_LIMIT_MAX)).default_value(Literal::Int(i64::from(LIST_LIMIT_DEFAULT)))
}
fn cursor() -> Schema {
    string().describe("The opaque `next_cursor` of the previous page.")
}
fn array(items: Schema) -> Schema {
    Schema { items: Some(Box::new(items)), ..Schema::typed("array") }
}
fn reference(name: &str) -> Schema {
    Schema { reference: Some(format!("#/components/schemas/{name}")), ..Schema::default() }
}
fn string_enum(values: &[&'static str]) -> Schema {
    Schema { enumeration: values.to_vec(), ..string() }
}
fn constant(value: Literal) -> Schema {
    Schema { constant: Some(value), ..Schema::default() }
}
fn one_of(schemas: Vec<Schema>) -> Schema {
    Schema { one_of: schemas, ..Schema::default() }
}

/// Builds an object schema field by field.
struct Object {
    properties: OrderedMap<Schema>,
    required: Vec<&'static str>,
}

fn object() -> Object {
    Object { properties: OrderedMap::new(), required: Vec::new() }
}

impl Object {
    /// A field that is always present and never null.
    fn req(mut self, name: &'static str, schema: Schema) -> Self {
        self.properties.insert(name, schema);
        self.required.push(name);
        self
    }
    /// A request field that may be absent or null (an `Option` with a default).
    fn opt(mut self, name: &'static str, schema: Schema) -> Self {
        self.properties.insert(name, schema.or_null());
        self
    }
    /// A reply field that is always present but may be null (an `Option` serialized as null).
    fn null(mut self, name: &'static str, schema: Schema) -> Self {
        self.properties.insert(name, schema.or_null());
        self.required.push(name);
        self
    }
    fn build(self) -> Schema {
        Schema { properties: Some(self.properties), required: self.required, ..Schema::typed("object") }
    }
}

// ---------------------------------------------------------------------------------------------
// Component schemas: the protocol crate's types, field for field.

/// The payload type of each event type, in `EventData::ALL_NAMES` order.
const EVENT_PAYLOADS: &[(&str, &str)] = &[
    ("SEASON0_JOINED", "Season0Joined"),
    ("USER_REGISTERED", "UserRegistered"),
    ("USER_LOGGED_IN", "UserLoggedIn"),
    ("USER_PREFERENCES_UPDATED", "UserPreferencesUpdated"),
    ("WAITLIST_ADDED", "WaitlistAdded"),
    ("WAITLIST_REMOVED", "WaitlistRemoved"),
    ("WAITLIST_STATUS_UPDATED", "WaitlistStatusUpdated"),
    ("GAME_CREATED", "GameCreated"),
    ("GAME_JOINED", "GameJoined"),
    ("GAME_LEFT", "GameLeft"),
    ("GAME_STARTED", "GameStarted"),
    ("GAME_FINISHED", "GameFinished"),
    ("ITEM_ADDED", "ItemChanged"),
    ("ITEM_REMOVED", "ItemChanged"),
    ("INVENTORY_UPDATED", "InventoryUpdated"),
    ("CURRENCY_DEPOSITED", "CurrencyMoved"),
    ("CURRENCY_WITHDRAWN", "CurrencyMoved"),
    ("TRANSACTION_COMPLETED", "TransactionCompleted"),
    ("LEADERBOARD_UPDATED", "LeaderboardUpdated"),
    ("LEADERBOARD_RESET", "LeaderboardReset"),
    ("ACHIEVEMENT_UNLOCKED", "AchievementUnlocked"),
    ("COSMETIC_UNLOCKED", "CosmeticUnlocked"),
    ("ADMIN_ACTION", "AdminAction"),
];

fn component_schemas() -> OrderedMap<Schema> {
    let mut schemas = OrderedMap::new();
    for group in
        [envelope_schemas(), model_schemas(), event_schemas(), request_schemas(), reply_schemas(), ops_schemas()]
    {
        schemas.0.extend(group);
    }
    schemas
}

fn envelope_schemas() -> Vec<(String, Schema)> {
    let error_codes: Vec<&'static str> = ErrorCode::ALL.iter().map(|code| code.as_str()).collect();
    let details = ["NoDetails", "FieldDetails", "ProgressDetails", "FundsDetails", "QuantityDetails"]
        .into_iter()
        .chain(["AchievementDetails", "HostDetails", "RetryAfterDetails", "PlayersDetails"])
        .map(reference)
        .collect();
    vec![
        named("Meta", object().req("request_id", string()).opt("docs", string().describe("/docs#<operation>")).build()),
        named(
            "Envelope",
            object()
                .req("ok", constant(Literal::Bool(true)))
                .req("data", Schema::default().describe("The operation's reply payload."))
                .req("meta", reference("Meta"))
                .build(),
        ),
        named(
            "ErrorObject",
            object()
                .req("code", string_enum(&error_codes))
                .req("message", string().describe("A human sentence; do not parse it."))
                .req("status", int64().range(400, 599))
                .req("retryable", boolean())
                .req("details", Schema { any_of: details, ..Schema::typed("object") })
                .req("docs", string().describe("/docs/errors#<CODE>"))
                .build(),
        ),
        named(
            "ErrorEnvelope",
            object()
                .req("ok", constant(Literal::Bool(false)))
                .req("error", reference("ErrorObject"))
                .req("meta", reference("Meta"))
                .build(),
        ),
        named("NoDetails", object().build()),
        named("FieldDetails", object().req("field", string()).req("reason", string()).build()),
        named("ProgressDetails", object().req("current", int64()).req("required", int64()).build()),
        named(
            "FundsDetails",
            object().req("currency_id", slug()).req("balance", int64()).req("required", int64()).build(),
        ),
        named(
            "QuantityDetails",
            object().req("item_id", slug()).req("held", int64()).req("requested", int64()).build(),
        ),
        named("AchievementDetails", object().req("achievement_id", slug()).build()),
        named("HostDetails", object().req("host_id", uuid()).build()),
        named("RetryAfterDetails", object().req("retry_after_ms", count()).build()),
        named(
            "PlayersDetails",
            object().req("players", count()).req("min_players", count()).req("max_players", count()).build(),
        ),
    ]
}

fn named(name: &str, schema: Schema) -> (String, Schema) {
    (name.to_owned(), schema)
}

fn model_schemas() -> Vec<(String, Schema)> {
    let mut schemas = vec![
        named(
            "Preferences",
            object()
                .req("locale", string())
                .req("sound_enabled", boolean())
                .req("music_volume", int64().range(0, 100))
                .req("show_on_leaderboard", boolean())
                .build(),
        ),
        named(
            "Season0View",
            object()
                .null("waitlist_entry_id", uuid())
                .null("waitlist_status", reference("WaitlistStatus"))
                .req("admitted", boolean())
                .null("founder_number", count())
                .null("admitted_at", date_time())
                .build(),
        ),
        named(
            "UserProfile",
            object()
                .req("id", uuid())
                .req("display_name", string())
                .req("created_at", date_time())
                .null("email", string().describe("Only for the player themself and admins."))
                .null("preferences", reference("Preferences"))
                .null("season0", reference("Season0View"))
                .build(),
        ),
        named("WaitlistStatus", string_enum(&["waiting", "admitted", "removed"])),
        named(
            "WaitlistEntry",
            object()
                .req("id", uuid())
                .req("user_id", uuid())
                .req("status", reference("WaitlistStatus"))
                .null("position", count().describe("1-based among waiting entries."))
                .req("joined_at", date_time())
                .req("referral_code", string())
                .null("referred_by", uuid())
                .null("founder_number", count())
                .null("admitted_at", date_time())
                .build(),
        ),
        named("GameStatus", string_enum(&["open", "started", "finished", "closed"])),
        named(
            "GamePlayer",
            object()
                .req("user_id", uuid())
                .req("display_name", string())
                .req("joined_at", date_time())
                .null("score", int64())
                .build(),
        ),
        named(
            "Game",
            object()
                .req("id", uuid())
                .req("name", string())
                .req("host_id", uuid())
                .req("status", reference("GameStatus"))
                .req("max_players", count())
                .req("min_players", count())
                .req("player_count", count())
                .req("players", array(reference("GamePlayer")))
                .req("created_at", date_time())
                .null("started_at", date_time())
                .null("finished_at", date_time())
                .build(),
        ),
        named("GameResult", object().req("user_id", uuid()).req("score", int64()).build()),
    ];
    schemas.extend(economy_schemas());
    schemas
}

fn economy_schemas() -> Vec<(String, Schema)> {
    vec![
        named(
            "ItemDef",
            object()
                .req("id", slug())
                .req("name", string())
                .req("stackable", boolean())
                .req("max_stack", count())
                .build(),
        ),
        named(
            "InventoryItem",
            object()
                .req("item_id", slug())
                .req("name", string())
                .req("stackable", boolean())
                .req("quantity", count())
                .build(),
        ),
        named("CurrencyDef", object().req("id", slug()).req("name", string()).build()),
        named("Balance", object().req("currency_id", slug()).req("name", string()).req("balance", count()).build()),
        named("TransactionKind", string_enum(&["deposit", "withdrawal", "purchase"])),
        named(
            "Transaction",
            object()
                .req("id", uuid())
                .req("user_id", uuid())
                .req("currency_id", slug())
                .req("kind", reference("TransactionKind"))
                .req("amount", int64().describe("Signed: negative for withdrawals and purchases."))
                .req("balance_after", count())
                .null("reference", string())
                .req("created_at", date_time())
                .build(),
        ),
        named(
            "LeaderboardInfo",
            object().req("id", slug()).req("name", string()).req("season", count()).req("entry_count", count()).build(),
        ),
        named(
            "LeaderboardEntry",
            object()
                .req("rank", count())
                .null("user_id", uuid().describe("Null for players hidden from leaderboards."))
                .req("display_name", string())
                .req("score", int64())
                .build(),
        ),
        named("ConditionKind", string_enum(&["games_completed", "best_score", "founder"])),
        named("Condition", object().req("kind", reference("ConditionKind")).req("threshold", int64()).build()),
        named("Progress", object().req("current", int64()).req("target", int64()).build()),
        named(
            "Achievement",
            object()
                .req("id", slug())
                .req("name", string())
                .req("description", string())
                .req("condition", reference("Condition"))
                .req("progress", reference("Progress"))
                .req("unlocked", boolean())
                .null("unlocked_at", date_time())
                .build(),
        ),
        named("Price", object().req("currency_id", slug()).req("amount", count()).build()),
        named(
            "Cosmetic",
            object()
                .req("id", slug())
                .req("name", string())
                .null("price", reference("Price"))
                .null("required_achievement", slug())
                .req("owned", boolean())
                .null("unlocked_at", date_time())
                .build(),
        ),
        named("PlayerStats", object().req("games_completed", count()).req("best_score", int64()).build()),
    ]
}

fn event_schemas() -> Vec<(String, Schema)> {
    let variants = EVENT_PAYLOADS
        .iter()
        .map(|(kind, payload)| {
            object()
                .req("seq", count())
                .req("type", constant(Literal::Text(kind)))
                .req("at", date_time())
                .req("data", reference(payload))
                .build()
        })
        .collect();
    let mut schemas = vec![named("Event", one_of(variants))];
    schemas.extend(event_payload_schemas());
    schemas.extend(event_game_schemas());
    schemas
}

fn event_payload_schemas() -> Vec<(String, Schema)> {
    vec![
        named(
            "Season0Joined",
            object()
                .req("user_id", uuid())
                .req("entry_id", uuid())
                .null("founder_number", count())
                .req("admitted_at", date_time())
                .build(),
        ),
        named("UserRegistered", object().req("user_id", uuid()).req("display_name", string()).build()),
        named("UserLoggedIn", object().req("user_id", uuid()).build()),
        named(
            "UserPreferencesUpdated",
            object().req("user_id", uuid()).req("preferences", reference("Preferences")).build(),
        ),
        named(
            "WaitlistAdded",
            object().req("entry", reference("WaitlistEntry")).req("referrer_moved_places", count()).build(),
        ),
        named(
            "WaitlistRemoved",
            object()
                .req("entry_id", uuid())
                .req("user_id", uuid())
                .req("previous_status", reference("WaitlistStatus"))
                .build(),
        ),
        named(
            "WaitlistStatusUpdated",
            object()
                .req("entry_id", uuid())
                .req("user_id", uuid())
                .req("from", reference("WaitlistStatus"))
                .req("to", reference("WaitlistStatus"))
                .null("founder_number", count())
                .req("reason", string())
                .build(),
        ),
        named(
            "ItemChanged",
            object()
                .req("user_id", uuid())
                .req("item_id", slug())
                .req("quantity", count().describe("The quantity added or removed."))
                .req("total", count().describe("The quantity held afterwards."))
                .build(),
        ),
        named("ItemQuantity", object().req("item_id", slug()).req("quantity", count()).build()),
        named(
            "InventoryUpdated",
            object().req("user_id", uuid()).req("items", array(reference("ItemQuantity"))).build(),
        ),
        named(
            "CurrencyMoved",
            object()
                .req("user_id", uuid())
                .req("currency_id", slug())
                .req("amount", int64())
                .req("balance_after", count())
                .req("transaction_id", uuid())
                .build(),
        ),
        named("TransactionCompleted", object().req("transaction", reference("Transaction")).build()),
        named(
            "AchievementUnlocked",
            object().req("user_id", uuid()).req("achievement_id", slug()).req("unlocked_at", date_time()).build(),
        ),
        named(
            "CosmeticUnlocked",
            object()
                .req("user_id", uuid())
                .req("cosmetic_id", slug())
                .null("price", reference("Price"))
                .req("unlocked_at", date_time())
                .build(),
        ),
        named("AdminAction", object().req("action", string()).req("target", string()).null("reason", string()).build()),
    ]
}

fn event_game_schemas() -> Vec<(String, Schema)> {
    vec![
        named(
            "GameCreated",
            object()
                .req("game_id", uuid())
                .req("name", string())
                .req("host_id", uuid())
                .req("max_players", count())
                .req("min_players", count())
                .build(),
        ),
        named(
            "GameJoined",
            object()
                .req("game_id", uuid())
                .req("user_id", uuid())
                .req("display_name", string())
                .req("player_count", count())
                .build(),
        ),
        named("LeaveReason", string_enum(&["left", "disconnected", "kicked", "closed"])),
        named(
            "GameLeft",
            object()
                .req("game_id", uuid())
                .req("user_id", uuid())
                .req("reason", reference("LeaveReason"))
                .req("host_id", uuid())
                .req("status", reference("GameStatus"))
                .req("player_count", count())
                .build(),
        ),
        named(
            "GameStarted",
            object().req("game_id", uuid()).req("player_ids", array(uuid())).req("started_at", date_time()).build(),
        ),
        named(
            "GameFinished",
            object()
                .req("game_id", uuid())
                .req("results", array(reference("GameResult")))
                .req("finished_at", date_time())
                .build(),
        ),
        named(
            "LeaderboardUpdated",
            object()
                .req("leaderboard_id", slug())
                .req("season", count())
                .req("entries", array(reference("LeaderboardEntry")))
                .build(),
        ),
        named(
            "LeaderboardReset",
            object().req("leaderboard_id", slug()).req("archived_season", count()).req("season", count()).build(),
        ),
    ]
}

fn request_schemas() -> Vec<(String, Schema)> {
    let mut schemas = vec![
        named("AuthArgs", object().req("token", string()).build()),
        named("NoArgs", object().build()),
        named("ResumeArgs", object().req("since_seq", count().describe("The last seq the client saw.")).build()),
        named("Page", object().opt("limit", list_limit()).opt("cursor", cursor()).build()),
        named("IdArgs", object().req("id", uuid()).build()),
        named("SlugArgs", object().req("id", slug()).build()),
        named(
            "RegisterArgs",
            object()
                .req("email", string().length(3, EMAIL_BYTES_MAX).describe("Unique, case-insensitive."))
                .req("password", string().length(PASSWORD_CHARS_MIN, PASSWORD_BYTES_MAX))
                .req("display_name", string().length(DISPLAY_NAME_CHARS_MIN, DISPLAY_NAME_CHARS_MAX))
                .build(),
        ),
        named("LoginArgs", object().req("email", string()).req("password", string()).build()),
        named(
            "PreferencesPatch",
            object()
                .opt("locale", string())
                .opt("sound_enabled", boolean())
                .opt("music_volume", int64().range(0, 100))
                .opt("show_on_leaderboard", boolean())
                .build()
                .closed()
                .describe("A partial update: absent fields keep their value; an unknown one is refused."),
        ),
        named(
            "UpdatePreferencesArgs",
            object()
                .opt("id", uuid().describe("The player; the path id over HTTP, the caller on sockets when absent."))
                .req("preferences", reference("PreferencesPatch"))
                .opt("idempotency_key", idempotency_key())
                .build(),
        ),
        named(
            "WaitlistJoinArgs",
            object().opt("referral_code", string()).opt("idempotency_key", idempotency_key()).build(),
        ),
        named(
            "WaitlistListArgs",
            object()
                .opt("status", reference("WaitlistStatus"))
                .opt("limit", list_limit())
                .opt("cursor", cursor())
                .build(),
        ),
        named("AdmitArgs", object().req("count", admit_count()).build()),
        named(
            "SetEntryStatusArgs",
            object().req("entry_id", uuid()).req("status", reference("WaitlistStatus")).build(),
        ),
        named(
            "AutoAdmitArgs",
            object()
                .opt("enabled", boolean())
                .opt("wave", admit_count().describe("Players admitted per wave."))
                .opt(
                    "interval_ms",
                    int64()
                        .range(crate::admission::INTERVAL_MS_MIN as i64, crate::admission::INTERVAL_MS_MAX as i64)
                        .describe("Time between decisions."),
                )
                .build()
                .describe("An absent field keeps its value: `{}` reads the settings."),
        ),
        named("AdmitBody", object().req("admit", admit_count()).build()),
        named(
            "WaitlistStatusBody",
            one_of(vec![reference("AdmitBody"), reference("SetEntryStatusArgs")])
                .describe("Either {admit: n} to admit the next n waiting players, or {entry_id, status}."),
        ),
    ];
    schemas.extend(game_request_schemas());
    schemas.extend(economy_request_schemas());
    schemas
}

fn admit_count() -> Schema {
    int64().range(1, i64::from(ADMIT_WAVE_MAX))
}

fn game_request_schemas() -> Vec<(String, Schema)> {
    let players = || int64().range(i64::from(GAME_PLAYERS_MIN), i64::from(GAME_PLAYERS_MAX));
    let payload_bytes = Schema { max_items: Some(RELAY_PAYLOAD_BYTES_MAX), ..array(int64().range(0, 255)) };
    vec![
        named(
            "GamesListArgs",
            object().opt("status", reference("GameStatus")).opt("limit", list_limit()).opt("cursor", cursor()).build(),
        ),
        named(
            "CreateGameArgs",
            object()
                .req("name", string().length(1, GAME_NAME_CHARS_MAX))
                .req("max_players", players())
                .opt("min_players", players().default_value(Literal::Int(i64::from(GAME_PLAYERS_MIN))))
                .opt("idempotency_key", idempotency_key())
                .build(),
        ),
        named("GameIdArgs", object().req("game_id", uuid()).build()),
        named("GameActionArgs", object().req("game_id", uuid()).opt("idempotency_key", idempotency_key()).build()),
        named(
            "FinishGameArgs",
            object()
                .req("game_id", uuid())
                .req("results", Schema { max_items: Some(GAME_RESULTS_MAX), ..array(reference("GameResult")) })
                .build(),
        ),
        named(
            "RelayPayload",
            one_of(vec![string().length(0, RELAY_PAYLOAD_BYTES_MAX), payload_bytes])
                .describe("Opaque: UTF-8 text or an array of bytes, at most 1 KiB, relayed in the same form."),
        ),
        named("SendArgs", object().req("game_id", uuid()).req("payload", reference("RelayPayload")).build()),
        named("LeaderboardIdArgs", object().req("leaderboard_id", slug()).build()),
        named(
            "LeaderboardGetArgs",
            object()
                .req("id", slug())
                .opt("limit", list_limit())
                .opt("cursor", cursor())
                .opt("around", string_enum(&["me"]).describe("The page centred on the caller."))
                .opt("season", count().describe("An archived season; the current one when absent."))
                .build(),
        ),
        named(
            "UnlockAchievementArgs",
            object().req("achievement_id", slug()).opt("idempotency_key", idempotency_key()).build(),
        ),
        named(
            "UnlockCosmeticArgs",
            object().req("cosmetic_id", slug()).opt("idempotency_key", idempotency_key()).build(),
        ),
        named("KickArgs", object().req("user_id", uuid()).opt("reason", string()).build()),
        named("UserIdArgs", object().req("user_id", uuid()).build()),
        named(
            "TailArgs",
            object()
                .opt("types", array(string_enum(EventData::ALL_NAMES)))
                .opt("user_id", uuid())
                .opt("game_id", uuid())
                .build(),
        ),
    ]
}

fn economy_request_schemas() -> Vec<(String, Schema)> {
    let admin_user = || uuid().describe("Admin only: act on this player.");
    vec![
        named("OwnerArgs", object().opt("user_id", admin_user()).build()),
        named("ItemIdArgs", object().req("item_id", slug()).opt("user_id", admin_user()).build()),
        named(
            "AddItemArgs",
            object()
                .req("user_id", uuid())
                .req("item_id", slug())
                .req("quantity", amount())
                .opt("idempotency_key", idempotency_key())
                .build(),
        ),
        named(
            "RemoveItemArgs",
            object()
                .req("item_id", slug())
                .req("quantity", amount())
                .opt("user_id", admin_user())
                .opt("idempotency_key", idempotency_key())
                .build(),
        ),
        named(
            "CurrencyGetArgs",
            object()
                .req("currency_id", slug())
                .opt("user_id", admin_user())
                .opt("limit", list_limit())
                .opt("cursor", cursor())
                .build(),
        ),
        named(
            "DepositArgs",
            object()
                .req("user_id", uuid())
                .req("currency_id", slug())
                .req("amount", amount())
                .opt("idempotency_key", idempotency_key())
                .build(),
        ),
        named(
            "WithdrawArgs",
            object()
                .req("currency_id", slug())
                .req("amount", amount())
                .opt("user_id", admin_user())
                .opt("idempotency_key", idempotency_key())
                .build(),
        ),
    ]
}

fn page_of(field: &'static str, item: &str) -> Schema {
    object().req(field, array(reference(item))).null("next_cursor", string()).build()
}

fn reply_schemas() -> Vec<(String, Schema)> {
    let mut schemas = vec![
        named(
            "AuthReply",
            object()
                .req("user", reference("UserProfile"))
                .req("token", string())
                .req("expires_at", date_time())
                .build(),
        ),
        named(
            "SessionReply",
            object()
                .req("user_id", uuid())
                .req("role", string())
                .req("last_seq", count().describe("The newest event seq, to resume from later."))
                .build(),
        ),
        named("Pong", object().req("server_time_ms", int64()).build()),
        named("UserReply", object().req("user", reference("UserProfile")).build()),
        named("UsersPage", page_of("users", "UserProfile")),
        named(
            "EventsPage",
            object()
                .req("events", Schema { max_items: Some(RESUME_EVENTS_MAX as usize), ..array(reference("Event")) })
                .req("next_seq", count().describe("Resume again from here when `more` is true."))
                .req("more", boolean())
                .build(),
        ),
        named("EntryReply", object().req("entry", reference("WaitlistEntry")).build()),
        named("EntriesPage", page_of("entries", "WaitlistEntry")),
        named(
            "WaitlistStatusReply",
            object()
                .null("entry", reference("WaitlistEntry"))
                .null("position", count())
                .req("waiting_count", count())
                .req("admitted_count", count())
                .req("capacity", count())
                .req("founder_cap", count())
                .build(),
        ),
        named(
            "AdmitReply",
            object()
                .req("admitted", array(reference("WaitlistEntry")))
                .req("count", count())
                .req("waiting_count", count())
                .build(),
        ),
        named(
            "WaitlistStatusUpdateReply",
            one_of(vec![reference("AdmitReply"), reference("EntryReply")])
                .describe("AdmitReply for {admit: n}, EntryReply for {entry_id, status}."),
        ),
        named("GameReply", object().req("game", reference("Game")).build()),
        named("GamesPage", page_of("games", "Game")),
        named("SendReply", object().req("delivered", count()).build()),
    ];
    schemas.extend(economy_reply_schemas());
    schemas.extend(admin_reply_schemas());
    schemas
}

fn economy_reply_schemas() -> Vec<(String, Schema)> {
    vec![
        named(
            "InventoryReply",
            object().req("user_id", uuid()).req("items", array(reference("InventoryItem"))).build(),
        ),
        named("ItemReply", object().req("item", reference("ItemDef")).req("quantity", count()).build()),
        named(
            "InventoryChangeReply",
            object()
                .req("user_id", uuid())
                .req("item_id", slug())
                .req("delta", count().describe("The quantity added or removed."))
                .req("quantity", count().describe("The quantity held afterwards."))
                .build(),
        ),
        named("BalancesReply", object().req("user_id", uuid()).req("balances", array(reference("Balance"))).build()),
        named(
            "CurrencyReply",
            object()
                .req("currency", reference("CurrencyDef"))
                .req("balance", count())
                .req("transactions", array(reference("Transaction")))
                .null("next_cursor", string())
                .build(),
        ),
        named(
            "TransactionReply",
            object().req("transaction", reference("Transaction")).req("balance", count()).build(),
        ),
        named("LeaderboardsReply", object().req("leaderboards", array(reference("LeaderboardInfo"))).build()),
        named(
            "LeaderboardReply",
            object()
                .req("leaderboard", reference("LeaderboardInfo"))
                .req("season", count())
                .req("entries", array(reference("LeaderboardEntry")))
                .null("me", reference("LeaderboardEntry"))
                .null("next_cursor", string())
                .build(),
        ),
        named("SubscribeReply", object().req("leaderboard_id", slug()).req("subscribed", boolean()).build()),
        named(
            "ResetReply",
            object().req("leaderboard_id", slug()).req("archived_season", count()).req("season", count()).build(),
        ),
        named("AchievementsReply", object().req("achievements", array(reference("Achievement"))).build()),
        named("AchievementReply", object().req("achievement", reference("Achievement")).build()),
        named("CosmeticsReply", object().req("cosmetics", array(reference("Cosmetic"))).build()),
        named(
            "CosmeticReply",
            object().req("cosmetic", reference("Cosmetic")).null("transaction", reference("Transaction")).build(),
        ),
    ]
}

fn admin_reply_schemas() -> Vec<(String, Schema)> {
    vec![
        named("KickReply", object().req("user_id", uuid()).req("sockets_closed", count()).build()),
        named(
            "InspectReply",
            object()
                .req("user", reference("UserProfile"))
                .req("balances", array(reference("Balance")))
                .req("inventory", array(reference("InventoryItem")))
                .req("stats", reference("PlayerStats"))
                .req("achievements", array(slug()))
                .req("cosmetics", array(slug()))
                .null("current_game", uuid())
                .req("sockets", count())
                .null("waitlist_entry_id", uuid())
                .build(),
        ),
        named("AckReply", object().req("ok", boolean()).build()),
        named("ActorCount", object().req("kind", string()).req("live", count()).build()),
        named(
            "EndpointStat",
            object()
                .req("operation", string())
                .req("count", count())
                .req("p99_ms", number())
                .req("error_rate", number())
                .req("slo_p99_ms", number())
                .req("passing", boolean())
                .build(),
        ),
        named(
            "StatsSnapshot",
            object()
                .req("at", date_time())
                .req("sockets", count())
                .req("players_online", count())
                .req("actors", array(reference("ActorCount")))
                .req("mailbox_depth", count())
                .req("journal_batch_size_mean", number())
                .req("journal_commit_ms_p99", number())
                .req("events_per_sec", number())
                .req("endpoints", array(reference("EndpointStat")))
                .req("auto_admission", reference("AutoAdmission"))
                .build(),
        ),
        named("AdmissionAction", string_enum(&["admit", "pause", "idle", "failed"])),
        named(
            "AdmissionDecision",
            object()
                .req("at", date_time())
                .req("action", reference("AdmissionAction"))
                .req("admitted", count())
                .req("reason", string())
                .build(),
        ),
        named(
            "AutoAdmission",
            object()
                .req("enabled", boolean())
                .req("wave", count())
                .req("interval_ms", count())
                .req("waves_admitted", count())
                .req("players_admitted", count())
                .null("last_decision", reference("AdmissionDecision"))
                .build()
                .describe("Capacity-aware admission: a wave every interval while the live SLOs have headroom."),
        ),
    ]
}

fn ops_schemas() -> Vec<(String, Schema)> {
    let class_names: Vec<&'static str> = OpClass::ALL.iter().map(|class| class_name(*class)).collect();
    vec![
        named("HealthReply", object().req("status", string().describe("`ok` while the process serves.")).build()),
        named(
            "ReadyReply",
            object()
                .req("database", boolean())
                .req("migrations", boolean())
                .req("journal", boolean())
                .req("last_seq", int64())
                .build()
                .describe("Every check passed; a 503 SERVICE_UNAVAILABLE answer otherwise."),
        ),
        named("PrometheusText", string().describe("The Prometheus text exposition format.")),
        named("OpenApiDocument", Schema::typed("object").describe("This document (not wrapped in the envelope).")),
        named("HtmlPage", string().describe("A self-contained HTML page.")),
        named("WebSocketUpgrade", Schema::default().describe("No body: the connection switches to WebSocket.")),
        named("OpClass", string_enum(&class_names)),
        named(
            "Slo",
            object()
                .req("p50_ms", number())
                .req("p99_ms", number())
                .req("error_budget", number().describe("Largest share of 5xx answers."))
                .req("throughput_rps", number())
                .build(),
        ),
        named(
            "OperationSlo",
            object()
                .req("operation", string())
                .null("method", string())
                .null("path", string())
                .null("ws_op", string())
                .req("class", reference("OpClass"))
                .req("objective", reference("Slo"))
                .req("count", count())
                .req("errors", count().describe("Server errors in the window."))
                .req("client_errors", count())
                .req("p50_ms", number())
                .req("p99_ms", number())
                .req("max_ms", number())
                .req("error_rate", number())
                .req("budget_left", number().describe("Share of the error budget left, 1.0 to 0.0."))
                .req("passing", boolean())
                .req("lifetime_count", count())
                .req("lifetime_errors", count())
                .req("lifetime_client_errors", count())
                .build(),
        ),
        named(
            "SloReport",
            object()
                .req("window_secs", count())
                .req("generated_at", date_time())
                .req("passing", boolean())
                .req("operations", array(reference("OperationSlo")))
                .build(),
        ),
    ]
}

/// The serde name of a class, as `/slo` writes it.
fn class_name(class: OpClass) -> &'static str {
    match class {
        OpClass::Read => "Read",
        OpClass::Write => "Write",
        OpClass::Auth => "Auth",
        OpClass::Relay => "Relay",
        OpClass::Admin => "Admin",
        OpClass::Ops => "Ops",
    }
}

// ---------------------------------------------------------------------------------------------
// Paths.

/// How an operation answers on success.
enum Answer {
    /// The JSON envelope with `data`.
    Envelope,
    /// A body of this media type, as is.
    Raw(&'static str),
    /// 101 Switching Protocols.
    Upgrade,
}

fn answer(op: &Operation) -> Answer {
    match op.response {
        "PrometheusText" => Answer::Raw("text/plain"),
        "HtmlPage" => Answer::Raw("text/html"),
        "OpenApiDocument" => Answer::Raw("application/json"),
        "WebSocketUpgrade" => Answer::Upgrade,
        _ => Answer::Envelope,
    }
}

fn paths() -> OrderedMap<PathItem> {
    let mut paths = OrderedMap::new();
    for op in OPERATIONS.iter().filter(|op| op.is_http()) {
        let (Some(method), Some(path)) = (op.method, op.path) else {
            continue;
        };
        let item = paths.entry_or_insert_with(path, PathItem::default);
        let slot = match method {
            "GET" => &mut item.get,
            "POST" => &mut item.post,
            "PATCH" => &mut item.patch,
            _ => &mut item.delete,
        };
        *slot = Some(operation_object(op));
    }
    paths
}

fn operation_object(op: &'static Operation) -> OperationObject {
    let request_body =
        op.request.map(|name| RequestBody { required: true, content: media("application/json", reference(name)) });
    OperationObject {
        operation_id: op.docs_anchor,
        summary: op.summary,
        description: format!(
            "Who: {}. Class: {} (p50 <= {} ms, p99 <= {} ms). Details: /docs#{}",
            op.auth.as_str(),
            op.class.as_str(),
            op.slo().p50_ms,
            op.slo().p99_ms,
            op.docs_anchor
        ),
        tags: [op.service()],
        security: security(op.auth),
        parameters: parameters(op),
        request_body,
        responses: responses(op),
        external_docs: ExternalDocs { url: op.docs_url() },
        slo: op.slo(),
        class: op.class,
    }
}

fn media(kind: &'static str, schema: Schema) -> OrderedMap<MediaType> {
    let mut content = OrderedMap::new();
    content.insert(kind, MediaType { schema });
    content
}

fn security(auth: Auth) -> Vec<SecurityRequirement> {
    let player = SecurityRequirement { player: Some([]), admin: None };
    let admin = SecurityRequirement { player: None, admin: Some([]) };
    match auth {
        Auth::None => Vec::new(),
        Auth::Player => vec![player],
        Auth::Admin => vec![admin],
        Auth::PlayerOrAdmin => vec![player, admin],
    }
}

fn parameter(
    name: &'static str,
    location: &'static str,
    required: bool,
    description: &'static str,
    schema: Schema,
) -> Parameter {
    Parameter { name, location, required, description, schema }
}

fn parameters(op: &Operation) -> Vec<Parameter> {
    let path = op.path.unwrap_or_default();
    let mut params = Vec::new();
    if path.contains('{') {
        let uuid_ids = ["/users/", "/waitlist/", "/games/"].iter().any(|prefix| path.starts_with(prefix));
        let (name, schema) = match path.rsplit_once('{').map(|(_, rest)| rest.trim_end_matches('}')) {
            Some("item_id") => ("item_id", slug()),
            Some("currency_id") => ("currency_id", slug()),
            _ if uuid_ids => ("id", uuid()),
            _ => ("id", slug()),
        };
        params.push(parameter(name, "path", true, "The resource's id.", schema));
    }
    let limit = || parameter("limit", "query", false, "Page size.", list_limit());
    let cursor = || parameter("cursor", "query", false, "The previous page's next_cursor.", cursor());
    let user = || parameter("user_id", "query", false, "Admin only: act on this player.", uuid());
    let status = |name: &str| parameter("status", "query", false, "Only entries with this status.", reference(name));
    match op.name {
        "GET /users" => params.extend([limit(), cursor()]),
        "GET /waitlist" => params.extend([status("WaitlistStatus"), limit(), cursor()]),
        "GET /games" => params.extend([status("GameStatus"), limit(), cursor()]),
        "GET /inventory" | "GET /inventory/{item_id}" | "GET /currency" => params.push(user()),
        "GET /currency/{currency_id}" => params.extend([user(), limit(), cursor()]),
        "GET /leaderboard/{id}" => params.extend([
            limit(),
            cursor(),
            parameter("around", "query", false, "`me`: the page centred on the caller.", string_enum(&["me"])),
            parameter("season", "query", false, "An archived season; the current one when absent.", count()),
        ]),
        "GET /events" => params.push(parameter("since_seq", "query", true, "The last seq the client saw.", count())),
        "GET /ws" => params.push(parameter("token", "query", false, "For browsers: the player token.", string())),
        _ => {}
    }
    params
}

fn responses(op: &Operation) -> OrderedMap<ResponseOrRef> {
    let mut responses = OrderedMap::new();
    let success = match answer(op) {
        Answer::Envelope => Response {
            description: format!("Success: the envelope with a {} as data.", op.response),
            headers: Some(request_id_header()),
            content: Some(media("application/json", success_envelope(op.response))),
            error_codes: Vec::new(),
        },
        Answer::Raw(kind) => Response {
            description: "Success.".to_owned(),
            headers: None,
            content: Some(media(kind, reference(op.response))),
            error_codes: Vec::new(),
        },
        Answer::Upgrade => Response {
            description: "Switching Protocols: the connection is now a WebSocket.".to_owned(),
            headers: None,
            content: None,
            error_codes: Vec::new(),
        },
    };
    let status = if matches!(answer(op), Answer::Upgrade) { 101 } else { op.success_status() };
    responses.insert(status.to_string(), ResponseOrRef::Inline(success));
    for codes in error_groups(op) {
        let reference = format!("#/components/responses/{}", error_response_name(&codes));
        responses.insert(codes[0].status().to_string(), ResponseOrRef::Ref { reference });
    }
    responses
}

/// An operation's error codes grouped by status, in status order.
fn error_groups(op: &Operation) -> Vec<Vec<ErrorCode>> {
    let errors = op.all_errors();
    let mut statuses: Vec<u16> = errors.iter().map(|code| code.status()).collect();
    statuses.sort_unstable();
    statuses.dedup();
    statuses.into_iter().map(|status| errors.iter().copied().filter(|code| code.status() == status).collect()).collect()
}

/// The shared response's name: its codes in table order, so equal sets share one entry.
fn error_response_name(codes: &[ErrorCode]) -> String {
    let mut sorted: Vec<ErrorCode> = ErrorCode::ALL.iter().copied().filter(|code| codes.contains(code)).collect();
    sorted.dedup();
    sorted.iter().map(|code| code.as_str()).collect::<Vec<_>>().join("_or_")
}

/// Every distinct error response the operations refer to.
fn error_responses() -> OrderedMap<Response> {
    let mut responses: OrderedMap<Response> = OrderedMap::new();
    for op in OPERATIONS.iter().filter(|op| op.is_http()) {
        for codes in error_groups(op) {
            let name = error_response_name(&codes);
            responses.entry_or_insert_with(&name, || error_response(&codes));
        }
    }
    responses
}

fn request_id_header() -> OrderedMap<Header> {
    let mut headers = OrderedMap::new();
    let header = Header { reference: Some("#/components/headers/X-Request-Id"), description: None, schema: None };
    headers.insert("X-Request-Id", header);
    headers
}

fn success_envelope(data: &str) -> Schema {
    object()
        .req("ok", constant(Literal::Bool(true)))
        .req("data", reference(data))
        .req("meta", reference("Meta"))
        .build()
}

fn error_response(codes: &[ErrorCode]) -> Response {
    let mut headers = request_id_header();
    let names: Vec<&'static str> = codes.iter().map(|code| code.as_str()).collect();
    let description =
        codes.iter().map(|code| format!("{}: {}", code.as_str(), code.meaning())).collect::<Vec<_>>().join(" ");
    if codes.contains(&ErrorCode::RATE_LIMITED) {
        let schema = Some(int64().range(0, pzo_protocol::BALANCE_MAX));
        headers.insert("Retry-After", Header { reference: None, description: Some("Seconds to wait."), schema });
    }
    // The envelope, with `code` narrowed to the codes this status can carry here.
    let narrowed = object().req("error", object().req("code", string_enum(&names)).build()).build();
    let schema = Schema { all_of: vec![reference("ErrorEnvelope"), narrowed], ..Schema::default() };
    Response {
        description,
        headers: Some(headers),
        content: Some(media("application/json", schema)),
        error_codes: names,
    }
}

// ---------------------------------------------------------------------------------------------
// The whole document.

const TAGS: &[Tag] = &[
    Tag { name: "User", description: "Registration, login, profiles and preferences." },
    Tag { name: "Waitlist", description: "The Season 0 waitlist and admission waves." },
    Tag { name: "Game", description: "Game lobbies." },
    Tag { name: "Inventory", description: "Items held by players." },
    Tag { name: "Currency", description: "Balances and the transaction ledger." },
    Tag { name: "Leaderboard", description: "Ranked scores per season." },
    Tag { name: "Achievement", description: "Achievements and their progress." },
    Tag { name: "Cosmetic", description: "Cosmetics, bought or earned." },
    Tag { name: "Session", description: "Socket session ops and event catch-up." },
    Tag { name: "Admin", description: "Operator ops of the admin console socket." },
    Tag { name: "Ops", description: "Health, metrics, SLOs and documents." },
    Tag { name: "Sockets", description: "WebSocket endpoints and the admin console page." },
];

fn build() -> Document {
    Document {
        openapi: "3.1.0",
        info: Info {
            title: "PZO Season 0 API",
            version: env!("CARGO_PKG_VERSION"),
            description: "Realtime game backend of PZO Season 0. Every HTTP answer is the JSON envelope \
                {ok, data, meta} or {ok: false, error, meta}; every operation also exists as a socket op \
                (x-websocket-ops). Each operation carries its SLO as x-slo.",
            license: License { name: "Apache-2.0", identifier: "Apache-2.0" },
        },
        servers: vec![ServerObject { url: "/" }],
        tags: TAGS.iter().map(|tag| Tag { name: tag.name, description: tag.description }).collect(),
        paths: paths(),
        components: components(),
        websocket: WebSocketInfo {
            path: "/ws",
            admin_path: "/admin/ws",
            subprotocols: ["pzo.v1.json", "pzo.v1.bincode"],
            request_frame: r#"{"id": <u32>, "op": "<service>.<action>", "args": {...}}"#,
            reply_frame: r#"{"re": <id>, "ok": true, "data": {...}} or {"re": <id>, "ok": false, "error": {...}}"#,
            event_frame: r#"{"event": {"seq": n, "type": "GAME_JOINED", "at": "...", "data": {...}}}"#,
            relay_frame: r#"{"relay": {"game_id": "...", "from": "<user_id>", "payload": ...}}"#,
            frame_bytes_max: WS_FRAME_BYTES_MAX,
            auth_timeout_secs: WS_AUTH_TIMEOUT_SECS,
            event_types: EventData::ALL_NAMES,
            event_delivery_slo: EVENT_DELIVERY_SLO,
        },
        websocket_ops: OPERATIONS.iter().filter_map(websocket_op).collect(),
    }
}

fn websocket_op(op: &'static Operation) -> Option<WebSocketOp> {
    Some(WebSocketOp {
        op: op.ws_op?,
        summary: op.summary,
        service: op.service(),
        auth: op.auth,
        class: op.class,
        args: reference(op.request.unwrap_or("NoArgs")),
        reply: reference(op.response),
        errors: op.all_errors().iter().map(|code| code.as_str()).collect(),
        slo: op.slo(),
        docs: op.docs_url(),
    })
}

fn components() -> Components {
    let mut security_schemes = OrderedMap::new();
    security_schemes.insert(
        "playerToken",
        SecurityScheme {
            kind: "http",
            scheme: "bearer",
            description: "A player token from POST /users/register or POST /users/login.",
        },
    );
    security_schemes.insert(
        "adminToken",
        SecurityScheme {
            kind: "http",
            scheme: "bearer",
            description: "The admin token (PZO_ADMIN_TOKEN, or generated and printed at start).",
        },
    );
    let mut headers = OrderedMap::new();
    headers.insert(
        "X-Request-Id",
        Header {
            reference: None,
            description: Some("The request's id: echoed when the client sent one, generated otherwise."),
            schema: Some(string()),
        },
    );
    Components { schemas: component_schemas(), responses: error_responses(), security_schemes, headers }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pzo_protocol::model::{GameStatus, Preferences, UserProfile};
    use pzo_protocol::reply::AuthReply;
    use serde::Deserialize;
    use std::collections::{BTreeMap, BTreeSet};

    /// Just enough of the document to check it, read back with typed structs.
    #[derive(Deserialize)]
    struct Parsed {
        openapi: String,
        paths: BTreeMap<String, BTreeMap<String, ParsedOperation>>,
        components: ParsedComponents,
        #[serde(rename = "x-websocket-ops")]
        websocket_ops: Vec<ParsedWsOp>,
    }

    #[derive(Deserialize)]
    struct ParsedOperation {
        #[serde(rename = "operationId")]
        operation_id: String,
        #[serde(rename = "x-slo")]
        slo: Slo,
        responses: BTreeMap<String, serde::de::IgnoredAny>,
    }

    #[derive(Deserialize)]
    struct ParsedComponents {
        schemas: BTreeMap<String, ParsedSchema>,
        responses: BTreeMap<String, serde::de::IgnoredAny>,
    }

    #[derive(Deserialize)]
    struct ParsedSchema {
        #[serde(default)]
        properties: BTreeMap<String, serde::de::IgnoredAny>,
        #[serde(default)]
        required: Vec<String>,
    }

    #[derive(Deserialize)]
    struct ParsedWsOp {
        op: String,
        #[serde(rename = "x-slo")]
        slo: Slo,
    }

    fn parsed() -> Parsed {
        let text = document();
        serde_json::from_str(&text).unwrap_or_else(|error| panic!("not the expected JSON: {error}"))
    }

    #[test]
    fn every_http_operation_has_a_path_with_its_slo() {
        let doc = parsed();
        assert_eq!(doc.openapi, "3.1.0");
        for op in OPERATIONS.iter().filter(|op| op.is_http()) {
            let (method, path) = (op.method.unwrap_or_default(), op.path.unwrap_or_default());
            let item = doc.paths.get(path).unwrap_or_else(|| panic!("no path {path}"));
            let entry = item.get(&method.to_ascii_lowercase()).unwrap_or_else(|| panic!("no {}", op.name));
            assert_eq!(entry.operation_id, op.docs_anchor);
            assert_eq!(entry.slo, op.slo());
            let success = op.success_status().to_string();
            assert!(entry.responses.contains_key(&success) || entry.responses.contains_key("101"), "{}", op.name);
            for code in op.all_errors() {
                assert!(entry.responses.contains_key(&code.status().to_string()), "{} lacks {code:?}", op.name);
            }
        }
    }

    #[test]
    fn every_socket_op_is_listed_with_its_slo() {
        let doc = parsed();
        let listed: BTreeSet<&str> = doc.websocket_ops.iter().map(|op| op.op.as_str()).collect();
        for op in pzo_protocol::Request::ALL_NAMES {
            assert!(listed.contains(op), "x-websocket-ops lacks {op}");
        }
        for ws in &doc.websocket_ops {
            let op = crate::operations::find_ws(&ws.op).map(Operation::slo);
            assert_eq!(Some(ws.slo), op);
        }
    }

    #[test]
    fn every_reference_resolves() {
        let text = document();
        let doc = parsed();
        let schemas: BTreeSet<&String> = doc.components.schemas.keys().collect();
        let responses: BTreeSet<&String> = doc.components.responses.keys().collect();
        for (prefix, names) in [("#/components/schemas/", &schemas), ("#/components/responses/", &responses)] {
            for (start, _) in text.match_indices(prefix) {
                let name: String = text[start + prefix.len()..].chars().take_while(|c| *c != '"').collect();
                assert!(names.contains(&name), "dangling $ref {prefix}{name}");
            }
        }
        for op in OPERATIONS {
            for name in op.request.iter().chain([&op.response]) {
                assert!(doc.components.schemas.contains_key(*name), "{} names unknown schema {name}", op.name);
            }
        }
    }

    #[test]
    fn event_payloads_follow_the_protocol() {
        let kinds: Vec<&str> = EVENT_PAYLOADS.iter().map(|(kind, _)| *kind).collect();
        assert_eq!(kinds, EventData::ALL_NAMES);
    }

    /// The schema's properties must be the keys the real type serializes, and its required list
    /// every key that is always present.
    fn assert_schema_matches<T: Serialize>(name: &str, value: &T) {
        let doc = parsed();
        let schema = doc.components.schemas.get(name).unwrap_or_else(|| panic!("no schema {name}"));
        let text = serde_json::to_string(value).unwrap_or_default();
        let keys: BTreeMap<String, serde::de::IgnoredAny> = serde_json::from_str(&text).unwrap_or_default();
        let schema_keys: BTreeSet<&String> = schema.properties.keys().collect();
        assert_eq!(keys.keys().collect::<BTreeSet<_>>(), schema_keys, "{name}");
        let required: BTreeSet<&String> = schema.required.iter().collect();
        assert_eq!(required, schema_keys, "{name}: replies always carry every field");
    }

    #[test]
    fn reply_schemas_match_the_serialized_types() {
        let at = chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default();
        let user = UserProfile {
            id: pzo_protocol::UserId::nil(),
            display_name: "Ada".to_owned(),
            created_at: at,
            email: None,
            preferences: Some(Preferences::default()),
            season0: None,
        };
        assert_schema_matches("UserProfile", &user);
        assert_schema_matches("Preferences", &Preferences::default());
        let reply = AuthReply { user, token: "t".to_owned(), expires_at: at };
        assert_schema_matches("AuthReply", &reply);
        let report = crate::telemetry::Telemetry::new().report();
        assert_schema_matches("SloReport", &report);
        assert_schema_matches("OperationSlo", &report.operations[0]);
        assert_eq!(serde_json::to_string(&GameStatus::Open).unwrap_or_default(), r#""open""#);
    }

    #[test]
    fn model_schemas_match_the_serialized_types() {
        use pzo_protocol::model::*;
        let at = chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default();
        let id = pzo_protocol::UserId::nil();
        let entry = WaitlistEntry {
            id,
            user_id: id,
            status: WaitlistStatus::Waiting,
            position: Some(1),
            joined_at: at,
            referral_code: "r".to_owned(),
            referred_by: None,
            founder_number: None,
            admitted_at: None,
        };
        assert_schema_matches("WaitlistEntry", &entry);
        let player = GamePlayer { user_id: id, display_name: "Ada".to_owned(), joined_at: at, score: None };
        assert_schema_matches("GamePlayer", &player);
        let game = Game {
            id,
            name: "g".to_owned(),
            host_id: id,
            status: GameStatus::Open,
            max_players: 4,
            min_players: 2,
            player_count: 1,
            players: vec![player],
            created_at: at,
            started_at: None,
            finished_at: None,
        };
        assert_schema_matches("Game", &game);
        let transaction = Transaction {
            id,
            user_id: id,
            currency_id: "gold".to_owned(),
            kind: TransactionKind::Deposit,
            amount: 5,
            balance_after: 5,
            reference: None,
            created_at: at,
        };
        assert_schema_matches("Transaction", &transaction);
        let price = Some(Price { currency_id: "gold".to_owned(), amount: 500 });
        let cosmetic = Cosmetic {
            id: "golden_helm".to_owned(),
            name: "Golden helm".to_owned(),
            price,
            required_achievement: None,
            owned: false,
            unlocked_at: None,
        };
        assert_schema_matches("Cosmetic", &cosmetic);
        let condition = Condition { kind: ConditionKind::GamesCompleted, threshold: 1 };
        let achievement = Achievement {
            id: "first_game".to_owned(),
            name: "First game".to_owned(),
            description: "d".to_owned(),
            condition,
            progress: Progress { current: 0, target: 1 },
            unlocked: false,
            unlocked_at: None,
        };
        assert_schema_matches("Achievement", &achievement);
        let row = LeaderboardEntry { rank: 1, user_id: None, display_name: "anonymous".to_owned(), score: 3 };
        assert_schema_matches("LeaderboardEntry", &row);
    }

    /// Request schemas list exactly the fields of the args type; required are the non-optional ones.
    fn assert_args_match<T: Serialize>(name: &str, value: &T, required: &[&str]) {
        let doc = parsed();
        let schema = doc.components.schemas.get(name).unwrap_or_else(|| panic!("no schema {name}"));
        let text = serde_json::to_string(value).unwrap_or_default();
        let keys: BTreeMap<String, serde::de::IgnoredAny> = serde_json::from_str(&text).unwrap_or_default();
        assert_eq!(keys.keys().collect::<BTreeSet<_>>(), schema.properties.keys().collect::<BTreeSet<_>>(), "{name}");
        assert_eq!(schema.required, required, "{name}");
    }

    #[test]
    fn request_schemas_match_the_args_types() {
        use pzo_protocol::request::*;
        let id = pzo_protocol::UserId::nil();
        let register = RegisterArgs { email: "a@b.c".into(), password: "p".into(), display_name: "Ada".into() };
        assert_args_match("RegisterArgs", &register, &["email", "password", "display_name"]);
        let withdraw =
            WithdrawArgs { currency_id: "gold".into(), amount: 5.into(), user_id: None, idempotency_key: None };
        assert_args_match("WithdrawArgs", &withdraw, &["currency_id", "amount"]);
        let deposit = DepositArgs { user_id: id, currency_id: "gold".into(), amount: 5.into(), idempotency_key: None };
        assert_args_match("DepositArgs", &deposit, &["user_id", "currency_id", "amount"]);
        let add = AddItemArgs { user_id: id, item_id: "potion".into(), quantity: 1.into(), idempotency_key: None };
        assert_args_match("AddItemArgs", &add, &["user_id", "item_id", "quantity"]);
        let remove =
            RemoveItemArgs { item_id: "potion".into(), quantity: 1.into(), user_id: None, idempotency_key: None };
        assert_args_match("RemoveItemArgs", &remove, &["item_id", "quantity"]);
        let create = CreateGameArgs { name: "g".into(), max_players: 4, min_players: None, idempotency_key: None };
        assert_args_match("CreateGameArgs", &create, &["name", "max_players"]);
        let board = LeaderboardGetArgs { id: "season0".into(), limit: None, cursor: None, around: None, season: None };
        assert_args_match("LeaderboardGetArgs", &board, &["id"]);
        let preferences =
            UpdatePreferencesArgs { id: None, preferences: PreferencesPatch::default(), idempotency_key: None };
        assert_args_match("UpdatePreferencesArgs", &preferences, &["preferences"]);
        assert_args_match("PreferencesPatch", &PreferencesPatch::default(), &[]);
        let unlock = UnlockCosmeticArgs { cosmetic_id: "golden_helm".into(), idempotency_key: None };
        assert_args_match("UnlockCosmeticArgs", &unlock, &["cosmetic_id"]);
        assert_args_match("WaitlistJoinArgs", &WaitlistJoinArgs::default(), &[]);
        assert_args_match("TailArgs", &TailArgs::default(), &[]);
        let get = CurrencyGetArgs { currency_id: "gold".into(), user_id: None, limit: None, cursor: None };
        assert_args_match("CurrencyGetArgs", &get, &["currency_id"]);
        let action = GameActionArgs { game_id: id, idempotency_key: None };
        assert_args_match("GameActionArgs", &action, &["game_id"]);
        let unlock = UnlockAchievementArgs { achievement_id: "first_game".into(), idempotency_key: None };
        assert_args_match("UnlockAchievementArgs", &unlock, &["achievement_id"]);
        let finish = FinishGameArgs { game_id: id, results: Vec::new() };
        assert_args_match("FinishGameArgs", &finish, &["game_id", "results"]);
    }
}
