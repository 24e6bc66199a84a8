//! TLS configuration: the client side towards upstreams (trusting the
//! roots read before confinement) and the ring provider for everything.

use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, RootCertStore};

use crate::error::{ProxyError, Result};

pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Parse the PEM trust file into a client configuration (HTTP/1.1 only).
pub fn client_config(pem: &[u8]) -> Result<Arc<ClientConfig>> {
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(pem) {
        let cert = cert.map_err(|e| ProxyError::TrustPem(e.to_string()))?;
        // Skip certificates rustls cannot use rather than fail on one.
        let _ = roots.add(cert);
    }
    if roots.is_empty() {
        return Err(ProxyError::NoUsableCertificates);
    }
    let mut cfg = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(cfg))
}

pub fn server_name(host: &str) -> Result<ServerName<'static>> {
    ServerName::try_from(host.to_string()).map_err(|e| ProxyError::TlsName {
        host: host.to_string(),
        why: e.to_string(),
    })
}
