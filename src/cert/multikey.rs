//! Ed25519 keys as the W3C Controlled Identifiers spec writes them: Multikey
//! (`publicKeyMultibase` = base58btc of the multicodec `ed25519-pub` prefix 0xed 0x01 and the
//! 32 key bytes, so every key reads `z6Mk…`) and `did:key:z6Mk…#z6Mk…` verification methods.
//! Resolving such an identifier is pure decoding: nothing is looked up.

use ed25519_dalek::{SigningKey, VerifyingKey};

/// Multicodec prefix of an Ed25519 public key (varint of 0xed).
const ED25519_PUB: [u8; 2] = [0xed, 0x01];
/// Multicodec prefix of an Ed25519 private key (varint of 0x1300).
const ED25519_PRIV: [u8; 2] = [0x80, 0x26];

/// Multibase base58btc: `z` followed by base58 (Bitcoin alphabet).
pub fn multibase_encode(bytes: &[u8]) -> String {
    format!("z{}", bs58::encode(bytes).into_string())
}

/// Decodes a multibase base58btc string; any other base is refused.
pub fn multibase_decode(s: &str) -> Result<Vec<u8>, String> {
    let body = s.strip_prefix('z').ok_or_else(|| {
        format!(
            "{} is not multibase base58btc (it must start with z)",
            short(s)
        )
    })?;
    let bytes = bs58::decode(body)
        .into_vec()
        .map_err(|e| format!("{} is not base58btc: {e}", short(s)))?;
    // base58 has one spelling per byte string; re-encoding proves there was no other.
    if bs58::encode(&bytes).into_string() != body {
        return Err(format!("{} is not in canonical base58btc", short(s)));
    }
    Ok(bytes)
}

/// The Multikey `publicKeyMultibase` of an Ed25519 public key.
pub fn public_key_multibase(key: &VerifyingKey) -> String {
    let mut bytes = ED25519_PUB.to_vec();
    bytes.extend_from_slice(key.as_bytes());
    multibase_encode(&bytes)
}

/// An Ed25519 public key from its Multikey form.
pub fn parse_public_key_multibase(s: &str) -> Result<VerifyingKey, String> {
    let bytes = multibase_decode(s)?;
    let raw = bytes
        .strip_prefix(&ED25519_PUB[..])
        .ok_or_else(|| format!("{} is not an Ed25519 Multikey (z6Mk…)", short(s)))?;
    let raw: &[u8; 32] = raw
        .try_into()
        .map_err(|_| format!("{} does not hold 32 key bytes", short(s)))?;
    VerifyingKey::from_bytes(raw).map_err(|_| format!("{} is not a valid Ed25519 point", short(s)))
}

/// A private key from its Multikey `secretKeyMultibase` form (the spec's test key pair uses
/// it). Keys ringcoach makes are stored only as passphrase-protected OpenSSH files.
pub fn parse_secret_key_multibase(s: &str) -> Result<SigningKey, String> {
    let bytes = multibase_decode(s)?;
    let raw = bytes
        .strip_prefix(&ED25519_PRIV[..])
        .ok_or_else(|| "not an Ed25519 private Multikey".to_string())?;
    let seed: &[u8; 32] = raw
        .try_into()
        .map_err(|_| "an Ed25519 private Multikey holds 32 bytes".to_string())?;
    Ok(SigningKey::from_bytes(seed))
}

/// `did:key:z6Mk…` of a key.
pub fn did_key(key: &VerifyingKey) -> String {
    format!("did:key:{}", public_key_multibase(key))
}

/// `did:key:z6Mk…#z6Mk…`: the verification method of a key in its own did:key document.
pub fn verification_method(key: &VerifyingKey) -> String {
    let mb = public_key_multibase(key);
    format!("did:key:{mb}#{mb}")
}

/// The key a `did:key` verification method (or a bare `did:key`) names.
pub fn parse_verification_method(vm: &str) -> Result<VerifyingKey, String> {
    let rest = vm
        .strip_prefix("did:key:")
        .ok_or_else(|| format!("{} is not a did:key verification method", short(vm)))?;
    let (id, fragment) = match rest.split_once('#') {
        Some((id, f)) => (id, Some(f)),
        None => (rest, None),
    };
    if let Some(f) = fragment {
        if f != id {
            return Err(format!(
                "{}: the fragment must repeat the key (did:key:K#K)",
                short(vm)
            ));
        }
    }
    parse_public_key_multibase(id)
}

/// The OpenSSH fingerprint (`SHA256:…`) of a key, as `ssh-keygen -l` prints it.
pub fn ssh_fingerprint(key: &VerifyingKey) -> String {
    ssh_public_key(key)
        .fingerprint(ssh_key::HashAlg::Sha256)
        .to_string()
}

pub(crate) fn ssh_public_key(key: &VerifyingKey) -> ssh_key::PublicKey {
    ssh_key::PublicKey::from(ssh_key::public::Ed25519PublicKey(key.to_bytes()))
}

fn short(s: &str) -> String {
    if s.chars().count() > 60 {
        format!("{:?}…", s.chars().take(60).collect::<String>())
    } else {
        format!("{s:?}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multikey_round_trip_and_refusals() {
        let key = SigningKey::from_bytes(&[7u8; 32]).verifying_key();
        let mb = public_key_multibase(&key);
        assert!(mb.starts_with("z6Mk"), "{mb}");
        assert_eq!(parse_public_key_multibase(&mb).unwrap(), key);
        assert_eq!(
            parse_verification_method(&verification_method(&key)).unwrap(),
            key
        );
        assert_eq!(parse_verification_method(&did_key(&key)).unwrap(), key);
        assert!(parse_verification_method(&format!("did:key:{mb}#other")).is_err());
        assert!(parse_verification_method(&format!("did:web:{mb}")).is_err());
        assert!(parse_public_key_multibase(&mb[1..]).is_err());
        assert!(parse_public_key_multibase("z0OIl").is_err());
        assert!(ssh_fingerprint(&key).starts_with("SHA256:"));
    }
}
