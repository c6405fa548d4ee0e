namespace DSConvService.Worker.Artifacts;

/// <summary>The files a client uploads with a job (the multipart field names of POST /quantize).</summary>
public enum UploadKind
{
    Model,
    Calibration,
    Evaluation,
    Labels,
}
