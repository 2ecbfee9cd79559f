//! 3×3 rotation matrices, in the passive convention of ERFA and astropy.

use crate::angle::Angle;
use crate::coord::Vec3;

/// A rotation of the coordinate axes: `apply` takes a vector's components in the old frame to
/// its components in the new one.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rotation {
    rows: [[f64; 3]; 3],
}

impl Rotation {
    pub const IDENTITY: Rotation = Rotation { rows: [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]] };

    pub const fn from_rows(rows: [[f64; 3]; 3]) -> Rotation {
        Rotation { rows }
    }

    /// The axes rotated by `angle` about x (ERFA `eraRx`).
    pub fn about_x(angle: Angle) -> Rotation {
        let (s, c) = angle.radians().sin_cos();
        Rotation::from_rows([[1.0, 0.0, 0.0], [0.0, c, s], [0.0, -s, c]])
    }

    /// The axes rotated by `angle` about y (ERFA `eraRy`).
    pub fn about_y(angle: Angle) -> Rotation {
        let (s, c) = angle.radians().sin_cos();
        Rotation::from_rows([[c, 0.0, -s], [0.0, 1.0, 0.0], [s, 0.0, c]])
    }

    /// The axes rotated by `angle` about z (ERFA `eraRz`).
    pub fn about_z(angle: Angle) -> Rotation {
        let (s, c) = angle.radians().sin_cos();
        Rotation::from_rows([[c, s, 0.0], [-s, c, 0.0], [0.0, 0.0, 1.0]])
    }

    /// The rotation whose rows are the new axes expressed in the old frame.
    pub fn from_axes(x: Vec3, y: Vec3, z: Vec3) -> Rotation {
        Rotation::from_rows([[x.x, x.y, x.z], [y.x, y.y, y.z], [z.x, z.y, z.z]])
    }

    pub fn rows(&self) -> [[f64; 3]; 3] {
        self.rows
    }

    pub fn apply(&self, v: Vec3) -> Vec3 {
        let [a, b, c] = self.rows;
        Vec3::new(
            a[0] * v.x + a[1] * v.y + a[2] * v.z,
            b[0] * v.x + b[1] * v.y + b[2] * v.z,
            c[0] * v.x + c[1] * v.y + c[2] * v.z,
        )
    }

    /// `self` after `first`: the product `self · first`.
    pub fn after(&self, first: &Rotation) -> Rotation {
        let mut rows = [[0.0; 3]; 3];
        for (i, row) in rows.iter_mut().enumerate() {
            for (j, cell) in row.iter_mut().enumerate() {
                *cell = (0..3).map(|k| self.rows[i][k] * first.rows[k][j]).sum();
            }
        }
        Rotation { rows }
    }

    pub fn inverse(&self) -> Rotation {
        let r = self.rows;
        Rotation::from_rows([[r[0][0], r[1][0], r[2][0]], [r[0][1], r[1][1], r[2][1]], [r[0][2], r[1][2], r[2][2]]])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inverse_undoes() {
        let r = Rotation::about_z(Angle::from_degrees(30.0)).after(&Rotation::about_x(Angle::from_degrees(-12.0)));
        let v = Vec3::new(0.3, -0.4, 0.5);
        let back = r.inverse().apply(r.apply(v));
        assert!((back - v).norm() < 1e-15);
    }

    #[test]
    fn passive_convention() {
        // Rotating the axes by +90° about z moves the old x axis to -y in the new frame.
        let v = Rotation::about_z(Angle::from_degrees(90.0)).apply(Vec3::new(1.0, 0.0, 0.0));
        assert!((v - Vec3::new(0.0, -1.0, 0.0)).norm() < 1e-15);
    }
}
