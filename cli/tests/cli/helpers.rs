//! What only the `shopctl` tests need on top of `testkit`: a shop under this suite's prefix,
//! running the binary against it, and comparing its output with snapshots (ids masked).

use std::io::{BufRead, BufReader};
use std::ops::{Deref, DerefMut};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use testkit::TestShop;

pub(crate) const PREFIX: &str = "cli";

/// How long [`eventually`] waits.
const EVENTUALLY: Duration = Duration::from_secs(30);

/// A [`TestShop`] (all six services in this process) that `shopctl` drives.
pub(crate) struct Shop(TestShop);

impl Shop {
    pub(crate) async fn start() -> Shop {
        Shop(TestShop::start_with_prefix(PREFIX, stack::SERVICES, |_| {}).await)
    }

    /// What every `shopctl` run against this shop starts with: its broker, its prefix, and
    /// the data directory whose `auth/` holds the identities each command signs in as.
    pub(crate) fn shop_args(&self) -> Vec<String> {
        let data_dir = self.bed.dir.path().to_string_lossy().into_owned();
        let shop = [
            "--nats-url",
            &self.url(),
            "--prefix",
            PREFIX,
            "--data-dir",
            &data_dir,
        ];
        shop.map(str::to_owned).to_vec()
    }

    /// Runs `shopctl <args>` against this shop.
    pub(crate) async fn shopctl(&self, args: &[&str]) -> Output {
        let shop = self.shop_args();
        let mut full: Vec<&str> = shop.iter().map(String::as_str).collect();
        full.extend_from_slice(args);
        run(&full).await
    }

    /// `shopctl watch <args>` until `enough` holds for the lines printed so far (30 s at
    /// most). Lines are split on `\n` only, so a carriage return in one is kept.
    pub(crate) async fn watch_until(
        &self,
        args: &[&str],
        mut enough: impl FnMut(&[String]) -> bool + Send + 'static,
    ) -> Vec<String> {
        let mut child = Command::new(env!("CARGO_BIN_EXE_shopctl"))
            .args(self.shop_args())
            .arg("watch")
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("watch");
        let stdout = child.stdout.take().expect("stdout");
        let lines = tokio::task::spawn_blocking(move || {
            let mut lines = Vec::new();
            for line in BufReader::new(stdout).split(b'\n') {
                lines.push(String::from_utf8_lossy(&line.expect("line")).into_owned());
                if enough(&lines) {
                    break;
                }
            }
            lines
        });
        let lines = tokio::time::timeout(Duration::from_secs(30), lines).await;
        let _ = child.kill();
        let _ = child.wait();
        lines.expect("watch printed enough").expect("join")
    }
}

impl Deref for Shop {
    type Target = TestShop;

    fn deref(&self) -> &TestShop {
        &self.0
    }
}

impl DerefMut for Shop {
    fn deref_mut(&mut self) -> &mut TestShop {
        &mut self.0
    }
}

/// The variables shopctl reads defaults from.
pub(crate) const ENVIRONMENT: [&str; 7] = [
    "NATS_URL",
    "SHOP_PREFIX",
    "SHOP_DATA_DIR",
    "NATS_CREDS",
    "NATS_TLS_CA",
    "NATS_TLS_CERT",
    "NATS_TLS_KEY",
];

/// Runs the shopctl binary (off the async threads), without the environment's shop settings.
pub(crate) async fn run(args: &[&str]) -> Output {
    let args: Vec<String> = args.iter().map(|arg| (*arg).to_owned()).collect();
    tokio::task::spawn_blocking(move || {
        let mut command = Command::new(env!("CARGO_BIN_EXE_shopctl"));
        command.args(&args).env("NO_COLOR", "1");
        // hermetic: only what the test passes (clap shows env values in help and usage)
        for name in ENVIRONMENT {
            command.env_remove(name);
        }
        command.output().expect("run shopctl")
    })
    .await
    .expect("join")
}

pub(crate) fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub(crate) fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Masks UUIDs so output compares across runs.
pub(crate) fn mask(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut index = 0;
    while index < bytes.len() {
        if index + 36 <= bytes.len() && is_uuid(&text[index..index + 36]) {
            out.push_str("<uuid>                              ");
            index += 36;
        } else {
            let character = text[index..].chars().next().expect("char");
            out.push(character);
            index += character.len_utf8();
        }
    }
    out
}

fn is_uuid(candidate: &str) -> bool {
    candidate.len() == 36
        && candidate.char_indices().all(|(at, c)| match at {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit() && !c.is_ascii_uppercase(),
        })
}

fn snapshot_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/cli/snapshots")
        .join(format!("{name}.txt"))
}

/// Compares with `tests/cli/snapshots/<name>.txt`; `UPDATE_SNAPSHOTS=1` writes it instead.
pub(crate) fn assert_snapshot(name: &str, actual: &str) {
    let path = snapshot_path(name);
    let actual = mask(actual);
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, &actual).expect("write snapshot");
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "no snapshot {} (run with UPDATE_SNAPSHOTS=1 to create it)",
            path.display()
        )
    });
    assert_eq!(
        actual, expected,
        "output of {name} changed (UPDATE_SNAPSHOTS=1 to accept)"
    );
}

/// Waits a little for eventually consistent reads (see `testkit::wait::until`).
pub(crate) async fn eventually<F, Fut>(what: &str, condition: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    testkit::wait::until(what, EVENTUALLY, condition).await;
}

/// Characters a terminal acts on instead of showing: C0 and C1 controls (ESC, BEL, CR,
/// backspace, ...; a line feed only ends a line) and the Unicode bidi overrides and isolates.
fn acts_on_a_terminal(c: char) -> bool {
    (c.is_control() && c != '\n')
        || ('\u{202a}'..='\u{202e}').contains(&c)
        || ('\u{2066}'..='\u{2069}').contains(&c)
}

/// Panics when the output of `what` holds a character a terminal would act on.
pub(crate) fn assert_terminal_safe(what: &str, output: &[u8]) {
    let text = String::from_utf8_lossy(output);
    if let Some((at, c)) = text.char_indices().find(|(_, c)| acts_on_a_terminal(*c)) {
        panic!(
            "{what} printed {c:?} raw at byte {at}:\n{}",
            text.escape_debug()
        );
    }
}

/// [`assert_terminal_safe`] for stdout and stderr of a command.
pub(crate) fn assert_prints_safely(what: &str, output: &Output) {
    assert_terminal_safe(&format!("{what} (stdout)"), &output.stdout);
    assert_terminal_safe(&format!("{what} (stderr)"), &output.stderr);
}

/// The shop's one product (`TEA`, 50 in stock) and a customer with credit (`ann`), through
/// the API, for tests that place orders through a shop `up` runs.
pub(crate) async fn stock_tea(api: &runtime::ApiClient) {
    let product = events::api::AddProduct {
        sku: "TEA".into(),
        name: "tea".into(),
        description: String::new(),
        price_minor: 100,
        currency: "EUR".into(),
    };
    api.call::<_, serde_json::Value>("catalog", "add", &product)
        .await
        .expect("add");
    let restock = events::api::Restock {
        sku: "TEA".into(),
        quantity: 50,
    };
    api.call::<_, serde_json::Value>("inventory", "restock", &restock)
        .await
        .expect("restock");
    let account = events::api::OpenAccount {
        customer_id: "ann".into(),
        credit_limit_minor: 1_000_000,
        currency: "EUR".into(),
    };
    api.call::<_, serde_json::Value>("payments", "open_account", &account)
        .await
        .expect("account");
}

/// Places an order of one `TEA` for `ann` (waiting while orders has not learned the product
/// yet); its id.
pub(crate) async fn place_tea(api: &runtime::ApiClient, order_id: Option<String>) -> String {
    let request = events::api::PlaceOrder {
        customer_id: "ann".into(),
        items: vec![events::api::Item {
            sku: "TEA".into(),
            quantity: 1,
        }],
        order_id,
    };
    let order = testkit::wait::until_some(
        "orders to take the order",
        Duration::from_secs(30),
        || async {
            match api
                .call::<_, events::api::Order>("orders", "place", &request)
                .await
            {
                Ok(order) => Some(order),
                Err(error) if error.code == 404 => None,
                Err(error) => panic!("place: {error}"),
            }
        },
    )
    .await;
    order.order_id
}

/// Waits until the order is completed.
pub(crate) async fn until_completed(api: &runtime::ApiClient, order_id: &str) {
    eventually("order completed", || async {
        let request = events::api::OrderRequest {
            order_id: order_id.to_owned(),
        };
        let order: events::api::Order = api.call("orders", "get", &request).await.expect("get");
        order.status == "completed"
    })
    .await;
}

/// Waits until every service answers its `status`.
pub(crate) async fn until_every_service_answers(api: &runtime::ApiClient) {
    for service in events::Context::ALL.map(events::Context::as_str) {
        eventually(service, || async {
            api.call::<_, serde_json::Value>(service, "status", &events::api::Empty {})
                .await
                .is_ok()
        })
        .await;
    }
}
