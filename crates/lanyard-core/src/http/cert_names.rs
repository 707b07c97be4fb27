//! The subject and issuer names of an X.509 certificate (RFC 5280 §4.1), read just far enough
//! to name a refused certificate in a message. Nothing here decides trust: the bytes come from
//! the server and are only ever printed, cleaned of control characters and cut short.

/// The names of one certificate: its common name, else its organisation.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Names {
    pub subject: Option<String>,
    pub issuer: Option<String>,
}

/// The names in a DER certificate, or `None` when it cannot be read that far.
pub fn names(der: &[u8]) -> Option<Names> {
    let (0x30, cert, _) = tlv(der)? else {
        return None;
    };
    let (0x30, tbs, _) = tlv(cert)? else {
        return None;
    };
    let mut fields = items(tbs);
    let mut field = fields.next()?;
    if field.0 == 0xA0 {
        field = fields.next()?; // [0] version
    }
    if field.0 != 0x02 {
        return None; // serialNumber
    }
    let _signature = fields.next()?;
    let (0x30, issuer) = fields.next()? else {
        return None;
    };
    let _validity = fields.next()?;
    let (0x30, subject) = fields.next()? else {
        return None;
    };
    Some(Names {
        subject: display_name(subject),
        issuer: display_name(issuer),
    })
}

/// One DER tag-length-value: the tag, the contents, what follows.
fn tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let (bytes, rest) = rest.split_at(n);
        let len = bytes
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        (len, rest)
    };
    if rest.len() < len {
        return None;
    }
    let (contents, rest) = rest.split_at(len);
    Some((tag, contents, rest))
}

/// The TLVs of a constructed value's contents, in order (stops at the first unreadable one).
fn items(mut input: &[u8]) -> impl Iterator<Item = (u8, &[u8])> {
    std::iter::from_fn(move || {
        let (tag, contents, rest) = tlv(input)?;
        input = rest;
        Some((tag, contents))
    })
}

const OID_COMMON_NAME: &[u8] = &[0x55, 0x04, 0x03];
const OID_ORGANIZATION: &[u8] = &[0x55, 0x04, 0x0A];

/// A Name (RDNSequence) as a person would call it: its CN, else its O.
fn display_name(name: &[u8]) -> Option<String> {
    let (mut cn, mut o) = (None, None);
    for (_, set) in items(name).filter(|(t, _)| *t == 0x31) {
        for (_, atv) in items(set).filter(|(t, _)| *t == 0x30) {
            let Some((0x06, oid, rest)) = tlv(atv) else {
                continue;
            };
            let Some((string_tag, value, _)) = tlv(rest) else {
                continue;
            };
            // UTF8String, PrintableString, TeletexString, IA5String.
            if !matches!(string_tag, 0x0C | 0x13 | 0x14 | 0x16) {
                continue;
            }
            let text = clean(&String::from_utf8_lossy(value));
            if text.is_empty() {
                continue;
            }
            if oid == OID_COMMON_NAME {
                cn.get_or_insert(text);
            } else if oid == OID_ORGANIZATION {
                o.get_or_insert(text);
            }
        }
    }
    cn.or(o)
}

/// Printable and short: the name goes to a terminal.
fn clean(s: &str) -> String {
    let s: String = s.chars().filter(|c| !c.is_control()).take(100).collect();
    s.trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;

    /// `openssl req -x509 -newkey ec ... -subj "/CN=Corp Inspect Root CA/O=Corp"`, then a leaf
    /// for gw.example signed by it (EC P-256).
    const LEAF: &str = include_str!("testdata/leaf.pem");

    #[test]
    fn a_certificate_names_its_subject_and_issuer_by_common_name() {
        let der = CertificateDer::from_pem_slice(LEAF.as_bytes()).unwrap();
        let n = names(&der).unwrap();
        assert_eq!(n.subject.as_deref(), Some("gw.example"));
        assert_eq!(n.issuer.as_deref(), Some("Corp Inspect Root CA"));
    }

    #[test]
    fn truncated_or_garbage_input_gives_no_names_and_never_panics() {
        let der = CertificateDer::from_pem_slice(LEAF.as_bytes()).unwrap();
        for cut in 0..der.len() {
            let _ = names(&der[..cut]);
        }
        assert_eq!(names(b""), None);
        assert_eq!(names(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]), None);
        assert_eq!(names(&[0x30, 0x85, 1, 1, 1, 1, 1]), None);
    }

    #[test]
    fn control_characters_in_a_name_are_dropped() {
        assert_eq!(clean("Evil\u{1b}[31m CA\n"), "Evil[31m CA");
    }
}
