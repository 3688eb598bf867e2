//! `overrun plot`: the seed's figure for one task type — durations over time, the expected line
//! and the upper band as they moved night by night, alerts ringed — as SVG or PNG.

pub mod chart;
pub mod font;
pub mod raster;
pub mod series;
pub mod slots;
pub mod svg;
