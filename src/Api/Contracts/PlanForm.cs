namespace DSConvService.Api.Contracts;

/// <summary>The multipart form of POST /plan.</summary>
public sealed class PlanForm
{
    /// <summary>The fp32 model, an .onnx file (required).</summary>
    public IFormFile? Model { get; set; }

    /// <summary>The options JSON of POST /quantize (a "target" makes the plan run the precision policy).</summary>
    public string? Options { get; set; }
}
