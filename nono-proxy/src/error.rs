//! The proxy's one error enum: setting up (every variant ends the proxy)
//! and building one upstream request (that request fails, reported as a
//! network failure). [`ProxyError::Reported`] wraps a set-up failure the
//! front end was told of, so the proxy prints nothing more.

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;

use sandbox::hygiene::HelperError;
use sandbox::SandboxError;

#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    /// Sent to the front end as `Failed` (which prints it).
    #[error("{0}")]
    Reported(Box<ProxyError>),
    /// Started other than by nono.
    #[error("{0}")]
    Start(#[from] SandboxError),
    #[error("channel: {0}")]
    Channel(#[from] ipc::IpcError),
    #[error("expected Configure")]
    ExpectedConfigure,
    #[error("Configure must carry {expected} descriptor(s), not {got}")]
    Descriptors { expected: usize, got: usize },
    #[error("listener: {0}")]
    Listener(#[source] io::Error),
    #[error("a descriptor is not a listening socket")]
    NotAListener,
    #[error("the listener for {0} is bound elsewhere")]
    ListenerElsewhere(SocketAddr),
    #[error("credential routes but no credentials channel")]
    NoCredentialsChannel,
    #[error("credentials channel: {0}")]
    Credentials(ipc::IpcError),
    #[error("credential missing")]
    CredentialMissing,
    #[error("upstream '{0}' must start with https:// or http://")]
    UpstreamScheme(String),
    /// A host in a route's upstream, as a host rule would be parsed.
    #[error("{0}")]
    UpstreamHost(ipc::IpcError),
    #[error("credential '{0}': plain http:// upstreams are allowed only on loopback")]
    PlainHttpUpstream(String),
    #[error("trust file {path}: {source}")]
    TrustFile {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("trust file {0}: no certificates")]
    NoCertificates(PathBuf),
    #[error("trust file: {0}")]
    TrustPem(String),
    #[error("the trust file holds no usable CA certificates")]
    NoUsableCertificates,
    #[error("{0}")]
    Tls(#[from] rustls::Error),
    #[error("invalid TLS name {host}: {why}")]
    TlsName { host: String, why: String },
    /// Generating the session CA or a leaf (`what` says which part).
    #[error("{what}: {source}")]
    Certificate {
        what: String,
        #[source]
        source: rcgen::Error,
    },
    #[error("CA cache poisoned")]
    CaPoisoned,
    /// A path to read could not be granted.
    #[error("{0}")]
    Grant(SandboxError),
    #[error("cannot confine the proxy: {0}")]
    Confine(SandboxError),
    #[error("runtime: {0}")]
    Runtime(#[source] io::Error),
    #[error("serving: {0}")]
    Serving(#[source] io::Error),
    #[error("credential '{0}' is not a valid header value")]
    HeaderValue(String),
    #[error("invalid inject_header '{0}'")]
    InjectHeader(String),
    #[error("invalid basic credential")]
    BasicCredential,
    #[error("invalid upstream path")]
    UpstreamPath,
    #[error("invalid upstream host")]
    UpstreamHostHeader,
    #[error("upstream proxy '{0}' needs host:port")]
    UpstreamProxyForm(String),
    #[error("upstream proxy: {0}")]
    UpstreamProxyIo(#[source] io::Error),
    #[error("upstream proxy closed the connection")]
    UpstreamProxyClosed,
    #[error("upstream proxy refused CONNECT {authority}: {status}")]
    UpstreamProxyRefused { authority: String, status: String },
}

impl ProxyError {
    pub fn certificate(what: impl Into<String>) -> impl FnOnce(rcgen::Error) -> ProxyError {
        let what = what.into();
        move |source| ProxyError::Certificate { what, source }
    }
}

impl HelperError for ProxyError {
    fn reported(&self) -> bool {
        matches!(self, ProxyError::Reported(_))
    }
}

pub type Result<T> = std::result::Result<T, ProxyError>;
