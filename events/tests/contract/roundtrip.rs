//! Every event type survives encode → decode unchanged, for arbitrary valid payloads.

use events::{EventType, Subjects, codec};
use proptest::test_runner::{Config, TestRunner};

use crate::strategies::event_of;

#[test]
fn every_event_type_round_trips_through_the_codec() {
    for event_type in EventType::ALL {
        let mut runner = TestRunner::new(Config {
            cases: 256,
            ..Config::default()
        });
        runner
            .run(&event_of(*event_type), |event| {
                let bytes = codec::encode(&event).expect("encode");
                let decoded = codec::decode(event_type.as_str(), &bytes).expect("decode");
                assert_eq!(decoded, event);
                Ok(())
            })
            .unwrap_or_else(|failure| panic!("{event_type}: {failure}"));
    }
}

#[test]
fn every_event_subject_parses_back_to_its_type_and_key() {
    let subjects = Subjects::default();
    for event_type in EventType::ALL {
        let mut runner = TestRunner::new(Config {
            cases: 64,
            ..Config::default()
        });
        runner
            .run(&event_of(*event_type), |event| {
                let subject = subjects.for_event(&event).expect("subject");
                let parsed = subjects.parse(&subject).expect("parse");
                assert_eq!(
                    (parsed.event_type, parsed.key.as_str()),
                    (*event_type, event.key())
                );
                Ok(())
            })
            .unwrap_or_else(|failure| panic!("{event_type}: {failure}"));
    }
}
