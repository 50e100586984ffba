//! Rate limits (SPEC.md §6): per user and per IP address, on sign-in, on HTTP requests,
//! on live frames and on new live connections. Each is a setting (`PARLEY_RATE_*`, see
//! [`crate::config`]) of the form `N/s`, `N/min` or `N/h` (up to N at once, then one more
//! every period ÷ N) or `off`. The buckets are `governor`'s (GCRA, no timer per key);
//! a refused client gets `rate_limited` with the time to wait, and nothing it sent is
//! kept half-done.
//!
//! - **Sign-in** counts *failed* attempts, per address and per account name. A blocked
//!   address or name is refused before its password is checked, so a burst of wrong
//!   passwords cannot make the server hash them all (argon2 is slow on purpose); at most
//!   [`RateLimits::password_checks`] hashes run at once in any case.
//! - **HTTP**: a signed-in request counts for its user (people behind one office address
//!   do not share a budget); an anonymous one for its address.
//! - **Frames** (WebSocket and SSE alike) count per user. Once a `send` is refused, the
//!   user's later sends are refused too until the wait is over, so a client that resends
//!   its outbox in order after the wait keeps its messages in order.
//! - **New live connections** count per user.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use governor::clock::{Clock, DefaultClock};
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};

use app::error::ApiError;
use app::model::UserId;

type Keyed<K> = RateLimiter<K, DefaultKeyedStateStore<K>, DefaultClock>;

/// A rate setting: `N/s`, `N/min`, `N/h`, or `off` (no limit).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rate(pub Option<Quota>);

impl Rate {
    pub const OFF: Rate = Rate(None);

    pub fn parse(s: &str) -> Result<Rate, String> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("off") {
            return Ok(Rate::OFF);
        }
        let wrong = || format!("{s}: expected N/s, N/min, N/h or off");
        let (n, per) = s.split_once('/').ok_or_else(wrong)?;
        let n: NonZeroU32 = n.trim().parse().map_err(|_| wrong())?;
        let quota = match per.trim() {
            "s" | "sec" | "second" => Quota::per_second(n),
            "min" | "minute" => Quota::per_minute(n),
            "h" | "hour" => Quota::per_hour(n),
            _ => return Err(wrong()),
        };
        Ok(Rate(Some(quota)))
    }
}

/// What the rate settings are.
#[derive(Clone, Copy, Debug)]
pub struct RateSettings {
    pub login_per_address: Rate,
    pub login_per_account: Rate,
    pub http_per_user: Rate,
    pub http_per_address: Rate,
    pub frames_per_user: Rate,
    pub connections_per_user: Rate,
    /// Password hashes checked at once, at most.
    pub password_checks: usize,
}

/// Refused: try again after this long.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limited(pub Duration);

impl From<Limited> for ApiError {
    fn from(Limited(wait): Limited) -> Self {
        ApiError::rate_limited(wait)
    }
}

/// One kind of limit, keyed; `None` when the setting is `off`.
struct Bucket<K: Hash + Eq + Clone>(Option<Keyed<K>>);

impl<K: Hash + Eq + Clone> Bucket<K> {
    fn new(rate: Rate) -> Self {
        Self(rate.0.map(RateLimiter::keyed))
    }

    /// Takes one from `key`'s bucket, or says how long until there is one.
    fn take(&self, key: &K) -> Result<(), Limited> {
        let Some(limiter) = &self.0 else {
            return Ok(());
        };
        limiter
            .check_key(key)
            .map_err(|not_until| Limited(not_until.wait_time_from(DefaultClock::default().now())))
    }

    fn forget_idle(&self) {
        if let Some(limiter) = &self.0 {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }
}

/// Keys refused until an instant (sign-in after too many failures; sends after a
/// refused one).
struct Blocked<K>(Mutex<HashMap<K, Instant>>);

impl<K: Hash + Eq> Blocked<K> {
    fn new() -> Self {
        Self(Mutex::new(HashMap::new()))
    }

    fn check(&self, key: &K) -> Result<(), Limited> {
        let blocked = self.0.lock().expect("rate lock");
        match blocked.get(key) {
            Some(until) if *until > Instant::now() => Err(Limited(*until - Instant::now())),
            _ => Ok(()),
        }
    }

    fn block(&self, key: K, wait: Duration) {
        let until = Instant::now() + wait;
        let mut blocked = self.0.lock().expect("rate lock");
        let entry = blocked.entry(key).or_insert(until);
        *entry = (*entry).max(until);
    }

    fn forget_idle(&self) {
        let now = Instant::now();
        self.0
            .lock()
            .expect("rate lock")
            .retain(|_, until| *until > now);
    }
}

/// The server's rate limits. One per server; cheap to share behind an `Arc`.
pub struct RateLimits {
    login_address: Bucket<IpAddr>,
    login_account: Bucket<String>,
    login_address_blocked: Blocked<IpAddr>,
    login_account_blocked: Blocked<String>,
    http_user: Bucket<UserId>,
    http_address: Bucket<IpAddr>,
    frames: Bucket<UserId>,
    sends_blocked: Blocked<UserId>,
    connections: Bucket<UserId>,
    password_checks: tokio::sync::Semaphore,
    /// Every refusal, whatever the limit (`parley_rate_limited_total`).
    refused: prometheus_client::metrics::counter::Counter,
}

/// How long a sign-in waits for a free password check before it is refused.
const PASSWORD_CHECK_WAIT: Duration = Duration::from_secs(5);

impl RateLimits {
    pub fn new(
        settings: &RateSettings,
        refused: prometheus_client::metrics::counter::Counter,
    ) -> Self {
        Self {
            login_address: Bucket::new(settings.login_per_address),
            login_account: Bucket::new(settings.login_per_account),
            login_address_blocked: Blocked::new(),
            login_account_blocked: Blocked::new(),
            http_user: Bucket::new(settings.http_per_user),
            http_address: Bucket::new(settings.http_per_address),
            frames: Bucket::new(settings.frames_per_user),
            sends_blocked: Blocked::new(),
            connections: Bucket::new(settings.connections_per_user),
            password_checks: tokio::sync::Semaphore::new(settings.password_checks.max(1)),
            refused,
        }
    }

    /// Counts a refusal, so every transport's refusals are counted the same way.
    fn counted(&self, outcome: Result<(), Limited>) -> Result<(), Limited> {
        if outcome.is_err() {
            self.refused.inc();
        }
        outcome
    }

    /// Whether a sign-in from `address` for `account` may have its password checked.
    pub fn login_allowed(&self, address: IpAddr, account: &str) -> Result<(), Limited> {
        self.counted(
            self.login_address_blocked
                .check(&address)
                .and_then(|()| self.login_account_blocked.check(&account_key(account))),
        )
    }

    /// A wrong password from `address` for `account`: counted, and once either is over
    /// its limit it is refused until its bucket has room again.
    pub fn login_failed(&self, address: IpAddr, account: &str) {
        if let Err(Limited(wait)) = self.login_address.take(&address) {
            self.login_address_blocked.block(address, wait);
        }
        let account = account_key(account);
        if let Err(Limited(wait)) = self.login_account.take(&account) {
            self.login_account_blocked.block(account, wait);
        }
    }

    /// A turn to check a password, waited for (briefly): argon2 costs a core for a while,
    /// and the other users need the rest.
    pub async fn password_check(&self) -> Result<tokio::sync::SemaphorePermit<'_>, Limited> {
        match tokio::time::timeout(PASSWORD_CHECK_WAIT, self.password_checks.acquire()).await {
            Ok(Ok(permit)) => Ok(permit),
            _ => {
                self.refused.inc();
                Err(Limited(Duration::from_secs(1)))
            }
        }
    }

    /// One HTTP request: a signed-in user's, or else an address's.
    pub fn http(&self, user: Option<UserId>, address: IpAddr) -> Result<(), Limited> {
        self.counted(match user {
            Some(user) => self.http_user.take(&user),
            None => self.http_address.take(&address),
        })
    }

    /// One live frame other than a `send` (read, typing, activity).
    pub fn frame(&self, user: UserId) -> Result<(), Limited> {
        self.counted(self.frames.take(&user))
    }

    /// One `send`: refused while an earlier send of the user's waits, so that sends are
    /// taken in the order the client resends them.
    pub fn send(&self, user: UserId) -> Result<(), Limited> {
        self.counted(self.sends_blocked.check(&user).and_then(|()| {
            self.frames.take(&user).inspect_err(|&Limited(wait)| {
                self.sends_blocked.block(user, wait);
            })
        }))
    }

    /// One new live connection.
    pub fn connection(&self, user: UserId) -> Result<(), Limited> {
        self.counted(self.connections.take(&user))
    }

    /// Drops the state of keys not seen lately (so memory follows the active clients).
    pub fn forget_idle(&self) {
        self.login_address.forget_idle();
        self.login_account.forget_idle();
        self.login_address_blocked.forget_idle();
        self.login_account_blocked.forget_idle();
        self.http_user.forget_idle();
        self.http_address.forget_idle();
        self.frames.forget_idle();
        self.sends_blocked.forget_idle();
        self.connections.forget_idle();
    }
}

/// Account names compare as sign-in compares them (trimmed; case as typed is not a way
/// around the limit).
fn account_key(account: &str) -> String {
    account.trim().to_lowercase()
}

/// Forgets idle keys every minute until shutdown.
pub async fn sweep(
    limits: std::sync::Arc<RateLimits>,
    shutdown: tokio_util::sync::CancellationToken,
) {
    let mut every = tokio::time::interval(Duration::from_secs(60));
    loop {
        tokio::select! {
            _ = every.tick() => limits.forget_idle(),
            _ = shutdown.cancelled() => return,
        }
    }
}

/// The address a request counts against: the peer's, or — when the peer is one of the
/// `trusted` proxies — the nearest address in `X-Forwarded-For` that is not a trusted
/// proxy. IPv6 addresses count by their /64, which is what one subscriber gets.
pub fn client_address(peer: IpAddr, forwarded_for: Option<&str>, trusted: &[IpAddr]) -> IpAddr {
    let mut address = peer;
    if trusted.contains(&peer)
        && let Some(chain) = forwarded_for
    {
        for hop in chain.rsplit(',') {
            match hop.trim().parse::<IpAddr>() {
                Ok(hop) if trusted.contains(&hop) => address = hop,
                Ok(hop) => {
                    address = hop;
                    break;
                }
                Err(_) => break,
            }
        }
    }
    match address {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl RateLimits {
        fn new_for_tests(settings: &RateSettings) -> Self {
            Self::new(settings, Default::default())
        }
    }

    fn settings(rate: &str) -> RateSettings {
        let rate = Rate::parse(rate).unwrap();
        RateSettings {
            login_per_address: rate,
            login_per_account: rate,
            http_per_user: rate,
            http_per_address: rate,
            frames_per_user: rate,
            connections_per_user: rate,
            password_checks: 1,
        }
    }

    #[test]
    fn settings_parse() {
        assert_eq!(Rate::parse("off").unwrap(), Rate::OFF);
        assert_eq!(
            Rate::parse("10/min").unwrap(),
            Rate(Some(Quota::per_minute(NonZeroU32::new(10).unwrap())))
        );
        assert!(Rate::parse("3/s").is_ok());
        assert!(Rate::parse("3/h").is_ok());
        for wrong in ["", "10", "0/s", "-1/s", "10/week", "ten/s"] {
            assert!(Rate::parse(wrong).is_err(), "{wrong}");
        }
    }

    #[test]
    fn a_bucket_refuses_past_its_burst_and_says_how_long_to_wait() {
        let limits = RateLimits::new_for_tests(&settings("3/min"));
        let address: IpAddr = [10, 0, 0, 1].into();
        for _ in 0..3 {
            assert_eq!(limits.http(None, address), Ok(()));
        }
        let Err(Limited(wait)) = limits.http(None, address) else {
            panic!("the fourth request is refused");
        };
        assert!(wait > Duration::from_secs(10) && wait <= Duration::from_secs(20));
        // Another address and a signed-in user have their own buckets.
        assert_eq!(limits.http(None, [10, 0, 0, 2].into()), Ok(()));
        assert_eq!(limits.http(Some(UserId(1)), address), Ok(()));
    }

    #[test]
    fn only_failed_sign_ins_count_and_either_key_blocks() {
        let limits = RateLimits::new_for_tests(&settings("2/min"));
        let here: IpAddr = [10, 0, 0, 1].into();
        let there: IpAddr = [10, 0, 0, 2].into();
        for _ in 0..2 {
            assert_eq!(limits.login_allowed(here, "alice"), Ok(()));
            limits.login_failed(here, "alice");
        }
        assert_eq!(
            limits.login_allowed(here, "alice"),
            Ok(()),
            "two failures allowed"
        );
        limits.login_failed(here, "Alice ");
        assert!(
            limits.login_allowed(here, "bob").is_err(),
            "the address is blocked"
        );
        assert!(
            limits.login_allowed(there, "ALICE").is_err(),
            "the account is blocked from anywhere"
        );
        assert_eq!(limits.login_allowed(there, "bob"), Ok(()));
    }

    #[test]
    fn after_a_refused_send_later_sends_wait_too() {
        let limits = RateLimits::new_for_tests(&settings("1/s"));
        let user = UserId(7);
        assert_eq!(limits.send(user), Ok(()));
        assert!(limits.send(user).is_err());
        std::thread::sleep(Duration::from_millis(1100));
        assert_eq!(
            limits.send(user),
            Ok(()),
            "after the wait the next send goes"
        );
    }

    #[test]
    fn off_never_refuses() {
        let limits = RateLimits::new_for_tests(&settings("off"));
        for _ in 0..10_000 {
            assert_eq!(limits.frame(UserId(1)), Ok(()));
        }
    }

    #[test]
    fn the_client_address_is_the_peer_unless_a_trusted_proxy_says_otherwise() {
        let proxy: IpAddr = [10, 0, 0, 9].into();
        let peer: IpAddr = [203, 0, 113, 5].into();
        assert_eq!(client_address(peer, Some("198.51.100.1"), &[proxy]), peer);
        assert_eq!(
            client_address(proxy, Some("198.51.100.1, 203.0.113.7"), &[proxy]),
            "203.0.113.7".parse::<IpAddr>().unwrap(),
            "the nearest hop the proxy saw, not what the client claimed"
        );
        assert_eq!(client_address(proxy, Some("junk"), &[proxy]), proxy);
        assert_eq!(
            client_address("2001:db8:1:2:3:4:5:6".parse().unwrap(), None, &[]),
            "2001:db8:1:2::".parse::<IpAddr>().unwrap()
        );
    }
}
