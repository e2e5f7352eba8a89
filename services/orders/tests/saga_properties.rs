//! Property test of the order saga against simple models of its participants: random
//! interleavings of replies, duplicates, stale redeliveries, deadlines that fire early or
//! late, a payments service that answers only after the saga gave up, and, after the order
//! is confirmed, a shipping or payments service that answers late, never, twice, or with a
//! capture failure, so that the saga retries and parks the order, a forger whose replies do
//! not match the order (refused, and parking the order when they answer the step it waits
//! on), and an operator who retries or cancels it (twice). After every step the invariants
//! of DESIGN.md §5 hold, and no forgery ever moves the order on; at
//! the end, once the operator resolved a parked order, every order is terminal and its
//! money is settled. The world the saga runs in is in `saga_properties/world.rs`.

#[path = "saga_properties/world.rs"]
mod world;

use events::Event;
use events::orders::SagaStep;
use orders::saga::Status;
use proptest::prelude::*;
use world::{Answer, Command, Money, Script, TIMEOUTS, World};

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
    /// Slow participants catch up and late replies arrive now.
    Late,
    /// Shipping and payments are healthy again.
    Heal,
    /// An operator retries or cancels the order, whatever its state.
    Operator(Command),
    /// A forger's reply that does not match the order arrives.
    Forge(usize),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (0..8usize).prop_map(Step::Deliver),
        2 => (0..8usize).prop_map(Step::Duplicate),
        2 => (0..16usize).prop_map(Step::Replay),
        2 => Just(Step::Deadline),
        1 => Just(Step::Late),
        1 => Just(Step::Heal),
        1 => Just(Step::Operator(Command::Retry)),
        1 => Just(Step::Operator(Command::Cancel)),
        1 => (0..8usize).prop_map(Step::Forge),
    ]
}

/// A participant's answers, more often failing than not (so that orders get parked).
fn answers(failure: bool) -> impl Strategy<Value = Vec<Answer>> {
    let answer = prop_oneof![
        1 => Just(Answer::Now),
        1 => Just(Answer::Twice),
        2 => Just(Answer::Late),
        2 => Just(Answer::Never),
        1 => Just(if failure { Answer::Fail } else { Answer::Never }),
    ];
    prop::collection::vec(answer, 0..6)
}

/// Participants as they come; with `confirmed`, inventory and payments accept the order at
/// once, so that every run reaches shipment and capture.
fn script(confirmed: bool) -> impl Strategy<Value = Script> {
    let accepted = any::<(bool, bool, bool)>().prop_map(move |(in_stock, ok, late)| {
        (in_stock || confirmed, ok || confirmed, late && !confirmed)
    });
    (accepted, answers(false), answers(true), any::<bool>()).prop_map(
        |((in_stock, payment_ok, payments_late), shipping, capture, operator_cancels)| Script {
            in_stock,
            payment_ok,
            payments_late,
            shipping,
            capture,
            operator_cancels,
        },
    )
}

fn run(mut world: World, steps: Vec<Step>) -> World {
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
            Step::Late => world.catch_up(),
            Step::Heal => world.heal(),
            Step::Operator(command) => world.operator(command),
            Step::Forge(n) => world.forge(n),
            _ => {}
        }
    }
    world.settle();
    world
}

/// Every accepted order ends, and ends settled.
fn assert_settled(world: &World) -> Result<(), TestCaseError> {
    let status = world.saga.status;
    prop_assert!(status.is_terminal(), "ended in {:?}", status);
    let net = world.captures - world.refunds;
    if status == Status::Completed {
        prop_assert_eq!(net, 1);
        prop_assert_eq!(world.money, Money::Captured);
    } else {
        prop_assert_eq!(net, 0);
        let held = matches!(world.money, Money::Authorized | Money::Captured);
        prop_assert!(!held, "credit still held: {:?}", world.money);
        // inventory keeps the stock of a confirmed order sold, even when an operator cancels it
        let sold = world.operator_cancelled && world.committed;
        prop_assert!(
            !world.reserved || world.released || sold,
            "stock stayed reserved"
        );
    }
    if world.committed && !world.operator_cancelled {
        // a confirmed order is never lost: it completes, by itself or after a retry
        prop_assert_eq!(status, Status::Completed);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn the_saga_keeps_its_invariants_under_any_delivery_order(script in script(false), steps in prop::collection::vec(step(), 0..40)) {
        let world = run(World::new(script), steps);
        assert_settled(&world)?;
        let script = &world.script;
        if script.in_stock && script.payment_ok && !script.payments_late {
            // nothing failed before confirmation: only an early deadline or an operator stops it
            prop_assert!(matches!(world.saga.status, Status::Completed | Status::Cancelled));
        }
        if !script.in_stock {
            // rejected, or cancelled when the deadline fired before inventory's answer arrived
            prop_assert!(matches!(world.saga.status, Status::Rejected | Status::Cancelled));
            prop_assert_eq!(world.captures, 0);
        }
    }

    #[test]
    fn a_confirmed_order_survives_failing_shipping_and_payments(script in script(true), steps in prop::collection::vec(step(), 0..60)) {
        assert_settled(&run(World::confirmed(script), steps))?;
    }
}

#[test]
fn the_happy_path_completes() {
    let mut world = World::new(Script::healthy());
    world.drain();
    assert_eq!(world.saga.status, Status::Completed);
    assert_eq!(world.captures, 1);
    assert_eq!(world.parkings, []);
}

#[test]
fn a_late_authorization_is_voided_once() {
    let mut world = World::new(Script {
        payments_late: true,
        ..Script::healthy()
    });
    world.drain();
    assert_eq!(world.saga.status, Status::Cancelled);
    assert_eq!(world.money, Money::Voided);
    assert_eq!(world.saga.voids_requested.len(), 1);
    assert!(world.released);
}

#[test]
fn a_silent_shipping_parks_the_order_after_its_retries_and_a_retry_completes_it() {
    let mut world = World::new(Script {
        shipping: vec![],
        ..Script::healthy()
    });
    world.drain();
    assert_eq!(world.saga.status, Status::NeedsAttention);
    assert_eq!(world.saga.parked_step, Some(SagaStep::Shipment));
    assert_eq!(world.parkings, [SagaStep::Shipment]);
    let shipment_deadlines = world.delivered.iter().filter(
        |event| matches!(event, Event::DeadlinePassed(passed) if passed.step == SagaStep::Shipment),
    );
    assert_eq!(shipment_deadlines.count() as u32, TIMEOUTS.max_retries + 1);
    let reason = world.saga.reason.clone().unwrap_or_default();
    assert!(reason.contains("shipping did not ship"), "{reason}");
    world.heal();
    world.operator(Command::Retry);
    world.drain();
    assert_eq!(world.saga.status, Status::Completed);
    assert_eq!((world.captures, world.refunds), (1, 0));
}

#[test]
fn a_capture_failure_parks_at_once_and_a_cancel_voids_the_authorization() {
    let mut world = World::new(Script {
        capture: vec![Answer::Fail],
        ..Script::healthy()
    });
    world.drain();
    assert_eq!(world.saga.status, Status::NeedsAttention);
    assert_eq!(world.saga.parked_step, Some(SagaStep::Capture));
    let deadlines = world.delivered.iter();
    let capture_deadlines = deadlines.filter(|event| matches!(event, Event::DeadlinePassed(_)));
    assert_eq!(capture_deadlines.count(), 0, "parked at the first answer");
    world.operator(Command::Cancel);
    world.drain();
    assert_eq!(world.saga.status, Status::Cancelled);
    assert_eq!(world.money, Money::Voided);
}

#[test]
fn a_capture_after_parking_completes_the_order() {
    let late = Answer::Late;
    let mut world = World::new(Script {
        capture: vec![late, Answer::Never, Answer::Never],
        ..Script::healthy()
    });
    // the deadlines fire and park the order before payments catches up
    while world.saga.status != Status::NeedsAttention {
        match world.in_flight.pop() {
            Some(event) => world.deliver(event),
            None => world.fire_deadline(),
        }
    }
    assert_eq!(world.saga.parked_step, Some(SagaStep::Capture));
    world.catch_up();
    world.drain();
    assert_eq!(world.saga.status, Status::Completed);
    assert_eq!((world.captures, world.refunds), (1, 0));
}

#[test]
fn a_forged_authorization_parks_the_order_and_payments_own_answer_completes_it() {
    let mut world = World::new(Script::healthy());
    while world.saga.status != Status::AwaitingPayment {
        let event = world.in_flight.pop().expect("inventory's answer");
        world.deliver(event);
    }
    world.forge(0);
    assert_eq!(world.saga.status, Status::NeedsAttention);
    assert_eq!(world.parkings, [SagaStep::Payment]);
    world.drain();
    assert_eq!(world.saga.status, Status::Completed);
    assert_eq!((world.refused, world.captures), (1, 1));
}

#[test]
fn a_forgery_for_a_completed_order_is_refused_and_changes_nothing() {
    let mut world = World::new(Script::healthy());
    world.drain();
    for n in 0..8 {
        world.forge(n);
    }
    assert_eq!(world.saga.status, Status::Completed);
    assert_eq!(world.parkings, []);
    assert_eq!(world.refused, 8);
}
