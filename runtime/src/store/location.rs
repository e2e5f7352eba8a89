//! Where a service's store lives inside its data directory, and how a rebuilt store replaces
//! it. A data directory holds the store's files itself (as the service first created it), or
//! a `CURRENT` file naming the generation in use (`store-<millis>/`, written by a rebuild).
//! Everything stays inside the data directory, so this works when it is a mount point (a
//! compose volume), and swapping is one atomic rename of `CURRENT`: a crash at any moment
//! leaves either the old store or the new one in use, never none.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// The file naming the generation in use.
pub(crate) const CURRENT: &str = "CURRENT";

/// The directory of the store in use in `data_dir`.
pub(crate) fn resolve(data_dir: &Path) -> io::Result<PathBuf> {
    match fs::read_to_string(data_dir.join(CURRENT)) {
        Ok(name) => {
            let name = name.trim();
            if !name.starts_with("store-") || name.contains(['/', '\\']) || name.contains("..") {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!(
                        "{} names {name:?}, not a store generation",
                        data_dir.join(CURRENT).display()
                    ),
                ));
            }
            Ok(data_dir.join(name))
        }
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(data_dir.to_path_buf()),
        Err(error) => Err(error),
    }
}

/// A new generation's directory in `data_dir` (not yet in use).
pub(crate) fn new_generation(data_dir: &Path, stamp: i64) -> PathBuf {
    data_dir.join(format!("store-{stamp}"))
}

/// Makes `generation` (a directory inside `data_dir` whose store is flushed) the store in use:
/// fsync it, write `CURRENT.tmp`, fsync, rename it over `CURRENT`, fsync `data_dir`.
pub(crate) fn swap_in(data_dir: &Path, generation: &Path) -> io::Result<()> {
    let name = generation
        .file_name()
        .and_then(|name| name.to_str())
        .filter(|_| generation.parent() == Some(data_dir))
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "not a generation of this data directory",
            )
        })?;
    sync_dir(generation)?;
    let temporary = data_dir.join(format!("{CURRENT}.tmp"));
    let mut file = File::create(&temporary)?;
    file.write_all(name.as_bytes())?;
    file.sync_all()?;
    fs::rename(&temporary, data_dir.join(CURRENT))?;
    sync_dir(data_dir)
}

fn sync_dir(path: &Path) -> io::Result<()> {
    File::open(path)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_swap_leaves_the_old_or_the_new_store_at_every_step() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path();
        assert_eq!(
            resolve(data).unwrap(),
            data,
            "a plain data directory is the store"
        );
        let first = new_generation(data, 1);
        fs::create_dir(&first).unwrap();
        // a crash after the temporary file was written but before the rename: still the old
        fs::write(data.join("CURRENT.tmp"), "store-1").unwrap();
        assert_eq!(resolve(data).unwrap(), data);
        swap_in(data, &first).unwrap();
        assert_eq!(resolve(data).unwrap(), first);
        let second = new_generation(data, 2);
        fs::create_dir(&second).unwrap();
        assert_eq!(
            resolve(data).unwrap(),
            first,
            "a generation not swapped in is not used"
        );
        swap_in(data, &second).unwrap();
        assert_eq!(resolve(data).unwrap(), second);
        assert!(!data.join("CURRENT.tmp").exists());
    }

    #[test]
    fn a_current_file_that_points_outside_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(CURRENT), "../elsewhere").unwrap();
        assert!(resolve(dir.path()).is_err());
        assert!(swap_in(dir.path(), Path::new("/tmp")).is_err());
    }
}
