//! The hostile bodies of the sweep, made from an endpoint's valid request: whole bodies that
//! must be refused, odd ones that may pass, and the valid request with each field in turn given
//! hostile values (strings, numbers, the wrong type).

use runtime::api::MAX_REQUEST_BYTES;
use serde_json::{Value, json};

/// Bodies no endpoint may accept (all but `status`, which reads nothing): not a JSON object,
/// or too large.
pub(super) fn refused_bodies(valid: &Value) -> Vec<(String, Vec<u8>)> {
    let deep_arrays = format!("{}{}", "[".repeat(20_000), "]".repeat(20_000));
    let mut bodies: Vec<(String, Vec<u8>)> = [
        ("whitespace", b"  \r\n\t ".to_vec()),
        ("not json", b"not json".to_vec()),
        ("not utf-8", b"\xff\xfe{\"a\":\xc3}".to_vec()),
        ("truncated", b"{\"sku\": \"TE".to_vec()),
        ("raw nul", b"{\"sku\": \"a\x00b\"}".to_vec()),
        ("byte order mark", b"\xef\xbb\xbf{}".to_vec()),
        ("array", b"[1, 2, 3]".to_vec()),
        ("string", b"\"TEA\"".to_vec()),
        ("number", b"42".to_vec()),
        ("null", b"null".to_vec()),
        ("true", b"true".to_vec()),
        ("deep arrays", deep_arrays.into_bytes()),
    ]
    .into_iter()
    .map(|(label, body)| (label.to_owned(), body))
    .collect();
    if let Value::Object(map) = valid {
        // serde reads a struct from an array of its fields in order too: not the contract
        let positional: Vec<&Value> = map.values().collect();
        let positional = serde_json::to_vec(&positional).expect("json");
        bodies.push(("the valid fields as an array".into(), positional));
    }
    bodies.push((
        "just over the size limit".into(),
        padded(valid, MAX_REQUEST_BYTES + 1),
    ));
    bodies.push((
        "near the broker's max_payload".into(),
        padded(valid, 1_000_000),
    ));
    bodies
}

/// `valid` with a `padding` field that makes it `size` bytes long.
fn padded(valid: &Value, size: usize) -> Vec<u8> {
    let mut body = valid.clone();
    body["padding"] = json!("");
    let unpadded = serde_json::to_vec(&body).expect("json").len();
    body["padding"] = json!("p".repeat(size.saturating_sub(unpadded)));
    let body = serde_json::to_vec(&body).expect("json");
    assert_eq!(body.len(), size);
    body
}

/// Odd bodies an endpoint may accept or refuse: empty, unknown fields (ignored, deeply
/// nested or by the thousand), duplicate keys, every field null, just under the size limit.
pub(super) fn odd_bodies(valid: &Value) -> Vec<(String, Vec<u8>)> {
    let json = |value: &Value| serde_json::to_vec(value).expect("json");
    let mut unknown = valid.clone();
    unknown["unknown_field"] = json!({"nested": [1, 2, 3]});
    unknown["__proto__"] = json!(null);
    let nulls = match valid {
        Value::Object(map) => Value::Object(map.keys().map(|k| (k.clone(), Value::Null)).collect()),
        other => other.clone(),
    };
    let many_keys: serde_json::Map<String, Value> =
        (0..5_000).map(|n| (format!("k{n}"), json!(n))).collect();
    let deep_objects = format!("{}1{}", r#"{"a":"#.repeat(10_000), "}".repeat(10_000));
    let deep = (MAX_REQUEST_BYTES - 16) / 2;
    let deep_ignored = format!(r#"{{"x":{}{}}}"#, "[".repeat(deep), "]".repeat(deep));
    let duplicates = br#"{"sku": "TEA", "sku": "MUG", "order_id": "a", "order_id": "b"}"#;
    let mut bodies = vec![
        ("empty".to_owned(), Vec::new()),
        ("valid".into(), json(valid)),
        ("unknown fields".into(), json(&unknown)),
        ("every field null".into(), json(&nulls)),
        ("5,000 unknown keys".into(), json(&Value::Object(many_keys))),
        ("deep objects".into(), deep_objects.into_bytes()),
        (
            "deep arrays in an unknown field".into(),
            deep_ignored.into_bytes(),
        ),
        ("duplicate keys".into(), duplicates.to_vec()),
        (
            "just under the size limit".into(),
            padded(valid, MAX_REQUEST_BYTES - 16),
        ),
    ];
    if let Some(items) = valid.get("items").and_then(Value::as_array) {
        for count in [0, 1_000] {
            let mut body = valid.clone();
            body["items"] = json!(vec![items[0].clone(); count]);
            bodies.push((format!("{count} items"), json(&body)));
        }
    }
    bodies
}

/// Hostile values for a field that holds a string (or is absent: null).
fn hostile_strings(room: usize) -> Vec<(String, Value)> {
    let mut values: Vec<(String, Value)> = [
        ("empty", ""),
        ("a space", "a b"),
        ("only a space", " "),
        ("CR", "a\rb"),
        ("LF", "a\nb"),
        ("CRLF", "a\r\nNats-Service-Error-Code: 200"),
        ("NUL", "a\u{0}b"),
        ("tab", "a\tb"),
        ("DEL", "a\u{7f}b"),
        ("*", "*"),
        (">", ">"),
        ("a dot", "a.b"),
        ("a lone dot", "."),
        ("a subject", "$JS.API.STREAM.DELETE.TEST_ORDERS"),
        ("non-ASCII", "thé"),
        ("right-to-left override", "\u{202e}abc"),
    ]
    .into_iter()
    .map(|(label, value)| (label.to_owned(), json!(value)))
    .collect();
    for length in [128, 129, 4096] {
        values.push((format!("{length} characters"), json!("x".repeat(length))));
    }
    values.push((
        "a string near the size limit".into(),
        json!("y".repeat(room)),
    ));
    values.push((
        "a string over the size limit".into(),
        json!("z".repeat(room + 100)),
    ));
    values
}

/// Hostile values for a field that holds a number.
fn hostile_numbers() -> Vec<(String, Value)> {
    let raw = [
        "-1",
        "0",
        "2147483648",
        "9007199254740993",
        "9223372036854775807",
        "9223372036854775808",
        "-9223372036854775808",
        "-9223372036854775809",
        "18446744073709551616",
        "1.5",
        "-0.0",
        "1e300",
        "\"1\"",
    ];
    raw.iter()
        .map(|text| {
            (
                format!("number {text}"),
                serde_json::from_str(text).expect("json"),
            )
        })
        .collect()
}

/// Values of the wrong type for any field.
fn wrong_types(value: &Value) -> Vec<(String, Value)> {
    vec![
        ("null".into(), Value::Null),
        ("true".into(), json!(true)),
        ("an array".into(), json!([value.clone()])),
        ("an object".into(), json!({"value": value.clone()})),
    ]
}

/// Every field of `value` below the top, as a JSON pointer, and whether it is a leaf (a
/// string, number or null) rather than an object or an array.
fn fields(value: &Value, pointer: String, out: &mut Vec<(String, bool)>) {
    let inner: Vec<(String, &Value)> = match value {
        Value::Object(map) => map.iter().map(|(key, v)| (key.clone(), v)).collect(),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, v)| (i.to_string(), v))
            .collect(),
        _ => return out.push((pointer, true)),
    };
    if !pointer.is_empty() {
        out.push((pointer.clone(), false));
    }
    for (key, value) in inner {
        fields(value, format!("{pointer}/{key}"), out);
    }
}

/// The valid request with each of its fields made hostile in turn; `created` (a pointer) is
/// given a new id in each.
pub(super) fn hostile_fields(valid: &Value, created: Option<&str>) -> Vec<(String, Vec<u8>)> {
    let mut pointers = Vec::new();
    fields(valid, String::new(), &mut pointers);
    let room = MAX_REQUEST_BYTES - valid.to_string().len() - 64;
    let mut bodies = Vec::new();
    for (pointer, leaf) in pointers {
        let current = valid.pointer(&pointer).cloned().unwrap_or_default();
        let mut values = match &current {
            _ if !leaf => vec![
                ("a string".into(), json!("TEA")),
                ("a number".into(), json!(1)),
            ],
            Value::Number(_) => hostile_numbers(),
            _ => hostile_strings(room),
        };
        values.extend(wrong_types(&current));
        for (label, value) in values {
            let mut body = valid.clone();
            let created = created.filter(|id| *id != pointer);
            if let Some(slot) = created.and_then(|id| body.pointer_mut(id)) {
                *slot = json!(format!("H{}", bodies.len()));
            }
            if let Some(slot) = body.pointer_mut(&pointer) {
                *slot = value;
            }
            let body = serde_json::to_vec(&body).expect("json");
            bodies.push((format!("{pointer} = {label}"), body));
        }
    }
    bodies
}
