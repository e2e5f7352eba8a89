//! [`Service`]: the one trait a shop service implements. Its definition, settings, trees,
//! the events it consumes and folds, its rules (`decide`), its state changes (`evolve`) and its
//! API. The runtime does everything else: the consume loop, the outbox, timers, `$SRV`, the
//! binary's command line (`runtime::main::<MyService>()`) and rebuilds.
//!
//! State is a fold of events through one `evolve` per service:
//!
//! - live, for each incoming event the runtime runs `evolve` for the event itself (when the
//!   service folds its type), then `decide` on the result, then `evolve` for every event
//!   `decide` returned, all in one transaction;
//! - an API command is `decide` (the command's closure) → events → `evolve`, the same way;
//! - a rebuild runs the same `evolve` over the streams.
//!
//! So a rebuilt store equals the live one by construction. `decide` cannot write folded
//! trees (see [`Phase`](crate::store::state::Phase)); only the service's *local* trees, state
//! that no event records, are written there, and a rebuild carries those over unchanged.

use std::fmt::Debug;

use events::partition::Partition;
use events::{Context, Envelope, Event, EventType, Timestamp};

use crate::endpoint::Endpoints;
use crate::handler::{HandleError, Handler, Incoming, Route, Timer};
use crate::history::History;
use crate::store::state::{State, StateError};
use crate::store::{Store, StoreError};

/// Name, version and one-line description, as shown by `$SRV.INFO` and `--help`.
#[derive(Debug, Clone, Copy)]
pub struct ServiceDefinition {
    pub name: &'static str,
    pub version: &'static str,
    pub description: &'static str,
}

impl ServiceDefinition {
    /// The shop service of one context of the contract: it is named after the context (its
    /// stream, its subjects, its binary `shop-<name>`) and has the workspace's version.
    pub const fn of(context: Context, description: &'static str) -> Self {
        ServiceDefinition {
            name: context.as_str(),
            version: env!("CARGO_PKG_VERSION"),
            description,
        }
    }
}

/// A shop service: implement this once and its `main.rs` is `runtime::main::<Self>()`.
pub trait Service: Send + Sync + Sized + 'static {
    /// What `$SRV.INFO` and `--help` show; `name` is also the store's directory name.
    const DEFINITION: ServiceDefinition;
    /// The sled trees the service owns; [`State`] gives access to these only.
    const TREES: &'static [&'static str];
    /// The trees among [`Service::TREES`] that no event records (written by `decide` and API
    /// commands directly, carried over by a rebuild). Empty for most services.
    const LOCAL_TREES: &'static [&'static str] = &[];
    /// The trees among [`Service::TREES`] that hold reference data every instance keeps whole
    /// (facts about other contexts, folded from events routed [`Route::Everywhere`]); the
    /// others are kept per partition (docs/scaling.md). Empty for most services.
    const SHARED_TREES: &'static [&'static str] = &[];
    /// Whether several instances may share the service's partitions (`--scale-out`). A
    /// service whose rules still span partitions says `false`: it runs as one instance that
    /// keeps every tree whole, and refuses `--scale-out`.
    const SCALES_OUT: bool = true;

    /// The service's own command-line flags and environment variables (`clap::Args`), with
    /// defaults; an empty struct when it has none.
    type Settings: clap::Args + Clone + Debug + Default + Send + Sync + 'static;

    /// The event types this service consumes. The runtime creates one durable consumer per
    /// stream these types live on, filtered to exactly these types.
    const CONSUMES: &'static [EventType];

    /// The event types [`Service::evolve`] folds into state: the service's own events (the
    /// outcomes of its decisions) and the facts it copies from others. A rebuild reads these.
    const FOLDS: &'static [EventType];

    /// The stored events `decide` needs besides the incoming one, read from the streams when
    /// an event of a type in `History::on` arrives (support: an order's story, when a ticket
    /// opens). None by default. Reading a history costs round trips to the broker: ask for it
    /// on rare events, and consume what every event needs instead.
    const HISTORY: History = History::NONE;

    /// The service, configured.
    fn new(settings: Self::Settings) -> Self;

    /// The rules: what happens because of `incoming`, given the current state. Returns the
    /// events to publish (each is then folded with `evolve`); may set timers and write local
    /// trees; `HandleError::Invalid` sends `incoming` to the dead-letter stream and commits
    /// nothing, `HandleError::Refused` commits its events and then dead-letters `incoming`.
    fn decide(&self, state: &mut State<'_>, incoming: &Incoming)
    -> Result<Vec<Event>, HandleError>;

    /// The state change one event records (no decisions, no timers, no clock: use
    /// `envelope.occurred_at`). Only types in [`Service::folds`] arrive here.
    fn evolve(
        &self,
        state: &mut State<'_>,
        event: &Event,
        envelope: &Envelope,
    ) -> Result<(), StateError>;

    /// The service's API endpoints (`<prefix>.api.<service>.<verb>`); none by default.
    fn endpoints(&self, endpoints: &mut Endpoints) {
        let _ = endpoints;
    }

    /// The timers the state of `partition` waits on, armed anew by an instance that has just
    /// taken the partition over and rebuilt it from the streams (timers are not events: the
    /// old owner's stay in its store). Each is armed as `State::schedule` arms it, fenced on
    /// the new claim; a service whose state waits on nothing keeps the default, none. Read the
    /// partition's rows with [`Tree::partition_entries`](crate::Tree::partition_entries).
    fn timers(
        &self,
        store: &Store,
        partition: Partition,
        now: Timestamp,
    ) -> Result<Vec<Timer>, StoreError> {
        let _ = (store, partition, now);
        Ok(Vec::new())
    }

    /// Which partition of the service's state an event it consumes or folds is about
    /// (docs/scaling.md): by default the partition of the subject's key, so a service whose
    /// rules are consistent per order, and whose events are keyed by order, has nothing to say.
    fn route(event: &Event) -> Route<'_> {
        Route::Key(event.key())
    }
}

impl<S: Service> Handler for S {
    fn trees(&self) -> &'static [&'static str] {
        S::TREES
    }

    fn local_trees(&self) -> &'static [&'static str] {
        S::LOCAL_TREES
    }

    fn shared_trees(&self) -> &'static [&'static str] {
        S::SHARED_TREES
    }

    fn scales_out(&self) -> bool {
        S::SCALES_OUT
    }

    fn consumes(&self) -> &'static [EventType] {
        S::CONSUMES
    }

    fn folds(&self) -> &'static [EventType] {
        S::FOLDS
    }

    fn history(&self) -> History {
        S::HISTORY
    }

    fn route<'e>(&self, event: &'e Event) -> Route<'e> {
        S::route(event)
    }

    fn timers(
        &self,
        store: &Store,
        partition: Partition,
        now: Timestamp,
    ) -> Result<Vec<Timer>, StoreError> {
        Service::timers(self, store, partition, now)
    }

    fn decide(
        &self,
        state: &mut State<'_>,
        incoming: &Incoming,
    ) -> Result<Vec<Event>, HandleError> {
        Service::decide(self, state, incoming)
    }

    fn evolve(
        &self,
        state: &mut State<'_>,
        event: &Event,
        envelope: &Envelope,
    ) -> Result<(), StateError> {
        Service::evolve(self, state, event, envelope)
    }
}
