//! Delta debugging (Zeller's ddmin) over fault schedules.

/// The smallest sub-list of `items` (1-minimal: removing any one item
/// makes `fails` false) for which `fails` still holds; `items` must fail.
pub fn ddmin<T: Clone>(mut items: Vec<T>, fails: impl Fn(&[T]) -> bool) -> Vec<T> {
    if fails(&[]) {
        return Vec::new();
    }
    let mut n = 2usize;
    while items.len() >= 2 {
        let chunk = items.len().div_ceil(n);
        let mut reduced = false;
        // Try each complement (the list without one chunk).
        let chunks = n;
        for i in 0..chunks {
            let lo = (i * chunk).min(items.len());
            let hi = ((i + 1) * chunk).min(items.len());
            if lo == hi {
                continue;
            }
            let complement: Vec<T> = items[..lo]
                .iter()
                .chain(items[hi..].iter())
                .cloned()
                .collect();
            if fails(&complement) {
                items = complement;
                n = (n - 1).max(2);
                reduced = true;
                break;
            }
        }
        if !reduced {
            if n >= items.len() {
                break;
            }
            n = (n * 2).min(items.len());
        }
    }
    items
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_culprits() {
        let items: Vec<u32> = (0..20).collect();
        let got = ddmin(items, |s| s.contains(&3) && s.contains(&17));
        assert_eq!(got, vec![3, 17]);
    }

    #[test]
    fn single_culprit_and_empty() {
        assert_eq!(ddmin(vec![1, 2, 3], |s| s.contains(&2)), vec![2]);
        assert_eq!(ddmin(vec![1, 2, 3], |_| true), Vec::<i32>::new());
    }
}
