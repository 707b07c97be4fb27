//! A corporate network on loopback: a private CA and a server certificate for the test world
//! (made with the `openssl` CLI at test time), and the two kinds of proxy companies run —
//! mitmproxy, which intercepts TLS and re-signs with its own CA (like Zscaler or Netskope), and
//! tinyproxy, a plain CONNECT proxy. Installed by `scripts/setup.d/26-corporate-net.sh`; each
//! runs with a private config and directory, and is killed on drop. Nothing is added to the
//! machine's trust store: the tests hand the CAs to Lanyard through its environment.

use std::net::{IpAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// A name for the test world that a proxy can resolve to this machine, and the loopback address
/// it resolves to. Lanyard sends requests for loopback hosts (`127.0.0.1`, `localhost`)
/// directly, never through a proxy, so the world behind a proxy needs a name of its own: the
/// machine's host name, which `/etc/hosts` maps to a loopback address on Debian-like systems.
pub fn world_host() -> Result<(String, IpAddr)> {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .context("read the host name")?
        .trim()
        .to_owned();
    let addr = (name.as_str(), 0)
        .to_socket_addrs()
        .with_context(|| format!("resolve the host name {name}"))?
        .map(|a| a.ip())
        .find(|ip| ip.is_ipv4() && ip.is_loopback());
    match addr {
        Some(ip) if !name.eq_ignore_ascii_case("localhost") => Ok((name, ip)),
        _ => bail!(
            "the corporate-network tests need this machine's host name ({name}) to resolve to a \
             127.x address (as /etc/hosts does on Debian): the proxies must reach the world by a \
             name that is not a loopback literal"
        ),
    }
}

/// A private CA and one server certificate it signed, in a temporary directory.
pub struct Pki {
    _dir: tempfile::TempDir,
    /// The CA certificate (PEM): what a machine must trust to accept the server certificate.
    pub ca: PathBuf,
    /// The server certificate (PEM) for [`Pki::host`], and its key.
    pub cert: PathBuf,
    pub key: PathBuf,
    pub host: String,
}

impl Pki {
    /// A CA named `ca_name` and a certificate for `host` signed by it (EC P-256, 2 days).
    pub fn new(ca_name: &str, host: &str) -> Result<Self> {
        let dir = tempfile::Builder::new().prefix("lanyard-pki-").tempdir()?;
        let p = |f: &str| dir.path().join(f);
        openssl(&[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-days",
            "2",
            "-keyout",
            path_str(&p("ca.key"))?,
            "-out",
            path_str(&p("ca.pem"))?,
            "-subj",
            &format!("/CN={ca_name}/O=Lanyard e2e"),
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ])?;
        openssl(&[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            path_str(&p("server.key"))?,
            "-out",
            path_str(&p("server.csr"))?,
            "-subj",
            &format!("/CN={host}"),
        ])?;
        std::fs::write(
            p("server.ext"),
            format!(
                "subjectAltName=DNS:{host}\nbasicConstraints=CA:FALSE\n\
                 extendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\n"
            ),
        )?;
        openssl(&[
            "x509",
            "-req",
            "-days",
            "2",
            "-in",
            path_str(&p("server.csr"))?,
            "-CA",
            path_str(&p("ca.pem"))?,
            "-CAkey",
            path_str(&p("ca.key"))?,
            "-CAcreateserial",
            "-extfile",
            path_str(&p("server.ext"))?,
            "-out",
            path_str(&p("server.pem"))?,
        ])?;
        Ok(Pki {
            ca: p("ca.pem"),
            cert: p("server.pem"),
            key: p("server.key"),
            host: host.to_owned(),
            _dir: dir,
        })
    }
}

fn path_str(p: &Path) -> Result<&str> {
    p.to_str().context("a non-UTF-8 temporary path")
}

fn openssl(args: &[&str]) -> Result<()> {
    let out = Command::new("openssl")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .context("run openssl (scripts/setup.d/26-corporate-net.sh installs it)")?;
    if !out.status.success() {
        bail!(
            "openssl {} failed: {}",
            args.first().unwrap_or(&""),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

/// A free port on 127.0.0.1 (free when asked; the proxy binds it right after).
fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Waits until something accepts connections on `127.0.0.1:port`.
fn wait_for_port(child: &mut Child, port: u16, what: &str) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(());
        }
        if let Some(status) = child.try_wait()? {
            bail!("{what} exited before listening ({status}); its output is above");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    bail!("{what} did not listen on 127.0.0.1:{port} within 30 s")
}

/// A proxy process on loopback.
pub struct Proxy {
    child: Child,
    dir: tempfile::TempDir,
    /// `http://127.0.0.1:PORT`, for `HTTPS_PROXY` and friends.
    pub url: String,
    /// For an intercepting proxy, the CA it re-signs every site with.
    pub ca: Option<PathBuf>,
}

impl Proxy {
    /// tinyproxy as a plain CONNECT proxy (any port), logging every connection it makes.
    pub fn tinyproxy() -> Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix("lanyard-tinyproxy-")
            .tempdir()?;
        let port = free_port()?;
        let log = dir.path().join("proxy.log");
        let conf = dir.path().join("tinyproxy.conf");
        std::fs::write(
            &conf,
            format!(
                "Port {port}\nListen 127.0.0.1\nTimeout 60\nAllow 127.0.0.1\nMaxClients 50\n\
                 LogLevel Connect\nLogFile \"{}\"\n",
                log.display()
            ),
        )?;
        let mut child = Command::new("tinyproxy")
            .arg("-d")
            .arg("-c")
            .arg(&conf)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .context("start tinyproxy (scripts/setup.d/26-corporate-net.sh installs it)")?;
        wait_for_port(&mut child, port, "tinyproxy")?;
        Ok(Proxy {
            child,
            dir,
            url: format!("http://127.0.0.1:{port}"),
            ca: None,
        })
    }

    /// mitmproxy (`mitmdump`) intercepting TLS: it presents certificates signed by its own CA
    /// (made in a private confdir, [`Proxy::ca`]) and checks the sites it reaches against
    /// `upstream_ca` only, as a company proxy checks the internet.
    pub fn mitmproxy(upstream_ca: &Path) -> Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix("lanyard-mitmproxy-")
            .tempdir()?;
        let port = free_port()?;
        let log = std::fs::File::create(dir.path().join("proxy.log"))?;
        let mut child = Command::new("mitmdump")
            .args(["--listen-host", "127.0.0.1", "--listen-port"])
            .arg(port.to_string())
            .arg("--set")
            .arg(format!("confdir={}", dir.path().display()))
            .arg("--set")
            .arg(format!(
                "ssl_verify_upstream_trusted_ca={}",
                upstream_ca.display()
            ))
            .env("HOME", dir.path())
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(Stdio::inherit())
            .spawn()
            .context("start mitmdump (scripts/setup.d/26-corporate-net.sh installs mitmproxy)")?;
        wait_for_port(&mut child, port, "mitmdump")?;
        let ca = dir.path().join("mitmproxy-ca-cert.pem");
        if !ca.exists() {
            bail!("mitmdump did not write its CA to {}", ca.display());
        }
        Ok(Proxy {
            child,
            dir,
            url: format!("http://127.0.0.1:{port}"),
            ca: Some(ca),
        })
    }

    /// What the proxy logged so far (tinyproxy: its connections; mitmdump: one line a request).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("proxy.log")).unwrap_or_default()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
