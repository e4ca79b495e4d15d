//! Lays out ts-rs declarations for reading: one field per line, JSDoc on its own lines, long
//! unions one member per line. ts-rs writes each declaration on one line; the types are unchanged.

/// Width past which a one-line union is broken into one member per line.
const UNION_LINE_CHARS_MAX: usize = 100;

/// Formats `/**\n * doc\n */\n` (ts-rs's JSDoc) as a compact block at `indent`.
pub fn doc_block(doc: &str, indent: &str) -> String {
    let body = doc.trim().trim_start_matches("/**").trim_end_matches("*/");
    let lines: Vec<&str> = body
        .lines()
        .map(|line| {
            line.trim().trim_start_matches('*').strip_prefix(' ').unwrap_or(line.trim().trim_start_matches('*'))
        })
        .map(str::trim_end)
        .collect();
    let start = lines.iter().position(|line| !line.is_empty()).unwrap_or(lines.len());
    let end = lines.iter().rposition(|line| !line.is_empty()).map_or(start, |i| i + 1);
    let lines = &lines[start..end];
    match lines {
        [] => String::new(),
        [one] => format!("{indent}/** {one} */\n"),
        many => {
            let mut out = format!("{indent}/**\n");
            for line in many {
                if line.is_empty() {
                    out.push_str(&format!("{indent} *\n"));
                } else {
                    out.push_str(&format!("{indent} * {line}\n"));
                }
            }
            out.push_str(&format!("{indent} */\n"));
            out
        }
    }
}

/// Splits `text` at `separator` where it stands outside brackets, strings and comments.
fn split_top_level<'a>(text: &'a str, separator: &str) -> Vec<&'a str> {
    let bytes = text.as_bytes();
    let (mut depth, mut start, mut i) = (0_i32, 0, 0);
    let mut parts = Vec::new();
    while i < bytes.len() {
        if text[i..].starts_with("/*") {
            i = text[i..].find("*/").map_or(bytes.len(), |end| i + end + 2);
            continue;
        }
        match bytes[i] {
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'{' | b'[' | b'(' | b'<' => depth += 1,
            b'}' | b']' | b')' | b'>' => depth -= 1,
            _ if depth == 0 && text[i..].starts_with(separator) => {
                parts.push(&text[start..i]);
                i += separator.len();
                start = i;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    parts.push(&text[start..]);
    parts
}

/// One object member: its JSDoc (if any) and `name: type`.
fn member(item: &str) -> (Option<&str>, &str) {
    let item = item.trim();
    if item.starts_with("/**") {
        if let Some(end) = item.find("*/") {
            return (Some(&item[..end + 2]), item[end + 2..].trim());
        }
    }
    (None, item)
}

/// Lays out one `type Name = ...;` declaration (without `export `).
pub fn declaration(decl: &str) -> String {
    let decl = decl.trim();
    let Some((head, rhs)) = decl.split_once(" = ") else { return decl.to_owned() };
    let rhs = rhs.strip_suffix(';').unwrap_or(rhs).trim();
    let members = split_top_level(rhs, " | ");
    let one_object = rhs.starts_with('{') && rhs.ends_with('}') && members.len() == 1;
    if one_object && split_top_level(rhs, " & ").len() == 1 {
        let mut out = format!("{head} = {{\n");
        let inner = &rhs[1..rhs.len() - 1];
        for item in split_top_level(inner, ",").into_iter().filter(|item| !item.trim().is_empty()) {
            let (doc, field) = member(item);
            if let Some(doc) = doc {
                out.push_str(&doc_block(doc, "  "));
            }
            out.push_str(&format!("  {field},\n"));
        }
        out.push_str("};");
        return out;
    }
    if members.len() > 1 && head.len() + rhs.len() > UNION_LINE_CHARS_MAX {
        let mut out = format!("{head} =\n");
        for member in members {
            out.push_str(&format!("  | {}\n", member.trim()));
        }
        return out.trim_end().to_owned() + ";";
    }
    format!("{head} = {rhs};")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_get_one_field_per_line_with_their_docs() {
        let decl = "type A = { b: string, \n/**\n * The c.\n */\nc: Array<D> | null, e?: { f: number }, };";
        assert_eq!(
            declaration(decl),
            "type A = {\n  b: string,\n  /** The c. */\n  c: Array<D> | null,\n  e?: { f: number },\n};"
        );
    }

    #[test]
    fn long_unions_get_one_member_per_line_and_short_ones_stay() {
        assert_eq!(declaration("type S = \"a\" | \"b\";"), "type S = \"a\" | \"b\";");
        let long = format!("type L = {};", (0..30).map(|i| format!("\"v{i}\"")).collect::<Vec<_>>().join(" | "));
        let laid = declaration(&long);
        assert!(laid.starts_with("type L =\n  | \"v0\"\n  | \"v1\"\n"), "{laid}");
        assert!(laid.ends_with("  | \"v29\";"));
    }

    #[test]
    fn empty_records_and_docs_are_kept() {
        assert_eq!(declaration("type N = Record<symbol, never>;"), "type N = Record<symbol, never>;");
        assert_eq!(doc_block("/**\n * One line.\n */\n", ""), "/** One line. */\n");
        assert_eq!(doc_block("/**\n * Two\n * lines.\n */\n", ""), "/**\n * Two\n * lines.\n */\n");
    }
}
