//! Human output (aligned tables, money as `12.34 EUR`) and JSON output.

use serde::Serialize;

/// A plain text table: a header row, then rows, each column as wide as its widest cell and
/// two spaces between columns; no borders, no trailing spaces.
pub(crate) fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut table = comfy_table::Table::new();
    table
        .load_style(comfy_table::presets::NOTHING)
        .set_header(header.to_vec())
        .add_rows(rows.iter().cloned());
    for column in table.column_iter_mut() {
        column.set_padding((0, 2));
    }
    table.trim_fmt() + "\n"
}

/// `1234` EUR → `12.34 EUR`.
pub(crate) fn money(minor: i64, currency: &str) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    let minor = minor.unsigned_abs();
    format!("{sign}{}.{:02} {currency}", minor / 100, minor % 100)
}

/// Pretty JSON of a reply.
pub(crate) fn json<T: Serialize>(value: &T) -> String {
    serde_json::to_string_pretty(value)
        .unwrap_or_else(|error| format!("{{\"error\": \"{error}\"}}"))
        + "\n"
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

    #[test]
    fn money_has_two_decimals() {
        assert_eq!(money(899, "EUR"), "8.99 EUR");
        assert_eq!(money(5, "EUR"), "0.05 EUR");
        assert_eq!(money(-150, "EUR"), "-1.50 EUR");
    }
}
