//! Weighted selection of target groups: a smooth weighted round-robin schedule, so any window of
//! requests is split as close to the weights as integers allow.
//!
//! Every prefix of the schedule is within one request of the ideal share: after `n` picks, entry
//! `i` has been chosen `c` times with `|c - n·wᵢ/S| < 1` (`S` the sum of the weights), and after a
//! whole period exactly `wᵢ` times. nginx's greedy rule ("add each weight to a running score,
//! pick the highest score, subtract `S`") is smooth on average but can let an entry fall more than
//! one pick behind with three or more entries (weights `[999, 50, 2, 2, 999]` lag by 1.2), so the
//! schedule is built the way Tijdeman's chairman-assignment solution is: the `m`-th pick of entry
//! `i` becomes available once `(m-1)·S/wᵢ < n` and is due by `m·S/wᵢ`, and each slot goes to the
//! available pick that is due first. Earliest-deadline-first meets every deadline here because
//! no interval of slots is asked for more picks than it has, which is exactly the bound above.

/// Longest period [`smooth_schedule`] builds. Weights the API accepts (0–999, at most five target
/// groups per forward action) never come near it; larger inputs are reduced by their greatest
/// common divisor and then scaled down proportionally, so a bad caller cannot allocate gigabytes.
pub const MAX_PERIOD_LEN: u64 = 1 << 20;

/// One period of smooth weighted round robin over `weights` (indexes into `weights`), of length
/// `sum(weights)`; empty when every weight is 0.
///
/// Weight-0 entries never appear. Entries past index `u16::MAX` are ignored. Ties between picks
/// due at the same moment go to the lower index, so the schedule is a pure function of `weights`.
pub fn smooth_schedule(weights: &[u32]) -> Vec<u16> {
    let limit = weights.len().min(usize::from(u16::MAX) + 1);
    let weights = bounded_weights(&weights[..limit]);
    let period_len: u64 = weights.iter().sum();
    if period_len == 0 {
        return Vec::new();
    }
    let mut picked = vec![0_u64; weights.len()];
    let mut schedule = Vec::with_capacity(usize::try_from(period_len).unwrap_or(0));
    for slot in 1..=period_len {
        // The available pick that is due first: pick `m = picked + 1` of entry `i` is due at
        // `m·S/wᵢ`; compare `m_a/w_a` with `m_b/w_b` by cross-multiplication.
        let mut best: Option<(usize, u64)> = None;
        for (index, &weight) in weights.iter().enumerate() {
            let m = picked[index] + 1;
            if weight == 0 || picked[index] == weight {
                continue;
            }
            let available =
                u128::from(m - 1) * u128::from(period_len) < u128::from(slot) * u128::from(weight);
            if !available {
                continue;
            }
            let earlier = match best {
                None => true,
                Some((best_index, best_m)) => {
                    u128::from(m) * u128::from(weights[best_index]) < u128::from(best_m) * u128::from(weight)
                }
            };
            if earlier {
                best = Some((index, m));
            }
        }
        // Earliest-deadline-first never leaves a slot empty here (see the module docs); should it,
        // the entry furthest behind its share takes the slot, so the period still has every pick.
        let index = best
            .map(|(index, _)| index)
            .unwrap_or_else(|| furthest_behind(&weights, &picked));
        picked[index] += 1;
        schedule.push(u16::try_from(index).unwrap_or(u16::MAX));
    }
    schedule
}

/// The entry with picks left whose share is furthest ahead of its picks.
fn furthest_behind(weights: &[u64], picked: &[u64]) -> usize {
    let mut best = 0;
    let mut best_ratio = (0_u64, 1_u64);
    for (index, (&weight, &count)) in weights.iter().zip(picked).enumerate() {
        if count >= weight {
            continue;
        }
        // Remaining share (weight - count) / weight: larger means more behind.
        let ratio = (weight - count, weight);
        if u128::from(ratio.0) * u128::from(best_ratio.1) > u128::from(best_ratio.0) * u128::from(ratio.1) {
            best = index;
            best_ratio = ratio;
        }
    }
    best
}

/// `weights` as u64, reduced so that their sum is at most [`MAX_PERIOD_LEN`].
fn bounded_weights(weights: &[u32]) -> Vec<u64> {
    let mut out: Vec<u64> = weights.iter().map(|&w| u64::from(w)).collect();
    let sum: u64 = out.iter().sum();
    if sum <= MAX_PERIOD_LEN {
        return out;
    }
    let divisor = out.iter().fold(0, |g, &w| gcd(g, w));
    if divisor > 1 {
        out.iter_mut().for_each(|w| *w /= divisor);
    }
    let sum: u64 = out.iter().sum();
    if sum > MAX_PERIOD_LEN {
        let nonzero = out.iter().filter(|&&w| w > 0).count() as u64;
        // Leave room for every nonzero entry keeping at least one pick.
        let budget = MAX_PERIOD_LEN.saturating_sub(nonzero).max(1);
        out.iter_mut().filter(|w| **w > 0).for_each(|w| {
            let scaled = u128::from(*w) * u128::from(budget) / u128::from(sum);
            *w = u64::try_from(scaled).unwrap_or(u64::MAX).max(1);
        });
    }
    out
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 { a } else { gcd(b, a % b) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn counts(schedule: &[u16], len: usize) -> Vec<u64> {
        let mut counts = vec![0; len];
        for &i in schedule {
            counts[usize::from(i)] += 1;
        }
        counts
    }

    /// `|count·S - n·w| < S` for every entry and every prefix length `n`.
    fn assert_prefix_bound(weights: &[u32], schedule: &[u16]) {
        let sum: i128 = weights.iter().map(|&w| i128::from(w)).sum();
        let mut counts = vec![0_i128; weights.len()];
        for (n, &i) in schedule.iter().enumerate() {
            counts[usize::from(i)] += 1;
            let n = n as i128 + 1;
            for (index, &w) in weights.iter().enumerate() {
                let deviation = counts[index] * sum - n * i128::from(w);
                assert!(
                    deviation.abs() < sum,
                    "weights {weights:?}: after {n} picks entry {index} has {} picks",
                    counts[index]
                );
            }
        }
    }

    #[test]
    fn empty_and_all_zero_weights_give_an_empty_schedule() {
        assert!(smooth_schedule(&[]).is_empty());
        assert!(smooth_schedule(&[0, 0, 0]).is_empty());
    }

    #[test]
    fn a_single_group_takes_every_slot() {
        assert_eq!(smooth_schedule(&[3]), vec![0, 0, 0]);
        assert_eq!(smooth_schedule(&[0, 1]), vec![1]);
    }

    #[test]
    fn each_index_appears_weight_times_per_period() {
        for weights in [
            vec![75, 25],
            vec![1, 1],
            vec![5, 1, 1],
            vec![999, 0, 1],
            vec![10, 20, 30, 40, 0],
        ] {
            let schedule = smooth_schedule(&weights);
            let sum: u32 = weights.iter().sum();
            assert_eq!(schedule.len(), sum as usize);
            let expected: Vec<u64> = weights.iter().map(|&w| u64::from(w)).collect();
            assert_eq!(counts(&schedule, weights.len()), expected, "{weights:?}");
        }
    }

    #[test]
    fn the_schedule_interleaves() {
        assert_eq!(smooth_schedule(&[1, 1]), vec![0, 1]);
        assert_eq!(smooth_schedule(&[3, 1]), vec![0, 0, 0, 1]);
        let schedule = smooth_schedule(&[50, 50]);
        assert!(schedule.windows(2).all(|w| w[0] != w[1]), "{schedule:?}");
    }

    #[test]
    fn weight_zero_never_appears() {
        let schedule = smooth_schedule(&[0, 7, 0, 3]);
        assert!(schedule.iter().all(|&i| i == 1 || i == 3));
    }

    #[test]
    fn greedy_counterexample_stays_within_one() {
        // nginx's greedy rule lets entry 1 fall 1.2 picks behind here.
        let weights = [999, 50, 2, 2, 999];
        assert_prefix_bound(&weights, &smooth_schedule(&weights));
    }

    #[test]
    fn oversized_weights_are_bounded() {
        let schedule = smooth_schedule(&[u32::MAX, u32::MAX / 3, 1]);
        assert!(schedule.len() as u64 <= MAX_PERIOD_LEN);
        let counts = counts(&schedule, 3);
        assert!(counts.iter().all(|&c| c > 0), "{counts:?}");
        // Common divisors are taken out first: exact proportions survive.
        let schedule = smooth_schedule(&[3_000_000, 1_000_000]);
        assert_eq!(schedule, vec![0, 0, 0, 1]);
    }

    proptest! {
        #[test]
        fn counts_equal_weights_and_prefixes_stay_within_one(
            weights in proptest::collection::vec(0_u32..=999, 1..=5)
        ) {
            let schedule = smooth_schedule(&weights);
            let expected: Vec<u64> = weights.iter().map(|&w| u64::from(w)).collect();
            prop_assert_eq!(counts(&schedule, weights.len()), expected);
            assert_prefix_bound(&weights, &schedule);
        }
    }
}
