//! A fixed-size ring of samples: allocated whole at start, overwritten oldest first, so a page's
//! history costs the same memory after a minute as after a month. The mock's console keeps its
//! hour of samples in one; `loadgen journey --web` keeps its charts' points in another.

/// Holds the newest `capacity` values pushed.
#[derive(Debug, Clone)]
pub struct Ring<T> {
    slots: Box<[T]>,
    /// Index the next push writes.
    next: usize,
    len: usize,
}

impl<T: Copy + Default> Ring<T> {
    /// Allocates (and writes) every slot now, so the resident size does not creep up as the
    /// ring fills.
    pub fn new(capacity: usize) -> Ring<T> {
        let mut slots = vec![T::default(); capacity.max(1)].into_boxed_slice();
        // An all-zero default may come from calloc, whose pages are mapped only when first
        // written; write every slot now (black_box keeps the stores) so RSS is whole at start.
        for slot in slots.iter_mut() {
            *slot = std::hint::black_box(T::default());
        }
        Ring {
            slots,
            next: 0,
            len: 0,
        }
    }

    pub fn push(&mut self, value: T) {
        self.slots[self.next] = value;
        self.next = (self.next + 1) % self.slots.len();
        self.len = (self.len + 1).min(self.slots.len());
    }

    /// The most values it holds.
    pub fn capacity(&self) -> usize {
        self.slots.len()
    }

    /// Forgets every value (a new run, a reset); the slots stay allocated.
    pub fn clear(&mut self) {
        self.next = 0;
        self.len = 0;
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The `i`-th oldest value held.
    pub fn get(&self, i: usize) -> Option<&T> {
        (i < self.len).then(|| {
            let start = (self.next + self.slots.len() - self.len) % self.slots.len();
            &self.slots[(start + i) % self.slots.len()]
        })
    }

    pub fn newest(&self) -> Option<&T> {
        self.len.checked_sub(1).and_then(|i| self.get(i))
    }

    /// Oldest first.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &T> + '_ {
        (0..self.len).filter_map(|i| self.get(i))
    }
}

#[cfg(test)]
mod tests {
    use super::Ring;
    use proptest::prelude::*;

    #[test]
    fn keeps_the_newest_values_in_order() {
        let mut r = Ring::new(3);
        assert!(r.is_empty() && r.newest().is_none());
        for v in 1..=5u32 {
            r.push(v);
        }
        assert_eq!(r.iter().copied().collect::<Vec<_>>(), [3, 4, 5]);
        assert_eq!(r.newest(), Some(&5));
        assert_eq!(r.get(3), None);
        assert_eq!(r.capacity(), 3);
        r.clear();
        assert!(r.is_empty() && r.iter().next().is_none());
        r.push(9);
        assert_eq!(r.iter().copied().collect::<Vec<_>>(), [9]);
    }

    proptest! {
        #[test]
        fn holds_the_last_capacity_pushes(cap in 1usize..20, n in 0u32..100) {
            let mut r = Ring::new(cap);
            for v in 0..n {
                r.push(v);
            }
            let want: Vec<u32> = (n.saturating_sub(cap as u32)..n).collect();
            prop_assert_eq!(r.iter().copied().collect::<Vec<_>>(), want);
        }
    }
}
