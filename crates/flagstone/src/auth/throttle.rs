//! Failed-login throttling, per account and per client IP.
//!
//! Each key (an account's normalised email, or a client IP) counts its failures in a fixed
//! window that opens with its first failure. Once the count reaches the limit, attempts for
//! that key are refused with 429 and `Retry-After` until the window closes, without
//! checking the password, so throttled guesses cost the server nothing. A successful login
//! clears the account's count (not the IP's: one good password must not buy an attacker
//! more guesses elsewhere).
//!
//! Counters live in memory, per process: with several instances behind a load balancer the
//! effective limit is the per-instance limit times the instances, still far below what
//! brute force needs. The per-account limit lets anyone who knows an address delay its
//! owner's logins for one window; that is the usual trade against unlimited guessing.

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::Mutex,
    time::{Duration, Instant},
};

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Key {
    Account(Box<str>),
    Ip(IpAddr),
}

#[derive(Clone, Copy, Debug)]
struct Window {
    opened: Instant,
    failures: u64,
}

/// Failed-login counters; see the module docs.
#[derive(Debug)]
pub struct LoginThrottle {
    windows: Mutex<HashMap<Key, Window>>,
    per_account: u64,
    per_ip: u64,
    window: Duration,
}

/// Sweep expired windows once the map holds this many keys.
const SWEEP_AT: usize = 4096;

impl LoginThrottle {
    /// Allows `per_account` failures per account and `per_ip` per client IP in `window`;
    /// a limit of 0 turns that check off.
    pub fn new(per_account: u64, per_ip: u64, window: Duration) -> Self {
        Self {
            windows: Mutex::new(HashMap::new()),
            per_account,
            per_ip,
            window,
        }
    }

    /// `Err(seconds)` when `account` or `ip` has used up its failures: refuse the attempt
    /// with 429 and `Retry-After: seconds`.
    pub fn check(&self, account: &str, ip: Option<IpAddr>) -> Result<(), u64> {
        let now = Instant::now();
        let windows = self.lock();
        let blocked = |key: &Key, limit: u64| -> Option<u64> {
            let w = windows.get(key)?;
            let left = self.window.checked_sub(now.duration_since(w.opened))?;
            (limit > 0 && w.failures >= limit).then(|| left.as_secs().max(1))
        };
        let account = blocked(&Key::Account(account.into()), self.per_account);
        let ip = ip.and_then(|ip| blocked(&Key::Ip(ip), self.per_ip));
        match account.max(ip) {
            Some(seconds) => Err(seconds),
            None => Ok(()),
        }
    }

    /// Counts a failed attempt against `account` and `ip`.
    pub fn failure(&self, account: &str, ip: Option<IpAddr>) {
        let now = Instant::now();
        let mut windows = self.lock();
        if windows.len() >= SWEEP_AT {
            windows.retain(|_, w| now.duration_since(w.opened) < self.window);
        }
        let keys = std::iter::once(Key::Account(account.into())).chain(ip.map(Key::Ip));
        for key in keys {
            let w = windows.entry(key).or_insert(Window {
                opened: now,
                failures: 0,
            });
            if now.duration_since(w.opened) >= self.window {
                *w = Window {
                    opened: now,
                    failures: 0,
                };
            }
            w.failures += 1;
        }
    }

    /// Clears `account`'s failures after a successful login.
    pub fn success(&self, account: &str) {
        self.lock().remove(&Key::Account(account.into()));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Window>> {
        // A panic while holding the lock leaves plain counters behind: still usable.
        self.windows.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounts_and_ips_are_throttled_separately() {
        let t = LoginThrottle::new(2, 3, Duration::from_secs(60));
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        assert!(t.check("a@x.io", Some(ip)).is_ok());
        t.failure("a@x.io", Some(ip));
        t.failure("a@x.io", Some(ip));
        let retry = t.check("a@x.io", Some(ip)).unwrap_err();
        assert!((1..=60).contains(&retry));
        // Another account from the same IP: one more failure allowed, then the IP is out.
        assert!(t.check("b@x.io", Some(ip)).is_ok());
        t.failure("b@x.io", Some(ip));
        assert!(t.check("c@x.io", Some(ip)).is_err());
        assert!(t.check("c@x.io", Some("10.0.0.2".parse().unwrap())).is_ok());
        // Success clears the account, not the IP.
        t.success("a@x.io");
        assert!(t.check("a@x.io", None).is_ok());
        assert!(t.check("a@x.io", Some(ip)).is_err());
    }

    #[test]
    fn windows_close() {
        let t = LoginThrottle::new(1, 0, Duration::from_millis(20));
        t.failure("a@x.io", None);
        assert!(t.check("a@x.io", None).is_err());
        std::thread::sleep(Duration::from_millis(30));
        assert!(t.check("a@x.io", None).is_ok());
        t.failure("a@x.io", None);
        assert!(t.check("a@x.io", None).is_err(), "a new window opens");
    }
}
