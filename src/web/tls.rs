//! The rustls server configuration built from `tls_server_config`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio_rustls::rustls::client::danger::HandshakeSignatureValid;
use tokio_rustls::rustls::crypto::{
    CryptoProvider, verify_tls12_signature, verify_tls13_signature,
};
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
use tokio_rustls::rustls::server::WebPkiClientVerifier;
use tokio_rustls::rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use tokio_rustls::rustls::{
    DigitallySignedStruct, DistinguishedName, Error as TlsError, RootCertStore, ServerConfig,
    SignatureScheme, SupportedProtocolVersion, version,
};

use super::WebConfigError;
use super::file::{ClientAuthType, TlsServerConfig, TlsVersion};

/// Builds the server configuration. Relative file names are taken relative to
/// `base`, the folder of the web configuration file.
pub fn server_config(
    tls: &TlsServerConfig,
    base: &Path,
    http2: bool,
) -> Result<Arc<ServerConfig>, WebConfigError> {
    let versions = protocol_versions(tls.min_version, tls.max_version)?;
    if !tls.client_allowed_sans.is_empty() {
        return Err(invalid(
            "client_allowed_sans",
            "is not supported by this exporter",
        ));
    }
    if !tls.cipher_suites.is_empty()
        || !tls.curve_preferences.is_empty()
        || tls.prefer_server_cipher_suites.is_some()
    {
        tracing::warn!(
            "tls_server_config: cipher_suites, curve_preferences and prefer_server_cipher_suites are ignored; \
             rustls uses its own safe defaults"
        );
    }

    let certificates = match (&tls.cert_file, &tls.cert) {
        (Some(path), None) => read_certificates(&resolve(base, path), "cert_file")?,
        (None, Some(pem)) => certificates_from_pem(pem.as_bytes(), "cert")?,
        (Some(_), Some(_)) => {
            return Err(invalid("cert", "cert and cert_file are mutually exclusive"));
        }
        (None, None) => return Err(invalid("cert_file", "is required for TLS")),
    };
    let key = match (&tls.key_file, &tls.key) {
        (Some(path), None) => {
            let path = resolve(base, path);
            PrivateKeyDer::from_pem_file(&path).map_err(|error| {
                invalid(
                    "key_file",
                    &format!(
                        "cannot read a PEM private key from {}: {error}",
                        path.display()
                    ),
                )
            })?
        }
        (None, Some(pem)) => PrivateKeyDer::from_pem_slice(pem.as_bytes())
            .map_err(|error| invalid("key", &format!("no PEM private key: {error}")))?,
        (Some(_), Some(_)) => {
            return Err(invalid("key", "key and key_file are mutually exclusive"));
        }
        (None, None) => return Err(invalid("key_file", "is required for TLS")),
    };

    let provider = Arc::new(tokio_rustls::rustls::crypto::aws_lc_rs::default_provider());
    let verifier = client_verifier(tls, base, &provider)?;
    let mut config = ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_protocol_versions(&versions)
        .map_err(|error| invalid("min_version", &error.to_string()))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(certificates, key)
        .map_err(|error| {
            invalid(
                "key_file",
                &format!("the key does not match the certificate: {error}"),
            )
        })?;
    config.alpn_protocols = if http2 {
        vec![b"h2".to_vec(), b"http/1.1".to_vec()]
    } else {
        vec![b"http/1.1".to_vec()]
    };
    Ok(Arc::new(config))
}

fn invalid(field: &'static str, reason: &str) -> WebConfigError {
    WebConfigError::Invalid {
        field: format!("tls_server_config.{field}"),
        reason: reason.to_owned(),
    }
}

fn resolve(base: &Path, path: &Path) -> PathBuf {
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        base.join(path)
    }
}

fn read_certificates(
    path: &Path,
    field: &'static str,
) -> Result<Vec<CertificateDer<'static>>, WebConfigError> {
    let pem = std::fs::read(path)
        .map_err(|error| invalid(field, &format!("cannot read {}: {error}", path.display())))?;
    certificates_from_pem(&pem, field)
}

fn certificates_from_pem(
    pem: &[u8],
    field: &'static str,
) -> Result<Vec<CertificateDer<'static>>, WebConfigError> {
    let certificates: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<_, _>>()
        .map_err(|error| invalid(field, &format!("invalid PEM: {error}")))?;
    if certificates.is_empty() {
        return Err(invalid(field, "contains no PEM certificate"));
    }
    Ok(certificates)
}

/// Maps `min_version` and `max_version` to the versions rustls offers. rustls has
/// TLS 1.2 and 1.3 only, so TLS 1.0 and 1.1 are rejected as a maximum and raised
/// to 1.2 as a minimum.
fn protocol_versions(
    min: Option<TlsVersion>,
    max: Option<TlsVersion>,
) -> Result<Vec<&'static SupportedProtocolVersion>, WebConfigError> {
    let min = min.unwrap_or(TlsVersion::TLS12);
    let max = max.unwrap_or(TlsVersion::TLS13);
    if max < TlsVersion::TLS12 {
        return Err(invalid(
            "max_version",
            "must be TLS12 or TLS13: TLS 1.0 and 1.1 are not supported",
        ));
    }
    if min > max {
        return Err(invalid("min_version", "is higher than max_version"));
    }
    let mut versions = Vec::new();
    if min <= TlsVersion::TLS12 {
        versions.push(&version::TLS12);
    }
    versions.push(&version::TLS13);
    if max == TlsVersion::TLS12 {
        versions.retain(|candidate| candidate.version != version::TLS13.version);
    }
    Ok(versions)
}

fn client_verifier(
    tls: &TlsServerConfig,
    base: &Path,
    provider: &Arc<CryptoProvider>,
) -> Result<Arc<dyn ClientCertVerifier>, WebConfigError> {
    let verifying = matches!(
        tls.client_auth_type,
        ClientAuthType::VerifyClientCertIfGiven | ClientAuthType::RequireAndVerifyClientCert
    );
    if tls.client_ca_file.is_some() && !verifying {
        tracing::warn!(
            "tls_server_config.client_ca_file is ignored unless client_auth_type verifies certificates"
        );
    }
    match tls.client_auth_type {
        ClientAuthType::NoClientCert => Ok(WebPkiClientVerifier::no_client_auth()),
        ClientAuthType::RequestClientCert => {
            Ok(Arc::new(AnyClientCertificate::new(provider, false)))
        }
        ClientAuthType::RequireAnyClientCert => {
            Ok(Arc::new(AnyClientCertificate::new(provider, true)))
        }
        ClientAuthType::VerifyClientCertIfGiven | ClientAuthType::RequireAndVerifyClientCert => {
            let path = tls.client_ca_file.as_ref().ok_or_else(|| {
                invalid(
                    "client_ca_file",
                    "is required when client_auth_type verifies certificates",
                )
            })?;
            let mut roots = RootCertStore::empty();
            for certificate in read_certificates(&resolve(base, path), "client_ca_file")? {
                roots.add(certificate).map_err(|error| {
                    invalid(
                        "client_ca_file",
                        &format!("invalid CA certificate: {error}"),
                    )
                })?;
            }
            let builder =
                WebPkiClientVerifier::builder_with_provider(Arc::new(roots), Arc::clone(provider));
            let builder = if tls.client_auth_type == ClientAuthType::VerifyClientCertIfGiven {
                builder.allow_unauthenticated()
            } else {
                builder
            };
            builder
                .build()
                .map_err(|error| invalid("client_ca_file", &error.to_string()))
        }
    }
}

/// Accepts any client certificate without checking who issued it, as Go's
/// `RequestClientCert` and `RequireAnyClientCert` do. Signatures are still checked,
/// so the client must hold the certificate's private key.
#[derive(Debug)]
struct AnyClientCertificate {
    provider: Arc<CryptoProvider>,
    required: bool,
}

impl AnyClientCertificate {
    fn new(provider: &Arc<CryptoProvider>, required: bool) -> AnyClientCertificate {
        AnyClientCertificate {
            provider: Arc::clone(provider),
            required,
        }
    }
}

impl ClientCertVerifier for AnyClientCertificate {
    fn client_auth_mandatory(&self) -> bool {
        self.required
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, TlsError> {
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        certificate: &CertificateDer<'_>,
        signature: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, TlsError> {
        verify_tls12_signature(
            message,
            certificate,
            signature,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        certificate: &CertificateDer<'_>,
        signature: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, TlsError> {
        verify_tls13_signature(
            message,
            certificate,
            signature,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_versions_are_tls12_and_tls13() {
        let versions = protocol_versions(None, None).expect("defaults");
        assert_eq!(versions.len(), 2);
    }

    #[test]
    fn tls13_only() {
        let versions = protocol_versions(Some(TlsVersion::TLS13), None).expect("TLS 1.3");
        assert_eq!(versions.len(), 1);
        assert_eq!(versions[0].version, version::TLS13.version);
    }

    #[test]
    fn tls12_only() {
        let versions = protocol_versions(None, Some(TlsVersion::TLS12)).expect("TLS 1.2");
        assert_eq!(versions.len(), 1);
        assert_eq!(versions[0].version, version::TLS12.version);
    }

    #[test]
    fn old_minimum_is_raised_to_tls12() {
        let versions = protocol_versions(Some(TlsVersion::TLS10), None).expect("TLS 1.0 minimum");
        assert_eq!(versions.len(), 2);
    }

    #[test]
    fn old_maximum_and_inverted_range_are_rejected() {
        assert!(protocol_versions(None, Some(TlsVersion::TLS11)).is_err());
        assert!(protocol_versions(Some(TlsVersion::TLS13), Some(TlsVersion::TLS12)).is_err());
    }
}
