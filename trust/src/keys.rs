//! ECDSA P-256 keys: generation, PEM, the public key's encodings, and the
//! [`Signer`] seam (a local key here; the keyholder implements it for
//! keystore keys, so their private half never leaves that process).

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use p256::ecdsa::signature::hazmat::{PrehashSigner, PrehashVerifier};
use p256::ecdsa::{Signature, SigningKey, VerifyingKey};
use p256::pkcs8::{
    DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey, LineEnding,
};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::error::{Result, TrustError};

/// Something that signs a SHA-256 digest with an ECDSA P-256 key.
pub trait Signer {
    /// The public key, DER SubjectPublicKeyInfo.
    fn public_key_der(&self) -> Vec<u8>;
    /// A DER-encoded ECDSA signature over `digest` (already hashed).
    fn sign_digest(&self, digest: &[u8; 32]) -> Result<Vec<u8>>;
}

/// A private key held in this process (file-backed keys, the keyholder).
pub struct LocalKey {
    key: SigningKey,
}

impl std::fmt::Debug for LocalKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LocalKey(<private>)")
    }
}

impl LocalKey {
    /// A fresh key from the operating system's random source.
    pub fn generate() -> LocalKey {
        LocalKey {
            key: SigningKey::random(&mut rand_core::OsRng),
        }
    }

    /// PKCS#8 PEM (`PRIVATE KEY`) or SEC1 PEM (`EC PRIVATE KEY`).
    pub fn from_pem(pem: &str) -> Result<LocalKey> {
        if let Ok(key) = SigningKey::from_pkcs8_pem(pem) {
            return Ok(LocalKey { key });
        }
        p256::SecretKey::from_sec1_pem(pem)
            .map(|s| LocalKey { key: s.into() })
            .map_err(|_| {
                TrustError::PrivateKey(
                    "not an ECDSA P-256 private key in PEM (PKCS#8 or SEC1)".into(),
                )
            })
    }

    /// PKCS#8 DER, for storing in a keystore.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<LocalKey> {
        SigningKey::from_pkcs8_der(der)
            .map(|key| LocalKey { key })
            .map_err(|e| TrustError::PrivateKey(e.to_string()))
    }

    /// PKCS#8 PEM, in a zeroizing buffer.
    pub fn to_pem(&self) -> Result<Zeroizing<String>> {
        self.key
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|e| TrustError::PrivateKey(e.to_string()))
    }

    /// PKCS#8 DER, in a zeroizing buffer.
    pub fn to_pkcs8_der(&self) -> Result<Zeroizing<Vec<u8>>> {
        self.key
            .to_pkcs8_der()
            .map(|d| Zeroizing::new(d.as_bytes().to_vec()))
            .map_err(|e| TrustError::PrivateKey(e.to_string()))
    }
}

impl Signer for LocalKey {
    fn public_key_der(&self) -> Vec<u8> {
        self.key
            .verifying_key()
            .to_public_key_der()
            .map(|d| d.as_bytes().to_vec())
            .unwrap_or_default()
    }

    fn sign_digest(&self, digest: &[u8; 32]) -> Result<Vec<u8>> {
        let sig: Signature = self
            .key
            .sign_prehash(digest)
            .map_err(|e| TrustError::Sign(e.to_string()))?;
        Ok(sig.to_der().as_bytes().to_vec())
    }
}

/// Check a DER signature over a digest with a DER public key.
pub fn verify_digest(public_der: &[u8], digest: &[u8; 32], sig_der: &[u8]) -> Result<()> {
    let key = VerifyingKey::from_public_key_der(public_der)
        .map_err(|e| TrustError::PublicKey(e.to_string()))?;
    let sig = Signature::from_der(sig_der).map_err(|e| TrustError::Bundle(e.to_string()))?;
    key.verify_prehash(digest, &sig)
        .map_err(|_| TrustError::Bundle("signature does not verify".into()))
}

/// A public key as a policy's `public_key` holds it: base64 DER, or PEM.
/// Returns the DER after checking it is a P-256 key.
pub fn parse_public_key(text: &str) -> Result<Vec<u8>> {
    let text = text.trim();
    let der = if text.starts_with("-----BEGIN") {
        VerifyingKey::from_public_key_pem(text)
            .map_err(|e| TrustError::PublicKey(e.to_string()))?
            .to_public_key_der()
            .map_err(|e| TrustError::PublicKey(e.to_string()))?
            .as_bytes()
            .to_vec()
    } else {
        B64.decode(text)
            .map_err(|_| TrustError::PublicKey("neither PEM nor base64 DER".into()))?
    };
    VerifyingKey::from_public_key_der(&der).map_err(|e| TrustError::PublicKey(e.to_string()))?;
    Ok(der)
}

/// Base64 of the DER (`nono trust export-key`).
pub fn public_key_base64(der: &[u8]) -> String {
    B64.encode(der)
}

/// PEM of the DER (`nono trust export-key --pem`).
pub fn public_key_pem(der: &[u8]) -> Result<String> {
    VerifyingKey::from_public_key_der(der)
        .map_err(|e| TrustError::PublicKey(e.to_string()))?
        .to_public_key_pem(LineEnding::LF)
        .map_err(|e| TrustError::PublicKey(e.to_string()))
}

/// Hex SHA-256 of the DER: the bundle's key hint.
pub fn fingerprint(der: &[u8]) -> String {
    hex(&Sha256::digest(der))
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Hex SHA-256 of some bytes (a file's digest).
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_round_trip_and_public_encodings() {
        let k = LocalKey::generate();
        let k2 = LocalKey::from_pem(&k.to_pem().unwrap()).unwrap();
        assert_eq!(k.public_key_der(), k2.public_key_der());
        let der = k.public_key_der();
        assert_eq!(parse_public_key(&public_key_base64(&der)).unwrap(), der);
        assert_eq!(
            parse_public_key(&public_key_pem(&der).unwrap()).unwrap(),
            der
        );
        assert!(parse_public_key("bm90IGEga2V5").is_err());
        assert!(LocalKey::from_pem(
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"
        )
        .is_err());
    }

    #[test]
    fn signatures_bind_key_and_digest() {
        let k = LocalKey::generate();
        let d = [7u8; 32];
        let sig = k.sign_digest(&d).unwrap();
        verify_digest(&k.public_key_der(), &d, &sig).unwrap();
        assert!(verify_digest(&k.public_key_der(), &[8u8; 32], &sig).is_err());
        let other = LocalKey::generate();
        assert!(verify_digest(&other.public_key_der(), &d, &sig).is_err());
    }
}
