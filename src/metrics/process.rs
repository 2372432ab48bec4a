//! The standard `process_*` metrics that Go exporters publish, read from `/proc` on
//! Linux. On other systems none of them is written.

use prometheus_client::encoding::DescriptorEncoder;

#[cfg(target_os = "linux")]
pub fn encode(encoder: &mut DescriptorEncoder) -> Result<(), std::fmt::Error> {
    use prometheus_client::encoding::NoLabelSet;
    use prometheus_client::metrics::MetricType;
    use prometheus_client::registry::Unit;

    use super::Sample;

    let Ok(process) = procfs::process::Process::myself() else {
        return Ok(());
    };

    if let Ok(stat) = process.stat() {
        let ticks_per_second = procfs::ticks_per_second() as f64;
        let cpu_seconds = (stat.utime + stat.stime) as f64 / ticks_per_second;
        encoder
            .encode_descriptor(
                "process_cpu",
                "Total user and system CPU time spent in seconds.",
                Some(&Unit::Seconds),
                MetricType::Counter,
            )?
            .encode_counter::<NoLabelSet, _, f64>(&cpu_seconds, None)?;
        encoder
            .encode_descriptor(
                "process_resident_memory",
                "Resident memory size in bytes.",
                Some(&Unit::Bytes),
                MetricType::Gauge,
            )?
            .encode_gauge(&(stat.rss * procfs::page_size()))?;
        encoder
            .encode_descriptor(
                "process_virtual_memory",
                "Virtual memory size in bytes.",
                Some(&Unit::Bytes),
                MetricType::Gauge,
            )?
            .encode_gauge(&stat.vsize)?;
        if let Ok(boot_time) = procfs::boot_time_secs() {
            let start_time = boot_time as f64 + stat.starttime as f64 / ticks_per_second;
            encoder
                .encode_descriptor(
                    "process_start_time",
                    "Start time of the process since unix epoch in seconds.",
                    Some(&Unit::Seconds),
                    MetricType::Gauge,
                )?
                .encode_gauge(&Sample(start_time))?;
        }
    }

    if let Ok(open_fds) = process.fd_count() {
        encoder
            .encode_descriptor(
                "process_open_fds",
                "Number of open file descriptors.",
                None,
                MetricType::Gauge,
            )?
            .encode_gauge(&(open_fds as u64))?;
    }
    // An unlimited soft limit is left out: OpenMetrics has no integer for it.
    if let Ok(limits) = process.limits()
        && let procfs::process::LimitValue::Value(max_fds) = limits.max_open_files.soft_limit
    {
        encoder
            .encode_descriptor(
                "process_max_fds",
                "Maximum number of open file descriptors.",
                None,
                MetricType::Gauge,
            )?
            .encode_gauge(&max_fds)?;
    }
    Ok(())
}

#[cfg(not(target_os = "linux"))]
pub fn encode(_encoder: &mut DescriptorEncoder) -> Result<(), std::fmt::Error> {
    Ok(())
}
