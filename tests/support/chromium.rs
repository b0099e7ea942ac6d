//! A real browser for the HTML report tests: Debian's headless Chromium, started with a
//! fresh empty profile, no network services, no GPU and no sandbox (tests run as root in CI).
//! `--dump-dom` returns the page after its scripts ran; `--screenshot` draws it.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The Chromium binary, or a panic saying how to get it.
pub fn binary() -> PathBuf {
    for name in ["chromium", "chromium-browser"] {
        for dir in ["/usr/bin", "/usr/local/bin", "/snap/bin"] {
            let p = Path::new(dir).join(name);
            if p.is_file() {
                return p;
            }
        }
    }
    panic!("Chromium is not installed: run scripts/test (scripts/ensure-system test installs it)")
}

/// Runs Chromium headless on `page` with `args`, in a private profile under `scratch`;
/// returns stdout. Gives up after a minute.
pub fn run(scratch: &Path, page: &Path, width: u32, height: u32, args: &[&str]) -> String {
    let profile = tempfile::tempdir_in(scratch).unwrap();
    let mut child = Command::new(binary())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("--window-size={width},{height}"))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromium");
    let start = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if start.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("chromium did not finish with {} in 60 s", page.display());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// What a script measured in the page: `script` runs after the page has loaded (it is
/// added to a copy of the page, never to the page itself) and writes its answer with
/// `report(text)`. The page is laid out `width` pixels wide.
pub fn measure(scratch: &Path, page: &Path, width: u32, script: &str) -> String {
    let html = std::fs::read_to_string(page).unwrap();
    let probe = scratch.join(format!(
        "probe-{width}-{}",
        page.file_name().unwrap().to_string_lossy()
    ));
    let body = format!(
        "<script>(function(){{function report(t){{var p=document.createElement('pre');p.id='probe-answer';p.textContent=t;document.body.appendChild(p);}}\n{script}\n}})();</script></body>"
    );
    std::fs::write(&probe, html.replacen("</body>", &body, 1)).unwrap();
    let dom = run(scratch, &probe, width, 2000, &["--dump-dom"]);
    let start = dom
        .find("<pre id=\"probe-answer\">")
        .unwrap_or_else(|| panic!("the probe did not answer; page:\n{dom}"))
        + "<pre id=\"probe-answer\">".len();
    let end = dom[start..].find("</pre>").unwrap() + start;
    dom[start..end]
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&amp;", "&")
}

/// A screenshot of `page`, `width` pixels wide (the page's first `height` pixels).
pub fn screenshot(scratch: &Path, page: &Path, png: &Path, width: u32, height: u32) {
    let _ = std::fs::remove_file(png);
    run(
        scratch,
        page,
        width,
        height,
        &[&format!("--screenshot={}", png.display())],
    );
    assert!(png.is_file(), "no screenshot of {}", page.display());
}
