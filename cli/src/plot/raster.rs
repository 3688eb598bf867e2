//! Shapes to a PNG image: drawn with embedded-graphics (its built-in bitmap fonts need no font
//! files on the machine) into an RGB buffer, encoded with `png`.

use std::convert::Infallible;
use std::io::Write;

use embedded_graphics::mono_font::MonoTextStyle;
use embedded_graphics::mono_font::ascii::{FONT_6X10, FONT_8X13_BOLD};
use embedded_graphics::pixelcolor::Rgb888;
use embedded_graphics::prelude::*;
use embedded_graphics::primitives::{Circle, Line, PrimitiveStyle, Rectangle};
use embedded_graphics::text::{Alignment, Text};

use super::chart::{Anchor, Chart, Rgb, Shape};

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
            let font = if *large { &FONT_8X13_BOLD } else { &FONT_6X10 };
            let alignment = match anchor {
                Anchor::Start => Alignment::Left,
                Anchor::Middle => Alignment::Center,
                Anchor::End => Alignment::Right,
            };
            // The bitmap fonts are ASCII: anything else is drawn as '?'.
            let ascii: String = text.chars().map(|c| if c.is_ascii() { c } else { '?' }).collect();
            Text::with_alignment(&ascii, point(*x, *y), MonoTextStyle::new(font, rgb(*color)), alignment)
                .draw(canvas)
                .map(|_| ())
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
