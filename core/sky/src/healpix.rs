//! HEALPix helpers over `cdshealpix`, always in the NESTED scheme: cells, their vertices and
//! mesh grids, cone and polygon coverage, and the cells that cover a view.

use crate::angle::Angle;
use crate::camera::{ScreenPoint, ViewCamera};
use crate::coord::LonLat;
use crate::frame::Frame;
use cdshealpix::nested;
use cdshealpix::nested::bmoc::BMOC;
use cdshealpix::sph_geom::ContainsSouthPoleMethod;
use cdshealpix::sph_geom::coo3d::Coo3D;
use std::collections::BTreeSet;

/// The deepest HEALPix order (depth) that 64-bit NESTED indices can address.
pub const MAX_ORDER: u8 = 29;

/// One HEALPix cell: an order and a NESTED index valid at that order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Cell {
    order: u8,
    index: u64,
}

/// Why a HEALPix request cannot be answered.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum HealpixError {
    #[error("HEALPix order {0} is above the maximum, {MAX_ORDER}")]
    OrderTooDeep(u8),
    #[error("cell index {index} does not exist at order {order} (there are {count} cells)")]
    IndexOutOfRange { order: u8, index: u64, count: u64 },
    #[error("a polygon needs at least 3 vertices, got {0}")]
    TooFewVertices(usize),
}

/// The number of cells at `order`: 12 × 4^order.
pub fn cell_count(order: u8) -> u64 {
    12u64 << (2 * u32::from(order.min(MAX_ORDER)))
}

fn check_order(order: u8) -> Result<(), HealpixError> {
    if order > MAX_ORDER { Err(HealpixError::OrderTooDeep(order)) } else { Ok(()) }
}

impl Cell {
    pub fn new(order: u8, index: u64) -> Result<Cell, HealpixError> {
        check_order(order)?;
        let count = cell_count(order);
        if index >= count {
            return Err(HealpixError::IndexOutOfRange { order, index, count });
        }
        Ok(Cell { order, index })
    }

    /// The cell of `order` holding a direction.
    pub fn containing(order: u8, position: LonLat) -> Result<Cell, HealpixError> {
        check_order(order)?;
        let index = nested::hash(order, position.lon().radians(), position.lat().radians());
        Ok(Cell { order, index })
    }

    pub fn order(self) -> u8 {
        self.order
    }

    pub fn index(self) -> u64 {
        self.index
    }

    /// The NUNIQ number of MOC FITS files: 4 × 4^order + index.
    pub fn uniq(self) -> u64 {
        (4u64 << (2 * u32::from(self.order))) + self.index
    }

    pub fn parent(self) -> Option<Cell> {
        (self.order > 0).then(|| Cell { order: self.order - 1, index: self.index >> 2 })
    }

    pub fn children(self) -> Option<[Cell; 4]> {
        (self.order < MAX_ORDER).then(|| {
            let first = self.index << 2;
            [0, 1, 2, 3].map(|k| Cell { order: self.order + 1, index: first + k })
        })
    }

    pub fn centre(self) -> LonLat {
        let (lon, lat) = nested::center(self.order, self.index);
        lonlat_from_radians(lon, lat)
    }

    /// The four corners, in the order south, east, north, west.
    pub fn vertices(self) -> [LonLat; 4] {
        nested::vertices(self.order, self.index).map(|(lon, lat)| lonlat_from_radians(lon, lat))
    }

    /// A (n+1)×(n+1) grid of points regular in the HEALPix projection plane, for meshes:
    /// row-major, starting at the south vertex, x toward east, y toward west.
    pub fn grid(self, segments_per_side: u16) -> Vec<LonLat> {
        nested::grid(self.order, self.index, segments_per_side.max(1))
            .iter()
            .map(|&(lon, lat)| lonlat_from_radians(lon, lat))
            .collect()
    }
}

/// Cells of `order` that overlap a cone (a superset: cells near the edge may only come close).
pub fn cone_coverage(order: u8, centre: LonLat, radius: Angle) -> Result<Vec<u64>, HealpixError> {
    check_order(order)?;
    let radius = radius.radians();
    // Zero, negative or NaN radii: just the cell under the centre.
    if radius.is_nan() || radius <= 0.0 {
        return Ok(vec![nested::hash(order, centre.lon().radians(), centre.lat().radians())]);
    }
    if radius >= std::f64::consts::PI {
        return Ok((0..cell_count(order)).collect());
    }
    if radius > std::f64::consts::FRAC_PI_2 {
        // cdshealpix's approximate cone loses cells for some radii above ~150°. A cone wider
        // than a hemisphere is the sky less the cells lying wholly in the opposite cone.
        let antipode = LonLat::from_vec3(-centre.to_vec3());
        let outside = nested::cone_coverage_fullin(
            order,
            antipode.lon().radians(),
            antipode.lat().radians(),
            std::f64::consts::PI - radius,
        );
        let outside: BTreeSet<u64> = outside.flat_iter().collect();
        return Ok((0..cell_count(order)).filter(|cell| !outside.contains(cell)).collect());
    }
    let bmoc = nested::cone_coverage_approx(order, centre.lon().radians(), centre.lat().radians(), radius);
    Ok(bmoc.flat_iter().collect())
}

/// Cells of `order` that overlap a polygon whose edges are great-circle arcs. `inside`, a
/// point within the polygon, says which of the two regions the edges bound is meant; without
/// it cdshealpix's default rule decides, which suits polygons well under a hemisphere.
pub fn polygon_coverage(order: u8, vertices: &[LonLat], inside: Option<LonLat>) -> Result<Vec<u64>, HealpixError> {
    Ok(polygon_bmoc(order, vertices, inside)?.flat_iter().collect())
}

fn polygon_bmoc(order: u8, vertices: &[LonLat], inside: Option<LonLat>) -> Result<BMOC, HealpixError> {
    check_order(order)?;
    if vertices.len() < 3 {
        return Err(HealpixError::TooFewVertices(vertices.len()));
    }
    let radians: Vec<(f64, f64)> = vertices.iter().map(|v| (v.lon().radians(), v.lat().radians())).collect();
    let method = match inside {
        Some(p) => ContainsSouthPoleMethod::ControlPointIn(Coo3D::from_sph_coo(p.lon().radians(), p.lat().radians())),
        None => ContainsSouthPoleMethod::Default,
    };
    Ok(nested::get(order).custom_polygon_coverage(&radians, &method, true))
}

/// The cells of `order` that a view shows, sorted; a superset, never missing a visible cell.
///
/// Narrow views use the polygon traced by the viewport's border; wide ones (or views that
/// reach past the projection's edge) use a cone around the centre that holds every visible
/// point.
pub fn cells_in_view(camera: &ViewCamera, order: u8) -> Result<Vec<u64>, HealpixError> {
    cells_in_view_in(camera, order, camera.frame())
}

/// [`cells_in_view`] for a HEALPix grid laid out in `frame` (a survey's frame), which may
/// differ from the view's.
pub fn cells_in_view_in(camera: &ViewCamera, order: u8, frame: Frame) -> Result<Vec<u64>, HealpixError> {
    check_order(order)?;
    // Distances are the same in every frame: measure in the view's, cover in the grid's.
    let to_grid = |p: LonLat| camera.frame().convert(frame, p);
    let viewport = camera.viewport();
    let centre_on_screen = ScreenPoint { x: viewport.width / 2.0, y: viewport.height / 2.0 };
    let view_centre = camera.screen_to_sky(centre_on_screen).unwrap_or(camera.centre());
    let cell_size = max_cell_extent(order);

    if let Some(outline) = view_outline(camera, cell_size / 8.0) {
        let reach = outline.iter().map(|p| view_centre.separation(*p).radians()).fold(0.0, f64::max);
        if reach < std::f64::consts::FRAC_PI_2 * 0.9 {
            // The true border strays from the polygon's great-circle edges by under an eighth
            // of a cell: the ring of neighbours around the partly covered cells holds it.
            let mut set = BTreeSet::new();
            let outline: Vec<LonLat> = outline.into_iter().map(to_grid).collect();
            for cell in polygon_bmoc(order, &outline, Some(to_grid(view_centre)))?.flat_iter_cell() {
                set.insert(cell.hash);
                if !cell.is_full {
                    set.extend(nested::neighbours(order, cell.hash, false).sorted_values_vec());
                }
            }
            return Ok(set.into_iter().collect());
        }
    }

    // Wide view: the farthest visible sample sets the cone, padded by the sampling step. Once
    // the projection's edge is on screen, so is the farthest point it can show.
    let steps = 48;
    let mut reach: f64 = 0.0;
    let mut edge_visible = false;
    for i in 0..=steps {
        for j in 0..=steps {
            let p = ScreenPoint {
                x: viewport.width * f64::from(i) / f64::from(steps),
                y: viewport.height * f64::from(j) / f64::from(steps),
            };
            match camera.screen_to_sky(p) {
                Some(sky) => reach = reach.max(view_centre.separation(sky).radians()),
                None => edge_visible = true,
            }
        }
    }
    if edge_visible {
        reach = camera.projection().max_reach().radians();
    }
    let sample_step = camera.pixel_scale().radians() * viewport.width.max(viewport.height) / f64::from(steps);
    let radius = Angle::from_radians(reach + 4.0 * sample_step) + cell_size;
    cone_coverage(order, to_grid(view_centre), radius)
}

/// Adds `rings` rings of neighbouring cells around a set of cells of `order`, for prefetching
/// tiles just outside a view.
pub fn dilate(order: u8, cells: &[u64], rings: u32) -> Vec<u64> {
    let mut set: BTreeSet<u64> = cells.iter().copied().collect();
    let mut frontier: Vec<u64> = cells.to_vec();
    for _ in 0..rings {
        let mut next = Vec::new();
        for &cell in &frontier {
            for neighbour in nested::neighbours(order, cell, false).sorted_values_vec() {
                if set.insert(neighbour) {
                    next.push(neighbour);
                }
            }
        }
        frontier = next;
    }
    set.into_iter().collect()
}

/// Twice the largest centre-to-vertex distance found over the latitudes where cells are most
/// stretched: a bound on any cell's extent at `order`.
fn max_cell_extent(order: u8) -> Angle {
    let largest = [0.0, 0.5, 0.7297, 0.9, 1.2, 1.45, 1.55]
        .into_iter()
        .map(|lat| cdshealpix::largest_center_to_vertex_distance(order, 0.0, lat))
        .fold(0.0, f64::max);
    Angle::from_radians(2.0 * largest)
}

/// The viewport's border on the sky as a polygon whose great-circle edges stray from the true
/// border by less than `tolerance`; `None` if part of the border is off the projection.
fn view_outline(camera: &ViewCamera, tolerance: Angle) -> Option<Vec<LonLat>> {
    let viewport = camera.viewport();
    let (w, h) = (viewport.width, viewport.height);
    let corners = [
        ScreenPoint { x: 0.0, y: 0.0 },
        ScreenPoint { x: w, y: 0.0 },
        ScreenPoint { x: w, y: h },
        ScreenPoint { x: 0.0, y: h },
    ];
    let per_side = 8;
    let mut outline = Vec::new();
    for (k, &start) in corners.iter().enumerate() {
        let end = corners[(k + 1) % corners.len()];
        for step in 0..per_side {
            let at = |t: f64| ScreenPoint { x: start.x + (end.x - start.x) * t, y: start.y + (end.y - start.y) * t };
            let (t0, t1) = (f64::from(step) / f64::from(per_side), f64::from(step + 1) / f64::from(per_side));
            let (a, b) = (at(t0), at(t1));
            let a_sky = camera.screen_to_sky(a)?;
            let b_sky = camera.screen_to_sky(b)?;
            refine_edge(camera, (a, a_sky), (b, b_sky), tolerance.radians(), 0, &mut outline)?;
        }
    }
    Some(outline)
}

/// Pushes `a` and the points between `a` and `b` needed for the great-circle chords to follow
/// the screen edge within `tolerance` radians.
fn refine_edge(
    camera: &ViewCamera,
    a: (ScreenPoint, LonLat),
    b: (ScreenPoint, LonLat),
    tolerance: f64,
    depth: u32,
    outline: &mut Vec<LonLat>,
) -> Option<()> {
    let middle = ScreenPoint { x: (a.0.x + b.0.x) / 2.0, y: (a.0.y + b.0.y) / 2.0 };
    let middle_sky = camera.screen_to_sky(middle)?;
    let chord_normal = a.1.to_vec3().cross(b.1.to_vec3()).normalized();
    let deviation = chord_normal.map_or(0.0, |n| n.dot(middle_sky.to_vec3()).abs().asin());
    if deviation > tolerance && depth < 16 {
        refine_edge(camera, a, (middle, middle_sky), tolerance, depth + 1, outline)?;
        refine_edge(camera, (middle, middle_sky), b, tolerance, depth + 1, outline)
    } else {
        outline.push(a.1);
        Some(())
    }
}

/// cdshealpix gives directions in range; fall back to the raw values only if it ever did not.
fn lonlat_from_radians(lon: f64, lat: f64) -> LonLat {
    LonLat::from_radians(lon, lat).unwrap_or_else(|_| {
        LonLat::from_vec3(crate::coord::Vec3::new(lat.cos() * lon.cos(), lat.cos() * lon.sin(), lat.sin()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_and_uniq() {
        assert_eq!(cell_count(0), 12);
        assert_eq!(cell_count(3), 768);
        let cell = Cell::new(3, 304).unwrap();
        assert_eq!(cell.uniq(), 4 * 64 + 304);
        assert_eq!(cell.parent().unwrap().index(), 76);
        assert_eq!(cell.children().unwrap()[3].index(), 304 * 4 + 3);
        assert_eq!(Cell::new(3, 768), Err(HealpixError::IndexOutOfRange { order: 3, index: 768, count: 768 }));
        assert_eq!(Cell::new(30, 0), Err(HealpixError::OrderTooDeep(30)));
    }

    #[test]
    fn a_cell_contains_its_centre_and_grid() {
        let cell = Cell::new(5, 1234).unwrap();
        assert_eq!(Cell::containing(5, cell.centre()).unwrap(), cell);
        let grid = cell.grid(4);
        assert_eq!(grid.len(), 25);
        // The grid's first point is the south vertex.
        assert!(grid[0].separation(cell.vertices()[0]).mas() < 1e-3);
    }

    #[test]
    fn polygon_needs_three_vertices() {
        let p = LonLat::from_degrees(0.0, 0.0).unwrap();
        assert_eq!(polygon_coverage(3, &[p, p], None), Err(HealpixError::TooFewVertices(2)));
    }

    #[test]
    fn dilation_grows_by_rings() {
        let one = dilate(4, &[100], 1);
        assert_eq!(one.len(), 9);
        assert!(dilate(4, &[100], 2).len() > 9);
    }
}
