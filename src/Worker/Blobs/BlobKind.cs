using DSConvService.Worker.Artifacts;

namespace DSConvService.Worker.Blobs;

/// <summary>What a job stores: its uploads, the quantized model and the report.</summary>
public enum BlobKind
{
    Model,
    Calibration,
    Evaluation,
    Labels,
    Artifact,
    Report,
}

public static class BlobKinds
{
    public static BlobKind ToBlobKind(this UploadKind kind) => kind switch
    {
        UploadKind.Model => BlobKind.Model,
        UploadKind.Calibration => BlobKind.Calibration,
        UploadKind.Evaluation => BlobKind.Evaluation,
        UploadKind.Labels => BlobKind.Labels,
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    /// <summary>The name stored in the database (stable: renaming an enum member must not orphan rows).</summary>
    public static string StoredName(this BlobKind kind) => kind switch
    {
        BlobKind.Model => "model",
        BlobKind.Calibration => "calibration",
        BlobKind.Evaluation => "evaluation",
        BlobKind.Labels => "labels",
        BlobKind.Artifact => "artifact",
        BlobKind.Report => "report",
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };
}
