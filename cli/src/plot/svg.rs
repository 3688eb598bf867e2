//! Shapes to an SVG document.

use std::fmt::Write;

use super::chart::{Anchor, Chart, Rgb, Shape};
use super::font;

fn color((r, g, b): Rgb) -> String {
    format!("#{r:02x}{g:02x}{b:02x}")
}

/// Text for XML and HTML: `&`, `<`, `>` and `"` escaped.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

pub fn render(chart: &Chart) -> String {
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" font-family=\"DejaVu Sans, Verdana, sans-serif\">\n",
        w = chart.width,
        h = chart.height
    );
    for shape in &chart.shapes {
        // Writing to a String cannot fail.
        let _ = match shape {
            Shape::Rect { x, y, w, h, fill } => writeln!(
                svg,
                "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{h:.1}\" fill=\"{}\"/>",
                color(*fill)
            ),
            Shape::Line { x1, y1, x2, y2, color: c, width } => writeln!(
                svg,
                "<line x1=\"{x1:.1}\" y1=\"{y1:.1}\" x2=\"{x2:.1}\" y2=\"{y2:.1}\" stroke=\"{}\" stroke-width=\"{width}\"/>",
                color(*c)
            ),
            Shape::Tick { x, y, color: c } => writeln!(
                svg,
                "<line class=\"own-limit\" x1=\"{:.1}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\" stroke=\"{}\" stroke-width=\"2\"/>",
                x - 4.0,
                x + 4.0,
                color(*c)
            ),
            Shape::Dot { x, y, r, fill, ring } => {
                let dot = writeln!(
                    svg,
                    "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"{r:.1}\" fill=\"{}\"/>",
                    color(*fill)
                );
                match ring {
                    Some(ring) => writeln!(
                        svg,
                        "<circle class=\"alert\" cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"{:.1}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\"/>",
                        r + 3.0,
                        color(*ring)
                    ),
                    None => dot,
                }
            }
            // Stretched or squeezed to the width the layout measured with the bundled font: a
            // viewer without it (a browser's own sans-serif is wider) would otherwise overlap
            // neighbouring labels that the PNG keeps apart.
            Shape::Text { x, y, text, anchor, color: c, large } => writeln!(
                svg,
                "<text x=\"{x:.1}\" y=\"{y:.1}\" text-anchor=\"{}\" font-size=\"{}\"{} fill=\"{}\" textLength=\"{:.1}\" lengthAdjust=\"spacingAndGlyphs\">{}</text>",
                match anchor {
                    Anchor::Start => "start",
                    Anchor::Middle => "middle",
                    Anchor::End => "end",
                },
                if *large { font::LARGE_PX } else { font::SMALL_PX },
                if *large { " font-weight=\"bold\"" } else { "" },
                color(*c),
                font::text_width(text, *large),
                escape(text)
            ),
        };
    }
    svg.push_str("</svg>\n");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plot::chart::TEXT;

    #[test]
    fn every_text_keeps_the_width_the_layout_measured_whatever_font_the_viewer_has() {
        let chart = Chart {
            width: 200,
            height: 100,
            shapes: vec![Shape::Text {
                x: 10.0,
                y: 20.0,
                text: "runs & limits".into(),
                anchor: Anchor::Start,
                color: TEXT,
                large: false,
            }],
        };
        let svg = render(&chart);
        let measured = format!("textLength=\"{:.1}\"", font::text_width("runs & limits", false));
        assert!(svg.contains(&measured) && svg.contains("lengthAdjust=\"spacingAndGlyphs\""), "{svg}");
        assert!(svg.contains(">runs &amp; limits</text>"), "{svg}");
    }
}
