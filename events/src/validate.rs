//! Field rules every payload must satisfy before a consumer sees it.
//!
//! Decoding checks the shape (field names and types); these rules check the values: ids are
//! usable as subject tokens, money is never negative and has an ISO 4217 code, quantities are
//! positive. A message that breaks them is *invalid* and goes to the dead-letter stream.

/// A value that breaks a contract rule; the message names the field and the rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {rule}")]
pub struct InvalidField {
    pub field: &'static str,
    pub rule: &'static str,
}

/// Implemented by every payload; `decode` calls it after the shape has been read.
pub trait Validate {
    fn validate(&self) -> Result<(), InvalidField>;
}

/// The longest id the contract accepts, in bytes.
pub const MAX_ID_LEN: usize = 128;

fn invalid(field: &'static str, rule: &'static str) -> Result<(), InvalidField> {
    Err(InvalidField { field, rule })
}

/// Whether `token` can stand as one token of a NATS subject: non-empty, at most
/// [`MAX_ID_LEN`] bytes, printable ASCII without `.`, `*`, `>` or whitespace.
pub fn is_subject_token(token: &str) -> bool {
    !token.is_empty()
        && token.len() <= MAX_ID_LEN
        && token
            .bytes()
            .all(|b| b.is_ascii_graphic() && !matches!(b, b'.' | b'*' | b'>'))
}

/// An id (order, customer, sku, ticket, ...): it ends up as a subject token.
pub fn id(field: &'static str, value: &str) -> Result<(), InvalidField> {
    if is_subject_token(value) {
        Ok(())
    } else {
        invalid(
            field,
            "must be 1-128 printable ASCII characters without '.', '*', '>' or spaces",
        )
    }
}

/// An id derived from another (`auth-<order id>`, `ship-<order id>`, `tick-<order id>`) that
/// is a valid id for every valid `key`: `prefix` + `key` when that fits in [`MAX_ID_LEN`];
/// otherwise `prefix`, the start of `key`, `~` and a 16-hex-digit FNV-1a hash of the whole
/// `key`, exactly [`MAX_ID_LEN`] bytes. The same key always gives the same id.
pub fn derived_id(prefix: &str, key: &str) -> String {
    if prefix.len() + key.len() <= MAX_ID_LEN {
        return format!("{prefix}{key}");
    }
    let hash = key.bytes().fold(0xcbf2_9ce4_8422_2325u64, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    });
    let keep = MAX_ID_LEN.saturating_sub(prefix.len() + 17);
    // ids are ASCII (subject tokens), so any byte offset is a char boundary; be safe anyway
    let mut cut = keep.min(key.len());
    while !key.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{prefix}{}~{hash:016x}", &key[..cut])
}

/// An ISO 4217 currency code: three upper-case ASCII letters.
pub fn currency(field: &'static str, value: &str) -> Result<(), InvalidField> {
    if value.len() == 3 && value.bytes().all(|b| b.is_ascii_uppercase()) {
        Ok(())
    } else {
        invalid(field, "must be a three-letter upper-case ISO 4217 code")
    }
}

/// The largest amount in minor units: 2^53 - 1, so JavaScript numbers hold every amount exactly.
pub const MAX_AMOUNT_MINOR: i64 = (1 << 53) - 1;

/// An amount in minor units: from 0 to [`MAX_AMOUNT_MINOR`].
pub fn amount(field: &'static str, value: i64) -> Result<(), InvalidField> {
    if (0..=MAX_AMOUNT_MINOR).contains(&value) {
        Ok(())
    } else {
        invalid(field, "must be between 0 and 2^53 - 1")
    }
}

/// A quantity of items: one or more.
pub fn quantity(field: &'static str, value: u32) -> Result<(), InvalidField> {
    if value >= 1 {
        Ok(())
    } else {
        invalid(field, "must be at least 1")
    }
}

/// A list that must hold at least one entry, each of them valid.
pub fn non_empty<T: Validate>(field: &'static str, items: &[T]) -> Result<(), InvalidField> {
    if items.is_empty() {
        return invalid(field, "must hold at least one entry");
    }
    items.iter().try_for_each(Validate::validate)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_ids_fit_for_every_valid_key() {
        assert_eq!(derived_id("auth-", "o1"), "auth-o1");
        let longest = "k".repeat(MAX_ID_LEN);
        for prefix in ["auth-", "ship-", "tick-"] {
            let id = derived_id(prefix, &longest);
            assert!(is_subject_token(&id), "{id}");
            assert_eq!(id.len(), MAX_ID_LEN);
            assert_eq!(id, derived_id(prefix, &longest), "stable");
        }
        let other = format!("{}x", "k".repeat(MAX_ID_LEN - 1));
        assert_ne!(derived_id("auth-", &longest), derived_id("auth-", &other));
    }

    proptest::proptest! {
        #[test]
        fn a_derived_id_is_a_valid_id(key in "[!-~&&[^.*>]]{1,128}") {
            proptest::prop_assert!(is_subject_token(&key));
            for prefix in ["auth-", "ship-", "tick-"] {
                let id = derived_id(prefix, &key);
                proptest::prop_assert!(is_subject_token(&id), "{}", id);
                proptest::prop_assert!(id.starts_with(prefix));
            }
        }
    }

    #[test]
    fn subject_tokens() {
        assert!(is_subject_token("SKU-1_a"));
        assert!(is_subject_token("0198a3c4-7b7e-7cc2-9d8e-3f0c6a1b2c3d"));
        for bad in ["", "a.b", "a*", ">", "a b", "tab\t", "é"] {
            assert!(!is_subject_token(bad), "{bad:?}");
        }
        assert!(!is_subject_token(&"x".repeat(MAX_ID_LEN + 1)));
    }

    #[test]
    fn field_rules() {
        assert!(currency("currency", "EUR").is_ok());
        assert!(currency("currency", "eur").is_err());
        assert!(currency("currency", "EURO").is_err());
        assert!(amount("total_minor", 0).is_ok());
        assert!(amount("total_minor", -1).is_err());
        assert!(amount("total_minor", MAX_AMOUNT_MINOR).is_ok());
        assert!(amount("total_minor", MAX_AMOUNT_MINOR + 1).is_err());
        assert!(quantity("quantity", 0).is_err());
        let error = id("order_id", "").unwrap_err();
        assert_eq!(error.field, "order_id");
    }
}
