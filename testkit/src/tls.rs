//! Certificates for tests that run the shop over TLS: a throwaway CA and a server certificate
//! for `127.0.0.1` / `localhost` signed by it, made with the `openssl` command line (EC P-256,
//! valid for two days), in a directory of the test's.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The files of one test CA and the server certificate it signed.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// The CA certificate clients trust (PEM).
    pub ca: PathBuf,
    /// The broker's certificate and key (PEM).
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
}

impl TlsFiles {
    /// The broker's `tls` block for these files.
    pub fn server_config(&self) -> String {
        format!(
            "tls {{\n  cert_file: {:?}\n  key_file: {:?}\n  timeout: 5\n}}\n",
            self.server_cert, self.server_key
        )
    }
}

/// Makes a CA and a server certificate in `dir`; panics with openssl's message if it fails.
pub fn generate(dir: &Path) -> TlsFiles {
    std::fs::create_dir_all(dir).expect("tls dir");
    let file = |name: &str| dir.join(name);
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    openssl(
        &[
            &["req", "-x509"],
            &ec[..],
            &["-days", "2", "-subj", "/CN=shop test CA"],
        ]
        .concat(),
        &[("-keyout", file("ca.key")), ("-out", file("ca.pem"))],
    );
    openssl(
        &[&["req"], &ec[..], &["-subj", "/CN=localhost"]].concat(),
        &[
            ("-keyout", file("server.key")),
            ("-out", file("server.csr")),
        ],
    );
    std::fs::write(
        file("server.ext"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n",
    )
    .expect("extensions");
    openssl(
        &["x509", "-req", "-days", "2", "-CAcreateserial"],
        &[
            ("-in", file("server.csr")),
            ("-CA", file("ca.pem")),
            ("-CAkey", file("ca.key")),
            ("-extfile", file("server.ext")),
            ("-out", file("server.pem")),
        ],
    );
    TlsFiles {
        ca: file("ca.pem"),
        server_cert: file("server.pem"),
        server_key: file("server.key"),
    }
}

fn openssl(args: &[&str], files: &[(&str, PathBuf)]) {
    let mut command = Command::new("openssl");
    command.args(args);
    for (flag, path) in files {
        command.arg(flag).arg(path);
    }
    let output = command
        .output()
        .expect("the `openssl` command is needed to make test certificates");
    assert!(
        output.status.success(),
        "openssl {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}
