using Prometheus;

namespace DSConvService.Worker.Hosting;

/// <summary>
/// The service's Prometheus metrics (prometheus-net), in one place so names stay consistent between
/// the Api (/metrics) and standalone workers (their own metrics port).
/// </summary>
public static class ServiceMetrics
{
    private static readonly double[] JobSeconds = [1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];

    public static readonly Gauge JobsByStatus = Prometheus.Metrics.CreateGauge(
        "dsconv_jobs", "Jobs in the store by status (queued = the queue depth).", "status");

    public static readonly Counter JobsFinished = Prometheus.Metrics.CreateCounter(
        "dsconv_jobs_finished_total", "Job runs ended by this process, by outcome.", "outcome");

    public static readonly Counter JobAttempts = Prometheus.Metrics.CreateCounter(
        "dsconv_job_attempts_total", "Job runs started (claims) by this process.");

    public static readonly Histogram JobDuration = Prometheus.Metrics.CreateHistogram(
        "dsconv_job_duration_seconds", "Wall time of one job run, by outcome.",
        new HistogramConfiguration { Buckets = JobSeconds, LabelNames = ["outcome"] });

    public static readonly Histogram StageDuration = Prometheus.Metrics.CreateHistogram(
        "dsconv_job_stage_duration_seconds", "Wall time of each pipeline stage.",
        new HistogramConfiguration { Buckets = JobSeconds, LabelNames = ["stage"] });

    public static readonly Histogram InferDuration = Prometheus.Metrics.CreateHistogram(
        "dsconv_infer_duration_seconds", "Time of POST /infer requests (decode + run), successful ones.",
        new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(0.0005, 2, 16) });

    public static readonly Counter InferErrors = Prometheus.Metrics.CreateCounter(
        "dsconv_infer_errors_total", "POST /infer requests answered with an error, by status code.", "status");

    public static readonly Counter InferRejected = Prometheus.Metrics.CreateCounter(
        "dsconv_infer_rejected_total", "POST /infer requests refused with 503 because every slot and the queue were taken.");

    public static readonly Counter ModelCacheLookups = Prometheus.Metrics.CreateCounter(
        "dsconv_model_cache_lookups_total", "Loaded-model cache lookups of /infer, by result (hit or miss).", "result");
}
