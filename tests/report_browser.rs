//! The HTML report as a manager sees it: opened in a real browser (Debian's headless
//! Chromium), in Chinese and in English, on a desk-sized window and a phone-sized one. A
//! script added to a copy of the page (the page itself has none) measures every element
//! and every SVG label: nothing may overflow its box or the drawing it is in. The page's
//! text is read back from the browser, and one screenshot per language is taken (kept under
//! the target directory's test scratch space, `report-zh.png` and `report-en.png`).

#[path = "review_fixture/mod.rs"]
mod fixture;
mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use fixture::{make, BIN};
use ringcoach::store::Store;
use support::chromium;

/// A store with li.na's three attempts (one overruled, one reviewed) and a two-turn call
/// with pickup time and audio facts.
fn store(dir: &Path) -> PathBuf {
    let data = dir.join("data");
    let ids = make(&data);
    let store = Store::open(&data).unwrap();
    store
        .overrule(
            &ids[0],
            "wang",
            "organisation",
            "uncertain",
            "pass",
            "录音里是广利物业,只是识别成了光力",
        )
        .unwrap();
    store.mark_reviewed(&ids[3], "wang", "").unwrap();
    fixture::call_attempt(
        &store,
        "li.na",
        "end-call",
        &["请问您还有其他咨询事项吗?", "不客气,感谢您的来电,在见!"],
        "2026-11-25T09:00:00Z",
    );
    data
}

fn report(data: &Path, lang: &str, html: &Path) {
    let o = Command::new(BIN)
        .env("TZ", "CST-8")
        .args(["report", "--trainee", "li.na", "--lang", lang, "--data-dir"])
        .arg(data)
        .arg("--html")
        .arg(html)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// Every element whose content is wider than its box, every SVG label outside its drawing,
/// and a page wider than the window: one line each.
const OVERFLOWS: &str = r#"
var bad = [];
function name(e) { return e.tagName + ' «' + (e.textContent || '').trim().slice(0, 40) + '»'; }
document.querySelectorAll('body *').forEach(function (e) {
  if (e.closest('svg') || e.id === 'probe-answer') return;
  if (getComputedStyle(e).display === 'inline') return;
  if (e.scrollWidth > e.clientWidth + 1) bad.push('overflows its box: ' + name(e) + ' ' + e.scrollWidth + ' > ' + e.clientWidth);
});
if (document.documentElement.scrollWidth > window.innerWidth + 1)
  bad.push('the page is wider than the window: ' + document.documentElement.scrollWidth + ' > ' + window.innerWidth);
document.querySelectorAll('svg').forEach(function (svg) {
  var box = svg.getBoundingClientRect();
  svg.querySelectorAll('text').forEach(function (t) {
    var r = t.getBoundingClientRect();
    if (r.left < box.left - 0.5 || r.right > box.right + 0.5 || r.top < box.top - 0.5 || r.bottom > box.bottom + 0.5)
      bad.push('label outside its drawing: ' + t.textContent);
  });
});
report(bad.join('\n'));
"#;

#[test]
fn the_report_reads_in_a_real_browser_in_both_languages_and_no_label_overflows() {
    let dir = tempfile::tempdir().unwrap();
    let data = store(dir.path());
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR"));
    for lang in ["zh", "en"] {
        let page = dir.path().join(format!("report-{lang}.html"));
        report(&data, lang, &page);
        for width in [1000, 420] {
            let bad = chromium::measure(dir.path(), &page, width, OVERFLOWS);
            assert!(bad.trim().is_empty(), "{lang} at {width} px:\n{bad}");
        }
        let text = chromium::measure(dir.path(), &page, 1000, "report(document.body.innerText);");
        let want: &[&str] = if lang == "zh" {
            &[
                // Local time with its zone.
                "时间为 UTC+08:00",
                "2026-11-25 17:00",
                // Check names in Chinese, with the grader's reason.
                "问好",
                "报单位",
                "原因",
                "「喂」「你好」不是规范问候语,应说「您好」",
                // The overrule and who made it.
                "wang 推翻判定",
                // Rings and seconds to pickup, first words, speech rate.
                "第 2 声接起,5.3 秒",
                "开口",
                "每分钟",
                // Who reviewed it, and which are not reviewed.
                "wang 于",
                "未复核",
                // The call turn by turn, and a model answer with the organisation.
                "第 2 轮:",
                "示范回答:",
                "您好!广利物业。请问我能帮您什么吗?",
                "接听来电",
            ]
        } else {
            &[
                "times in UTC+08:00",
                "greeting",
                "organisation named",
                "Why",
                "on ring 2, after 5.3 s",
                "reviewed by wang",
                "not reviewed",
                "Model answer:",
                "Answering a call",
            ]
        };
        for w in want {
            assert!(text.contains(w), "{lang}: {w:?} not on the page:\n{text}");
        }
        if lang == "zh" {
            for id in ["banned_phrase:wei", "organisation", "offer_help"] {
                assert!(!text.contains(id), "zh page shows the id {id}:\n{text}");
            }
        }
        let png = shots.join(format!("report-{lang}.png"));
        chromium::screenshot(dir.path(), &page, &png, 1000, 2400);
        let size = std::fs::metadata(&png).unwrap().len();
        assert!(size > 30_000, "{} is only {size} bytes", png.display());
    }
}

#[test]
fn the_page_names_a_cjk_font_stack_and_its_language() {
    let dir = tempfile::tempdir().unwrap();
    let data = store(dir.path());
    let page = dir.path().join("r.html");
    report(&data, "zh", &page);
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.contains("<html lang=\"zh-Hans\">"));
    for font in [
        "Noto Sans CJK SC",
        "WenQuanYi Micro Hei",
        "Microsoft YaHei",
        "PingFang SC",
    ] {
        assert!(html.contains(font), "{font} not in the font stack");
    }
    // The browser finds a face for the Chinese text: 汉字 in the page's font is as wide as
    // two full-width characters, never the width of missing-glyph boxes of another font.
    let probe = r#"
var c = document.createElement('canvas').getContext('2d');
c.font = '20px ' + getComputedStyle(document.body).fontFamily;
report(String(c.measureText('汉字').width) + ' ' + String(document.fonts.check('20px "WenQuanYi Micro Hei"') || document.fonts.check('20px "Noto Sans CJK SC"')));
"#;
    let answer = chromium::measure(dir.path(), &page, 1000, probe);
    let mut parts = answer.split_whitespace();
    let w: f64 = parts.next().unwrap().parse().unwrap();
    assert!((38.0..=42.0).contains(&w), "汉字 is {w} px wide at 20 px");
    assert_eq!(parts.next(), Some("true"), "no CJK face from the stack");
}
