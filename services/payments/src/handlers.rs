//! Payments' event handlers and API endpoints.

use events::api::{Account as AccountView, CustomerRequest, OpenAccount};
use events::payments::AccountOpened;
use events::{Event, EventType, validate};
use runtime::api::require_id;
use runtime::{Api, ApiError, Application, HandleError, Handler, Incoming, State};

use crate::domain::{self, Account, Operation, Payment, PaymentStatus};
use crate::store;

/// Reacts to the saga's payment requests.
#[derive(Debug, Default)]
pub struct PaymentsHandler {
    pub decline_rate: f64,
}

impl Handler for PaymentsHandler {
    fn consumes(&self) -> Vec<EventType> {
        vec![
            EventType::PaymentRequested,
            EventType::PaymentCaptureRequested,
            EventType::PaymentVoidRequested,
            EventType::PaymentRefundRequested,
        ]
    }

    fn trees(&self) -> Vec<&'static str> {
        vec![store::ACCOUNTS, store::PAYMENTS]
    }

    fn handle(
        &self,
        state: &mut State<'_>,
        incoming: &Incoming,
    ) -> Result<Vec<Event>, HandleError> {
        match &incoming.event {
            Event::PaymentRequested(request) => {
                if store::load_payment(state, &request.order_id)?.is_some() {
                    return Ok(vec![]); // one payment per order
                }
                let account = store::load_account(state, &request.customer_id)?;
                let (account, payment, event) =
                    domain::authorize(request, account.as_ref(), self.decline_rate);
                if let Some(account) = account {
                    store::save_account(state, &account)?;
                }
                store::save_payment(state, &payment)?;
                Ok(vec![event])
            }
            Event::PaymentCaptureRequested(request) => {
                settle(state, &request.order_id, Operation::Capture)
            }
            Event::PaymentVoidRequested(request) => {
                settle(state, &request.order_id, Operation::Void)
            }
            Event::PaymentRefundRequested(request) => {
                settle(state, &request.order_id, Operation::Refund)
            }
            _ => Ok(vec![]),
        }
    }

    fn rebuild_from(&self) -> Vec<EventType> {
        vec![
            EventType::AccountOpened,
            EventType::PaymentAuthorized,
            EventType::PaymentDeclined,
            EventType::PaymentCaptured,
            EventType::PaymentVoided,
            EventType::PaymentRefunded,
        ]
    }

    /// Accounts and payments from payments' own events.
    fn evolve(&self, state: &mut State<'_>, incoming: &Incoming) -> Result<(), HandleError> {
        match &incoming.event {
            Event::AccountOpened(opened) => {
                let account = Account {
                    customer_id: opened.customer_id.clone(),
                    credit_limit_minor: opened.credit_limit_minor,
                    currency: opened.currency.clone(),
                    held_minor: 0,
                    captured_minor: 0,
                };
                store::save_account(state, &account)?;
            }
            Event::PaymentAuthorized(e) => {
                if let Some(mut account) = store::load_account(state, &e.customer_id)? {
                    account.held_minor += e.amount_minor;
                    store::save_account(state, &account)?;
                }
                let payment = Payment {
                    order_id: e.order_id.clone(),
                    customer_id: e.customer_id.clone(),
                    authorization_id: e.authorization_id.clone(),
                    amount_minor: e.amount_minor,
                    currency: e.currency.clone(),
                    status: PaymentStatus::Authorized,
                };
                store::save_payment(state, &payment)?;
            }
            Event::PaymentDeclined(e) => {
                let payment = Payment {
                    order_id: e.order_id.clone(),
                    customer_id: e.customer_id.clone(),
                    authorization_id: format!("auth-{}", e.order_id),
                    amount_minor: e.amount_minor,
                    currency: e.currency.clone(),
                    status: PaymentStatus::Declined,
                };
                store::save_payment(state, &payment)?;
            }
            Event::PaymentCaptured(e) => fold_settlement(state, &e.order_id, Operation::Capture)?,
            Event::PaymentVoided(e) => fold_settlement(state, &e.order_id, Operation::Void)?,
            Event::PaymentRefunded(e) => fold_settlement(state, &e.order_id, Operation::Refund)?,
            _ => {}
        }
        Ok(())
    }
}

/// A settlement that happened, replayed: the same bookkeeping as [`settle`], no event.
fn fold_settlement(
    state: &mut State<'_>,
    order_id: &str,
    operation: Operation,
) -> Result<(), HandleError> {
    let Some(payment) = store::load_payment(state, order_id)? else {
        return Ok(());
    };
    let Some(account) = store::load_account(state, &payment.customer_id)? else {
        return Ok(());
    };
    if let Some((account, payment, _)) = domain::settle(&payment, &account, operation) {
        store::save_account(state, &account)?;
        store::save_payment(state, &payment)?;
    }
    Ok(())
}

fn settle(
    state: &mut State<'_>,
    order_id: &str,
    operation: Operation,
) -> Result<Vec<Event>, HandleError> {
    let Some(payment) = store::load_payment(state, order_id)? else {
        return Err(HandleError::Invalid(format!(
            "{operation:?} requested for order {order_id}, which has no payment"
        )));
    };
    let Some(account) = store::load_account(state, &payment.customer_id)? else {
        return Err(HandleError::Invalid(format!(
            "payment of order {order_id} names unknown customer"
        )));
    };
    let Some((account, payment, event)) = domain::settle(&payment, &account, operation) else {
        return Ok(vec![]); // repeated or out of order: nothing to do
    };
    store::save_account(state, &account)?;
    store::save_payment(state, &payment)?;
    Ok(vec![event])
}

pub async fn register_api(app: &Application) -> anyhow::Result<()> {
    app.add_endpoint("open_account", open_account).await?;
    app.add_endpoint("get_account", get_account).await
}

fn view(account: &Account) -> AccountView {
    AccountView {
        customer_id: account.customer_id.clone(),
        credit_limit_minor: account.credit_limit_minor,
        currency: account.currency.clone(),
        held_minor: account.held_minor,
        captured_minor: account.captured_minor,
        available_minor: account.available_minor(),
    }
}

async fn open_account(api: Api, request: OpenAccount) -> Result<AccountView, ApiError> {
    require_id("customer_id", &request.customer_id)?;
    let event = AccountOpened {
        customer_id: request.customer_id.clone(),
        credit_limit_minor: request.credit_limit_minor,
        currency: request.currency.clone(),
    };
    validate::Validate::validate(&event)
        .map_err(|error| ApiError::bad_request(error.to_string()))?;
    api.command(move |state| {
        if store::load_account(state, &event.customer_id)?.is_some() {
            return Err(ApiError::conflict(format!(
                "account {} already exists",
                event.customer_id
            )));
        }
        let account = Account {
            customer_id: event.customer_id.clone(),
            credit_limit_minor: event.credit_limit_minor,
            currency: event.currency.clone(),
            held_minor: 0,
            captured_minor: 0,
        };
        store::save_account(state, &account)?;
        Ok((view(&account), vec![event.clone().into()]))
    })
    .await
}

async fn get_account(api: Api, request: CustomerRequest) -> Result<AccountView, ApiError> {
    let account = store::get_account(api.store(), &request.customer_id)?
        .ok_or_else(|| ApiError::not_found(format!("unknown customer {}", request.customer_id)))?;
    Ok(view(&account))
}
