//! A wgpu device for drawing without a window (`skyglass render`, tests, benchmarks).

/// What went wrong getting a GPU; the message says what to install where it helps.
#[derive(Debug, thiserror::Error)]
pub enum GpuError {
    #[error(
        "no GPU adapter found ({0}); on Linux without a GPU, install Mesa's software Vulkan driver (mesa-vulkan-drivers)"
    )]
    NoAdapter(String),
    #[error("the GPU refused a device: {0}")]
    Device(String),
    #[error("reading the rendered image back failed: {0}")]
    Readback(String),
}

/// An adapter, its device and queue.
pub struct GpuContext {
    pub adapter: wgpu::Adapter,
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
}

impl GpuContext {
    /// The best adapter on offer with no window; falls back to a software one (lavapipe,
    /// WARP) when there is no GPU. `WGPU_BACKEND` and `WGPU_ADAPTER_NAME` are honoured.
    pub fn headless() -> Result<GpuContext, GpuError> {
        // Vulkan, Metal or DX12 (software Vulkan included); GL only when asked for through
        // WGPU_BACKEND, since probing it prints driver errors on machines without a GPU.
        let mut descriptor = wgpu::InstanceDescriptor::new_without_display_handle();
        descriptor.backends = wgpu::Backends::from_env().unwrap_or(wgpu::Backends::PRIMARY);
        let instance = wgpu::Instance::new(descriptor.with_env());
        let adapter = pollster::block_on(instance.request_adapter(&wgpu::RequestAdapterOptions {
            power_preference: wgpu::PowerPreference::HighPerformance,
            force_fallback_adapter: false,
            compatible_surface: None,
            ..Default::default()
        }))
        .map_err(|error| GpuError::NoAdapter(error.to_string()))?;
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("skyglass headless"),
            required_limits: adapter.limits(),
            ..Default::default()
        }))
        .map_err(|error| GpuError::Device(error.to_string()))?;
        Ok(GpuContext { adapter, device, queue })
    }

    /// The adapter's name and backend, for logs and benchmark reports.
    pub fn describe(&self) -> String {
        let info = self.adapter.get_info();
        format!("{} ({:?})", info.name, info.backend)
    }
}
