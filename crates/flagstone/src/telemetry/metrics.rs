//! Prometheus metrics for HTTP requests, with no exporter dependency.
//!
//! Three series families, rendered in the Prometheus text format at `/metrics`:
//! `http_requests_total{method,route,status}`,
//! `http_request_duration_seconds{method,route,status}` (a histogram) and
//! `http_requests_in_flight`. `route` is the matched route template (`/api/v1/posts/{id}`),
//! never the raw path, so the number of series stays bounded; unmatched requests share the
//! route `unmatched`.

use std::{
    collections::HashMap,
    fmt::Write,
    sync::{
        RwLock,
        atomic::{AtomicI64, AtomicU64, Ordering},
    },
    time::Duration,
};

use http::Method;

/// Upper bounds of the latency histogram's buckets, in seconds.
const BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The request metrics of one app.
#[derive(Debug, Default)]
pub struct Metrics {
    routes: RwLock<HashMap<Box<str>, Vec<Series>>>,
    in_flight: AtomicI64,
}

#[derive(Debug)]
struct Series {
    method: Method,
    status: u16,
    buckets: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

impl Series {
    fn add(&self, latency: Duration) {
        let seconds = latency.as_secs_f64();
        if let Some(i) = BUCKETS.iter().position(|le| seconds <= *le) {
            self.buckets[i].fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        self.sum_micros.fetch_add(micros, Ordering::Relaxed);
    }
}

impl Metrics {
    /// Counts a request as in flight, until [`Metrics::leave`]. The caller makes sure
    /// that a cancelled request leaves too (the core layer's answer does, when dropped).
    pub(crate) fn enter(&self) {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a request of [`Metrics::enter`] as no longer in flight.
    pub(crate) fn leave(&self) {
        self.in_flight.fetch_sub(1, Ordering::Relaxed);
    }

    /// Records one finished request. Takes a read lock and a few atomic adds once the
    /// series exists; the first request of a series takes the write lock once.
    pub fn record(&self, method: &Method, route: &str, status: u16, latency: Duration) {
        let find = |list: &[Series]| {
            list.iter()
                .position(|s| s.status == status && s.method == method)
        };
        if let Ok(map) = self.routes.read()
            && let Some(list) = map.get(route)
            && let Some(i) = find(list)
        {
            list[i].add(latency);
            return;
        }
        let mut map = self
            .routes
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let list = map.entry(route.into()).or_default();
        if let Some(i) = find(list) {
            list[i].add(latency);
            return;
        }
        let series = Series {
            method: method.clone(),
            status,
            buckets: Default::default(),
            count: AtomicU64::new(0),
            sum_micros: AtomicU64::new(0),
        };
        series.add(latency);
        list.push(series);
    }

    /// Everything in the Prometheus text exposition format, sorted for stable output.
    pub fn render(&self) -> String {
        let map = self
            .routes
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut all: Vec<(&str, &Series)> = map
            .iter()
            .flat_map(|(route, list)| list.iter().map(move |s| (&**route, s)))
            .collect();
        all.sort_by(|a, b| {
            (a.0, a.1.method.as_str(), a.1.status).cmp(&(b.0, b.1.method.as_str(), b.1.status))
        });

        let mut out = String::with_capacity(256 + all.len() * 1200);
        out.push_str(
            "# HELP http_requests_total Requests answered, by method, route and status.\n",
        );
        out.push_str("# TYPE http_requests_total counter\n");
        for (route, s) in &all {
            let _ = writeln!(
                out,
                "http_requests_total{{{}}} {}",
                labels(route, s),
                s.count.load(Ordering::Relaxed)
            );
        }
        out.push_str(
            "# HELP http_request_duration_seconds Time to answer, by method, route and status.\n",
        );
        out.push_str("# TYPE http_request_duration_seconds histogram\n");
        for (route, s) in &all {
            let labels = labels(route, s);
            let mut cumulative = 0;
            for (le, bucket) in BUCKETS.iter().zip(&s.buckets) {
                cumulative += bucket.load(Ordering::Relaxed);
                let _ = writeln!(
                    out,
                    "http_request_duration_seconds_bucket{{{labels},le=\"{le}\"}} {cumulative}"
                );
            }
            let count = s.count.load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {count}"
            );
            let sum = s.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
            let _ = writeln!(out, "http_request_duration_seconds_sum{{{labels}}} {sum}");
            let _ = writeln!(
                out,
                "http_request_duration_seconds_count{{{labels}}} {count}"
            );
        }
        out.push_str("# HELP http_requests_in_flight Requests being answered now.\n");
        out.push_str("# TYPE http_requests_in_flight gauge\n");
        let _ = writeln!(
            out,
            "http_requests_in_flight {}",
            self.in_flight.load(Ordering::Relaxed)
        );
        out
    }
}

fn labels(route: &str, s: &Series) -> String {
    let route = route.replace('\\', "\\\\").replace('"', "\\\"");
    format!(
        "method=\"{}\",route=\"{route}\",status=\"{}\"",
        s.method, s.status
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_counts_and_cumulative_buckets() {
        let metrics = Metrics::default();
        metrics.record(&Method::GET, "/a", 200, Duration::from_millis(3));
        metrics.record(&Method::GET, "/a", 200, Duration::from_millis(70));
        metrics.record(&Method::POST, "/a", 201, Duration::from_secs(20));
        let text = metrics.render();
        assert!(
            text.contains("http_requests_total{method=\"GET\",route=\"/a\",status=\"200\"} 2"),
            "{text}"
        );
        assert!(text.contains("http_request_duration_seconds_bucket{method=\"GET\",route=\"/a\",status=\"200\",le=\"0.005\"} 1"));
        assert!(text.contains("http_request_duration_seconds_bucket{method=\"GET\",route=\"/a\",status=\"200\",le=\"0.1\"} 2"));
        assert!(text.contains("http_request_duration_seconds_bucket{method=\"POST\",route=\"/a\",status=\"201\",le=\"10\"} 0"));
        assert!(text.contains("http_request_duration_seconds_bucket{method=\"POST\",route=\"/a\",status=\"201\",le=\"+Inf\"} 1"));
        metrics.enter();
        assert!(metrics.render().contains("http_requests_in_flight 1"));
        metrics.leave();
        assert!(metrics.render().contains("http_requests_in_flight 0"));
    }
}
