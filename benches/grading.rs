//! Grading throughput: transcripts graded per second on one core (this is single-threaded).
//! Run: `cargo bench --bench grading` (release profile). Prints one line per workload.

use std::hint::black_box;
use std::time::{Duration, Instant};

use ringcoach::grading::{grade, GradeInput, OrgSource, Pickup, Turn};
use ringcoach::scenario::{phrases, Catalog};

/// A scenario id and the trainee turns to grade against it.
type Work = Vec<(String, Vec<String>)>;

fn main() {
    let c = Catalog::builtin().expect("built-in catalog");
    // Every model answer of every scenario, plus rude and misheard variants of the opening.
    let mut work: Work = Vec::new();
    for sc in &c.scenarios {
        for a in sc.model_answers.get_ref() {
            work.push((
                sc.id().to_string(),
                phrases(&a.turns)
                    .map(|t| t.replace("{org}", &c.org.name))
                    .collect(),
            ));
        }
    }
    for t in [
        "喂,你好,光力物业,不知道",
        "廣利物業,您好,請問我能幫你什麼嗎",
        "",
        "嗯,那个那个,您好,广利物页",
    ] {
        work.push(("answer-call".into(), vec![t.to_string()]));
    }
    let long = "您好,广利物业,请问有什么可以帮您?".repeat(60); // ~1,000 characters
    let runs: [(&str, Work); 2] = [
        ("typical replies (model answers and bad variants)", work),
        (
            "one 1,000-character reply",
            vec![("answer-call".into(), vec![long])],
        ),
    ];
    for (name, items) in runs {
        let once = |items: &[(String, Vec<String>)]| {
            for (id, turns) in items {
                let input = GradeInput {
                    turns: turns.iter().map(|t| Turn::text(t)).collect(),
                    pickup: Pickup::Rings(2),
                    org: &c.org.name,
                    org_source: OrgSource::Given,
                };
                black_box(grade(c.get(id).unwrap(), &c.phrasebook, &input));
            }
        };
        once(&items); // warm-up
        let start = Instant::now();
        let mut n = 0usize;
        while start.elapsed() < Duration::from_secs(3) {
            once(&items);
            n += items.len();
        }
        let secs = start.elapsed().as_secs_f64();
        println!(
            "grading, {name}: {:.0} transcripts/s on one core ({n} in {secs:.2} s)",
            n as f64 / secs
        );
    }
}
