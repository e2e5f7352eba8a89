//! The client commands: each maps its flags to a request to one service's API and prints the
//! reply as a table (or JSON with `--json`). One module per command group; what they share —
//! sending a request, printing a reply, checking a quantity — lives here.

pub(crate) mod account;
pub(crate) mod cart;
pub(crate) mod catalog;
pub(crate) mod health;
pub(crate) mod inventory;
pub(crate) mod order;
pub(crate) mod ticket;

use std::process::ExitCode;

use runtime::ApiClient;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::output::json;
use crate::{Global, connect};

/// Connects, sends one request and prints the reply: what most client commands are.
pub(crate) async fn send_and_print<Request: Serialize, Response: Serialize + DeserializeOwned>(
    global: &Global,
    service: &str,
    verb: &str,
    request: &Request,
    human: impl FnOnce(&Response) -> String,
) -> anyhow::Result<ExitCode> {
    let api = connect::api(global).await?;
    let reply: Response = call(&api, service, verb, request).await?;
    Ok(print(global, &reply, human))
}

/// Sends one request; an API error becomes `<service> <verb>: <message>`.
pub(crate) async fn call<Request: Serialize, Response: DeserializeOwned>(
    api: &ApiClient,
    service: &str,
    verb: &str,
    request: &Request,
) -> anyhow::Result<Response> {
    api.call(service, verb, request)
        .await
        .map_err(|error| anyhow::anyhow!("{service} {verb}: {}", error.message))
}

/// Prints a reply: JSON with `--json`, otherwise what `human` makes of it.
pub(crate) fn print<T: Serialize>(
    global: &Global,
    value: &T,
    human: impl FnOnce(&T) -> String,
) -> ExitCode {
    if global.json {
        print!("{}", json(value));
    } else {
        print!("{}", human(value));
    }
    ExitCode::SUCCESS
}

/// Refuses a quantity below 1 before anything is sent.
pub(crate) fn positive(name: &str, value: i64) -> anyhow::Result<()> {
    anyhow::ensure!(value >= 1, "{name} must be at least 1, got {value}");
    Ok(())
}
