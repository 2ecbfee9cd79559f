//! The Skyglass sky renderer, on wgpu and independent of any UI.
//!
//! [`SkyRenderer`] holds the pipelines; a [`HipsLayer`] holds one survey's resident tiles on
//! the GPU; [`loader`] decides which tiles a view needs and reads them from a survey. The
//! GUI draws through the same code into its window; [`render_to_rgba`] draws offscreen for
//! `skyglass render` and the tests.

pub mod gpu;
pub mod grid;
pub mod image;
pub mod layer;
pub mod loader;
pub mod overlay;
pub mod renderer;
pub mod style;

pub use gpu::{GpuContext, GpuError};
pub use grid::{GridLabel, GridLayer, GridStyle, grid_labels, grid_steps};
pub use image::{ImageLayer, ImageStyle};
pub use layer::{HipsLayer, LayerDescriptor, LayerError, view_order};
pub use overlay::{
    LineStyle, MarkerLayer, MarkerPlacement, MarkerShape, MarkerStyle, MocLayer, SegmentLayer, ViewDraw,
};
pub use renderer::{
    OFFSCREEN_FORMAT, OverlayMut, OverlayRef, SkyRenderer, VALUES_FORMAT, render_scene, render_to_rgba, render_values,
};
pub use style::{Blend, Colormap, LayerStyle, Stretch};
