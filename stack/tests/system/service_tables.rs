//! docs/architecture.md describes each service with a table; its Consumes and Publishes rows
//! must name exactly what the service consumes (`Service::CONSUMES`) and what its context
//! publishes (the contract), so the page cannot drift from the code.

use std::collections::BTreeSet;

use events::{Context, EventType};
use runtime::{History, Service};

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

fn history(context: Context) -> History {
    match context {
        Context::Catalog => catalog::Catalog::HISTORY,
        Context::Inventory => inventory::Inventory::HISTORY,
        Context::Orders => orders::Orders::HISTORY,
        Context::Payments => payments::Payments::HISTORY,
        Context::Shipping => shipping::Shipping::HISTORY,
        Context::Support => support::Support::HISTORY,
    }
}

/// The streams `service` has in a permissions table (none when it is not listed).
fn listed(table: &[(Context, &[Context])], service: Context) -> BTreeSet<Context> {
    (table.iter())
        .filter(|(listed, _)| *listed == service)
        .flat_map(|(_, streams)| streams.iter().copied())
        .collect()
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

/// The broker lets each service read the streams it consumes and the streams it reads
/// histories from, as `runtime::auth` lists them: the lists must be what the services ask for
/// (one stream too few and the service cannot bind or read; one too many is a needless right).
#[test]
fn the_permission_tables_list_the_streams_each_service_reads() {
    for context in Context::ALL {
        let consumed: BTreeSet<Context> = consumes(context)
            .iter()
            .map(|event_type| event_type.context())
            .collect();
        assert_eq!(
            listed(runtime::auth::CONSUMED_STREAMS, context),
            consumed,
            "CONSUMED_STREAMS of {context:?}"
        );
        assert_eq!(
            listed(runtime::auth::HISTORY_STREAMS, context),
            history(context).contexts(),
            "HISTORY_STREAMS of {context:?}"
        );
    }
}
