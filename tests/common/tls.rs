//! Certificates made for one test: a CA, a server certificate for 127.0.0.1 and a
//! client certificate, all signed by the CA.

use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};

pub struct TestCertificates {
    pub ca_pem: String,
    pub server_certificate_pem: String,
    pub server_key_pem: String,
    pub client_certificate_pem: String,
    pub client_key_pem: String,
    server_certificate_der: Vec<u8>,
    server_key_der: Vec<u8>,
}

impl TestCertificates {
    pub fn new() -> TestCertificates {
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().expect("CA key"))
            .expect("CA certificate");

        let server_key = KeyPair::generate().expect("server key");
        let server = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
            .expect("server parameters")
            .signed_by(&server_key, &ca)
            .expect("server certificate");
        let client_key = KeyPair::generate().expect("client key");
        let client = CertificateParams::new(vec!["prometheus".to_owned()])
            .expect("client parameters")
            .signed_by(&client_key, &ca)
            .expect("client certificate");

        TestCertificates {
            ca_pem: ca.pem(),
            server_certificate_pem: server.pem(),
            server_key_pem: server_key.serialize_pem(),
            client_certificate_pem: client.pem(),
            client_key_pem: client_key.serialize_pem(),
            server_certificate_der: server.der().to_vec(),
            server_key_der: server_key.serialize_der(),
        }
    }

    /// Returns the CA as a certificate for reqwest to trust.
    pub fn ca(&self) -> reqwest::Certificate {
        reqwest::Certificate::from_pem(self.ca_pem.as_bytes()).expect("CA in PEM")
    }

    /// Returns the client certificate and key as an identity for reqwest to present.
    pub fn client_identity(&self) -> reqwest::Identity {
        let pem = format!("{}{}", self.client_certificate_pem, self.client_key_pem);
        reqwest::Identity::from_pem(pem.as_bytes()).expect("client identity")
    }

    /// Returns a rustls server configuration with the server certificate.
    pub fn server_config(&self) -> Arc<tokio_rustls::rustls::ServerConfig> {
        let key = tokio_rustls::rustls::pki_types::PrivateKeyDer::Pkcs8(
            self.server_key_der.clone().into(),
        );
        let certificate = tokio_rustls::rustls::pki_types::CertificateDer::from(
            self.server_certificate_der.clone(),
        );
        let config = tokio_rustls::rustls::ServerConfig::builder()
            .with_no_client_auth()
            .with_single_cert(vec![certificate], key)
            .expect("server TLS configuration");
        Arc::new(config)
    }
}
