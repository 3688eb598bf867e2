//! Shapes to a PNG image: lines, rectangles and dots drawn with embedded-graphics, text with the
//! bundled font (anti-aliased, any script the font covers), into an RGB buffer encoded with `png`.

use std::convert::Infallible;
use std::io::Write;

use ab_glyph::{Font, ScaleFont};
use embedded_graphics::pixelcolor::Rgb888;
use embedded_graphics::prelude::*;
use embedded_graphics::primitives::{Circle, Line, PrimitiveStyle, Rectangle};

use super::chart::{Anchor, Chart, Rgb, Shape};
use super::font;

struct Canvas {
    width: u32,
    height: u32,
    pixels: Vec<u8>,
}

impl OriginDimensions for Canvas {
    fn size(&self) -> Size {
        Size::new(self.width, self.height)
    }
}

impl DrawTarget for Canvas {
    type Color = Rgb888;
    type Error = Infallible;

    fn draw_iter<I: IntoIterator<Item = Pixel<Rgb888>>>(&mut self, pixels: I) -> Result<(), Infallible> {
        for Pixel(point, color) in pixels {
            if let (Ok(x), Ok(y)) = (u32::try_from(point.x), u32::try_from(point.y))
                && x < self.width
                && y < self.height
            {
                let at = ((y * self.width + x) * 3) as usize;
                self.pixels[at..at + 3].copy_from_slice(&[color.r(), color.g(), color.b()]);
            }
        }
        Ok(())
    }
}

fn rgb((r, g, b): Rgb) -> Rgb888 {
    Rgb888::new(r, g, b)
}

fn point(x: f64, y: f64) -> Point {
    Point::new(x.round() as i32, y.round() as i32)
}

fn draw(canvas: &mut Canvas, shape: &Shape) -> Result<(), Infallible> {
    match shape {
        Shape::Rect { x, y, w, h, fill } => {
            Rectangle::new(point(*x, *y), Size::new(w.round() as u32, h.round() as u32))
                .into_styled(PrimitiveStyle::with_fill(rgb(*fill)))
                .draw(canvas)
        }
        Shape::Line { x1, y1, x2, y2, color, width } => Line::new(point(*x1, *y1), point(*x2, *y2))
            .into_styled(PrimitiveStyle::with_stroke(rgb(*color), *width))
            .draw(canvas),
        Shape::Tick { x, y, color } => Line::new(point(*x - 4.0, *y), point(*x + 4.0, *y))
            .into_styled(PrimitiveStyle::with_stroke(rgb(*color), 2))
            .draw(canvas),
        Shape::Dot { x, y, r, fill, ring } => {
            let diameter = (2.0 * r).round() as u32 + 1;
            Circle::with_center(point(*x, *y), diameter)
                .into_styled(PrimitiveStyle::with_fill(rgb(*fill)))
                .draw(canvas)?;
            match ring {
                Some(ring) => Circle::with_center(point(*x, *y), diameter + 6)
                    .into_styled(PrimitiveStyle::with_stroke(rgb(*ring), 2))
                    .draw(canvas),
                None => Ok(()),
            }
        }
        Shape::Text { x, y, text, anchor, color, large } => {
            draw_text(canvas, *x, *y, text, *anchor, *color, *large);
            Ok(())
        }
    }
}

/// `text` with its baseline at `y`, anchored at `x`, in the bundled font, each pixel blended by
/// the glyph's coverage.
fn draw_text(canvas: &mut Canvas, x: f64, y: f64, text: &str, anchor: Anchor, color: Rgb, large: bool) {
    let width = font::text_width(text, large);
    let start = match anchor {
        Anchor::Start => x,
        Anchor::Middle => x - width / 2.0,
        Anchor::End => x - width,
    };
    let (face, scale) = font::face(large);
    let scaled = face.as_scaled(scale);
    let mut pen = start as f32;
    let mut previous = None;
    for c in text.chars() {
        let id = scaled.glyph_id(c);
        if let Some(previous) = previous {
            pen += scaled.kern(previous, id);
        }
        let glyph = id.with_scale_and_position(scale, ab_glyph::point(pen, y as f32));
        pen += scaled.h_advance(id);
        previous = Some(id);
        let Some(outlined) = face.outline_glyph(glyph) else { continue };
        let bounds = outlined.px_bounds();
        outlined.draw(|gx, gy, coverage| {
            let px = bounds.min.x as i64 + i64::from(gx);
            let py = bounds.min.y as i64 + i64::from(gy);
            canvas.blend(px, py, color, coverage);
        });
    }
}

impl Canvas {
    /// Mixes `color` into the pixel at (`x`, `y`) by `coverage` (0 to 1); off-canvas is ignored.
    fn blend(&mut self, x: i64, y: i64, (r, g, b): Rgb, coverage: f32) {
        let (Ok(x), Ok(y)) = (u32::try_from(x), u32::try_from(y)) else { return };
        if x >= self.width || y >= self.height {
            return;
        }
        let at = ((y * self.width + x) * 3) as usize;
        let alpha = coverage.clamp(0.0, 1.0);
        for (channel, value) in self.pixels[at..at + 3].iter_mut().zip([r, g, b]) {
            *channel = (f32::from(*channel) * (1.0 - alpha) + f32::from(value) * alpha).round() as u8;
        }
    }
}

pub fn render(chart: &Chart, out: impl Write) -> Result<(), png::EncodingError> {
    let mut canvas = Canvas {
        width: chart.width,
        height: chart.height,
        pixels: vec![255; (chart.width * chart.height * 3) as usize],
    };
    for shape in &chart.shapes {
        let Ok(()) = draw(&mut canvas, shape);
    }
    let mut encoder = png::Encoder::new(out, chart.width, chart.height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header()?;
    writer.write_image_data(&canvas.pixels)?;
    writer.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inked(text: &str) -> usize {
        let mut canvas = Canvas { width: 60, height: 30, pixels: vec![255; 60 * 30 * 3] };
        draw_text(&mut canvas, 5.0, 20.0, text, Anchor::Start, (0, 0, 0), false);
        canvas.pixels.chunks(3).filter(|pixel| pixel[0] < 128).count()
    }

    #[test]
    fn letters_beyond_ascii_are_drawn_with_their_own_shapes() {
        assert!(inked("ж") > 10, "a Cyrillic letter leaves ink");
        assert_ne!(inked("ж"), inked("?"), "it is not drawn as a question mark");
        assert_ne!(inked("λ"), inked("ж"));
        assert_eq!(inked(" "), 0);
    }
}
