//! `up`'s control channel and its hold on the data directory. While the shop runs, `up`
//! holds an exclusive lock on `<data-dir>/up.lock` (a second `up` there is refused) and
//! answers `shopctl service stop|start|restart|status` on the Unix socket `<data-dir>/up.sock`
//! (mode 0600: only the shop's owner steers it). One request per connection, one line:
//! `stop payments`; the answer is lines of text, the first `ok` or `error: …`.

use std::fs::File;
use std::io::{Read as _, Seek as _, Write as _};
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::task::JoinHandle;

use super::{Console, Controls};

/// The lock file `up` holds in a data directory.
fn lock_path(data_dir: &Path) -> PathBuf {
    data_dir.join("up.lock")
}

/// The control socket of the `up` running on a data directory: `<data-dir>/up.sock`, or, when
/// that path is too long for a Unix socket (about 100 bytes), a name in the temporary
/// directory derived from the data directory's absolute path.
pub(crate) fn socket_path(data_dir: &Path) -> PathBuf {
    let beside = data_dir.join("up.sock");
    if beside.as_os_str().len() <= 100 {
        return beside;
    }
    let absolute = std::fs::canonicalize(data_dir).unwrap_or_else(|_| data_dir.to_path_buf());
    // FNV-1a: stable across runs and builds (std's hasher is not)
    let hash = absolute
        .as_os_str()
        .as_encoded_bytes()
        .iter()
        .fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
            (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
        });
    std::env::temp_dir().join(format!("shopctl-up-{hash:016x}.sock"))
}

/// An exclusive lock on a data directory, released when dropped (or when the process dies).
#[derive(Debug)]
pub(crate) struct DataDirLock {
    _file: File,
}

impl DataDirLock {
    /// Takes the lock, or says which `up` holds it.
    pub(crate) fn take(data_dir: &Path) -> anyhow::Result<DataDirLock> {
        let path = lock_path(data_dir);
        let mut file = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .with_context(|| format!("cannot open {}", path.display()))?;
        if file.try_lock().is_err() {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            anyhow::bail!(
                "another `shopctl up` (pid {}) is running on {}: stop it first (Ctrl-C), or give \
                 another --data-dir",
                holder.trim(),
                data_dir.display()
            );
        }
        file.set_len(0)?;
        file.rewind()?;
        write!(file, "{}", std::process::id())?;
        file.sync_all()?;
        Ok(DataDirLock { _file: file })
    }
}

/// The control socket's listener task.
#[derive(Debug)]
pub(crate) struct Server {
    path: PathBuf,
    task: JoinHandle<()>,
}

impl Server {
    /// Listens on `<data-dir>/up.sock` (a leftover socket is replaced: we hold the lock).
    pub(crate) fn start(
        data_dir: &Path,
        controls: Controls,
        console: Console,
    ) -> anyhow::Result<Server> {
        let path = socket_path(data_dir);
        let _ = std::fs::remove_file(&path);
        let listener = UnixListener::bind(&path)
            .with_context(|| format!("cannot listen on {}", path.display()))?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(answer(stream, controls.clone(), console));
            }
        });
        Ok(Server { path, task })
    }

    pub(crate) fn stop(&self) {
        self.task.abort();
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Reads one request and answers it.
async fn answer(stream: UnixStream, controls: Controls, console: Console) {
    let (read, mut write) = stream.into_split();
    let mut line = String::new();
    if BufReader::new(read).read_line(&mut line).await.is_err() {
        return;
    }
    let reply = match carry_out(line.trim(), &controls, console).await {
        Ok(text) => format!("ok\n{text}"),
        Err(error) => format!("error: {error:#}\n"),
    };
    let _ = write.write_all(reply.as_bytes()).await;
}

async fn carry_out(request: &str, controls: &Controls, console: Console) -> anyhow::Result<String> {
    let words: Vec<&str> = request.split_whitespace().collect();
    match words.as_slice() {
        ["status"] => Ok(controls
            .states()
            .iter()
            .map(|(service, alive)| {
                format!("{service} {}\n", if *alive { "running" } else { "stopped" })
            })
            .collect()),
        [verb @ ("stop" | "start" | "restart"), service] => {
            console.line("shopctl", &format!("{verb} {service} (shopctl service)"));
            if matches!(*verb, "stop" | "restart") {
                controls.apply(service, false).await?;
            }
            if matches!(*verb, "start" | "restart") {
                controls.apply(service, true).await?;
            }
            Ok(String::new())
        }
        _ => anyhow::bail!("unknown request {request:?} (stop|start|restart NAME, or status)"),
    }
}

/// Sends `request` to the `up` running on `data_dir`: its answer's text, or `None` when no
/// `up` runs there (no socket, or nobody listening on it).
pub(crate) async fn request(data_dir: &Path, request: &str) -> anyhow::Result<Option<String>> {
    let path = socket_path(data_dir);
    let mut stream = match UnixStream::connect(&path).await {
        Ok(stream) => stream,
        Err(error)
            if matches!(
                error.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
            ) =>
        {
            return Ok(None);
        }
        Err(error) => return Err(anyhow::anyhow!("cannot reach {}: {error}", path.display())),
    };
    stream.write_all(format!("{request}\n").as_bytes()).await?;
    let mut reply = String::new();
    tokio::io::AsyncReadExt::read_to_string(&mut stream, &mut reply).await?;
    match reply.strip_prefix("ok\n") {
        Some(text) => Ok(Some(text.to_owned())),
        None => anyhow::bail!(
            "{}",
            reply.trim().strip_prefix("error: ").unwrap_or(reply.trim())
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_data_directory_too_deep_for_a_unix_socket_gets_one_in_the_temporary_directory() {
        let short = Path::new("/srv/shop");
        assert_eq!(socket_path(short), short.join("up.sock"));
        let deep = PathBuf::from(format!("/srv/{}", "deep/".repeat(30)));
        let socket = socket_path(&deep);
        assert!(
            socket.starts_with(std::env::temp_dir()),
            "{}",
            socket.display()
        );
        assert!(socket.as_os_str().len() <= 100);
        assert_eq!(
            socket,
            socket_path(&deep),
            "the same for up and for shopctl service"
        );
        assert_ne!(socket, socket_path(&deep.join("other")));
    }
}
