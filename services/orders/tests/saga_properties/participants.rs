//! The participants' models: inventory reserves (or rejects), payments authorizes (or
//! declines), captures, voids and refunds like the real service, and shipping ships; each
//! answers a shipment or capture request as the script says (now, late, never, twice, or
//! with a capture failure). The saga's own events reach them through `World::apply`. A
//! forger sends [`forgeries`]: replies that never match the order.

use std::collections::VecDeque;

use events::Event;
use events::inventory::{
    RejectionReason, ReservationRejected, ShortLine, StockLine, StockReserved,
};
use events::orders::SagaStep;
use events::payments::{
    CaptureFailed, DeclineReason, PaymentAuthorized, PaymentCaptured, PaymentDeclined,
    PaymentRefunded, PaymentVoided,
};
use events::shipping::Shipped;

use super::{Answer, Money, TIMEOUTS, World};

/// A capture, void or refund of the order's payment.
macro_rules! settled {
    ($event:ident) => {
        $event {
            order_id: "o1".into(),
            authorization_id: "auth-o1".into(),
            amount_minor: 500,
            currency: "EUR".into(),
        }
    };
}

impl World {
    /// What the participants do about one of the saga's events.
    pub(super) fn participants(&mut self, event: &Event) {
        let limit = TIMEOUTS.max_retries + 1;
        match event {
            Event::OrderPlaced(_) => self.reserve(),
            Event::PaymentRequested(request) => self.authorize(request.amount_minor),
            Event::OrderConfirmed(_) => {
                if self.reserved && !self.released {
                    self.committed = true;
                }
                self.shipment_requests += 1;
                self.ask_shipping(event);
            }
            Event::ShipmentRequested(request) => {
                self.shipment_requests += 1;
                assert!(
                    self.shipment_requests <= limit,
                    "shipment requested too often"
                );
                assert_eq!(
                    request.attempt + 1,
                    self.shipment_requests,
                    "attempt numbers"
                );
                self.ask_shipping(event);
            }
            Event::PaymentCaptureRequested(_) => {
                self.capture_requests += 1;
                assert!(
                    self.capture_requests <= limit,
                    "capture requested too often"
                );
                match self.next_answer(|world| &mut world.capture) {
                    Answer::Now => self.capture(1),
                    Answer::Twice => self.capture(2),
                    Answer::Late => self.backlog.push(event.clone()),
                    Answer::Never => {}
                    Answer::Fail if self.money == Money::Authorized => {
                        self.reply(capture_failed("the issuer refused"));
                    }
                    Answer::Fail => self.capture(1),
                }
            }
            Event::OrderParked(parked) => {
                assert_ne!(parked.step, SagaStep::Unknown);
                self.parkings.push(parked.step);
                self.shipment_requests = 0;
                self.capture_requests = 0;
            }
            Event::OrderCancelled(_) if self.reserved && !self.committed => self.released = true,
            // payments refunds a void of a captured payment: the intent is to release the money
            Event::PaymentVoidRequested(_) if self.money == Money::Authorized => {
                self.money = Money::Voided;
                self.reply(settled!(PaymentVoided).into());
            }
            Event::PaymentVoidRequested(_) | Event::PaymentRefundRequested(_)
                if self.money == Money::Captured =>
            {
                self.money = Money::Refunded;
                self.refunds += 1;
                self.reply(settled!(PaymentRefunded).into());
            }
            _ => {}
        }
    }

    fn reserve(&mut self) {
        let order_id = String::from("o1");
        let reply: Event = if self.script.in_stock {
            self.reserved = true;
            let line = StockLine {
                sku: "A".into(),
                quantity: 1,
            };
            let lines = vec![line];
            StockReserved { order_id, lines }.into()
        } else {
            let reason = RejectionReason::InsufficientStock;
            let short_lines = vec![];
            ReservationRejected {
                order_id,
                reason,
                short_lines,
            }
            .into()
        };
        self.reply(reply);
    }

    fn authorize(&mut self, amount_minor: i64) {
        if self.money != Money::None {
            return; // one payment per order
        }
        let (order_id, customer_id, currency) = ("o1".into(), "c1".into(), "EUR".into());
        let reply: Event = if self.script.payment_ok {
            self.money = Money::Authorized;
            let authorization_id = "auth-o1".into();
            PaymentAuthorized {
                order_id,
                customer_id,
                authorization_id,
                amount_minor,
                currency,
            }
            .into()
        } else {
            self.money = Money::Declined;
            let reason = DeclineReason::InsufficientCredit;
            PaymentDeclined {
                order_id,
                customer_id,
                reason,
                amount_minor,
                currency,
            }
            .into()
        };
        if self.script.payments_late {
            self.late.push(reply)
        } else {
            self.reply(reply)
        }
    }

    /// The confirmation or a shipment request reaches shipping.
    fn ask_shipping(&mut self, request: &Event) {
        match self.next_answer(|world| &mut world.shipping) {
            Answer::Now => self.ship(1),
            Answer::Twice => self.ship(2),
            Answer::Late => self.backlog.push(request.clone()),
            Answer::Never | Answer::Fail => {}
        }
    }

    fn next_answer(&mut self, answers: fn(&mut World) -> &mut VecDeque<Answer>) -> Answer {
        let next = answers(self).pop_front().unwrap_or(Answer::Never);
        if self.healed { Answer::Now } else { next }
    }

    fn ship(&mut self, replies: usize) {
        for _ in 0..replies {
            let shipment_id = "s1".into();
            let tracking_number = String::new();
            self.reply(
                Shipped {
                    order_id: "o1".into(),
                    shipment_id,
                    tracking_number,
                }
                .into(),
            );
        }
    }

    /// Payments' answer to a capture: captured (again, for a captured payment) or failed.
    fn capture(&mut self, replies: usize) {
        if self.money == Money::Authorized {
            self.money = Money::Captured;
            self.captures += 1;
        }
        for _ in 0..replies {
            let reply = match self.money {
                Money::Captured => settled!(PaymentCaptured).into(),
                money => capture_failed(&format!("the payment is {money:?}")),
            };
            self.reply(reply);
        }
    }

    fn reply(&mut self, event: Event) {
        self.in_flight.push(event);
    }

    /// Slow participants catch up with their requests, and late replies arrive.
    pub(crate) fn catch_up(&mut self) {
        for request in std::mem::take(&mut self.backlog) {
            match request {
                Event::PaymentCaptureRequested(_) => self.capture(1),
                _ => self.ship(1),
            }
        }
        while let Some(event) = self.late.pop() {
            self.deliver(event);
        }
    }
}

/// Replies a forger publishes for the order: each differs from what the order is in one way
/// (amount, customer, lines, authorization).
pub(super) fn forgeries() -> Vec<Event> {
    let (order_id, customer_id) = (|| String::from("o1"), || String::from("c1"));
    let currency = || "EUR";
    let line = |sku: &str, quantity| StockLine {
        sku: sku.into(),
        quantity,
    };
    vec![
        PaymentAuthorized {
            order_id: order_id(),
            customer_id: customer_id(),
            authorization_id: "auth-o1".into(),
            amount_minor: 1,
            currency: currency().into(),
        }
        .into(),
        PaymentAuthorized {
            order_id: order_id(),
            customer_id: "mallory".into(),
            authorization_id: "auth-forged".into(),
            amount_minor: 500,
            currency: currency().into(),
        }
        .into(),
        PaymentDeclined {
            order_id: order_id(),
            customer_id: customer_id(),
            reason: DeclineReason::IssuerDeclined,
            amount_minor: 1,
            currency: currency().into(),
        }
        .into(),
        StockReserved {
            order_id: order_id(),
            lines: vec![line("A", 1), line("B", 1)],
        }
        .into(),
        ReservationRejected {
            order_id: order_id(),
            reason: RejectionReason::InsufficientStock,
            short_lines: vec![ShortLine {
                sku: "B".into(),
                requested: 1,
                available: 0,
            }],
        }
        .into(),
        PaymentCaptured {
            authorization_id: "auth-forged".into(),
            ..settled!(PaymentCaptured)
        }
        .into(),
        PaymentCaptured {
            amount_minor: 1,
            ..settled!(PaymentCaptured)
        }
        .into(),
        CaptureFailed {
            order_id: order_id(),
            authorization_id: "auth-forged".into(),
            reason: "the payment is voided".into(),
        }
        .into(),
    ]
}

fn capture_failed(reason: &str) -> Event {
    CaptureFailed {
        order_id: "o1".into(),
        authorization_id: "auth-o1".into(),
        reason: reason.to_lowercase(),
    }
    .into()
}
