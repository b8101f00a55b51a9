//! Load shedding: a cap on requests handled at once; the rest get 503 at once instead of
//! queueing until everything times out.

use std::{
    convert::Infallible,
    future::Future,
    future::Ready,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
};

use axum::{
    body::Body,
    response::{IntoResponse, Response},
};
use futures_util::future::Either;
use http::Request;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tower::{Layer, Service};

use crate::Error;

/// At most `max` requests in flight through the wrapped routes; more answer
/// 503 with `Retry-After: 1`.
#[derive(Clone, Debug)]
pub struct LoadShedLayer {
    permits: Arc<Semaphore>,
}

impl LoadShedLayer {
    /// Allows `max` concurrent requests (at least 1).
    pub fn new(max: usize) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(max.clamp(1, Semaphore::MAX_PERMITS))),
        }
    }
}

impl<S> Layer<S> for LoadShedLayer {
    type Service = LoadShed<S>;

    fn layer(&self, inner: S) -> LoadShed<S> {
        LoadShed {
            inner,
            permits: self.permits.clone(),
        }
    }
}

/// The service made by [`LoadShedLayer`].
#[derive(Clone, Debug)]
pub struct LoadShed<S> {
    inner: S,
    permits: Arc<Semaphore>,
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
        let Ok(permit) = self.permits.clone().try_acquire_owned() else {
            tracing::warn!("overloaded: shedding a request");
            let response =
                Error::unavailable("the server is busy, try again shortly", 1).into_response();
            return ShedFuture {
                inner: Either::Right(std::future::ready(Ok(response))),
                permit: None,
            };
        };
        ShedFuture {
            inner: Either::Left(self.inner.call(request)),
            permit: Some(permit),
        }
    }
}

pin_project_lite::pin_project! {
    /// The future of [`LoadShed`]: the inner service's, holding a permit until it is done,
    /// or the 503 of a shed request.
    pub struct ShedFuture<F> {
        #[pin]
        inner: Either<F, Ready<Result<Response, Infallible>>>,
        permit: Option<OwnedSemaphorePermit>,
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
        drop(this.permit.take());
        Poll::Ready(output)
    }
}
