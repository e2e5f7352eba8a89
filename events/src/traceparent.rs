//! W3C trace context: the `traceparent` header every event carries, so one order's trace runs
//! through every service it touches.

use std::fmt;
use std::str::FromStr;

use crate::ids::random_bytes;

/// A W3C `traceparent` (version 00): `00-<trace id>-<parent span id>-<flags>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TraceParent {
    pub trace_id: [u8; 16],
    pub span_id: [u8; 8],
    pub flags: u8,
}

/// Why a `traceparent` value was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a W3C traceparent (00-<32 hex>-<16 hex>-<2 hex>, ids not all zero)")]
pub struct TraceParentError;

impl TraceParent {
    /// Starts a new trace, sampled.
    pub fn new_root() -> Self {
        let mut trace_id = random_bytes::<16>();
        trace_id[0] |= 1; // never all zero
        TraceParent {
            trace_id,
            span_id: random_span_id(),
            flags: 0x01,
        }
    }

    /// A new span in the same trace, whose parent is this one.
    pub fn child(&self) -> Self {
        TraceParent {
            span_id: random_span_id(),
            ..*self
        }
    }

    /// The trace id as 32 lower-case hex digits (what log search and trace UIs show).
    pub fn trace_id_hex(&self) -> String {
        hex(&self.trace_id)
    }
}

fn random_span_id() -> [u8; 8] {
    let mut span = random_bytes::<8>();
    span[0] |= 1; // never all zero
    span
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn unhex<const N: usize>(text: &str) -> Result<[u8; N], TraceParentError> {
    let lower = text
        .bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if text.len() != N * 2 || !lower {
        return Err(TraceParentError);
    }
    let mut out = [0u8; N];
    for (index, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[index * 2..index * 2 + 2], 16)
            .map_err(|_| TraceParentError)?;
    }
    Ok(out)
}

impl fmt::Display for TraceParent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "00-{}-{}-{:02x}",
            hex(&self.trace_id),
            hex(&self.span_id),
            self.flags
        )
    }
}

impl FromStr for TraceParent {
    type Err = TraceParentError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let parts: Vec<&str> = text.split('-').collect();
        let ["00", trace_id, span_id, flags] = parts[..] else {
            return Err(TraceParentError);
        };
        let parsed = TraceParent {
            trace_id: unhex::<16>(trace_id)?,
            span_id: unhex::<8>(span_id)?,
            flags: unhex::<1>(flags)?[0],
        };
        if parsed.trace_id == [0; 16] || parsed.span_id == [0; 8] {
            return Err(TraceParentError);
        }
        Ok(parsed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traceparent_parses_formats_and_propagates() {
        let text = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let parent: TraceParent = text.parse().unwrap();
        assert_eq!(parent.to_string(), text);
        let child = parent.child();
        assert_eq!(child.trace_id, parent.trace_id);
        assert_ne!(child.span_id, parent.span_id);
        for bad in [
            "",
            "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
        ] {
            assert!(bad.parse::<TraceParent>().is_err(), "{bad:?}");
        }
    }
}
