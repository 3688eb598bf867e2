//! The plots' one font, bundled: DejaVu Sans (regular and bold), which covers Latin, Greek,
//! Cyrillic, Armenian, Georgian, Hebrew, Arabic and many symbols, so task names in those scripts
//! are drawn as they are written (a script it lacks, such as CJK, shows as boxes in a PNG; an
//! SVG names the same family first and falls back to the viewer's fonts). Layout measures text
//! with it, so the SVG and PNG backends place text alike.

use std::sync::OnceLock;

use ab_glyph::{Font, FontRef, PxScale, ScaleFont};

/// Text sizes in pixels.
pub const SMALL_PX: f32 = 12.0;
pub const LARGE_PX: f32 = 16.0;

pub struct Fonts {
    pub regular: FontRef<'static>,
    pub bold: FontRef<'static>,
}

/// The bundled fonts, parsed once.
pub fn fonts() -> &'static Fonts {
    static FONTS: OnceLock<Fonts> = OnceLock::new();
    FONTS.get_or_init(|| Fonts {
        // Bundled bytes of a well-formed font (a test parses them): this cannot fail at run time.
        regular: FontRef::try_from_slice(dejavu::sans::regular()).expect("the bundled DejaVu Sans parses"),
        bold: FontRef::try_from_slice(dejavu::sans::bold()).expect("the bundled DejaVu Sans Bold parses"),
    })
}

/// The font and pixel size of small or large (bold) text.
pub fn face(large: bool) -> (&'static FontRef<'static>, PxScale) {
    let fonts = fonts();
    if large { (&fonts.bold, PxScale::from(LARGE_PX)) } else { (&fonts.regular, PxScale::from(SMALL_PX)) }
}

/// The advance of `text` in pixels, kerning included.
pub fn text_width(text: &str, large: bool) -> f64 {
    let (font, scale) = face(large);
    let scaled = font.as_scaled(scale);
    let mut width = 0.0f32;
    let mut previous = None;
    for c in text.chars() {
        let glyph = scaled.glyph_id(c);
        if let Some(previous) = previous {
            width += scaled.kern(previous, glyph);
        }
        width += scaled.h_advance(glyph);
        previous = Some(glyph);
    }
    f64::from(width)
}

/// `text` cut at the end (with "…") to fit `max_width` pixels.
pub fn fit(text: &str, large: bool, max_width: f64) -> String {
    if text_width(text, large) <= max_width {
        return text.to_owned();
    }
    let mut kept: String = text.to_owned();
    while !kept.is_empty() && text_width(&format!("{kept}…"), large) > max_width {
        kept.pop();
    }
    format!("{}…", kept.trim_end())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_fonts_parse_and_have_glyphs_beyond_ascii() {
        let fonts = fonts();
        for c in ['é', 'ж', 'λ', 'ש', '→'] {
            assert_ne!(fonts.regular.glyph_id(c).0, 0, "{c} has a glyph");
        }
        assert!(text_width("nightly-export", false) > text_width("etl", false));
        assert!(text_width("etl", true) > text_width("etl", false));
    }

    #[test]
    fn fitting_cuts_long_text_with_an_ellipsis_and_leaves_short_text_alone() {
        assert_eq!(fit("etl", false, 500.0), "etl");
        let cut = fit(&"very long task name ".repeat(20), true, 300.0);
        assert!(cut.ends_with('…') && text_width(&cut, true) <= 300.0, "{cut}");
    }
}
