//! A local upstream for proxy tests and benchmarks: HTTP or HTTPS on
//! 127.0.0.1, one JSON line per request in a log file, and a few endpoints:
//! `/bulk/N` (N bytes), `/echo-auth` (the credential headers and query in
//! the body), `/echo-auth-b64` (the Authorization value, base64-encoded), `/redirect` (a Location carrying the Authorization value),
//! `/close` (`ok` with `Connection: close`), anything else `ok`. Each
//! logged request carries `conn`, the client's port, so tests can tell
//! which requests shared a connection.
//!
//! Usage: nono-upstream PORT_FILE LOG_FILE [CERT_PEM KEY_PEM]
//!        nono-upstream connect-proxy PORT_FILE LOG_FILE
//!        nono-upstream echo PORT_FILE LOG_FILE
//! (the second form is a minimal CONNECT proxy, standing in for an
//! enterprise upstream proxy; it logs each CONNECT target. The third
//! echoes every TCP connection's bytes until EOF, then half-closes and
//! logs the byte count).

use std::io::Write;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::TcpListener;

type Log = Arc<Mutex<std::fs::File>>;

fn header(req: &Request<Incoming>, name: &str) -> String {
    req.headers()
        .get(name)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .unwrap_or_default()
}

async fn handle(
    log: Log,
    conn: u16,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, hyper::Error> {
    let headers: serde_json::Map<String, serde_json::Value> = req
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned().into(),
            )
        })
        .collect();
    let line = serde_json::json!({
        "method": req.method().as_str(),
        "path": req.uri().path(),
        "query": req.uri().query().unwrap_or(""),
        "headers": headers,
        "conn": conn,
    });
    if let Ok(mut f) = log.lock() {
        let _ = writeln!(f, "{line}");
    }
    let path = req.uri().path().to_string();
    let auth = header(&req, "authorization");
    let echo = format!(
        "auth={auth} x-api-key={} query={}",
        header(&req, "x-api-key"),
        req.uri().query().unwrap_or("")
    );
    let _ = req.into_body().collect().await?;
    let resp = if let Some(n) = path.strip_prefix("/bulk/") {
        let n: usize = n.parse().unwrap_or(0);
        Response::new(Full::new(Bytes::from(vec![b'x'; n])))
    } else if path.ends_with("/echo-auth-b64") {
        Response::new(Full::new(Bytes::from(format!(
            "b64={}",
            nono_e2e::base64(auth.as_bytes())
        ))))
    } else if path.ends_with("/echo-auth") {
        Response::new(Full::new(Bytes::from(echo)))
    } else if path.ends_with("/redirect") {
        Response::builder()
            .status(302)
            .header("location", format!("http://elsewhere.test/?token={auth}"))
            .header("x-echo", auth)
            .body(Full::new(Bytes::from_static(b"moved")))
            .expect("response")
    } else if path.ends_with("/close") {
        Response::builder()
            .header("connection", "close")
            .body(Full::new(Bytes::from_static(b"ok")))
            .expect("response")
    } else if path.ends_with("/chat/completions") {
        let body = r#"{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"test","choices":[{"index":0,"message":{"role":"assistant","content":"hello from upstream"},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}"#;
        Response::builder()
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from_static(body.as_bytes())))
            .expect("response")
    } else {
        Response::new(Full::new(Bytes::from_static(b"ok")))
    };
    Ok(resp)
}

fn tls(cert: &str, key: &str) -> Arc<rustls::ServerConfig> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .expect("cert file")
        .map(|c| c.expect("cert"))
        .collect();
    let key = PrivateKeyDer::from_pem_file(key).expect("key file");
    let mut cfg = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("protocols")
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .expect("certificate");
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Arc::new(cfg)
}

async fn echo(port_file: &str, log: Log) {
    use tokio::io::AsyncWriteExt;
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::fs::write(port_file, port.to_string()).expect("port file");
    loop {
        let Ok((mut s, _)) = listener.accept().await else {
            continue;
        };
        let log = log.clone();
        tokio::spawn(async move {
            let (mut r, mut w) = s.split();
            let n = tokio::io::copy(&mut r, &mut w).await;
            let _ = w.shutdown().await;
            let n = n.map(|n| n.to_string()).unwrap_or_else(|e| e.to_string());
            if let Ok(mut f) = log.lock() {
                let _ = writeln!(f, "{}", serde_json::json!({ "echoed": n }));
            }
        });
    }
}

async fn connect_proxy(port_file: &str, log: Log) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::fs::write(port_file, port.to_string()).expect("port file");
    loop {
        let Ok((mut s, _)) = listener.accept().await else {
            continue;
        };
        let log = log.clone();
        tokio::spawn(async move {
            let mut head = Vec::new();
            let mut b = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && head.len() < 8192 {
                if s.read(&mut b).await.unwrap_or(0) == 0 {
                    return;
                }
                head.push(b[0]);
            }
            let line = String::from_utf8_lossy(&head)
                .lines()
                .next()
                .unwrap_or("")
                .to_string();
            if let Ok(mut f) = log.lock() {
                let _ = writeln!(f, "{}", serde_json::json!({"connect": line}));
            }
            let target = line.split_whitespace().nth(1).unwrap_or("").to_string();
            match tokio::net::TcpStream::connect(&target).await {
                Ok(mut up) => {
                    if s.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                        .await
                        .is_ok()
                    {
                        let _ = tokio::io::copy_bidirectional(&mut s, &mut up).await;
                    }
                }
                Err(_) => {
                    let _ = s.write_all(b"HTTP/1.1 502 Bad Gateway\r\n\r\n").await;
                }
            }
        });
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let mode = args.get(1).map(String::as_str);
    if matches!(mode, Some("connect-proxy" | "echo")) {
        let log: Log = Arc::new(Mutex::new(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&args[3])
                .expect("log"),
        ));
        return match mode {
            Some("echo") => echo(&args[2], log).await,
            _ => connect_proxy(&args[2], log).await,
        };
    }
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let log: Log = Arc::new(Mutex::new(
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&args[2])
            .expect("log"),
    ));
    let acceptor =
        (args.len() >= 5).then(|| tokio_rustls::TlsAcceptor::from(tls(&args[3], &args[4])));
    let port = listener.local_addr().expect("addr").port();
    std::fs::write(&args[1], port.to_string()).expect("port file");
    loop {
        let Ok((s, peer)) = listener.accept().await else {
            continue;
        };
        let _ = s.set_nodelay(true);
        let (log, acceptor) = (log.clone(), acceptor.clone());
        tokio::spawn(async move {
            let svc = service_fn(move |r| handle(log.clone(), peer.port(), r));
            let b = hyper::server::conn::http1::Builder::new();
            match acceptor {
                Some(a) => {
                    if let Ok(t) = a.accept(s).await {
                        let _ = b.serve_connection(TokioIo::new(t), svc).await;
                    }
                }
                None => {
                    let _ = b.serve_connection(TokioIo::new(s), svc).await;
                }
            }
        });
    }
}
