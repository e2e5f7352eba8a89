//! `shopctl watch`: decoded events, live, one line each (or one JSON object per line);
//! `--since` starts from history and then follows. Messages that do not decode are shown with
//! the reason, never skipped; one whose header block async-nats cannot read is shown as
//! `UNREADABLE` with the reason, and watching goes on behind it.

use std::process::ExitCode;

use async_nats::jetstream::{self, consumer::DeliverPolicy};
use events::Subjects;
use runtime::nats::reader::{Dial, StreamReader};
use tokio::sync::mpsc;

use crate::history::{self, Stored};
use crate::{Global, connect, output};

#[derive(Debug, clap::Args)]
pub(crate) struct WatchArgs {
    /// Subject filters (NATS wildcards), e.g. `shop.orders.>`; default: everything.
    filters: Vec<String>,
    /// Only events about this order (its key).
    #[arg(long)]
    order: Option<String>,
    /// Only this event type, e.g. `orders.placed`.
    #[arg(long = "type")]
    event_type: Option<String>,
    /// Start from history: `10m`, `2h`, or an RFC 3339 time; then follow live.
    #[arg(long, value_parser = history::parse_since)]
    since: Option<events::Timestamp>,
}

/// What to watch: subject filters (any of them) and, on top, one order and one event type
/// (all must hold: `--order X --type Y` is the events of type Y about X).
struct Selection {
    filters: Vec<String>,
    order: Option<String>,
    event_type: Option<events::EventType>,
}

impl Selection {
    fn of(subjects: &Subjects, args: &WatchArgs) -> anyhow::Result<Selection> {
        for filter in &args.filters {
            matches_some_subject(filter, subjects)?;
        }
        let event_type = args
            .event_type
            .as_deref()
            .map(|name| {
                name.parse::<events::EventType>()
                    .map_err(|_| anyhow::anyhow!("unknown event type {name:?}"))
            })
            .transpose()?;
        if let Some(order) = &args.order {
            subjects
                .key_filter(order)
                .map_err(|error| anyhow::anyhow!("{error}"))?;
        }
        // the broker narrows by the subject filters, or else by the narrowest subject the
        // order and the type allow; the rest is checked here, per message
        let filters = match (args.filters.is_empty(), event_type, &args.order) {
            (false, ..) => args.filters.clone(),
            (true, Some(event_type), order) => {
                let key = order.as_deref().unwrap_or("*");
                vec![format!(
                    "{}.{}.{key}",
                    subjects.prefix(),
                    event_type.as_str()
                )]
            }
            (true, None, Some(order)) => vec![subjects.key_filter(order).unwrap_or_default()],
            (true, None, None) => vec![format!("{}.>", subjects.prefix())],
        };
        Ok(Selection {
            filters,
            order: args.order.clone(),
            event_type,
        })
    }

    /// Whether a message the broker sent passes the order and the type.
    fn wants(&self, stored: &Stored, subjects: &Subjects) -> bool {
        let key = stored.subject.rsplit('.').next().unwrap_or("");
        let order_ok = self.order.as_deref().is_none_or(|order| order == key);
        let type_ok = self.event_type.is_none_or(|event_type| {
            let prefix = format!("{}.{}.", subjects.prefix(), event_type.as_str());
            stored.subject.starts_with(&prefix)
        });
        // partition claims share the context streams; they are not events
        order_ok && type_ok && !subjects.is_partition_claim(&stored.subject)
    }

    /// The filters that fall in each stream, one reader per stream (a filter another one
    /// covers is dropped, so no message is read twice).
    fn per_stream(&self, subjects: &Subjects) -> Vec<(String, Vec<String>)> {
        let mut streams = Vec::new();
        for (stream, stream_subject) in history::stream_names(subjects) {
            let narrowed: Vec<String> = self
                .filters
                .iter()
                .filter_map(|filter| history::narrow(filter, &stream_subject))
                .collect();
            let kept: Vec<String> = narrowed
                .iter()
                .enumerate()
                .filter(|(index, filter)| {
                    !narrowed.iter().enumerate().any(|(other, wider)| {
                        other != *index
                            && covers(wider, filter)
                            && (!covers(filter, wider) || other < *index)
                    })
                })
                .map(|(_, filter)| filter.clone())
                .collect();
            if !kept.is_empty() {
                streams.push((stream, kept));
            }
        }
        streams
    }
}

/// Every subject of the shop has four tokens (`<prefix>.<context>.<event>.<key>`, dead letters
/// `<prefix>.dlq.<service>.<key>`): a filter that cannot match one is refused, not waited on.
fn matches_some_subject(filter: &str, subjects: &Subjects) -> anyhow::Result<()> {
    let tokens: Vec<&str> = filter.split('.').collect();
    let open = tokens.last() == Some(&">");
    let fits = if open {
        tokens.len() <= 4
    } else {
        tokens.len() == 4
    };
    let prefix_ok = matches!(tokens.first(), Some(first) if *first == subjects.prefix() || *first == "*" || *first == ">");
    anyhow::ensure!(
        fits && prefix_ok,
        "{filter:?} matches no subject of the shop: its subjects are \
         {prefix}.<context>.<event>.<key>, e.g. {prefix}.orders.> or {prefix}.*.placed.*",
        prefix = subjects.prefix()
    );
    Ok(())
}

/// Whether NATS filter `wider` matches every subject `narrower` matches.
fn covers(wider: &str, narrower: &str) -> bool {
    let (wide, narrow): (Vec<&str>, Vec<&str>) =
        (wider.split('.').collect(), narrower.split('.').collect());
    for (index, token) in wide.iter().enumerate() {
        match (*token, narrow.get(index)) {
            (">", Some(_)) => return true,
            (_, None) => return false,
            ("*", Some(other)) if *other != ">" => {}
            (literal, Some(other)) if literal == *other => {}
            _ => return false,
        }
    }
    wide.len() == narrow.len()
}

/// What a reader hands the printer: a message, or why it stopped.
type Delivery = Result<Stored, String>;

pub(crate) async fn run(global: &Global, args: WatchArgs) -> anyhow::Result<ExitCode> {
    let api = connect::api(global).await?;
    let subjects = api.subjects().clone();
    let js = jetstream::new(api.nats().clone());
    let selection = Selection::of(&subjects, &args)?;
    let streams = selection.per_stream(&subjects);
    anyhow::ensure!(
        !streams.is_empty(),
        "no stream of prefix {} captures {}",
        subjects.prefix(),
        selection.filters.join(", ")
    );
    let dial = history::dial(global);
    let mut printer = Printer::new(global.json, subjects.clone());
    let mut live = Vec::new();
    for (stream, filters) in &streams {
        let last = js
            .get_stream(stream)
            .await?
            .info()
            .await?
            .state
            .last_sequence;
        live.push((stream.clone(), filters.clone(), last));
    }
    if let Some(since) = args.since {
        // history first, all streams merged by the time the events happened
        let mut history = Vec::new();
        for (stream, filters, last) in &live {
            for filter in filters {
                let read =
                    history::read_on(&js, &dial, stream, filter, history::since_policy(since))
                        .await?;
                history.extend(read.into_iter().filter(|stored| stored.sequence <= *last));
            }
        }
        // by time; a message two partly overlapping filters both read is printed once
        history.sort_by(|a, b| {
            (time_of(a), &a.stream, a.sequence).cmp(&(time_of(b), &b.stream, b.sequence))
        });
        history.dedup_by(|a, b| a.stream == b.stream && a.sequence == b.sequence);
        for stored in history
            .iter()
            .filter(|stored| selection.wants(stored, &subjects))
        {
            if !printer.print(stored)? {
                return Ok(ExitCode::SUCCESS);
            }
        }
    }
    let (sender, mut receiver) = mpsc::channel::<Delivery>(1024);
    for (stream, filters, last) in live {
        let from = DeliverPolicy::ByStartSequence {
            start_sequence: last + 1,
        };
        follow(&js, &dial, &stream, filters, from, sender.clone()).await?;
    }
    drop(sender);
    while let Some(delivery) = receiver.recv().await {
        match delivery {
            Ok(stored) if selection.wants(&stored, &subjects) => {
                if !printer.print(&stored)? {
                    return Ok(ExitCode::SUCCESS);
                }
            }
            Ok(_) => {}
            Err(why) => anyhow::bail!("{why}"),
        }
    }
    anyhow::bail!("stopped watching: every reader ended (the broker went away?)")
}

/// The time a message is ordered by in history: when its event happened (a dead letter: when
/// it failed); RFC 3339 in UTC sorts as text.
fn time_of(stored: &Stored) -> &str {
    stored
        .header(events::header::OCCURRED_AT)
        .or(stored.header(events::header::DLQ_FAILED_AT))
        .unwrap_or("")
}

/// Prints lines to stdout; a closed pipe (`watch | head`) ends watching quietly.
struct Printer {
    json: bool,
    color: bool,
    subjects: Subjects,
}

impl Printer {
    fn new(json: bool, subjects: Subjects) -> Printer {
        use std::io::IsTerminal;
        let color =
            !json && std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
        Printer {
            json,
            color,
            subjects,
        }
    }

    /// Prints one message; `false` once stdout is closed.
    fn print(&mut self, stored: &Stored) -> anyhow::Result<bool> {
        use std::io::Write;
        let line = if self.json {
            output::json_line(&history::json_line(stored, &self.subjects))
        } else if self.color {
            colored(stored, human_line(stored, &self.subjects))
        } else {
            human_line(stored, &self.subjects)
        };
        let mut stdout = std::io::stdout().lock();
        match writeln!(stdout, "{line}").and_then(|()| stdout.flush()) {
            Ok(()) => Ok(true),
            Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => Ok(false),
            Err(error) => Err(anyhow::anyhow!("cannot write to stdout: {error}")),
        }
    }
}

/// A line in colour: failures red, ends of an order green, everything else as it is.
fn colored(stored: &Stored, line: String) -> String {
    let token = stored.subject.split('.').nth(2).unwrap_or("");
    let failed = stored.unreadable.is_some()
        || stored.header(events::header::DLQ_REASON).is_some()
        || [
            "declined",
            "rejected",
            "cancelled",
            "capture_failed",
            "parked",
            "deadline_passed",
            "reservation_rejected",
        ]
        .contains(&token);
    let ended = ["completed", "delivered", "captured"].contains(&token);
    match (failed, ended) {
        (true, _) => format!("\x1b[31m{line}\x1b[0m"),
        (false, true) => format!("\x1b[32m{line}\x1b[0m"),
        _ => line,
    }
}

/// Starts reading `stream` for `filters` (its consumer on a connection from `dial`) and a
/// task that sends what it reads to `sender`, until the receiver is gone; a reader that stops
/// sends why.
async fn follow(
    js: &jetstream::Context,
    dial: &Dial,
    stream: &str,
    filters: Vec<String>,
    deliver_policy: DeliverPolicy,
    sender: mpsc::Sender<Delivery>,
) -> anyhow::Result<()> {
    let mut reader =
        StreamReader::open(js, dial.clone(), stream, filters, deliver_policy, false).await?;
    let stream = stream.to_owned();
    tokio::spawn(async move {
        loop {
            let delivery = match reader.next().await {
                Ok(Some(read)) => match Stored::from_read(&stream, read) {
                    Ok(stored) => Ok(stored),
                    Err(_) => continue,
                },
                Ok(None) => Err(format!("stopped watching {stream}: the stream ended")),
                Err(error) => Err(format!("stopped watching {stream}: {error:#}")),
            };
            let stop = delivery.is_err();
            if sender.send(delivery).await.is_err() || stop {
                return;
            }
        }
    });
    Ok(())
}

/// `09:30:00.250  orders.placed  <key>  3 line(s), 72.47 EUR`, [escaped](output::escaped):
/// the subject, the headers and the payload are anyone's text.
pub(crate) fn human_line(stored: &Stored, subjects: &Subjects) -> String {
    output::escaped(&unescaped_line(stored, subjects)).into_owned()
}

fn unescaped_line(stored: &Stored, subjects: &Subjects) -> String {
    let time = stored
        .header(events::header::OCCURRED_AT)
        .or(stored.header(events::header::DLQ_FAILED_AT))
        .unwrap_or("");
    let time = time.get(11..23).unwrap_or(time);
    let key = stored.subject.rsplit('.').next().unwrap_or("");
    if let Some(reason) = &stored.unreadable {
        return format!(
            "{time}  UNREADABLE  {:<28} {key}  skipped stream sequence {}: {reason}",
            stored.subject, stored.sequence
        );
    }
    if let Some(reason) = stored.header(events::header::DLQ_REASON) {
        return format!(
            "{time}  DEAD LETTER {:<28} {key}  {reason}",
            stored.header(events::header::DLQ_SUBJECT).unwrap_or("")
        );
    }
    match stored.event(subjects) {
        Ok(event) => format!(
            "{time}  {:<34} {key}  {}",
            event.event_type().as_str(),
            output::gist(&event)
        ),
        Err(reason) => format!("{time}  UNDECODABLE {:<28} {key}  {reason}", stored.subject),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_filter_covers_what_it_matches() {
        assert!(covers("shop.orders.>", "shop.orders.placed.*"));
        assert!(covers("shop.*.placed.*", "shop.orders.placed.o1"));
        assert!(covers("shop.orders.placed.o1", "shop.orders.placed.o1"));
        assert!(!covers("shop.orders.placed.*", "shop.orders.>"));
        assert!(!covers("shop.orders.placed.o1", "shop.orders.placed.*"));
        assert!(!covers("shop.payments.>", "shop.orders.placed.*"));
    }

    #[test]
    fn only_filters_of_four_tokens_or_open_ones_match_a_subject() {
        let subjects = Subjects::new("shop").unwrap();
        for good in [
            "shop.>",
            "shop.orders.>",
            "shop.*.placed.*",
            ">",
            "*.orders.placed.o1",
        ] {
            assert!(matches_some_subject(good, &subjects).is_ok(), "{good}");
        }
        for bad in [
            "shop.orders",
            "shop",
            "shop.orders.placed",
            "other.orders.>",
            "shop.a.b.c.d",
        ] {
            assert!(matches_some_subject(bad, &subjects).is_err(), "{bad}");
        }
    }
}
