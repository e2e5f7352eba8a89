//! The saga checks what it is told, given / when / then over a temporary store: a reply that
//! does not match the order (an authorization of another amount, currency or customer, a
//! reservation of other lines, a capture of another authorization) is dead-lettered, and the
//! order it would have moved on is parked instead; the same mismatch for an order that is
//! finished or past that step is only dead-lettered; a matching reply, and its duplicate, go
//! on as before; an order parked this way is resolved by the participant's own answer, an
//! operator's cancel, or (at the payment step) a retry.

use events::inventory::{
    RejectionReason, ReservationRejected, ShortLine, StockLine, StockReserved,
};
use events::orders::{
    OrderCompleted, OrderConfirmed, OrderLine, OrderPlaced, PaymentCaptureRequested,
    PaymentRequested, SagaStep,
};
use events::payments::{
    CaptureFailed, DeclineReason, PaymentAuthorized, PaymentCaptured, PaymentDeclined,
};
use events::{Event, EventType, Timestamp};
use orders::saga::{self, Effect, Saga, Status};
use orders::store::ORDERS;
use orders::{Orders, Settings};
use runtime::scenario::Scenario;

const ORDER: &str = "o1";
const AUTHORIZATION: &str = "auth-o1";

/// TEA × 2 at 899 and MUG × 1 at 1450: 3248 EUR minor units, for customer `c1`.
fn placed() -> Event {
    let line = |sku: &str, quantity: u32, price: i64| OrderLine {
        sku: sku.into(),
        quantity,
        unit_price_minor: price,
        line_total_minor: price * i64::from(quantity),
    };
    OrderPlaced {
        order_id: ORDER.into(),
        customer_id: "c1".into(),
        lines: vec![line("MUG", 1, 1450), line("TEA", 2, 899)],
        total_minor: 3248,
        currency: "EUR".into(),
    }
    .into()
}

fn payment_requested() -> Event {
    PaymentRequested {
        order_id: ORDER.into(),
        customer_id: "c1".into(),
        amount_minor: 3248,
        currency: "EUR".into(),
    }
    .into()
}

fn confirmed() -> Event {
    let Event::OrderPlaced(placed) = placed() else {
        unreachable!()
    };
    OrderConfirmed {
        order_id: ORDER.into(),
        customer_id: placed.customer_id,
        lines: placed.lines,
        total_minor: placed.total_minor,
        currency: placed.currency,
        authorization_id: Some(AUTHORIZATION.into()),
    }
    .into()
}

fn capture_requested() -> Event {
    PaymentCaptureRequested {
        order_id: ORDER.into(),
        authorization_id: AUTHORIZATION.into(),
        amount_minor: 3248,
        currency: "EUR".into(),
    }
    .into()
}

fn authorized(customer_id: &str, amount_minor: i64, currency: &str) -> Event {
    PaymentAuthorized {
        order_id: ORDER.into(),
        customer_id: customer_id.into(),
        authorization_id: AUTHORIZATION.into(),
        amount_minor,
        currency: currency.into(),
    }
    .into()
}

fn reserved(lines: &[(&str, u32)]) -> Event {
    let lines = lines
        .iter()
        .map(|(sku, quantity)| StockLine {
            sku: (*sku).into(),
            quantity: *quantity,
        })
        .collect();
    StockReserved {
        order_id: ORDER.into(),
        lines,
    }
    .into()
}

fn captured(authorization_id: &str, amount_minor: i64) -> Event {
    PaymentCaptured {
        order_id: ORDER.into(),
        authorization_id: authorization_id.into(),
        amount_minor,
        currency: "EUR".into(),
    }
    .into()
}

/// The shop with an order waiting for its payment.
fn awaiting_payment() -> Scenario<Orders> {
    Scenario::<Orders>::new(Settings::default()).given([placed(), payment_requested()])
}

/// The shop with a shipped order waiting for its capture.
fn shipped() -> Scenario<Orders> {
    awaiting_payment().given([confirmed(), capture_requested()])
}

fn saga(shop: &Scenario<Orders>) -> Saga {
    ORDERS
        .get(shop.store(), ORDER)
        .expect("orders read")
        .expect("the order")
}

/// Asserts the last step parked the order at `step` with a reason containing `reason`.
fn assert_parked(shop: &Scenario<Orders>, step: SagaStep, reason: &str) {
    match shop.emitted_events().as_slice() {
        [Event::OrderParked(parked)] => {
            assert_eq!(parked.step, step);
            assert!(parked.reason.contains(reason), "{}", parked.reason);
        }
        other => panic!("expected orders.parked, got {other:?}"),
    }
    let saga = saga(shop);
    assert_eq!(saga.status, Status::NeedsAttention);
    assert_eq!(saga.parked_step, Some(step));
}

#[test]
fn an_authorization_of_another_amount_is_dead_lettered_and_parks_the_order() {
    let shop = awaiting_payment()
        .when(authorized("c1", 100, "EUR"))
        .then_refused("amount_minor 100")
        .then_types(&[EventType::OrderParked]);
    assert_parked(&shop, SagaStep::Payment, "the order's total 3248");
    assert_eq!(saga(&shop).authorization_id, None, "nothing recorded");
}

#[test]
fn an_authorization_for_another_customer_or_in_another_currency_parks_the_order() {
    let shop = awaiting_payment()
        .when(authorized("mallory", 3248, "EUR"))
        .then_refused("customer_id \"mallory\"");
    assert_parked(&shop, SagaStep::Payment, "the order's \"c1\"");
    let shop = awaiting_payment()
        .when(authorized("c1", 3248, "USD"))
        .then_refused("currency USD");
    assert_parked(&shop, SagaStep::Payment, "currency USD");
}

#[test]
fn a_matching_authorization_confirms_and_another_copy_of_it_changes_nothing() {
    let shop = awaiting_payment()
        .when(authorized("c1", 3248, "EUR"))
        .then_types(&[EventType::OrderConfirmed]);
    assert_eq!(shop.refusal(), None);
    assert_eq!(saga(&shop).status, Status::Confirmed);
    let shop = shop.when(authorized("c1", 3248, "EUR")).then([]);
    assert_eq!(shop.refusal(), None, "a copy of a good reply is harmless");
    assert_eq!(saga(&shop).status, Status::Confirmed);
}

#[test]
fn a_decline_of_another_amount_parks_the_order_instead_of_cancelling_it() {
    let declined = PaymentDeclined {
        order_id: ORDER.into(),
        customer_id: "c1".into(),
        reason: DeclineReason::InsufficientCredit,
        amount_minor: 1,
        currency: "EUR".into(),
    };
    let shop = awaiting_payment()
        .when(declined.into())
        .then_refused("payments.declined");
    assert_parked(&shop, SagaStep::Payment, "amount_minor 1");
}

#[test]
fn a_reservation_of_other_lines_is_dead_lettered_and_parks_the_order() {
    let shop = Scenario::<Orders>::new(Settings::default())
        .given([placed()])
        .when(reserved(&[("KETTLE", 5)]))
        .then_refused("KETTLE × 5");
    assert_parked(&shop, SagaStep::Reservation, "MUG × 1, TEA × 2");
    // the same skus with other quantities do not match either
    let shop = Scenario::<Orders>::new(Settings::default())
        .given([placed()])
        .when(reserved(&[("MUG", 1), ("TEA", 1)]))
        .then_refused("inventory.stock_reserved");
    assert_parked(&shop, SagaStep::Reservation, "TEA × 1");
}

#[test]
fn the_order_s_lines_in_any_order_are_a_match() {
    let shop = Scenario::<Orders>::new(Settings::default())
        .given([placed()])
        .when(reserved(&[("TEA", 2), ("MUG", 1)]))
        .then_types(&[EventType::PaymentRequested]);
    assert_eq!(shop.refusal(), None);
}

#[test]
fn a_rejection_that_names_lines_the_order_does_not_have_parks_the_order() {
    let short = |sku: &str, requested, available| ShortLine {
        sku: sku.into(),
        requested,
        available,
    };
    let rejected = |short_lines| ReservationRejected {
        order_id: ORDER.into(),
        reason: RejectionReason::InsufficientStock,
        short_lines,
    };
    let given = || Scenario::<Orders>::new(Settings::default()).given([placed()]);
    let shop = given()
        .when(rejected(vec![short("KETTLE", 1, 0)]).into())
        .then_refused("KETTLE");
    assert_parked(&shop, SagaStep::Reservation, "not in the order");
    let shop = given()
        .when(rejected(vec![short("TEA", 2, 5)]).into())
        .then_refused("available 5");
    assert_parked(&shop, SagaStep::Reservation, "TEA");
    given()
        .when(rejected(vec![short("TEA", 2, 1)]).into())
        .then_types(&[EventType::OrderRejected]);
}

#[test]
fn a_capture_of_another_authorization_or_amount_parks_a_shipped_order() {
    let shop = shipped()
        .when(captured("auth-forged", 3248))
        .then_refused("authorization \"auth-forged\"");
    assert_parked(&shop, SagaStep::Capture, "\"auth-o1\"");
    let shop = shipped()
        .when(captured(AUTHORIZATION, 1))
        .then_refused("amount_minor 1");
    assert_parked(&shop, SagaStep::Capture, "payments.captured");
    let failed = CaptureFailed {
        order_id: ORDER.into(),
        authorization_id: "auth-forged".into(),
        reason: "the payment is voided".into(),
    };
    let shop = shipped()
        .when(failed.into())
        .then_refused("payments.capture_failed");
    assert_parked(&shop, SagaStep::Capture, "auth-forged");
    shipped()
        .when(captured(AUTHORIZATION, 3248))
        .then_types(&[EventType::OrderCompleted]);
}

#[test]
fn a_mismatch_for_a_finished_order_is_only_dead_lettered() {
    let completed = OrderCompleted {
        order_id: ORDER.into(),
        customer_id: "c1".into(),
    };
    let shop = shipped()
        .given([completed.into()])
        .when(authorized("c1", 1, "EUR"))
        .then_refused("amount_minor 1")
        .then([]);
    assert_eq!(saga(&shop).status, Status::Completed);
    // a forged capture of a completed order asks for no refund
    let shop = shop
        .when(captured("auth-forged", 3248))
        .then_refused("auth-forged");
    assert!(shop.emitted_events().is_empty());
    assert_eq!(saga(&shop).status, Status::Completed);
}

#[test]
fn a_cancelled_order_voids_a_late_authorization_that_matches_and_no_other() {
    let deadline = events::orders::DeadlinePassed {
        order_id: ORDER.into(),
        step: SagaStep::Payment,
        deadline: Timestamp::UNIX_EPOCH,
    };
    let shop = awaiting_payment()
        .when(deadline.into())
        .then_types(&[EventType::OrderCancelled]);
    let shop = shop
        .when(authorized("c1", 100, "EUR"))
        .then_refused("amount_minor 100")
        .then([]);
    assert_eq!(saga(&shop).status, Status::Cancelled);
    shop.when(authorized("c1", 3248, "EUR"))
        .then_types(&[EventType::PaymentVoidRequested]);
}

#[test]
fn a_mismatch_for_a_step_already_done_is_only_dead_lettered() {
    let shop = awaiting_payment()
        .when(reserved(&[("KETTLE", 5)]))
        .then_refused("KETTLE")
        .then([]);
    assert_eq!(saga(&shop).status, Status::AwaitingPayment);
    let shop = shipped()
        .when(authorized("c1", 1, "EUR"))
        .then_refused("amount_minor 1")
        .then([]);
    assert_eq!(saga(&shop).status, Status::Shipped);
}

#[test]
fn a_parked_order_is_not_parked_again_and_goes_on_with_the_true_answer() {
    let shop = awaiting_payment()
        .when(authorized("c1", 100, "EUR"))
        .then_types(&[EventType::OrderParked])
        .when(authorized("c1", 200, "EUR"))
        .then_refused("amount_minor 200")
        .then([]);
    let reason = saga(&shop).reason.unwrap_or_default();
    assert!(reason.contains("amount_minor 100"), "{reason}");
    let shop = shop
        .when(authorized("c1", 3248, "EUR"))
        .then_types(&[EventType::OrderConfirmed]);
    assert_eq!(saga(&shop).status, Status::Confirmed);
    assert_eq!(saga(&shop).authorization_id.as_deref(), Some(AUTHORIZATION));
}

#[test]
fn inventory_s_true_answer_goes_on_from_a_reservation_parking() {
    let shop = Scenario::<Orders>::new(Settings::default())
        .given([placed()])
        .when(reserved(&[("KETTLE", 5)]))
        .then_types(&[EventType::OrderParked])
        .when(reserved(&[("MUG", 1), ("TEA", 2)]))
        .then_types(&[EventType::PaymentRequested]);
    assert_eq!(saga(&shop).status, Status::AwaitingPayment);
}

#[test]
fn a_retry_asks_for_the_payment_again_but_cannot_ask_inventory_again() {
    let timeouts = Settings::default().timeouts();
    let now = Timestamp::UNIX_EPOCH;
    let shop = awaiting_payment()
        .when(authorized("c1", 100, "EUR"))
        .then_types(&[EventType::OrderParked]);
    let effects = saga::retry(&saga(&shop), now, timeouts).expect("a retry");
    let requests: Vec<&Event> = effects
        .iter()
        .filter_map(|effect| match effect {
            Effect::Emit(event) => Some(event),
            _ => None,
        })
        .collect();
    assert_eq!(requests, [&payment_requested()]);
    let deadline = effects
        .iter()
        .any(|effect| matches!(effect, Effect::Deadline(..)));
    assert!(deadline, "the payment deadline runs again");

    let shop = Scenario::<Orders>::new(Settings::default())
        .given([placed()])
        .when(reserved(&[("KETTLE", 5)]))
        .then_types(&[EventType::OrderParked]);
    let refused = saga::retry(&saga(&shop), now, timeouts).expect_err("no retry");
    assert!(refused.to_string().contains("inventory"), "{refused}");
    let cancel = saga::operator_cancel(&saga(&shop)).expect("a cancel");
    assert!(
        cancel
            .iter()
            .any(|effect| matches!(effect, Effect::Emit(Event::OrderCancelled(_)))),
        "{cancel:?}"
    );
}
