//! The 15 standard corruptions of CIFAR-10-C and CIFAR-100-C (Hendrycks and Dietterich, ICLR
//! 2019), each a `<name>.npy` file of the published layout.

named_enum! {
    pub enum Corruption ("corruption") {
        GaussianNoise = "gaussian_noise",
        ShotNoise = "shot_noise",
        ImpulseNoise = "impulse_noise",
        DefocusBlur = "defocus_blur",
        GlassBlur = "glass_blur",
        MotionBlur = "motion_blur",
        ZoomBlur = "zoom_blur",
        Snow = "snow",
        Frost = "frost",
        Fog = "fog",
        Brightness = "brightness",
        Contrast = "contrast",
        ElasticTransform = "elastic_transform",
        Pixelate = "pixelate",
        JpegCompression = "jpeg_compression",
    }
}

impl Corruption {
    /// Images per severity block in each file (the test split, in order).
    pub const PER_SEVERITY: i64 = 10_000;
    /// Severities 1..=5.
    pub const SEVERITIES: std::ops::RangeInclusive<i64> = 1..=5;
}
