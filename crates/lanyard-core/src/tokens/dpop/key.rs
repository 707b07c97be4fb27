//! A server's ES256 key pair: made with ring (the crypto provider rustls already runs on),
//! kept as PKCS#8 in the keychain, shown to servers as a public JWK (RFC 7517/7518) and named
//! by its RFC 7638 thumbprint (what an AS puts in the token's `cnf.jkt`).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::error::DpopError;
use crate::tokens::store::{self, SecretStore};

/// The keychain item's format: a version tag, then the base64url PKCS#8 document.
const STORED_PREFIX: &str = "es256-pkcs8:";

pub struct DpopKey {
    pair: EcdsaKeyPair,
    pkcs8: Vec<u8>,
    rng: SystemRandom,
}

impl DpopKey {
    /// A new random P-256 key pair.
    pub fn generate() -> Result<DpopKey, DpopError> {
        let rng = SystemRandom::new();
        let doc = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .map_err(|_| crypto("no random key could be generated"))?;
        Self::from_pkcs8(doc.as_ref()).map_err(|_| crypto("the generated key is unusable"))
    }

    fn from_pkcs8(pkcs8: &[u8]) -> Result<DpopKey, ring::error::KeyRejected> {
        let rng = SystemRandom::new();
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8, &rng)?;
        Ok(DpopKey {
            pair,
            pkcs8: pkcs8.to_vec(),
            rng,
        })
    }

    /// The server's key from the keychain, when one is stored.
    pub fn load(secrets: &dyn SecretStore, server: &str) -> Result<Option<DpopKey>, DpopError> {
        let Some(stored) = secrets.get(&store::dpop_key(server))? else {
            return Ok(None);
        };
        let corrupt = |detail: &str| DpopError::KeyCorrupt {
            server: server.to_owned(),
            detail: detail.to_owned(),
        };
        let b64 = stored
            .strip_prefix(STORED_PREFIX)
            .ok_or_else(|| corrupt("unknown format"))?;
        let der = URL_SAFE_NO_PAD
            .decode(b64.trim())
            .map_err(|_| corrupt("not base64url"))?;
        Self::from_pkcs8(&der)
            .map(Some)
            .map_err(|e| corrupt(&e.to_string()))
    }

    pub fn save(&self, secrets: &dyn SecretStore, server: &str) -> Result<(), DpopError> {
        let value = format!("{STORED_PREFIX}{}", URL_SAFE_NO_PAD.encode(&self.pkcs8));
        Ok(secrets.set(&store::dpop_key(server), &value)?)
    }

    /// The public key as a JWK: `kty`, `crv`, `x`, `y` only (never `d`).
    pub fn public_jwk(&self) -> Value {
        let (x, y) = self.coordinates();
        json!({"kty": "EC", "crv": "P-256", "x": URL_SAFE_NO_PAD.encode(x), "y": URL_SAFE_NO_PAD.encode(y)})
    }

    /// RFC 7638 thumbprint: SHA-256 of the required members in lexicographic order, no
    /// whitespace, base64url.
    pub fn thumbprint(&self) -> String {
        let (x, y) = self.coordinates();
        let canonical = format!(
            r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
            URL_SAFE_NO_PAD.encode(x),
            URL_SAFE_NO_PAD.encode(y)
        );
        URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
    }

    /// The uncompressed point `04 || x || y` split in its coordinates.
    fn coordinates(&self) -> (&[u8], &[u8]) {
        let point = self.pair.public_key().as_ref();
        let xy = point.get(1..).unwrap_or_default();
        xy.split_at(xy.len() / 2)
    }

    /// An ES256 JWS signature (`r || s`, 64 bytes) of `message`.
    pub(super) fn sign(&self, message: &[u8]) -> Result<Vec<u8>, DpopError> {
        self.pair
            .sign(&self.rng, message)
            .map(|s| s.as_ref().to_vec())
            .map_err(|_| crypto("signing failed"))
    }

    /// Random bytes from the system generator, base64url (for `jti`).
    pub(super) fn random_id(&self) -> Result<String, DpopError> {
        let mut bytes = [0u8; 16];
        ring::rand::SecureRandom::fill(&self.rng, &mut bytes)
            .map_err(|_| crypto("no random bytes"))?;
        Ok(URL_SAFE_NO_PAD.encode(bytes))
    }
}

fn crypto(detail: &str) -> DpopError {
    DpopError::Crypto {
        detail: detail.to_owned(),
    }
}
