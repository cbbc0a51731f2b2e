//! Printable share sheets: one HTML page per officer with an inline SVG QR code of the
//! share words. The page is sized to fit both A4 and US Letter (a 180 × 250 mm box),
//! uses only black on white, and has no scripts, fonts or links to fetch.

use std::fmt::Write as _;

use qrcode::{Color, EcLevel, QrCode};

/// Quiet zone around the code, in modules (the QR standard asks for 4).
const QUIET: usize = 4;

/// Escapes text for HTML.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
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
    out
}

/// The QR code of `text` as an SVG: one `<rect>` of 1 × 1 unit per dark module, at
/// (column + 4, row + 4), in a viewBox of (width + 8)².
pub fn qr_svg(text: &str) -> Result<String, String> {
    let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M)
        .map_err(|e| e.to_string())?;
    let width = code.width();
    let colors = code.to_colors();
    let size = width + 2 * QUIET;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {size} {size}\" width=\"60mm\" height=\"60mm\" shape-rendering=\"crispEdges\"><rect width=\"{size}\" height=\"{size}\" fill=\"#fff\"/>"
    );
    for (i, c) in colors.iter().enumerate() {
        if *c == Color::Dark {
            let (x, y) = (i % width + QUIET, i / width + QUIET);
            let _ = write!(svg, "<rect x=\"{x}\" y=\"{y}\" width=\"1\" height=\"1\"/>");
        }
    }
    svg.push_str("</svg>");
    Ok(svg)
}

/// The sheet of one officer.
pub fn render(
    officer: &str,
    vault_id: &str,
    position: &str,
    words: &str,
) -> Result<String, String> {
    let qr = qr_svg(words)?;
    let list: Vec<&str> = words.split(' ').collect();
    let mut items = String::new();
    for (i, w) in list.iter().enumerate() {
        let _ = write!(items, "<li><b>{:>2}</b> {}</li>", i + 1, escape(w));
    }
    let name = escape(officer);
    Ok(format!(
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>svault share of {name}</title>
<style>
@page {{ margin: 15mm; }}
body {{ font-family: sans-serif; color: #000; background: #fff; max-width: 180mm; margin: 0 auto; }}
h1 {{ font-size: 16pt; margin: 0 0 2mm; }}
p, li {{ font-size: 10.5pt; }}
.words {{ columns: 3; list-style: none; padding: 0; font-family: monospace; font-size: 12pt; }}
.words li {{ margin: 1mm 0; break-inside: avoid; }}
.box {{ display: flex; gap: 8mm; align-items: flex-start; page-break-inside: avoid; }}
.id {{ font-family: monospace; }}
</style></head>
<body>
<h1>svault share of officer {name}</h1>
<p>Vault <span class="id">{vault_id}</span> — {position}. {count} words.</p>
<ol class="words">{items}</ol>
<div class="box">{qr}
<div>
<p><b>Keep this sheet private and safe.</b> Anyone holding enough shares of this vault
can open it. Do not photograph it or store it on a computer.</p>
<p>Check it at any time without other officers: <code>svault verify VAULT</code>, then
type the words. To unseal, type the words when asked (the first four letters of each
word are enough).</p>
<p>The QR code holds exactly the words above. The words are a standard SLIP-0039 share:
any SLIP-0039 tool can recover the vault's key from enough shares.</p>
</div></div>
</body></html>
"#,
        count = list.len(),
        vault_id = escape(vault_id),
        position = escape(position),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_escaped() {
        let page = render("<b>&", "ab", "member 1", "academic acid").unwrap();
        assert!(page.contains("officer &lt;b&gt;&amp;"));
        assert!(page.contains("<li><b> 2</b> acid</li>"));
    }
}
