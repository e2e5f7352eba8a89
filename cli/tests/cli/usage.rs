//! Argument errors keep clap's whole message (what is wrong, the usage, "did you mean" tips)
//! and exit 2; a bare `shopctl` prints the help and exits 0; help ends with examples.

use crate::helpers::{assert_snapshot, run, stderr, stdout};

async fn refused(args: &[&str]) -> String {
    let output = run(args).await;
    assert_eq!(output.status.code(), Some(2), "{args:?}: {output:?}");
    assert!(output.stdout.is_empty(), "{args:?} printed to stdout");
    stderr(&output)
}

#[tokio::test]
async fn a_misspelt_command_or_flag_gets_clap_s_tip() {
    assert_snapshot(
        "usage_misspelt_command",
        &refused(&["order", "plcae"]).await,
    );
    assert_snapshot(
        "usage_misspelt_flag",
        &refused(&["order", "place", "--customer", "alice", "--itme", "A=1"]).await,
    );
}

#[tokio::test]
async fn a_missing_argument_is_named() {
    let text = refused(&["order", "place"]).await;
    assert!(text.contains("--customer <CUSTOMER>"), "{text}");
    assert_snapshot("usage_missing_argument", &text);
    let text = refused(&["inventory", "restock", "--sku", "TEA", "--qty", "many"]).await;
    assert!(
        text.contains("invalid value 'many' for '--qty <QTY>'"),
        "{text}"
    );
}

#[tokio::test]
async fn a_bare_shopctl_prints_the_help() {
    let output = run(&[]).await;
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let help = stdout(&output);
    assert!(
        help.contains("Usage: shopctl [OPTIONS] <COMMAND>"),
        "{help}"
    );
    assert!(help.contains("Examples:"), "{help}");
}

#[tokio::test]
async fn a_command_s_help_ends_with_examples() {
    // help shows the values of the environment variables it reads: none for the snapshot
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_shopctl"));
    command
        .args(["order", "place", "--help"])
        .env("NO_COLOR", "1");
    for name in crate::helpers::ENVIRONMENT {
        command.env_remove(name);
    }
    let output = tokio::task::spawn_blocking(move || command.output().expect("help"))
        .await
        .expect("join");
    assert_eq!(output.status.code(), Some(0));
    let help = stdout(&output);
    let examples = help.rfind("Examples:").expect("examples");
    assert!(
        help[examples..].contains("shopctl order place --customer alice"),
        "{help}"
    );
    assert!(
        help.contains("The customer id"),
        "arguments are described: {help}"
    );
    assert_snapshot("help_order_place", &help);
}

#[tokio::test]
async fn version_names_the_commit_and_completions_are_generated() {
    let output = run(&["--version"]).await;
    assert_eq!(output.status.code(), Some(0));
    let version = stdout(&output);
    let head = std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .expect("git");
    let head = String::from_utf8_lossy(&head.stdout).trim().to_owned();
    assert!(
        version.starts_with("shopctl ") && version.contains(&format!("(commit {head}")),
        "{version} (HEAD {head})"
    );
    for (shell, marker) in [
        ("bash", "_shopctl()"),
        ("zsh", "#compdef shopctl"),
        ("fish", "complete -c shopctl"),
    ] {
        let output = run(&["completions", shell]).await;
        assert_eq!(output.status.code(), Some(0), "{shell}");
        let script = stdout(&output);
        assert!(
            script.contains(marker),
            "{shell}: {}",
            &script[..script.len().min(200)]
        );
        assert!(script.contains("place"), "{shell} completes subcommands");
    }
    assert_eq!(
        run(&["completions", "cmd.exe"]).await.status.code(),
        Some(2)
    );
}
