//! The world of the saga property test: one order's saga, the messages in flight and its
//! deadline, the participants (their models are in `participants.rs`), a forger who
//! publishes replies that do not match the order, an operator who retries or cancels a
//! parked order, and the invariants checked after every step.

use std::collections::VecDeque;

use events::orders::{OrderLine, OrderPlaced, SagaStep};
use events::{Event, Timestamp};
use orders::saga::{self, Effect, OperatorError, Saga, Status, Timeouts};

#[path = "participants.rs"]
mod participants;

pub(crate) const TIMEOUTS: Timeouts = Timeouts {
    reservation_ms: 1_000,
    payment_ms: 1_000,
    shipment_ms: 1_000,
    capture_ms: 1_000,
    max_retries: 2,
};

/// How shipping or payments answers one shipment or capture request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Answer {
    Now,
    /// The request waits until the participant is back (a `Step::Late`, or the end of the run).
    Late,
    /// The request is lost: the participant is down.
    Never,
    /// The answer arrives twice.
    Twice,
    /// Payments cannot capture (the issuer refuses) and says so: `payments.capture_failed`.
    Fail,
}

/// How the participants behave in one run.
#[derive(Debug, Clone)]
pub(crate) struct Script {
    pub(crate) in_stock: bool,
    pub(crate) payment_ok: bool,
    /// Payments answers the authorization only after every deadline has fired (it was down).
    pub(crate) payments_late: bool,
    /// Shipping's answers to the confirmation and each shipment request; once they run out,
    /// shipping is down until it is healed.
    pub(crate) shipping: Vec<Answer>,
    /// Payments' answers to each capture request; once they run out, payments is down.
    pub(crate) capture: Vec<Answer>,
    /// At the end the operator cancels a parked order (else heals its participant and retries).
    pub(crate) operator_cancels: bool,
}

impl Script {
    /// Every participant answers at once, once.
    pub(crate) fn healthy() -> Script {
        Script {
            in_stock: true,
            payment_ok: true,
            payments_late: false,
            shipping: vec![Answer::Now],
            capture: vec![Answer::Now],
            operator_cancels: false,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Money {
    None,
    Declined,
    Authorized,
    Captured,
    Voided,
    Refunded,
}

/// An operator's command on an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Command {
    Retry,
    Cancel,
}

/// The saga, its participants' models, and the messages in flight.
#[derive(Debug)]
pub(crate) struct World {
    pub(crate) script: Script,
    pub(crate) saga: Saga,
    now: Timestamp,
    pub(crate) in_flight: Vec<Event>,
    /// Replies that arrive only after the saga's deadlines.
    late: Vec<Event>,
    /// Requests a slow participant has not handled yet.
    backlog: Vec<Event>,
    deadline: Option<Event>,
    pub(crate) delivered: Vec<Event>,
    shipping: VecDeque<Answer>,
    capture: VecDeque<Answer>,
    /// The participants were healed: every request is answered at once from now on.
    healed: bool,
    pub(crate) money: Money,
    pub(crate) reserved: bool,
    pub(crate) released: bool,
    pub(crate) committed: bool,
    pub(crate) captures: i64,
    pub(crate) refunds: i64,
    /// Shipment and capture requests since the order was last parked.
    pub(crate) shipment_requests: u32,
    pub(crate) capture_requests: u32,
    /// The steps the order was parked at, in order.
    pub(crate) parkings: Vec<SagaStep>,
    pub(crate) operator_cancelled: bool,
    /// Replies the saga refused (every forgery, and nothing else).
    pub(crate) refused: usize,
    /// The first terminal state the order reached.
    ended: Option<Status>,
}

impl World {
    pub(crate) fn new(script: Script) -> World {
        let line = OrderLine {
            sku: "A".into(),
            quantity: 1,
            unit_price_minor: 500,
            line_total_minor: 500,
        };
        let placed = OrderPlaced {
            order_id: "o1".into(),
            customer_id: "c1".into(),
            lines: vec![line],
            total_minor: 500,
            currency: "EUR".into(),
        };
        let now = Timestamp::UNIX_EPOCH;
        let effects = saga::start(placed.clone(), now, TIMEOUTS);
        let saga = saga::apply(None, &placed.into(), now).expect("a new saga");
        let mut world = World {
            shipping: script.shipping.iter().copied().collect(),
            capture: script.capture.iter().copied().collect(),
            script,
            saga,
            now,
            in_flight: vec![],
            late: vec![],
            backlog: vec![],
            deadline: None,
            delivered: vec![],
            healed: false,
            money: Money::None,
            reserved: false,
            released: false,
            committed: false,
            captures: 0,
            refunds: 0,
            shipment_requests: 0,
            capture_requests: 0,
            parkings: vec![],
            operator_cancelled: false,
            refused: 0,
            ended: None,
        };
        world.apply(effects);
        world
    }

    /// A world in which the order was just confirmed (inventory and payments answered at once).
    pub(crate) fn confirmed(script: Script) -> World {
        let mut world = World::new(script);
        while world.saga.status != Status::Confirmed {
            let event = world
                .in_flight
                .pop()
                .expect("inventory and payments accept the order");
            world.deliver(event);
        }
        world
    }

    /// Routes what the saga asked for to the participant models, which answer with events.
    fn apply(&mut self, effects: Vec<Effect>) {
        for effect in effects {
            match effect {
                Effect::Deadline(_, event) => self.deadline = Some(event),
                Effect::ClearDeadline => self.deadline = None,
                Effect::Emit(event) => {
                    // the saga's state is the fold of what it emits
                    if let Some(next) = saga::apply(Some(&self.saga), &event, self.now) {
                        self.saga = next;
                    }
                    self.participants(&event);
                }
            }
        }
    }

    pub(crate) fn deliver(&mut self, event: Event) {
        self.now = self.now.plus_millis(10);
        match saga::step(&self.saga, &event, self.now, TIMEOUTS) {
            Ok(effects) => self.apply(effects),
            Err(refusal) => panic!("a true reply was refused: {event:?}: {}", refusal.reason),
        }
        self.delivered.push(event);
        self.check();
    }

    /// The forger's `n`-th reply (see `participants::forgeries`) reaches the saga: it is
    /// refused, and parks the order only if it answers the step the order waits on.
    pub(crate) fn forge(&mut self, n: usize) {
        let forgeries = participants::forgeries();
        let forged = &forgeries[n % forgeries.len()];
        self.now = self.now.plus_millis(10);
        let before = self.saga.status;
        let Err(refusal) = saga::step(&self.saga, forged, self.now, TIMEOUTS) else {
            panic!("a forgery was believed: {forged:?}");
        };
        self.refused += 1;
        let parks = matches!(
            refusal.effects.as_slice(),
            [Effect::ClearDeadline, Effect::Emit(Event::OrderParked(_))]
        );
        assert!(parks || refusal.effects.is_empty(), "{:?}", refusal.effects);
        if before.is_terminal() || before == Status::NeedsAttention {
            assert!(!parks, "a {before:?} order parked by a forgery");
        }
        self.apply(refusal.effects);
        self.check();
    }

    pub(crate) fn fire_deadline(&mut self) {
        if let Some(deadline) = self.deadline.take() {
            self.now = self.now.plus_millis(TIMEOUTS.payment_ms);
            self.deliver(deadline);
        }
    }

    /// Shipping and payments are back: they answer every request at once.
    pub(crate) fn heal(&mut self) {
        self.healed = true;
    }

    /// An operator's command, sent twice (a client's retry): the second changes nothing, and
    /// only a parked order is changed at all.
    pub(crate) fn operator(&mut self, command: Command) {
        let parked = self.saga.status == Status::NeedsAttention;
        let effects = self.command(command);
        match (&effects, parked) {
            (Ok(effects), true) => assert!(!effects.is_empty(), "{command:?} did nothing"),
            (Ok(effects), false) => assert!(effects.is_empty(), "{command:?} of an unparked order"),
            // inventory answers once: an order parked at its reservation waits for that answer
            (Err(_), parked) => assert!(
                !parked || self.saga.parked_step == Some(SagaStep::Reservation),
                "{command:?} refused for a parked order"
            ),
        }
        self.operator_cancelled |= parked && command == Command::Cancel;
        self.apply(effects.unwrap_or_default());
        let again = self.command(command).unwrap_or_default();
        assert!(
            again.is_empty(),
            "a repeated {command:?} did something: {again:?}"
        );
        self.check();
    }

    fn command(&self, command: Command) -> Result<Vec<Effect>, OperatorError> {
        match command {
            Command::Retry => saga::retry(&self.saga, self.now, TIMEOUTS),
            Command::Cancel => saga::operator_cancel(&self.saga),
        }
    }

    /// What must hold after every step.
    fn check(&mut self) {
        let status = self.saga.status;
        match self.ended {
            Some(ended) => assert_eq!(status, ended, "left terminal {ended:?}"),
            None if status.is_terminal() => self.ended = Some(status),
            None => {}
        }
        let net = self.captures - self.refunds;
        assert!((0..=1).contains(&net), "net captures {net}");
        match status {
            Status::Cancelled | Status::Rejected => {
                assert_eq!(net, 0, "money kept for a {status:?} order");
                // only an operator cancels an order after its payment was captured
                if !self.operator_cancelled {
                    assert_eq!(self.captures, 0, "captured a {status:?} order");
                    assert!(!self.committed, "stock sold for a {status:?} order");
                }
            }
            Status::Completed => {
                assert_eq!(net, 1);
                assert!(self.committed && !self.released);
            }
            Status::NeedsAttention => {
                assert!(self.saga.reason.is_some(), "parked without a reason");
                assert!(self.deadline.is_none(), "a parked order has a deadline");
                match self.saga.parked_step {
                    Some(SagaStep::Shipment | SagaStep::Capture) => {
                        assert!(matches!(self.money, Money::Authorized | Money::Captured));
                    }
                    // parked by a forgery before the order was paid: nothing was taken
                    Some(SagaStep::Reservation | SagaStep::Payment) => {
                        assert!(!matches!(self.money, Money::Captured | Money::Refunded));
                        assert!(!self.committed, "stock sold for an unpaid order");
                    }
                    step => panic!("parked at {step:?}"),
                }
            }
            _ => {}
        }
    }

    /// Delivers everything still in flight, fires the deadline, and lets late replies arrive.
    pub(crate) fn drain(&mut self) {
        for _ in 0..100 {
            if let Some(event) = self.in_flight.pop() {
                self.deliver(event);
            } else if self.deadline.is_some() {
                self.fire_deadline();
            } else if !self.backlog.is_empty() || !self.late.is_empty() {
                self.catch_up();
            } else {
                return;
            }
        }
        panic!("the saga never settled");
    }

    /// Runs to the end: everything is delivered, and the operator resolves a parked order —
    /// heals its participant and retries, or cancels it.
    pub(crate) fn settle(&mut self) {
        for _ in 0..4 {
            self.drain();
            if self.saga.status != Status::NeedsAttention {
                return;
            }
            if self.script.operator_cancels {
                self.operator(Command::Cancel);
            } else {
                self.heal();
                self.operator(Command::Retry);
            }
        }
        panic!("the operator could not resolve the order");
    }
}
