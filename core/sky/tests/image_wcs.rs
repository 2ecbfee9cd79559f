#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Pixels of real FITS images go to the sky where astropy.wcs puts them, and back.

use skyglass_sky::{ImageWcs, LonLat};
use skyglass_test_support::shared_file;

#[test]
fn image_pixels_land_where_astropy_puts_them() {
    let files = [
        "fits/astropy/m13.fits",
        "fits/astroquery/cadc/query_images.fits",
        "fits/astroquery/first/image.fits",
        "fits/astroquery/magpis/image.fits",
        "fits/astroquery/irsa_dust/test.fits",
        "fits/astroquery/nvas/image.imfits",
    ];
    for file in files {
        let path = shared_file(file);
        let bytes = std::fs::read(&path).unwrap();
        let image = skyglass_votable::fits::read_fits_image(&bytes).unwrap();
        let wcs = ImageWcs::from_header(|key| image.header.get(key).cloned()).unwrap();
        // astropy's answers for a few pixels (1-based, as FITS counts).
        let pixels = [(1.0, 1.0), (image.width as f64, 1.0), (20.5, 70.25), (image.width as f64, image.height as f64)];
        let script = format!(
            "import warnings; warnings.simplefilter('ignore')\n\
             from astropy.io import fits\nfrom astropy.wcs import WCS\n\
             w = WCS(fits.open('{}')[0].header).celestial\n\
             for x, y in {pixels:?}:\n    ra, dec = w.all_pix2world(x, y, 1)\n    print(float(ra), float(dec))\n",
            path.display()
        );
        let output = std::process::Command::new("python3").args(["-c", &script]).output().unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        let text = String::from_utf8_lossy(&output.stdout).into_owned();
        for ((x, y), line) in pixels.iter().zip(text.lines()) {
            let expected: Vec<f64> = line.split_whitespace().map(|v| v.parse().unwrap()).collect();
            let expected = LonLat::from_degrees(expected[0], expected[1]).unwrap();
            let ours = wcs.pixel_to_world(*x, *y).unwrap();
            let error = ours.separation(expected).degrees() * 3600.0;
            assert!(error < 1e-6, "{file} pixel ({x}, {y}): {error}″ from astropy");
            let (bx, by) = wcs.world_to_pixel(ours).unwrap();
            assert!((bx - x).abs() < 1e-8 && (by - y).abs() < 1e-8, "{file}: back to ({bx}, {by})");
        }
    }
}

#[test]
fn headers_without_a_celestial_wcs_say_why() {
    let none = ImageWcs::from_header(|_| None).unwrap_err().to_string();
    assert!(none.contains("no CTYPE1"), "{none}");
    let cards =
        [("CTYPE1", "RA---TAN"), ("CTYPE2", "DEC--TAN"), ("CRVAL1", "10"), ("CRVAL2", "20"), ("EQUINOX", "1950")];
    let b1950 = ImageWcs::from_header(|k| cards.iter().find(|(c, _)| *c == k).map(|(_, v)| (*v).to_owned()));
    assert!(b1950.unwrap_err().to_string().contains("B1950"));
    let sip = [("CTYPE1", "RA---TAN-SIP"), ("CTYPE2", "DEC--TAN-SIP"), ("CRVAL1", "10"), ("CRVAL2", "20")];
    let sip = ImageWcs::from_header(|k| sip.iter().find(|(c, _)| *c == k).map(|(_, v)| (*v).to_owned()));
    assert!(sip.unwrap_err().to_string().contains("distortions"));
}
