//! The look shared by every figure: the palette and the font built into the binary.

use std::sync::Once;

use plotters::style::{register_font, FontStyle, RGBColor};

/// DejaVu Sans (data/fonts/LICENSE-DejaVu.txt): figures render the same on a machine with no
/// fonts installed.
const FONT: &[u8] = include_bytes!("../../data/fonts/DejaVuSans.ttf");

/// Okabe and Ito's palette, distinguishable with every common colour-vision deficiency.
pub const PALETTE: [RGBColor; 8] = [
    RGBColor(0, 114, 178),
    RGBColor(230, 159, 0),
    RGBColor(0, 158, 115),
    RGBColor(213, 94, 0),
    RGBColor(86, 180, 233),
    RGBColor(204, 121, 167),
    RGBColor(240, 228, 66),
    RGBColor(0, 0, 0),
];

/// Registers the built-in font as "sans-serif" (once per process).
pub fn fonts() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = register_font("sans-serif", FontStyle::Normal, FONT);
    });
}
