//! Event ids: UUIDv7 (time-ordered, so a stream's ids sort by time), from a fast per-thread
//! generator seeded from the OS, also used for trace span ids.

/// A fresh, time-ordered event id (UUIDv7 in its hyphenated text form).
///
/// The 74 random bits come from a per-thread generator seeded once from the operating system,
/// not from a system call per id: ids are minted for every event in the hot path.
pub fn new_event_id() -> String {
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_millis() as u64)
        .unwrap_or(0);
    let mut random = [0u8; 10];
    random.copy_from_slice(&random_bytes::<16>()[..10]);
    uuid::Builder::from_unix_timestamp_millis(millis, &random)
        .into_uuid()
        .to_string()
}

/// Random bytes from a per-thread xoshiro256** generator seeded from the OS.
pub(crate) fn random_bytes<const N: usize>() -> [u8; N] {
    use std::cell::Cell;
    thread_local! {
        static STATE: Cell<[u64; 4]> = Cell::new({
            let a = uuid::Uuid::new_v4().as_u64_pair();
            let b = uuid::Uuid::new_v4().as_u64_pair();
            [a.0 | 1, a.1, b.0, b.1]
        });
    }
    let mut out = [0u8; N];
    STATE.with(|state| {
        let mut s = state.get();
        for chunk in out.chunks_mut(8) {
            let result = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
            let t = s[1] << 17;
            s[2] ^= s[0];
            s[3] ^= s[1];
            s[1] ^= s[2];
            s[0] ^= s[3];
            s[2] ^= t;
            s[3] = s[3].rotate_left(45);
            chunk.copy_from_slice(&result.to_le_bytes()[..chunk.len()]);
        }
        state.set(s);
    });
    out
}
