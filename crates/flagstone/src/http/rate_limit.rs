//! Rate limiting per client IP with the GCRA algorithm (the `governor` crate).
//!
//! The app applies one global budget from `[rate_limit]`; attach a stricter one to a
//! group of routes with [`RateLimitLayer`]:
//!
//! ```
//! use std::time::Duration;
//! use flagstone::{http::RateLimitLayer, prelude::*};
//!
//! async fn login() -> &'static str { "token" }
//!
//! // 5 attempts a minute per IP, on top of the global budget.
//! let auth: Router = Router::new()
//!     .route("/login", post(login))
//!     .layer(RateLimitLayer::new(5, Duration::from_secs(60)));
//! ```
//!
//! Every answer carries `RateLimit-Policy` and `RateLimit` headers
//! (`limit=5, remaining=4, reset=12`, as IETF draft 7 and express-rate-limit write them);
//! a refusal is a 429 problem with `Retry-After`.

use std::{
    convert::Infallible,
    future::Future,
    net::{IpAddr, Ipv4Addr},
    num::NonZeroU32,
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    task::{Context, Poll},
    time::{Duration, Instant},
};

use axum::{
    body::Body,
    response::{IntoResponse, Response},
};
use governor::{
    Quota, RateLimiter,
    clock::{Clock, DefaultClock},
    middleware::StateInformationMiddleware,
    state::keyed::DefaultKeyedStateStore,
};
use http::{HeaderName, HeaderValue, Request};
use tower::{Layer, Service};

use super::ClientIp;
use crate::{Error, config::RateLimitConfig};

type Limiter =
    RateLimiter<IpAddr, DefaultKeyedStateStore<IpAddr>, DefaultClock, StateInformationMiddleware>;

const RATELIMIT: HeaderName = HeaderName::from_static("ratelimit");
const RATELIMIT_POLICY: HeaderName = HeaderName::from_static("ratelimit-policy");
/// Forget idle clients at most this often.
const SWEEP_EVERY_SECS: u64 = 60;

/// A per-client-IP budget of `requests` per `period`, with bursts up to `burst`.
#[derive(Clone)]
pub struct RateLimitLayer {
    shared: Arc<Shared>,
}

struct Shared {
    limiter: Limiter,
    policy: HeaderValue,
    limit: u32,
    /// Time to earn back one request.
    replenish: Duration,
    created: Instant,
    last_sweep: AtomicU64,
}

impl RateLimitLayer {
    /// `requests` per `period`, bursts up to `requests`. Both are clamped to at least 1.
    pub fn new(requests: u32, period: Duration) -> Self {
        Self::with_burst(requests, period, requests)
    }

    /// `requests` per `period`, with bursts up to `burst` requests.
    pub fn with_burst(requests: u32, period: Duration, burst: u32) -> Self {
        let requests = requests.max(1);
        let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
        let replenish = (period / requests).max(Duration::from_nanos(1));
        let quota = Quota::with_period(replenish)
            .unwrap_or(Quota::per_second(NonZeroU32::MIN))
            .allow_burst(burst);
        let policy = format!("{};w={}", requests, period.as_secs().max(1));
        Self {
            shared: Arc::new(Shared {
                limiter: RateLimiter::keyed(quota).with_middleware::<StateInformationMiddleware>(),
                policy: HeaderValue::from_str(&policy).unwrap_or(HeaderValue::from_static("0")),
                limit: burst.get(),
                replenish,
                created: Instant::now(),
                last_sweep: AtomicU64::new(0),
            }),
        }
    }

    /// The global budget from `[rate_limit]`.
    pub fn from_config(config: &RateLimitConfig) -> Self {
        let requests = u32::try_from(config.requests).unwrap_or(u32::MAX);
        let burst = config
            .burst
            .map_or(requests, |b| u32::try_from(b).unwrap_or(u32::MAX));
        Self::with_burst(requests, config.period, burst)
    }
}

impl<S> Layer<S> for RateLimitLayer {
    type Service = RateLimit<S>;

    fn layer(&self, inner: S) -> RateLimit<S> {
        RateLimit {
            inner,
            shared: self.shared.clone(),
        }
    }
}

/// The service made by [`RateLimitLayer`].
#[derive(Clone)]
pub struct RateLimit<S> {
    inner: S,
    shared: Arc<Shared>,
}

type BoxFuture = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

impl<S> Service<Request<Body>> for RateLimit<S>
where
    S: Service<Request<Body>, Response = Response, Error = Infallible>,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = BoxFuture;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<Body>) -> BoxFuture {
        let shared = self.shared.clone();
        let ip = request
            .extensions()
            .get::<ClientIp>()
            .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |ip| ip.0);
        shared.sweep();
        match shared.limiter.check_key(&ip) {
            Ok(snapshot) => {
                let remaining = snapshot.remaining_burst_capacity();
                let future = self.inner.call(request);
                Box::pin(async move {
                    let Ok(mut response) = future.await;
                    // An inner, route-specific limiter already described its budget (and
                    // may have refused the request with it): keep that.
                    if !response.headers().contains_key(RATELIMIT) {
                        shared.headers(&mut response, remaining);
                    }
                    Ok(response)
                })
            }
            Err(not_until) => {
                let wait = not_until.wait_time_from(shared.limiter.clock().now());
                let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
                tracing::info!(client_ip = %ip, retry_after = seconds, "rate limited");
                let mut response = Error::too_many_requests(seconds.max(1)).into_response();
                shared.headers(&mut response, 0);
                Box::pin(std::future::ready(Ok(response)))
            }
        }
    }
}

impl Shared {
    fn headers(&self, response: &mut Response, remaining: u32) {
        // Seconds until the budget is full again.
        let used = u64::from(self.limit.saturating_sub(remaining));
        let reset = (self.replenish.as_nanos() * u128::from(used)).div_ceil(1_000_000_000);
        let value = format!("limit={}, remaining={remaining}, reset={reset}", self.limit);
        let headers = response.headers_mut();
        headers.insert(RATELIMIT_POLICY, self.policy.clone());
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(RATELIMIT, value);
        }
    }

    /// Drops the state of clients whose budget is full again, so memory stays bounded by
    /// the clients active in the last period. One request a minute pays for the sweep.
    fn sweep(&self) {
        let now_secs = self.created.elapsed().as_secs();
        let last = self.last_sweep.load(Ordering::Relaxed);
        if now_secs >= last + SWEEP_EVERY_SECS
            && self
                .last_sweep
                .compare_exchange(last, now_secs, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            self.limiter.retain_recent();
        }
    }
}
