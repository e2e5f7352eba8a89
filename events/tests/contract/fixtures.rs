//! Golden fixtures: for every event type, `events/fixtures/<type>.msgpack` holds the encoded
//! sample and `<type>.json` its JSON twin. Encoding the sample must give the fixture's bytes
//! (the wire format did not drift), and decoding the fixture must give the JSON twin.
//!
//! After a deliberate, compatible change, regenerate with
//! `UPDATE_FIXTURES=1 cargo test -p events --test contract fixtures` and review the diff.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use events::{EventType, codec, samples};

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

fn json_twin(event: &events::Event) -> String {
    serde_json::to_string_pretty(event).expect("to json") + "\n"
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|error| {
        panic!(
            "cannot read fixture {}: {error} (run with UPDATE_FIXTURES=1 to create it)",
            path.display()
        )
    })
}

#[test]
fn every_event_type_matches_its_golden_fixture() {
    let update = std::env::var_os("UPDATE_FIXTURES").is_some();
    for event in samples::all() {
        let event_type = event.event_type();
        let msgpack_path = fixture_dir().join(format!("{event_type}.msgpack"));
        let json_path = fixture_dir().join(format!("{event_type}.json"));
        let encoded = codec::encode(&event).expect("encode");
        if update {
            std::fs::write(&msgpack_path, &encoded).expect("write msgpack fixture");
            std::fs::write(&json_path, json_twin(&event)).expect("write json fixture");
        }
        assert_eq!(
            encoded,
            read(&msgpack_path),
            "{event_type}: encoding drifted from the fixture"
        );

        let decoded =
            codec::decode(event_type.as_str(), &read(&msgpack_path)).expect("decode fixture");
        let twin_text = String::from_utf8(read(&json_path)).expect("utf-8 json");
        let twin: serde_json::Value = serde_json::from_str(&twin_text).expect("json twin parses");
        assert_eq!(
            serde_json::to_value(&decoded).expect("to json"),
            twin,
            "{event_type}: fixture != twin"
        );
        let from_twin = event_type
            .deserialize_payload(&mut serde_json::Deserializer::from_str(&twin_text))
            .expect("json twin reads as the payload type");
        assert_eq!(from_twin, decoded, "{event_type}");
    }
}

#[test]
fn there_is_no_stale_fixture() {
    let expected: BTreeSet<String> = EventType::ALL
        .iter()
        .flat_map(|ty| [format!("{ty}.msgpack"), format!("{ty}.json")])
        .collect();
    let present: BTreeSet<String> = std::fs::read_dir(fixture_dir())
        .expect("fixture dir")
        .map(|entry| {
            entry
                .expect("dir entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|name| name.ends_with(".msgpack") || name.ends_with(".json"))
        .collect();
    let stale: Vec<_> = present.difference(&expected).collect();
    assert!(
        stale.is_empty(),
        "fixtures without an event type: {stale:?}"
    );
}
