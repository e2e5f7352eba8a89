//! Payments' API endpoints: `open_account` (a command) and `get_account` (a query).

use events::api::{Account as AccountView, CustomerRequest, OpenAccount};
use events::payments::AccountOpened;
use runtime::api::require_id;
use runtime::{Api, ApiError, Endpoints};

use crate::domain::{self, PaymentsError};
use crate::store::{ACCOUNTS, Account};

pub fn endpoints(endpoints: &mut Endpoints) {
    endpoints
        .add("open_account", open_account)
        .add("get_account", get_account);
}

/// The API's view of an account.
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
    let opened = AccountOpened {
        customer_id: request.customer_id.clone(),
        credit_limit_minor: request.credit_limit_minor,
        currency: request.currency.clone(),
    };
    domain::open_account(None, opened.clone())?; // refuse bad input before the transaction
    let customer_id = request.customer_id;
    api.command(
        customer_id.clone(),
        move |state| {
            let existing = ACCOUNTS.load(state, &opened.customer_id)?;
            Ok(vec![domain::open_account(
                existing.as_ref(),
                opened.clone(),
            )?])
        },
        move |state, _| {
            let account = ACCOUNTS
                .load(state, &customer_id)?
                .ok_or_else(|| PaymentsError::UnknownCustomer(customer_id.clone()))?;
            Ok(view(&account))
        },
    )
    .await
}

async fn get_account(api: Api, request: CustomerRequest) -> Result<AccountView, ApiError> {
    require_id("customer_id", &request.customer_id)?;
    let account = ACCOUNTS
        .get(api.store(), &request.customer_id)?
        .ok_or_else(|| PaymentsError::UnknownCustomer(request.customer_id.clone()))?;
    Ok(view(&account))
}
