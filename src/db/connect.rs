//! How a desk or a trainer reaches the database.
//!
//! - The URL (`RINGCOACH_DATABASE_URL`, else `[database] url`) names the server, database
//!   and user. A URL carrying a password is refused: the password lives in a file
//!   (`RINGCOACH_DATABASE_PASSWORD_FILE`, else `[database] password_file`) that only its
//!   owner can read — refused, like libpq's `.pgpass`, when group or others have any access.
//! - Over TCP, TLS is required and the server's certificate is checked (chain and host name)
//!   against the site's CA (`ca_file`; without one, the system's CA bundle). `sslmode=disable`
//!   is honoured only when every host is a loopback address, with a warning in the log. A
//!   unix-socket URL (`postgresql:///ringcoach?host=/run/postgresql`) needs no TLS.
//! - Connect timeout, TCP keepalives and a TCP user timeout, so a server that vanishes is
//!   noticed in seconds rather than hours.
//! - The URL is never logged and never part of an error: errors name the target as
//!   `host:port/database as user`, which [`DbSettings::target`] builds from the parsed parts.

use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use postgres::config::{Host, SslMode};
use postgres::{Client, NoTls};

use super::{error_chain, is_transient_pg, DbError};
use crate::config::DatabaseConfig;

pub const DATABASE_URL_ENV: &str = "RINGCOACH_DATABASE_URL";
pub const PASSWORD_FILE_ENV: &str = "RINGCOACH_DATABASE_PASSWORD_FILE";

/// Debian's and most distributions' bundle of public CAs: the default when a site gives no
/// `ca_file` (a server with a certificate from a public CA).
const SYSTEM_CA_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

/// Everything needed to connect. Debug output hides the URL.
#[derive(Clone)]
pub struct DbSettings {
    url: String,
    password_file: Option<PathBuf>,
    ca_file: Option<PathBuf>,
    connect_timeout: Duration,
    keepalives_idle: Duration,
}

impl fmt::Debug for DbSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DbSettings")
            .field("target", &self.target())
            .field("password_file", &self.password_file)
            .field("ca_file", &self.ca_file)
            .field("connect_timeout", &self.connect_timeout)
            .field("keepalives_idle", &self.keepalives_idle)
            .finish()
    }
}

/// How the connection is secured, decided from the URL and the rules above.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transport {
    UnixSocket,
    /// TCP with TLS, certificate checked against this CA file.
    Tls {
        ca_file: PathBuf,
    },
    /// TCP to a loopback address with `sslmode=disable`.
    PlainLoopback,
}

impl DbSettings {
    /// Settings for `url` with the defaults: no password file, the system CA bundle,
    /// 10 s connect timeout, keepalives after 30 s idle.
    pub fn new(url: impl Into<String>) -> Self {
        DbSettings {
            url: url.into(),
            password_file: None,
            ca_file: None,
            connect_timeout: Duration::from_secs(10),
            keepalives_idle: Duration::from_secs(30),
        }
    }

    pub fn password_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.password_file = Some(path.into());
        self
    }

    pub fn ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.ca_file = Some(path.into());
        self
    }

    pub fn connect_timeout(mut self, d: Duration) -> Self {
        self.connect_timeout = d;
        self
    }

    pub fn keepalives_idle(mut self, d: Duration) -> Self {
        self.keepalives_idle = d;
        self
    }

    /// The shared store's settings: the environment over the config's `[database]`. None
    /// when no URL is set anywhere (a single desk, nothing to share).
    pub fn from_env_and_config(cfg: &DatabaseConfig) -> Result<Option<DbSettings>, DbError> {
        let env = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
        let url = env(DATABASE_URL_ENV)
            .map(|u| {
                u.into_string()
                    .map_err(|_| DbError::Config(format!("{DATABASE_URL_ENV} is not valid UTF-8")))
            })
            .transpose()?;
        Self::from_parts(url, env(PASSWORD_FILE_ENV).map(PathBuf::from), cfg)
    }

    /// As [`DbSettings::from_env_and_config`], with the environment's values given.
    pub fn from_parts(
        env_url: Option<String>,
        env_password_file: Option<PathBuf>,
        cfg: &DatabaseConfig,
    ) -> Result<Option<DbSettings>, DbError> {
        let url = match env_url.filter(|u| !u.trim().is_empty()) {
            Some(u) => u,
            None => match &cfg.url {
                Some(u) if !u.trim().is_empty() => u.clone(),
                _ => return Ok(None),
            },
        };
        let mut s = DbSettings::new(url)
            .connect_timeout(Duration::from_secs(cfg.connect_timeout_s.max(1)))
            .keepalives_idle(Duration::from_secs(cfg.keepalives_idle_s.max(1)));
        s.password_file = env_password_file.or_else(|| cfg.password_file.clone());
        s.ca_file = cfg.ca_file.clone();
        // Refuse a bad URL now, not at the first upload.
        s.parse()?;
        Ok(Some(s))
    }

    /// `host:port/database as user`, for messages. Never the URL itself, never a password.
    pub fn target(&self) -> String {
        match self.parse() {
            Ok((cfg, _)) => describe(&cfg),
            Err(_) => "(unparsable URL)".into(),
        }
    }

    /// How a connection would be secured; an error when the rules above refuse the URL.
    pub fn transport(&self) -> Result<Transport, DbError> {
        self.parse().map(|(_, t)| t)
    }

    /// Parses and checks the URL: the rules in the module doc.
    fn parse(&self) -> Result<(postgres::Config, Transport), DbError> {
        // libpq's verify-ca / verify-full are what TLS here always does; the client library
        // knows them only as `require`.
        let url = self
            .url
            .replace("sslmode=verify-full", "sslmode=require")
            .replace("sslmode=verify-ca", "sslmode=require");
        let mut cfg = postgres::Config::from_str(&url).map_err(|e| {
            DbError::Config(format!(
                "the database URL is not valid ({}); it looks like postgresql://USER@HOST:PORT/DATABASE or postgresql:///DATABASE?host=/run/postgresql",
                error_chain(&e)
            ))
        })?;
        if cfg.get_password().is_some() {
            return Err(DbError::Config(format!(
                "the database URL contains a password: remove it from the URL and put it in a file only you can read (chmod 600), named by {PASSWORD_FILE_ENV} or password_file in the config's [database]"
            )));
        }
        let hosts = cfg.get_hosts();
        if hosts.is_empty() {
            return Err(DbError::Config(
                "the database URL names no host: add one (postgresql://USER@HOST/DATABASE), or a socket directory (postgresql:///DATABASE?host=/run/postgresql)".into(),
            ));
        }
        let unix = hosts.iter().all(|h| matches!(h, Host::Unix(_)));
        let tcp = hosts.iter().all(|h| matches!(h, Host::Tcp(_)));
        if !unix && !tcp {
            return Err(DbError::Config(
                "the database URL mixes socket directories and network hosts: use one kind".into(),
            ));
        }
        let transport = if unix {
            cfg.ssl_mode(SslMode::Disable);
            Transport::UnixSocket
        } else if cfg.get_ssl_mode() == SslMode::Disable {
            let all_loopback = hosts.iter().all(|h| match h {
                Host::Tcp(name) => is_loopback(name),
                _ => false,
            }) && cfg.get_hostaddrs().iter().all(|a| a.is_loopback());
            if !all_loopback {
                return Err(DbError::Config(format!(
                    "sslmode=disable is refused for {}: over the network the connection must be encrypted; remove sslmode=disable and set ca_file in the config's [database] to the site's CA",
                    describe(&cfg)
                )));
            }
            Transport::PlainLoopback
        } else {
            // prefer (the default) and require both mean: TLS, checked. A server without
            // TLS is refused rather than silently talked to in the clear.
            cfg.ssl_mode(SslMode::Require);
            let ca_file = match &self.ca_file {
                Some(p) => p.clone(),
                None if Path::new(SYSTEM_CA_BUNDLE).is_file() => PathBuf::from(SYSTEM_CA_BUNDLE),
                None => {
                    return Err(DbError::Config(
                        "a network database needs the site's CA to check the server: set ca_file in the config's [database]".into(),
                    ))
                }
            };
            Transport::Tls { ca_file }
        };
        cfg.connect_timeout(self.connect_timeout)
            .keepalives(true)
            .keepalives_idle(self.keepalives_idle)
            .keepalives_interval(Duration::from_secs(5))
            .keepalives_retries(3)
            // Unacknowledged data for this long means the server is gone (a pulled cable
            // is otherwise only noticed by the kernel after many minutes).
            .tcp_user_timeout(self.keepalives_idle + Duration::from_secs(15));
        if cfg.get_application_name().is_none() {
            cfg.application_name("ringcoach");
        }
        Ok((cfg, transport))
    }

    /// Connects. The password, if any, comes from the password file, which must be
    /// readable by its owner only.
    pub fn connect(&self) -> Result<Client, DbError> {
        let (mut cfg, transport) = self.parse()?;
        let target = describe(&cfg);
        if let Some(p) = &self.password_file {
            cfg.password(read_password_file(p)?);
        }
        let result = match &transport {
            Transport::UnixSocket => cfg.connect(NoTls),
            Transport::PlainLoopback => {
                log::warn!(
                    "database {target}: TLS is off (sslmode=disable), honoured because the server is on this machine"
                );
                cfg.connect(NoTls)
            }
            Transport::Tls { ca_file } => {
                let tls = tls_connector(ca_file)?;
                cfg.connect(tls)
            }
        };
        result.map_err(|e| connect_error(&target, e))
    }
}

fn connect_error(target: &str, e: postgres::Error) -> DbError {
    let transient = is_transient_pg(&e);
    let mut reason = match e.as_db_error() {
        Some(db) => db.message().to_string(),
        None => error_chain(&e),
    };
    let code = e.code().map(|c| c.code().to_string()).unwrap_or_default();
    let advice = if code.starts_with("28") {
        "; check the user name and the password file, or ask the schema owner to run `ringcoach db add-user`"
    } else if code == "3D000" {
        "; check the database name in the URL"
    } else if reason.contains("TLS") || reason.contains("certificate") {
        "; check ca_file (the CA that signed the server's certificate) and that the URL names the host the certificate was made for"
    } else {
        "; is the server running and reachable? Attempts wait on this desk and are uploaded when it is"
    };
    reason.push_str(advice);
    DbError::Connect {
        target: target.to_string(),
        reason,
        transient,
    }
}

/// `host:port/database as user`, from a parsed config.
fn describe(cfg: &postgres::Config) -> String {
    let port = cfg.get_ports().first().copied().unwrap_or(5432);
    let hosts: Vec<String> = cfg
        .get_hosts()
        .iter()
        .map(|h| match h {
            Host::Tcp(name) if name.contains(':') => format!("[{name}]:{port}"),
            Host::Tcp(name) => format!("{name}:{port}"),
            Host::Unix(dir) => format!("{}/.s.PGSQL.{port}", dir.display()),
        })
        .collect();
    let user = cfg
        .get_user()
        .map(str::to_string)
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| "?".into());
    let db = cfg.get_dbname().unwrap_or(&user);
    format!("{}/{db} as {user}", hosts.join(","))
}

fn is_loopback(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    h.eq_ignore_ascii_case("localhost") || h.parse::<IpAddr>().is_ok_and(|a| a.is_loopback())
}

/// The password in `path`: its first line. Refused unless only the owner has access
/// (mode 600 or stricter), like libpq's `.pgpass`.
pub fn read_password_file(path: &Path) -> Result<String, DbError> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path).map_err(|e| {
        DbError::Config(format!(
            "cannot read the database password file {}: {e}",
            path.display()
        ))
    })?;
    if !meta.is_file() {
        return Err(DbError::Config(format!(
            "the database password file {} is not a regular file",
            path.display()
        )));
    }
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(DbError::Config(format!(
            "the database password file {} can be read by others (mode {mode:03o}): run `chmod 600 {}`",
            path.display(),
            path.display()
        )));
    }
    let text = std::fs::read_to_string(path).map_err(|e| {
        DbError::Config(format!(
            "cannot read the database password file {}: {e}",
            path.display()
        ))
    })?;
    let pw = text.lines().next().unwrap_or("").trim_end_matches('\r');
    if pw.is_empty() {
        return Err(DbError::Config(format!(
            "the database password file {} is empty: put the password on its first line",
            path.display()
        )));
    }
    Ok(pw.to_string())
}

/// TLS with rustls: the CAs in `ca_file` are the only roots; chain and host name checked.
fn tls_connector(ca_file: &Path) -> Result<tokio_postgres_rustls::MakeRustlsConnect, DbError> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::CertificateDer;
    let bad = |what: String| {
        DbError::Config(format!(
            "the database CA file {}: {what}; set ca_file in the config's [database] to the PEM file of the CA that signed the server's certificate",
            ca_file.display()
        ))
    };
    let mut roots = rustls::RootCertStore::empty();
    let certs = CertificateDer::pem_file_iter(ca_file).map_err(|e| bad(e.to_string()))?;
    let mut n = 0;
    for cert in certs {
        let cert = cert.map_err(|e| bad(e.to_string()))?;
        // A bundle may hold certificates rustls cannot use; skip those, keep the rest.
        if roots.add(cert).is_ok() {
            n += 1;
        }
    }
    if n == 0 {
        return Err(bad("no usable CA certificate in it".into()));
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| DbError::Config(format!("TLS setup failed: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_password_in_the_url_is_refused_without_repeating_it() {
        for url in [
            "postgresql://wang:s3cret@db.example:5432/ringcoach",
            "host=db.example user=wang password=s3cret dbname=ringcoach",
        ] {
            let err = DbSettings::new(url).transport().unwrap_err().to_string();
            assert!(err.contains("contains a password"), "{err}");
            assert!(!err.contains("s3cret") && !err.contains(url), "{err}");
        }
    }

    #[test]
    fn tcp_needs_tls_unless_on_loopback_and_sockets_need_none() {
        let ca = tempfile::NamedTempFile::new().unwrap();
        let s = |url: &str| DbSettings::new(url).ca_file(ca.path());
        assert_eq!(
            s("postgresql:///ringcoach?host=/run/postgresql")
                .transport()
                .unwrap(),
            Transport::UnixSocket
        );
        for url in [
            "postgresql://wang@db.example/ringcoach",
            "postgresql://wang@db.example/ringcoach?sslmode=prefer",
            "postgresql://wang@10.0.0.5/ringcoach?sslmode=require",
            "postgresql://wang@db.example/ringcoach?sslmode=verify-full",
        ] {
            assert_eq!(
                s(url).transport().unwrap(),
                Transport::Tls {
                    ca_file: ca.path().to_path_buf()
                },
                "{url}"
            );
        }
        for url in [
            "postgresql://wang@127.0.0.1/ringcoach?sslmode=disable",
            "postgresql://wang@localhost:5433/ringcoach?sslmode=disable",
            "postgresql://wang@[::1]/ringcoach?sslmode=disable",
        ] {
            assert_eq!(
                s(url).transport().unwrap(),
                Transport::PlainLoopback,
                "{url}"
            );
        }
        let err = s("postgresql://wang@db.example/ringcoach?sslmode=disable")
            .transport()
            .unwrap_err()
            .to_string();
        assert!(err.contains("sslmode=disable is refused"), "{err}");
        assert!(err.contains("db.example:5432/ringcoach as wang"), "{err}");
        let err = s("postgresql://wang@127.0.0.1,db.example/ringcoach?sslmode=disable")
            .transport()
            .unwrap_err()
            .to_string();
        assert!(err.contains("refused"), "{err}");
    }

    #[test]
    fn a_bad_url_says_what_it_should_look_like_without_repeating_it() {
        let url = "postgresql://wang@db.example/ringcoach?sslmode=bogus&x=secretish";
        let err = DbSettings::new(url).transport().unwrap_err().to_string();
        assert!(err.contains("not valid"), "{err}");
        assert!(!err.contains("secretish") && !err.contains(url), "{err}");
    }

    #[test]
    fn the_environment_wins_over_the_config_and_no_url_means_no_shared_store() {
        let cfg = DatabaseConfig {
            url: Some("postgresql://wang@cfg.example/ringcoach".into()),
            password_file: Some("/cfg/pw".into()),
            ca_file: Some("/cfg/ca.pem".into()),
            connect_timeout_s: 3,
            ..DatabaseConfig::default()
        };
        let s = DbSettings::from_parts(None, None, &cfg).unwrap().unwrap();
        assert_eq!(s.target(), "cfg.example:5432/ringcoach as wang");
        assert_eq!(s.password_file.as_deref(), Some(Path::new("/cfg/pw")));
        assert_eq!(s.connect_timeout, Duration::from_secs(3));
        let s = DbSettings::from_parts(
            Some("postgresql://li@env.example/room".into()),
            Some("/env/pw".into()),
            &cfg,
        )
        .unwrap()
        .unwrap();
        assert_eq!(s.target(), "env.example:5432/room as li");
        assert_eq!(s.password_file.as_deref(), Some(Path::new("/env/pw")));
        assert_eq!(s.ca_file.as_deref(), Some(Path::new("/cfg/ca.pem")));
        assert!(
            DbSettings::from_parts(None, None, &DatabaseConfig::default())
                .unwrap()
                .is_none()
        );
        let bad = DatabaseConfig {
            url: Some("postgresql://li:pw@x.example/room".into()),
            ..DatabaseConfig::default()
        };
        assert!(DbSettings::from_parts(None, None, &bad).is_err());
    }

    #[test]
    fn debug_output_hides_the_url() {
        let s = DbSettings::new("postgresql://wang@db.example/ringcoach?application_name=zz9");
        let d = format!("{s:?}");
        assert!(!d.contains("postgresql://") && !d.contains("zz9"), "{d}");
        assert!(d.contains("db.example:5432/ringcoach as wang"), "{d}");
    }

    #[test]
    fn a_password_file_others_can_read_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("pw");
        std::fs::write(&p, "s3cret\nignored\n").unwrap();
        for mode in [0o644, 0o640, 0o604, 0o660, 0o601] {
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
            let err = read_password_file(&p).unwrap_err().to_string();
            assert!(
                err.contains("chmod 600") && !err.contains("s3cret"),
                "{err}"
            );
        }
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(read_password_file(&p).unwrap(), "s3cret");
        std::fs::write(&p, "\n").unwrap();
        assert!(read_password_file(&p)
            .unwrap_err()
            .to_string()
            .contains("empty"));
        let err = read_password_file(&dir.path().join("none"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("cannot read"), "{err}");
    }

    #[test]
    fn a_ca_file_without_certificates_is_refused() {
        let f = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(f.path(), "not a certificate\n").unwrap();
        let err = tls_connector(f.path()).err().unwrap().to_string();
        assert!(err.contains("no usable CA certificate"), "{err}");
    }
}
