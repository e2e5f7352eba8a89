//! docs/architecture.md describes each service with a table; its Consumes and Publishes rows
//! must name exactly what the service consumes (`Service::CONSUMES`) and what its context
//! publishes (the contract), so the page cannot drift from the code.

use std::collections::BTreeSet;

use events::{Context, EventType};
use runtime::Service;

fn consumes(context: Context) -> &'static [EventType] {
    match context {
        Context::Catalog => catalog::Catalog::CONSUMES,
        Context::Inventory => inventory::Inventory::CONSUMES,
        Context::Orders => orders::Orders::CONSUMES,
        Context::Payments => payments::Payments::CONSUMES,
        Context::Shipping => shipping::Shipping::CONSUMES,
        Context::Support => support::Support::CONSUMES,
    }
}

/// The event types named (in backticks) in the row `| <row> |` of the service's section.
fn named_in_row(page: &str, context: Context, row: &str) -> BTreeSet<EventType> {
    let heading = format!("### {}:", context.as_str());
    let section = page
        .split("\n### ")
        .map(|section| format!("### {section}"))
        .find(|section| section.starts_with(&heading))
        .unwrap_or_else(|| panic!("no section {heading}"));
    let line = section
        .lines()
        .find(|line| line.starts_with(&format!("| {row} |")))
        .unwrap_or_else(|| panic!("no {row} row under {heading}"));
    line.split('`')
        .skip(1)
        .step_by(2)
        .filter_map(|name| {
            let (context, event) = name.split_once('.')?;
            EventType::from_parts(context, event)
        })
        .collect()
}

#[test]
fn each_service_table_names_what_the_service_consumes_and_publishes() {
    let page = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../docs/architecture.md"
    ))
    .expect("docs/architecture.md");
    for context in Context::ALL {
        let consumed: BTreeSet<EventType> = consumes(context).iter().copied().collect();
        assert_eq!(
            named_in_row(&page, context, "Consumes"),
            consumed,
            "the Consumes row of {context:?}"
        );
        let published: BTreeSet<EventType> = EventType::ALL
            .iter()
            .copied()
            .filter(|event_type| event_type.context() == context)
            .collect();
        assert_eq!(
            named_in_row(&page, context, "Publishes"),
            published,
            "the Publishes row of {context:?}"
        );
    }
}
