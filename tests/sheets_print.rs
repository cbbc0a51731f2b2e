//! Share sheets printed by a real browser: `svault init --sheets` writes the pages,
//! headless Chromium prints each one to PDF on A4 and on Letter, `pdftoppm` rasterises
//! the printed page at 300 dpi and `zbarimg` reads the QR code back from the raster.
//! The code must give exactly the share's words and be printed at its intended size
//! (measured from the corners zbar reports); `pdfinfo` and `pdftotext` check that each
//! sheet is one page of the chosen paper with everything a sheet must say, and that
//! Chromium's own header and footer (the file's address, the time) are not printed even
//! when they are left switched on, as a user printing from the browser may leave them.
//!
//! Needs `chromium`, `zbarimg` (zbar-tools) and `pdftoppm`, `pdftotext`, `pdfinfo`
//! (poppler-utils); `.ci/run` installs them. Without them the tests fail when `CI=true`
//! and are skipped, loudly, otherwise.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use svault::vault::{Vault, share_fingerprint};

const TOOLS: [&str; 5] = ["chromium", "zbarimg", "pdftoppm", "pdftotext", "pdfinfo"];

/// Printed size of one QR module (src/cli/sheet.rs `MODULE_MM`).
const MODULE_MM: f64 = 0.75;

/// Rasterising resolution.
const DPI: f64 = 300.0;

/// Whether every tool is on PATH; fails in CI, says so loudly elsewhere.
fn tools_present() -> bool {
    let missing: Vec<&str> = TOOLS
        .iter()
        .copied()
        .filter(|t| {
            !std::env::var_os("PATH")
                .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(t).is_file()))
        })
        .collect();
    if missing.is_empty() {
        return true;
    }
    assert!(
        std::env::var("CI").map_or(true, |v| v != "true"),
        "CI=true and {} missing: install chromium zbar-tools poppler-utils (.ci/run does)",
        missing.join(", ")
    );
    // Straight to the process's stderr: the test harness captures `eprintln!`, and a
    // skip must be seen.
    let _ = writeln!(
        std::io::stderr(),
        "\n*** SKIPPED: sheets_print needs {} (apt-get install chromium zbar-tools \
         poppler-utils); CI=true makes this a failure ***\n",
        missing.join(", ")
    );
    false
}

fn svault(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_svault"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Runs `cmd` to completion, killing it after two minutes (a hung browser must not
/// hang the suite).
fn run(cmd: &mut Command) -> Output {
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
    let id = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(Duration::from_secs(120)) {
        Ok(out) => out.unwrap(),
        Err(_) => {
            // Only the process this test started, by its id.
            let _ = Command::new("kill").args(["-9", &id.to_string()]).status();
            panic!("{cmd:?} did not finish in 120 s");
        }
    }
}

#[derive(Clone, Copy, Debug)]
enum Paper {
    A4,
    Letter,
}

impl Paper {
    fn css(self) -> &'static str {
        match self {
            Paper::A4 => "A4",
            Paper::Letter => "letter",
        }
    }
    /// Width and height in PostScript points, as pdfinfo gives them.
    fn points(self) -> (f64, f64) {
        match self {
            Paper::A4 => (595.28, 841.89),
            Paper::Letter => (612.0, 792.0),
        }
    }
}

/// What printing one sheet gave.
struct Printed {
    pdf: PathBuf,
    /// `pdftotext` of the page, squashed (see [`squash`]).
    text: String,
    /// `pdftotext`, as it came.
    raw_text: String,
    pages: usize,
    /// Page size in points.
    size: (f64, f64),
    /// What zbarimg read from the 300 dpi raster, one entry per code found.
    codes: Vec<String>,
    /// What rqrr read from the same raster.
    rqrr_text: String,
    /// The code's printed width and height (the symbol, without its quiet zone), in
    /// millimetres, measured on the raster.
    code_mm: (f64, f64),
}

/// Prints `html` with headless Chromium. With `paper`, the page is printed on that
/// paper, as a user choosing it in the print dialog would (the sheet itself sets no
/// size): a copy of the page with `@page { size: … }` added is printed. With
/// `headers`, Chromium's own header and footer stay switched on.
fn print_pdf(html: &Path, paper: Option<Paper>, headers: bool, work: &Path, tag: &str) -> PathBuf {
    let page = match paper {
        Some(p) => {
            let text = fs::read_to_string(html).unwrap();
            let styled = text.replacen(
                "</head>",
                &format!("<style>@page {{ size: {}; }}</style></head>", p.css()),
                1,
            );
            assert_ne!(styled, text, "the sheet has no </head>");
            let copy = work.join(format!("{tag}.html"));
            fs::write(&copy, styled).unwrap();
            copy
        }
        None => html.to_path_buf(),
    };
    let pdf = work.join(format!("{tag}.pdf"));
    let profile = tempfile::tempdir().unwrap();
    let mut cmd = Command::new("chromium");
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    ])
    .arg(format!("--user-data-dir={}", s(profile.path())))
    .arg(format!("--print-to-pdf={}", s(&pdf)));
    if !headers {
        cmd.arg("--no-pdf-header-footer");
    }
    cmd.arg(format!("file://{}", s(&page)));
    let out = run(&mut cmd);
    assert!(
        out.status.success() && pdf.is_file(),
        "chromium failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    pdf
}

/// `pdftotext` of a PDF.
fn pdf_text(pdf: &Path) -> String {
    let text = run(Command::new("pdftotext").arg(pdf).arg("-"));
    assert!(text.status.success());
    String::from_utf8(text.stdout).unwrap()
}

/// Prints `html` (see [`print_pdf`]) and examines the result: pdfinfo, pdftotext, and
/// the raster read by zbarimg and measured.
fn print(html: &Path, paper: Option<Paper>, headers: bool, work: &Path, tag: &str) -> Printed {
    let pdf = print_pdf(html, paper, headers, work, tag);

    let info = run(Command::new("pdfinfo").arg(&pdf));
    assert!(info.status.success());
    let info = String::from_utf8(info.stdout).unwrap();
    let field = |name: &str| {
        info.lines()
            .find_map(|l| l.strip_prefix(name))
            .map(str::trim)
            .unwrap_or_else(|| panic!("pdfinfo gave no {name}: {info}"))
            .to_owned()
    };
    let pages: usize = field("Pages:").parse().unwrap();
    let dims = field("Page size:");
    let mut nums = dims.split_whitespace();
    let w: f64 = nums.next().unwrap().parse().unwrap();
    assert_eq!(nums.next(), Some("x"), "{dims}");
    let h: f64 = nums.next().unwrap().parse().unwrap();

    let raw_text = pdf_text(&pdf);

    let prefix = work.join(format!("{tag}-page"));
    let ppm = run(Command::new("pdftoppm")
        .args(["-r", "300", "-gray", "-f", "1", "-l", "1", "-singlefile"])
        .arg(&pdf)
        .arg(&prefix));
    assert!(
        ppm.status.success(),
        "{}",
        String::from_utf8_lossy(&ppm.stderr)
    );
    let pgm = work.join(format!("{tag}-page.pgm"));
    let zbar = run(Command::new("zbarimg").args(["--xml", "-q"]).arg(&pgm));
    assert!(
        zbar.status.success(),
        "zbarimg found no code on the printed page ({})",
        String::from_utf8_lossy(&zbar.stderr)
    );
    let codes = parse_zbar(&String::from_utf8(zbar.stdout).unwrap());
    let raster = Raster::read(&pgm);
    let (rqrr_text, w_mm, h_mm) = measure_code(&raster);
    Printed {
        pdf,
        text: squash(&raw_text),
        raw_text,
        pages,
        size: (w, h),
        codes,
        rqrr_text,
        code_mm: (w_mm, h_mm),
    }
}

/// The data of every symbol in zbarimg's XML output.
fn parse_zbar(xml: &str) -> Vec<String> {
    xml.split("<symbol")
        .skip(1)
        .map(|symbol| {
            symbol
                .split("<data><![CDATA[")
                .nth(1)
                .and_then(|d| d.split("]]></data>").next())
                .unwrap_or_else(|| panic!("no data in {symbol}"))
                .to_owned()
        })
        .collect()
}

/// A greyscale raster (binary PGM, as `pdftoppm -gray` writes it).
struct Raster {
    width: usize,
    height: usize,
    pixels: Vec<u8>,
}

impl Raster {
    fn read(path: &Path) -> Raster {
        let bytes = fs::read(path).unwrap();
        // "P5" width height maxval, separated by single whitespace, then the pixels.
        let mut fields = Vec::new();
        let mut at = 0;
        while fields.len() < 4 {
            while bytes[at].is_ascii_whitespace() {
                at += 1;
            }
            let start = at;
            while !bytes[at].is_ascii_whitespace() {
                at += 1;
            }
            fields.push(std::str::from_utf8(&bytes[start..at]).unwrap().to_owned());
        }
        assert_eq!(fields[0], "P5");
        assert_eq!(fields[3], "255");
        let (width, height) = (fields[1].parse().unwrap(), fields[2].parse().unwrap());
        let pixels = bytes[at + 1..].to_vec();
        assert_eq!(pixels.len(), width * height);
        Raster {
            width,
            height,
            pixels,
        }
    }

    fn dark(&self, x: usize, y: usize) -> bool {
        self.pixels[y * self.width + x] < 128
    }
}

/// Finds the one QR code on the page with a second decoder (rqrr), and measures it on
/// the raster: the bounding box of the dark pixels around the corners rqrr reports,
/// which for a QR code is the symbol itself (finder patterns sit in three corners; the
/// quiet zone around is white). Returns the decoded text and the side in millimetres
/// (width and height).
fn measure_code(raster: &Raster) -> (String, f64, f64) {
    let mut img =
        rqrr::PreparedImage::prepare_from_greyscale(raster.width, raster.height, |x, y| {
            raster.pixels[y * raster.width + x]
        });
    let grids = img.detect_grids();
    assert_eq!(grids.len(), 1, "one code on the page");
    let (_, text) = grids[0].decode().unwrap();
    let b = grids[0].bounds;
    let xs = b.iter().map(|p| p.x);
    let ys = b.iter().map(|p| p.y);
    let (x0, x1) = (xs.clone().min().unwrap(), xs.max().unwrap());
    let (y0, y1) = (ys.clone().min().unwrap(), ys.max().unwrap());
    // Look a little beyond the corners, into the quiet zone (four modules wide): by
    // 1/30 of the side, under two modules for every code of 30 to 177 modules.
    let pad = ((x1 - x0).max(y1 - y0) / 30).max(2);
    let clamp = |v: i32, hi: usize| v.clamp(0, hi as i32 - 1) as usize;
    let (left, right) = (clamp(x0 - pad, raster.width), clamp(x1 + pad, raster.width));
    let (top, bottom) = (
        clamp(y0 - pad, raster.height),
        clamp(y1 + pad, raster.height),
    );
    let (mut min_x, mut max_x, mut min_y, mut max_y) = (usize::MAX, 0, usize::MAX, 0);
    for y in top..=bottom {
        for x in left..=right {
            if raster.dark(x, y) {
                min_x = min_x.min(x);
                max_x = max_x.max(x);
                min_y = min_y.min(y);
                max_y = max_y.max(y);
            }
        }
    }
    // The quiet zone really is white: nothing dark on the searched border.
    for x in left..=right {
        assert!(
            !raster.dark(x, top) && !raster.dark(x, bottom),
            "no quiet zone"
        );
    }
    let mm = |px: usize| px as f64 / DPI * 25.4;
    (text, mm(max_x - min_x + 1), mm(max_y - min_y + 1))
}

/// The code's side in modules without the quiet zone, from the sheet's SVG viewBox.
fn code_modules(html: &str) -> usize {
    let vb = html.split("viewBox=\"0 0 ").nth(1).unwrap();
    let size: usize = vb.split(' ').next().unwrap().parse().unwrap();
    size - 8
}

fn share_words(path: &Path) -> String {
    fs::read_to_string(path)
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .to_owned()
}

/// `text` without whitespace and hyphens: lines wrap differently on each paper, and
/// pdftotext drops the hyphen where a path breaks after one ("for-the-" at a line's
/// end comes out as "for-the").
fn squash(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect()
}

fn today() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let out = Command::new("date")
        .args(["-u", "-d", &format!("@{secs}"), "+%Y-%m-%d"])
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// Makes a 2-of-3 vault at `vault` with sheets (a `bits`-bit secret); returns the
/// vault, the sheets folder and the share files' folder.
fn init(dir: &Path, vault: &str, bits: &str) -> (PathBuf, PathBuf, PathBuf) {
    let vault = dir.join(vault);
    fs::create_dir_all(vault.parent().unwrap()).unwrap();
    let sheets = dir.join("sheets");
    let shares = dir.join("shares");
    let o = svault(&[
        "init",
        s(&vault),
        "--threshold",
        "2",
        "--officer",
        "alice",
        "--officer",
        "bob",
        "--officer",
        "carol",
        "--secret-bits",
        bits,
        "--sheets",
        s(&sheets),
        "--shares-out",
        s(&shares),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    (vault, sheets, shares)
}

/// Checks one printed sheet: paper, one page, the code and its size, the text.
#[allow(clippy::too_many_arguments)]
fn check_printed(
    p: &Printed,
    paper: Option<Paper>,
    html: &str,
    words: &str,
    must_say: &[String],
    sheet_path: &Path,
) -> f64 {
    assert_eq!(p.pages, 1, "{}: {} pages", p.pdf.display(), p.pages);
    if let Some(paper) = paper {
        let (w, h) = paper.points();
        assert!(
            (p.size.0 - w).abs() < 1.0 && (p.size.1 - h).abs() < 1.0,
            "{paper:?} printed as {:?} pt",
            p.size
        );
    }
    assert_eq!(
        p.codes,
        vec![words.to_owned()],
        "the printed code must give exactly the share's words"
    );
    assert_eq!(p.rqrr_text, words, "a second decoder reads the same");
    let modules = code_modules(html);
    let intended = modules as f64 * MODULE_MM;
    // Within half a module, in both directions (a shrunk or stretched code fails).
    for side in [p.code_mm.0, p.code_mm.1] {
        assert!(
            (side - intended).abs() <= MODULE_MM / 2.0,
            "{}: code printed {:.2} × {:.2} mm, intended {intended:.2} mm ({modules} modules of {MODULE_MM} mm)",
            p.pdf.display(),
            p.code_mm.0,
            p.code_mm.1
        );
    }
    assert!(p.code_mm.0 / modules as f64 >= 0.5, "modules under 0.5 mm");
    for item in must_say {
        assert!(
            p.text.contains(&squash(item)),
            "{}: the printed page lacks {item:?}:\n{}",
            p.pdf.display(),
            p.raw_text
        );
    }
    for word in words.split(' ') {
        assert!(p.raw_text.contains(word), "word {word} not printed");
    }
    // Neither the browser's header (title, time) nor its footer (the file's address).
    for trace in ["file://", s(sheet_path)] {
        assert!(
            !p.raw_text.contains(trace) && !p.text.contains(&squash(trace)),
            "{}: the browser printed {trace:?}:\n{}",
            p.pdf.display(),
            p.raw_text
        );
    }
    assert!(
        !p.raw_text.contains("SECRET: svault share sheet of"),
        "page title printed"
    );
    p.code_mm.0
}

#[test]
fn sheets_print_on_a4_and_letter_and_the_printed_code_reads_back() {
    if !tools_present() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // A long path, as production vaults have: it wraps in three places on the page,
    // which must still fit on one page of Letter.
    let (vault, sheets, shares) = init(
        dir.path(),
        "a-rather-long-directory-name/for-the-production-credentials/of-the-payments-service/payments-production.svault",
        "256",
    );
    let work = dir.path().join("print");
    fs::create_dir(&work).unwrap();
    let abs = std::path::absolute(&vault).unwrap();
    let sealed = Vault::open(&vault).unwrap();
    let header = sealed.header();
    let status = String::from_utf8(svault(&["status", s(&vault)]).stdout).unwrap();
    let all: Vec<String> = ["alice", "bob", "carol"]
        .iter()
        .map(|n| share_words(&shares.join(format!("{n}.share"))))
        .collect();
    // By design the first three words are common to every sheet, the fourth is not.
    let first3 = |w: &str| w.split(' ').take(3).collect::<Vec<_>>().join(" ");
    assert!(all.iter().all(|w| first3(w) == first3(&all[0])));
    let fourth: Vec<&str> = all.iter().map(|w| w.split(' ').nth(3).unwrap()).collect();
    assert!(fourth[0] != fourth[1] && fourth[1] != fourth[2] && fourth[0] != fourth[2]);

    let date = today();
    let mut measured = Vec::new();
    for (i, name) in ["alice", "bob", "carol"].iter().enumerate() {
        let sheet = sheets.join(format!("{name}.html"));
        let html = fs::read_to_string(&sheet).unwrap();
        let words = &all[i];
        let officer = header.officers.iter().find(|o| o.name == *name).unwrap();
        let fp = share_fingerprint(header, officer);
        // The fingerprint on the sheet is the one `svault status` lists for the officer.
        assert!(
            status
                .lines()
                .any(|l| l.trim_start().starts_with(&format!("{name} ("))
                    && l.contains(&format!(") fingerprint {fp}"))),
            "{status}"
        );
        let must_say = vec![
            "SECRET".to_owned(),
            format!("svault share sheet of officer {name}"),
            format!("payments-production.svault — file {}", abs.display()),
            format!(
                "share {} of 3 — any 2 open the vault; one alone reveals nothing",
                i + 1
            ),
            format!("vault created {date}; this share issued {date} (UTC)"),
            format!("svault {}", env!("CARGO_PKG_VERSION")),
            format!("{fp} — not secret: copy it onto the envelope"),
            format!("Words 1–3 ({}, dotted)", first3(words)),
            "are the same on every sheet of this vault, by design".to_owned(),
            format!("svault verify {}", abs.display()),
            "svault rekey on the vault file".to_owned(),
            "After printing".to_owned(),
            "Storage".to_owned(),
            "at least every six months".to_owned(),
            "Drill log".to_owned(),
            "Answer (valid / not valid)".to_owned(),
            "Initials".to_owned(),
            "If this sheet is lost or exposed".to_owned(),
            format!("Officer {name}, signature"),
            "Witness, name".to_owned(),
            format!(
                "SECRET — svault share sheet · officer {name} · vault payments-production.svault · fingerprint {fp}"
            ),
        ];
        for paper in [Paper::A4, Paper::Letter] {
            let p = print(
                &sheet,
                Some(paper),
                false,
                &work,
                &format!("{name}-{}", paper.css()),
            );
            let side = check_printed(&p, Some(paper), &html, words, &must_say, &sheet);
            eprintln!("{name} on {paper:?}: code {side:.2} mm");
            measured.push(side);
        }
        if i == 0 {
            // As a user would print it: the file as it is, the browser's header and
            // footer left on. The sheet leaves them no margin to print in.
            let p = print(&sheet, None, true, &work, &format!("{name}-as-is"));
            check_printed(&p, None, &html, words, &must_say, &sheet);
            // The control: a page that keeps the browser's default margins does get
            // its header and footer, so the check above can see them.
            let control = work.join("control.html");
            fs::write(
                &control,
                "<!DOCTYPE html><html><head><title>control title</title></head><body><p>control page</p></body></html>",
            )
            .unwrap();
            let text = pdf_text(&print_pdf(&control, None, true, &work, "control"));
            assert!(
                text.contains("file://") && text.contains("control title"),
                "no browser header on the control page: {text}"
            );
        }
    }
    // Every sheet, either paper: the same printed size.
    let (lo, hi) = measured
        .iter()
        .fold((f64::MAX, f64::MIN), |(l, h), &m| (l.min(m), h.max(m)));
    assert!(hi - lo <= MODULE_MM, "printed sizes vary: {measured:?}");
}

#[test]
fn a_twenty_word_sheet_prints_and_reads_back_too() {
    if !tools_present() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (vault, sheets, shares) = init(dir.path(), "app.svault", "128");
    let work = dir.path().join("print");
    fs::create_dir(&work).unwrap();
    let abs = std::path::absolute(&vault).unwrap();
    let words = share_words(&shares.join("carol.share"));
    assert_eq!(words.split(' ').count(), 20);
    let sheet = sheets.join("carol.html");
    let html = fs::read_to_string(&sheet).unwrap();
    let must_say = vec![
        "share 3 of 3 — any 2 open the vault; one alone reveals nothing".to_owned(),
        "20 words".to_owned(),
        format!("svault verify {}", abs.display()),
    ];
    for paper in [Paper::Letter, Paper::A4] {
        let p = print(&sheet, Some(paper), false, &work, paper.css());
        let side = check_printed(&p, Some(paper), &html, &words, &must_say, &sheet);
        eprintln!("20-word carol on {paper:?}: code {side:.2} mm");
    }
}
