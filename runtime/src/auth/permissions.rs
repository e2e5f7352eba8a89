//! Who may do what on the broker: one identity per service and four for people (`client`,
//! `backoffice`, `operator`, `admin`), and the publish and subscribe permissions nats-server
//! enforces for each, derived from the contract (contexts, streams, subjects) and the table of
//! API verbs below. docs/security.md shows the same table.

use events::{Context, Subjects};

/// Someone who connects to the broker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Identity {
    /// A service: publishes its context's events, consumes through its own durables, serves
    /// its own API.
    Service(Context),
    /// A shop front end: carts, orders, reading the catalog, opening and reading tickets.
    Client,
    /// Shop staff: catalog writes, restock, accounts, resolving tickets; reads everything.
    Backoffice,
    /// Watching, read-only: watch, trace, status, dead letters (list, show).
    Operator,
    /// Everything: provisioning, replay, rebuild, dead-letter redrive, parked orders.
    Admin,
}

impl Identity {
    /// Every identity: the six services, then the people.
    pub fn all() -> Vec<Identity> {
        let people = [
            Identity::Client,
            Identity::Backoffice,
            Identity::Operator,
            Identity::Admin,
        ];
        Context::ALL
            .iter()
            .map(|context| Identity::Service(*context))
            .chain(people)
            .collect()
    }

    /// Its name: the service's name, or `client`, `backoffice`, `operator`, `admin`. Its
    /// credentials are `<name>.nk`, and its replies come to `_INBOX_<name>.>`.
    pub fn name(self) -> &'static str {
        match self {
            Identity::Service(context) => context.as_str(),
            Identity::Client => "client",
            Identity::Backoffice => "backoffice",
            Identity::Operator => "operator",
            Identity::Admin => "admin",
        }
    }

    /// The identity called `name`, if there is one.
    pub fn named(name: &str) -> Option<Identity> {
        Identity::all()
            .into_iter()
            .find(|identity| identity.name() == name)
    }

    /// The inbox prefix its connections must use (replies to anyone else's requests are out
    /// of its reach).
    pub fn inbox_prefix(self) -> String {
        format!("_INBOX_{}", self.name())
    }
}

/// Which people may call an API verb (`admin` may call every verb; services call none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Callers {
    pub client: bool,
    pub backoffice: bool,
    pub operator: bool,
}

/// Front end only.
const SHOPPER: Callers = Callers {
    client: true,
    backoffice: false,
    operator: false,
};
/// Front end and staff.
const SHOPPER_OR_STAFF: Callers = Callers {
    client: true,
    backoffice: true,
    operator: false,
};
/// Staff only.
const STAFF: Callers = Callers {
    client: false,
    backoffice: true,
    operator: false,
};
/// A read everyone but the services may make.
const READ: Callers = Callers {
    client: true,
    backoffice: true,
    operator: true,
};
/// A read for staff and operators (not the front end).
const STAFF_READ: Callers = Callers {
    client: false,
    backoffice: true,
    operator: true,
};
/// The admin only.
const ADMIN: Callers = Callers {
    client: false,
    backoffice: false,
    operator: false,
};

/// Every API verb of every service and who may call it. A test checks this list against the
/// endpoints the services register, so a new endpoint cannot be forgotten here.
pub const API: &[(Context, &str, Callers)] = &[
    (Context::Catalog, "add", STAFF),
    (Context::Catalog, "update", STAFF),
    (Context::Catalog, "discontinue", STAFF),
    (Context::Catalog, "get", READ),
    (Context::Catalog, "list", READ),
    (Context::Inventory, "restock", STAFF),
    (Context::Inventory, "get", READ),
    (Context::Orders, "cart_add", SHOPPER),
    (Context::Orders, "cart_remove", SHOPPER),
    (Context::Orders, "cart_show", READ),
    (Context::Orders, "place", SHOPPER),
    (Context::Orders, "get", READ),
    (Context::Orders, "list", READ),
    (Context::Orders, "retry", ADMIN),
    (Context::Orders, "cancel", ADMIN),
    (Context::Payments, "open_account", STAFF),
    (Context::Payments, "get_account", STAFF_READ),
    (Context::Shipping, "get", READ),
    (Context::Support, "open", SHOPPER_OR_STAFF),
    (Context::Support, "list", READ),
    (Context::Support, "resolve", STAFF),
];

/// The verb every service's runtime adds (its counters), for operators.
pub const STATUS_VERB: &str = "status";

/// What one identity may publish and subscribe to; everything else the broker refuses.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Permissions {
    pub publish_allow: Vec<String>,
    pub publish_deny: Vec<String>,
    pub subscribe_allow: Vec<String>,
    /// May answer requests sent to it (services: their API and `$SRV`).
    pub allow_responses: bool,
}

/// The streams (by context) each service consumes, from its `Service::CONSUMES`: a service may
/// read those and no others. A test in `stack` checks this table against the services.
pub const CONSUMED_STREAMS: &[(Context, &[Context])] = &[
    (Context::Catalog, &[]),
    (
        Context::Inventory,
        &[Context::Catalog, Context::Orders, Context::Shipping],
    ),
    (
        Context::Orders,
        &[
            Context::Catalog,
            Context::Inventory,
            Context::Orders,
            Context::Payments,
            Context::Shipping,
        ],
    ),
    (Context::Payments, &[Context::Orders]),
    (Context::Shipping, &[Context::Orders, Context::Shipping]),
    (Context::Support, &[Context::Orders]),
];

/// The streams (by context) each service reads histories from, from its `Service::HISTORY`:
/// stored messages by subject (`STREAM.INFO`, `STREAM.MSG.GET`), no consumer. A test in
/// `stack` checks this table against the services.
pub const HISTORY_STREAMS: &[(Context, &[Context])] = &[(
    Context::Support,
    &[
        Context::Inventory,
        Context::Orders,
        Context::Payments,
        Context::Shipping,
    ],
)];

/// The streams of `service` in `table` (none when it is not listed).
fn streams_of(table: &[(Context, &'static [Context])], service: Context) -> &'static [Context] {
    table
        .iter()
        .find(|(listed, _)| *listed == service)
        .map(|(_, streams)| *streams)
        .unwrap_or_default()
}

/// The permissions of `identity` in the shop under `subjects`.
pub fn permissions(identity: Identity, subjects: &Subjects) -> Permissions {
    let inbox = format!("{}.>", identity.inbox_prefix());
    match identity {
        Identity::Service(context) => service_permissions(
            context,
            streams_of(CONSUMED_STREAMS, context),
            streams_of(HISTORY_STREAMS, context),
            subjects,
        ),
        Identity::Admin => Permissions {
            publish_allow: vec![">".into()],
            publish_deny: Vec::new(),
            subscribe_allow: vec![">".into()],
            allow_responses: true,
        },
        person => {
            let mut publish_allow = api_subjects(person, subjects);
            let mut publish_deny = Vec::new();
            if person == Identity::Operator {
                publish_allow.extend(operator_reads());
                publish_deny.extend(durables_out_of_reach());
            }
            Permissions {
                publish_allow,
                publish_deny,
                subscribe_allow: vec![inbox],
                allow_responses: false,
            }
        }
    }
}

/// A service: its own events and dead letters, its own durables on the streams it consumes,
/// stored messages of the streams it reads histories from, its own API and `$SRV` subjects,
/// its own inbox.
fn service_permissions(
    context: Context,
    consumes: &[Context],
    histories: &[Context],
    subjects: &Subjects,
) -> Permissions {
    let name = context.as_str();
    let prefix = subjects.prefix();
    let mut publish_allow = vec![
        format!("{prefix}.{name}.>"),
        format!("{prefix}.{}.{name}.>", events::subject::DEAD_LETTER_TOKEN),
        // asking the owner of a partition held by another of its instances
        format!("{prefix}.{}.{name}.*.*", events::subject::API_TOKEN),
    ];
    let streams = consumes
        .iter()
        .map(|consumed| events::stream::event_stream(subjects, *consumed).name);
    for stream in streams {
        publish_allow.extend([
            format!("$JS.API.STREAM.INFO.{stream}"),
            format!("$JS.API.STREAM.MSG.GET.{stream}"),
            format!("$JS.API.CONSUMER.INFO.{stream}.{name}"),
            format!("$JS.API.CONSUMER.MSG.NEXT.{stream}.{name}"),
            format!("$JS.ACK.{stream}.{name}.>"),
        ]);
    }
    // its leases and its membership in the partition bucket; reading everyone's; reading the
    // last claim of a partition in its own stream
    let bucket = crate::ownership::Owners::bucket(subjects);
    let own = events::stream::event_stream(subjects, context).name;
    publish_allow.extend([
        format!("$JS.API.STREAM.INFO.{own}"),
        format!("$JS.API.STREAM.MSG.GET.{own}"),
        format!("$KV.{bucket}.{name}.>"),
        format!("$JS.API.STREAM.INFO.KV_{bucket}"),
        format!("$JS.API.STREAM.MSG.GET.KV_{bucket}"),
        format!("$JS.API.DIRECT.GET.KV_{bucket}.>"),
    ]);
    // forwarding to its partitions' owners, and consuming its own intake as one of them
    if !consumes.is_empty() {
        let intake = events::stream::intake_stream(subjects, name).name;
        publish_allow.extend([
            format!("{prefix}.{}.{name}.*", events::subject::INTAKE_TOKEN),
            format!("$JS.API.STREAM.INFO.{intake}"),
            format!("$JS.API.CONSUMER.INFO.{intake}.*"),
            format!("$JS.API.CONSUMER.MSG.NEXT.{intake}.*"),
            format!("$JS.ACK.{intake}.>"),
        ]);
    }
    // taking a partition over (docs/scaling.md): reading the streams its state is made of
    // with ordered consumers of its own, and the forwarded events waiting in its intake
    let state_streams = consumes
        .iter()
        .chain([&context])
        .map(|read| events::stream::event_stream(subjects, *read).name);
    for stream in state_streams {
        publish_allow.extend([
            format!("$JS.API.CONSUMER.CREATE.{stream}.*"),
            format!("$JS.API.CONSUMER.CREATE.{stream}.*.>"),
            format!("$JS.API.CONSUMER.MSG.NEXT.{stream}.*"),
            format!("$JS.API.CONSUMER.DELETE.{stream}.*"),
        ]);
    }
    if !consumes.is_empty() {
        let intake = events::stream::intake_stream(subjects, name).name;
        publish_allow.push(format!("$JS.API.STREAM.MSG.GET.{intake}"));
    }
    let mut publish_deny = durables_of_others(context);
    if !consumes.contains(&context) {
        // it has no durable of its own on its own stream
        publish_deny.push(format!("$JS.API.CONSUMER.MSG.NEXT.{own}.{name}"));
    }
    let history_streams = histories
        .iter()
        .filter(|read| !consumes.contains(read))
        .map(|read| events::stream::event_stream(subjects, *read).name);
    for stream in history_streams {
        publish_allow.extend([
            format!("$JS.API.STREAM.INFO.{stream}"),
            format!("$JS.API.STREAM.MSG.GET.{stream}"),
        ]);
    }
    let subscribe_allow = vec![
        format!("{}.>", Identity::Service(context).inbox_prefix()),
        format!("{prefix}.{}.{name}.>", events::subject::API_TOKEN),
        "$SRV.PING".into(),
        "$SRV.INFO".into(),
        "$SRV.STATS".into(),
        format!("$SRV.*.{name}"),
        format!("$SRV.*.{name}.>"),
    ];
    Permissions {
        publish_allow,
        publish_deny,
        subscribe_allow,
        allow_responses: true,
    }
}

/// The API subjects a person may send requests to.
fn api_subjects(person: Identity, subjects: &Subjects) -> Vec<String> {
    let prefix = subjects.prefix();
    let api = events::subject::API_TOKEN;
    let mut allowed: Vec<String> = API
        .iter()
        .filter(|(_, _, callers)| match person {
            Identity::Client => callers.client,
            Identity::Backoffice => callers.backoffice,
            Identity::Operator => callers.operator,
            _ => false,
        })
        .map(|(context, verb, _)| format!("{prefix}.{api}.{}.{verb}", context.as_str()))
        .collect();
    if person == Identity::Operator {
        allowed.push(format!("{prefix}.{api}.*.{STATUS_VERB}"));
    }
    allowed
}

/// What an operator's read-only tools send: `$SRV` discovery, stream and consumer info,
/// stored messages by sequence, and ordered (ephemeral) consumers for watch, trace and dlq —
/// named ones only: the endpoint for unnamed consumers (`CONSUMER.CREATE.<stream>`) takes a
/// `name` in its body and would update a service's durable of that name.
fn operator_reads() -> Vec<String> {
    [
        "$SRV.>",
        "$JS.API.INFO",
        "$JS.API.STREAM.NAMES",
        "$JS.API.STREAM.LIST",
        "$JS.API.STREAM.INFO.*",
        "$JS.API.STREAM.MSG.GET.*",
        "$JS.API.CONSUMER.NAMES.*",
        "$JS.API.CONSUMER.LIST.*",
        "$JS.API.CONSUMER.INFO.*.*",
        "$JS.API.CONSUMER.CREATE.*.*",
        "$JS.API.CONSUMER.CREATE.*.*.>",
        "$JS.API.CONSUMER.MSG.NEXT.*.*",
        "$JS.API.CONSUMER.DELETE.*.*",
    ]
    .map(String::from)
    .to_vec()
}

/// An operator may make consumers of its own but never touch a service's durable: create
/// (or change) it, pull from it, or delete it.
fn durables_out_of_reach() -> Vec<String> {
    let mut deny = vec!["$JS.API.CONSUMER.DURABLE.CREATE.>".to_owned()];
    for context in Context::ALL {
        deny.extend(durable_denied(context, true));
    }
    deny
}

/// A service may make ordered consumers of its own (a take-over's reads) but never create,
/// change or delete a durable (provisioning does), nor pull from another service's.
fn durables_of_others(service: Context) -> Vec<String> {
    let mut deny = vec!["$JS.API.CONSUMER.DURABLE.CREATE.>".to_owned()];
    for context in Context::ALL {
        deny.extend(durable_denied(context, context != service));
    }
    deny
}

/// What is denied on `context`'s durables (on every stream): creating, changing and
/// deleting them, and pulling from them when `pull` says so.
fn durable_denied(context: Context, pull: bool) -> Vec<String> {
    let name = context.as_str();
    let mut deny = vec![
        format!("$JS.API.CONSUMER.CREATE.*.{name}"),
        format!("$JS.API.CONSUMER.CREATE.*.{name}.>"),
        format!("$JS.API.CONSUMER.DELETE.*.{name}"),
    ];
    if pull {
        deny.push(format!("$JS.API.CONSUMER.MSG.NEXT.*.{name}"));
    }
    deny
}
