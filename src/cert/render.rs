//! A certificate as one printable page (HTML, A4, in Chinese or English with the other
//! language beside the titles): who, which suite, the result, each call, the issuer, and a
//! QR code holding the certificate id and the SHA-256 of the certificate file — the digest
//! `ringcoach verify` prints — so a reader of the paper can find and check the JSON file,
//! which is the authoritative record. Pure: the caller verifies first and writes the page.

use std::fmt::Write as _;

use qrcode::render::svg;
use qrcode::{EcLevel, QrCode};

use super::credential::{Credential, ResultStatus};
use crate::config::Lang;

/// What the QR code holds: the certificate id and the digest, one per line.
pub fn qr_payload(id: &str, digest: &str) -> String {
    format!("{id}\nsha256:{digest}")
}

fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The QR code as inline SVG.
pub fn qr_svg(payload: &str) -> String {
    let code = QrCode::with_error_correction_level(payload.as_bytes(), EcLevel::M)
        .expect("a certificate id and a digest always fit a QR code");
    let svg = code
        .render()
        .min_dimensions(180, 180)
        .dark_color(svg::Color("#000000"))
        .light_color(svg::Color("#ffffff"))
        .build();
    // Inline in HTML: no XML declaration.
    match svg.find("<svg") {
        Some(i) => svg[i..].to_string(),
        None => svg,
    }
}

struct Words {
    lang: &'static str,
    heading: &'static str,
    other_heading: &'static str,
    awarded_to: &'static str,
    employee_id: &'static str,
    suite: &'static str,
    passed: &'static str,
    failed: &'static str,
    score: &'static str,
    call_score: &'static str,
    calls_passed: &'static str,
    call: &'static str,
    scenario: &'static str,
    organisation: &'static str,
    rings: &'static str,
    result: &'static str,
    yes: &'static str,
    no: &'static str,
    rules: &'static str,
    sitting: &'static str,
    issuer: &'static str,
    key: &'static str,
    issued: &'static str,
    id: &'static str,
    digest: &'static str,
    decisions: &'static str,
    supersedes: &'static str,
    authoritative: &'static str,
}

const ZH: Words = Words {
    lang: "zh-CN",
    heading: "电话礼仪认证证书",
    other_heading: "Phone-etiquette certificate",
    awarded_to: "考生",
    employee_id: "工号",
    suite: "考核",
    passed: "通过",
    failed: "未通过",
    score: "总分",
    call_score: "得分",
    calls_passed: "通过通数",
    call: "通",
    scenario: "情景",
    organisation: "单位",
    rings: "响铃",
    result: "结果",
    yes: "通过",
    no: "未通过",
    rules: "规则",
    sitting: "考试时间",
    issuer: "发证方",
    key: "签名密钥",
    issued: "发证时间",
    id: "证书编号",
    digest: "文件摘要",
    decisions: "复核改判",
    supersedes: "取代证书",
    authoritative: "本页仅为展示。权威记录是签名的 JSON 文件（{file}）:用 ringcoach verify 或 README 所述的标准工具核验;二维码含证书编号和该文件的 SHA-256 摘要。",
};

const EN: Words = Words {
    lang: "en",
    heading: "Phone-etiquette certificate",
    other_heading: "电话礼仪认证证书",
    awarded_to: "Candidate",
    employee_id: "Employee id",
    suite: "Suite",
    passed: "PASSED",
    failed: "FAILED",
    score: "Overall score",
    call_score: "Score",
    calls_passed: "Calls passed",
    call: "Call",
    scenario: "Situation",
    organisation: "Organisation",
    rings: "Rings",
    result: "Result",
    yes: "passed",
    no: "failed",
    rules: "Rules",
    sitting: "Sitting",
    issuer: "Issuer",
    key: "Signing key",
    issued: "Issued",
    id: "Certificate id",
    digest: "File digest",
    decisions: "Trainer decisions",
    supersedes: "Replaces",
    authoritative: "This page is a rendering. The authoritative record is the signed JSON file ({file}): check it with `ringcoach verify` or the standard tools the README describes; the QR code holds the certificate id and the file's SHA-256 digest.",
};

/// The file name a certificate is saved under: `<uuid>.ringcert.json`.
pub fn file_name(id: &str) -> String {
    format!(
        "{}{}",
        id.strip_prefix("urn:uuid:").unwrap_or(id),
        super::CERT_SUFFIX
    )
}

/// The page for `cred`, whose file has SHA-256 `digest`.
pub fn render_html(cred: &Credential, digest: &str, lang: Lang) -> String {
    let w = match lang {
        Lang::Zh => &ZH,
        Lang::En => &EN,
    };
    let r = &cred.record;
    let (title, other_title) = match lang {
        Lang::Zh => (&r.suite.title_zh, &r.suite.title_en),
        Lang::En => (&r.suite.title_en, &r.suite.title_zh),
    };
    let passed = r.result.status == ResultStatus::Passed;
    let status = if passed { w.passed } else { w.failed };
    let day = |t: crate::store::Timestamp| t.to_rfc3339()[..16].replace('T', " ");
    let mut calls = String::new();
    for c in &r.calls {
        let _ = write!(
            calls,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=num>{}</td><td class={}>{}</td></tr>",
            c.index,
            esc(&c.scenario),
            esc(&c.organisation),
            c.rings.map_or_else(|| "—".into(), |n| n.to_string()),
            c.score,
            if c.passed { "ok" } else { "bad" },
            if c.passed { w.yes } else { w.no }
        );
    }
    for n in r.calls.len() as u32 + 1..=r.rules.total_calls {
        let _ = write!(
            calls,
            "<tr><td>{n}</td><td colspan=3>—</td><td class=num>0</td><td class=bad>{}</td></tr>",
            w.no
        );
    }
    let decisions: usize = r.calls.iter().map(|c| c.overrules.len()).sum();
    let rules = match lang {
        Lang::Zh => format!(
            "每通 ≥ {},总分 ≥ {},{} 通中至少 {} 通通过;关键项:{}",
            r.rules.call_mark,
            r.rules.overall_mark,
            r.rules.total_calls,
            r.rules.calls_required,
            r.rules.critical.join("、")
        ),
        Lang::En => format!(
            "each call ≥ {}, overall ≥ {}, at least {} of {} calls passed; critical: {}",
            r.rules.call_mark,
            r.rules.overall_mark,
            r.rules.calls_required,
            r.rules.total_calls,
            r.rules.critical.join(", ")
        ),
    };
    let file = file_name(&cred.id);
    let authoritative = w.authoritative.replace("{file}", &esc(&file));
    let employee = r
        .candidate
        .employee_id
        .as_ref()
        .map(|e| format!("<div class=sub>{}: {}</div>", w.employee_id, esc(e)))
        .unwrap_or_default();
    let supersedes = r
        .supersedes
        .as_ref()
        .map(|s| format!("<tr><th>{}</th><td>{}</td></tr>", w.supersedes, esc(s)))
        .unwrap_or_default();
    let qr = qr_svg(&qr_payload(&cred.id, digest));
    format!(
        r#"<!DOCTYPE html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<title>{heading} — {name}</title>
<style>
@page {{ size: A4; margin: 14mm; }}
* {{ box-sizing: border-box; }}
body {{ font-family: "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "WenQuanYi Micro Hei", "PingFang SC", "Microsoft YaHei", sans-serif; color: #1a1a1a; margin: 0; }}
.page {{ width: 182mm; margin: 0 auto; padding: 8mm 0; }}
header {{ border-bottom: 3px double #7a5c1e; padding-bottom: 4mm; margin-bottom: 5mm; text-align: center; }}
h1 {{ font-size: 22pt; margin: 0; letter-spacing: 0.05em; color: #7a5c1e; }}
.other {{ font-size: 11pt; color: #666; margin-top: 1mm; }}
.who {{ display: flex; justify-content: space-between; align-items: flex-start; gap: 6mm; }}
.name {{ font-size: 20pt; font-weight: bold; margin: 1mm 0; }}
.sub {{ color: #444; font-size: 10.5pt; }}
.result {{ font-size: 16pt; font-weight: bold; margin: 3mm 0; }}
.result.ok {{ color: #1d6b2f; }} .result.bad {{ color: #a11d1d; }}
table {{ border-collapse: collapse; width: 100%; font-size: 10pt; margin: 3mm 0; }}
th, td {{ border-bottom: 1px solid #ddd; padding: 1.4mm 2mm; text-align: left; vertical-align: top; }}
td.num {{ text-align: right; }} td.ok {{ color: #1d6b2f; }} td.bad {{ color: #a11d1d; font-weight: bold; }}
table.facts th {{ width: 32mm; color: #555; font-weight: normal; }}
.mono {{ font-family: "DejaVu Sans Mono", monospace; font-size: 8.5pt; word-break: break-all; }}
.qr svg {{ width: 42mm; height: 42mm; }}
.note {{ font-size: 9pt; color: #444; border-top: 1px solid #ccc; margin-top: 4mm; padding-top: 2mm; }}
</style>
</head>
<body>
<div class="page">
<header><h1>{heading}</h1><div class="other">{other_heading}</div></header>
<div class="who">
 <div>
  <div class="sub">{awarded_to}</div>
  <div class="name">{name}</div>
  {employee}
  <div class="sub">{suite_word}: {title} <span class="other">({other_title})</span> · {suite_id} v{suite_version}</div>
  <div class="result {status_class}">{status} · {score_word} {score}/100 · {calls_passed_word} {calls_passed}/{total}</div>
 </div>
 <div class="qr">{qr}</div>
</div>
<table>
<tr><th>{call_word}</th><th>{scenario_word}</th><th>{org_word}</th><th>{rings_word}</th><th>{call_score_word}</th><th>{result_word}</th></tr>
{calls}
</table>
<table class="facts">
<tr><th>{rules_word}</th><td>{rules}</td></tr>
<tr><th>{sitting_word}</th><td>{started} – {ended}</td></tr>
<tr><th>{decisions_word}</th><td>{decisions}</td></tr>
<tr><th>{issuer_word}</th><td>{issuer}</td></tr>
<tr><th>{key_word}</th><td class="mono">{fingerprint}</td></tr>
<tr><th>{issued_word}</th><td>{issued}</td></tr>
{supersedes}
<tr><th>{id_word}</th><td class="mono">{id}</td></tr>
<tr><th>{digest_word}</th><td class="mono">sha256:{digest}</td></tr>
</table>
<p class="note">{authoritative}</p>
</div>
</body>
</html>
"#,
        lang = w.lang,
        heading = w.heading,
        other_heading = w.other_heading,
        awarded_to = w.awarded_to,
        name = esc(&r.candidate.name),
        employee = employee,
        suite_word = w.suite,
        title = esc(title),
        other_title = esc(other_title),
        suite_id = esc(&r.suite.id),
        suite_version = esc(&r.suite.version),
        status_class = if passed { "ok" } else { "bad" },
        status = status,
        score_word = w.score,
        call_score_word = w.call_score,
        score = r.result.score,
        calls_passed_word = w.calls_passed,
        calls_passed = r.result.calls_passed,
        total = r.rules.total_calls,
        qr = qr,
        call_word = w.call,
        scenario_word = w.scenario,
        org_word = w.organisation,
        rings_word = w.rings,
        result_word = w.result,
        calls = calls,
        rules_word = w.rules,
        rules = esc(&rules),
        sitting_word = w.sitting,
        started = day(r.sitting.started),
        ended = day(r.sitting.ended),
        decisions_word = w.decisions,
        decisions = decisions,
        issuer_word = w.issuer,
        issuer = esc(&r.issuer.name),
        key_word = w.key,
        fingerprint = esc(&r.issuer.fingerprint),
        issued_word = w.issued,
        issued = day(cred.valid_from),
        supersedes = supersedes,
        id_word = w.id,
        id = esc(&cred.id),
        digest_word = w.digest,
        digest = esc(digest),
        authoritative = authoritative,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_and_the_qr_payload() {
        assert_eq!(
            esc("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
        assert_eq!(qr_payload("urn:uuid:1", "ab"), "urn:uuid:1\nsha256:ab");
        let svg = qr_svg(&qr_payload(
            "urn:uuid:0f8fad5b-d9cb-469f-a165-70867728950e",
            &"a".repeat(64),
        ));
        assert!(svg.starts_with("<svg"), "{svg}");
        assert_eq!(
            file_name("urn:uuid:0f8fad5b-d9cb-469f-a165-70867728950e"),
            "0f8fad5b-d9cb-469f-a165-70867728950e.ringcert.json"
        );
    }
}
