//! A stable 64-bit digest (FNV-1a) of a store's service trees, to compare two stores' state
//! (a live store and its rebuild, a store before and after a replay).

use super::{FIRST_SERVICE_TREE, Store, StoreError};

impl Store {
    /// The digest of the named trees only.
    pub fn digest_of(&self, trees: &[&str]) -> Result<u64, StoreError> {
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        let mut feed = |bytes: &[u8]| {
            for byte in (bytes.len() as u64).to_be_bytes().iter().chain(bytes) {
                hash = (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3);
            }
        };
        for (name, tree) in self.names.iter().zip(&self.trees[FIRST_SERVICE_TREE..]) {
            if !trees.contains(name) {
                continue;
            }
            feed(name.as_bytes());
            for entry in tree.iter() {
                let (key, value) = entry?;
                feed(&key);
                feed(&value);
            }
        }
        Ok(hash)
    }

    /// The digest of every service tree.
    pub fn digest(&self) -> Result<u64, StoreError> {
        let names = self.names.clone();
        self.digest_of(&names)
    }
}
