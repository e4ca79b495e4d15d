//! The human documentation pages: `/docs` (every operation, the socket protocol and the events)
//! and `/docs/errors` (every error code), rendered as self-contained HTML from the same tables
//! as `/openapi.json`, so the two never disagree.

use crate::operations::{EVENT_DELIVERY_SLO, OPERATIONS, Operation, SLO_BY_CLASS, Slo};
use pzo_protocol::limits::{
    LIST_LIMIT_DEFAULT, LIST_LIMIT_MAX, RELAY_PAYLOAD_BYTES_MAX, RESUME_EVENTS_MAX, WS_AUTH_TIMEOUT_SECS,
    WS_FRAME_BYTES_MAX,
};
use pzo_protocol::{ErrorCode, EventData};
use std::sync::OnceLock;

/// Services in the order the page shows them.
const SERVICES: &[&str] = &[
    "User",
    "Waitlist",
    "Game",
    "Inventory",
    "Currency",
    "Leaderboard",
    "Achievement",
    "Cosmetic",
    "Session",
    "Admin",
    "Sockets",
    "Ops",
];

/// One stylesheet for both pages, inline so the pages need no other request.
const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:0 auto;max-width:1200px;padding:1rem 2rem;\
color:#1d2330;line-height:1.45}h1,h2,h3{line-height:1.2}code,pre{font-family:ui-monospace,monospace;\
font-size:.9em}pre{background:#f3f5f8;padding:.75rem;overflow-x:auto}table{border-collapse:collapse;\
width:100%;margin:.5rem 0 1.5rem}th,td{border-bottom:1px solid #dde2ea;padding:.35rem .5rem;text-align:left;\
vertical-align:top}th{background:#f3f5f8}tr:target{background:#fff7d6}.method{font-weight:700}\
.small{font-size:.85em;color:#555}nav a{margin-right:.75rem}";

/// The `/docs` page. It depends only on compiled-in tables, so it is rendered once.
pub fn api_page() -> String {
    static PAGE: OnceLock<String> = OnceLock::new();
    PAGE.get_or_init(render_api_page).clone()
}

/// The `/docs/errors` page.
pub fn errors_page() -> String {
    static PAGE: OnceLock<String> = OnceLock::new();
    PAGE.get_or_init(render_errors_page).clone()
}

/// Escapes text for HTML element content and quoted attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

fn head(title: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title><style>{STYLE}</style></head><body>\n",
        escape(title)
    )
}

fn render_api_page() -> String {
    let mut out = head("PZO Season 0 API");
    out.push_str("<h1>PZO Season 0 API</h1>\n<nav>");
    for service in SERVICES {
        out.push_str(&format!("<a href=\"#service-{0}\">{0}</a>", escape(service)));
    }
    out.push_str("<a href=\"#websocket\">Socket protocol</a><a href=\"#events\">Events</a>");
    out.push_str("<a href=\"#slo\">SLOs</a><a href=\"/docs/errors\">Errors</a><a href=\"/openapi.json\">OpenAPI</a>");
    out.push_str("</nav>\n");
    out.push_str(&conventions_section());
    for service in SERVICES {
        out.push_str(&service_section(service));
    }
    out.push_str(&websocket_section());
    out.push_str(&events_section());
    out.push_str(&slo_section());
    out.push_str("</body></html>\n");
    out
}

fn conventions_section() -> String {
    format!(
        "<h2 id=\"conventions\">Conventions</h2>\n\
         <p>Every HTTP answer is JSON in one envelope:</p>\n<pre>{}</pre>\n\
         <p>Authenticate with <code>Authorization: Bearer &lt;token&gt;</code>: a player token from register or \
         login, or the admin token. <code>X-Request-Id</code> is echoed, or generated. Lists take \
         <code>limit</code> (default {LIST_LIMIT_DEFAULT}, at most {LIST_LIMIT_MAX}) and an opaque \
         <code>cursor</code>, and answer <code>next_cursor</code> (null at the end). Every mutating \
         operation that takes an <code>idempotency_key</code> answers a retry with the first answer. \
         Every error code is explained on <a href=\"/docs/errors\">the errors page</a>; the machine-readable \
         contract is <a href=\"/openapi.json\">/openapi.json</a> and live SLO compliance is at \
         <a href=\"/slo\">/slo</a>.</p>\n",
        escape(
            "{\"ok\": true, \"data\": {...}, \"meta\": {\"request_id\": \"...\", \"docs\": \"/docs#<operation>\"}}\n\
             {\"ok\": false, \"error\": {\"code\": \"INSUFFICIENT_FUNDS\", \"message\": \"...\", \"status\": 409,\n\
             \x20             \"retryable\": false, \"details\": {...},\n\
             \x20             \"docs\": \"/docs/errors#INSUFFICIENT_FUNDS\"},\n\
             \x20\"meta\": {\"request_id\": \"...\"}}"
        )
    )
}

fn service_section(service: &str) -> String {
    let mut out = format!(
        "<h2 id=\"service-{0}\">{0}</h2>\n<table><thead><tr><th>Operation</th><th>Who</th><th>SLO</th>\
         <th>Request &rarr; reply</th><th>Errors</th><th>What it does</th></tr></thead><tbody>\n",
        escape(service)
    );
    for op in OPERATIONS.iter().filter(|op| op.service() == service) {
        out.push_str(&operation_row(op));
    }
    out.push_str("</tbody></table>\n");
    out
}

fn operation_title(op: &Operation) -> String {
    match (op.method, op.path, op.ws_op) {
        (Some(method), Some(path), _) => {
            format!("<span class=\"method\">{}</span> <code>{}</code>", escape(method), escape(path))
        }
        (_, _, Some(ws_op)) => format!("<span class=\"method\">ws</span> <code>{}</code>", escape(ws_op)),
        _ => escape(op.name),
    }
}

fn slo_cell(slo: &Slo) -> String {
    format!(
        "p50 &le; {} ms<br>p99 &le; {} ms<br><span class=\"small\">{} rps, budget {}%</span>",
        slo.p50_ms,
        slo.p99_ms,
        slo.throughput_rps,
        slo.error_budget * 100.0
    )
}

fn operation_row(op: &Operation) -> String {
    let request = op.request.map_or_else(|| "&mdash;".to_owned(), |name| format!("<code>{}</code>", escape(name)));
    let errors: Vec<String> = op
        .errors
        .iter()
        .map(|code| format!("<a href=\"/docs/errors#{0}\"><code>{0}</code></a>", escape(code.as_str())))
        .collect();
    let status =
        if op.is_http() { format!(" <span class=\"small\">({})</span>", op.success_status()) } else { String::new() };
    format!(
        "<tr id=\"{anchor}\"><td><a href=\"#{anchor}\">{title}</a>{status}<br><span class=\"small\">{class}</span></td>\
         <td>{auth}</td><td>{slo}</td><td>{request} &rarr; <code>{response}</code></td><td>{errors}</td>\
         <td>{summary}</td></tr>\n",
        anchor = escape(op.docs_anchor),
        title = operation_title(op),
        class = escape(op.class.as_str()),
        auth = escape(op.auth.as_str()),
        slo = slo_cell(&op.slo()),
        response = escape(op.response),
        errors = if errors.is_empty() { "&mdash;".to_owned() } else { errors.join("<br>") },
        summary = escape(op.summary),
    )
}

fn websocket_section() -> String {
    let frames = escape(
        "→ {\"id\": 1, \"op\": \"auth\", \"args\": {\"token\": \"...\"}}\n\
         ← {\"re\": 1, \"ok\": true, \"data\": {\"user_id\": \"...\", \"role\": \"player\", \"last_seq\": 42}}\n\
         → {\"id\": 2, \"op\": \"currency.withdraw\", \"args\": {\"currency_id\": \"gold\", \"amount\": 5}}\n\
         ← {\"re\": 2, \"ok\": false, \"error\": {\"code\": \"INSUFFICIENT_FUNDS\", ...}}\n\
         ← {\"event\": {\"seq\": 43, \"type\": \"GAME_JOINED\", \"at\": \"...\", \"data\": {...}}}\n\
         ← {\"relay\": {\"game_id\": \"...\", \"from\": \"<user_id>\", \"payload\": \"...\"}}",
    );
    format!(
        "<h2 id=\"websocket\">Socket protocol</h2>\n\
         <p>Connect to <code>/ws</code> with the subprotocol <code>pzo.v1.json</code> (text frames, the default) \
         or <code>pzo.v1.bincode</code> (binary frames, bincode 2 standard configuration); both carry the same \
         types. The first frame must be <code>auth</code> (browsers may pass <code>?token=</code> instead); any \
         other op before it answers <code>UNAUTHENTICATED</code>, and a socket still unauthenticated after \
         {WS_AUTH_TIMEOUT_SECS} s is closed. Requests carry a <code>u32</code> <code>id</code> that the reply \
         echoes as <code>re</code>; their <code>args</code> are the HTTP bodies, with path ids as fields.</p>\n\
         <pre>{frames}</pre>\n\
         <p>Limits: a frame is at most {WS_FRAME_BYTES_MAX} bytes (larger closes the socket with 1009); a \
         <code>games.send</code> payload at most {RELAY_PAYLOAD_BYTES_MAX} bytes; each connection is rate \
         limited (<code>RATE_LIMITED</code>); the server pings and closes idle sockets; a client too slow to read \
         its bounded outbound queue is disconnected. After a reconnect, <code>events.resume</code> \
         {{since_seq}} returns at most {RESUME_EVENTS_MAX} events per answer with <code>more</code> and \
         <code>next_seq</code>, so nothing is missed.</p>\n\
         <p>The admin console socket <code>/admin/ws</code> takes the admin token and adds live stats every \
         second (<code>stats.subscribe</code>), a live event tail (<code>events.tail</code>) and the operator \
         commands; <a href=\"/admin\">/admin</a> is a page on that socket.</p>\n"
    )
}

/// Who receives an event type, from its family (SPEC section 6).
fn event_audience(kind: &str) -> &'static str {
    if kind.starts_with("GAME_") {
        "every member of the game"
    } else if kind.starts_with("LEADERBOARD_") {
        "sockets subscribed to the board (leaderboard.subscribe)"
    } else if kind == "ADMIN_ACTION" {
        "the admin socket only"
    } else if kind == "USER_REGISTERED" || kind == "USER_LOGGED_IN" {
        "the player's own sockets and the admin socket"
    } else {
        "the player's own sockets"
    }
}

fn events_section() -> String {
    let mut out = String::from(
        "<h2 id=\"events\">Events</h2>\n<p>Every state change is a typed event, stored with a global \
         <code>seq</code> in the same transaction as the change and pushed after the commit. The admin socket \
         sees all of them. The data of each type is in <a href=\"/openapi.json\">/openapi.json</a> \
         (<code>components.schemas.Event</code>).</p>\n<table><thead><tr><th>Type</th><th>Pushed to</th>\
         </tr></thead><tbody>\n",
    );
    for kind in EventData::ALL_NAMES {
        out.push_str(&format!(
            "<tr id=\"event-{0}\"><td><code>{0}</code></td><td>{1}</td></tr>\n",
            escape(kind),
            escape(event_audience(kind))
        ));
    }
    out.push_str("</tbody></table>\n");
    out
}

fn slo_section() -> String {
    let mut out = String::from(
        "<h2 id=\"slo\">Service level objectives</h2>\n<p>Each operation takes the objective of its class; \
         the error budget counts server errors (5xx, <code>SERVICE_UNAVAILABLE</code>) only. Live compliance \
         over the last minute is at <a href=\"/slo\">/slo</a>.</p>\n<table><thead><tr><th>Class</th>\
         <th>Objective</th></tr></thead><tbody>\n",
    );
    for (class, slo) in SLO_BY_CLASS {
        out.push_str(&format!("<tr><td>{}</td><td>{}</td></tr>\n", escape(class.as_str()), slo_cell(&slo)));
    }
    out.push_str(&format!(
        "<tr id=\"event-delivery\"><td>event delivery (commit to socket write)</td><td>{}</td></tr>\n",
        slo_cell(&EVENT_DELIVERY_SLO)
    ));
    out.push_str("</tbody></table>\n");
    out
}

fn render_errors_page() -> String {
    let mut out = head("PZO Season 0 API: error codes");
    out.push_str(
        "<h1>Error codes</h1>\n<p><a href=\"/docs\">&larr; API reference</a></p>\n\
         <p>Every failure, over HTTP or a socket, carries the same error object: <code>code</code> (stable, \
         below), <code>message</code> (a sentence for humans; do not parse it), <code>status</code> (the HTTP \
         status), <code>retryable</code>, typed <code>details</code> and a <code>docs</code> link here. A \
         failed operation changes nothing.</p>\n<table><thead><tr><th>Code</th><th>Status</th>\
         <th>Retryable</th><th>Meaning</th><th>What to do</th></tr></thead><tbody>\n",
    );
    for code in ErrorCode::ALL {
        out.push_str(&format!(
            "<tr id=\"{0}\"><td><a href=\"#{0}\"><code>{0}</code></a></td><td>{1}</td><td>{2}</td><td>{3}</td>\
             <td>{4}</td></tr>\n",
            escape(code.as_str()),
            code.status(),
            if code.retryable() { "yes" } else { "no" },
            escape(code.meaning()),
            escape(code.advice()),
        ));
    }
    out.push_str("</tbody></table>\n</body></html>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_markup_and_quotes() {
        assert_eq!(escape(r#"<a href="x">&'</a>"#), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;");
    }

    #[test]
    fn every_operation_has_its_anchor_in_its_service() {
        let page = api_page();
        for op in OPERATIONS {
            assert!(page.contains(&format!("<tr id=\"{}\">", op.docs_anchor)), "no anchor for {}", op.name);
            assert!(SERVICES.contains(&op.service()), "{} is in no section", op.name);
        }
        for kind in EventData::ALL_NAMES {
            assert!(page.contains(&format!("id=\"event-{kind}\"")), "no event {kind}");
        }
        assert!(page.contains("id=\"websocket\""));
        assert!(page.starts_with("<!DOCTYPE html>"));
    }

    #[test]
    fn every_error_code_has_its_anchor_and_advice() {
        let page = errors_page();
        for code in ErrorCode::ALL {
            assert!(page.contains(&format!("<tr id=\"{}\">", code.as_str())), "no anchor for {code:?}");
            assert!(page.contains(&escape(code.advice())));
        }
    }

    #[test]
    fn pages_load_nothing_from_elsewhere() {
        for page in [api_page(), errors_page()] {
            assert!(!page.contains("<script"));
            assert!(!page.contains("src=\""));
            assert!(!page.contains("http://") && !page.contains("https://"));
            assert!(page.matches("<table>").count() == page.matches("</table>").count());
        }
    }
}
