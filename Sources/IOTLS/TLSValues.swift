internal import COpenSSL

/// A TLS protocol version this module is willing to speak: 1.2 or 1.3 only.
///
/// Older versions cannot be expressed on purpose: TLS 1.0 and 1.1 are deprecated (RFC 8996).
public struct TLSVersion: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The OpenSSL constant (`TLS1_2_VERSION`, `TLS1_3_VERSION`).
    let openSSLValue: Int32

    private init(openSSLValue: Int32) {
        self.openSSLValue = openSSLValue
    }

    /// TLS 1.2 (RFC 5246).
    public static let v1_2 = TLSVersion(openSSLValue: COpenSSL_TLS1_2_VERSION)
    /// TLS 1.3 (RFC 8446).
    public static let v1_3 = TLSVersion(openSSLValue: COpenSSL_TLS1_3_VERSION)

    /// Orders by protocol version.
    public static func < (lhs: TLSVersion, rhs: TLSVersion) -> Bool { lhs.openSSLValue < rhs.openSSLValue }

    /// The name OpenSSL uses, for example `"TLSv1.3"`.
    public var description: String { self == .v1_3 ? "TLSv1.3" : "TLSv1.2" }
}

/// The outcome of the client's check of the server certificate (an OpenSSL `X509_V_*` code).
///
/// Compare with the static members; ``code`` carries any other OpenSSL code unchanged.
public struct TLSVerificationResult: Hashable, Sendable, CustomStringConvertible {
    /// The OpenSSL `X509_V_*` code; 0 means the certificate was accepted.
    public let code: Int

    /// Wraps an OpenSSL `X509_V_*` code.
    public init(code: Int) {
        self.code = code
    }

    /// The chain and the host name were verified.
    public static let valid = TLSVerificationResult(code: Int(X509_V_OK))
    /// The certificate does not name the DNS host that was asked for.
    public static let hostnameMismatch = TLSVerificationResult(code: Int(X509_V_ERR_HOSTNAME_MISMATCH))
    /// The certificate does not name the IP address that was asked for.
    public static let ipAddressMismatch = TLSVerificationResult(code: Int(X509_V_ERR_IP_ADDRESS_MISMATCH))
    /// The issuer of the chain is not among the trust roots.
    public static let untrustedIssuer = TLSVerificationResult(code: Int(X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY))
    /// The server presented a self-signed certificate that is not a trust root.
    public static let selfSignedCertificate = TLSVerificationResult(code: Int(X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT))
    /// The chain ends in a self-signed root that is not a trust root.
    public static let selfSignedCertificateInChain = TLSVerificationResult(
        code: Int(X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN)
    )
    /// A certificate in the chain has expired.
    public static let certificateExpired = TLSVerificationResult(code: Int(X509_V_ERR_CERT_HAS_EXPIRED))
    /// A certificate in the chain is not valid yet.
    public static let certificateNotYetValid = TLSVerificationResult(code: Int(X509_V_ERR_CERT_NOT_YET_VALID))

    /// Whether the certificate was accepted.
    public var isValid: Bool { self.code == Int(X509_V_OK) }

    /// OpenSSL's text for the code, for example `"hostname mismatch"`.
    public var description: String {
        String(cString: X509_verify_cert_error_string(self.code))
    }
}

/// Identifying fields of a certificate, for logs and tests.
public struct TLSCertificateSummary: Hashable, Sendable {
    /// The subject in OpenSSL's one-line form, for example `"/O=Earpiece/CN=localhost"`.
    public var subject: String
    /// The serial number in upper-case hexadecimal without leading zeros, for example `"1001"`.
    public var serialNumber: String

    /// Makes a summary from its fields.
    public init(subject: String, serialNumber: String) {
        self.subject = subject
        self.serialNumber = serialNumber
    }

    /// Reads the summary of an `X509*`; nil if OpenSSL cannot render it (out of memory).
    init?(certificate: OpaquePointer) {
        guard let subjectName = X509_get_subject_name(certificate),
            let subjectText = X509_NAME_oneline(subjectName, nil, 0)
        else { return nil }
        defer { COpenSSL_OPENSSL_free(subjectText) }
        guard let serial = X509_get0_serialNumber(certificate), let number = ASN1_INTEGER_to_BN(serial, nil) else {
            return nil
        }
        defer { BN_free(number) }
        guard let serialText = BN_bn2hex(number) else { return nil }
        defer { COpenSSL_OPENSSL_free(serialText) }
        self.subject = String(cString: subjectText)
        self.serialNumber = String(cString: serialText)
    }
}
