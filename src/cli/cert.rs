//! `ringcoach cert`: issuer keys (`keygen`, `cards`), certificates of sealed sittings
//! (`issue`), revocation (`revoke`) and the printable page (`render`). Every command that
//! signs asks for the key's passphrase on the terminal, or reads `--passphrase-file F`.
//!
//! Exit codes: 0 done; 1 a certificate to render does not verify; 2 usage or input error,
//! and a refusal (an unsettled or unsealed sitting, a swapped recording), naming what.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};

use super::flags::{DataDirFlag, LangFlags};
use super::passphrase::PassphraseFlag;
use crate::cert::evidence::export_evidence;
use crate::cert::keyring::write_new;
use crate::cert::render::{file_name, render_html};
use crate::cert::revocation::revoke;
use crate::cert::sshsig::SIG_SUFFIX;
use crate::cert::{
    issue, verify, Class, IssuerCard, IssuerRef, Keyring, RevocationEntry, VerifyInput,
};
use crate::exam::certify::record;
use crate::exam::seal::check;
use crate::exam::sitting::IssuedEntry;
use crate::exam::Sittings;
use crate::store::Timestamp;

/// Environment variable naming the keyring directory (same as `--keyring DIR`).
pub const KEYRING_ENV: &str = "RINGCOACH_KEYRING";

/// `--keyring`: where issuer keys are.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct KeyringFlag {
    /// Issuer keys and cards [default: $RINGCOACH_KEYRING, else DATA_DIR/issuers]
    #[arg(long, value_name = "DIR")]
    pub keyring: Option<PathBuf>,
}

impl KeyringFlag {
    pub fn open(&self, data: &DataDirFlag) -> anyhow::Result<Keyring> {
        let root = match &self.keyring {
            Some(d) => d.clone(),
            None => match std::env::var_os(KEYRING_ENV).filter(|v| !v.is_empty()) {
                Some(d) => PathBuf::from(d),
                None => data.dir()?.join("issuers"),
            },
        };
        Ok(Keyring::new(root))
    }
}

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub action: Action,
}

#[derive(Debug, clap::Subcommand)]
pub enum Action {
    /// Make an issuer's signing key (passphrase-protected) and its card; `--rotate` retires
    /// the current key (certificates it signed stay valid) and makes a new one.
    Keygen(KeygenArgs),
    /// Copy an issuer's cards (public keys with their validity) to hand to employers.
    Cards(CardsArgs),
    /// Issue the certificate of a sealed, settled sitting (refused while anything is uncertain).
    Issue(IssueArgs),
    /// Revoke a certificate: re-signs the issuer's revocation list.
    Revoke(RevokeArgs),
    /// Render a certificate as a one-page HTML document to print or save as PDF.
    Render(RenderArgs),
}

#[derive(Debug, clap::Args)]
pub struct KeygenArgs {
    /// The issuer's name, as certificates show it (a training centre, a company).
    #[arg(long)]
    pub issuer: String,
    /// Retire the issuer's current key now and make a new one.
    #[arg(long)]
    pub rotate: bool,
    /// With --rotate: the new key's passphrase file [default: the same passphrase].
    #[arg(long, value_name = "FILE", requires = "rotate")]
    pub new_passphrase_file: Option<PathBuf>,
    #[command(flatten)]
    pub passphrase: PassphraseFlag,
    #[command(flatten)]
    pub keyring: KeyringFlag,
    #[command(flatten)]
    pub data_dir: DataDirFlag,
}

#[derive(Debug, clap::Args)]
pub struct CardsArgs {
    /// Only this issuer's cards [default: every issuer's].
    #[arg(long)]
    pub issuer: Option<String>,
    /// Copy the cards into this directory (for `verify --trust DIR`).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    #[command(flatten)]
    pub keyring: KeyringFlag,
    #[command(flatten)]
    pub data_dir: DataDirFlag,
}

#[derive(Debug, clap::Args)]
pub struct IssueArgs {
    /// The sitting id (`ringcoach exam list`).
    pub sitting: String,
    /// Where to write the certificate [default: ./<id>.ringcert.json]; the detached
    /// signature goes beside it (`.sig`).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Also export the evidence an auditor checks with `verify --evidence`:
    /// DIR/callN/turnM.wav and .txt.
    #[arg(long, value_name = "DIR")]
    pub evidence_out: Option<PathBuf>,
    /// The issuer [default: the only issuer in the keyring].
    #[arg(long)]
    pub issuer: Option<String>,
    /// Issue a replacement for the sitting's certificate: the new one names the old, and the
    /// old is revoked.
    #[arg(long)]
    pub replace: bool,
    #[command(flatten)]
    pub passphrase: PassphraseFlag,
    #[command(flatten)]
    pub keyring: KeyringFlag,
    #[command(flatten)]
    pub data_dir: DataDirFlag,
}

#[derive(Debug, clap::Args)]
pub struct RevokeArgs {
    /// The certificate id (`urn:uuid:…`, or just the UUID).
    pub id: String,
    /// Why: kept in the signed list and shown by `verify`.
    #[arg(long)]
    pub reason: String,
    /// The certificate that replaces it.
    #[arg(long, value_name = "ID")]
    pub replaced_by: Option<String>,
    /// The issuer [default: the only issuer in the keyring].
    #[arg(long)]
    pub issuer: Option<String>,
    #[command(flatten)]
    pub passphrase: PassphraseFlag,
    #[command(flatten)]
    pub keyring: KeyringFlag,
    #[command(flatten)]
    pub data_dir: DataDirFlag,
}

#[derive(Debug, clap::Args)]
pub struct RenderArgs {
    /// The certificate (`ID.ringcert.json`).
    pub file: PathBuf,
    /// The HTML page to write.
    #[arg(long, value_name = "OUT")]
    pub html: PathBuf,
    /// Issuer cards to trust (a card file or a directory of them) [default: the keys made
    /// on this machine].
    #[arg(long, value_name = "ISSUERS")]
    pub trust: Option<PathBuf>,
    #[command(flatten)]
    pub lang: LangFlags,
    #[command(flatten)]
    pub keyring: KeyringFlag,
    #[command(flatten)]
    pub data_dir: DataDirFlag,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    match args.action {
        Action::Keygen(a) => keygen(a),
        Action::Cards(a) => cards(a),
        Action::Issue(a) => issue_cmd(a),
        Action::Revoke(a) => revoke_cmd(a),
        Action::Render(a) => render(a),
    }
}

fn print_card(what: &str, card: &IssuerCard, path: Option<&Path>) {
    println!("{what}: {} key {}", card.issuer, card.fingerprint);
    match card.valid_until {
        Some(u) => println!("  valid from {} until {u}", card.valid_from),
        None => println!("  valid from {}", card.valid_from),
    }
    println!("  allowed_signers: {}", card.allowed_signers);
    if let Some(p) = path {
        println!("  card: {}", p.display());
    }
}

fn card_path(ring: &Keyring, card: &IssuerCard) -> Option<PathBuf> {
    let dir = ring.issuer_dir(&card.issuer).ok()?;
    std::fs::read_dir(&dir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_str().is_some_and(|s| s.ends_with(".card.json")))
        .find(|p| {
            IssuerCard::load(p)
                .ok()
                .and_then(|c| c.into_iter().next())
                .is_some_and(|c| c.public_key_multibase == card.public_key_multibase)
        })
}

fn keygen(a: KeygenArgs) -> anyhow::Result<ExitCode> {
    let ring = a.keyring.open(&a.data_dir)?;
    let now = Timestamp::now();
    if a.rotate {
        let old = a
            .passphrase
            .get(&format!("Passphrase of the current key of {}: ", a.issuer))?;
        let new = match &a.new_passphrase_file {
            Some(f) => PassphraseFlag {
                passphrase_file: Some(f.clone()),
            }
            .get("")?,
            None if a.passphrase.passphrase_file.is_some() => old.clone(),
            None => a
                .passphrase
                .get_new(&format!("the new key of {}", a.issuer))?,
        };
        let r = ring.rotate(&a.issuer, &old, &new, now)?;
        print_card(
            "retired",
            &r.retired,
            card_path(&ring, &r.retired).as_deref(),
        );
        print_card(
            "current",
            &r.current,
            card_path(&ring, &r.current).as_deref(),
        );
        println!(
            "Hand both cards to employers (`ringcoach cert cards --out DIR`): certificates signed before {now} keep verifying."
        );
    } else {
        let pass = a.passphrase.get_new(&format!("the key of {}", a.issuer))?;
        let card = ring.keygen(&a.issuer, &pass, now)?;
        print_card("made", &card, card_path(&ring, &card).as_deref());
        println!(
            "Keep the passphrase safe: without it no certificate can be signed. Hand the card to employers (`ringcoach cert cards --out DIR`)."
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn cards(a: CardsArgs) -> anyhow::Result<ExitCode> {
    let ring = a.keyring.open(&a.data_dir)?;
    let issuers = match &a.issuer {
        Some(i) => vec![i.clone()],
        None => ring.issuers()?,
    };
    if issuers.is_empty() {
        bail!(
            "no issuer keys in {}: make one with `ringcoach cert keygen --issuer NAME`",
            ring.root().display()
        );
    }
    std::fs::create_dir_all(&a.out)
        .with_context(|| format!("cannot create {}", a.out.display()))?;
    for issuer in issuers {
        for card in ring.cards(&issuer)? {
            let Some(src) = card_path(&ring, &card) else {
                continue;
            };
            let name = format!(
                "{}-{}",
                crate::cert::sshsig::principal(&issuer),
                src.file_name().unwrap().to_string_lossy()
            );
            let dst = a.out.join(name);
            let bytes = std::fs::read(&src)?;
            if std::fs::read(&dst).ok().as_deref() != Some(&bytes[..]) {
                crate::cert::keyring::write_atomic(&dst, &bytes)?;
            }
            println!("{}", dst.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `--issuer`, else the only issuer of the keyring.
fn pick_issuer(ring: &Keyring, given: Option<&str>) -> anyhow::Result<String> {
    if let Some(i) = given {
        return Ok(i.to_string());
    }
    let all = ring.issuers()?;
    match all.len() {
        1 => Ok(all[0].clone()),
        0 => bail!(
            "no issuer keys in {}: make one with `ringcoach cert keygen --issuer NAME`",
            ring.root().display()
        ),
        _ => bail!(
            "several issuers in {} ({}): pass --issuer NAME",
            ring.root().display(),
            all.join(", ")
        ),
    }
}

fn issue_cmd(a: IssueArgs) -> anyhow::Result<ExitCode> {
    let store = a.data_dir.open_existing()?;
    let sittings = Sittings::of(&store);
    let rec = sittings.load(&a.sitting)?;
    // Refusals come before the passphrase: nothing to unlock for a sitting that cannot be
    // certified.
    let seal = check(&sittings, &rec.id)?;
    let previous = sittings.issued(&rec.id)?;
    let supersedes = match (previous.last(), a.replace) {
        (Some(p), false) => bail!(
            "sitting {} already has certificate {} (issued {} by {}); to issue a replacement pass --replace: the old one is then revoked and the new one names it",
            rec.id, p.id, p.issued, p.issuer
        ),
        (Some(p), true) => Some(p.id.clone()),
        (None, true) => bail!("sitting {} has no certificate to replace; leave out --replace", rec.id),
        (None, false) => None,
    };
    let ring = a.keyring.open(&a.data_dir)?;
    let issuer = pick_issuer(&ring, a.issuer.as_deref())?;
    let card = ring.current_card(&issuer)?;
    let draft = record(
        &store,
        &sittings,
        &rec,
        &seal,
        IssuerRef::from_card(&card),
        supersedes.clone(),
    )?;
    let pass = a
        .passphrase
        .get(&format!("Passphrase of the key of {issuer}: "))?;
    let signer = ring.signer(&issuer, &pass)?;
    let now = Timestamp::now();
    let issued = issue(&signer, draft, now)?;
    let out = a
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from(file_name(&issued.id)));
    write_new(&out, &issued.bytes)?;
    let sig = PathBuf::from(format!("{}{SIG_SUFFIX}", out.display()));
    write_new(&sig, issued.ssh_signature.as_bytes())?;
    // The desk keeps a copy beside the sitting.
    let kept = sittings.dir(&rec.id).join(file_name(&issued.id));
    write_new(&kept, &issued.bytes)?;
    write_new(
        &PathBuf::from(format!("{}{SIG_SUFFIX}", kept.display())),
        issued.ssh_signature.as_bytes(),
    )?;
    sittings.note_issued(
        &rec.id,
        IssuedEntry {
            id: issued.id.clone(),
            issued: now,
            issuer: issuer.clone(),
            digest: issued.digest.clone(),
            path: out.display().to_string(),
        },
    )?;
    if let Some(old) = &supersedes {
        let list = revoke(
            &ring,
            &issuer,
            &pass,
            RevocationEntry {
                id: old.clone(),
                date: now,
                reason: format!("replaced by {}", issued.id),
                replaced_by: Some(issued.id.clone()),
            },
            now,
        )?;
        println!(
            "revoked {old} (revocation list #{} at {})",
            list.sequence,
            ring.revocations_path(&issuer)?.display()
        );
    }
    if let Some(dir) = &a.evidence_out {
        let cred = crate::cert::Credential::from_value(
            &crate::cert::jcs::parse_strict(&issued.bytes).map_err(anyhow::Error::msg)?,
        )
        .map_err(anyhow::Error::msg)?;
        let files = export_evidence(&cred.record, dir, |call, turn| {
            sittings.turn_path(&rec.id, call, turn)
        })?;
        println!("evidence: {} files in {}", files.len(), dir.display());
    }
    let v = verify(&VerifyInput {
        certificate: &issued.bytes,
        trusted: &ring.all_cards()?,
        evidence_dir: a.evidence_out.as_deref(),
        model_file: None,
        revocations: None,
    });
    if v.class != Class::Verified {
        bail!(
            "the certificate just written does not verify ({}); this is a bug in ringcoach, please report it",
            v.headline()
        );
    }
    println!("{}", out.display());
    println!("{}", sig.display());
    println!("{}", v.headline());
    println!("digest sha256:{}", v.digest);
    Ok(ExitCode::SUCCESS)
}

fn normalise_id(id: &str) -> String {
    if id.starts_with("urn:") {
        id.to_string()
    } else {
        format!("urn:uuid:{id}")
    }
}

fn revoke_cmd(a: RevokeArgs) -> anyhow::Result<ExitCode> {
    let ring = a.keyring.open(&a.data_dir)?;
    let issuer = pick_issuer(&ring, a.issuer.as_deref())?;
    let pass = a
        .passphrase
        .get(&format!("Passphrase of the key of {issuer}: "))?;
    let now = Timestamp::now();
    let list = revoke(
        &ring,
        &issuer,
        &pass,
        RevocationEntry {
            id: normalise_id(&a.id),
            date: now,
            reason: a.reason.clone(),
            replaced_by: a.replaced_by.as_deref().map(normalise_id),
        },
        now,
    )?;
    println!(
        "revoked {} — revocation list #{} of {}: {}",
        normalise_id(&a.id),
        list.sequence,
        issuer,
        ring.revocations_path(&issuer)?.display()
    );
    println!("Publish this file: `ringcoach verify --status FILE` checks certificates against it.");
    Ok(ExitCode::SUCCESS)
}

/// The trust store: `--trust` (a card or a directory of cards), else every key made on
/// this machine.
pub fn trusted(
    trust: Option<&Path>,
    keyring: &KeyringFlag,
    data: &DataDirFlag,
) -> anyhow::Result<Vec<IssuerCard>> {
    match trust {
        Some(p) => Ok(IssuerCard::load(p)?),
        None => Ok(keyring.open(data)?.all_cards()?),
    }
}

fn render(a: RenderArgs) -> anyhow::Result<ExitCode> {
    let lang = a.lang.lang()?;
    let bytes = std::fs::read(&a.file)
        .with_context(|| format!("cannot read certificate {}", a.file.display()))?;
    let trusted = trusted(a.trust.as_deref(), &a.keyring, &a.data_dir)?;
    let v = verify(&VerifyInput {
        certificate: &bytes,
        trusted: &trusted,
        evidence_dir: None,
        model_file: None,
        revocations: None,
    });
    let cred = match (&v.class, &v.credential) {
        (Class::Untrusted, _) | (_, None) => {
            eprintln!(
                "ringcoach: {} is not rendered: {}",
                a.file.display(),
                v.headline()
            );
            return Ok(ExitCode::from(1));
        }
        (_, Some(c)) => c,
    };
    let html = render_html(cred, &v.digest, lang);
    crate::cert::keyring::write_atomic(&a.html, html.as_bytes())?;
    println!("{}", a.html.display());
    Ok(ExitCode::SUCCESS)
}
