//! Payments' rules, given / when / then over a temporary store.

use events::orders::{
    PaymentCaptureRequested, PaymentRefundRequested, PaymentRequested, PaymentVoidRequested,
};
use events::payments::{AccountOpened, DeclineReason};
use events::{Event, EventType};
use payments::store::{ACCOUNTS, PAYMENTS};
use payments::store::{Account, PaymentStatus};
use payments::{Payments, Settings};
use runtime::scenario::Scenario;

fn shop(decline_rate: f64, limit: i64) -> Scenario<Payments> {
    let opened = AccountOpened {
        customer_id: "c".into(),
        credit_limit_minor: limit,
        currency: "EUR".into(),
    };
    Scenario::<Payments>::new(Settings { decline_rate }).given([opened.into()])
}

fn request(order_id: &str, customer_id: &str, amount: i64) -> Event {
    PaymentRequested {
        order_id: order_id.into(),
        customer_id: customer_id.into(),
        amount_minor: amount,
        currency: "EUR".into(),
    }
    .into()
}

fn account(shop: &Scenario<Payments>) -> Account {
    ACCOUNTS
        .get(shop.store(), "c")
        .expect("accounts read")
        .expect("the account exists")
}

fn decline_reason(shop: &Scenario<Payments>) -> DeclineReason {
    match shop.emitted_events().as_slice() {
        [Event::PaymentDeclined(declined)] => declined.reason,
        other => panic!("expected a decline, got {other:?}"),
    }
}

#[test]
fn authorizes_within_the_limit_and_declines_beyond() {
    let shop = shop(0.0, 150)
        .when(request("o1", "c", 100))
        .then_types(&[EventType::PaymentAuthorized]);
    assert_eq!(account(&shop).available_minor(), 50);
    let payment = PAYMENTS.get(shop.store(), "o1").unwrap().unwrap();
    assert_eq!(payment.status, PaymentStatus::Authorized);

    let shop = shop.when(request("o2", "c", 200));
    assert_eq!(decline_reason(&shop), DeclineReason::InsufficientCredit);
    assert_eq!(
        account(&shop).available_minor(),
        50,
        "a decline holds nothing"
    );
    let shop = shop.when(request("o3", "nobody", 1));
    assert_eq!(decline_reason(&shop), DeclineReason::UnknownCustomer);
    let shop = self::shop(1.0, 150).when(request("o4", "c", 1));
    assert_eq!(decline_reason(&shop), DeclineReason::IssuerDeclined);
}

#[test]
fn capture_void_and_refund_happen_at_most_once() {
    let capture: Event = PaymentCaptureRequested {
        order_id: "o1".into(),
        authorization_id: "auth-o1".into(),
        amount_minor: 100,
        currency: "EUR".into(),
    }
    .into();
    let refund: Event = PaymentRefundRequested {
        order_id: "o1".into(),
        authorization_id: "auth-o1".into(),
        amount_minor: 100,
        currency: "EUR".into(),
    }
    .into();
    let void = |order_id: &str| -> Event {
        PaymentVoidRequested {
            order_id: order_id.into(),
            authorization_id: format!("auth-{order_id}"),
        }
        .into()
    };
    let shop = shop(0.0, 150)
        .when(request("o1", "c", 100))
        .when(capture.clone())
        .then_types(&[EventType::PaymentCaptured]);
    let captured = account(&shop);
    assert_eq!((captured.held_minor, captured.captured_minor), (0, 100));
    // a repeated capture is answered with the capture again, and moves no money
    let shop = shop
        .when(capture.clone())
        .then_types(&[EventType::PaymentCaptured]);
    assert_eq!(account(&shop), captured);
    let shop = shop
        .when(refund.clone())
        .then_types(&[EventType::PaymentRefunded]);
    assert_eq!(account(&shop).captured_minor, 0);
    let shop = shop.when(refund).then([]).when(void("o1")).then([]);
    assert_eq!(account(&shop).captured_minor, 0, "refunded once");
    // a capture that cannot be made says so
    let shop = shop.when(capture);
    let emitted = shop.emitted_events();
    let [Event::CaptureFailed(failed)] = emitted.as_slice() else {
        panic!("expected capture_failed, got {emitted:?}")
    };
    assert!(failed.reason.contains("refunded"), "{}", failed.reason);

    let shop = shop
        .when(request("o2", "c", 100))
        .when(void("o2"))
        .then_types(&[EventType::PaymentVoided]);
    assert_eq!(account(&shop).available_minor(), 150);

    // a void of a captured payment refunds it: the money goes back either way
    let capture_o3: Event = PaymentCaptureRequested {
        order_id: "o3".into(),
        authorization_id: "auth-o3".into(),
        amount_minor: 100,
        currency: "EUR".into(),
    }
    .into();
    let shop = shop
        .when(request("o3", "c", 100))
        .when(capture_o3)
        .when(void("o3"))
        .then_types(&[EventType::PaymentRefunded]);
    assert_eq!(account(&shop).available_minor(), 150);
}

#[test]
fn a_settlement_for_an_order_without_a_payment_is_refused() {
    shop(0.0, 150)
        .when(
            PaymentVoidRequested {
                order_id: "o9".into(),
                authorization_id: "auth-o9".into(),
            }
            .into(),
        )
        .then_refused("has no payment");
}
