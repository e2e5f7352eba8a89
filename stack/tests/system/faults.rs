//! Issue 10's fault test: all six services as processes, 1,000 orders placed at a steady rate,
//! and while they flow, in turn: shipping killed and kept down, payments' capture path failing
//! (every capture request fails until dead-lettered), and the dead-letter stream refusing
//! writes while those failures pile up. Every order must end completed, cancelled, rejected or
//! parked with a ticket; after an operator retries the parked ones, every order is final, its
//! money settled (one net capture if completed, none otherwise, no credit held) and the stock
//! conserved.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use events::api::{Item, ListOrders, MAX_PAGE_LIMIT, Order, OrderList, PlaceOrder};
use events::{EventType, header};
use futures::StreamExt;
use testkit::streams::{header_of, read_stream};
use testkit::{ChildProcess, TestShop, wait};

const ORDERS: usize = 1_000;
/// Orders placed per second, steadily (1,000 take 20 s).
const RATE: u64 = 50;
const STOCK: i64 = 320;
const SKUS: [&str; 3] = ["TEA", "MUG", "KETTLE"];
/// Undecodable messages published while the dead-letter stream refuses writes.
const GARBAGE: usize = 5;
/// What payments' capture path handles; the failpoint fails it while its file exists.
const CAPTURE: &str = "orders.payment_capture_requested";

/// The six services as processes, started (and restarted) with the same settings: short
/// shipment and capture deadlines with one retry (a step that gets no answer for 6 s parks its
/// order), three attempts before a dead letter.
struct Processes {
    running: HashMap<&'static str, ChildProcess>,
    capture_failpoint: PathBuf,
}

impl Processes {
    fn spawn(shop: &TestShop, service: &str, capture_failpoint: &Path) -> ChildProcess {
        let failpoint = capture_failpoint.to_str().expect("utf-8 path");
        shop.service_process(
            service,
            &[
                ("SHOP_MAX_DELIVER", "3"),
                ("ORDERS_RESERVATION_TIMEOUT_MS", "10000"),
                ("ORDERS_PAYMENT_TIMEOUT_MS", "10000"),
                ("ORDERS_SHIPMENT_TIMEOUT_MS", "2000"),
                ("ORDERS_CAPTURE_TIMEOUT_MS", "2000"),
                ("ORDERS_MAX_RETRIES", "1"),
                ("SHIPPING_SHIP_DELAY_MS", "50"),
                ("SHIPPING_DELIVER_DELAY_MS", "50"),
                ("SHOP_FAILPOINT_UNAVAILABLE_WHILE", failpoint),
                ("SHOP_FAILPOINT_UNAVAILABLE_TYPES", CAPTURE),
            ],
        )
    }

    async fn start(shop: &TestShop) -> Processes {
        let capture_failpoint = shop.bed.dir.path().join("payments-capture-down");
        let mut running = HashMap::new();
        for service in stack::SERVICES {
            running.insert(*service, Self::spawn(shop, service, &capture_failpoint));
        }
        for service in stack::SERVICES {
            shop.wait_for_service(service, &[]).await;
        }
        Processes {
            running,
            capture_failpoint,
        }
    }

    fn kill(&mut self, service: &str) {
        self.running.remove(service).expect("running").kill9();
    }

    async fn restart(&mut self, shop: &TestShop, service: &'static str) {
        let process = Self::spawn(shop, service, &self.capture_failpoint);
        self.running.insert(service, process);
        shop.wait_for_service(service, &[]).await;
    }

    fn fail_captures(&self, failing: bool) {
        if failing {
            std::fs::write(&self.capture_failpoint, b"down").expect("failpoint on");
        } else {
            std::fs::remove_file(&self.capture_failpoint).expect("failpoint off");
        }
    }

    /// Stops every service with SIGTERM; each must exit cleanly.
    async fn stop_all(self) {
        for (service, process) in self.running {
            let status =
                tokio::task::spawn_blocking(move || process.terminate(Duration::from_secs(10)))
                    .await
                    .expect("join");
            assert!(
                status.is_some_and(|s| s.success()),
                "{service} exited with {status:?}"
            );
        }
    }
}

/// Places order `n` (client-chosen id, so a retry after a busy or lost reply is safe): mostly
/// `rich`, every tenth `poor` (declined), one unit of a sku in turn.
async fn place(shop: &TestShop, n: usize) -> String {
    let order_id = format!("fault-{n:04}");
    let customer = if n % 10 == 3 { "poor" } else { "rich" };
    let request = PlaceOrder {
        customer_id: customer.into(),
        items: vec![Item {
            sku: SKUS[n % SKUS.len()].into(),
            quantity: 1,
        }],
        order_id: Some(order_id.clone()),
    };
    for _ in 0..5 {
        let placed = shop.api.call::<_, Order>("orders", "place", &request).await;
        match placed {
            Ok(_) => return order_id,
            Err(error) if error.code == 503 => {
                eprintln!("placing {order_id}: {error}");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(error) => panic!("placing {order_id}: {error}"),
        }
    }
    panic!("placing {order_id}: busy five times");
}

/// Whether `order` waits for an operator because its capture never came.
fn parked_at_capture(order: &Order) -> bool {
    order.status == "needs_attention"
        && order
            .reason
            .as_deref()
            .is_some_and(|reason| reason.contains("capture"))
}

/// Every order of the shop by id, read page by page.
async fn statuses(shop: &TestShop) -> HashMap<String, Order> {
    let mut all = HashMap::new();
    let mut request = ListOrders {
        limit: Some(MAX_PAGE_LIMIT),
        ..Default::default()
    };
    loop {
        let page: OrderList = shop
            .api
            .call("orders", "list", &request)
            .await
            .expect("list orders");
        all.extend(page.orders.into_iter().map(|o| (o.order_id.clone(), o)));
        match page.next_cursor {
            Some(cursor) => request.cursor = Some(cursor),
            None => return all,
        }
    }
}

/// Dead letters in the dead-letter stream: (consumer, original subject, reason).
async fn dead_letters(shop: &TestShop) -> Vec<(String, String, String)> {
    let field = |letter, name| header_of(letter, name).unwrap_or_default().to_owned();
    read_stream(&shop.bed.js, &shop.bed.dead_letter_stream())
        .await
        .iter()
        .map(|letter| {
            (
                field(letter, header::DLQ_CONSUMER),
                field(letter, header::DLQ_SUBJECT),
                field(letter, header::DLQ_REASON),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_orders_through_failing_shipping_captures_and_dead_letters_all_end_settled() {
    let mut shop = TestShop::start_with(&[], |_| {}).await;
    let mut processes = Processes::start(&shop).await;
    shop.seed(STOCK).await;

    // place at a steady rate in the background while the faults come and go
    let placing = {
        let shop = &shop;
        let tick = tokio::time::interval(Duration::from_millis(1_000 / RATE));
        futures::stream::unfold((tick, 0), |(mut tick, n)| async move {
            (n < ORDERS).then_some(())?;
            tick.tick().await;
            Some((n, (tick, n + 1)))
        })
        .map(|n| place(shop, n))
        .buffer_unordered(ORDERS)
        .collect::<Vec<String>>()
    };
    let faults = async {
        let started = Instant::now();
        let at = |seconds: u64| {
            tokio::time::sleep_until((started + Duration::from_secs(seconds)).into())
        };
        at(2).await;
        processes.kill("shipping");
        at(9).await;
        processes.fail_captures(true);
        processes.restart(&shop, "shipping").await;
        at(13).await;
        testkit::streams::refuse_writes(&shop.bed.js, &shop.bed.dead_letter_stream(), true).await;
        // messages that fail while the dead-letter stream refuses them must not be lost
        for n in 0..GARBAGE {
            shop.publish_garbage_cancellation(&format!("garbage-{n}"))
                .await;
        }
        at(18).await;
        testkit::streams::refuse_writes(&shop.bed.js, &shop.bed.dead_letter_stream(), false).await;
        // captures keep failing until one order has been parked for it (its deadline and its
        // retry ran out); a fixed window would depend on how fast this machine ships the backlog
        wait::until(
            "an order parked at its capture",
            Duration::from_secs(60),
            || async { statuses(&shop).await.values().any(parked_at_capture) },
        )
        .await;
        processes.fail_captures(false);
    };
    let (mut ids, ()) = tokio::join!(placing, faults);
    ids.sort();
    assert_eq!(ids.len(), ORDERS);

    // every order ends: final, or parked with a system ticket
    wait::until(
        "every order final or parked",
        Duration::from_secs(180),
        || async {
            statuses(&shop)
                .await
                .values()
                .all(|order| order.is_terminal() || order.status == "needs_attention")
        },
    )
    .await;
    shop.wait_until_quiet().await;
    let settled = statuses(&shop).await;
    let parked: Vec<&String> = ids
        .iter()
        .filter(|id| settled[*id].status == "needs_attention")
        .collect();
    for id in &parked {
        assert!(
            shop.system_ticket(id).await.is_some(),
            "{id} parked without a ticket"
        );
    }
    let letters = dead_letters(&shop).await;
    let capture_letters = letters
        .iter()
        .filter(|(consumer, subject, reason)| {
            consumer == "payments"
                && subject.contains("payment_capture_requested")
                && reason.contains("failpoint")
        })
        .count();
    let parked_for_capture = parked
        .iter()
        .filter(|id| parked_at_capture(&settled[**id]))
        .count();
    let shipment_retries = count_events(&shop, &ids, EventType::ShipmentRequested).await;
    eprintln!(
        "faults: {} parked ({parked_for_capture} at capture), {capture_letters} capture requests dead-lettered, \
         {shipment_retries} shipment retries",
        parked.len()
    );
    // the faults had teeth: shipping's outage made the saga ask again, the capture failures
    // were dead-lettered (also those that met the unwritable dead-letter stream) and parked orders
    assert!(shipment_retries > 0, "no shipment was asked for twice");
    assert!(capture_letters > 0, "no capture request was dead-lettered");
    assert!(parked_for_capture > 0, "no order was parked at its capture");
    let garbage_letters = letters
        .iter()
        .filter(|(_, subject, _)| subject.contains(".garbage-"))
        .count();
    assert_eq!(
        garbage_letters,
        GARBAGE * 3,
        "each of inventory, shipping, support"
    );
    assert_eq!(
        capture_letters + garbage_letters,
        letters.len(),
        "nothing else failed: {letters:?}"
    );

    // the operator retries every parked order; now that payments captures, each completes
    for id in &parked {
        shop.operator("retry", id).await.expect("retry");
        // the second may come after the first already completed the order: refused then
        match shop.operator("retry", id).await {
            Err(error) if error.code != 409 => panic!("retry twice: {error}"),
            _ => {}
        }
    }
    let mut finals = HashMap::new();
    for id in &ids {
        finals.insert(
            id.clone(),
            shop.wait_terminal(id, Duration::from_secs(60)).await,
        );
    }
    shop.wait_until_quiet().await;
    for customer in ["rich", "poor"] {
        assert_eq!(
            shop.account(customer).await.held_minor,
            0,
            "{customer} has credit held"
        );
    }
    let mut sold = HashMap::<String, u64>::new();
    for order in finals.values() {
        assert!(
            ["completed", "cancelled", "rejected"].contains(&order.status.as_str()),
            "{order:?}"
        );
        if order.status == "completed" {
            *sold.entry(order.lines[0].sku.clone()).or_default() += 1;
        }
    }
    for sku in SKUS {
        let level = shop.stock(sku).await;
        assert_eq!(
            level.received,
            u64::try_from(STOCK).expect("stock"),
            "{sku}"
        );
        assert_eq!(
            level.available + level.reserved + level.sold,
            level.received,
            "{sku}"
        );
        assert_eq!(level.reserved, 0, "{sku}");
        assert_eq!(level.sold, sold.get(sku).copied().unwrap_or(0), "{sku}");
    }

    // money per order, read from payments' store once it has stopped
    processes.stop_all().await;
    shop.start_service("payments").await;
    let captures = shop.net_captures();
    for (id, order) in &finals {
        let net = captures.get(id).copied().unwrap_or(0);
        let expected = i64::from(order.status == "completed");
        assert_eq!(
            net, expected,
            "{id} is {} with net captures {net}",
            order.status
        );
    }
    let completed = finals.values().filter(|o| o.status == "completed").count();
    assert!(
        completed > ORDERS / 2,
        "only {completed} of {ORDERS} completed"
    );
}

/// How many events of `event_type` the orders' streams hold, over all of `ids`.
async fn count_events(shop: &TestShop, ids: &[String], event_type: EventType) -> usize {
    let wanted: std::collections::HashSet<&str> = ids.iter().map(String::as_str).collect();
    let stream = shop.bed.stream(events::Context::Orders);
    read_stream(&shop.bed.js, &stream)
        .await
        .iter()
        .filter(|message| testkit::streams::is_type(message, event_type))
        .filter(|message| {
            shop.bed
                .subjects
                .parse(&message.subject)
                .is_ok_and(|subject| wanted.contains(subject.key.as_str()))
        })
        .count()
}
