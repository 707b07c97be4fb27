//! When to refresh, and how long to wait after a failure. Pure functions of time: no clock,
//! no I/O, so every rule is checked by plain unit tests.

use chrono::{DateTime, TimeDelta, Utc};

/// Smallest head start before expiry (the issue's "at least 30 s").
pub const MIN_LEAD: TimeDelta = TimeDelta::seconds(30);

/// `lanyard token` refreshes by itself when the token expires within
/// [`crate::tokens::set::REFRESH_MARGIN_SECS`]; the engine refreshes this much earlier still,
/// so that with the engine running the token helper (on every IDE connection) never has to
/// wait for the IdP.
pub const HELPER_LEAD: TimeDelta = TimeDelta::seconds(crate::tokens::set::REFRESH_MARGIN_SECS + 15);

/// The instant a token should be refreshed: the one rule of [`crate::tokens::set::refresh_lead`]
/// (about 10 % of its lifetime before it expires, never before half of its lifetime has passed)
/// with the engine's head start: at least [`MIN_LEAD`] and [`HELPER_LEAD`] before expiry.
///
/// `obtained_at` is when the token was issued; when unknown, the time left from `now` stands in
/// for the lifetime.
pub fn refresh_due(
    obtained_at: Option<DateTime<Utc>>,
    expires_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> DateTime<Utc> {
    let lifetime = obtained_at
        .map(|o| expires_at - o)
        .filter(|l| *l > TimeDelta::zero())
        .unwrap_or(expires_at - now);
    if lifetime <= TimeDelta::zero() {
        return now; // already expired: refresh now
    }
    let margin = MIN_LEAD.max(HELPER_LEAD).num_milliseconds();
    let lead = crate::tokens::set::refresh_lead(lifetime.num_milliseconds(), margin);
    expires_at - TimeDelta::milliseconds(lead)
}

/// Jittered exponential backoff for an unreachable IdP or a 5xx answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Delay before the first retry (upper bound; jitter draws from its upper half).
    pub first: TimeDelta,
    /// Largest delay between two retries.
    pub max: TimeDelta,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            first: TimeDelta::seconds(2),
            max: TimeDelta::minutes(2),
        }
    }
}

impl Backoff {
    /// Upper bound of the delay before retry number `attempt` (0 = the first retry).
    pub fn ceiling(&self, attempt: u32) -> TimeDelta {
        let factor = 1i32.checked_shl(attempt.min(20)).unwrap_or(i32::MAX);
        self.first
            .checked_mul(factor)
            .unwrap_or(self.max)
            .min(self.max)
    }

    /// The delay before retry number `attempt`: uniform in the upper half of [`Self::ceiling`]
    /// ("equal jitter"), so a thousand servers behind one IdP do not retry in lockstep, yet
    /// each retry still waits a real while. `unit` is a random number in `[0, 1]`.
    pub fn delay(&self, attempt: u32, unit: f64) -> TimeDelta {
        let ceiling = self.ceiling(attempt);
        let half = ceiling / 2;
        let unit = if unit.is_finite() {
            unit.clamp(0.0, 1.0)
        } else {
            0.5
        };
        let extra_ms = (half.num_milliseconds() as f64 * unit) as i64;
        half + TimeDelta::milliseconds(extra_ms)
    }

    /// [`Self::delay`] with a fresh random draw.
    pub fn delay_random(&self, attempt: u32) -> TimeDelta {
        self.delay(attempt, rand::random::<f64>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + s, 0).expect("valid timestamp")
    }

    #[test]
    fn five_minute_token_is_refreshed_before_the_token_helper_would() {
        assert_eq!(refresh_due(Some(t(0)), t(300), t(0)), t(225));
    }

    #[test]
    fn one_hour_token_is_refreshed_ten_percent_ahead() {
        assert_eq!(refresh_due(Some(t(0)), t(3600), t(10)), t(3240));
    }

    #[test]
    fn short_token_waits_half_its_life() {
        assert_eq!(refresh_due(Some(t(0)), t(10), t(0)), t(5));
    }

    #[test]
    fn unknown_issue_time_uses_time_left() {
        assert_eq!(refresh_due(None, t(300), t(0)), t(225));
        assert_eq!(refresh_due(None, t(100), t(90)), t(95));
    }

    #[test]
    fn expired_token_is_due_now() {
        assert_eq!(refresh_due(None, t(5), t(10)), t(10));
        assert!(refresh_due(Some(t(0)), t(5), t(10)) <= t(10));
    }

    #[test]
    fn backoff_grows_then_caps_and_stays_in_upper_half() {
        let b = Backoff::default();
        assert_eq!(b.ceiling(0), TimeDelta::seconds(2));
        assert_eq!(b.ceiling(3), TimeDelta::seconds(16));
        assert_eq!(b.ceiling(40), TimeDelta::minutes(2));
        assert_eq!(b.delay(3, 0.0), TimeDelta::seconds(8));
        assert_eq!(b.delay(3, 1.0), TimeDelta::seconds(16));
        assert_eq!(b.delay(3, f64::NAN), TimeDelta::seconds(12));
        for attempt in 0..30 {
            let d = b.delay_random(attempt);
            assert!(d >= b.ceiling(attempt) / 2 && d <= b.ceiling(attempt));
        }
    }
}
