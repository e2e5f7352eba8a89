//! Human output (aligned tables, money as `12.34 EUR`) and JSON output, both safe to print on
//! a terminal whatever the text in them.
//!
//! Text from events, replies and headers is anyone's: a ticket message holding `ESC ]0;…BEL`
//! would retitle the operator's terminal, `ESC [2J` clear it, a carriage return or backspaces
//! overwrite what was printed before, a right-to-left override reverse it. So every such
//! character is printed escaped ([`escaped`]): in every table cell ([`table`]) and in every
//! line the commands build from such text (they pass it through [`escaped`]). JSON stays exact
//! JSON ([`json`], [`json_line`]): serde escapes the C0 controls; the rest is escaped here as
//! `\uXXXX`, which a JSON reader reads back as the same character.

use std::borrow::Cow;
use std::fmt::Write as _;

use serde::Serialize;

/// Whether a terminal may act on `c` instead of showing it: every C0 control (ESC, BEL, CR,
/// LF, TAB, backspace, …), DEL and every C1 control (U+0080–U+009F, where U+009B is a CSI),
/// the bidi embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069), the bidi marks
/// (U+200E, U+200F, U+061C) and the line and paragraph separators (U+2028, U+2029).
pub(crate) fn needs_escaping(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{202a}'..='\u{202e}'
                | '\u{2066}'..='\u{2069}'
                | '\u{200e}'
                | '\u{200f}'
                | '\u{061c}'
                | '\u{2028}'
                | '\u{2029}'
        )
}

/// `text` with every character a terminal could act on ([`needs_escaping`]) written out:
/// `\n`, `\r` and `\t` for those three, `\u{1b}` (the code point in hex) for the others. A
/// backslash stays as it is, so escaping twice changes nothing, and text that needs nothing
/// is borrowed as it is.
pub(crate) fn escaped(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escaping) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if needs_escaping(c) => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Writes `bytes` to stdout; a reader that closed the pipe early (`| head`) is no error.
pub(crate) fn write_stdout(bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        Err(error) if error.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(anyhow::anyhow!("cannot write to stdout: {error}"))
        }
        _ => Ok(()),
    }
}

/// `--no-headers`: tables print their rows only.
static NO_HEADERS: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Set once from the command line, before anything prints.
pub(crate) fn set_no_headers(no_headers: bool) {
    NO_HEADERS.store(no_headers, std::sync::atomic::Ordering::Relaxed);
}

/// A plain text table: a header row (not with `--no-headers`), then rows, each column as wide as its widest cell and
/// two spaces between columns; no borders, no trailing spaces. Every cell is [`escaped`].
pub(crate) fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let escaped_row = |row: &[String]| -> Vec<String> {
        row.iter().map(|cell| escaped(cell).into_owned()).collect()
    };
    let header: Vec<String> = header.iter().map(|cell| (*cell).to_owned()).collect();
    let mut table = comfy_table::Table::new();
    table.load_style(comfy_table::presets::NOTHING);
    if !NO_HEADERS.load(std::sync::atomic::Ordering::Relaxed) {
        table.set_header(escaped_row(&header));
    }
    table.add_rows(rows.iter().map(|row| escaped_row(row)));
    for column in table.column_iter_mut() {
        column.set_padding((0, 2));
    }
    table.trim_fmt() + "\n"
}

/// `1234` EUR → `12.34 EUR`.
pub(crate) fn money(minor: i64, currency: &str) -> String {
    crate::client::amount::format(minor, currency)
}

/// A broker's time as the wire writes every timestamp: RFC 3339 in UTC with milliseconds
/// (`2025-01-31T09:15:00.250Z`); `None` for the zero time a broker reports for "never" (an
/// empty stream's first and last message) and for anything outside years 0000-9999.
pub(crate) fn rfc3339(at: time::OffsetDateTime) -> Option<String> {
    let millis = i64::try_from(at.unix_timestamp_nanos().div_euclid(1_000_000)).ok()?;
    let at = events::Timestamp::from_unix_millis(millis).ok()?;
    (at > events::Timestamp::from_unix_millis(NEVER_MILLIS).ok()?).then(|| at.to_string())
}

/// 0001-01-01T00:00:00Z, Go's zero time: what JetStream reports for a time that never was.
const NEVER_MILLIS: i64 = -62_135_596_800_000;

/// Pretty JSON of a reply, [terminal-safe](json_escaped).
pub(crate) fn json<T: Serialize>(value: &T) -> String {
    match serde_json::to_string_pretty(value) {
        Ok(text) => json_escaped(&text).into_owned() + "\n",
        Err(error) => format!(
            "{{\"error\": {}}}\n",
            serde_json::Value::from(error.to_string())
        ),
    }
}

/// One-line JSON of a value (`watch --json`), [terminal-safe](json_escaped).
pub(crate) fn json_line<T: Serialize>(value: &T) -> String {
    match serde_json::to_string(value) {
        Ok(text) => json_escaped(&text).into_owned(),
        Err(error) => format!(
            "{{\"error\": {}}}",
            serde_json::Value::from(error.to_string())
        ),
    }
}

/// Serialized JSON with the characters serde leaves raw and a terminal may act on (DEL, the C1
/// controls, the bidi controls, the line separators: [`needs_escaping`] above U+007E) written
/// as `\uXXXX`. serde already escapes the C0 controls inside strings (the line breaks left
/// are the pretty printer's); outside strings JSON text is ASCII punctuation, digits and
/// literals, so these can only be inside strings, where `\uXXXX` is the same character to any
/// JSON reader (all of them are in the Basic Multilingual Plane: one escape each).
fn json_escaped(text: &str) -> Cow<'_, str> {
    let serde_leaves = |c: char| c > '\u{7e}' && needs_escaping(c);
    if !text.chars().any(serde_leaves) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if serde_leaves(c) {
            let _ = write!(out, "\\u{:04x}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// A few words about an event's payload.
pub(crate) fn gist(event: &events::Event) -> String {
    use events::Event::*;
    match event {
        OrderPlaced(e) => format!(
            "{} line(s), {}",
            e.lines.len(),
            money(e.total_minor, &e.currency)
        ),
        PaymentRequested(e) => money(e.amount_minor, &e.currency),
        OrderRejected(e) => events::codec::wire_name(&e.reason),
        OrderCancelled(e) => events::codec::wire_name(&e.reason),
        PaymentDeclined(e) => events::codec::wire_name(&e.reason),
        ReservationRejected(e) => events::codec::wire_name(&e.reason),
        PaymentAuthorized(e) => money(e.amount_minor, &e.currency),
        PaymentCaptured(e) => money(e.amount_minor, &e.currency),
        PaymentVoided(e) => money(e.amount_minor, &e.currency),
        StockReserved(e) => format!("{} line(s)", e.lines.len()),
        Restocked(e) => format!("+{} → {} available", e.quantity_added, e.available),
        ProductAdded(e) => format!("{} {}", e.name, money(e.price_minor, &e.currency)),
        AccountOpened(e) => format!("limit {}", money(e.credit_limit_minor, &e.currency)),
        TicketOpened(e) => e.message.clone(),
        _ => String::new(),
    }
}

/// `<label> 2304/10000 [=====>     ] eta 3s` on stderr, or nothing when stderr is not a
/// terminal (a pipe or a log file gets no control characters).
pub(crate) fn progress_bar(label: &str, total: u64) -> indicatif::ProgressBar {
    use std::io::IsTerminal as _;
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let template = format!("{label} {{pos}}/{{len}} [{{bar:40}}] eta {{eta}}");
    let style = indicatif::ProgressStyle::with_template(&template)
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .progress_chars("=> ");
    indicatif::ProgressBar::new(total).with_style(style)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_columns() {
        let rendered = table(
            &["SKU", "PRICE"],
            &[
                vec!["TEA".into(), "8.99 EUR".into()],
                vec!["KETTLE-1L".into(), "39.99 EUR".into()],
            ],
        );
        assert_eq!(
            rendered,
            "SKU        PRICE\nTEA        8.99 EUR\nKETTLE-1L  39.99 EUR\n"
        );
    }

    #[test]
    fn tables_keep_empty_cells_and_print_a_header_without_rows() {
        assert_eq!(table(&["SKU", "PRICE"], &[]), "SKU  PRICE\n");
        let rendered = table(
            &["ID", "NOTE", ""],
            &[vec!["1".into(), "".into(), "STALLED".into()]],
        );
        assert_eq!(rendered, "ID  NOTE\n1         STALLED\n");
    }

    /// Every character a terminal acts on that the escaping must catch, spelled out.
    const HOSTILE: &str = "a\x1b]0;pwned\x07b\x1b[2Jc\rd\x08e\x00f\x7fg\u{85}h\u{9b}31m\
                           \u{202a}\u{202b}\u{202c}\u{202d}\u{202e}\u{2066}\u{2067}\u{2068}\u{2069}\
                           \u{200e}\u{200f}\u{61c}\u{2028}\u{2029}\n\tz";

    #[test]
    fn escaped_writes_out_what_a_terminal_would_act_on() {
        assert_eq!(
            escaped(HOSTILE),
            "a\\u{1b}]0;pwned\\u{7}b\\u{1b}[2Jc\\rd\\u{8}e\\u{0}f\\u{7f}g\\u{85}h\\u{9b}31m\
             \\u{202a}\\u{202b}\\u{202c}\\u{202d}\\u{202e}\\u{2066}\\u{2067}\\u{2068}\\u{2069}\
             \\u{200e}\\u{200f}\\u{61c}\\u{2028}\\u{2029}\\n\\tz"
        );
    }

    #[test]
    fn escaped_leaves_printable_text_as_it_is() {
        for text in [
            "",
            "Tea, 8.99 €",
            "Grüner Tee 緑茶 שלום",
            r"C:\temp\u{1b}",
            "zero\u{200b}width",
        ] {
            assert!(
                matches!(escaped(text), Cow::Borrowed(t) if t == text),
                "{text:?}"
            );
        }
    }

    #[test]
    fn every_character_comes_out_printable_and_escaping_twice_changes_nothing() {
        for c in (0..=u32::from(char::MAX)).filter_map(char::from_u32) {
            let text = format!("x{c}y");
            let once = escaped(&text);
            assert!(!once.chars().any(needs_escaping), "{c:?} gave {once:?}");
            assert_eq!(escaped(&once), once, "{c:?}");
            if !needs_escaping(c) {
                assert_eq!(once, text, "{c:?} needs no escaping");
            }
        }
        let once = escaped(HOSTILE);
        assert_eq!(escaped(&once), once);
    }

    #[test]
    fn the_documented_characters_are_escaped() {
        let c0 = ('\0'..='\u{1f}').chain(['\u{7f}']);
        let c1 = '\u{80}'..='\u{9f}';
        let bidi = ('\u{202a}'..='\u{202e}').chain('\u{2066}'..='\u{2069}');
        let marks = ['\u{200e}', '\u{200f}', '\u{61c}', '\u{2028}', '\u{2029}'];
        for c in c0.chain(c1).chain(bidi).chain(marks) {
            assert!(needs_escaping(c), "{c:?}");
        }
        for c in [
            ' ', '~', '\u{a0}', 'é', '€', '\u{200b}', '\u{2065}', '\u{202f}',
        ] {
            assert!(!needs_escaping(c), "{c:?}");
        }
    }

    #[test]
    fn table_cells_are_escaped() {
        let rendered = table(
            &["ID", "MESSAGE"],
            &[vec!["t-1".into(), "hi\x1b[2J\rthere\u{202e}".into()]],
        );
        assert_eq!(
            rendered,
            "ID   MESSAGE\nt-1  hi\\u{1b}[2J\\rthere\\u{202e}\n"
        );
    }

    #[test]
    fn json_stays_exact_and_prints_nothing_a_terminal_acts_on() {
        let value = serde_json::json!({ "message": HOSTILE, HOSTILE: [HOSTILE] });
        let pretty = json(&value);
        let line = json_line(&value);
        assert!(!line.chars().any(needs_escaping), "{line}");
        assert!(
            !pretty.chars().any(|c| c != '\n' && needs_escaping(c)),
            "{pretty}"
        );
        for text in [&pretty, &line] {
            let back: serde_json::Value = serde_json::from_str(text).expect("valid JSON");
            assert_eq!(back, value);
        }
        assert!(
            line.contains(r"\u202e") && line.contains(r"\u001b"),
            "{line}"
        );
    }

    #[test]
    fn broker_times_are_rfc3339_utc_and_the_zero_time_is_none() {
        let at = |nanos: i128| time::OffsetDateTime::from_unix_timestamp_nanos(nanos).unwrap();
        let plus_one_hour = time::UtcOffset::from_hms(1, 0, 0).unwrap();
        let quarter_past = at(1_738_314_900_250_000_000).to_offset(plus_one_hour);
        assert_eq!(
            rfc3339(quarter_past).as_deref(),
            Some("2025-01-31T09:15:00.250Z")
        );
        assert_eq!(rfc3339(at(i128::from(NEVER_MILLIS) * 1_000_000)), None);
        assert_eq!(
            rfc3339(time::OffsetDateTime::UNIX_EPOCH).as_deref(),
            Some("1970-01-01T00:00:00.000Z")
        );
    }

    #[test]
    fn money_has_two_decimals() {
        assert_eq!(money(899, "EUR"), "8.99 EUR");
        assert_eq!(money(5, "EUR"), "0.05 EUR");
        assert_eq!(money(-150, "EUR"), "-1.50 EUR");
    }
}
