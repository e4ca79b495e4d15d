//! An order-statistics tree (a treap with subtree sizes): insert, remove, rank and select in
//! O(log n). The waitlist ranks entries by queue key with it; leaderboards rank scores.

/// A set of ordered keys that also answers "how many keys are smaller" and "the k-th key".
#[derive(Debug, Clone)]
pub struct OrderStatTree<K> {
    root: Link<K>,
    seed: u64,
}

type Link<K> = Option<Box<Node<K>>>;

#[derive(Debug, Clone)]
struct Node<K> {
    key: K,
    priority: u64,
    size: usize,
    left: Link<K>,
    right: Link<K>,
}

fn size<K>(link: &Link<K>) -> usize {
    link.as_ref().map_or(0, |node| node.size)
}

impl<K> Node<K> {
    fn fix(&mut self) {
        self.size = 1 + size(&self.left) + size(&self.right);
    }
}

impl<K: Ord> Default for OrderStatTree<K> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K: Ord> OrderStatTree<K> {
    pub fn new() -> Self {
        Self { root: None, seed: 0x2545_F491_4F6C_DD1D }
    }

    pub fn len(&self) -> usize {
        size(&self.root)
    }

    pub fn is_empty(&self) -> bool {
        self.root.is_none()
    }

    fn next_priority(&mut self) -> u64 {
        // xorshift64: deterministic priorities keep the tree shape reproducible.
        self.seed ^= self.seed << 13;
        self.seed ^= self.seed >> 7;
        self.seed ^= self.seed << 17;
        self.seed
    }

    /// Splits into (keys < key, keys >= key).
    fn split(link: Link<K>, key: &K) -> (Link<K>, Link<K>) {
        match link {
            None => (None, None),
            Some(mut node) => {
                if node.key < *key {
                    let (l, r) = Self::split(node.right.take(), key);
                    node.right = l;
                    node.fix();
                    (Some(node), r)
                } else {
                    let (l, r) = Self::split(node.left.take(), key);
                    node.left = r;
                    node.fix();
                    (l, Some(node))
                }
            }
        }
    }

    fn merge(left: Link<K>, right: Link<K>) -> Link<K> {
        match (left, right) {
            (None, r) => r,
            (l, None) => l,
            (Some(mut l), Some(mut r)) => {
                if l.priority > r.priority {
                    l.right = Self::merge(l.right.take(), Some(r));
                    l.fix();
                    Some(l)
                } else {
                    r.left = Self::merge(Some(l), r.left.take());
                    r.fix();
                    Some(r)
                }
            }
        }
    }

    pub fn contains(&self, key: &K) -> bool {
        let mut link = &self.root;
        while let Some(node) = link {
            match key.cmp(&node.key) {
                std::cmp::Ordering::Equal => return true,
                std::cmp::Ordering::Less => link = &node.left,
                std::cmp::Ordering::Greater => link = &node.right,
            }
        }
        false
    }

    /// Inserts `key`; returns false when it was already present.
    pub fn insert(&mut self, key: K) -> bool {
        if self.contains(&key) {
            return false;
        }
        let priority = self.next_priority();
        let (l, r) = Self::split(self.root.take(), &key);
        let node = Some(Box::new(Node { key, priority, size: 1, left: None, right: None }));
        self.root = Self::merge(Self::merge(l, node), r);
        true
    }

    /// Removes `key`; returns false when it was absent.
    pub fn remove(&mut self, key: &K) -> bool {
        if !self.contains(key) {
            return false;
        }
        let (l, r) = Self::split(self.root.take(), key);
        // r starts with `key`: drop its smallest node.
        let r = Self::remove_min(r);
        self.root = Self::merge(l, r);
        true
    }

    fn remove_min(link: Link<K>) -> Link<K> {
        let mut node = link?;
        if node.left.is_none() {
            return node.right.take();
        }
        node.left = Self::remove_min(node.left.take());
        node.fix();
        Some(node)
    }

    /// How many keys are strictly smaller than `key` (its 0-based rank when present).
    pub fn rank(&self, key: &K) -> usize {
        let mut link = &self.root;
        let mut smaller = 0;
        while let Some(node) = link {
            if node.key < *key {
                smaller += size(&node.left) + 1;
                link = &node.right;
            } else {
                link = &node.left;
            }
        }
        smaller
    }

    /// The key at 0-based position `index`.
    pub fn select(&self, mut index: usize) -> Option<&K> {
        let mut link = &self.root;
        while let Some(node) = link {
            let left = size(&node.left);
            match index.cmp(&left) {
                std::cmp::Ordering::Less => link = &node.left,
                std::cmp::Ordering::Equal => return Some(&node.key),
                std::cmp::Ordering::Greater => {
                    index -= left + 1;
                    link = &node.right;
                }
            }
        }
        None
    }

    /// Up to `count` keys from position `start`, in order.
    pub fn range(&self, start: usize, count: usize) -> Vec<&K> {
        (start..start.saturating_add(count).min(self.len())).filter_map(|i| self.select(i)).collect()
    }

    pub fn clear(&mut self) {
        // Drop iteratively through `into_sorted` is not needed: depth is O(log n) expected.
        self.root = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn matches_a_sorted_vec(ops in proptest::collection::vec((any::<bool>(), 0u16..300), 0..400)) {
            let mut tree = OrderStatTree::new();
            let mut model: Vec<u16> = Vec::new();
            for (insert, key) in ops {
                if insert {
                    let fresh = !model.contains(&key);
                    prop_assert_eq!(tree.insert(key), fresh);
                    if fresh { model.push(key); model.sort_unstable(); }
                } else {
                    let present = model.contains(&key);
                    prop_assert_eq!(tree.remove(&key), present);
                    model.retain(|k| *k != key);
                }
                prop_assert_eq!(tree.len(), model.len());
                prop_assert_eq!(tree.rank(&key), model.iter().filter(|k| **k < key).count());
            }
            for (i, key) in model.iter().enumerate() {
                prop_assert_eq!(tree.select(i), Some(key));
            }
        }
    }
}
