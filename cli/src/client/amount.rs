//! Amounts as people type them: `8.99` in the currency's major unit (EUR has 2 decimals, JPY
//! none, KWD 3), turned into the minor units the API takes; the `*-minor` flags take those
//! directly, for scripts.

/// Decimals of an ISO 4217 currency's minor unit (2 unless the standard says otherwise).
pub(crate) fn decimals(currency: &str) -> u32 {
    match currency {
        "BIF" | "CLP" | "DJF" | "GNF" | "ISK" | "JPY" | "KMF" | "KRW" | "PYG" | "RWF" | "UGX"
        | "UYI" | "VND" | "VUV" | "XAF" | "XOF" | "XPF" => 0,
        "BHD" | "IQD" | "JOD" | "KWD" | "LYD" | "OMR" | "TND" => 3,
        _ => 2,
    }
}

/// `text` (`8.99`, `-5`, `50000.00`) in `currency`'s major unit, as minor units.
pub(crate) fn parse(text: &str, currency: &str) -> anyhow::Result<i64> {
    let places = decimals(currency);
    let invalid = || {
        anyhow::anyhow!(
            "{text:?} is not an amount in {currency} (e.g. {}; or give the minor units with the \
             -minor flag)",
            example(places)
        )
    };
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    let all_digits = |part: &str| part.chars().all(|c| c.is_ascii_digit());
    if whole.is_empty() || !all_digits(whole) || !all_digits(fraction) {
        return Err(invalid());
    }
    anyhow::ensure!(
        fraction.len() <= places as usize,
        "{text:?} has more decimals than {currency}'s {places}"
    );
    let scale = 10i64.pow(places);
    let padded = format!("{fraction:0<width$}", width = places as usize);
    let minor = whole
        .parse::<i64>()
        .ok()
        .and_then(|whole| whole.checked_mul(scale))
        .and_then(|whole| whole.checked_add(padded.parse::<i64>().unwrap_or(0)))
        .ok_or_else(|| anyhow::anyhow!("{text:?} is too large"))?;
    Ok(if negative { -minor } else { minor })
}

/// The amount from a major-unit flag or its `-minor` twin (clap makes them exclusive).
pub(crate) fn either(
    major: Option<&str>,
    minor: Option<i64>,
    currency: &str,
) -> anyhow::Result<Option<i64>> {
    match (major, minor) {
        (Some(text), _) => parse(text, currency).map(Some),
        (None, minor) => Ok(minor),
    }
}

/// `minor` in `currency`'s major unit: `8.99 EUR`, `1200 JPY`.
pub(crate) fn format(minor: i64, currency: &str) -> String {
    let places = decimals(currency);
    let sign = if minor < 0 { "-" } else { "" };
    let minor = minor.unsigned_abs();
    if places == 0 {
        return format!("{sign}{minor} {currency}");
    }
    let scale = 10u64.pow(places);
    format!(
        "{sign}{}.{:0width$} {currency}",
        minor / scale,
        minor % scale,
        width = places as usize
    )
}

fn example(places: u32) -> &'static str {
    match places {
        0 => "1200",
        3 => "8.990",
        _ => "8.99",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn major_units_become_minor_units_with_the_currency_s_decimals() {
        assert_eq!(parse("8.99", "EUR").unwrap(), 899);
        assert_eq!(parse("8.9", "EUR").unwrap(), 890);
        assert_eq!(parse("50000.00", "EUR").unwrap(), 5_000_000);
        assert_eq!(parse("100", "EUR").unwrap(), 10_000);
        assert_eq!(parse("-5", "EUR").unwrap(), -500);
        assert_eq!(parse("1200", "JPY").unwrap(), 1200);
        assert_eq!(parse("1.5", "KWD").unwrap(), 1500);
        for bad in ["", "8,99", "abc", "1e3", ".5", "8.99.1", "--5"] {
            assert!(parse(bad, "EUR").is_err(), "{bad:?}");
        }
        let error = parse("8.999", "EUR").unwrap_err().to_string();
        assert_eq!(error, "\"8.999\" has more decimals than EUR's 2");
        assert!(parse("1.5", "JPY").is_err());
        assert!(parse("99999999999999999999", "EUR").is_err());
    }

    #[test]
    fn formatting_round_trips() {
        for (minor, currency) in [
            (899, "EUR"),
            (-500, "EUR"),
            (1200, "JPY"),
            (1500, "KWD"),
            (5, "EUR"),
        ] {
            let shown = format(minor, currency);
            let (number, code) = shown.split_once(' ').unwrap();
            assert_eq!(code, currency);
            assert_eq!(parse(number, currency).unwrap(), minor, "{shown}");
        }
        assert_eq!(format(5, "EUR"), "0.05 EUR");
    }
}
