//! Printable share sheets: one HTML page per officer, made to be printed once, checked,
//! signed and sealed in an envelope for years.
//!
//! The page holds the share (numbered words and a QR code of exactly those words), what
//! the share is (vault name and file, dates, svault version, "share 1 of 3 — any 2 open
//! the vault; one alone reveals nothing"), a non-secret fingerprint to compare, why the
//! first words are the same on every sheet, storage and after-printing instructions, the
//! drill routine with the real `svault verify` command and a table of drill dates, what
//! to do if the sheet is lost or exposed, signature and witness lines, a SECRET banner
//! and a footer. `tests/sheets_print.rs` prints it with Chromium on A4 and on Letter and
//! decodes the QR code from the printed page.
//!
//! Print layout (a choice, documented in the README):
//! - `@page { margin: 0 }` and no `size`: the user's paper decides (A4 or Letter), and a
//!   browser has no margin to print its own header and footer (the file's path and the
//!   time) in. The sheet keeps its own margins: a column 180 mm wide, centred, which
//!   leaves 15 mm left and right on A4 (210 × 297 mm) and 18 mm on Letter (216 × 279),
//!   11 mm above and 9 mm below, clear of printers' unprintable edges. The column is a
//!   page high and its footer sits at the bottom; the content fits Letter's height with
//!   a vault path of some 130 characters. A longer one pushes the footer onto a second
//!   page, never over the content.
//! - Everything prints in black on white without "background graphics": the banner is a
//!   border and text, the QR code an SVG drawing.
//! - The QR code has a fixed size in millimetres and may not shrink (`flex: none`);
//!   see [`MODULE_MM`].
//! - No scripts, fonts, images or links to fetch: the file works offline, as it must.

use std::fmt::Write as _;
use std::path::Path;

use qrcode::{Color, EcLevel, QrCode};
use svault::share::slip39::Slip39Share;
use svault::vault::format::to_hex;
use svault::vault::{Header, share_fingerprint};
use zeroize::Zeroizing;

/// Quiet zone around the code, in modules (the QR standard asks for 4).
const QUIET: usize = 4;

/// Printed size of one QR module, in millimetres. A 33-word share is a version 11 code
/// (61 modules, 69 with the quiet zone: 51.75 mm); a 20-word share a version 8 code
/// (49 modules, 57 with it: 42.75 mm). 0.75 mm is half again the 0.5 mm that phone and
/// desk scanners read comfortably at arm's length, so the code still reads after toner
/// loss, a photocopy, a crease or a 150 dpi scan (over 4 pixels a module), and it leaves
/// room for the words, instructions and drill table on one page.
pub const MODULE_MM: f64 = 0.75;

/// How many drill rows the table has: six years of drills every six months would need
/// twelve; eight fit, and a drill log can continue on the envelope.
const DRILL_ROWS: usize = 8;

/// Escapes text for HTML (element content and quoted attribute values). Control
/// characters are dropped.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    escape_into(&mut out, text);
    out
}

/// [`escape`], appending to `out` (so share words go straight into a wiped buffer).
fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
}

/// The QR code of `text`: its side in modules, quiet zone included, and the SVG. The
/// SVG draws one `<rect>` of 1 × 1 unit per dark module, at (column + 4, row + 4), in a
/// viewBox of (width + 8)², and is `side × MODULE_MM` millimetres wide and high.
pub fn qr_svg(text: &str) -> Result<(usize, Zeroizing<String>), String> {
    let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M)
        .map_err(|e| e.to_string())?;
    let width = code.width();
    let colors = code.to_colors();
    let size = width + 2 * QUIET;
    let mm = mm(size);
    // Sized for every module dark, so the drawing of the share is never reallocated
    // (which would leave unwiped copies behind).
    let mut svg = Zeroizing::new(String::with_capacity(256 + size * size * 48));
    let _ = write!(
        svg,
        "<svg class=\"qr\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {size} {size}\" width=\"{mm}mm\" height=\"{mm}mm\" shape-rendering=\"crispEdges\"><rect width=\"{size}\" height=\"{size}\" fill=\"#fff\"/>"
    );
    for (i, c) in colors.iter().enumerate() {
        if *c == Color::Dark {
            let (x, y) = (i % width + QUIET, i / width + QUIET);
            let _ = write!(svg, "<rect x=\"{x}\" y=\"{y}\" width=\"1\" height=\"1\"/>");
        }
    }
    svg.push_str("</svg>");
    Ok((size, svg))
}

/// `modules × MODULE_MM`, as CSS writes millimetres.
fn mm(modules: usize) -> String {
    // Exact: at most a few hundred modules, each a multiple of 0.25 mm.
    #[allow(clippy::cast_precision_loss)]
    let v = modules as f64 * MODULE_MM;
    format!("{v:.2}")
}

/// A count in words for the small numbers of a split, digits beyond.
fn count_word(n: usize) -> String {
    match n {
        1 => "one".into(),
        2 => "two".into(),
        3 => "three".into(),
        n => n.to_string(),
    }
}

/// What this share is, in one line: "share 1 of 3 — any 2 open the vault; one alone
/// reveals nothing", or its group's version.
fn quorum_line(header: &Header, share: &Slip39Share) -> String {
    let groups = &header.split.groups;
    let g = share.group_index();
    let members = header.officers.iter().filter(|o| o.group == g).count();
    let member = usize::from(share.member_index()) + 1;
    let t = usize::from(share.member_threshold());
    match groups.get(usize::from(g)) {
        Some(group) if groups.len() > 1 => {
            let gt = usize::from(header.split.group_threshold);
            format!(
                "share {member} of {members} in group “{}” — any {t} of that group count for it, \
                 and any {gt} of the {} groups open the vault; fewer reveal nothing",
                group.name,
                groups.len()
            )
        }
        _ if t <= 1 => format!(
            "share {member} of {members} — the threshold is 1: this share alone opens the vault"
        ),
        _ if t == 2 => {
            format!("share {member} of {members} — any 2 open the vault; one alone reveals nothing")
        }
        _ => format!(
            "share {member} of {members} — any {t} open the vault; {} or fewer reveal nothing",
            count_word(t - 1)
        ),
    }
}

/// How many leading words every sheet of this split shares with this one, and who
/// "every sheet" is. SLIP-0039 packs the share's public parameters first: words 1–2 are
/// the identifier (15 bits), the extendable flag and the iteration exponent, the same
/// for the whole split; word 3 is the group index, the group threshold and 2 bits of
/// the group count, the same for a whole group; word 4 holds the member index, so it
/// differs from sheet to sheet.
fn common_words(header: &Header, share: &Slip39Share) -> (usize, String) {
    match &header.split.groups[..] {
        [_] => (3, "every sheet of this vault".into()),
        groups => {
            let name = groups
                .get(usize::from(share.group_index()))
                .map(|g| g.name.as_str())
                .unwrap_or_default();
            (
                3,
                format!("every sheet of group “{name}” (words 1–2: every sheet of this vault)"),
            )
        }
    }
}

/// `svault COMMAND PATH` with the path quoted for a POSIX shell when it needs it.
fn command(name: &str, vault: &Path) -> String {
    let path = vault.display().to_string();
    let plain = path
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+:@%,=".contains(c));
    if plain && !path.is_empty() {
        format!("svault {name} {path}")
    } else {
        format!("svault {name} '{}'", path.replace('\'', r"'\''"))
    }
}

/// What a sheet shows besides the share.
pub struct SheetFacts<'a> {
    /// The vault file, as absolute as it could be made.
    pub vault: &'a Path,
    /// The header the share belongs to (after the ceremony's change).
    pub header: &'a Header,
    /// The officer holding the share.
    pub officer: &'a str,
    /// The date the share was issued, YYYY-MM-DD (UTC).
    pub issued: &'a str,
    /// The date the vault was created, YYYY-MM-DD (UTC).
    pub created: &'a str,
}

/// The sheet of one officer. Every string from the header or the path is HTML-escaped
/// (officer and group names are validated already; this does not rely on it). The page
/// holds the share words, so it is returned in a wiped-on-drop string.
pub fn render(facts: &SheetFacts<'_>, share: &Slip39Share) -> Result<Zeroizing<String>, String> {
    let words = share.to_words();
    let (side, qr) = qr_svg(&words)?;
    let list: Vec<&str> = words.split(' ').collect();
    let (common, common_who) = common_words(facts.header, share);
    let mut items = Zeroizing::new(String::with_capacity(64 * list.len() + words.len()));
    for (i, w) in list.iter().enumerate() {
        if i < common {
            let _ = write!(items, "<li class=\"common\"><b>{:>2}</b> <u>", i + 1);
            escape_into(&mut items, w);
            items.push_str("</u></li>");
        } else {
            let _ = write!(items, "<li><b>{:>2}</b> ", i + 1);
            escape_into(&mut items, w);
            items.push_str("</li>");
        }
    }
    let common_text = escape(&list[..common.min(list.len())].join(" "));
    let fingerprint = facts
        .header
        .officers
        .iter()
        .find(|o| o.name == facts.officer)
        .map(|o| share_fingerprint(facts.header, o))
        .ok_or_else(|| format!("officer {} is not in the vault's header", facts.officer))?;
    let name = escape(facts.officer);
    let file = escape(&facts.vault.display().to_string());
    let vault_name = escape(
        &facts
            .vault
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
    );
    let verify = escape(&command("verify", facts.vault));
    let t = usize::from(share.member_threshold());
    let others = if facts.header.split.groups.len() > 1 {
        "enough other shares".to_string()
    } else if t <= 1 {
        "nothing else".to_string()
    } else {
        format!("{} more", count_word(t - 1))
    };
    let mut rows = String::new();
    for _ in 0..DRILL_ROWS {
        rows.push_str("<tr><td></td><td></td><td></td><td></td></tr>");
    }
    let qr_mm = mm(side);
    // One buffer, sized beyond the page, so that the share never sits in a freed,
    // unwiped allocation.
    let mut page = Zeroizing::new(String::with_capacity(24 * 1024 + qr.len() + items.len()));
    let _ = write!(
        page,
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>SECRET: svault share sheet of {name}</title>
<style>
@page {{ margin: 0; }}
* {{ box-sizing: border-box; }}
html, body {{ margin: 0; padding: 0; color: #000; background: #fff; }}
body {{ font-family: "DejaVu Sans", "Liberation Sans", Arial, sans-serif; font-size: 8.2pt; line-height: 1.25; }}
.sheet {{ width: 180mm; margin: 0 auto; padding: 11mm 0 9mm; min-height: calc(100vh - 1mm); display: flex; flex-direction: column; }}
.banner {{ border: 1mm solid #000; padding: 0.6mm 2.5mm; font-weight: bold; display: flex; align-items: center; gap: 4mm; }}
.banner .big {{ font-size: 16pt; letter-spacing: 1.5mm; flex: none; }}
h1 {{ font-size: 12.5pt; margin: 2mm 0 0.8mm; }}
table.facts {{ border-collapse: collapse; width: 100%; }}
table.facts th {{ text-align: left; white-space: nowrap; padding: 0.1mm 3mm 0.1mm 0; vertical-align: top; width: 22mm; }}
table.facts td {{ padding: 0.1mm 0; overflow-wrap: anywhere; }}
.mono, code {{ font-family: "DejaVu Sans Mono", "Liberation Mono", monospace; }}
.share {{ display: flex; gap: 5mm; align-items: flex-start; margin-top: 2mm; break-inside: avoid; }}
.qrbox {{ flex: none; width: {qr_mm}mm; }}
svg.qr {{ display: block; flex: none; width: {qr_mm}mm; height: {qr_mm}mm; }}
.qrcap {{ font-size: 6.5pt; text-align: center; }}
.words {{ flex: 1 1 auto; min-width: 0; columns: 3; column-gap: 4mm; list-style: none; margin: 0; padding: 0;
  font-family: "DejaVu Sans Mono", "Liberation Mono", monospace; font-size: 11.5pt; line-height: 1.3; }}
.words li {{ break-inside: avoid; white-space: nowrap; }}
.words li b {{ display: inline-block; width: 6.5mm; text-align: right; margin-right: 1.5mm; }}
.words li.common u {{ text-decoration: underline dotted; }}
.note {{ margin: 1.2mm 0 0; }}
.cols {{ columns: 2; column-gap: 6mm; margin-top: 1.8mm; }}
h2 {{ font-size: 8.8pt; margin: 0 0 0.3mm; break-after: avoid; }}
.cols section {{ break-inside: avoid; margin-bottom: 1.3mm; }}
.cols p, .cols ol {{ margin: 0; }}
.cols ol {{ padding-left: 4mm; }}
.bottom {{ display: flex; gap: 6mm; margin-top: 0.5mm; align-items: flex-start; }}
.drills {{ flex: 1 1 auto; }}
table.log {{ border-collapse: collapse; width: 100%; }}
table.log th, table.log td {{ border: 0.25mm solid #000; height: 5mm; padding: 0 1mm; font-size: 7.2pt; text-align: left; font-weight: normal; }}
.sign {{ flex: none; width: 64mm; }}
.line {{ border-bottom: 0.25mm solid #000; height: 8.4mm; font-size: 6.8pt; display: flex; align-items: flex-end; }}
.footer {{ margin-top: auto; padding-top: 2mm; text-align: center; font-size: 7.2pt; }}
.footer span {{ display: block; border-top: 0.25mm solid #000; padding-top: 0.8mm; }}
</style></head>
<body><div class="sheet">
<div class="banner"><div class="big">SECRET</div>
<div>A share of a credential vault held by officer {name}. Do not copy, photograph or scan it; never leave it unattended.</div></div>
<h1>svault share sheet of officer {name}</h1>
<table class="facts">
<tr><th>Vault</th><td><b>{vault_name}</b> — file <span class="mono">{file}</span></td></tr>
<tr><th>Drill</th><td><code><b>{verify}</b></code> — then type the words; the answer must start with <code>valid:</code> and name you</td></tr>
<tr><th>This share</th><td><b>{quorum}</b></td></tr>
<tr><th>Dates</th><td>vault created {created}; this share issued {issued} (UTC)</td></tr>
<tr><th>Fingerprint</th><td><span class="mono"><b>{fingerprint}</b></span> — not secret: copy it onto the envelope; <code>svault status</code> shows it while current</td></tr>
<tr><th>Made by</th><td>svault {version} · vault id <span class="mono">{vault_id}</span> · a standard SLIP-0039 share of {count} words</td></tr>
</table>
<div class="share"><div class="qrbox">{qr}<div class="qrcap">holds exactly the {count} words</div></div>
<ol class="words">{items}</ol></div>
<p class="note">Words 1–{common} (<span class="mono">{common_text}</span>, dotted) are the same on {common_who}, by design: SLIP-0039 starts with the
split's public identifier and parameters. Equal first words mean the same split, not the same share; other first words, another vault or an older split.</p>
<div class="cols">
<section><h2>After printing — today</h2><ol>
<li>Check the print: one page, every word readable, the code whole. Never scan the code with a phone: that copies the share into it.</li>
<li>Prove the paper: run the drill command above and type the words from this sheet (the first four letters of each suffice).</li>
<li>Delete the file and every copy: <code>shred -u {name}.html</code> in the sheets folder, any PDF, the print queue; a printer that stores jobs may keep one.</li>
<li>Sign below before a witness, fold the words inward, seal the sheet in an opaque, tamper-evident envelope; write on it your name, the vault, the fingerprint and the date, never the words.</li>
</ol></section>
<section><h2>Storage</h2><p>In a safe or deposit box only you or your custodian can open, never beside another officer's sheet. No photos, scans, cloud notes or password managers. Dry, dark and cool: a laser print on plain paper lasts decades; thermal paper fades.</p></section>
<section><h2>Drill — at least every six months</h2><p>In private, open the envelope, run the drill command on a trusted computer and type the words. Write the date and the answer in the drill log, then reseal in a new envelope. If the answer is <code>not valid</code> or a word cannot be read, tell the other officers at once: while enough shares still work they can replace yours.</p></section>
<section><h2>If this sheet is lost or exposed</h2><p>Lost, damaged, or perhaps seen, copied or photographed: tell the other officers the same day. Alone it reveals nothing, but with {others} it opens the vault. A quorum then runs <code>svault rekey</code> on the vault file: new shares for everyone; the old sheets stop working and are shredded. A lost sheet found later is destroyed, not used.</p></section>
<section><h2>Recovery without svault</h2><p>The code is for a scanner on the offline recovery computer. With the vault file, any SLIP-0039 tool recovers the key from enough shares (svault's docs/RECOVERY.md).</p></section>
</div>
<div class="bottom">
<div class="drills"><h2>Drill log</h2><table class="log">
<tr><th style="width:22mm">Date</th><th>Answer (valid / not valid)</th><th style="width:18mm">Initials</th><th style="width:30mm">Witness</th></tr>
{rows}</table></div>
<div class="sign"><h2>Received and checked</h2>
<div class="line">Officer {name}, signature</div>
<div class="line">Date</div>
<div class="line">Witness, name</div>
<div class="line">Witness, signature and date</div>
</div></div>
<div class="footer"><span>SECRET — svault share sheet · officer {name} · vault {vault_name} · fingerprint {fingerprint} · svault {version} · one page</span></div>
</div>
</body></html>
"#,
        quorum = escape(&quorum_line(facts.header, share)),
        created = escape(facts.created),
        issued = escape(facts.issued),
        vault_id = escape(&to_hex(&facts.header.vault_id.0)),
        version = escape(env!("CARGO_PKG_VERSION")),
        count = list.len(),
        common_who = escape(&common_who),
        qr = &*qr,
        items = &*items,
    );
    Ok(page)
}

#[cfg(test)]
mod tests {
    use super::*;
    use svault::vault::{Draft, GroupPlan, OfficerPlan, Plan, SlotParams};

    fn officers(names: &[&str]) -> Vec<OfficerPlan> {
        names
            .iter()
            .map(|n| OfficerPlan {
                name: (*n).into(),
                keyslot: None,
            })
            .collect()
    }

    fn page(draft: &Draft, n: usize, vault: &Path) -> String {
        let header = draft.header();
        let i = &draft.issued()[n];
        let facts = SheetFacts {
            vault,
            header,
            officer: &i.officer,
            issued: "2026-12-02",
            created: "2026-12-01",
        };
        render(&facts, &i.share).unwrap().to_string()
    }

    #[test]
    fn a_sheet_says_what_the_share_is() {
        let draft = Draft::new(&Plan::simple(2, &["alice", "bob", "carol"])).unwrap();
        let html = page(&draft, 1, Path::new("/srv/app.svault"));
        let header = draft.header();
        let words = draft.issued()[1].share.to_words();
        assert!(html.contains("share 2 of 3 — any 2 open the vault; one alone reveals nothing"));
        assert!(
            html.contains("<b>app.svault</b> — file <span class=\"mono\">/srv/app.svault</span>")
        );
        assert!(html.contains("vault created 2026-12-01; this share issued 2026-12-02 (UTC)"));
        assert!(html.contains(&format!("svault {}", env!("CARGO_PKG_VERSION"))));
        assert!(html.contains(&share_fingerprint(header, &header.officers[1])));
        assert!(!html.contains(&share_fingerprint(header, &header.officers[0])));
        assert!(html.contains("<code><b>svault verify /srv/app.svault</b></code>"));
        let list: Vec<&str> = words.split(' ').collect();
        assert!(html.contains(&format!(
            "Words 1–3 (<span class=\"mono\">{}</span>",
            list[..3].join(" ")
        )));
        assert!(html.contains(&format!(
            "<li class=\"common\"><b> 3</b> <u>{}</u></li>",
            list[2]
        )));
        assert!(html.contains(&format!("<li><b> 4</b> {}</li>", list[3])));
        assert_eq!(html.matches("<tr><td></td>").count(), DRILL_ROWS);
        // The code may not shrink, and is drawn at its size in millimetres.
        assert!(
            html.contains(
                "svg.qr { display: block; flex: none; width: 51.75mm; height: 51.75mm; }"
            )
        );
        assert!(html.contains("width=\"51.75mm\" height=\"51.75mm\""));
        assert!(html.contains("@page { margin: 0; }"));
    }

    #[test]
    fn header_strings_are_escaped() {
        let draft = Draft::new(&Plan::simple(3, &["alice", "bob", "carol", "dave"])).unwrap();
        let mut header = draft.header().clone();
        header.officers[0].name = "<b>&\"'".into();
        header.split.groups[0].name = "<i>".into();
        let i = &draft.issued()[0];
        let vault = Path::new("/srv/<x> & 'y'.svault");
        let facts = SheetFacts {
            vault,
            header: &header,
            officer: "<b>&\"'",
            issued: "<d>",
            created: "<c>",
        };
        let html = render(&facts, &i.share).unwrap();
        assert!(html.contains("officer &lt;b&gt;&amp;&quot;&#39;</h1>"));
        assert!(html.contains("/srv/&lt;x&gt; &amp; &#39;y&#39;.svault"));
        // Quoted for the shell, then escaped for HTML.
        assert!(html.contains("svault verify &#39;/srv/&lt;x&gt; &amp; &#39;\\&#39;&#39;y&#39;\\&#39;&#39;.svault&#39;"));
        assert!(html.contains("&lt;d&gt;") && html.contains("&lt;c&gt;"));
        assert!(!html.contains("<b>&\"") && !html.contains("<x>") && !html.contains("<d>"));
        assert!(html.contains("any 3 open the vault; two or fewer reveal nothing"));
        // A name the header lacks is refused, naming it.
        let facts = SheetFacts {
            officer: "mallory",
            ..facts
        };
        let err = render(&facts, &i.share).unwrap_err();
        assert!(err.contains("mallory"), "{err}");
    }

    #[test]
    fn group_sheets_name_both_thresholds() {
        let plan = Plan {
            group_threshold: 2,
            groups: vec![
                GroupPlan {
                    name: "ops".into(),
                    member_threshold: 2,
                    officers: officers(&["alice", "bob", "carol"]),
                },
                GroupPlan {
                    name: "board".into(),
                    member_threshold: 1,
                    officers: officers(&["dave"]),
                },
                GroupPlan {
                    name: "legal".into(),
                    member_threshold: 1,
                    officers: officers(&["erin"]),
                },
            ],
            secret_bytes: 16,
            slot_params: SlotParams::default(),
        };
        let draft = Draft::new(&plan).unwrap();
        let html = page(&draft, 1, Path::new("v.svault"));
        assert!(html.contains(
            "share 2 of 3 in group “ops” — any 2 of that group count for it, and any 2 of the 3 groups open the vault; fewer reveal nothing"
        ), "{html}");
        assert!(html.contains("every sheet of group “ops” (words 1–2: every sheet of this vault)"));
        // 20 words: a version 8 code, 57 modules with the quiet zone.
        assert!(html.contains("width=\"42.75mm\""));
        // What the sheet says about the words is true of SLIP-0039: words 1–2 are the
        // same on every sheet, word 3 within a group, word 4 differs.
        let w: Vec<Vec<String>> = draft
            .issued()
            .iter()
            .map(|i| i.share.to_words().split(' ').map(str::to_owned).collect())
            .collect();
        assert!(w.iter().all(|s| s[..2] == w[0][..2]));
        assert!(w[..3].iter().all(|s| s[2] == w[0][2]));
        assert_ne!(w[0][2], w[3][2]);
        assert!(w[0][3] != w[1][3] && w[1][3] != w[2][3]);
        let solo = Draft::new(&Plan::simple(1, &["alice"])).unwrap();
        assert!(
            page(&solo, 0, Path::new("v"))
                .contains("the threshold is 1: this share alone opens the vault")
        );
    }

    #[test]
    fn commands_are_quoted_for_the_shell() {
        assert_eq!(
            command("verify", Path::new("/srv/a.svault")),
            "svault verify /srv/a.svault"
        );
        assert_eq!(
            command("verify", Path::new("/my vault")),
            "svault verify '/my vault'"
        );
        assert_eq!(
            command("rekey", Path::new("/a'b")),
            r"svault rekey '/a'\''b'"
        );
    }
}
