//! The decoder never panics: random bytes, truncations and mutations of real payloads, huge
//! declared lengths and oversized payloads all come back as a `DecodeError`.

use std::panic::{AssertUnwindSafe, catch_unwind};

use events::{DecodeError, EventType, codec, samples};

/// A small deterministic generator (xorshift64*), so a failure reproduces exactly.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound as u64) as usize
    }
}

/// MessagePack markers that announce large or nested values: the interesting bytes to splice in.
const MARKERS: [u8; 14] = [
    0xc4, 0xc5, 0xc6, 0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf, 0xc1, 0xcf, 0xd3, 0xcb,
];

fn mutate(rng: &mut Rng, original: &[u8]) -> Vec<u8> {
    let mut bytes = original.to_vec();
    match rng.below(6) {
        0 => bytes.truncate(rng.below(original.len())),
        1 => {
            for _ in 0..=rng.below(4) {
                let at = rng.below(bytes.len());
                bytes[at] ^= 1 << rng.below(8);
            }
        }
        2 => {
            let at = rng.below(bytes.len());
            bytes[at] = MARKERS[rng.below(MARKERS.len())];
        }
        3 => {
            let at = rng.below(bytes.len() + 1);
            let extra: Vec<u8> = (0..=rng.below(8)).map(|_| rng.next() as u8).collect();
            bytes.splice(at..at, extra);
        }
        4 => {
            let at = rng.below(bytes.len());
            let marker = MARKERS[rng.below(MARKERS.len())];
            bytes.splice(at..at, [marker, 0xff, 0xff, 0xff, 0xff]);
        }
        _ => {
            let from = rng.below(bytes.len());
            let to = from + rng.below(bytes.len() - from);
            bytes.drain(from..to);
        }
    }
    bytes
}

fn decode_without_panic(event_type: EventType, bytes: &[u8]) -> Result<(), DecodeError> {
    catch_unwind(AssertUnwindSafe(|| {
        codec::decode(event_type.as_str(), bytes).map(drop)
    }))
    .unwrap_or_else(|_| panic!("decoder panicked on {event_type} input {bytes:02x?}"))
}

#[test]
fn a_hundred_thousand_random_and_mutated_inputs_never_panic() {
    let mut rng = Rng(0x5eed_cafe_f00d_d00d);
    let originals: Vec<(EventType, Vec<u8>)> = samples::all()
        .iter()
        .map(|event| (event.event_type(), codec::encode(event).expect("encode")))
        .collect();
    let (mut attempts, mut rejected) = (0usize, 0usize);
    for round in 0..110_000 {
        let (event_type, original) = &originals[rng.below(originals.len())];
        let input = if round % 3 == 0 {
            (0..rng.below(300)).map(|_| rng.next() as u8).collect()
        } else {
            mutate(&mut rng, original)
        };
        // half the time decode as the matching type, else as any type
        let as_type = if rng.below(2) == 0 {
            *event_type
        } else {
            EventType::ALL[rng.below(EventType::ALL.len())]
        };
        attempts += 1;
        rejected += usize::from(decode_without_panic(as_type, &input).is_err());
    }
    assert!(attempts >= 100_000);
    assert!(
        rejected > attempts / 2,
        "only {rejected} of {attempts} inputs were rejected"
    );
}

#[test]
fn huge_declared_lengths_are_rejected_without_allocating_them() {
    // array32 / map32 / str32 / bin32 announcing four billion entries, then nothing
    for marker in [0xdd, 0xdf, 0xdb, 0xc6] {
        let input = [
            0x85, 0xa8, b'o', b'r', b'd', b'e', b'r', b'_', b'i', b'd', marker, 0xff, 0xff, 0xff,
            0xff,
        ];
        assert!(decode_without_panic(EventType::OrderPlaced, &input).is_err());
    }
    // deeply nested arrays inside an ignored field
    let mut nested = vec![0x81, 0xa3, b'z', b'z', b'z'];
    nested.extend(std::iter::repeat_n(0x91, 100_000));
    nested.push(0xc0);
    assert!(decode_without_panic(EventType::OrderCompleted, &nested).is_err());
}

#[test]
fn payloads_over_the_limit_are_rejected_before_decoding() {
    let two_mib = vec![0u8; 2 * 1024 * 1024];
    assert_eq!(
        codec::decode("orders.placed", &two_mib),
        Err(DecodeError::TooLarge {
            size: 2 * 1024 * 1024,
            limit: codec::DEFAULT_MAX_PAYLOAD_BYTES
        })
    );
    let bytes = codec::encode(&samples::order_placed()).expect("encode");
    assert!(codec::decode_with_limit("orders.placed", &bytes, bytes.len()).is_ok());
    assert!(codec::decode_with_limit("orders.placed", &bytes, bytes.len() - 1).is_err());
}
