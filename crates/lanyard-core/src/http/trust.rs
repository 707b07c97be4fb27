//! Which server certificates Lanyard trusts, and what it says when it refuses one.
//!
//! Trusted: the operating system's store, through `rustls-platform-verifier` (on Linux the
//! system bundle — or, as OpenSSL reads them, `SSL_CERT_FILE` / `SSL_CERT_DIR` instead of
//! it —; the Keychain on macOS; the Windows store), plus every certificate in the PEM file
//! named by `LANYARD_CA_FILE`, plus on macOS and Windows, whose platform verifiers do not read
//! them, the certificates of `SSL_CERT_FILE` / `SSL_CERT_DIR`. A `ca.pem` in Lanyard's config
//! folder ([`SAVED_CA_FILE`]) is trusted like `LANYARD_CA_FILE`: the tray, started by the desktop
//! session, does not see variables set in a shell profile.
//!
//! A refused certificate comes back as a [`Refused`] inside the TLS error: the host, the
//! certificate's issuer and the reason, with the fix ([`Refused::fix`]); [`refusal`] finds it
//! in a transport error.

use std::path::Path;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, OtherError, SignatureScheme};

use super::cert_names;
use super::setting::SettingError;

/// The setting that adds a CA bundle (PEM) to the certificates Lanyard trusts.
pub const CA_FILE_VAR: &str = "LANYARD_CA_FILE";

/// The CA bundle (PEM) trusted when it exists in Lanyard's config folder.
pub const SAVED_CA_FILE: &str = "ca.pem";

/// On Linux and the BSDs the platform verifier reads `SSL_CERT_FILE` / `SSL_CERT_DIR` itself
/// (through rustls-native-certs); elsewhere Lanyard adds them.
const PLATFORM_READS_SSL_CERT_VARS: bool = cfg!(not(any(
    target_os = "macos",
    target_os = "ios",
    target_os = "windows",
    target_os = "android"
)));

/// The TLS configuration of every client: ring (the one provider compiled), the platform
/// verifier with the extra roots, wrapped so a refusal names the certificate.
pub fn client_config(
    var: &dyn Fn(&str) -> Option<String>,
    saved_ca: Option<&Path>,
) -> Result<rustls::ClientConfig, SettingError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let extra = extra_roots(var, saved_ca)?;
    let store_error = |e: rustls::Error| SettingError {
        setting: "the system's certificate store".into(),
        detail: e.to_string(),
    };
    let platform =
        rustls_platform_verifier::Verifier::new_with_extra_roots(extra, provider.clone())
            .map_err(store_error)?;
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(store_error)?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(Naming {
            inner: Arc::new(platform),
        }))
        .with_no_client_auth())
}

/// The roots added to the system's: `LANYARD_CA_FILE` and `saved_ca` when it exists (each
/// must be readable and hold a certificate: the user asked for it), and where the platform
/// does not read them, `SSL_CERT_FILE` / `SSL_CERT_DIR` (best effort, as other tools do).
fn extra_roots(
    var: &dyn Fn(&str) -> Option<String>,
    saved_ca: Option<&Path>,
) -> Result<Vec<CertificateDer<'static>>, SettingError> {
    let mut roots = Vec::new();
    if let Some(path) = saved_ca.filter(|p| p.exists()) {
        let certs = read_pem_certs(path).map_err(|detail| SettingError {
            setting: path.display().to_string(),
            detail,
        })?;
        roots.extend(certs);
    }
    if let Some(path) = var(CA_FILE_VAR) {
        let certs = read_pem_certs(Path::new(&path)).map_err(|detail| SettingError {
            setting: format!("{CA_FILE_VAR}={path}"),
            detail,
        })?;
        roots.extend(certs);
    }
    if !PLATFORM_READS_SSL_CERT_VARS {
        if let Some(file) = var("SSL_CERT_FILE") {
            roots.extend(read_pem_certs(Path::new(&file)).unwrap_or_default());
        }
        for dir in var("SSL_CERT_DIR")
            .map(|d| std::env::split_paths(&d).collect::<Vec<_>>())
            .unwrap_or_default()
        {
            for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                roots.extend(read_pem_certs(&entry.path()).unwrap_or_default());
            }
        }
    }
    Ok(roots)
}

/// Every certificate of a PEM file; an error sentence when there is none.
fn read_pem_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("it cannot be read ({e})"))?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("it is not a readable PEM file ({e})"))?;
    if certs.is_empty() {
        return Err(
            "it holds no certificate in PEM form (-----BEGIN CERTIFICATE-----); export the CA as PEM (Base-64), not DER"
                .into(),
        );
    }
    Ok(certs)
}

/// The platform verifier, with its refusals wrapped in a [`Refused`].
#[derive(Debug)]
struct Naming {
    inner: Arc<dyn ServerCertVerifier>,
}

impl ServerCertVerifier for Naming {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.inner
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
            .map_err(|e| match e {
                rustls::Error::InvalidCertificate(reason) => {
                    let refused = Refused::new(server_name, end_entity, intermediates, reason);
                    rustls::Error::InvalidCertificate(CertificateError::Other(OtherError(
                        Arc::new(refused),
                    )))
                }
                other => other,
            })
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// A server certificate Lanyard refused: for which host, who issued it, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Refused {
    pub host: String,
    /// The name (CN, else O) of the certificate's issuer, when it could be read.
    pub issuer: Option<String>,
    /// The issuer at the top of the chain the server presented, when it differs.
    pub chain_root: Option<String>,
    /// The certificate's own name, for a certificate made for another host.
    pub subject: Option<String>,
    pub reason: CertificateError,
}

impl Refused {
    fn new(
        server_name: &ServerName<'_>,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        reason: CertificateError,
    ) -> Self {
        let leaf = cert_names::names(end_entity).unwrap_or_default();
        let top = intermediates
            .last()
            .and_then(|c| cert_names::names(c))
            .and_then(|n| n.issuer)
            .filter(|root| Some(root) != leaf.issuer.as_ref());
        Refused {
            host: server_name.to_str().into_owned(),
            issuer: leaf.issuer,
            chain_root: top,
            subject: leaf.subject,
            reason,
        }
    }

    fn issued_by(&self) -> String {
        let issuer = self.issuer.as_deref().unwrap_or("an unnamed issuer");
        match &self.chain_root {
            Some(root) => format!("'{issuer}' (under '{root}')"),
            None => format!("'{issuer}'"),
        }
    }

    /// What to do about it.
    pub fn fix(&self) -> String {
        match &self.reason {
            CertificateError::Expired
            | CertificateError::ExpiredContext { .. }
            | CertificateError::NotValidYet
            | CertificateError::NotValidYetContext { .. } => {
                "Check this computer's date and time; if they are right, the server's admin must renew the certificate".into()
            }
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => format!(
                "The server (or a proxy in front of it) must present a certificate made for {}; if your company inspects TLS, tell its IT team",
                self.host
            ),
            CertificateError::Revoked => {
                "The server's admin must replace the revoked certificate".into()
            }
            _ => format!(
                "If your company inspects TLS (Zscaler, Netskope, Palo Alto…), export its root CA as PEM and set {CA_FILE_VAR}=/path/to/ca.pem (or add it to this computer's trust store); if it does not, something is intercepting this connection: do not sign in"
            ),
        }
    }
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (host, by) = (&self.host, self.issued_by());
        match &self.reason {
            CertificateError::UnknownIssuer => write!(
                f,
                "the certificate for {host} was issued by {by}, which this computer does not trust"
            ),
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                write!(f, "the certificate for {host} (issued by {by}) has expired")
            }
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                write!(
                    f,
                    "the certificate for {host} (issued by {by}) is not valid yet"
                )
            }
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                let made_for = self.subject.as_deref().unwrap_or("another name");
                write!(
                    f,
                    "the certificate presented for {host} (issued by {by}) was made for '{made_for}'"
                )
            }
            CertificateError::Revoked => {
                write!(f, "the certificate for {host} (issued by {by}) was revoked")
            }
            other => write!(
                f,
                "the certificate for {host} (issued by {by}) was refused ({other:?})"
            ),
        }
    }
}

impl std::error::Error for Refused {}

/// The [`Refused`] certificate behind a transport error, if that is what failed. TLS errors
/// travel inside `std::io::Error`s, whose `source()` skips them: those are opened by hand.
pub fn refusal<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a Refused> {
    tls_error(e).and_then(|tls| match tls {
        rustls::Error::InvalidCertificate(CertificateError::Other(OtherError(inner))) => {
            inner.downcast_ref::<Refused>()
        }
        _ => None,
    })
}

/// The TLS error behind a transport error, if the handshake is what failed.
pub fn tls_error<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    let mut next = Some(e);
    while let Some(err) = next {
        if let Some(tls) = err.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        if let Some(tls) = err
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        {
            return Some(tls);
        }
        next = err.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(reason: CertificateError) -> Refused {
        Refused {
            host: "gw.example".into(),
            issuer: Some("Zscaler Intermediate Root CA".into()),
            chain_root: Some("Zscaler Root CA".into()),
            subject: Some("other.example".into()),
            reason,
        }
    }

    #[test]
    fn an_unknown_issuer_is_named_with_the_way_to_trust_a_company_ca() {
        let r = refused(CertificateError::UnknownIssuer);
        assert_eq!(
            r.to_string(),
            "the certificate for gw.example was issued by 'Zscaler Intermediate Root CA' (under 'Zscaler Root CA'), which this computer does not trust"
        );
        assert!(
            r.fix().contains("LANYARD_CA_FILE=/path/to/ca.pem"),
            "{}",
            r.fix()
        );
    }

    #[test]
    fn expiry_and_a_foreign_name_say_so_rather_than_blame_trust() {
        let r = refused(CertificateError::Expired);
        assert!(r.to_string().ends_with("has expired"), "{r}");
        assert!(r.fix().contains("date and time"));
        let r = refused(CertificateError::NotValidForName);
        assert!(
            r.to_string().contains("was made for 'other.example'"),
            "{r}"
        );
        assert!(r.fix().contains("made for gw.example"));
    }

    #[test]
    fn a_refusal_is_found_inside_the_io_error_that_carries_it() {
        let tls = rustls::Error::InvalidCertificate(CertificateError::Other(OtherError(Arc::new(
            refused(CertificateError::UnknownIssuer),
        ))));
        let io = std::io::Error::new(std::io::ErrorKind::InvalidData, tls);
        let outer: Box<dyn std::error::Error + Send + Sync> = Box::new(io);
        let found = refusal(outer.as_ref()).expect("the refusal");
        assert_eq!(found.host, "gw.example");
        let plain = std::io::Error::other("connection refused");
        assert!(refusal(&plain).is_none());
    }

    fn vars(pairs: &[(&str, String)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        move |k| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
    }

    #[test]
    fn lanyard_ca_file_adds_its_certificates_and_a_bad_one_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("ca.pem");
        std::fs::write(&good, include_str!("testdata/leaf.pem")).unwrap();
        let roots = extra_roots(&vars(&[(CA_FILE_VAR, good.display().to_string())]), None).unwrap();
        assert_eq!(roots.len(), 1);
        let both = extra_roots(
            &vars(&[(CA_FILE_VAR, good.display().to_string())]),
            Some(&good),
        )
        .unwrap();
        assert_eq!(both.len(), 2, "the saved ca.pem adds to LANYARD_CA_FILE");
        let absent = dir.path().join("no-such-ca.pem");
        assert!(extra_roots(&vars(&[]), Some(&absent)).unwrap().is_empty());

        let empty = dir.path().join("ca.der");
        std::fs::write(&empty, b"\x30\x03\x02\x01\x01").unwrap();
        let missing = dir.path().join("missing.pem");
        for (path, says) in [(&empty, "PEM"), (&missing, "cannot be read")] {
            let e =
                extra_roots(&vars(&[(CA_FILE_VAR, path.display().to_string())]), None).unwrap_err();
            assert_eq!(e.setting, format!("LANYARD_CA_FILE={}", path.display()));
            assert!(e.detail.contains(says), "{}", e.detail);
        }
        let e = extra_roots(&vars(&[]), Some(&empty)).unwrap_err();
        assert_eq!(e.setting, empty.display().to_string());
        assert!(extra_roots(&vars(&[]), None).unwrap().is_empty());
    }
}
