//! A local HTTPS server with a certificate made at test time, speaking HTTP/2 or HTTP/1.1 as
//! the client's ALPN offer decides, and noting the version of every request it answers.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio_rustls::rustls;
use tokio_rustls::TlsAcceptor;

pub struct TlsServer {
    pub addr: SocketAddr,
    /// The certificate, PEM: what --cacert must be given to trust the server.
    pub cert_pem: String,
    /// Each request's path and the HTTP version it came with, as hyper read it.
    seen: Arc<Mutex<Vec<(String, hyper::Version)>>>,
    _runtime: tokio::runtime::Runtime,
}

impl TlsServer {
    /// Serves `page(path)` as HTML at every path, for the names localhost and 127.0.0.1.
    pub fn start(page: fn(&str) -> String) -> TlsServer {
        let names = vec!["localhost".to_string(), "127.0.0.1".to_string()];
        let made = rcgen::generate_simple_self_signed(names).unwrap();
        let key = rustls::pki_types::PrivateKeyDer::Pkcs8(made.signing_key.serialize_der().into());
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![made.cert.der().clone()], key)
            .unwrap();
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let addr = listener.local_addr().unwrap();
        let seen: Arc<Mutex<Vec<(String, hyper::Version)>>> = Arc::default();
        let noted = seen.clone();
        runtime.spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    continue;
                };
                let (acceptor, noted) = (acceptor.clone(), noted.clone());
                tokio::spawn(async move {
                    // A client that refuses the certificate ends the handshake here.
                    let Ok(tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let h2 = tls.get_ref().1.alpn_protocol() == Some(b"h2");
                    let service = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                        let path = req.uri().path().to_string();
                        noted.lock().unwrap().push((path.clone(), req.version()));
                        let response = hyper::Response::builder()
                            .header("content-type", "text/html; charset=utf-8")
                            .body(Full::new(Bytes::from(page(&path))))
                            .unwrap();
                        async move { Ok::<_, Infallible>(response) }
                    });
                    let io = TokioIo::new(tls);
                    let _ = match h2 {
                        true => {
                            hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                                .serve_connection(io, service)
                                .await
                        }
                        false => {
                            hyper::server::conn::http1::Builder::new()
                                .serve_connection(io, service)
                                .await
                        }
                    };
                });
            }
        });
        TlsServer {
            addr,
            cert_pem: made.cert.pem(),
            seen,
            _runtime: runtime,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("https://127.0.0.1:{}{path}", self.addr.port())
    }

    pub fn seen(&self) -> Vec<(String, hyper::Version)> {
        self.seen.lock().unwrap().clone()
    }
}
