//! .plot and .draw: each kind to PNG and SVG (valid, sized, as many marks as the data), as text,
//! and the refusals that write no file.

use crate::common::*;
use std::path::Path;

/// Runs a script of dot commands and statements on a fresh benchmark; returns the output.
fn script(dir: &Path, text: &str) -> std::process::Output {
    let file = dir.join("s.sql");
    std::fs::write(&file, text).unwrap();
    run(&["--bench", dir.join("b").to_str().unwrap(), file.to_str().unwrap()])
}

/// Width and height from a PNG's header, after checking its signature.
fn png_size(path: &Path) -> (u32, u32) {
    let b = std::fs::read(path).unwrap();
    assert_eq!(&b[..8], b"\x89PNG\r\n\x1a\n", "{} is not a PNG", path.display());
    assert_eq!(&b[12..16], b"IHDR");
    let be = |i: usize| u32::from_be_bytes(b[i..i + 4].try_into().unwrap());
    (be(16), be(20))
}

fn count(svg: &str, tag: &str) -> usize {
    svg.matches(&format!("<{tag} ")).count() + svg.matches(&format!("<{tag}/")).count()
}

const POINTS: &str = "SELECT i / 40.0 AS x, (i % 7) / 10.0 AS y, CASE WHEN i % 2 = 0 THEN 'even' ELSE 'odd' END AS g FROM range(0, 37) t(i);";

#[test]
fn every_kind_draws_png_and_svg_with_its_marks() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let cases: [(&str, &str, &str, usize); 6] = [
        ("scatter", "x=x y=y", POINTS, 37),
        ("box", "x=g y=y", POINTS, 2),
        (
            "heatmap",
            "x=a y=b value=v percent=off",
            "SELECT a, b, a * 10 + b AS v FROM range(0, 3) s(a), range(0, 4) t(b);",
            12,
        ),
        (
            "line",
            "x=e y=v",
            "SELECT e, (e + k) / 20.0 AS v FROM range(0, 5) s(e), range(0, 3) t(k);",
            1,
        ),
        ("bar", "x=name y=v", "SELECT 'b' || i AS name, i / 10.0 AS v FROM range(1, 5) t(i);", 4),
        ("cells", "x=arch", "SELECT * FROM (VALUES (2581), (1000)) t(arch);", 2),
    ];
    for (kind, opts, sql, marks) in cases {
        for ext in ["png", "svg"] {
            let out = d.join(format!("{kind}.{ext}"));
            let o = script(
                d,
                &format!(".plot {kind} {opts} title=\"A {kind}\" out={}\n{sql}\n", out.display()),
            );
            assert!(o.status.success(), "{kind}.{ext}: {}", stderr(&o));
            assert!(stderr(&o).contains(&format!("wrote {}", out.display())), "{}", stderr(&o));
            if ext == "png" {
                let (w, h) = png_size(&out);
                let want = if kind == "cells" { (900, 840) } else { (900, 600) };
                assert_eq!((w, h), want, "{kind}.png");
                continue;
            }
            let svg = std::fs::read_to_string(&out).unwrap();
            assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"), "{kind}.svg");
            assert!(
                svg.contains(&format!("A {kind}")) || kind == "cells",
                "{kind}.svg has its title"
            );
            // The marks: one circle per point, one rectangle per box, cell and bar (plus the
            // background), one band polygon per group, four node circles per cell drawn twice.
            let got = match kind {
                "scatter" => count(&svg, "circle"),
                "box" | "heatmap" | "bar" => count(&svg, "rect") - 1,
                "line" => count(&svg, "polygon"),
                "cells" => count(&svg, "circle") / 8,
                _ => unreachable!(),
            };
            assert_eq!(got, marks, "{kind}.svg marks");
        }
    }
    // Colour groups get a legend: the scatter by g has the group names.
    let out = d.join("groups.svg");
    let o = script(
        d,
        &format!(".plot scatter x=x y=y color=g fit=spearman out={}\n{POINTS}\n", out.display()),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let svg = std::fs::read_to_string(&out).unwrap();
    assert!(svg.contains("even Spearman") && svg.contains("odd Spearman"), "legend with Spearman");
}

#[test]
fn text_in_the_terminal() {
    let tmp = tempfile::tempdir().unwrap();
    let o = script(tmp.path(), &format!(".plot scatter x=x y=y color=g fit=spearman\n{POINTS}\n"));
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.contains("* even (19 points)") && text.contains("o odd (18 points)"), "{text}");
    assert_eq!(text.lines().filter(|l| l.contains(" |")).count(), 20, "a 20-row grid: {text}");
    let marks: usize =
        text.lines().filter(|l| l.contains(" |")).map(|l| l.matches(['*', 'o']).count()).sum();
    assert!(marks > 10 && marks <= 37, "{text}");
    let o = script(tmp.path(), ".plot box x=g y=y ref=0.1\nSELECT 'a' AS g, 0.5 AS y UNION ALL SELECT 'a', 0.7 UNION ALL SELECT 'b', 0.2;\n");
    assert!(
        stdout(&o).contains("reference line at 10.0%") && stdout(&o).contains("median"),
        "{}",
        stdout(&o)
    );
    let o = script(tmp.path(), ".draw 2581\n");
    assert!(stdout(&o).contains("arch 2581: |nor_conv_3x3~0|"), "{}", stdout(&o));
}

#[test]
fn bad_plots_are_refused_and_write_no_file() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let out = d.join("never.png");
    let o = d.join("never.png").display().to_string();
    let cases = [
        (
            format!(".plot scatter x=x y=y out={o}\nSELECT 1.0 AS x, 2.0 AS y WHERE false;"),
            "no rows",
        ),
        (format!(".plot scatter x=x y=nope out={o}\n{POINTS}"), "no column 'nope'"),
        (format!(".plot scatter x=x y=g out={o}\n{POINTS}"), "column 'g' is Utf8, not a number"),
        (format!(".plot scatter x=x out={o}\n{POINTS}"), "which column is y"),
        (format!(".plot pie x=x y=y out={o}\n{POINTS}"), "unknown plot kind 'pie'"),
        (
            format!(".plot scatter x=x y=y out={}\n{POINTS}", d.join("f.jpg").display()),
            "must end in .png or .svg",
        ),
        (format!(".plot scatter x=x y=y out={o}\nSELECT NULL::DOUBLE AS x, 1.0 AS y;"), "NULL"),
        (format!(".draw 15625 out={o}"), "15625"),
    ];
    for (text, needle) in cases {
        let r = script(d, &format!("{text}\n"));
        assert!(!r.status.success(), "{text} succeeded");
        assert!(stderr(&r).contains(needle), "{text}: {}", stderr(&r));
        assert!(!out.exists(), "{text} wrote a file");
    }
}
