//! PyTorch's OneCycleLR, stepped every batch.

/// PyTorch's OneCycleLR with its defaults (pct_start 0.3, cosine annealing, div_factor 25,
/// final_div_factor 1e4, momentum cycled between 0.85 and 0.95): (lr, momentum) for a step.
pub fn one_cycle(step: usize, total_steps: usize, lr_max: f64) -> (f64, f64) {
    let initial = lr_max / 25.0;
    let min = initial / 1e4;
    let (m_base, m_max) = (0.85, 0.95);
    let phase1_end = 0.3 * total_steps as f64 - 1.0;
    let phase2_end = total_steps as f64 - 1.0;
    let cos = |start: f64, end: f64, pct: f64| {
        end + (start - end) / 2.0 * ((std::f64::consts::PI * pct).cos() + 1.0)
    };
    let s = step as f64;
    if s <= phase1_end {
        let pct = s / phase1_end;
        (cos(initial, lr_max, pct), cos(m_max, m_base, pct))
    } else {
        let pct = (s - phase1_end) / (phase2_end - phase1_end);
        (cos(lr_max, min, pct), cos(m_base, m_max, pct))
    }
}
