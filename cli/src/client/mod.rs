//! The client commands: each maps its flags to a request to one service's API and prints the
//! reply as a table (or JSON with `--json`). One module per command group; what they share —
//! sending a request, reading every page of a list, printing a reply, checking a quantity —
//! lives here.

pub(crate) mod account;
pub(crate) mod amount;
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

use crate::output::{escaped, json};
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

/// A list request whose replies come in pages (`catalog.list`, `orders.list`, `support.list`).
pub(crate) trait ListRequest: Serialize {
    /// The reply: one page of items and the next page's cursor.
    type Page: Serialize + DeserializeOwned;

    /// Asks for the page that starts at `cursor`.
    fn start_at(&mut self, cursor: String);

    /// Takes a page's `next_cursor` out of it (`None` on the last page).
    fn take_next_cursor(page: &mut Self::Page) -> Option<String>;

    /// Moves `page`'s items and its `next_cursor` onto the end of `all`.
    fn append(all: &mut Self::Page, page: Self::Page);
}

/// Asks a list endpoint for page after page, following `next_cursor`, and returns every item
/// in one reply (whose `next_cursor` is null).
pub(crate) async fn call_every_page<Request: ListRequest>(
    api: &ApiClient,
    service: &str,
    verb: &str,
    mut request: Request,
) -> anyhow::Result<Request::Page> {
    let mut all: Request::Page = call(api, service, verb, &request).await?;
    let mut previous = None;
    while let Some(cursor) = Request::take_next_cursor(&mut all) {
        // a service that handed out the same cursor twice would keep us here for ever
        anyhow::ensure!(
            previous.as_ref() != Some(&cursor),
            "{service} {verb}: the reply repeated cursor {cursor}"
        );
        request.start_at(cursor.clone());
        let page = call(api, service, verb, &request).await?;
        Request::append(&mut all, page);
        previous = Some(cursor);
    }
    Ok(all)
}

/// Connects, reads every page of a list and prints the items as one reply.
pub(crate) async fn list_and_print<Request: ListRequest>(
    global: &Global,
    service: &str,
    verb: &str,
    request: Request,
    human: impl FnOnce(&Request::Page) -> String,
) -> anyhow::Result<ExitCode> {
    let api = connect::api(global).await?;
    let all = call_every_page(&api, service, verb, request).await?;
    Ok(print(global, &all, human))
}

/// Sends one request; an API error becomes `<service> <verb>: <message>`, the message
/// [escaped](crate::output::escaped) (it is the service's text, and often echoes the request).
pub(crate) async fn call<Request: Serialize, Response: DeserializeOwned>(
    api: &ApiClient,
    service: &str,
    verb: &str,
    request: &Request,
) -> anyhow::Result<Response> {
    api.call(service, verb, request)
        .await
        .map_err(|error| anyhow::anyhow!("{service} {verb}: {}", escaped(&error.message)))
}

/// Prints a reply: JSON with `--json`, otherwise what `human` makes of it.
pub(crate) fn print<T: Serialize>(
    global: &Global,
    value: &T,
    human: impl FnOnce(&T) -> String,
) -> ExitCode {
    let text = if global.json {
        json(value)
    } else {
        human(value)
    };
    // `shopctl order list | head` closes the pipe early: no panic, no error
    match crate::output::write_stdout(text.as_bytes()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Refuses a quantity below 1 before anything is sent.
pub(crate) fn positive(name: &str, value: i64) -> anyhow::Result<()> {
    anyhow::ensure!(value >= 1, "{name} must be at least 1, got {value}");
    Ok(())
}
