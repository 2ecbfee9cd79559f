#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Every s_region of the real ObsCore results in shared/data/footprints (ALMA, CASDA, MAST,
//! pyvo's ObsCore sample) reads as a footprint, and each lies where its row's s_ra, s_dec
//! says the observation points.

use skyglass_sky::{LonLat, Shape, Vec3, parse_stcs};
use skyglass_test_support::shared_file;

/// The smallest cap around a footprint: its centre and radius in degrees.
fn cap(shapes: &[Shape]) -> (LonLat, f64) {
    let mut points = Vec::new();
    for shape in shapes {
        match shape {
            Shape::Polygon(vertices) => points.extend(vertices.iter().map(|v| (*v, 0.0))),
            Shape::Circle { centre, radius } => points.push((*centre, radius.degrees())),
        }
    }
    let sum = points.iter().fold(Vec3::new(0.0, 0.0, 0.0), |s, (p, _)| {
        let v = p.to_vec3();
        Vec3::new(s.x + v.x, s.y + v.y, s.z + v.z)
    });
    let centre = LonLat::from_vec3(sum);
    let radius = points.iter().map(|(p, r)| p.separation(centre).degrees() + r).fold(0.0, f64::max);
    (centre, radius)
}

/// (s_region, s_ra, s_dec) of every row that has them.
fn rows(relative: &str) -> Vec<(String, Option<(f64, f64)>)> {
    let path = shared_file(relative);
    if relative.ends_with(".json") {
        let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        return json["data"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|row| {
                let region = row["s_region"].as_str()?.to_owned();
                let at = row["s_ra"].as_f64().zip(row["s_dec"].as_f64());
                Some((region, at))
            })
            .collect();
    }
    let table = skyglass_votable::read_table(
        std::io::BufReader::new(std::fs::File::open(&path).unwrap()),
        skyglass_votable::TableFormat::VoTable,
    )
    .unwrap();
    let column = |name: &str| table.schema.fields().iter().position(|f| f.name().eq_ignore_ascii_case(name));
    let Some(region) = column("s_region") else { return Vec::new() };
    let (ra, dec) = (column("s_ra"), column("s_dec"));
    let mut out = Vec::new();
    for batch in &table.batches {
        let text =
            arrow_cast::display::ArrayFormatter::try_new(batch.column(region).as_ref(), &Default::default()).unwrap();
        let number = |index: Option<usize>, row: usize| {
            let column = batch.column(index?);
            let cast = arrow_cast::cast(column, &arrow_schema::DataType::Float64).ok()?;
            let values = cast.as_any().downcast_ref::<arrow_array::Float64Array>()?;
            arrow_array::Array::is_valid(values, row).then(|| values.value(row))
        };
        for row in 0..batch.num_rows() {
            if arrow_array::Array::is_null(batch.column(region).as_ref(), row) {
                continue;
            }
            out.push((text.value(row).to_string(), number(ra, row).zip(number(dec, row))));
        }
    }
    out
}

#[test]
fn every_real_s_region_reads_and_lies_where_its_row_points() {
    let mut read = 0;
    let mut placed = 0;
    for file in [
        "footprints/astroquery/alma/alma-shapes.xml",
        "footprints/astroquery/casda/cone.xml",
        "footprints/astroquery/casda/box.xml",
        "footprints/astroquery/mast/caom.json",
        "footprints/astroquery/mast/advSearchPos.json",
        "footprints/pyvo/obscore-image.xml",
    ] {
        for (region, at) in rows(file) {
            let footprint = parse_stcs(&region).unwrap_or_else(|e| panic!("{file}: {e}"));
            assert!(!footprint.shapes.is_empty(), "{file}: {region}");
            read += 1;
            if let Some((ra, dec)) = at {
                let (centre, radius) = cap(&footprint.shapes);
                let pointing = LonLat::from_degrees(ra, dec).unwrap();
                let off = pointing.separation(centre).degrees();
                assert!(
                    off <= radius + 1e-6,
                    "{file}: ({ra}, {dec}) is {off}° from a footprint of radius {radius}°: {region}"
                );
                placed += 1;
            }
        }
    }
    // 51 rows across the six files, every one with its pointing.
    assert!(read >= 50 && placed == read, "{read} read, {placed} placed");
}

/// Each real footprint contains the position its row gives (the observation's centre) and
/// not the point opposite on the sky; an ALMA mosaic's hole is outside.
#[test]
fn footprints_contain_their_centres() {
    let files = [
        "footprints/astroquery/casda/box.xml",
        "footprints/astroquery/casda/cone.xml",
        "footprints/pyvo/obscore-image.xml",
        "footprints/astroquery/mast/caom.json",
    ];
    let mut checked = 0;
    for file in files {
        for (region, at) in rows(file) {
            let Some((ra, dec)) = at else { continue };
            let footprint = parse_stcs(&region).unwrap();
            let centre = LonLat::from_degrees(ra, dec).unwrap();
            assert!(footprint.contains(centre), "{file}: {region} holds {ra} {dec}");
            let opposite = LonLat::from_degrees((ra + 180.0) % 360.0, -dec).unwrap();
            assert!(!footprint.contains(opposite), "{file}: {region}");
            checked += 1;
        }
    }
    assert!(checked > 20, "{checked}");
    let holed =
        parse_stcs("Polygon ICRS 10 10 12 10 12 12 10 12 Not (Polygon 10.5 10.5 11.5 10.5 11.5 11.5 10.5 11.5)");
    let holed = holed.unwrap();
    assert!(holed.contains(LonLat::from_degrees(10.2, 10.2).unwrap()));
    assert!(!holed.contains(LonLat::from_degrees(11.0, 11.0).unwrap()), "the hole");
}
