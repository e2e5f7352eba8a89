//! A hostile-request sweep over the whole shop: every endpoint that `$SRV.INFO` lists gets
//! malformed bodies (empty, not JSON, not UTF-8, the wrong shape, nested past any parser's
//! limit, around and over the size limit) and a valid request with each of its fields in turn
//! made hostile (control characters, subject wildcards, dots, 129+ characters, huge strings,
//! numbers out of range or not integers, nulls, the wrong type), plus unknown fields. Every
//! request must be answered — a reply, or a coded error among 400, 404, 409, 413, 422 and 503
//! (no 500, no silence) — nothing may be dead-lettered, and every service must still serve an
//! ordinary request afterwards.

mod bodies;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use futures::StreamExt;
use serde_json::{Value, json};
use testkit::TestShop;

use bodies::{hostile_fields, odd_bodies, refused_bodies};

/// Error codes a hostile request may get; anything else (a 500 above all) is a bug.
const ALLOWED: &[u16] = &[400, 404, 409, 413, 422, 503];

/// How long one request may wait for its answer.
const ANSWER: Duration = Duration::from_secs(5);

/// Requests in flight at once (well under the services' 503 bound).
const CONCURRENCY: usize = 8;

/// The fewest requests each endpoint must get.
const AT_LEAST_PER_ENDPOINT: usize = 20;

/// Ids made during the set-up, for valid requests to start from.
struct Ids {
    order: String,
    ticket: String,
}

/// One endpoint as `$SRV.INFO` lists it.
#[derive(Debug, Clone)]
struct Endpoint {
    service: String,
    verb: String,
    subject: String,
}

/// What one request got.
enum Answer {
    Reply,
    Error(u16, String),
    Silence(String),
}

/// A valid request for each endpoint the contract lists; the hostile ones are made from it.
fn valid_request(service: &str, verb: &str, ids: &Ids) -> Value {
    let (order, ticket) = (ids.order.as_str(), ids.ticket.as_str());
    match (service, verb) {
        ("catalog", "add") => {
            json!({"sku": "HOSTILE", "name": "n", "description": "d", "price_minor": 100, "currency": "EUR"})
        }
        ("catalog", "update") => json!({"sku": "MUG", "name": "mug", "price_minor": 1450}),
        ("catalog", "discontinue") => json!({"sku": "KETTLE"}),
        ("catalog" | "inventory", "get") => json!({"sku": "TEA"}),
        ("catalog", "list") => json!({"limit": 10, "cursor": null}),
        ("inventory", "restock") => json!({"sku": "TEA", "quantity": 1}),
        ("orders", "cart_add") => json!({"customer_id": "rich", "sku": "TEA", "quantity": 1}),
        ("orders", "cart_remove") => json!({"customer_id": "rich", "sku": "TEA"}),
        ("orders", "cart_show") => json!({"customer_id": "rich"}),
        ("orders", "place") => json!({
            "customer_id": "rich",
            "items": [{"sku": "TEA", "quantity": 1}],
            "order_id": null
        }),
        ("orders" | "shipping", "get") | ("orders", "retry" | "cancel") => {
            json!({"order_id": order})
        }
        ("orders", "list") => json!({"customer_id": "rich", "limit": 10, "cursor": null}),
        ("payments", "open_account") => {
            json!({"customer_id": "hostile", "credit_limit_minor": 1000, "currency": "EUR"})
        }
        ("payments", "get_account") => json!({"customer_id": "rich"}),
        ("support", "open") => json!({"customer_id": "rich", "order_id": order, "message": "m"}),
        ("support", "list") => json!({"order_id": order, "limit": 10, "cursor": null}),
        ("support", "resolve") => json!({"ticket_id": ticket, "resolution": "r"}),
        // status, and any endpoint added since: the fields every request of the shop uses
        _ => json!({"sku": "TEA", "customer_id": "rich", "order_id": order, "limit": 10}),
    }
}

/// The id a create endpoint's request names for the entity it creates: made unique in each
/// hostile request (unless that request makes the id itself hostile), so that the other
/// fields' checks are reached instead of a 409 for an entity made by the request before.
fn created_id(service: &str, verb: &str) -> Option<&'static str> {
    match (service, verb) {
        ("catalog", "add") => Some("/sku"),
        ("payments", "open_account") => Some("/customer_id"),
        _ => None,
    }
}

/// Every endpoint of every service, from `$SRV.INFO.<service>`.
async fn discover(shop: &TestShop) -> Vec<Endpoint> {
    let mut endpoints = Vec::new();
    for service in stack::SERVICES {
        let subject = format!("$SRV.INFO.{service}");
        let info = shop.bed.client.request(subject, "".into()).await;
        let info: Value = serde_json::from_slice(&info.expect("$SRV.INFO").payload).expect("info");
        assert_eq!(info["metadata"]["prefix"], shop.bed.prefix(), "{info}");
        let listed = info["endpoints"].as_array().cloned().unwrap_or_default();
        for endpoint in listed {
            let subject = endpoint["subject"].as_str().expect("subject").to_owned();
            let verb = subject.rsplit('.').next().expect("verb").to_owned();
            endpoints.push(Endpoint {
                service: (*service).to_owned(),
                verb,
                subject,
            });
        }
    }
    endpoints.sort_by(|a, b| a.subject.cmp(&b.subject));
    endpoints
}

/// Sends one request and reads its answer: a reply, or the error in the headers docs/api.md
/// names.
async fn send(shop: &TestShop, subject: &str, body: Vec<u8>) -> Answer {
    let request = shop.bed.client.request(subject.to_owned(), body.into());
    let reply = match tokio::time::timeout(ANSWER, request).await {
        Ok(Ok(reply)) => reply,
        Ok(Err(error)) => return Answer::Silence(error.to_string()),
        Err(_) => return Answer::Silence(format!("nothing within {ANSWER:?}")),
    };
    let header = |name: &str| {
        let value = reply.headers.as_ref()?.get(name)?;
        Some(value.as_str().to_owned())
    };
    match header("Nats-Service-Error-Code") {
        None => Answer::Reply,
        Some(code) => Answer::Error(
            code.parse().unwrap_or(0),
            header("Nats-Service-Error").unwrap_or_default(),
        ),
    }
}

/// Seeds the shop and makes an order and a ticket for the valid requests to name.
async fn set_up(shop: &TestShop) -> Ids {
    shop.seed(5).await;
    let order = shop.place("rich", &[("TEA", 1)]).await.expect("an order");
    let request = json!({"customer_id": "rich", "order_id": order.order_id, "message": "hello"});
    let ticket: Value = shop
        .api
        .call("support", "open", &request)
        .await
        .expect("a ticket");
    Ids {
        order: order.order_id,
        ticket: ticket["ticket_id"].as_str().expect("ticket_id").to_owned(),
    }
}

/// One hostile request: where it goes, what it is, and whether it must be refused.
struct Hostile {
    endpoint: Endpoint,
    label: String,
    body: Vec<u8>,
    refused: bool,
}

/// Every hostile request for one endpoint.
fn hostile_requests(endpoint: &Endpoint, ids: &Ids) -> Vec<Hostile> {
    let valid = valid_request(&endpoint.service, &endpoint.verb, ids);
    let created = created_id(&endpoint.service, &endpoint.verb);
    // `status` reads no request at all
    let refused = endpoint.verb != "status";
    let refused = refused_bodies(&valid)
        .into_iter()
        .map(|body| (body, refused));
    let odd = odd_bodies(&valid).into_iter().map(|body| (body, false));
    let fields = hostile_fields(&valid, created)
        .into_iter()
        .map(|body| (body, false));
    refused
        .chain(odd)
        .chain(fields)
        .map(|((label, body), refused)| Hostile {
            endpoint: endpoint.clone(),
            label,
            body,
            refused,
        })
        .collect()
}

/// What is wrong with the answer to `request`, if anything.
fn judge(request: &Hostile, answer: &Answer) -> Option<String> {
    let what = format!(
        "{}.{} with {}",
        request.endpoint.service, request.endpoint.verb, request.label
    );
    match answer {
        Answer::Reply if request.refused => Some(format!("{what}: accepted")),
        Answer::Reply => None,
        Answer::Error(code, _) if ALLOWED.contains(code) => None,
        Answer::Error(code, message) => Some(format!("{what}: {code} {message}")),
        Answer::Silence(error) => Some(format!("{what}: no answer ({error})")),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_endpoint_answers_hostile_requests_with_a_reply_or_a_client_error() {
    let shop = TestShop::start().await;
    let ids = set_up(&shop).await;
    let endpoints = discover(&shop).await;
    for (service, verb) in events::api::ENDPOINTS {
        let listed = endpoints
            .iter()
            .any(|e| e.service == *service && e.verb == *verb);
        assert!(listed, "$SRV.INFO lists {service}.{verb}");
    }
    let mut requests = Vec::new();
    for endpoint in &endpoints {
        let hostile = hostile_requests(endpoint, &ids);
        assert!(
            hostile.len() >= AT_LEAST_PER_ENDPOINT,
            "{}",
            endpoint.subject
        );
        requests.extend(hostile);
    }

    let started = Instant::now();
    let answers: Vec<(Hostile, Answer)> = futures::stream::iter(requests)
        .map(|request| {
            let shop = &shop;
            async move {
                let body = request.body.clone();
                let answer = send(shop, &request.endpoint.subject, body).await;
                (request, answer)
            }
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    let took = started.elapsed();

    let mut codes = BTreeMap::<u16, usize>::new();
    for (_, answer) in &answers {
        let code = match answer {
            Answer::Reply => 200,
            Answer::Error(code, _) => *code,
            Answer::Silence(_) => 0,
        };
        *codes.entry(code).or_default() += 1;
    }
    let failures: Vec<String> = answers.iter().filter_map(|(r, a)| judge(r, a)).collect();
    eprintln!(
        "{} hostile requests to {} endpoints in {took:?}; answers by code (0: none): {codes:?}",
        answers.len(),
        endpoints.len()
    );
    assert!(
        failures.is_empty(),
        "{} requests went wrong:\n{}",
        failures.len(),
        failures.join("\n")
    );
    the_shop_still_works(&shop).await;
}

/// Nothing was dead-lettered, every service answers, and an ordinary order completes.
async fn the_shop_still_works(shop: &TestShop) {
    shop.wait_until_quiet().await;
    for service in stack::SERVICES {
        let status = shop.status(service).await;
        let status = status.unwrap_or_else(|error| panic!("{service} status: {error}"));
        assert_eq!(
            status.dead_letters, 0,
            "{service} dead-lettered what the sweep made"
        );
    }
    // a product of its own: the sweep's valid requests changed the seeded ones
    let product = json!({"sku": "AFTER", "name": "after", "price_minor": 250, "currency": "EUR"});
    let added: Result<Value, _> = shop.api.call("catalog", "add", &product).await;
    added.expect("a product after the sweep");
    shop.wait_until_quiet().await;
    shop.restock("AFTER", 3).await;
    let order = shop.place("rich", &[("AFTER", 1)]).await.expect("an order");
    let order = shop
        .wait_terminal(&order.order_id, Duration::from_secs(30))
        .await;
    assert_eq!(order.status, "completed", "{order:?}");
}
