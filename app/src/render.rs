//! `skyglass render`: HiPS surveys drawn to an image file without a window, like CDS's
//! hips2fits, through the same renderer as the sky view.

use crate::names::resolve_position;
use anyhow::{Context, Result, bail};
use clap::Args;
use skyglass_hips::HipsSurvey;
use skyglass_render::loader::{LayerSpec, choose_format, render_view, render_view_values};
use skyglass_render::{Blend, Colormap, GpuContext, GridStyle, LayerStyle, SkyRenderer, Stretch};
use skyglass_sky::{Angle, Frame, Projection, ViewCamera, Viewport};
use skyglass_votable::fits::FitsHeader;
use std::path::{Path, PathBuf};

#[derive(Debug, Args)]
pub struct RenderArgs {
    /// A HiPS folder, file:// or http(s):// URL (cached on disk); repeat for more layers,
    /// drawn bottom first.
    #[arg(long = "hips", required = true, value_name = "PATH_OR_URL")]
    hips: Vec<String>,

    /// The centre of the image, ICRS: degrees or sexagesimal ("10.68 41.27", "00:42:44 +41:16:09"),
    /// or a name from the offline index ("M31", "Betelgeuse", "NGC 1976").
    #[arg(long, allow_hyphen_values = true)]
    center: String,

    /// The field of view across the image's width, in degrees.
    #[arg(long, allow_hyphen_values = true)]
    fov: f64,

    /// SIN, TAN, STG, ZEA, ARC, AIT, MOL, MER, CAR or HPX.
    #[arg(long, default_value = "TAN")]
    projection: String,

    /// The frame of the image: north up in this frame, and its WCS in a FITS output.
    #[arg(long, default_value = "icrs")]
    frame: String,

    /// Image size in pixels, WIDTHxHEIGHT.
    #[arg(long, default_value = "1000x1000")]
    size: String,

    /// Colormap for FITS (value) layers: grey, viridis, inferno, magma, plasma, cividis,
    /// cubehelix, rainbow, twilight, red, green, blue. Asking for one draws FITS tiles.
    #[arg(long)]
    colormap: Option<String>,

    /// Stretch for FITS layers: linear, sqrt, log, asinh, pow2.
    #[arg(long)]
    stretch: Option<String>,

    /// Values at the ends of the colormap (default: the survey's hips_pixel_cut).
    #[arg(long, num_args = 2, value_names = ["LOW", "HIGH"], allow_hyphen_values = true)]
    cuts: Option<Vec<f64>>,

    /// Opacity of each layer after the first, 0 to 1 (default 1).
    #[arg(long, default_value_t = 1.0)]
    opacity: f32,

    /// How each layer after the first combines with those below: over, or add (for
    /// composites of bands).
    #[arg(long, default_value = "over")]
    blend: String,

    /// Draw a coordinate grid of this frame over the layers (icrs, galactic, …); lines only.
    #[arg(long, value_name = "FRAME")]
    grid: Option<String>,

    /// Output image: .png, .jpg, or .fits (with its WCS; the values of a FITS survey, else
    /// the colour image as three planes).
    #[arg(short, long)]
    output: PathBuf,
}

pub fn run(args: &RenderArgs) -> Result<()> {
    let camera = camera_for(args)?;
    let style = style_for(args)?;
    let blend: Blend = args.blend.parse()?;
    let extension = output_extension(&args.output)?;
    let want_values = args.colormap.is_some() || args.stretch.is_some() || args.cuts.is_some() || extension == "fits";

    let surveys = args
        .hips
        .iter()
        .map(|location| HipsSurvey::open(location).with_context(|| format!("cannot open HiPS {location}")))
        .collect::<Result<Vec<_>>>()?;

    let gpu = GpuContext::headless()?;
    tracing::debug!("rendering on {}", gpu.describe());
    let renderer = SkyRenderer::new(&gpu.device, &gpu.queue, skyglass_render::OFFSCREEN_FORMAT);
    let specs = surveys
        .iter()
        .enumerate()
        .map(|(position, survey)| {
            let format = choose_format(survey, want_values)
                .with_context(|| format!("{}: no tile format to draw", survey.location()))?;
            let (opacity, blend) = if position == 0 { (1.0, Blend::Over) } else { (args.opacity, blend) };
            Ok(LayerSpec { survey, format, style: LayerStyle { opacity, blend, ..style } })
        })
        .collect::<Result<Vec<_>>>()?;
    if extension == "fits" {
        return write_fits(args, &gpu, &renderer, &camera, &specs);
    }
    let grid = args.grid.as_deref().map(|name| -> Result<GridStyle> {
        Ok(GridStyle { frame: name.parse().context("bad --grid")?, ..GridStyle::default() })
    });
    let grid = grid.transpose()?;
    let (width, height, pixels, reports) = render_view(&gpu, &renderer, &camera, &specs, grid)?;
    for (survey, report) in surveys.iter().zip(&reports) {
        tracing::info!(
            "{}: order {}, {} tiles read, {} cells without a tile, {} unreadable",
            survey.location(),
            report.order,
            report.loaded,
            report.missing,
            report.failed.len()
        );
    }
    write_image(&args.output, extension, width, height, pixels)
}

fn camera_for(args: &RenderArgs) -> Result<ViewCamera> {
    let (centre, _) =
        resolve_position(&args.center, Frame::Icrs).with_context(|| format!("bad --center {:?}", args.center))?;
    let projection: Projection = args.projection.parse().context("bad --projection")?;
    let frame: Frame = args.frame.parse().context("bad --frame")?;
    if !(args.fov.is_finite() && args.fov > 0.0) {
        bail!("bad --fov {}: a positive number of degrees", args.fov);
    }
    if args.fov > projection.max_fov().degrees() {
        bail!("--fov {} is wider than {projection} can show ({}°)", args.fov, projection.max_fov().degrees());
    }
    let (width, height) = parse_size(&args.size)?;
    let centre_in_frame = Frame::Icrs.convert(frame, centre);
    let viewport = Viewport { width: f64::from(width), height: f64::from(height) };
    Ok(ViewCamera::new(centre_in_frame, Angle::from_degrees(args.fov), projection, frame, viewport))
}

fn style_for(args: &RenderArgs) -> Result<LayerStyle> {
    let mut style = LayerStyle::default();
    if let Some(name) = &args.colormap {
        style.colormap = name.parse::<Colormap>()?;
    }
    if let Some(name) = &args.stretch {
        style.stretch = name.parse::<Stretch>()?;
    }
    if let Some(cuts) = &args.cuts {
        let [low, high] = cuts.as_slice() else { bail!("--cuts takes two numbers") };
        if !(low.is_finite() && high.is_finite()) || low == high {
            bail!("bad --cuts {low} {high}: two different finite numbers");
        }
        style.cuts = Some([*low, *high]);
    }
    Ok(style)
}

fn parse_size(text: &str) -> Result<(u32, u32)> {
    let parsed = text
        .split_once(['x', 'X'])
        .and_then(|(w, h)| Some((w.trim().parse::<u32>().ok()?, h.trim().parse::<u32>().ok()?)));
    match parsed {
        Some((w, h)) if (1..=16384).contains(&w) && (1..=16384).contains(&h) => Ok((w, h)),
        _ => bail!("bad --size {text:?}: expected WIDTHxHEIGHT, each 1 to 16384 pixels"),
    }
}

fn output_extension(path: &Path) -> Result<&'static str> {
    let extension = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
    match extension.as_deref() {
        Some("png") => Ok("png"),
        Some("jpg" | "jpeg") => Ok("jpeg"),
        Some("fits" | "fit" | "fts") => Ok("fits"),
        _ => bail!("{}: the output must end in .png, .jpg or .fits", path.display()),
    }
}

/// A FITS image of the view with its WCS: the top layer's values when it is a FITS survey
/// (as hips2fits does), else the composited colours as three 8-bit planes (R, G, B).
fn write_fits(
    args: &RenderArgs,
    gpu: &GpuContext,
    renderer: &SkyRenderer,
    camera: &ViewCamera,
    specs: &[LayerSpec<'_>],
) -> Result<()> {
    let bytes = fits_image(gpu, renderer, camera, specs)?;
    write_atomically(&args.output, "fits", &bytes)
}

/// The FITS file of a view (see [`write_fits`]); the app sends it over SAMP too.
pub(crate) fn fits_image(
    gpu: &GpuContext,
    renderer: &SkyRenderer,
    camera: &ViewCamera,
    specs: &[LayerSpec<'_>],
) -> Result<Vec<u8>> {
    let Some(top) = specs.last() else { bail!("no layer to draw") };
    let mut header = FitsHeader::default();
    header.logical("SIMPLE", true);
    let data: Vec<u8> = if top.format.is_values() {
        if specs.len() > 1 {
            tracing::warn!("a FITS image keeps the values of one survey: only the top layer is written");
        }
        let (width, height, values, _) = render_view_values(gpu, renderer, camera, top)?;
        header.integer("BITPIX", -32);
        header.integer("NAXIS", 2);
        header.integer("NAXIS1", i64::from(width));
        header.integer("NAXIS2", i64::from(height));
        // FITS rows go bottom-up.
        values.chunks_exact(width as usize).rev().flatten().flat_map(|v| v.to_be_bytes()).collect()
    } else {
        let (width, height, pixels, _) = render_view(gpu, renderer, camera, specs, None)?;
        header.integer("BITPIX", 8);
        header.integer("NAXIS", 3);
        header.integer("NAXIS1", i64::from(width));
        header.integer("NAXIS2", i64::from(height));
        header.integer("NAXIS3", 3);
        (0..3)
            .flat_map(|channel| {
                pixels.chunks_exact(width as usize * 4).rev().flat_map(move |row| row.iter().skip(channel).step_by(4))
            })
            .copied()
            .collect()
    };
    let wcs = camera.wcs();
    header.integer("WCSAXES", 2);
    for axis in 0..2 {
        let n = axis + 1;
        header.string(&format!("CTYPE{n}"), &wcs.ctype[axis]);
        header.string(&format!("CUNIT{n}"), "deg");
        header.real(&format!("CRPIX{n}"), wcs.crpix[axis]);
        header.real(&format!("CRVAL{n}"), wcs.crval[axis]);
        header.real(&format!("CDELT{n}"), wcs.cdelt[axis]);
    }
    for (i, row) in wcs.pc.iter().enumerate() {
        for (j, value) in row.iter().enumerate() {
            header.real(&format!("PC{}_{}", i + 1, j + 1), *value);
        }
    }
    header.real("LONPOLE", wcs.lonpole);
    header.real("LATPOLE", wcs.latpole);
    if let Some((system, equinox)) = wcs.radesys {
        header.string("RADESYS", system);
        if let Some(equinox) = equinox {
            header.real("EQUINOX", equinox);
        }
    }
    header.string("ORIGIN", concat!("Skyglass ", env!("CARGO_PKG_VERSION")));
    header.string("HIPS", &top.survey.properties().title);
    if let Some(credit) = &top.survey.properties().copyright {
        header.string("HIPSCRED", credit);
    }
    let mut bytes = Vec::with_capacity(data.len() + 5760);
    header.write(&mut bytes).context("cannot write the FITS header")?;
    bytes.extend_from_slice(&data);
    bytes.resize(bytes.len().div_ceil(2880) * 2880, 0);
    Ok(bytes)
}

fn write_atomically(path: &Path, extension: &str, bytes: &[u8]) -> Result<()> {
    let partial = path.with_extension(format!("{extension}.partial"));
    if let Err(error) = std::fs::write(&partial, bytes) {
        let _ = std::fs::remove_file(&partial);
        bail!("cannot write {}: {error}", path.display());
    }
    std::fs::rename(&partial, path).with_context(|| format!("cannot write {}", path.display()))
}

fn write_image(path: &Path, extension: &str, width: u32, height: u32, pixels: Vec<u8>) -> Result<()> {
    let image = image::RgbaImage::from_raw(width, height, pixels).context("rendered image has the wrong size")?;
    // Written beside the target, then renamed: a failed run never leaves half an image.
    let partial = path.with_extension(format!("{extension}.partial"));
    let result = match extension {
        "jpeg" => image::DynamicImage::ImageRgba8(image).to_rgb8().save_with_format(&partial, image::ImageFormat::Jpeg),
        _ => image.save_with_format(&partial, image::ImageFormat::Png),
    };
    if let Err(error) = result {
        let _ = std::fs::remove_file(&partial);
        bail!("cannot write {}: {error}", path.display());
    }
    std::fs::rename(&partial, path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}
