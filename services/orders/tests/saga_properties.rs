//! Property test of the order saga against simple models of its participants: random
//! interleavings of replies, duplicates, stale redeliveries, deadlines that fire early or
//! late, and a payments service that answers only after the saga gave up. After every step
//! the invariants of DESIGN.md §5 hold; at the end every order is terminal and its money is
//! settled.

use events::inventory::{RejectionReason, ReservationRejected, StockLine, StockReserved};
use events::orders::{OrderLine, OrderPlaced};
use events::payments::{
    DeclineReason, PaymentAuthorized, PaymentCaptured, PaymentDeclined, PaymentRefunded,
    PaymentVoided,
};
use events::shipping::Shipped;
use events::{Event, Timestamp};
use orders::saga::{self, Effect, Saga, Status, Timeouts};
use proptest::prelude::*;

const TIMEOUTS: Timeouts = Timeouts {
    reservation_ms: 1_000,
    payment_ms: 1_000,
    shipment_ms: 1_000,
    capture_ms: 1_000,
    max_retries: 2,
};

/// How the participants behave in one run.
#[derive(Debug, Clone, Copy)]
struct Script {
    in_stock: bool,
    payment_ok: bool,
    /// Payments answers only after every deadline has fired (it was down).
    payments_late: bool,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Money {
    None,
    Declined,
    Authorized,
    Captured,
    Voided,
    Refunded,
}

/// The saga, its participants' models, and the messages in flight.
struct World {
    script: Script,
    saga: Saga,
    now: Timestamp,
    in_flight: Vec<Event>,
    late: Vec<Event>,
    deadline: Option<Event>,
    delivered: Vec<Event>,
    money: Money,
    reserved: bool,
    released: bool,
    committed: bool,
    captures: i64,
    refunds: i64,
}

impl World {
    fn new(script: Script) -> World {
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
            script,
            saga,
            now,
            in_flight: vec![],
            late: vec![],
            deadline: None,
            delivered: vec![],
            money: Money::None,
            reserved: false,
            released: false,
            committed: false,
            captures: 0,
            refunds: 0,
        };
        world.apply(effects);
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

    fn participants(&mut self, event: &Event) {
        let order_id = String::from("o1");
        let authorization_id = String::from("auth-o1");
        match event {
            Event::OrderPlaced(_) => {
                let reply: Event = if self.script.in_stock {
                    self.reserved = true;
                    StockReserved {
                        order_id,
                        lines: vec![StockLine {
                            sku: "A".into(),
                            quantity: 1,
                        }],
                    }
                    .into()
                } else {
                    ReservationRejected {
                        order_id,
                        reason: RejectionReason::InsufficientStock,
                        short_lines: vec![],
                    }
                    .into()
                };
                self.in_flight.push(reply);
            }
            Event::PaymentRequested(request) => {
                if self.money != Money::None {
                    return; // one payment per order
                }
                let reply: Event = if self.script.payment_ok {
                    self.money = Money::Authorized;
                    PaymentAuthorized {
                        order_id,
                        customer_id: "c1".into(),
                        authorization_id,
                        amount_minor: request.amount_minor,
                        currency: "EUR".into(),
                    }
                    .into()
                } else {
                    self.money = Money::Declined;
                    PaymentDeclined {
                        order_id,
                        customer_id: "c1".into(),
                        reason: DeclineReason::InsufficientCredit,
                        amount_minor: request.amount_minor,
                        currency: "EUR".into(),
                    }
                    .into()
                };
                if self.script.payments_late {
                    self.late.push(reply)
                } else {
                    self.in_flight.push(reply)
                }
            }
            Event::OrderConfirmed(_) => {
                if self.reserved && !self.released {
                    self.committed = true;
                }
                let shipped = Shipped {
                    order_id,
                    shipment_id: "s1".into(),
                    tracking_number: String::new(),
                };
                self.in_flight.push(shipped.into());
            }
            Event::OrderCancelled(_) if self.reserved && !self.committed => self.released = true,
            Event::PaymentCaptureRequested(_) if self.money == Money::Authorized => {
                self.money = Money::Captured;
                self.captures += 1;
                let captured = PaymentCaptured {
                    order_id,
                    authorization_id,
                    amount_minor: 500,
                    currency: "EUR".into(),
                };
                self.in_flight.push(captured.into());
            }
            Event::PaymentVoidRequested(_) if self.money == Money::Authorized => {
                self.money = Money::Voided;
                let voided = PaymentVoided {
                    order_id,
                    authorization_id,
                    amount_minor: 500,
                    currency: "EUR".into(),
                };
                self.in_flight.push(voided.into());
            }
            Event::PaymentRefundRequested(_) if self.money == Money::Captured => {
                self.money = Money::Refunded;
                self.refunds += 1;
                let refunded = PaymentRefunded {
                    order_id,
                    authorization_id,
                    amount_minor: 500,
                    currency: "EUR".into(),
                };
                self.in_flight.push(refunded.into());
            }
            _ => {}
        }
    }

    fn deliver(&mut self, event: Event) {
        self.now = self.now.plus_millis(10);
        let before = self.saga.status;
        let effects = saga::step(&self.saga, &event, self.now, TIMEOUTS);
        self.apply(effects);
        assert!(
            !before.is_terminal() || self.saga.status == before,
            "left terminal {before:?} for {:?}",
            self.saga.status
        );
        self.delivered.push(event);
        self.check();
    }

    fn fire_deadline(&mut self) {
        if let Some(deadline) = self.deadline.take() {
            self.now = self.now.plus_millis(TIMEOUTS.payment_ms);
            self.deliver(deadline);
        }
    }

    /// What must hold after every step.
    fn check(&self) {
        let net = self.captures - self.refunds;
        assert!((0..=1).contains(&net), "net captures {net}");
        if matches!(self.saga.status, Status::Cancelled | Status::Rejected) {
            assert_eq!(self.captures, 0, "captured a {:?} order", self.saga.status);
            assert!(
                !self.committed,
                "stock sold for a {:?} order",
                self.saga.status
            );
        }
        if self.saga.status == Status::Completed {
            assert_eq!(net, 1);
            assert!(self.committed && !self.released);
        }
    }

    /// Delivers everything still in flight, fires the deadline, and lets late replies arrive.
    fn drain(&mut self) {
        for _ in 0..100 {
            if let Some(event) = self.in_flight.pop() {
                self.deliver(event);
            } else if self.deadline.is_some() {
                self.fire_deadline();
            } else if let Some(event) = self.late.pop() {
                self.deliver(event);
            } else {
                return;
            }
        }
        panic!("the saga never settled");
    }
}

#[derive(Debug, Clone)]
enum Step {
    /// Deliver the n-th message in flight (any order: reordering).
    Deliver(usize),
    /// Deliver it but keep it in flight too (a redelivery will follow).
    Duplicate(usize),
    /// Deliver again something delivered before (a stale redelivery).
    Replay(usize),
    /// The deadline fires now, whatever is in flight.
    Deadline,
    /// Late replies arrive now.
    Late,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (0..8usize).prop_map(Step::Deliver),
        2 => (0..8usize).prop_map(Step::Duplicate),
        2 => (0..16usize).prop_map(Step::Replay),
        1 => Just(Step::Deadline),
        1 => Just(Step::Late),
    ]
}

fn script() -> impl Strategy<Value = Script> {
    (any::<bool>(), any::<bool>(), any::<bool>()).prop_map(
        |(in_stock, payment_ok, payments_late)| Script {
            in_stock,
            payment_ok,
            payments_late,
        },
    )
}

proptest! {
        #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn the_saga_keeps_its_invariants_under_any_delivery_order(script in script(), steps in prop::collection::vec(step(), 0..40)) {
        let mut world = World::new(script);
        for step in steps {
            match step {
                Step::Deliver(n) if !world.in_flight.is_empty() => {
                    let event = world.in_flight.remove(n % world.in_flight.len());
                    world.deliver(event);
                }
                Step::Duplicate(n) if !world.in_flight.is_empty() => {
                    let event = world.in_flight[n % world.in_flight.len()].clone();
                    world.deliver(event);
                }
                Step::Replay(n) if !world.delivered.is_empty() => {
                    let event = world.delivered[n % world.delivered.len()].clone();
                    world.deliver(event);
                }
                Step::Deadline => world.fire_deadline(),
                Step::Late => {
                    while let Some(event) = world.late.pop() {
                        world.deliver(event);
                    }
                }
                _ => {}
            }
        }
        world.drain();

        // every accepted order ends, and ends settled
        prop_assert!(world.saga.status.is_terminal(), "ended in {:?}", world.saga.status);
        let net = world.captures - world.refunds;
        match world.saga.status {
            Status::Completed => prop_assert_eq!(net, 1),
            _ => {
                prop_assert_eq!(net, 0);
                prop_assert!(world.money != Money::Authorized, "a held authorization was never voided");
                prop_assert!(!world.reserved || world.released, "stock stayed reserved for a failed order");
            }
        }
        if world.script.in_stock && world.script.payment_ok && !world.script.payments_late {
            // nothing failed: only an early deadline can stop it
            prop_assert!(world.saga.status == Status::Completed || world.saga.status == Status::Cancelled);
        }
                if !world.script.in_stock {
            // rejected, or cancelled when the deadline fired before inventory's answer arrived
            prop_assert!(matches!(world.saga.status, Status::Rejected | Status::Cancelled));
            prop_assert_eq!(world.captures, 0);
        }
    }
}

#[test]
fn the_happy_path_completes() {
    let mut world = World::new(Script {
        in_stock: true,
        payment_ok: true,
        payments_late: false,
    });
    world.drain();
    assert_eq!(world.saga.status, Status::Completed);
    assert_eq!(world.captures, 1);
}

#[test]
fn a_late_authorization_is_voided_once() {
    let mut world = World::new(Script {
        in_stock: true,
        payment_ok: true,
        payments_late: true,
    });
    world.drain();
    assert_eq!(world.saga.status, Status::Cancelled);
    assert_eq!(world.money, Money::Voided);
    assert_eq!(world.saga.voids_requested.len(), 1);
    assert!(world.released);
}
