//! Which live instance should own each partition: the same answer on every instance that sees
//! the same members, so they agree without talking to each other.
//!
//! Rendezvous hashing with a bound: every partition ranks the members by a hash of
//! (member, partition), and partitions are handed out in order, each to the best-ranked member
//! that has fewer than `ceil(partitions / members)`. Loads differ by at most one, and a member
//! joining or leaving moves few partitions (those whose ranking it tops, and a few to keep the
//! bound), not a reshuffle of everything.

use std::collections::BTreeMap;

use events::partition::{Partition, Partitions};

/// The owner each partition should have; `None` for every partition when there are no members.
pub fn assign(partitions: Partitions, members: &[String]) -> BTreeMap<Partition, &str> {
    let mut members: Vec<&str> = members.iter().map(String::as_str).collect();
    members.sort_unstable();
    members.dedup();
    let mut owners = BTreeMap::new();
    if members.is_empty() {
        return owners;
    }
    let bound = usize::from(partitions.count()).div_ceil(members.len());
    let mut loads: BTreeMap<&str, usize> = members.iter().map(|m| (*m, 0)).collect();
    for partition in partitions.all() {
        let mut ranked = members.clone();
        ranked.sort_by_key(|member| std::cmp::Reverse(rank(member, partition)));
        let owner = ranked
            .into_iter()
            .find(|member| loads[member] < bound)
            .expect("the bound leaves room for every partition");
        *loads.get_mut(owner).expect("a member") += 1;
        owners.insert(partition, owner);
    }
    owners
}

/// How much `member` wants `partition`: FNV-1a 64 of `member/partition`, then mixed so that
/// similar names do not rank alike.
fn rank(member: &str, partition: Partition) -> (u64, &str) {
    let text = format!("{member}/{partition}");
    let hash = text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    // splitmix64's finaliser
    let mut mixed = hash;
    mixed = (mixed ^ (mixed >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    mixed = (mixed ^ (mixed >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    (mixed ^ (mixed >> 31), member)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn names(n: usize) -> Vec<String> {
        (1..=n).map(|i| format!("payments-{i}")).collect()
    }

    #[test]
    fn no_members_no_owners() {
        assert!(assign(Partitions::default(), &[]).is_empty());
    }

    #[test]
    fn one_member_owns_everything() {
        let members = names(1);
        let owners = assign(Partitions::default(), &members);
        assert_eq!(owners.len(), 12);
        assert!(owners.values().all(|owner| *owner == "payments-1"));
    }

    #[test]
    fn twelve_partitions_split_evenly_over_two_three_four_and_six() {
        for n in [2, 3, 4, 6] {
            let members = names(n);
            let owners = assign(Partitions::default(), &members);
            for member in &members {
                let load = owners.values().filter(|o| **o == member.as_str()).count();
                assert_eq!(load, 12 / n, "{member} of {n}");
            }
        }
    }

    proptest! {
        #[test]
        fn every_instance_computes_the_same_owners(
            mut members in prop::collection::vec("[a-z]{1,8}-[0-9]{1,3}", 1..8),
            count in 1u32..64,
        ) {
            let partitions = Partitions::new(count).unwrap();
            let owners = assign(partitions, &members)
                .into_iter()
                .map(|(p, o)| (p, o.to_owned()))
                .collect::<BTreeMap<_, _>>();
            members.reverse();
            let again = assign(partitions, &members)
                .into_iter()
                .map(|(p, o)| (p, o.to_owned()))
                .collect::<BTreeMap<_, _>>();
            prop_assert_eq!(&owners, &again);
            prop_assert_eq!(owners.len(), count as usize);
            // loads differ by at most one
            let mut loads: BTreeMap<&str, usize> = BTreeMap::new();
            for owner in owners.values() {
                *loads.entry(owner.as_str()).or_default() += 1;
            }
            let distinct = { let mut m = members.clone(); m.sort(); m.dedup(); m.len() };
            let bound = (count as usize).div_ceil(distinct);
            prop_assert!(loads.values().all(|load| *load <= bound));
        }

        #[test]
        fn a_member_joining_moves_only_a_few_partitions(n in 1usize..6) {
            let (few, more) = (names(n), names(n + 1));
            let before = assign(Partitions::default(), &few);
            let after = assign(Partitions::default(), &more);
            let moved = before.iter().filter(|(p, o)| after[*p] != **o).count();
            // the newcomer's fair share, plus what the bound shuffles between the others
            let share = 12usize.div_ceil(n + 1);
            prop_assert!(moved <= 2 * share, "{} moved for a share of {}", moved, share);
        }
    }
}
