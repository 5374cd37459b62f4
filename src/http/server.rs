//! Serving HTTP without letting clients starve the sender: at most `http.max_connections` at once
//! (the rest wait in the listen backlog, so descriptors stay free for SMTP and the database), request
//! headers must arrive within `http.header_timeout_seconds` (slow-header clients are closed), one
//! request per connection (no idle keep-alive sockets), and a connection lives at most
//! `http.connection_seconds`. Running out of descriptors at accept is logged and waited out, never
//! fatal.

use axum::Router;
use hyper_util::{
    rt::{TokioIo, TokioTimer},
    service::TowerToHyperService,
};
use std::{sync::Arc, time::Duration};
use tokio::{net::TcpListener, sync::Semaphore};
use tokio_util::{sync::CancellationToken, task::TaskTracker};
use tower::ServiceExt;

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_connections: usize,
    pub header_timeout: Duration,
    pub connection_lifetime: Duration,
}

/// Serves `router` on `listener` until `stop`; connections are tracked and drained.
pub async fn serve(listener: TcpListener, router: Router, limits: Limits, stop: CancellationToken) {
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let connections = TaskTracker::new();
    loop {
        let permit = tokio::select! {
            p = permits.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => break },
            _ = stop.cancelled() => break,
        };
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = stop.cancelled() => break,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                // EMFILE/ENFILE and friends: a local, passing shortage. Wait and accept again.
                tracing::warn!(error = %e, "cannot accept an HTTP connection; retrying shortly");
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
        };
        // The client's address, for handlers that count per client (`ConnectInfo`).
        let service = TowerToHyperService::new(router.clone().map_request(
            move |mut request: hyper::Request<hyper::body::Incoming>| {
                request
                    .extensions_mut()
                    .insert(axum::extract::ConnectInfo(peer));
                request
            },
        ));
        let stop = stop.clone();
        connections.spawn(async move {
            let _permit = permit;
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header_timeout)
                .keep_alive(false);
            let connection = builder.serve_connection(TokioIo::new(stream), service);
            tokio::pin!(connection);
            tokio::select! {
                result = &mut connection => {
                    if let Err(e) = result {
                        tracing::debug!(error = %e, "http connection ended with an error");
                    }
                }
                _ = tokio::time::sleep(limits.connection_lifetime) => {
                    tracing::debug!("http connection closed: it outlived http.connection_seconds");
                }
                _ = stop.cancelled() => {
                    connection.as_mut().graceful_shutdown();
                    let _ = tokio::time::timeout(Duration::from_secs(5), connection).await;
                }
            }
        });
    }
    connections.close();
    connections.wait().await;
}
