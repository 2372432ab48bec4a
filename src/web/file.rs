//! The web configuration file in the format of the Prometheus exporter-toolkit, as
//! Go exporters read it with `--web.config.file`.
//!
//! Values that can be checked without touching other files are checked while the
//! YAML is read, so that their errors carry the line and column.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Deserializer, de};

/// The whole file. Every section is optional; an empty file serves plain HTTP
/// without authentication.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebConfigFile {
    #[serde(default)]
    pub tls_server_config: Option<TlsServerConfig>,
    #[serde(default)]
    pub http_server_config: Option<HttpServerConfig>,
    /// User names mapped to bcrypt hashes of their passwords.
    #[serde(default)]
    pub basic_auth_users: BTreeMap<String, BcryptHash>,
}

/// `tls_server_config`: the certificate and client authentication.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsServerConfig {
    #[serde(default)]
    pub cert_file: Option<PathBuf>,
    #[serde(default)]
    pub key_file: Option<PathBuf>,
    /// The certificate chain as PEM text, in place of `cert_file`.
    #[serde(default)]
    pub cert: Option<String>,
    /// The private key as PEM text, in place of `key_file`.
    #[serde(default)]
    pub key: Option<String>,
    #[serde(default)]
    pub client_auth_type: ClientAuthType,
    #[serde(default)]
    pub client_ca_file: Option<PathBuf>,
    #[serde(default)]
    pub client_allowed_sans: Vec<String>,
    #[serde(default)]
    pub min_version: Option<TlsVersion>,
    #[serde(default)]
    pub max_version: Option<TlsVersion>,
    /// Go cipher suite names. rustls chooses its own safe suites, so these are
    /// accepted for compatibility and ignored with a warning.
    #[serde(default)]
    pub cipher_suites: Vec<String>,
    #[serde(default)]
    pub prefer_server_cipher_suites: Option<bool>,
    #[serde(default)]
    pub curve_preferences: Vec<String>,
}

/// The server's treatment of client certificates, with Go's `tls.ClientAuthType`
/// names.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub enum ClientAuthType {
    #[default]
    NoClientCert,
    /// Asks for a certificate but neither requires nor verifies it.
    RequestClientCert,
    /// Requires a certificate but does not verify it.
    RequireAnyClientCert,
    /// Verifies a certificate against `client_ca_file` when one is sent.
    VerifyClientCertIfGiven,
    /// Requires a certificate and verifies it against `client_ca_file`.
    RequireAndVerifyClientCert,
}

/// A TLS protocol version, with the exporter-toolkit's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
pub enum TlsVersion {
    TLS10,
    TLS11,
    TLS12,
    TLS13,
}

/// `http_server_config`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpServerConfig {
    /// Whether HTTP/2 is offered; on by default.
    #[serde(default)]
    pub http2: Option<bool>,
    /// Extra headers on every response.
    #[serde(default)]
    pub headers: BTreeMap<SecurityHeader, String>,
}

/// The response headers the file may set, as in the exporter-toolkit: security
/// headers only, so that the file cannot change how responses are framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
pub enum SecurityHeader {
    #[serde(rename = "Content-Security-Policy")]
    ContentSecurityPolicy,
    #[serde(rename = "X-Frame-Options")]
    FrameOptions,
    #[serde(rename = "X-Content-Type-Options")]
    ContentTypeOptions,
    #[serde(rename = "X-XSS-Protection")]
    XssProtection,
    #[serde(rename = "Strict-Transport-Security")]
    StrictTransportSecurity,
}

impl SecurityHeader {
    pub fn name(self) -> &'static str {
        match self {
            SecurityHeader::ContentSecurityPolicy => "Content-Security-Policy",
            SecurityHeader::FrameOptions => "X-Frame-Options",
            SecurityHeader::ContentTypeOptions => "X-Content-Type-Options",
            SecurityHeader::XssProtection => "X-XSS-Protection",
            SecurityHeader::StrictTransportSecurity => "Strict-Transport-Security",
        }
    }
}

/// A bcrypt hash as `htpasswd -nBC 10` writes it: `$2y$10$` and 53 more characters.
#[derive(Clone, PartialEq, Eq)]
pub struct BcryptHash(String);

impl BcryptHash {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Hashes are not secrets in the way passwords are, but they can be attacked offline,
/// so they stay out of logs and debug output.
impl fmt::Debug for BcryptHash {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("BcryptHash([REDACTED])")
    }
}

impl<'de> Deserialize<'de> for BcryptHash {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let hash = String::deserialize(deserializer)?;
        match hash.parse::<bcrypt::HashParts>() {
            Ok(_) => Ok(BcryptHash(hash)),
            Err(_) => Err(de::Error::custom(
                "invalid bcrypt hash: expected the output of `htpasswd -nBC 10 USER`, such as $2y$10$ followed by 53 characters",
            )),
        }
    }
}
