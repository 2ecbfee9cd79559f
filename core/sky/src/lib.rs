//! The sky math every other Skyglass crate leans on: angles, positions as users type them,
//! celestial frames, map projections, the view camera, HEALPix and MOCs.
//!
//! Pure computation: no files (beyond reading a MOC the caller names), no GPU, no UI. Angles
//! are [`Angle`]s, radians inside and degrees at the edges; HEALPix is always NESTED.
//!
//! ```
//! use skyglass_sky::{parse_position, Angle, Frame, Projection, ViewCamera, Viewport};
//!
//! // M31 as a user would type it, seen in galactic coordinates.
//! let m31 = parse_position("00:42:44.3 +41:16:09", Frame::Icrs).unwrap();
//! let galactic = Frame::Icrs.convert(Frame::Galactic, m31);
//! assert!((galactic.lon().degrees() - 121.174).abs() < 1e-3);
//!
//! // A 1° TAN view centred on it: M31 sits in the middle of an 800×600 viewport.
//! let camera = ViewCamera::new(m31, Angle::from_degrees(1.0), Projection::Tan, Frame::Icrs,
//!     Viewport { width: 800.0, height: 600.0 });
//! let on_screen = camera.sky_to_screen(m31).unwrap();
//! assert!((on_screen.x - 400.0).abs() < 1e-9 && (on_screen.y - 300.0).abs() < 1e-9);
//! ```

pub mod angle;
pub mod camera;
pub mod coord;
pub mod footprint;
pub mod frame;
pub mod healpix;
pub mod image_wcs;
pub mod moc;
pub mod names;
pub mod parse;
pub mod projection;
pub mod rotation;

pub use angle::Angle;
pub use camera::{NdcPoint, ScreenPoint, ViewCamera, Viewport, Wcs};
pub use coord::{CoordError, LonLat, Vec3};
pub use footprint::{Footprint, FootprintError, Shape, parse_stcs};
pub use frame::{Frame, UnknownFrame};
pub use healpix::{Cell, HealpixError};
pub use image_wcs::{ImageWcs, WcsError};
pub use moc::{Moc, MocError, MocKind, SpaceMoc, SpaceTimeMoc, TimeMoc};
pub use names::{NameIndex, NamedObject};
pub use parse::{ParseCoordError, parse_latitude, parse_longitude, parse_position};
pub use projection::{Native, PlanePoint, Projection, UnknownProjection};
pub use rotation::Rotation;
