//! The test kit reads a stream as the operator commands do: past messages async-nats cannot
//! read, instead of stalling the test that looks at it.

use events::EventType;
use testkit::TestBed;
use testkit::raw::{self, publish_raw};
use testkit::streams::read_stream;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_with_unreadable_header_blocks_is_read_past_them() {
    let bed = TestBed::start().await;
    let stream = bed.stream(events::Context::Orders);
    let subject = |n: usize| {
        bed.subjects
            .event(EventType::OrderPlaced, &format!("o-{n}"))
            .expect("subject")
    };
    let good = b"NATS/1.0\r\nShop-Note: fine\r\n\r\n";
    let blocks = [
        good,
        raw::NOT_UTF8,
        good,
        raw::NO_COLON,
        good,
        raw::LONE_CR,
        good,
    ];
    for (n, block) in blocks.iter().enumerate() {
        publish_raw(bed.server.port(), &subject(n), block, b"payload").await;
    }
    let read = read_stream(&bed.js, &stream).await;
    let subjects: Vec<String> = read.iter().map(|m| m.subject.to_string()).collect();
    assert_eq!(subjects, [subject(0), subject(2), subject(4), subject(6)]);
}
