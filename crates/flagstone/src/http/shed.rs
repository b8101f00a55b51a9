//! Load shedding: a cap on requests handled at once; the rest get 503 at once instead of
//! queueing until everything times out.
//!
//! Nothing waits for a place, so the count is one atomic integer rather than a semaphore
//! (whose release takes the lock of its queue of waiters, on every request).

use std::{
    convert::Infallible,
    future::Future,
    future::Ready,
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    task::{Context, Poll},
};

use axum::{
    body::Body,
    response::{IntoResponse, Response},
};
use futures_util::future::Either;
use http::Request;
use tower::{Layer, Service};

use crate::Error;

/// At most `max` requests in flight through the wrapped routes; more answer
/// 503 with `Retry-After: 1`.
#[derive(Clone, Debug)]
pub struct LoadShedLayer {
    places: Arc<Places>,
}

impl LoadShedLayer {
    /// Allows `max` concurrent requests (at least 1).
    pub fn new(max: usize) -> Self {
        Self {
            places: Arc::new(Places {
                max: max.max(1),
                taken: AtomicUsize::new(0),
            }),
        }
    }
}

/// How many requests are in flight, and how many may be.
#[derive(Debug)]
struct Places {
    max: usize,
    taken: AtomicUsize,
}

/// A request's place among the `max`, given back when it is dropped.
#[derive(Debug)]
struct Place(Arc<Places>);

impl Place {
    /// A place, unless all are taken. A request over the cap counts itself in for an
    /// instant and then out again, so the count never stays above `max`.
    fn take(places: &Arc<Places>) -> Option<Self> {
        if places.taken.fetch_add(1, Ordering::Acquire) >= places.max {
            places.taken.fetch_sub(1, Ordering::Release);
            return None;
        }
        Some(Self(places.clone()))
    }
}

impl Drop for Place {
    fn drop(&mut self) {
        self.0.taken.fetch_sub(1, Ordering::Release);
    }
}

impl<S> Layer<S> for LoadShedLayer {
    type Service = LoadShed<S>;

    fn layer(&self, inner: S) -> LoadShed<S> {
        LoadShed {
            inner,
            places: self.places.clone(),
        }
    }
}

/// The service made by [`LoadShedLayer`].
#[derive(Clone, Debug)]
pub struct LoadShed<S> {
    inner: S,
    places: Arc<Places>,
}

impl<S> Service<Request<Body>> for LoadShed<S>
where
    S: Service<Request<Body>, Response = Response, Error = Infallible>,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = ShedFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        let Some(place) = Place::take(&self.places) else {
            tracing::warn!("overloaded: shedding a request");
            let response =
                Error::unavailable("the server is busy, try again shortly", 1).into_response();
            return ShedFuture {
                inner: Either::Right(std::future::ready(Ok(response))),
                place: None,
            };
        };
        ShedFuture {
            inner: Either::Left(self.inner.call(request)),
            place: Some(place),
        }
    }
}

pin_project_lite::pin_project! {
    /// The future of [`LoadShed`]: the inner service's, holding a place until it is done,
    /// or the 503 of a shed request.
    pub struct ShedFuture<F> {
        #[pin]
        inner: Either<F, Ready<Result<Response, Infallible>>>,
        place: Option<Place>,
    }
}

impl<F> Future for ShedFuture<F>
where
    F: Future<Output = Result<Response, Infallible>>,
{
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let output = std::task::ready!(this.inner.poll(cx));
        drop(this.place.take());
        Poll::Ready(output)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_are_given_out_up_to_max_and_back_when_dropped() {
        let layer = LoadShedLayer::new(2);
        let first = Place::take(&layer.places).unwrap();
        let second = Place::take(&layer.places).unwrap();
        assert!(Place::take(&layer.places).is_none());
        drop(first);
        let third = Place::take(&layer.places).unwrap();
        assert!(Place::take(&layer.places).is_none());
        drop((second, third));
        assert_eq!(layer.places.taken.load(Ordering::Relaxed), 0);
        // `max` 0 is taken as 1.
        let one = LoadShedLayer::new(0);
        let only = Place::take(&one.places).unwrap();
        assert!(Place::take(&one.places).is_none());
        drop(only);
    }

    #[test]
    fn racing_threads_never_hold_more_than_max() {
        let layer = LoadShedLayer::new(3);
        let holding = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let (places, holding, most) = (layer.places.clone(), holding.clone(), most.clone());
                std::thread::spawn(move || {
                    for _ in 0..20_000 {
                        if let Some(place) = Place::take(&places) {
                            let now = holding.fetch_add(1, Ordering::SeqCst) + 1;
                            most.fetch_max(now, Ordering::SeqCst);
                            holding.fetch_sub(1, Ordering::SeqCst);
                            drop(place);
                        }
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        assert!(most.load(Ordering::SeqCst) <= 3);
        assert_eq!(layer.places.taken.load(Ordering::SeqCst), 0);
    }
}
