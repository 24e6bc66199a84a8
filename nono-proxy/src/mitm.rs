//! The per-session CA for TLS interception (URL rules with paths). Its key
//! is generated in memory and never written or sent anywhere; only the
//! certificate goes to the front end, for the agent's trust bundle. Leaf
//! certificates are minted per host and cached.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, KeyPair, KeyUsagePurpose,
    SanType,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::ServerConfig;

use crate::error::{ProxyError, Result};

pub struct Ca {
    cert: rcgen::Certificate,
    key: KeyPair,
    leaves: Mutex<HashMap<String, Arc<ServerConfig>>>,
}

impl std::fmt::Debug for Ca {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Ca(..)")
    }
}

fn validity(p: &mut CertificateParams, days: i64) {
    let now = std::time::SystemTime::now();
    let day = std::time::Duration::from_secs(86_400);
    p.not_before = (now - day).into();
    p.not_after = (now + day * days as u32).into();
}

impl Ca {
    pub fn generate() -> Result<Ca> {
        let key = KeyPair::generate().map_err(ProxyError::certificate("CA key"))?;
        let mut p = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, "nono session CA");
        dn.push(DnType::OrganizationName, "nono");
        p.distinguished_name = dn;
        p.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        validity(&mut p, 30);
        let cert = p
            .self_signed(&key)
            .map_err(ProxyError::certificate("CA certificate"))?;
        Ok(Ca {
            cert,
            key,
            leaves: Mutex::new(HashMap::new()),
        })
    }

    pub fn cert_pem(&self) -> String {
        self.cert.pem()
    }

    /// A TLS server configuration presenting a leaf for `host`.
    pub fn server_for(&self, host: &str) -> Result<Arc<ServerConfig>> {
        let mut cache = self.leaves.lock().map_err(|_| ProxyError::CaPoisoned)?;
        if let Some(c) = cache.get(host) {
            return Ok(c.clone());
        }
        let key = KeyPair::generate().map_err(ProxyError::certificate("leaf key"))?;
        let mut p = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, host);
        p.distinguished_name = dn;
        p.subject_alt_names = vec![match host.parse::<std::net::IpAddr>() {
            Ok(ip) => SanType::IpAddress(ip),
            Err(_) => SanType::DnsName(
                host.to_string()
                    .try_into()
                    .map_err(ProxyError::certificate(format!("leaf name {host}")))?,
            ),
        }];
        p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        p.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
        validity(&mut p, 7);
        let leaf = p
            .signed_by(&key, &self.cert, &self.key)
            .map_err(ProxyError::certificate("leaf certificate"))?;
        let chain = vec![CertificateDer::from(leaf.der().to_vec())];
        let der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        let mut cfg = ServerConfig::builder_with_provider(crate::tls::provider())
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(chain, der)?;
        cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
        let cfg = Arc::new(cfg);
        cache.insert(host.to_string(), cfg.clone());
        Ok(cfg)
    }
}
